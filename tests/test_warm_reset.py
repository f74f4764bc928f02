"""A warm kernel resets to a fresh kernel's state (labjournal.kit.reset): a canary notebook that
changes every kind of global state, then a notebook that observes it, in one warm kernel; and
the reset's parts called in this process, each putting back what it changed."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import textwrap
import warnings
import weakref
from pathlib import Path

import numpy as np
import pytest
from conftest import write_notebook

from labjournal.kit import record, reset, runtime
from labjournal.records import EXECUTED_NOTEBOOK
from labjournal.run import warm
from labjournal.run.execute import Job, execute_job
from labjournal.run.kernel import ensure_kernelspec

POLLUTER = """
import os, random, sys, warnings
import matplotlib, matplotlib.pyplot as plt, numpy as np, pandas as pd
from labjournal.kit import plots, record, runtime
try:
    import torch
except ImportError:
    torch = None
import helper  # from this notebook's folder; reads its state.txt when imported
helper.STATE.append("changed by the first run")
runtime.setup(seed)
record.scalar("polluted", 1.0)
os.environ["CANARY"] = "set by the first run"
if torch is not None:
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    torch.backends.cudnn.benchmark = True
    torch.set_float32_matmul_precision("medium")
    torch.manual_seed(123)
np.set_printoptions(precision=2, threshold=5)
np.seterr(all="raise")
random.seed(123)
np.random.seed(123)
matplotlib.use("Agg")
matplotlib.rcParams["lines.linewidth"] = 7.0
plt.figure()
pd.set_option("display.max_rows", 3)
sys.path.append("/nowhere")
leaked = "a variable of the first run"
os.chdir(os.path.dirname(os.getcwd()))
warnings.simplefilter("error")
"""

OBSERVER = """
import json, os, random, sys, warnings
from pathlib import Path
import matplotlib, matplotlib.pyplot as plt, numpy as np, pandas as pd
from labjournal.kit import record, runtime
try:
    import torch
except ImportError:
    torch = None
