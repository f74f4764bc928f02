"""Warm kernels: a pool worker keeps the kernel of a notebook and reuses it for that notebook's
next run, instead of starting a kernel (and importing torch) for every run.

Starting a kernel and importing the libraries costs about 2 s here, more than most runs train.
Reuse is safe because a kernel only ever runs the same notebook, and before each run a reset cell
(not part of the executed notebook) clears the user namespace, the kit's per-run state and the
open figures, restores matplotlib's and torch's defaults, points the environment at the new run
and changes into its folder. A kernel is retired after a run that failed, after `MAX_RUNS` runs,
or when a worker holds more than `MAX_KERNELS` kernels. Each run still writes its own executed
notebook, with execution counts starting at 1 as in a fresh kernel.

This is a papermill engine (`labjournal-warm`), so parameter injection, error markers and
failure reporting stay papermill's own.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from labjournal.kernel import IpcKernelManager

ENGINE_NAME = "labjournal-warm"
MAX_RUNS = 40  # bounds whatever a notebook might leak between runs
MAX_KERNELS = 3  # per worker: roughly one per notebook of a lab

RESET = """\
%reset -f
import importlib as _importlib, json as _json, os as _os, sys as _sys
_os.environ.update(_json.loads({environment!r}))
_os.chdir({cwd!r})
if "labjournal.kit.record" in _sys.modules:
    _sys.modules["labjournal.kit.record"]._default.cache_clear()
if "matplotlib" in _sys.modules:
    import matplotlib as _mpl
    import matplotlib.pyplot as _plt
    _plt.close("all")
    _mpl.rcdefaults()
    if "labjournal.kit.plots" in _sys.modules:
        _importlib.reload(_sys.modules["labjournal.kit.plots"])
if "torch" in _sys.modules:
    _sys.modules["torch"].set_default_dtype(_sys.modules["torch"].float32)
%reset -f
"""


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
    """The warm kernels of one worker process, by (notebook, kernel name)."""

    def __init__(self) -> None:
        self.kernels: OrderedDict[tuple[str, str], WarmKernel] = OrderedDict()
        atexit.register(self.shutdown)

    def get(self, notebook: Path, kernel_name: str) -> WarmKernel:
        key = (str(notebook), kernel_name)
        if key in self.kernels:
            self.kernels.move_to_end(key)
            return self.kernels[key]
        while len(self.kernels) >= MAX_KERNELS:
            self.retire(next(iter(self.kernels)))
        kernel = WarmKernel(IpcKernelManager(kernel_name=kernel_name))
        self.kernels[key] = kernel
        return kernel

    def after_run(self, notebook: Path, kernel_name: str, ok: bool) -> None:
        key = (str(notebook), kernel_name)
        kernel = self.kernels.get(key)
        if kernel is not None and (not ok or kernel.runs >= MAX_RUNS or not kernel.started):
            self.retire(key)

    def retire(self, key: tuple[str, str]) -> None:
        kernel = self.kernels.pop(key)
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
        for key in list(self.kernels):
            self.retire(key)


WORKER_KERNELS = WarmKernels()


def _reset(kernel: WarmKernel, kernel_name: str, environment: dict[str, str], cwd: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(RESET.format(environment=json.dumps(environment), cwd=cwd))]
    client = NotebookClient(notebook, km=kernel.km, kernel_name=kernel_name, timeout=120)
    client.kc = kernel.kc
    client.execute(cleanup_kc=False)


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
        warm_notebook=None,
        warm_environment=None,
        **kwargs,
    ):
        kernel = WORKER_KERNELS.get(Path(warm_notebook), kernel_name)
        cwd = os.getcwd()  # papermill has changed into the run's folder
        start: dict[str, Any] = {}
        if kernel.started:
            _reset(kernel, kernel_name, warm_environment or {}, cwd)
        else:
            # The kernel outlives this run: its stderr goes to a worker-level log, sliced per run.
            start = {"stderr": open(kernel.log_path, "ab"), "cwd": cwd}  # noqa: SIM115 - the kernel owns it
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
            nb = client.execute(cleanup_kc=False, **start)
        finally:
            kernel.kc = client.kc
            kernel.runs += 1
        renumber_execution_counts(nb)
        return nb


papermill_engines.register(ENGINE_NAME, WarmEngine)
