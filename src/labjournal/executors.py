"""Where runs execute: a local pool of processes (the default) or a Dask distributed cluster.

Both take a `Job` and return a `concurrent.futures.Future` of its `Outcome`, so the scheduler's
caching, staging, failure and progress handling is the same for both. A worker that dies (killed,
out of memory) surfaces as `WorkerLost`, which the scheduler records as a failed run.

A Dask cluster must share the project's filesystem with this machine (the run folders are written
by the workers and committed here), and every worker must run one task at a time
(`dask worker --nthreads 1`): a run sets environment variables and redirects file descriptors of
its process, which threads would share.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from labjournal.errors import LabjournalError
from labjournal.execute import Job, execute_job
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

    def submit(self, job: Job) -> Future:
        from distributed import KilledWorker

        key = f"labjournal-{job.key[:16]}-{uuid.uuid4().hex[:8]}"
        task = self.client.submit(execute_job, job, key=key, pure=False, retries=0)
        self._tasks[key] = task
        outer: Future = Future()

        def relay(done: Any) -> None:
            self._tasks.pop(key, None)
            try:
                outer.set_result(done.result())
            except KilledWorker as exc:
                outer.set_exception(WorkerLost(f"the Dask worker running it died ({exc})"))
            except BaseException as exc:
                outer.set_exception(exc)

        task.add_done_callback(relay)
        return outer

    def close(self) -> None:
        self.client.close()


def make_executor(kind: str, workers: int, scheduler: str | None) -> LocalExecutor | DaskExecutor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        return DaskExecutor(scheduler)
    raise ExecutorError(f"unknown executor '{kind}' (use local or dask)")