import helper
state = {
    "globals": names_at_start,
    "execution_count": count_at_start,
    "environment": dict(os.environ),
    "cwd": os.getcwd(),
    "path": sys.path,
    "helper": [helper.__file__, helper.STATE],
    "numpy": [np.get_printoptions(), np.geterr(), np.getbufsize()],
    "matplotlib": [matplotlib.get_backend(), plt.get_fignums(), {k: repr(v) for k, v in matplotlib.rcParams.items()}],
    "pandas": pd.get_option("display.max_rows"),
    "kit": [runtime.not_controlled(), "labjournal.kit.plots" in sys.modules],
    "torch": None if torch is None else [
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        str(torch.get_default_dtype()),
        torch.get_num_threads(),
        torch.is_grad_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.get_float32_matmul_precision(),
    ],
}
draws = [random.random(), float(np.random.random()), None if torch is None else torch.rand(1).item()]
filters = [repr(f) for f in warnings.filters]
record.scalar("observed", 1.0)
observed = {"state": state, "draws": draws, "filters": filters}
Path(os.environ["LABJOURNAL_RUN_DIR"], "observed.json").write_text(json.dumps(observed, default=repr))
"""

HELPER = 'from pathlib import Path\nSTATE = [Path(__file__).with_name("state.txt").read_text()]\n'


def _lab(root: Path, name: str, code: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "helper.py").write_text(HELPER)
    (folder / "state.txt").write_text(f"{name}'s state")
    start = "names_at_start = sorted(globals())\ncount_at_start = get_ipython().execution_count"
    return write_notebook(folder / f"{name}.ipynb", "seed = 0", start, code)


def _job(notebook: Path, staging: Path, warm_kernel: bool, **extra: str) -> Job:
    staging.mkdir(parents=True)
    environment = {
        "PYTHONPATH": str(notebook.parent),
        "LABJOURNAL_RUN_DIR": str(staging),
        "LABJOURNAL_RUN_KEY": staging.name,
        "OMP_NUM_THREADS": "2",
        "PYTHONHASHSEED": "0",
        **extra,
    }
    return Job(
        key=staging.name,
        notebook_path=notebook,
        parameters={"seed": 0},
        staging=staging,
        kernel_name=ensure_kernelspec(),
        environment=environment,
        timeout_s=300,
        warm=warm_kernel,
    )


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch):
    """This process as a pool worker with kernels of its own, starting from an environment without
    any run's variables (a job executed in this process by an earlier test or fixture leaves them,
    and a fresh kernel would inherit them); its environment put back after."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(("LABJOURNAL_RUN", "OMP_", "MKL_"))] + [
        "LABJOURNAL_THREADS",
        "LABJOURNAL_DEVICE",
        "LABJOURNAL_INPUTS",
        "LABJOURNAL_DATA_SOURCES",
    ]:
        monkeypatch.delenv(name, raising=False)
    kernels = warm.WarmKernels()
    monkeypatch.setattr(warm, "WORKER_KERNELS", kernels)
    yield kernels
    kernels.shutdown()
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.slow
def test_a_warm_kernel_shows_the_next_run_none_of_the_last_runs_changes(tmp_path: Path, worker) -> None:
    """The observer in a fresh kernel, then the canary and the observer in one warm kernel: the
    observer sees what it saw in the fresh kernel, and none of the canary's changes."""
    polluter = _lab(tmp_path, "first", POLLUTER)
    observer = _lab(tmp_path, "second", OBSERVER)
    inputs = tmp_path / "inputs.json"
    fresh = execute_job(_job(observer, tmp_path / "fresh", warm_kernel=False))
    first = execute_job(_job(polluter, tmp_path / "canary", warm_kernel=True, LABJOURNAL_INPUTS=str(inputs)))
    second = execute_job(_job(observer, tmp_path / "warm", warm_kernel=True))
    assert fresh.ok and first.ok and second.ok, (fresh.error, first.error, second.error)
    assert (fresh.cold_start, first.cold_start, second.cold_start) == (True, True, False)
    before = json.loads((tmp_path / "fresh" / "observed.json").read_text())
    after = json.loads((tmp_path / "warm" / "observed.json").read_text())

    for seen in (before, after):  # what differs between any two runs
        del (
            seen["state"]["environment"]["LABJOURNAL_RUN_DIR"],
            seen["state"]["environment"]["LABJOURNAL_RUN_KEY"],
        )
    assert after["state"] == before["state"]
    seen = after["state"]
    assert "leaked" not in seen["globals"]
    assert "CANARY" not in seen["environment"] and "LABJOURNAL_INPUTS" not in seen["environment"]
    assert seen["cwd"] == str(observer.parent) and "/nowhere" not in seen["path"]
    assert seen["path"][0] == str(observer.parent)
    assert seen["helper"] == [str(observer.parent / "helper.py"), ["second's state"]]
    assert seen["numpy"][0]["precision"] == 8 and seen["numpy"][1]["divide"] == "warn"
    assert seen["matplotlib"][1] == [] and seen["matplotlib"][2]["lines.linewidth"] == "1.5"
    assert seen["pandas"] == 60 and seen["kit"] == [[], False]
    if seen["torch"] is not None:
        assert seen["torch"] == [False, False, "torch.float32", 2, True, False, False, "highest"]
    random.seed(123)
    np.random.seed(123)
    assert after["draws"][:2] != [random.random(), float(np.random.random())]  # reseeded
    assert "('error', None, <class 'Warning'>, None, 0)" not in after["filters"]
    assert set(after["filters"]) <= set(before["filters"])  # see labjournal.kit.reset: warnings
    metrics = json.loads((tmp_path / "warm" / "metrics.json").read_text())
    assert metrics["scalars"] == {"observed": 1.0}  # recorded into its own run's folder
    assert json.loads((tmp_path / "canary" / "metrics.json").read_text())["scalars"] == {"polluted": 1.0}


