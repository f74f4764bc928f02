"""Content fingerprints of files and folders, for cache keys (what a file holds, never its path).

Hashing a large dataset on every `labjournal run` would cost seconds, so each file's SHA-256 is
remembered in `<cache>/fingerprints.json` with the size, modification time, inode and change time
it had; it is computed again only when one of those changed. A folder's fingerprint covers the relative
name and content of every file under it (hidden files, `__pycache__` and Jupyter checkpoints
left out).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock

from labjournal.files import atomic_write_json, canonical_json, sha256_bytes, sha256_file
from labjournal.names import CACHE_ENV

CACHE_FILE = "fingerprints.json"
_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def cache_dir() -> Path:
    """Where downloads and fingerprints are kept: `LABJOURNAL_CACHE`, else ~/.cache/labjournal."""
    chosen = os.environ.get(CACHE_ENV)
    return Path(chosen).expanduser() if chosen else Path.home() / ".cache" / "labjournal"


class FingerprintCache:
    """SHA-256 of files, remembered by (size, mtime, inode, ctime) across processes."""

    def __init__(self, path: Path | None = None):
        self.path = path or cache_dir() / CACHE_FILE
        self.known: dict[str, list] = {}
        self.changed: dict[str, list] = {}
        try:
            self.known = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            self.known = {}

    def file(self, path: Path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        # ctime too: a file rewritten with its size kept and its mtime restored still differs.
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
        entry = self.known.get(str(path))
        if entry is not None and entry[:4] == stamp:
            return entry[4]
        digest = sha256_file(path)
        self.known[str(path)] = self.changed[str(path)] = [*stamp, digest]
        return digest

    def of(self, path: Path) -> str:
        """A file's SHA-256, or for a folder the hash of every file's relative name and SHA-256."""
        path = Path(path)
        if path.is_file():
            return self.file(path)
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part in _SKIPPED_PARTS or part.startswith(".") for part in p.relative_to(path).parts)
        )
        listing = {str(p.relative_to(path)): self.file(p) for p in files}
        return sha256_bytes(canonical_json(listing).encode())

    def save(self) -> None:
        """Write what this process learnt, merged with what others wrote meanwhile."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=30):
                try:
                    current = json.loads(self.path.read_text())
                except (OSError, json.JSONDecodeError):
                    current = {}
                current.update(self.changed)
                atomic_write_json(self.path, current)
            self.changed = {}
        except OSError:  # a read-only cache costs time next run, never correctness
            pass


def fingerprint(path: Path) -> str:
    """The content fingerprint of one file or folder (through the shared cache)."""
    cache = FingerprintCache()
    try:
        return cache.of(path)
    finally:
        cache.save()
