"""Warm kernels: a pool worker keeps one kernel and reuses it for its next run, whichever
notebook that is, instead of starting a kernel (and importing torch) for every run.

Starting a kernel and importing the libraries costs about 2 s on 2 cores and about 15 s on a
16-core GPU machine, more than most runs train. One kernel per worker (not per worker and
notebook) means a worker pays that once, however the scheduler interleaves notebooks. Reuse is
safe because before each run a reset cell (not part of the executed notebook) clears the user
namespace, the kit's per-run state and the open figures, restores matplotlib's, pandas' and
torch's defaults, points the environment at the new run, changes into its notebook's folder and
puts that folder (and the plan's `pythonpath`) first on `sys.path`, forgetting the project's
modules the last run imported, so each run imports them afresh from its own folder. A kernel is
retired after a run that failed or after `MAX_RUNS` runs; its replacement is started at once,
so that it boots and imports torch while the worker reports back and takes its next job. Each
run still writes its own executed notebook, with execution counts starting at 1 as in a fresh
kernel.

This is a papermill engine (`labjournal-warm`), so parameter injection, error markers and
failure reporting stay papermill's own.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from labjournal.names import READS
from labjournal.run.kernel import IpcKernelManager

ENGINE_NAME = "labjournal-warm"
MAX_RUNS = int(os.environ.get("LABJOURNAL_KERNEL_MAX_RUNS", "40"))  # bounds what a notebook might leak
WARM_UP = "import labjournal.run.readlog\nimport labjournal.kit, matplotlib.pyplot, numpy, pandas\ntry:\n    import torch\nexcept ImportError:\n    pass"  # what labs import

RESET = """\
import os as _os
_os.chdir({cwd!r})  # first: the last run's folder may be gone (a remote run's temporary folder)
for _n in [_n for _n in get_ipython().user_ns if _n not in get_ipython().user_ns_hidden]:
    get_ipython().user_ns.pop(_n, None)  # every variable, function and import of the last run
del _n
get_ipython().user_ns["Out"].clear()  # Out[n]: what the last run displayed
get_ipython().user_ns.update({{"_": "", "__": "", "___": ""}})
import importlib as _importlib, json as _json, os as _os, sys as _sys
_paths = [[_p for _p in _e.get("LABJOURNAL_PYTHONPATH", "").split(_os.pathsep) if _p]
          for _e in (_os.environ, _json.loads({environment!r}))]
_sys.path[:] = [_p for _p in _sys.path if _p not in _paths[0]]  # the last run's folders
# The project's modules, and any other from outside the installed distributions (an editable
# install's): imported afresh, as edited now, and recorded for the run that imports them.
__import__("labjournal.run.readlog").run.readlog.forget_local_modules()
_sys.path[:0] = _paths[1]  # this run's: its notebook's folder, then the plan's pythonpath
_importlib.invalidate_caches()
_os.environ.update(_json.loads({environment!r}))
if "labjournal.kit.record" in _sys.modules:
    _sys.modules["labjournal.kit.record"]._default.cache_clear()
if "matplotlib" in _sys.modules:
    import matplotlib as _mpl
    import matplotlib.pyplot as _plt
    _plt.close("all")
    _mpl.rcdefaults()
    if "labjournal.kit.plots" in _sys.modules:
        _importlib.reload(_sys.modules["labjournal.kit.plots"])
if "pandas" in _sys.modules:
    import warnings as _warnings
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _sys.modules["pandas"].reset_option("all")
if "torch" in _sys.modules:
    _sys.modules["torch"].set_default_dtype(_sys.modules["torch"].float32)
    _sys.modules["torch"].set_grad_enabled(True)
for _n in [_n for _n in get_ipython().user_ns if _n not in get_ipython().user_ns_hidden]:
    get_ipython().user_ns.pop(_n, None)  # and the reset's own names
