"""What a run or a build records about where it came from: project commit, machine, versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from labjournal import __version__
from labjournal.project import REPORT_DIR
from labjournal.run.cache import library_versions

# What labjournal itself writes inside a project, tracked by git or not, as git pathspecs relative
# to the project: the claims ledger (labjournal.claims.ledger, written by `run` and `report`), the
# results store, the render and report records, a notebook's scratch folder and the builds. None
# of it makes the project "+dirty".
TOOL_WRITTEN = (
    f":(exclude){REPORT_DIR}/claims.ledger.json",
    ":(exclude)results",
    ":(exclude).labjournal",
    ":(exclude,glob)**/.labjournal-scratch/**",
    ":(exclude,glob)_build*/**",
    ":(exclude,glob)_site*/**",
)


def project_commit(root: Path) -> str:
    """The project's git commit, with '+dirty' when tracked files have uncommitted changes (other
    than those labjournal writes itself: `TOOL_WRITTEN`)."""
    status = ["git", "status", "--porcelain", "--untracked-files=no", "--", *TOOL_WRITTEN]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(status, cwd=root, capture_output=True, text=True).stdout.strip()
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
