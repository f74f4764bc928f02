"""Warm kernels: a pool worker keeps one kernel and reuses it for its next run, whichever
notebook that is, instead of starting a kernel (and importing torch) for every run.

Starting a kernel and importing the libraries costs about 2 s on 2 cores and about 15 s on a
16-core GPU machine, more than most runs train. One kernel per worker (not per worker and
notebook) means a worker pays that once, however the scheduler interleaves notebooks. Reuse is
safe because before each run the kernel resets itself to a fresh kernel's state, by the kit's
`labjournal.kit.reset.reset_for_run` (its docstring is the contract: namespace, environment,
modules, import path, random state, library flags, warning filters, the kit's per-run state),
called by a reset cell that is not part of the executed notebook. A kernel starts with this
worker's environment less every variable a run set here, so a reset's start-up environment holds
nothing of an earlier run. A kernel is retired after a run that failed or after `MAX_RUNS` runs;
its replacement is started at once, so that it boots and imports torch while the worker reports
back and takes its next job; a retired kernel's folder (sockets, stderr log) is removed, also at
the worker's exit. Each run still writes its own executed notebook, with execution counts
starting at 1 as in a fresh kernel.

This is a papermill engine (`labjournal-warm`), so parameter injection, error markers and
failure reporting stay papermill's own.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from labjournal.names import KERNEL_MAX_RUNS_ENV, READS
from labjournal.run.kernel import IpcKernelManager

ENGINE_NAME = "labjournal-warm"
MAX_RUNS = int(os.environ.get(KERNEL_MAX_RUNS_ENV, "40"))  # bounds what a notebook might leak
# What labs import, read before the kernel's first run (labjournal.kit.reset keeps their warning
# filters as start-up state); the read log first, so that none of it counts as a run's reading;
# last, the libraries' objects frozen, so that the first reset need not walk them.
WARM_UP = "import labjournal.run.readlog\nimport labjournal.kit.reset, matplotlib.pyplot, numpy, pandas\ntry:\n    import torch\nexcept ImportError:\n    pass\nlabjournal.kit.reset.release_garbage()"
# Before each run: the kit's reset (labjournal.kit.reset: its docstring is the contract), then
# the read log starts recording what the run reads.
RESET = (
    "import labjournal.kit.reset\n"
    "labjournal.kit.reset.reset_for_run(**__import__('json').loads({arguments!r}))\n"
    '__import__("labjournal.run.readlog").run.readlog.begin()'
)
FINISH = '__import__("labjournal.run.readlog").run.readlog.finish({path!r})'
# A run's variables that count only when the interpreter or a library starts (the hash seed, the
# thread counts of the maths libraries): a kernel starts with them, the same for every run.
STARTUP_NAMES = ("PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class WarmKernel:
    km: IpcKernelManager
    folder: Path  # private to the kernel: its sockets and stderr log; removed when it retires
    kc: Any = None  # the kernel client, kept between runs
    runs: int = 0

    @classmethod
    def new(cls, kernel_name: str) -> WarmKernel:
        folder = Path(tempfile.mkdtemp(prefix="labjournal-kernel-"))
        return cls(IpcKernelManager(kernel_name=kernel_name, ip=str(folder / "kernel")), folder)

    @property
    def log_path(self) -> Path:
        return self.folder / "stderr.log"

    @property
    def started(self) -> bool:
        return self.kc is not None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


class WarmKernels:
    """The warm kernel of one worker process (one per kernel name; labjournal uses one name)."""

    def __init__(self) -> None:
        self.kernels: dict[str, WarmKernel] = {}
        self.cold_starts = 0
        self.run_names: set[str] = set()  # every variable a run's environment set in this worker
        self.last_environment: dict[str, str] = {}
        atexit.register(self.shutdown)

    def get(self, kernel_name: str) -> WarmKernel:
        if kernel_name not in self.kernels:
            self.kernels[kernel_name] = WarmKernel.new(kernel_name)
        return self.kernels[kernel_name]

    def kernel_environment(self, run: dict[str, str]) -> dict[str, str]:
        """The environment a kernel starts with: this worker's, less every variable a run set
        here (the worker's environment holds the last run's: the reset gives each run its own),
        plus the run's `STARTUP_NAMES`."""
        self.run_names |= set(run)
        self.last_environment = dict(run)
        worker = {name: value for name, value in os.environ.items() if name not in self.run_names}
        return worker | {name: run[name] for name in STARTUP_NAMES if name in run}

    def after_run(self, kernel_name: str, ok: bool, keep: bool = True) -> None:
        """Retire the kernel after a failure, after `MAX_RUNS` runs, or when it is not to be
        kept (`--fresh-kernels`); a warm kernel's replacement is started at once."""
        kernel = self.kernels.get(kernel_name)
        if kernel is not None and (not ok or not keep or kernel.runs >= MAX_RUNS or not kernel.started):
            self.retire(kernel_name)
            if kernel.started and keep:
                self.prestart(kernel_name)

    def _launch(self, kernel: WarmKernel, environment: dict[str, str]) -> None:
        """Start the kernel process in its own folder, its stderr appended to its log."""
        from jupyter_core.utils import run_sync

        with open(kernel.log_path, "ab") as log:  # the kernel process holds its own descriptor
            run_sync(kernel.km.start_kernel)(
                stderr=log, cwd=str(kernel.folder), env=self.kernel_environment(environment)
            )
        kernel.kc = kernel.km.client()
        kernel.kc.start_channels()

    def start(self, kernel_name: str, environment: dict[str, str], timeout_s: float) -> WarmKernel:
        """Start this worker's kernel for a run with `environment` and wait until it answers."""
        from jupyter_core.utils import run_sync

        kernel = self.get(kernel_name)
        self._launch(kernel, environment)
        run_sync(kernel.kc.wait_for_ready)(timeout=timeout_s)
        return kernel

    def prestart(self, kernel_name: str) -> None:
        """Start the next kernel now and have it import the libraries, without waiting: the
        kernel process boots while this worker reports its run and takes the next job."""
        kernel = self.get(kernel_name)
        try:
            self._launch(kernel, self.last_environment)
            kernel.kc.execute(WARM_UP, silent=True, store_history=False)
        except Exception:  # a pre-start that fails costs nothing: the next run starts one itself
            self.retire(kernel_name)

    def retire(self, kernel_name: str) -> None:
        """Shut the kernel down and remove its folder (sockets, log)."""
        kernel = self.kernels.pop(kernel_name)
        try:
            if kernel.kc is not None:
                kernel.kc.stop_channels()
            if kernel.km.has_kernel:
                from jupyter_core.utils import run_sync

                run_sync(kernel.km.shutdown_kernel)(now=True)
        except Exception:  # a kernel that is already gone needs no shutdown
            pass
        shutil.rmtree(kernel.folder, ignore_errors=True)

    def shutdown(self) -> None:
        for name in list(self.kernels):
            self.retire(name)


