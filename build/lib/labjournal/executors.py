"""Where runs execute: a local pool of processes (the default) or a Dask distributed cluster.

Both take a `Job` and return a `concurrent.futures.Future` of its `Outcome`, so the scheduler's
caching, staging, failure and progress handling is the same for both. A worker that dies (killed,
out of memory) surfaces as `WorkerLost`, which the scheduler records as a failed run.

On a Dask cluster no filesystem is shared with the workers: the notebook travels to the worker
with the job, the run executes in a folder of the worker's own, and its files travel back with
their checksums, to be written into this machine's staging folder and committed here as any
local run. Summary notebooks, which read the results store, run on this machine. A worker that
dies mid-run has its task rescheduled by Dask on another worker; only when Dask gives up is the
run failed. Every worker must run one task at a time (`dask worker --nthreads 1`): a run sets
environment variables and redirects file descriptors of its process, which threads would share.
The datasets must be readable by the workers at the paths this machine resolved them to (a
read-only copy on each machine at the same path will do).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from labjournal.errors import LabjournalError
from labjournal.execute import Job, Outcome, execute_job
from labjournal.files import atomic_write_bytes
from labjournal.kit.env import INPUTS_ENV, RUN_DIR_ENV
from labjournal.provenance import available_cores

KERNEL_MEMORY = 1.5 * 2**30  # what one worker's kernel holds with torch and a lab's data, about


def default_workers() -> int:
    """One worker per core, as many as the memory holds kernels for."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on Linux
        return available_cores()
    return max(1, min(available_cores(), int(memory // KERNEL_MEMORY)))


class WorkerLost(Exception):
    """The process running a notebook died before reporting an outcome."""


class ExecutorError(LabjournalError):
    """The executor cannot be used (no scheduler at the address, workers with several threads)."""


class LocalExecutor:
    """A pool of `spawn`ed worker processes on this machine."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self.threads = max(1, available_cores() // workers)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))

    def submit(self, job: Job) -> Future:
        try:
            inner = self.pool.submit(execute_job, job)
        except BrokenProcessPool as exc:
            raise WorkerLost(str(exc)) from exc
        outer: Future = Future()

        def relay(done: Future) -> None:
            try:
                outer.set_result(done.result())
            except BrokenProcessPool as exc:
                outer.set_exception(WorkerLost(str(exc) or "the worker pool broke down"))
            except BaseException as exc:  # anything else is a bug worth seeing as is
                outer.set_exception(exc)

        inner.add_done_callback(relay)
        outer.running = inner.running  # type: ignore[method-assign]  # the live progress asks
        return outer

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs as tasks on a Dask distributed cluster (`--executor dask --scheduler ADDRESS`)."""

    name = "dask"

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError as exc:
            raise ExecutorError(
                "the Dask executor needs dask.distributed: pip install 'labjournal[dask]'"
            ) from exc
        try:
            self.client = Client(address, timeout="20s")
        except OSError as exc:
            raise ExecutorError(f"no Dask scheduler answers at {address}: {exc}") from exc
        workers = self.client.scheduler_info().get("workers", {})
        threaded = [w for w, info in workers.items() if info.get("nthreads", 1) != 1]
        if not workers or threaded:
            self.client.close()
            problem = (
                "has no workers"
                if not workers
                else f"has workers with several threads ({', '.join(threaded)})"
            )
            raise ExecutorError(
                f"the Dask cluster at {address} {problem}; labjournal needs workers started with "
                f"`dask worker --nthreads 1` (or LocalCluster(threads_per_worker=1))"
            )
        self.workers = len(workers)
        self.threads = 1
        self._tasks: dict[str, Any] = {}
        self._local: LocalExecutor | None = None

    def submit(self, job: Job) -> Future:
        from distributed import KilledWorker

        if INPUTS_ENV in job.environment:  # a summary reads the results store: run it here
            if self._local is None:
                self._local = LocalExecutor(1)
            return self._local.submit(job)
        key = f"labjournal-{job.key[:16]}-{uuid.uuid4().hex[:8]}"
        notebook = job.notebook_path.read_bytes()
        task = self.client.submit(execute_remote, job, notebook, key=key, pure=False, retries=0)
        self._tasks[key] = task
        outer: Future = Future()

        def relay(done: Any) -> None:
            self._tasks.pop(key, None)
            try:
                outcome, files = done.result()
                receive_files(job.staging, files)
                outer.set_result(outcome)
            except KilledWorker as exc:
                outer.set_exception(WorkerLost(f"the Dask workers running it died ({exc})"))
            except BaseException as exc:
                outer.set_exception(exc)

        task.add_done_callback(relay)
        return outer

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        self.client.close()


def execute_remote(job: Job, notebook: bytes) -> tuple[Outcome, dict[str, tuple[bytes, str]]]:
    """On a Dask worker: run the job in a folder of the worker's own (the notebook comes with the
    job) and return its outcome and its files with their SHA-256 checksums."""
    with tempfile.TemporaryDirectory(prefix="labjournal-remote-") as folder:
        local = Path(folder)
        staging = local / "run"
        staging.mkdir()
        notebook_path = local / job.notebook_path.name
        notebook_path.write_bytes(notebook)
        remote = dataclasses.replace(
            job,
            notebook_path=notebook_path,
            staging=staging,
            environment={**job.environment, RUN_DIR_ENV: str(staging)},
        )
        outcome = execute_job(remote)
        if outcome.error:
            outcome.error["notebook"] = str(job.notebook_path)  # the name the user knows
        files = {}
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                files[str(path.relative_to(staging))] = (data, hashlib.sha256(data).hexdigest())
    return outcome, files


def receive_files(staging: Path, files: dict[str, tuple[bytes, str]]) -> None:
    """Write a remote run's files into this machine's staging folder, each checked against the
    checksum the worker sent; the scheduler then commits the folder as it commits a local run."""
    root = staging.resolve()
    for name, (data, checksum) in files.items():
        target = (staging / name).resolve()
        if root not in target.parents:
            raise WorkerLost(f"a worker sent a file outside the run's folder: {name}")
        if hashlib.sha256(data).hexdigest() != checksum:
            raise WorkerLost(f"{name} arrived damaged from the worker (checksum mismatch)")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)


def make_executor(kind: str, workers: int, scheduler: str | None) -> LocalExecutor | DaskExecutor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        return DaskExecutor(scheduler)
    raise ExecutorError(f"unknown executor '{kind}' (use local or dask)")
