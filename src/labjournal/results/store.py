"""The results store: one folder per run, content-addressed by the run's cache key.

    results/
      index.json                     one row per planned run of the last `labjournal run`
      extra_seeds.json               seeds added where claims needed them (per profile), and the
                                     sequential design they were added under
      decisions.json                 why adding seeds stopped, per claim
      runs/<lab>/<notebook>/<key>/   a completed run
        params.json                  the injected parameters and seed
        metrics.json                 scalars, per-epoch series, tables, figure list (schema-checked)
        figures/*.png
        notebook.ipynb               the executed notebook
        run.json                     provenance: key inputs, versions, device, times, checksums
      failed/<lab>/<notebook>/<key>/ the last failed attempt of a run, notebook kept for reading
      .staging/                      runs being executed; never read as results

A run is executed in `.staging` and moved into `runs/` only once it succeeded and its provenance
is written, so an interrupted run never leaves a half-written result and a failed re-run never
replaces a good one. Where the store's folder is removed while a command holds it (found by its
lock file), nothing more is written: the command stops with ResultsRemovedError rather than
recreate a store holding part of what it held.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import ValidationError

from labjournal.errors import CorruptResultsError, ResultsRemovedError, StoreLockedError
from labjournal.files import atomic_write_json, sha256_file, swap_in
from labjournal.names import PROGRESS_FILE
from labjournal.records import (
    DECISIONS,
    EXTRA_SEEDS,
    INDEX,
    METRICS,
    RUN_RECORD,
    Decisions,
    ExtraSeeds,
    Index,
    RunRecord,
)


class ResultsStore:
    """The runs (shared by every profile: a run is keyed by what it computes) and one profile's
    index (`index.json` for the default profile, `index.NAME.json` for another)."""

    def __init__(self, root: str | Path, index_name: str = INDEX):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.failed_dir = self.root / "failed"
        self.staging_dir = self.root / ".staging"
        self.index_path = self.root / index_name
        self._held: tuple[int, int] | None = None  # the lock file, while this process holds the store
        self._started = 0  # runs given a staging folder since the store was locked

    # -- locking ---------------------------------------------------------------------------

    @contextmanager
    def locked(self, wait_s: float = 0) -> Iterator[None]:
        """Hold the store for writing; a second writer waits `wait_s` seconds, then is refused."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".lock"
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=wait_s)
        except Timeout as exc:
            owner = (
                (self.root / ".lock.owner").read_text().strip()
                if (self.root / ".lock.owner").exists()
                else "?"
            )
            raise StoreLockedError(
                f"{self.root}: another labjournal process is writing to this results store ({owner}).\n"
                f"  Wait for it to finish, or pass --wait SECONDS to queue behind it."
            ) from exc
        try:
            self._held, self._started = _identity(lock_path), 0
            (self.root / ".lock.owner").write_text(f"pid {os.getpid()}, since {time.strftime('%H:%M:%S')}\n")
            self._discard_staging()
            yield
        finally:
            self._discard_staging()
            (self.root / ".lock.owner").unlink(missing_ok=True)
            self._held = None
            lock.release()

    def _discard_staging(self) -> None:
        """Leftovers of an interrupted run: never results, safe to drop while we hold the lock."""
        if self.staging_dir.exists():
            shutil.rmtree(self.staging_dir, ignore_errors=True)

    def _still_there(self, staging: Path | None = None) -> None:
        """While the store is held: its folder (the same lock file) and the run's staging folder
        are still there, or nothing more is written."""
        if self._held is None:
            return
        try:
            present = _identity(self.root / ".lock") == self._held
        except OSError:
            present = False
        if present and (staging is None or staging.is_dir()):
            return
        gone = self.root if not present else self.staging_dir if not self.staging_dir.is_dir() else staging
        raise ResultsRemovedError(
            f"{gone}/ was removed while runs were executing: {self._started} run(s) were lost; "
            "run `labjournal run` again"
        )

    # -- paths -----------------------------------------------------------------------------

    def run_dir(self, lab: str, notebook: str, key: str) -> Path:
        return self.runs_dir / lab / notebook / key[:16]

    def failed_run_dir(self, lab: str, notebook: str, key: str) -> Path:
        return self.failed_dir / lab / notebook / key[:16]

    def new_staging(self, key: str) -> Path:
        self._still_there()
        path = self.staging_dir / f"{key[:16]}-{os.getpid()}-{time.monotonic_ns()}"
        path.mkdir(parents=True)
        self._started += 1
        return path

    # -- reading ---------------------------------------------------------------------------

    def lookup(self, lab: str, notebook: str, key: str) -> tuple[RunRecord | None, str]:
        """The provenance of a completed run with this key, or None and the reason it is unusable."""
        folder = self.run_dir(lab, notebook, key)
        record_path = folder / RUN_RECORD
        if not record_path.exists():
            return None, "not run yet"
        try:
            record = RunRecord.model_validate_json(record_path.read_bytes())
        except (OSError, ValidationError) as exc:
            return None, f"{record_path} is unreadable ({exc})"
        if record.key != key or record.status != "ok":
            return None, f"{record_path} belongs to another run"
        for relative, expected in (record.artifacts or {}).items():
            artifact = folder / relative
            if not artifact.exists():
                return None, f"{artifact} is missing"
            if sha256_file(artifact) != expected:
                return None, f"{artifact} was changed after the run (checksum differs)"
        return record, "cached"

    def recorded_checksum(self, lab: str, notebook: str, key: str, name: str) -> str | None:
        """The checksum a run's record holds for one of its files, read without checking the
        files again (`lookup` does that); None where the run has no record."""
        try:
            record = json.loads((self.run_dir(lab, notebook, key) / RUN_RECORD).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return record.get("artifacts", {}).get(name)

    def read_metrics(self, run_dir: Path) -> dict[str, Any]:
        """The run's metrics; a notebook that recorded nothing has none (and no file)."""
        path = Path(run_dir) / METRICS
        return json.loads(path.read_text()) if path.exists() else {}

    def read_index(self) -> Index | None:
        """The profile's index; None where there is none yet or it cannot be read (a broken index
        is rebuilt from the runs)."""
        try:
            return Index.model_validate_json(self.index_path.read_bytes())
        except (OSError, ValidationError):
            return None

    # -- writing ---------------------------------------------------------------------------

    def commit(self, staging: Path, destination: Path, record: dict[str, Any]) -> None:
        """Seal a finished run: checksum its files, write run.json last, swap it into place."""
        self._still_there(staging)
        (staging / PROGRESS_FILE).unlink(missing_ok=True)
        record["artifacts"] = {
            str(path.relative_to(staging)): sha256_file(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file() and path.name != RUN_RECORD
        }
        atomic_write_json(staging / RUN_RECORD, record)
        self._still_there(staging)  # again: a removal while the files were read
        destination.parent.mkdir(parents=True, exist_ok=True)
        # --force over a good run: the new run is complete, so the old one may go.
        swap_in(staging, destination, self.staging_dir / f"retired-{destination.name}-{time.monotonic_ns()}")

    def keep_failed(self, staging: Path, destination: Path, record: dict[str, Any]) -> None:
        self._still_there(staging)
        atomic_write_json(staging / RUN_RECORD, record)
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, destination)

    def write_index(self, index: Index) -> None:
        self._still_there()
        atomic_write_json(self.index_path, index.to_json())

    # -- seeds added until claims are decided ------------------------------------------------

    def read_extra_seeds(self, profile: str) -> ExtraSeeds:
        """The seeds `--until-decided` added to a profile, and their design (none where it never ran)."""
        path = self.root / EXTRA_SEEDS
        if not path.exists():
            return ExtraSeeds()
        try:
            return ExtraSeeds.model_validate(json.loads(path.read_text()).get(profile, {}))
        except (json.JSONDecodeError, AttributeError) as exc:
            why = str(exc)
        except ValidationError as exc:
            why = exc.errors()[0]["msg"]
        raise CorruptResultsError(
            f"{path} is corrupt ({why}): delete it to drop the seeds added by --until-decided"
        )

    def write_extra_seeds(self, profile: str, added: ExtraSeeds) -> None:
        path = self.root / EXTRA_SEEDS
        everything = json.loads(path.read_text()) if path.exists() else {}
        everything[profile] = added.to_json()
        atomic_write_json(path, everything)

    def write_decisions(self, decisions: Decisions) -> None:
        atomic_write_json(self.root / DECISIONS, decisions.to_json())


def _identity(path: Path) -> tuple[int, int]:
    """Which file this is (device and inode): a store removed and made again has another lock file."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino
