"""Execute one notebook run with papermill, in the calling process (a pool worker).

This module knows about papermill and kernels and nothing about the store: it runs a notebook into a
staging folder and reports what happened. When the notebook raises, the outcome names the notebook,
the cell (counted in the source notebook, as a reader sees it) and the exception.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import papermill
from nbclient.exceptions import CellTimeoutError
from papermill.exceptions import PapermillExecutionError

from labjournal.records import EXECUTED_NOTEBOOK, RunError
from labjournal.run.kernel import IpcKernelManager

if TYPE_CHECKING:
    from labjournal.run.warm import WarmKernel

KERNEL_LOG = "kernel.log"


@dataclass
class Job:
    key: str
    notebook_path: Path
    parameters: dict[str, Any]
    staging: Path
    kernel_name: str
    environment: dict[str, str] = field(default_factory=dict)
    timeout_s: int | None = None
    warm: bool = True  # keep this worker's kernel for its next run (see labjournal.run.warm)
    # What a Dask worker without the project's files needs besides the notebook: the project's
    # folder and its files the run reads (local modules, declared deps, small datasets).
    project: Path | None = None
    ship: tuple[Path, ...] = ()

    @property
    def cwd(self) -> Path:
        """Where the run executes: the notebook's own folder, as in Jupyter."""
        return self.notebook_path.parent


@dataclass
class Outcome:
    key: str
    ok: bool
    started: float
    duration_s: float
    error: RunError | None = None
    cold_start: bool = True  # the run started a kernel (and imported everything) of its own
    written_beside: list[str] = field(default_factory=list)  # files the run wrote in the notebook's folder


def execute_job(job: Job) -> Outcome:
    """Run one notebook. Never raises for a failing notebook: the Outcome says what failed."""
    os.environ.update(job.environment)  # inherited by the kernel this process starts
    before = folder_state(job.cwd)
    started = time.time()
    from labjournal.run import warm

    kernel = warm.WORKER_KERNELS.get(job.kernel_name)
    cold_start = not kernel.started
    error = None
    try:
        with _stderr_to_log(job.staging / KERNEL_LOG, kernel):
            error = _execute(job, job.staging / EXECUTED_NOTEBOOK)
    finally:
        warm.WORKER_KERNELS.after_run(job.kernel_name, ok=error is None, keep=job.warm)
    return Outcome(
        key=job.key,
        ok=error is None,
        started=started,
        duration_s=time.time() - started,
        error=error,
        cold_start=cold_start,
        written_beside=changed_files(job.cwd, before),
    )


@contextmanager
def _stderr_to_log(path: Path, kernel: WarmKernel | None) -> Iterator[None]:
    """The kernel inherits file descriptor 2: its warnings and shutdown chatter go to the run's
    log. A warm kernel, started before, writes to a log of its own: this run's slice is copied."""
    offset = kernel.log_size() if kernel is not None else 0
    saved_stderr = os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            if kernel is not None:
                with open(kernel.log_path, "rb") as source:
                    source.seek(offset)
                    log.write(source.read().decode(errors="replace"))


