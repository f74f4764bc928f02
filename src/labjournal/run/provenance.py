"""What a run or a build records about where it came from: project commit, machine, versions."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from labjournal import __version__
from labjournal.data.datasets import DataSource
from labjournal.project import REPORT_DIR
from labjournal.records import METRICS, RunRecord
from labjournal.run.cache import KeyedRun, library_versions
from labjournal.run.execute import Outcome

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


def run_record(
    item: KeyedRun,
    staging: Path,
    outcome: Outcome,
    sources: dict[str, DataSource],
    commit: str,
    threads: int,
    read: str | None,
) -> RunRecord:
    """A finished run's provenance: what it ran with (`sources`: the data it declared, `commit`:
    the project's), where and how long; `read`, for a summary, the checksum of what it read."""
    spec = item.spec
    return RunRecord(
        key=item.key,
        status="ok" if outcome.ok else "failed",
        lab=spec.lab,
        notebook=spec.notebook,
        notebook_path=os.path.relpath(spec.notebook_path, Path.cwd()),
        parameters=spec.parameters,
        seed=spec.seed,
        key_inputs=item.inputs,
        data={name: sources[name].to_json() for name in spec.data if name in sources},
        device=_recorded_device(staging),
        threads=threads,
        machine=machine(),
        project_commit=commit,
        labjournal=__version__,
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(outcome.started)),
        duration_s=round(outcome.duration_s, 3),
        cold_start=outcome.cold_start,
        recorded=now_iso(),
        inputs_content=read,
        error=None if outcome.ok else outcome.error,
    )


def _recorded_device(staging: Path) -> str | None:
    """The device the notebook says it trained on (labjournal.kit.record.device), if any."""
    if not (staging / METRICS).exists():
        return None
    try:
        return json.loads((staging / METRICS).read_text()).get("device")
    except (OSError, json.JSONDecodeError):
        return None
