"""Where runs execute: a local pool of processes (the default) or a Dask distributed cluster.

Both are an `Executor`: they take a `Job` and return a `concurrent.futures.Future` of its
`Outcome`, so the scheduler's caching, staging, failure and progress handling is the same for
both. A worker that dies (killed, out of memory) surfaces as `WorkerLost`, which the scheduler
records as a failed run.

On a Dask cluster no filesystem is shared with the workers: the notebook travels to the worker
with the job, the run executes in a folder of the worker's own, and its files travel back with
their checksums, to be written into this machine's staging folder and committed here as any
local run. Summary notebooks, which read the results store, run on this machine. A worker that
dies mid-run has its task rescheduled by Dask on another worker; only when Dask gives up is the
run failed. Every worker must run one task at a time (`dask worker --nthreads 1`): a run sets
environment variables and redirects file descriptors of its process, which threads would share.
The notebook's project files travel with it (its local modules, declared deps and `path:`
datasets inside the project up to 64 MiB), laid out as in the project, and the run executes in
the notebook's folder there; a `url:` dataset is fetched by the worker into its own cache and
verified by its checksum. Larger datasets and those of `loader:`s must be readable by the
workers at the paths this machine resolved them to (a read-only copy at the same path will do).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from labjournal.data.datasets import SOURCES_ENV, download
from labjournal.errors import ExecutorError, WorkerLost
from labjournal.files import atomic_write_bytes
from labjournal.names import INPUTS_ENV, RUN_DIR_ENV
from labjournal.run.execute import Job, Outcome, execute_job
from labjournal.run.provenance import available_cores

KERNEL_MEMORY = 1.5 * 2**30  # what one worker's kernel holds with torch and a lab's data, about


def default_workers() -> int:
    """One worker per core, as many as the memory holds kernels for."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on Linux
        return available_cores()
    return max(1, min(available_cores(), int(memory // KERNEL_MEMORY)))


def workers_for(jobs: int | None, runs: int | None = None) -> int:
    """How many workers a pool starts: `--jobs` where given, else `default_workers()`; never
    more than the runs it has (`runs`, where known), never fewer than one."""
    wanted = jobs or default_workers()
    return max(1, min(wanted, runs) if runs is not None else wanted)


class RunFolderRemoved(WorkerLost):
    """The run's staging folder was removed while it executed (results/ deleted by hand): the
    store says so when the scheduler goes to record the run (labjournal.results.store)."""


class Executor(Protocol):
    """Where runs execute, as the scheduler uses it."""

    name: str
    workers: int  # runs at a time
    threads: int  # the threads each run may use

    def submit(self, job: Job) -> Future:
        """Start a run; its future holds the `Outcome`, or `WorkerLost` where the worker died."""
        ...

    def close(self) -> None:
        """Wait for what runs (unless terminated), then let the workers go."""
        ...

    def terminate(self) -> None:
        """Stop now (Ctrl-C): the runs executing and those queued."""
        ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        """Left on an exception (Ctrl-C, the results store removed, a bug), what still runs can
        never be recorded: it is stopped, not waited for."""
        if error is not None:
            self.terminate()
        self.close()


class RelayedFuture(Future):
    """The outcome of a run, relayed from the future of the pool or the cluster that executes
    it. `running()` asks the source (the live progress names the runs executing now) where one
    can tell; a relay is never running itself."""

    def __init__(self, running: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self._source_running = running

    def running(self) -> bool:
        return self._source_running() if self._source_running is not None else super().running()


class LocalExecutor(Executor):
    """A pool of `spawn`ed worker processes on this machine."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self.threads = max(1, available_cores() // workers)
        self.pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=leave_ctrl_c_to_the_main
        )
        self.terminated = False

    def submit(self, job: Job) -> Future:
        try:
            with ctrl_c_blocked():  # the pool starts its workers in `submit`: they inherit the mask
                inner = self.pool.submit(run_in_worker, job)
        except BrokenProcessPool as exc:
            raise WorkerLost(str(exc)) from exc
        outer = RelayedFuture(inner.running)

        def relay(done: Future) -> None:
            try:
                outer.set_result(done.result())
            except BrokenProcessPool as exc:
                outer.set_exception(WorkerLost(str(exc) or "the worker pool broke down"))
            except OSError as exc:
                if job.staging.is_dir():  # a bug worth seeing as is
                    outer.set_exception(exc)
                else:
                    outer.set_exception(RunFolderRemoved(f"{job.staging} was removed ({exc})"))
            except BaseException as exc:  # anything else is a bug worth seeing as is
                outer.set_exception(exc)

        inner.add_done_callback(relay)
        return outer

    def close(self) -> None:
        """Wait for what runs, or (terminated) for the pool's manager thread: it sees the workers
        killed and closes its wake-up pipe. Python's exit hook writes to that pipe without the
        pool's lock; had the thread been closing it just then (a loaded machine), `Exception
        ignored ... OSError: [Errno 9] Bad file descriptor` came after the command's last line."""
        manager = getattr(self.pool, "_executor_manager_thread", None)  # shutdown forgets it
        self.pool.shutdown(wait=not self.terminated, cancel_futures=True)
        if self.terminated and manager is not None:
            manager.join(timeout=10)

    def terminate(self) -> None:
        """Stop now (Ctrl-C): kill the workers and the kernels they started. The workers are
        stopped first, so that none starts a kernel after its children were listed."""
        if self.terminated:
            return
        self.terminated = True
        processes = (self.pool._processes or {}).values()  # noqa: SLF001
        workers = [process.pid for process in processes if process.pid is not None]  # started ones
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        for pid in [child for worker in workers for child in descendants(worker)] + workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


class DaskExecutor(Executor):
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
        files = pack_files(job)
        task = self.client.submit(execute_remote, job, files, key=key, pure=False, retries=0)
        self._tasks[key] = task
        outer = RelayedFuture()

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

    def terminate(self) -> None:
        """Stop now (Ctrl-C): cancel the cluster's tasks of this run, and the local summaries."""
        for task in list(self._tasks.values()):
            task.cancel()
        if self._local is not None:
            self._local.terminate()


def pack_files(job: Job) -> dict[str, bytes]:
    """The notebook and the project files its run reads, by their path in the project."""
    project = job.project or job.notebook_path.parent
    paths = [job.notebook_path, *job.ship]
    return {path.relative_to(project).as_posix(): path.read_bytes() for path in paths}


def execute_remote(job: Job, files: dict[str, bytes]) -> tuple[Outcome, dict[str, tuple[bytes, str]]]:
    """On a Dask worker: lay the project's files out in a folder of the worker's own, run the job
    in the notebook's folder there, and return its outcome and its files with their checksums."""
    with tempfile.TemporaryDirectory(prefix="labjournal-remote-") as folder:
        local = Path(folder)
        staging = local / "run"
        staging.mkdir()
        project = local / "project"
        for name, data in files.items():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_bytes(data)
        here = str(job.project or job.notebook_path.parent)
        remote = dataclasses.replace(
            job,
            notebook_path=project / job.notebook_path.relative_to(here),
            staging=staging,
            environment=remote_environment(job.environment, here, str(project), staging),
        )
        outcome = execute_job(remote)
        if outcome.error:  # the name the user knows
            outcome.error = outcome.error.model_copy(update={"notebook": str(job.notebook_path)})
        results = {}
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                results[str(path.relative_to(staging))] = (data, hashlib.sha256(data).hexdigest())
    return outcome, results


def remote_environment(environment: dict[str, str], here: str, there: str, staging: Path) -> dict[str, str]:
    """A run's environment on a worker: project paths moved to the worker's copy, the run's
    folder its own, and `url:` datasets the worker lacks fetched into its cache (verified)."""
    moved = {name: value.replace(here, there) for name, value in environment.items()}
    moved[RUN_DIR_ENV] = str(staging)
    sources = json.loads(environment.get(SOURCES_ENV) or "{}")
    for name, source in sources.items():
        if source["root"].startswith(here + os.sep):
            source["root"] = there + source["root"][len(here) :]
        elif source.get("url") and not Path(source["root"]).exists():
            file = Path(source["root"]).name
            source["root"] = str(download(name, source["url"], source["fingerprint"], file))
    moved[SOURCES_ENV] = json.dumps(sources, sort_keys=True)
    return moved


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


def leave_ctrl_c_to_the_main() -> None:
    """In each worker, first thing: Ctrl-C (SIGINT) is ignored. The main process stops the workers
    and their kernels itself (LocalExecutor.terminate); a worker that took a Ctrl-C sent to the
    process group would print a traceback of its own, or stop between a run and its report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since its start


def run_in_worker(job: Job) -> Outcome:
    """A run in a pool worker. nbclient handles SIGINT while a notebook runs and leaves Python's
    KeyboardInterrupt in place after it: Ctrl-C is ignored again before the next."""
    try:
        return execute_job(job)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def ctrl_c_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread: a worker process started meanwhile inherits the mask, so a
    Ctrl-C to the process group does not reach it while it starts up (before its initializer
    ignores it). This process still gets it (another thread takes it), as a KeyboardInterrupt."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (read from /proc; none where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class KeptExecutor:
    """One executor for several passes (`run --until-decided`): started by the first pass that
    executes anything, its workers and their warm kernels kept for the next (a kernel's start,
    about 6 s with torch, is paid once per worker, not once per pass), and stopped when the
    caller leaves it (terminated on an exception, as a pass's own executor is)."""

    def __init__(self, kind: str, jobs: int | None, scheduler: str | None) -> None:
        self.kind, self.jobs, self.scheduler = kind, jobs, scheduler
        self.pool: Executor | None = None

    def get(self) -> Executor:
        if self.pool is None:
            self.pool = make_executor(self.kind, workers_for(self.jobs), self.scheduler)
        return self.pool

    def __enter__(self) -> KeptExecutor:
        return self

    def __exit__(self, kind: Any, error: BaseException | None, trace: Any) -> None:
        if self.pool is not None:
            self.pool.__exit__(kind, error, trace)


def make_executor(kind: str, workers: int, scheduler: str | None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        return DaskExecutor(scheduler)
    raise ExecutorError(f"unknown executor '{kind}' (use local or dask)")