del _n
__import__("labjournal.run.readlog").run.readlog.begin()  # last: record what this run reads
"""
FINISH = '__import__("labjournal.run.readlog").run.readlog.finish({path!r})'


def _new_log() -> Path:
    handle, path = tempfile.mkstemp(prefix="labjournal-kernel-", suffix=".log")
    os.close(handle)  # the kernel opens it itself, for appending
    return Path(path)


@dataclass
class WarmKernel:
    km: IpcKernelManager
    kc: Any = None  # the kernel client, kept between runs
    runs: int = 0
    log_path: Path = field(default_factory=lambda: _new_log())

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
        atexit.register(self.shutdown)

    def get(self, kernel_name: str) -> WarmKernel:
        if kernel_name not in self.kernels:
            self.kernels[kernel_name] = WarmKernel(IpcKernelManager(kernel_name=kernel_name))
        return self.kernels[kernel_name]

    def after_run(self, kernel_name: str, ok: bool, keep: bool = True) -> None:
        """Retire the kernel after a failure, after `MAX_RUNS` runs, or when it is not to be
        kept (`--fresh-kernels`); a warm kernel's replacement is started at once."""
        kernel = self.kernels.get(kernel_name)
        if kernel is not None and (not ok or not keep or kernel.runs >= MAX_RUNS or not kernel.started):
            self.retire(kernel_name)
            if kernel.started and keep:
                self.prestart(kernel_name)

    def start(self, kernel_name: str, cwd: str, timeout_s: float) -> WarmKernel:
        """Start this worker's kernel in `cwd` and wait until it answers."""
        from jupyter_core.utils import run_sync

        kernel = self.get(kernel_name)
        log = open(kernel.log_path, "ab")  # noqa: SIM115 - the kernel owns it
        run_sync(kernel.km.start_kernel)(stderr=log, cwd=cwd)
        kernel.kc = kernel.km.client()
        kernel.kc.start_channels()
        run_sync(kernel.kc.wait_for_ready)(timeout=timeout_s)
        return kernel

    def prestart(self, kernel_name: str) -> None:
        """Start the next kernel now and have it import the libraries, without waiting: the
        kernel process boots while this worker reports its run and takes the next job."""
        kernel = self.get(kernel_name)
        try:
            from jupyter_core.utils import run_sync

            start: dict[str, Any] = {"stderr": open(kernel.log_path, "ab")}  # noqa: SIM115 - the kernel owns it
            run_sync(kernel.km.start_kernel)(**start)
            kernel.kc = kernel.km.client()
            kernel.kc.start_channels()
            kernel.kc.execute(WARM_UP, silent=True, store_history=False)
        except Exception:  # a pre-start that fails costs nothing: the next run starts one itself
            self.retire(kernel_name)

    def retire(self, kernel_name: str) -> None:
        kernel = self.kernels.pop(kernel_name)
        try:
            if kernel.kc is not None:
                kernel.kc.stop_channels()
            if kernel.km.has_kernel:
                from jupyter_core.utils import run_sync

                run_sync(kernel.km.shutdown_kernel)(now=True)
        except Exception:  # a kernel that is already gone needs no shutdown
            pass
        kernel.log_path.unlink(missing_ok=True)

    def shutdown(self) -> None:
        for name in list(self.kernels):
            self.retire(name)


WORKER_KERNELS = WarmKernels()


def _in_kernel(kernel: WarmKernel, kernel_name: str, code: str) -> None:
    """Execute engine code in the kernel, outside the run's notebook."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code)]
    client = NotebookClient(notebook, km=kernel.km, kernel_name=kernel_name, timeout=120)
    client.kc = kernel.kc
    client.execute(cleanup_kc=False)


def _reset(kernel: WarmKernel, kernel_name: str, environment: dict[str, str], cwd: str) -> None:
    _in_kernel(kernel, kernel_name, RESET.format(environment=json.dumps(environment), cwd=cwd))


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
            WORKER_KERNELS.start(kernel_name, cwd, start_timeout)
        # Also in a new kernel: the reset starts recording what the run reads.
        _reset(kernel, kernel_name, warm_environment or {}, cwd)
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
                _in_kernel(kernel, kernel_name, FINISH.format(path=reads))
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