WORKER_KERNELS = WarmKernels()


def _in_kernel(kernel: WarmKernel, code: str, timeout_s: float = 120) -> None:
    """Execute engine code in the kernel, outside the run's notebook and its history (a run's
    execution counts start at 1, as in a fresh kernel)."""
    from jupyter_core.utils import run_sync

    reply = run_sync(kernel.kc.execute_interactive)(
        code, store_history=False, allow_stdin=False, timeout=timeout_s, output_hook=lambda _msg: None
    )
    content = reply["content"]
    if content["status"] != "ok":
        raise RuntimeError(
            f"the warm kernel's own code failed: {content.get('ename')}: {content.get('evalue')}"
        )


def _reset(kernel: WarmKernel, environment: dict[str, str], cwd: str) -> None:
    arguments = json.dumps({"cwd": cwd, "environment": environment})
    _in_kernel(kernel, RESET.format(arguments=arguments))


def renumber_execution_counts(nb: nbformat.NotebookNode) -> None:
    """Execution counts as a fresh kernel would give them: 1, 2, 3, ... over the executed cells."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        count += 1
        cell.execution_count = count
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count


class WarmEngine(NBClientEngine):
    """papermill's nbclient engine, executing in a warm kernel of this worker."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        warm_environment=None,
        warm_output=None,
        **kwargs,
    ):
        kernel = WORKER_KERNELS.get(kernel_name)
        cwd = os.getcwd()  # papermill has changed into the run's folder
        if not kernel.started:
            WORKER_KERNELS.cold_starts += 1
            # The kernel outlives this run: its stderr goes to a worker-level log, sliced per run.
            WORKER_KERNELS.start(kernel_name, warm_environment or {}, start_timeout)
        # Also in a new kernel: the reset starts recording what the run reads.
        _reset(kernel, warm_environment or {}, cwd)
        client = PapermillNotebookClient(
            nb_man,
            km=kernel.km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client.kc = kernel.kc
        try:
            nb = client.execute(cleanup_kc=False)
            if warm_output:
                reads = str(Path(warm_output).parent / READS)
                _in_kernel(kernel, FINISH.format(path=reads))
        except BaseException:
            # papermill saves only a notebook that finished (this engine is not asked to save
            # after every cell): keep what ran, with the running cell marked, for reading.
            if warm_output:
                nbformat.write(nb_man.nb, warm_output)
            raise
        finally:
            kernel.kc = client.kc
            kernel.runs += 1
        renumber_execution_counts(nb)
        return nb


papermill_engines.register(ENGINE_NAME, WarmEngine)
