"""Small file helpers: atomic writes, content hashes, and a folder staged then swapped into place.

Every file the store or a notebook writes goes through `atomic_write_*`, so a crash or a kill leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_json(payload: Any) -> str:
    """The one serialisation used for hashing: key order and whitespace never change a key."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def expand(root: Path, pattern: str) -> list[Path]:
    """What a `deps:` entry names: the glob's matches, or the one path; only those that exist."""
    found = sorted(root.glob(pattern)) if any(char in pattern for char in "*?[") else [root / pattern]
    return [path for path in found if path.exists()]


def copy_files(names: list[str], source: Path, target: Path) -> None:
    """Files named relative to `source`, copied to the same places under `target`."""
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)


def swap_in(fresh: Path, target: Path, retired: Path | None = None) -> None:
    """Put a finished folder in place of `target`: the old one is moved aside (to `retired`), the
    new one in, then the old one removed. A reader sees the old folder or the new one, never half
    of either; for the instant between the two renames `target` is absent (POSIX has no atomic
    exchange of two folders), which the store's readers treat as a run not yet there."""
    if not target.exists():
        os.replace(fresh, target)
        return
    retired = retired or target.with_name(target.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    os.replace(target, retired)
    os.replace(fresh, target)
    shutil.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh folder beside `target` to fill. When the block ends, it replaces `target` (swap_in);
    when the block fails, it is removed and `target` stays as it was."""
    fresh = target.with_name(target.name + suffix)
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    try:
        yield fresh
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    swap_in(fresh, target)


def refusal(folder: Path, root: Path, marker: str | None = None, anywhere: bool = False) -> str | None:
    """Why labjournal may not replace `folder` wholesale, or None where it may: never the project
    `root` or a folder holding it; only a folder at the project's top (unless `anywhere`); and,
    given a `marker` (a file labjournal writes into the folders it fills), never a non-empty folder
    without one. Paths are compared as written, made absolute: resolve them first to follow links."""
    folder, root = Path(os.path.abspath(folder)), Path(os.path.abspath(root))
    if folder == root:
        return f"it is the project {root}"
    if folder in root.parents:
        return f"it holds the project {root}"
    if not anywhere and folder.parent != root:
        return f"it is not a folder at the top of the project {root}"
    if folder.exists() and not folder.is_dir():
        return "it is a file, not a folder"
    found = sorted(path.name for path in folder.iterdir()) if marker and folder.is_dir() else []
    if found and marker not in found:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        return f"it holds files labjournal did not write there ({shown})"
    return None
