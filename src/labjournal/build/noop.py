"""A `report` with nothing changed does nothing, quickly.

After a report that ran, rendered and built everything it had to (no failure, no claim left
waiting for seeds), the stamp (size, mtime, ctime, inode) of every input and output the stages'
records name (labjournal.build.inputs) is kept in `.labjournal/report[-PROFILE].json`, with the
listings of the folders that count, the installed distributions the runs imported, the engine
`auto` would pick (and the `quarto` it would run), the environment variables that steer runs and
the command's options. The next `report` with all of these the same says so and stops, having
imported nothing heavy; anything else, or `--force`, takes the full path, where each stage's
record decides what is redone (`labjournal status` says why).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from labjournal.build.inputs import JournalInputs, journal_inputs
from labjournal.names import CACHE_ENV, DATA_DIR_ENV, DECISIONS, KERNEL_MAX_RUNS_ENV
from labjournal.project import Project

NOT_COMPARED = ("jobs", "wait_s")  # options that change how, never what, a report makes
ENVIRONMENT = (DATA_DIR_ENV, CACHE_ENV, "PYTHONPATH", KERNEL_MAX_RUNS_ENV)
Stamp = list[int] | None


def stamp(path: Path | str) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino]


def listing(folder: Path | str) -> list[str] | None:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return None


def engine_state() -> dict[str, Any]:
    """What `--engine auto` would use now: Quarto where it is on PATH (and which one)."""
    quarto = shutil.which("quarto")
    return {"quarto": quarto, "quarto_stamp": stamp(quarto) if quarto else None, "python": sys.version}


def distribution_folders(names: set[str]) -> dict[str, str | None]:
    """Where each distribution's metadata is installed (an upgrade or removal replaces it)."""
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in sorted(names):
        try:
            path = getattr(metadata.distribution(name), "_path", None)
            found[name] = str(path) if path is not None else None
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def state(project: Project, options: dict[str, Any], inputs: JournalInputs) -> dict[str, Any]:
    """The record of a complete report: every stamp it depends on."""
    distributions = distribution_folders(inputs.distributions)
    files = sorted({str(p) for p in inputs.files} | {p for p in distributions.values() if p})
    return {
        "options": options,
        "environment": {name: os.environ.get(name) for name in ENVIRONMENT},
        "engine": engine_state(),
        "distributions": distributions,
        "files": {path: stamp(path) for path in files},
        "folders": {str(p): listing(p) for p in sorted(inputs.folders)},
    }


def stamp_path(project: Project) -> Path:
    return project.root / ".labjournal" / f"report{project.output_suffix}.json"


def unchanged(project: Project, options: dict[str, Any]) -> bool:
    """True when nothing the last complete report depended on has changed."""
    try:
        recorded = json.loads(stamp_path(project).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (
        recorded.get("options") == json.loads(json.dumps(options, default=str))
        and recorded.get("environment") == {name: os.environ.get(name) for name in ENVIRONMENT}
        and recorded.get("engine") == engine_state()
        and all(stamp(path) == was for path, was in recorded.get("files", {}).items())
        and all(listing(path) == was for path, was in recorded.get("folders", {}).items())
    )


def record(project: Project, options: dict[str, Any]) -> None:
    """Remember a complete report (after it: its outputs are part of it)."""
    path = stamp_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = state(project, json.loads(json.dumps(options, default=str)), journal_inputs(project))
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def waiting_on_budget(root: Path) -> bool:
    """A claim stopped by an explicit time budget gets more seeds next time, so that report is not
    recorded as complete. A design run to its end (every claim decided, futile or at its seed cap)
    is: the next report with nothing changed has nothing to add, and is the no-op."""
    try:
        claims = json.loads((root / "results" / DECISIONS).read_text()).get("claims", {})
    except (OSError, json.JSONDecodeError):
        return False
    return any(_budget(state) for state in claims.values() if isinstance(state, dict))


def _budget(state: dict[str, Any]) -> bool:
    """A decision of `results/decisions.json` is the budget's (by its reason; older files: wording)."""
    reason = state.get("reason")
    return reason == "budget" if reason is not None else "time budget" in str(state.get("stopped", ""))
