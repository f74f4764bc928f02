"""Reset a warm kernel to the state of a fresh one, before its next run.

A pool worker reuses its kernel for its next run (labjournal.run.warm). Before each run the
engine calls `reset_for_run(cwd, environment)` in the kernel, and this is its contract: when it
returns, the kernel is, in everything listed here, as a kernel freshly started for the run:

- **Working directory**: `cwd` (changed into first: the last run's folder may be gone).
- **Namespace**: IPython's user namespace emptied (variables, functions, imports, `Out`, `In`),
  execution count back to 1.
- **Environment**: `os.environ` is exactly the kernel's start-up environment updated with the
  run's `environment`; nothing a previous run set or was given survives (a summary's
  `LABJOURNAL_INPUTS`, a variable a notebook set). One exception, because the process cannot
  unread it: `CUBLAS_WORKSPACE_CONFIG` once CUDA has started.
- **Modules**: every module loaded from outside the standard library and the installed
  distributions (the project's, `pythonpath`'s, editable installs') is forgotten, so the run
  imports them afresh from its own folder (`forget_local_modules`); and the kit's own modules
  whose import has effects (`plots`, which sets the journal's figure style) are imported afresh.
- **Import path**: `sys.path` is the run's `PYTHONPATH` entries, then the interpreter's start-up
  entries (without the start-up `PYTHONPATH`'s), as a fresh interpreter given the run's
  environment would have it; entries a previous run added are gone.
- **Random state**: Python's `random`, NumPy's global generator and torch's generators reseeded
  from the operating system, as at start-up (a run that wants repeatable numbers seeds them).
- **Flags**: NumPy's print options and floating-point error handling; torch's deterministic
  algorithms (off), default dtype (float32) and device, number of threads (`OMP_NUM_THREADS`),
  grad mode (on), anomaly detection, cuDNN flags, float32 matmul precision, print options, and
  `torch.compile`'s caches; matplotlib's figures closed, its rcParams and backend as at import;
  pandas' options at their defaults.
- **Warnings**: the filters as they were before the kernel's first run, and the "once" registries
  forgotten.
- **The kit**: its per-run state forgotten (`reset_kit`: the recorder of the last run's folder,
  `runtime.not_controlled()`).

Not reset, and documented as such: state inside installed libraries beyond the flags above (a
library's caches, a CUDA context, thread pools), handlers of the `logging` module, child
processes and files a run left. A warning filter that a library adds when a run first imports it
is dropped at the next reset unless the kernel imported that library before its first run (the
engine's warm-up imports NumPy, pandas, matplotlib and torch); such a kernel is then stricter,
never laxer, than a fresh one.

Standard library only at import: the read log (labjournal.run.readlog) imports this module into
every kernel before anything else. NumPy, torch, matplotlib and pandas are reset only when the
kernel has already imported them; none of them is needed.
"""

from __future__ import annotations

import gc
import importlib
import os
import random
import sys
import sysconfig
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

# The standard library's and the installed distributions' folders: modules found there are kept.
LIBRARY_ROOTS = tuple(
    sorted(
        {os.path.realpath(p) + os.sep for p in sysconfig.get_paths().values() if p}
        | {os.path.realpath(sys.prefix) + os.sep, os.path.realpath(sys.base_prefix) + os.sep},
        key=len,
        reverse=True,
    )
)
KEPT_ONCE_CUDA_STARTED = ("CUBLAS_WORKSPACE_CONFIG",)  # read by cuBLAS when CUDA starts
# The kit's modules whose import has effects: imported afresh by the run that uses them.
KIT_MODULES_WITH_EFFECTS = ("labjournal.kit.plots",)
MAIN_MODULE_NAMES = ("__doc__", "__loader__", "__package__", "__spec__")  # kept by IPython's reset


@dataclass(frozen=True)
class Startup:
    """The kernel's state before its first run, which every reset returns to."""

    environment: dict[str, str]
    path: tuple[str, ...]
    filters: tuple[Any, ...]
    main: dict[str, Any]  # the user namespace's module names (`__spec__`, ...)
    torch_threads: int | None  # torch's number of threads, where torch was imported before

    @classmethod
    def now(cls) -> Startup:
        shell = _shell()
        torch = sys.modules.get("torch")
        return cls(
            environment=dict(os.environ),
            path=tuple(sys.path),
            filters=tuple(warnings.filters),
            main={k: shell.user_ns[k] for k in MAIN_MODULE_NAMES if shell and k in shell.user_ns},
            torch_threads=torch.get_num_threads() if torch is not None else None,
        )