def _execute(job: Job, output: Path) -> RunError | None:
    """Execute the notebook into `output` with papermill; what stopped it, if anything."""
    from labjournal.run import warm

    # Always the warm engine: it records what the run reads; `--fresh-kernels` retires the
    # kernel after each run (execute_job).
    engine = {
        "engine_name": warm.ENGINE_NAME,
        "warm_environment": job.environment,
        "warm_output": str(output),
    }
    try:
        papermill.execute_notebook(
            str(job.notebook_path),
            str(output),
            parameters=job.parameters,
            kernel_name=job.kernel_name,
            language="python",  # the project's kernel; a notebook without kernelspec metadata runs too
            cwd=str(job.cwd),  # as in Jupyter: the notebook's folder (its files and modules)
            progress_bar=False,
            log_output=False,
            # Saving the whole notebook after every cell costs up to half a second per run for
            # notebooks with figures; progress is reported by kit.progress instead. The warm engine
            # writes the notebook at the end, also after a timeout or a dead kernel.
            request_save_on_cell_execute=False,
            execution_timeout=job.timeout_s,
            kernel_manager_class=IpcKernelManager,
            **engine,
        )
    except PapermillExecutionError as exc:
        cell, source = _source_cell(job.notebook_path, exc.source)
        return RunError(
            notebook=str(job.notebook_path),
            cell=cell,
            cell_source=source,
            exception=exc.ename,
            message=exc.evalue,
            raised_in=_raised_in(exc.traceback, job.cwd),
        )
    except Exception as exc:  # the kernel died, would not start, or a timeout hit
        cell, source = _running_cell(job.notebook_path, output)
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        if isinstance(exc, CellTimeoutError):
            message = f"the cell was still running after the --timeout of {job.timeout_s} s"
        return RunError(
            notebook=str(job.notebook_path),
            cell=cell,
            cell_source=source,
            exception=type(exc).__name__,
            message=message,
            traceback=traceback.format_exc(limit=3),
        )
    return None


_NOT_WATCHED = {"__pycache__", ".ipynb_checkpoints", ".labjournal-scratch", ".git", ".venv", "results"}
_WATCH_LIMIT = 5000  # files; a folder holding a dataset of many files is not listed file by file


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of the files under a notebook's folder, to see what a run wrote there."""
    state: dict[str, tuple[int, int]] = {}
    for current, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in _NOT_WATCHED and not name.startswith(".")]
        for name in files:
            try:
                stat = os.stat(os.path.join(current, name))
            except OSError:
                continue
            state[os.path.relpath(os.path.join(current, name), folder)] = (stat.st_size, stat.st_mtime_ns)
            if len(state) >= _WATCH_LIMIT:
                return state
    return state


def changed_files(folder: Path, before: dict[str, tuple[int, int]]) -> list[str]:
    """Files created or changed under the folder since `before` (outside the run's evidence)."""
    after = folder_state(folder)
    return sorted(name for name, stamp in after.items() if before.get(name) != stamp)


def _running_cell(notebook_path: Path, output: Path) -> tuple[int | None, str]:
    """The cell that was running when execution stopped (a timeout, a dead kernel): papermill
    saves the output notebook as it goes and marks the cell it runs."""
    try:
        executed = nbformat.read(str(output), as_version=4)
    except Exception:
        return None, ""
    started = [
        cell
        for cell in executed.cells
        if cell.cell_type == "code" and cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    # The last cell papermill started is the one that was running (after a timeout papermill
    # still marks it "completed"; the cells after it stay "pending").
    return _source_cell(notebook_path, started[-1].source) if started else (None, "")


def _source_cell(notebook_path: Path, failing_source: str) -> tuple[int | None, str]:
    """The failing cell's 1-based number in the source notebook (as a reader counts cells), found
    by its source; papermill's own index counts the cells it injected."""
    try:
        notebook = nbformat.read(str(notebook_path), as_version=4)
    except Exception:
        return None, ""
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code" and cell.source.strip() == (failing_source or "").strip():
            first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
            return number, first_line
    return None, ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r"File (?:\"(?P<a>[^\"]+)\", line (?P<b>\d+)|(?P<c>[^\s:,]+\.py):(?P<d>\d+))")


def _raised_in(traceback_lines: list[str] | None, folder: Path) -> str:
    """Where the exception came from when that is a module of the notebook's own folder (a
    helper it imports), not the cell: `helpers.py:4`."""
    frames = [m for line in traceback_lines or [] for m in _FRAME.finditer(_ANSI.sub("", line))]
    if not frames:
        return ""
    last = frames[-1]
    file, line = (last["a"], last["b"]) if last["a"] else (last["c"], last["d"])
    path = Path(os.path.expanduser(file))
    if "site-packages" in path.parts or not path.is_absolute():
        return ""
    try:
        return f"{path.resolve().relative_to(folder.resolve())}:{line}"
    except ValueError:
        return ""
