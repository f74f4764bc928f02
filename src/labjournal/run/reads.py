"""What a run read, kept with it and checked before it is reused: freshness observed, not guessed.

A run's kernel records what the run opened, listed and imported (labjournal.run.readlog). Here
that record becomes the run's `reads` (labjournal.records.Reads): the files and folder listings
inside the project, by content; the modules outside the installed distributions, by content; the
distributions, by version. Left out: the results store, the tool's own folders (`.labjournal`,
`_build*`, `_site*`), `.git`, virtual environments, caches. A cached run is reused only when its
key matches *and* nothing it read changed (`changed`): an edited config file opened with `open()`,
an editable install's inner module, `pip install -U scikit-learn`. Files are compared by content,
through the fingerprint cache (re-hashed only when size, mtime, ctime or inode changed).

A file a run read that journal.yml does not declare re-runs it all the same; `undeclared` names
it, so that `run` and `plan` can say which `deps:` line makes another machine's first run key it.
Readers that bypass Python's `open` (pyarrow's native reader, C extensions) are not seen: declare
what they read as a dataset or under `deps:`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from labjournal.data.fingerprint import FingerprintCache
from labjournal.files import canonical_json, sha256_bytes
from labjournal.names import READS
from labjournal.records import Reads, RunRecord

if TYPE_CHECKING:
    from labjournal.results.store import ResultsStore
    from labjournal.run.cache import KeyedRun

_SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".git"}
_TOOL_PREFIXES = (".labjournal", "_build", "_site")


@dataclass(frozen=True)
class ReadScope:
    """The project a run belongs to, and the folders in it that are never a run's input."""

    root: Path
    results: Path

    @classmethod
    def of(cls, root: Path, results: Path) -> ReadScope:
        return cls(Path(os.path.realpath(root)), Path(os.path.realpath(results)))

    def name(self, path: str | Path) -> str | None:
        """A path's name relative to the project, or None when it is not an input there."""
        path = Path(os.path.realpath(path))
        if path == self.results or self.results in path.parents:
            return None
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        if not parts or parts[0].startswith(_TOOL_PREFIXES) or _SKIPPED & set(parts):
            return None
        if (self.root / parts[0] / "pyvenv.cfg").exists():
            return None  # a virtual environment inside the project
        return "/".join(parts)

    def module_name(self, path: str | Path) -> str:
        """A module's name: relative to the project, or its absolute path outside it."""
        resolved = Path(os.path.realpath(path))
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return resolved.as_posix()

    def path(self, name: str) -> Path:
        return Path(name) if os.path.isabs(name) else self.root / name


def listing_digest(names: list[str]) -> str:
    return sha256_bytes(canonical_json(sorted(names)).encode())


def take_reads(staging: Path, scope: ReadScope, files: FingerprintCache) -> Reads | None:
    """The run's reads from what its kernel wrote in `staging` (the raw file is removed)."""
    raw_path = staging / READS
    try:
        raw = json.loads(raw_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    raw_path.unlink()
    module_paths = {os.path.realpath(p) for p in raw.get("modules", {}).values()}
    modules = {scope.module_name(p): files.file(Path(p)) for p in sorted(module_paths) if os.path.isfile(p)}
    read: dict[str, str] = {}
    for path in raw.get("files", []):
        name = scope.name(path)
        if name is not None and os.path.realpath(path) not in module_paths and os.path.isfile(path):
            read[name] = files.file(Path(path))
    listings = {
        name: listing_digest(names)
        for folder, names in raw.get("listings", {}).items()
        if (name := scope.name(folder)) is not None
    }
    return Reads(
        files=dict(sorted(read.items())),
        listings=dict(sorted(listings.items())),
        modules=dict(sorted(modules.items())),
        distributions=dict(sorted(raw.get("distributions", {}).items())),
    )


@dataclass
class ReadCheck:
    """Checks stored runs' reads against the project now; each file hashed and each
    distribution's version looked up once per check."""

    scope: ReadScope
    files: FingerprintCache = field(default_factory=FingerprintCache)
    versions: dict[str, str | None] = field(default_factory=dict)

    def version(self, distribution: str) -> str | None:
        if distribution not in self.versions:
            try:
                self.versions[distribution] = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                self.versions[distribution] = None
        return self.versions[distribution]

    def changed(self, reads: Reads) -> list[str]:
        """Why a run's reads no longer hold, one phrase each ("helpers.py changed")."""
        why = []
        for entries in (reads.files, reads.modules):
            for name, digest in entries.items():
                path = self.scope.path(name)
                if not path.is_file():
                    why.append(f"{name} was removed")
                elif self.files.file(path) != digest:
                    why.append(f"{name} changed")
        for name, digest in reads.listings.items():
            folder = self.scope.path(name)
            names = sorted(os.listdir(folder)) if folder.is_dir() else None
            if names is None or listing_digest(names) != digest:
                why.append(f"the files in {name}/ changed")
        for distribution, version in reads.distributions.items():
            now = self.version(distribution)
            if now != version:
                why.append(f"{distribution} {version} → {now or 'not installed'}")
        return why

    def stale(self, record: RunRecord) -> list[str]:
        """Why a stored run (its `run.json`) is stale by what it read; a record without reads
        (from before recording) has none."""
        return self.changed(record.reads) if record.reads is not None else []

    def lookup(self, store: ResultsStore, item: KeyedRun) -> tuple[RunRecord | None, str]:
        """A stored run with this key whose reads still hold, or None and why it cannot be reused."""
        record, reason = store.lookup(item.spec.lab, item.spec.notebook, item.key)
        if record is None:
            return None, reason
        why = self.stale(record)
        return (None, "stale: " + "; ".join(why)) if why else (record, reason)


def undeclared(reads: Reads, declared: list[str]) -> list[str]:
    """The files a run read and the folders it listed that journal.yml does not declare (under
    `deps:` or as a dataset); `declared` holds project-relative names of files and folders. A
    listed folder is named as a folder (`inputs/`), covering the files read in it."""
    listed = [
        name for name in reads.listings if name not in declared and not name.startswith(_under(declared))
    ]
    files = [
        name
        for name in reads.files
        if name not in declared and not name.startswith(_under([*declared, *listed]))
    ]
    return sorted(files + [f"{name}/" for name in listed])


def _under(folders: list[str]) -> tuple[str, ...]:
    return tuple(name.rstrip("/") + "/" for name in folders)


def declared_names(deps: dict[str, str], data_roots: list[str], scope: ReadScope) -> list[str]:
    """What journal.yml declares for a run, as project-relative names: its `deps:` and datasets."""
    roots = [name for root in data_roots if (name := scope.name(root)) is not None]
    return sorted({*deps, *roots})


def undeclared_warning(lab: str, notebook: str, names: list[str]) -> str:
    shown = ", ".join(names)
    return (
        f"{lab}/{notebook} read {shown}, which journal.yml does not declare. The run is keyed on what it read "
        f"all the same, but another machine's first run is not: add `deps: [{shown}]` under "
        f"labs.{lab}.notebooks.{notebook}."
    )


def reads_of_run(
    staging: Path, scope: ReadScope, item: KeyedRun, data_roots: list[str]
) -> tuple[Reads | None, str]:
    """A finished run's reads, and a warning naming what it read undeclared (or "")."""
    files = FingerprintCache()
    reads = take_reads(staging, scope, files)
    files.save()
    if reads is None:
        return None, ""
    missing = undeclared(reads, declared_names(item.inputs["deps"], data_roots, scope))
    return reads, undeclared_warning(item.spec.lab, item.spec.notebook, missing) if missing else ""