_STARTUP: list[Startup] = []


def startup() -> Startup:
    """The kernel's start-up state, taken the first time it is asked for (by the first reset,
    before the kernel's first run)."""
    if not _STARTUP:
        _STARTUP.append(Startup.now())
    return _STARTUP[0]


def reset_for_run(cwd: str, environment: Mapping[str, str]) -> None:
    """Make this kernel what a fresh kernel started for the run would be (the module's docstring
    lists what that covers): in `cwd`, with the start-up environment plus `environment`."""
    os.chdir(cwd)
    start = startup()
    clear_namespace(start)
    replace_environment(environment, start.environment)
    forget_local_modules()
    set_import_path(environment, start)
    reset_random()
    reset_warnings(start.filters)
    reset_numpy()
    reset_torch(start.torch_threads)
    reset_matplotlib()
    reset_pandas()
    reset_kit()
    release_garbage()


def release_garbage() -> None:
    """Collect the last run's garbage now (a fresh kernel holds none of it: no tensors kept by
    reference cycles, no closed figures), then freeze what survives, the libraries and the
    kernel, so that later collections (the next reset's, the run's own) skip it: `gc.freeze`.
    What a library frees later as a reference cycle then stays until the kernel retires."""
    gc.collect()
    gc.freeze()


def _shell() -> Any:
    """The IPython shell this code runs in, or None (a plain interpreter)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def clear_namespace(start: Startup) -> None:
    """IPython's own reset (`%reset -f`): every name the last run defined, its outputs and its
    input history; then the execution count and the module names a fresh namespace has."""
    shell = _shell()
    if shell is None:
        return
    shell.reset(new_session=False)  # a new session would write to IPython's history database
    history = shell.history_manager
    if history is not None:  # `In` as a new session has it
        history.input_hist_parsed[:] = [""]
        history.input_hist_raw[:] = [""]
    shell.user_ns.update(start.main)
    shell.user_ns_hidden.update(start.main)
    shell.execution_count = 1


def replace_environment(environment: Mapping[str, str], start: Mapping[str, str]) -> None:
    """`os.environ` becomes exactly `start` updated with `environment` (see the module's contract
    for the one variable kept once CUDA started)."""
    target = {**start, **environment}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        target |= {name: os.environ[name] for name in KEPT_ONCE_CUDA_STARTED if name in os.environ}
    for name in [name for name in os.environ if name not in target]:
        del os.environ[name]
    for name, value in target.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def forget_local_modules() -> None:
    """Drop every module loaded from outside the standard library and the installed distributions
    (the project's, `pythonpath`'s, editable installs'): a run imports afresh, as edited now, what
    it uses, and a warm kernel's next run does not inherit the modules an earlier one loaded."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and _is_local(file) and name.split(".")[0] not in ("labjournal", "__main__"):
            del sys.modules[name]


_LOCAL: dict[str, bool] = {}  # a module's file -> outside the libraries' folders (resolved once)


def _is_local(file: str) -> bool:
    if file not in _LOCAL:
        _LOCAL[file] = not os.path.realpath(file).startswith(LIBRARY_ROOTS)
    return _LOCAL[file]


def _entries(value: str | None) -> list[str]:
    return [os.path.abspath(entry) for entry in (value or "").split(os.pathsep) if entry]


def set_import_path(environment: Mapping[str, str], start: Startup) -> None:
    """`sys.path` as a fresh interpreter given the run's environment starts with: the run's
    `PYTHONPATH` entries, then the start-up entries that did not come from the start-up
    `PYTHONPATH` (the standard library, `""` for the working folder, site-packages)."""
    started_with = set(_entries(start.environment.get("PYTHONPATH")))
    first = _entries(environment.get("PYTHONPATH", start.environment.get("PYTHONPATH")))
    rest = [entry for entry in start.path if not entry or os.path.abspath(entry) not in started_with]
    sys.path[:] = list(dict.fromkeys([*first, *rest]))
    importlib.invalidate_caches()


def reset_random() -> None:
    """Python's and NumPy's global generators reseeded from the operating system."""
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def reset_warnings(filters: tuple[Any, ...]) -> None:
    """The warning filters back to `filters`; what was shown "once" may show again."""
    warnings.resetwarnings()  # also invalidates every module's record of warnings shown
    # typeshed calls it a Sequence; it is the list the C module holds too, so it is extended in place
    cast(list[Any], warnings.filters).extend(filters)
    getattr(warnings, "onceregistry", {}).clear()
    warnings.showwarning = _SHOW_WARNING


_SHOW_WARNING = warnings.showwarning

# NumPy's documented defaults (numpy.set_printoptions, numpy.seterr, numpy.setbufsize).
NUMPY_PRINT_OPTIONS = {
    "edgeitems": 3,
    "threshold": 1000,
    "floatmode": "maxprec",
    "precision": 8,
    "suppress": False,
    "linewidth": 75,
    "nanstr": "nan",
    "infstr": "inf",
    "sign": "-",
    "formatter": None,
    "legacy": False,
}
NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
NUMPY_BUFFER_SIZE = 8192


def reset_numpy() -> None:
    """NumPy's print options, floating-point error handling and buffer size at their defaults."""
    np = sys.modules.get("numpy")
    if np is None:
        return
    np.set_printoptions(**NUMPY_PRINT_OPTIONS)
    np.seterr(**NUMPY_ERRORS)
    np.seterrcall(None)
    np.setbufsize(NUMPY_BUFFER_SIZE)


def torch_threads(start_threads: int | None = None) -> int:
    """The threads torch takes when imported in this environment: `MKL_NUM_THREADS`, else
    `OMP_NUM_THREADS` (MKL's wins where both are set, as torch's own start-up decides), else what
    the kernel started with, else the cores."""
    for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return start_threads or os.cpu_count() or 1


def reset_torch(start_threads: int | None) -> None:
    """torch's global flags at their defaults and its generators reseeded (when torch is loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    if torch.are_deterministic_algorithms_enabled() or torch.is_deterministic_algorithms_warn_only_enabled():
        # only when set: setting it imports torch's compiler (4 s), which a run that set it has
        torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = False
    torch.set_default_dtype(torch.float32)
    if hasattr(torch, "set_default_device"):
        torch.set_default_device(None)
    torch.set_grad_enabled(True)
    torch.autograd.set_detect_anomaly(False)
    torch.set_float32_matmul_precision("highest")
    torch.set_warn_always(False)
    torch.set_printoptions(profile="default")
    torch.set_num_threads(torch_threads(start_threads))
    torch.seed()  # from the operating system, on every device, as at start-up
    if "torch._dynamo" in sys.modules:
        torch.compiler.reset()


def reset_matplotlib() -> None:
    """Every figure closed; rcParams as read from the rc files when matplotlib was imported, and
    the backend of `MPLBACKEND` (a kernel's inline backend) where a run switched to another."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    backend = os.environ.get("MPLBACKEND")
    if "matplotlib.pyplot" in sys.modules:
        plt = sys.modules["matplotlib.pyplot"]
        plt.close("all")
        if backend and mpl.get_backend().lower() != backend.lower():
            plt.switch_backend(backend)
    mpl.rc_file_defaults()
    mpl.rcParams["backend_fallback"] = mpl.rcParamsOrig["backend_fallback"]  # `matplotlib.use` sets it


def reset_pandas() -> None:
    """pandas' options at their defaults (quietly: some options are deprecated)."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")


def reset_kit() -> None:
    """The kit's per-run state: the recorder (so `record.*` writes to this run's folder), what
    `runtime.setup` could not control, and the kit modules whose import sets something."""
    if "labjournal.kit.record" in sys.modules:
        from labjournal.kit import record

        record.reset()
    if "labjournal.kit.runtime" in sys.modules:
        from labjournal.kit import runtime

        runtime.reset()
    kit = sys.modules.get("labjournal.kit")
    for name in KIT_MODULES_WITH_EFFECTS:
        if sys.modules.pop(name, None) is not None and kit is not None:
            vars(kit).pop(name.rpartition(".")[2], None)
