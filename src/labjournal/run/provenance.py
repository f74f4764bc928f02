"""What a run or a build records about where it came from: project commit, machine, versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from labjournal import __version__
from labjournal.run.cache import library_versions


def project_commit(root: Path) -> str:
    """The project's git commit, with '+dirty' when tracked files have uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}+dirty" if dirty else commit


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def machine() -> dict[str, str | int]:
    return {
        "platform": platform.platform(terse=True),
        "processor": platform.machine(),
        "cores": available_cores(),
    }


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_environment() -> dict[str, object]:
    return {"labjournal": __version__, "libraries": library_versions(), "machine": machine()}