@pytest.mark.slow
def test_runs_in_a_warm_kernel_show_no_history_database_error(tmp_path: Path, worker) -> None:
    """IPython's history database keyed each input by (session, line); a warm kernel restarts the
    line numbers for every run, so from its second run on IPython printed "Session/line number was
    not unique in database" into the run's notebook (and onto its published page). The kernels run
    without that database (labjournal.run.kernel), and a run is not written into the user's own
    IPython history."""
    cells = ["import time\ntime.sleep(0.3)"] * 4
    notebook = write_notebook(tmp_path / "lab" / "slow.ipynb", "seed = 0", *cells)
    for run in range(3):
        outcome = execute_job(_job(notebook, tmp_path / f"run{run}", warm_kernel=True))
        assert outcome.ok, outcome.error
        assert "not unique in database" not in (tmp_path / f"run{run}" / EXECUTED_NOTEBOOK).read_text(), run


def _open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


@pytest.mark.slow
def test_a_retired_kernel_leaves_no_folder_and_no_open_log(tmp_path: Path, worker) -> None:
    notebook = _lab(tmp_path, "only", "x = 1")
    outcome = execute_job(_job(notebook, tmp_path / "run", warm_kernel=True))
    kernel = worker.kernels[ensure_kernelspec()]
    folder = kernel.folder
    assert outcome.ok and folder.is_dir() and kernel.km.ip.startswith(str(folder))
    assert str(kernel.log_path) not in _open_files()  # the kernel process holds its stderr, not the worker
    worker.shutdown()
    assert not folder.exists() and not worker.kernels


def test_a_kernel_starts_with_the_worker_environment_less_what_runs_set(monkeypatch) -> None:
    kernels = warm.WarmKernels()
    monkeypatch.setenv("LABJOURNAL_INPUTS", "/a/summary's/inputs.json")  # as execute_job leaves it
    monkeypatch.setenv("SHELL_VARIABLE", "the user's")
    kernels.run_names.add("LABJOURNAL_INPUTS")  # a summary ran in this worker before
    started = kernels.kernel_environment({"PYTHONHASHSEED": "0", "LABJOURNAL_RUN_DIR": "/run"})
    assert "LABJOURNAL_INPUTS" not in started and "LABJOURNAL_RUN_DIR" not in started
    assert started["SHELL_VARIABLE"] == "the user's" and started["PYTHONHASHSEED"] == "0"
    kernels.shutdown()


@pytest.fixture
def environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_environment_becomes_the_start_up_one_plus_the_run_s(environment) -> None:
    start = {"HOME": "/home/someone", "PATH": "/bin"}
    os.environ["LABJOURNAL_INPUTS"] = "/an/earlier/summary's/inputs.json"
    reset.replace_environment({"LABJOURNAL_RUN_DIR": "/run", "PATH": "/usr/bin"}, start)
    assert dict(os.environ) == {"HOME": "/home/someone", "PATH": "/usr/bin", "LABJOURNAL_RUN_DIR": "/run"}


