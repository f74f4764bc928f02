"""Everything a journal's outputs were made from, read off the stages' own records.

Nothing here guesses by folder: the runs' inputs come from each run's `run.json` (its key's
notebook, modules and `deps:`, and what it read while it executed, labjournal.run.reads), the
datasets from the results index, the pages' sources from the render record
(labjournal.render.freshness), the outputs from the build. `report`'s no-op check
(labjournal.build.noop), `preview`'s watch list and `status` all use this one list, so a notebook
outside `experiments/`, an editable install's module or a config file opened by relative path
count wherever they were read, and nothing under the virtual environment, `results/` or the build
folders is walked.

Standard library and PyYAML only (the no-op path imports it before anything heavy).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjournal.names import BUILT, DECISIONS, EXTRA_SEEDS, RUN_RECORD, render_record
from labjournal.project import PDF_NAME, PLAN_FILE, QUARTO_FILE, Project

ENGINE = Path(__file__).resolve().parents[1]  # the labjournal package, wherever it is installed
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class JournalInputs:
    """Files (by absolute path), folders whose listing counts, and distributions (by the
    folder of their installed metadata, which an upgrade replaces)."""

    files: set[Path] = field(default_factory=set)
    folders: set[Path] = field(default_factory=set)
    distributions: set[str] = field(default_factory=set)

    def tree(self, path: Path) -> None:
        """A file, or a folder with every file under it and its listing."""
        if path.is_file() or not path.exists():
            self.files.add(path)
            return
        for current, folders, names in os.walk(path):
            folders[:] = [name for name in folders if name not in _SKIP]
            self.folders.add(Path(current))
            self.files.update(Path(current) / name for name in names)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _named(root: Path, name: str) -> Path:
    """A name as the records write it: `labjournal/...` for the kit, relative, or absolute."""
    if os.path.isabs(name):
        return Path(name)
    if name.split("/")[0] == "labjournal":
        return ENGINE.parent / name
    return root / name


def add_run(found: JournalInputs, root: Path, record: dict[str, Any]) -> None:
    """What one run was made from: its notebook, its key's modules and deps, what it read."""
    if record.get("notebook_path"):
        found.files.add(root / record["notebook_path"])
    key = record.get("key_inputs", {})
    found.files.update(_named(root, name) for name in key.get("code", {}))
    for name in key.get("deps", {}):
        found.tree(_named(root, name))
    reads = record.get("reads") or {}
    found.files.update(_named(root, name) for group in ("files", "modules") for name in reads.get(group, {}))
    found.folders.update(_named(root, name) for name in reads.get("listings", {}))
    found.distributions.update(reads.get("distributions", {}))


def run_inputs(project: Project, found: JournalInputs) -> None:
    """The runs of the profile's index (each by its record) and the datasets they used."""
    results, root = project.results_dir, project.root
    index = _read(project.index_path)
    found.files.update({project.index_path, results / DECISIONS, results / EXTRA_SEEDS})
    for row in index.get("runs", []):
        if isinstance(row, dict) and row.get("run_dir"):
            found.files.add(results / row["run_dir"] / RUN_RECORD)
            add_run(found, root, _read(results / row["run_dir"] / RUN_RECORD))
    for source in index.get("data", {}).values():
        if isinstance(source, dict) and source.get("root"):
            found.tree(Path(source["root"]))


def render_inputs(project: Project, found: JournalInputs) -> None:
    """The render's sources as its record lists them, and the folders they lie in (a new file
    there, an image the author adds, counts)."""
    record = _read(project.root / ".labjournal" / render_record(project.output_suffix))
    found.files.update(project.root / name for name in record.get("sources", {}))
    for folder in (project.report_dir, project.templates_dir):
        found.tree(folder)


def journal_inputs(project: Project) -> JournalInputs:
    """Every input and output of the profile's last report, from the stages' records."""
    found = JournalInputs()
    found.files.update({project.root / PLAN_FILE, project.root / QUARTO_FILE})
    run_inputs(project, found)
    render_inputs(project, found)
    site = project.site_dir
    found.files.update({site / "index.html", site / PDF_NAME, site / BUILT})
    found.tree(ENGINE)  # the engine's own code
    return found


@dataclass
class WatchList:
    """What `preview` watches: the journal's inputs (not its outputs, not the engine), each
    folder that holds one watched by itself, not recursively."""

    files: set[Path]
    listed: set[Path]  # folders whose new or removed files count
    render_only: set[Path]  # inputs a render reads and no run does

    @property
    def folders(self) -> list[Path]:
        return sorted({path.parent for path in self.files} | self.listed)

    def counts(self, path: Path) -> bool:
        return path in self.files or path.parent in self.listed

    def needs_run(self, paths: set[Path]) -> bool:
        """Whether a change to these inputs can change a run (else a render does)."""
        return any(path not in self.render_only and path.parent not in self.render_only for path in paths)


def watch_list(project: Project) -> WatchList:
    """The inputs of the profile's journal, from the same records as the no-op check."""
    runs, render = JournalInputs(), JournalInputs()
    runs.files.add(project.root / PLAN_FILE)
    run_inputs(project, runs)
    render.files.add(project.root / QUARTO_FILE)
    render_inputs(project, render)
    outputs = (project.results_dir, project.site_dir, project.build_dir, project.root / ".labjournal", ENGINE)

    def kept(paths: set[Path]) -> set[Path]:
        resolved = {Path(os.path.realpath(p)) for p in paths}
        return {p for p in resolved if not any(p == o or o in p.parents for o in map(Path.resolve, outputs))}

    files, listed = kept(runs.files | render.files), kept(runs.folders | render.folders)
    render_only = kept(render.files | render.folders) - kept(runs.files | runs.folders)
    return WatchList(files, listed, render_only)