def test_the_import_path_is_the_run_s_then_the_interpreter_s(monkeypatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    start = reset.Startup(
        environment={"PYTHONPATH": "/old/lab"},
        path=("/old/lab", "/stdlib", "", "/site"),
        filters=(),
        main={},
        torch_threads=None,
    )
    sys.path.append("/added/by/a/run")
    reset.set_import_path({"PYTHONPATH": os.pathsep.join(["/new/lab", "/shared"])}, start)
    assert sys.path == ["/new/lab", "/shared", "/stdlib", "", "/site"]


def test_the_project_s_modules_are_forgotten_the_libraries_kept(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "canary_helper.py").write_text("STATE = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import canary_helper  # noqa: F401 - a project's module

    reset.forget_local_modules()
    assert "canary_helper" not in sys.modules
    assert "numpy" in sys.modules and "labjournal.kit.reset" in sys.modules


def test_random_generators_are_reseeded() -> None:
    random.seed(123)
    np.random.seed(123)
    seeded = [random.random(), np.random.random()]
    random.seed(123)
    np.random.seed(123)
    reset.reset_random()
    assert [random.random(), np.random.random()] != seeded


def test_warning_filters_go_back_to_the_start_up_ones() -> None:
    with warnings.catch_warnings():
        start = tuple(warnings.filters)
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="noise")
        reset.reset_warnings(start)
        assert tuple(warnings.filters) == start


def test_numpy_options_go_back_to_their_defaults() -> None:
    with np.printoptions(), np.errstate():
        np.set_printoptions(precision=2, threshold=5, formatter={"float": lambda x: "x"})
        np.seterr(all="raise")
        reset.reset_numpy()
        assert np.get_printoptions()["precision"] == 8 and np.get_printoptions()["formatter"] is None
        assert np.geterr() == reset.NUMPY_ERRORS


def test_torch_flags_go_back_to_their_defaults(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    threads = torch.get_num_threads()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.set_float32_matmul_precision("medium")
        torch.manual_seed(123)
        seeded = torch.initial_seed()
        reset.reset_torch(None)
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.get_default_dtype() == torch.float32 and torch.is_grad_enabled()
        assert torch.get_float32_matmul_precision() == "highest" and torch.get_num_threads() == 1
        assert torch.initial_seed() != seeded
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "environment",
    [{"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "2"}],
)
def test_the_reset_gives_torch_the_threads_a_fresh_import_takes(environment, monkeypatch) -> None:
    """The warm kernel's threads are a fresh kernel's: torch's start-up lets MKL_NUM_THREADS win
    over OMP_NUM_THREADS (CI's canary caught a warm kernel with 2 threads beside a fresh one's 1)."""
    pytest.importorskip("torch")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    fresh = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert reset.torch_threads(None) == int(fresh.stdout)


def test_matplotlib_and_pandas_go_back_to_their_defaults() -> None:
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd

    with matplotlib.rc_context():
        plt.figure()
        matplotlib.rcParams["lines.linewidth"] = 7.0
        pd.set_option("display.max_rows", 3)
        reset.reset_matplotlib()
        reset.reset_pandas()
        assert plt.get_fignums() == [] and matplotlib.rcParams["lines.linewidth"] == 1.5
        assert pd.get_option("display.max_rows") == 60


def test_the_kit_forgets_the_last_run_s_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_RUN_DIR", str(tmp_path / "first"))
    record.scalar("value", 1.0)
    runtime._NOT_CONTROLLED.append("something of the first run")
    monkeypatch.setenv("LABJOURNAL_RUN_DIR", str(tmp_path / "second"))
    reset.reset_kit()
    record.scalar("value", 2.0)
    assert json.loads((tmp_path / "second" / "metrics.json").read_text())["scalars"] == {"value": 2.0}
    assert runtime.not_controlled() == []
    record.reset()


def test_the_last_run_s_garbage_is_collected_and_what_survives_frozen() -> None:
    class Node:
        pass

    node = Node()
    node.cycle = node  # garbage only the cyclic collector finds
    alive = weakref.ref(node)
    del node
    try:
        reset.release_garbage()
        assert alive() is None and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_whole_reset_in_a_plain_interpreter(tmp_path: Path) -> None:
    """`reset_for_run` end to end, in a child Python (it forgets this test process's modules)."""
    (tmp_path / "lab").mkdir()
    script = textwrap.dedent(
        f"""
        import os, random, sys, warnings
        import numpy as np
        from labjournal.kit import reset
        start = reset.startup()
        os.environ["CANARY"] = "1"
        sys.path.append("/nowhere")
        warnings.simplefilter("error")
        np.seterr(all="raise")
        reset.reset_for_run({str(tmp_path / "lab")!r}, {{"RUN": "yes"}})
        assert dict(os.environ) == {{**start.environment, "RUN": "yes"}}, "environment"
        assert os.getcwd() == {str(tmp_path / "lab")!r} and "/nowhere" not in sys.path
        assert tuple(warnings.filters) == start.filters and np.geterr()["divide"] == "warn"
        print("reset")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "reset", done.stderr
