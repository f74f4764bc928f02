"""`labjournal run` on a tiny project: caching, re-execution of exactly what changed, failures, locking."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SQUARE_CELL, write_notebook
from rich.console import Console

from labjournal.cli import main
from labjournal.errors import PlanError, RunsFailedError, StoreLockedError
from labjournal.plan.model import load_plan
from labjournal.records import RunRecord
from labjournal.results.store import ResultsStore
from labjournal.run import executors
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan


def _run(project: Path, **options):
    plan = load_plan(project / "journal.yml")
    console = Console(file=open(project / "run.log", "a"), width=200)  # noqa: SIM115 - closed with the file
    return run_plan(RunRequest.for_plan(plan, console=console, **options), ResultsStore(project / "results"))


def _index(project: Path) -> dict:
    return json.loads((project / "results" / "index.json").read_text())


@pytest.mark.slow
def test_runs_are_stored_with_provenance_and_cached_the_second_time(demo_project: Path) -> None:
    first = _run(demo_project, profile="quick", jobs=2)
    assert (first.executed, first.cached, first.failed) == (3, 0, 0)
    rows = _index(demo_project)["runs"]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert rows[1]["metrics"]["square"] == 4.0 and rows[1]["params"] == {"x": 2.0}
    assert rows[2]["metrics"] == {"total": 5.0, "count": 2.0}  # the summary read both grid runs
    run_dir = demo_project / "results" / rows[0]["run_dir"]
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "figures",
        "kernel.log",
        "metrics.json",
        "notebook.ipynb",
        "params.json",
        "run.json",
    ]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "ok" and record["seed"] == 0 and record["parameters"] == {"x": 1.0, "seed": 0}
    assert set(record["key_inputs"]) == {
        "format",
        "notebook_code",
        "parameters",
        "data",
        "code",
        "deps",
        "environment",
        "inputs",
    }
    assert "labjournal/kit/record.py" in record["key_inputs"]["code"]  # the kit module the notebook imports
    assert "metrics.json" in record["artifacts"] and record["duration_s"] > 0
    assert RunRecord.model_validate(record).to_json() == record  # the typed record is the file, exactly
    executed = json.loads((run_dir / "notebook.ipynb").read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])

    second = _run(demo_project, profile="quick")
    assert (second.executed, second.cached) == (0, 3)


@pytest.mark.slow
def test_changing_one_grid_value_re_executes_only_the_affected_runs(demo_project: Path) -> None:
    _run(demo_project, profile="quick")
    plan_file = demo_project / "journal.yml"
    plan_file.write_text(plan_file.read_text().replace("grid: {x: [1.0, 2.0]}", "grid: {x: [1.0, 5.0]}"))
    summary = _run(demo_project, profile="quick")
    assert (summary.executed, summary.cached) == (2, 1)  # x=5.0 and the summary that reads it
    assert _index(demo_project)["runs"][2]["metrics"]["total"] == 26.0


@pytest.mark.slow
def test_force_re_executes_a_selection(demo_project: Path) -> None:
    _run(demo_project, profile="quick")
    assert _run(demo_project, profile="quick", force="demo/summary").executed == 1
    assert _run(demo_project, profile="quick", force="all").executed == 3


@pytest.mark.slow
def test_a_hand_edited_result_is_detected_and_re_executed(demo_project: Path) -> None:
    _run(demo_project, profile="quick")
    row = _index(demo_project)["runs"][0]
    metrics = demo_project / "results" / row["run_dir"] / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"square": 1.0', '"square": 99.0'))
    summary = _run(demo_project, profile="quick")
    assert summary.executed == 2  # the edited run, and the summary that reads it
    assert _index(demo_project)["runs"][0]["metrics"]["square"] == 1.0


CLOCK_CELL = """
import time
from labjournal.kit import record
record.scalar("stamp", time.time() + x)
"""

CLOCK_SUMMARY = """
from labjournal.kit import inputs, record
record.scalar("total", float(inputs.runs("squares")["metric.stamp"].sum()))
"""


@pytest.mark.slow
def test_forcing_the_inputs_re_runs_the_summary_that_reads_them(demo_project: Path) -> None:
    """A summary's key holds its inputs' keys; --force re-executes the inputs under the same
    keys with new values (measured timings). The summary must follow, or its figures disagree
    with the tables."""
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", CLOCK_CELL)
    write_notebook(demo_project / "notebooks" / "summary.ipynb", "label = 'all'", CLOCK_SUMMARY)
    _run(demo_project, profile="quick")
    forced = _run(demo_project, profile="quick", force="demo/squares")
    assert forced.executed == 3  # two inputs and the summary
    runs = _index(demo_project)["runs"]
    inputs_total = sum(r["metrics"]["stamp"] for r in runs if r["experiment"] == "squares")
    assert runs[-1]["metrics"]["total"] == pytest.approx(inputs_total)


@pytest.mark.slow
def test_a_summary_whose_inputs_changed_since_it_ran_is_stale(demo_project: Path) -> None:
    _run(demo_project, profile="quick")
    summary_dir = demo_project / "results" / _index(demo_project)["runs"][-1]["run_dir"]
    record = json.loads((summary_dir / "run.json").read_text())
    assert record["inputs_content"]  # what it read is recorded
    assert _run(demo_project, profile="quick").executed == 0
    record["inputs_content"] = "0" * 64  # as if an input had been replaced since
    (summary_dir / "run.json").write_text(json.dumps(record))
    again = _run(demo_project, profile="quick")
    assert (again.executed, again.cached) == (1, 2)


FAILING_CELL = """
import os
if x == 2.0 and os.environ.get("FAIL_AT_TWO"):
    raise ValueError("x = 2 is not allowed today")
"""


@pytest.mark.slow
def test_a_raising_notebook_fails_its_run_only_and_never_replaces_a_good_result(
    demo_project: Path, monkeypatch
) -> None:
    write_notebook(
        demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", FAILING_CELL, SQUARE_CELL
    )
    _run(demo_project, profile="quick")
    good = _index(demo_project)["runs"][1]
    good_metrics = (demo_project / "results" / good["run_dir"] / "metrics.json").read_text()

    monkeypatch.setenv("FAIL_AT_TWO", "1")
    with pytest.raises(RunsFailedError) as caught:
        _run(demo_project, profile="quick", force="all")
    message = str(caught.value)
    assert "notebooks/square.ipynb, cell 3 (import os): ValueError: x = 2 is not allowed today" in message
    rows = _index(demo_project)["runs"]
    # The forced re-run of x=2 failed: the earlier good result is still the one the index points to.
    assert rows[1]["status"] == "ok"
    assert (demo_project / "results" / rows[1]["run_dir"] / "metrics.json").read_text() == good_metrics
    failed = demo_project / "results" / "failed" / "demo" / "square" / good["key"][:16]
    assert (failed / "notebook.ipynb").exists()
    failed_record = json.loads((failed / "run.json").read_text())
    assert failed_record["error"]["exception"] == "ValueError"
    assert RunRecord.model_validate(failed_record).to_json() == failed_record
    log = (demo_project / "run.log").read_text()
    assert "demo/summary skipped: an input run failed" in log


@pytest.mark.slow
def test_first_failure_is_marked_failed_in_the_index(demo_project: Path, monkeypatch) -> None:
    write_notebook(
        demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", FAILING_CELL, SQUARE_CELL
    )
    monkeypatch.setenv("FAIL_AT_TWO", "1")
    with pytest.raises(RunsFailedError):
        _run(demo_project, profile="quick")
    assert [r["status"] for r in _index(demo_project)["runs"]] == ["ok", "failed", "missing"]
    assert _index(demo_project)["runs"][1]["error"]["cell"] == 3


@pytest.mark.slow
def test_exit_codes_of_the_command(demo_project: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(demo_project)
    assert main(["run", "--profile", "quick"]) == 0
    assert main(["run", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err
    write_notebook(
        demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", "raise RuntimeError('boom')"
    )
    assert main(["run", "--profile", "quick"]) == 1


def test_a_second_writer_is_refused_while_the_store_is_locked(demo_project: Path) -> None:
    store = demo_project / "results"
    store.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire(); "
            "print('held', flush=True); time.sleep(30)",
            str(store / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError, match="another labjournal process is writing"):
            _run(demo_project, profile="quick")
        assert not (store / "index.json").exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_leftovers_of_an_interrupted_run_are_discarded(demo_project: Path) -> None:
    leftover = demo_project / "results" / ".staging" / "abc-1-2"
    leftover.mkdir(parents=True)
    (leftover / "metrics.json").write_text('{"scalars": {"square": ')  # half-written
    summary = _run(demo_project, profile="quick")
    assert summary.executed == 3
    assert not (demo_project / "results" / ".staging").exists()


@pytest.mark.slow
def test_a_killed_worker_fails_its_runs_without_partial_results(demo_project: Path) -> None:
    killer = "import os, signal\nif x == 2.0:\n    os.kill(os.getppid(), signal.SIGKILL)"
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", killer, SQUARE_CELL)
    with pytest.raises(RunsFailedError, match="WorkerDied: the worker process running this notebook died"):
        _run(demo_project, profile="quick", jobs=1)
    rows = {r["params"].get("x"): r for r in _index(demo_project)["runs"]}
    assert rows[2.0]["status"] == "failed"
    assert rows[2.0]["error"]["exception"] == "WorkerDied"
    assert "worker process running this notebook died" in rows[2.0]["error"]["message"]
    assert not (demo_project / "results" / ".staging").exists()
    for run_json in (demo_project / "results" / "runs").rglob("run.json"):
        assert json.loads(run_json.read_text())["status"] == "ok"  # only complete runs were sealed


LEAK_CHECK = """
import os
for name in ("leaked", "_private", "leaked_module", "leaked_function"):
    assert name not in globals(), f"{name} of the previous run is still defined"
leaked = x
_private = x
import json as leaked_module
def leaked_function():
    return x
import sys
here = os.path.exists("square.ipynb") and (os.getcwd() in sys.path or "" in sys.path)
record.scalar("cwd_is_notebook_folder", float(here))  # as in Jupyter: its folder, importable
"""


@pytest.mark.slow
def test_warm_kernels_give_the_same_results_as_fresh_ones_and_leak_nothing(demo_project: Path) -> None:
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL, LEAK_CHECK)
    _run(demo_project, profile="default", jobs=1)  # one worker: every run of the notebook shares a kernel
    warm = {r["key"]: r["metrics"] for r in _index(demo_project)["runs"]}
    grid = [m for m in warm.values() if "square" in m]
    assert grid and all(m["cwd_is_notebook_folder"] == 1.0 for m in grid)  # recorded by every run
    notebook = next((demo_project / "results" / "runs" / "demo" / "square").glob("*/notebook.ipynb"))
    counts = [
        c["execution_count"] for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"
    ]
    assert counts == list(range(1, len(counts) + 1))  # as in a fresh kernel

    _run(demo_project, profile="default", jobs=1, force="all", fresh_kernels=True)
    assert {r["key"]: r["metrics"] for r in _index(demo_project)["runs"]} == warm


SUMMARY_LEAK_CHECK = """
assert "leaked" not in globals(), "a variable of another notebook's run is still defined"
from labjournal.kit import inputs, record
record.scalar("count", len(inputs.runs("squares")))
"""


@pytest.mark.slow
def test_one_kernel_per_worker_serves_every_notebook_without_leaks(demo_project: Path) -> None:
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL, LEAK_CHECK)
    write_notebook(demo_project / "notebooks" / "summary.ipynb", "label = 'all'", SUMMARY_LEAK_CHECK)
    warm = _run(demo_project, profile="default", jobs=1)
    assert (warm.executed, warm.failed, warm.cold_starts) == (7, 0, 1)  # two notebooks, one kernel
    assert "1 cold kernel starts" in warm.line()
    fresh = _run(demo_project, profile="default", jobs=1, force="all", fresh_kernels=True)
    assert (fresh.executed, fresh.cold_starts) == (7, 7)


@pytest.mark.slow
def test_a_retired_kernel_is_replaced_before_the_next_run_needs_it(demo_project: Path, monkeypatch) -> None:
    """After MAX_RUNS runs a kernel retires and its successor starts at once (booting while the
    worker reports back): no run waits for a cold start, and results equal fresh kernels'."""
    monkeypatch.setenv("LABJOURNAL_KERNEL_MAX_RUNS", "2")  # read by the spawned worker
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL, LEAK_CHECK)
    warm = _run(demo_project, profile="default", jobs=1)
    assert (warm.executed, warm.failed, warm.cold_starts) == (7, 0, 1)  # 3 retirements, 1 cold start
    metrics = {r["key"]: r["metrics"] for r in _index(demo_project)["runs"]}
    _run(demo_project, profile="default", jobs=1, force="all", fresh_kernels=True)
    assert {r["key"]: r["metrics"] for r in _index(demo_project)["runs"]} == metrics


@pytest.mark.slow
def test_a_failed_run_does_not_poison_the_next_run_in_the_same_kernel(demo_project: Path) -> None:
    failing = 'if x == 2.0:\n    raise RuntimeError("boom")\nbroken_state = True'
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", failing, SQUARE_CELL)
    with pytest.raises(RunsFailedError, match="boom"):
        _run(demo_project, profile="default", jobs=1)
    statuses = {(r["params"].get("x"), r["seed"]): r["status"] for r in _index(demo_project)["runs"]}
    assert statuses[(3.0, 0)] == "ok" and statuses[(3.0, 1)] == "ok"  # ran after the failure
    assert statuses[(2.0, 0)] == "failed"


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_completed_by_the_next_run(demo_project: Path) -> None:
    import os
    import signal
    import time

    brake = demo_project / "slow-down"  # while it exists, the run of x = 2.0 hangs
    brake.write_text("")
    slow = f"import os, time\nwhile x == 2.0 and os.path.exists({str(brake)!r}):\n    time.sleep(0.1)"
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", slow, SQUARE_CELL)
    command = [sys.executable, "-m", "labjournal.cli", "run", "--profile", "quick", "--jobs", "2"]
    process = subprocess.Popen(
        command,
        cwd=demo_project,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list((demo_project / "results" / "runs").rglob("run.json")):  # one run committed
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the command, its workers and their kernels
    process.wait()
    assert list((demo_project / "results" / ".staging").iterdir())  # the killed run's partial files

    brake.unlink()
    summary = _run(demo_project, profile="quick")  # the same notebook: committed runs are kept
    assert (summary.failed, summary.cached) == (0, 1) and summary.executed == 2
    assert not (demo_project / "results" / ".staging").exists()  # no partial files left
    assert [r["status"] for r in _index(demo_project)["runs"]] == ["ok", "ok", "ok"]
    assert main(["--project", str(demo_project), "run", "--profile", "quick"]) == 0  # and all cached


@pytest.mark.slow
def test_a_truncated_metrics_file_is_detected_and_the_run_re_executed(demo_project: Path) -> None:
    _run(demo_project, profile="quick")
    row = _index(demo_project)["runs"][1]
    metrics = demo_project / "results" / row["run_dir"] / "metrics.json"
    metrics.write_bytes(metrics.read_bytes()[:25])  # cut mid-file, as a full disk would
    summary = _run(demo_project, profile="quick")
    assert (summary.executed, summary.cached) == (2, 1)  # the run, and the summary that reads it
    assert json.loads(metrics.read_text())["scalars"]["square"] == 4.0  # whole again


def test_missing_data_stops_the_run_before_anything_executes(demo_project: Path, monkeypatch, capsys) -> None:
    plan = demo_project / "journal.yml"
    text = plan.read_text().replace(
        "path: notebooks/square.ipynb", "path: notebooks/square.ipynb\n        data: [points]"
    )
    declared = 'data:\n  points: {url: "http://127.0.0.1:9/points.csv", sha256: "' + "0" * 64 + '"}\nlabs:'
    plan.write_text(text.replace("labs:", declared, 1))
    monkeypatch.setenv("LABJOURNAL_DATA", str(demo_project / "no-data-here"))
    monkeypatch.setenv("LABJOURNAL_CACHE", str(demo_project / "cache"))
    assert main(["--project", str(demo_project), "run", "--profile", "quick"]) == 2
    message = capsys.readouterr().err
    assert "dataset 'points': could not download http://127.0.0.1:9/points.csv" in message
    assert f"{demo_project / 'no-data-here'}/points/points.csv" in message  # where to put it offline
    assert not (demo_project / "results" / "runs").exists()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--force", "demo/squars"], "--force demo/squars: matches no run (give all, a lab"),
        (["--force", "nosuch"], "there are: demo, demo/square, demo/squares, demo/summary"),
        (["--force", "demo", "--lab", "nolab"], "unknown lab 'nolab'"),
        (["--jobs", "0"], "--jobs 0: the number of worker processes must be at least 1"),
        (["--jobs", "-3"], "--jobs -3: the number of worker processes must be at least 1"),
    ],
)
def test_a_selector_or_count_that_means_nothing_is_an_error(
    demo_project: Path, capsys, arguments: list[str], expected: str
) -> None:
    code = main(["--project", str(demo_project), "run", "--profile", "quick", *arguments])
    assert code == 2
    assert expected in " ".join(capsys.readouterr().err.split())
    assert not (demo_project / "results" / "runs").exists()  # nothing ran


def test_force_of_a_lab_outside_the_selected_lab_is_an_error(tmp_path: Path, capsys) -> None:
    from conftest import add_second_lab, make_demo_project

    project = make_demo_project(tmp_path / "p")
    add_second_lab(project)
    code = main(["--project", str(project), "run", "--profile", "quick", "--force", "other", "--lab", "demo"])
    assert code == 2
    assert "--force other: matches no run among the runs of --lab demo" in " ".join(
        capsys.readouterr().err.split()
    )


SLEEPY_CELL = """
import time
time.sleep(60)
"""


@pytest.mark.slow
def test_a_timeout_names_the_cell_that_was_running(demo_project: Path) -> None:
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", "y = x + 1", SLEEPY_CELL)
    with pytest.raises(RunsFailedError) as caught:
        _run(demo_project, profile="quick", lab="demo", timeout_s=3, force="demo/squares")
    message = " ".join(str(caught.value).split())
    assert (
        "notebooks/square.ipynb, cell 4 (import time): CellTimeoutError: the cell was still running after the --timeout of 3 s"
        in message
    )


DEVICE_CELL = """
import os
from labjournal.kit import record
from labjournal.kit.runtime import setup
device = setup(seed)
record.scalar("square", x * x)
record.scalar("on_cpu", float(device.type == "cpu"))
record.scalar("asked_cpu", float(os.environ["LABJOURNAL_DEVICE"] == "cpu"))
"""


@pytest.mark.slow
def test_device_policy_reaches_the_notebook(demo_project: Path) -> None:
    from labjournal.run.placement import run_device

    assert run_device("auto", workers=8) == "cpu"  # many small runs share no GPU
    assert run_device("auto", workers=1) == "auto"  # one worker: CUDA where present
    assert run_device("cuda", workers=8) == "cuda" and run_device("cpu", workers=1) == "cpu"
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", DEVICE_CELL)
    _run(demo_project, profile="quick", jobs=2)
    rows = [r for r in _index(demo_project)["runs"] if r["experiment"] == "squares"]
    assert all(r["metrics"]["asked_cpu"] == 1.0 and r["metrics"]["on_cpu"] == 1.0 for r in rows)
    assert all(r["device"] == "cpu" for r in rows)


@pytest.mark.slow
def test_a_notebook_that_insists_on_cuda_fails_clearly_without_it(demo_project: Path) -> None:
    plan = demo_project / "journal.yml"
    plan.write_text(
        plan.read_text().replace(
            "path: notebooks/square.ipynb", "path: notebooks/square.ipynb\n        device: cuda"
        )
    )
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", DEVICE_CELL)
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the failure this test checks cannot happen here")
    with pytest.raises(
        RunsFailedError,
        match="asks for device 'cuda' \\(journal.yml: device\\), but torch sees no CUDA device",
    ):
        _run(demo_project, profile="quick", lab="demo", force="demo/squares")
    plan.write_text(plan.read_text().replace("device: cuda", "device: gpu"))
    with pytest.raises(
        PlanError, match="labs.demo.notebooks.square.device: Input should be 'auto', 'cpu' or 'cuda'"
    ):
        load_plan(plan)


def test_runs_go_to_the_workers_in_turn_from_each_notebook() -> None:
    from labjournal.plan.model import RunSpec
    from labjournal.run.cache import KeyedRun
    from labjournal.run.placement import interleave

    def item(notebook: str, seed: int) -> KeyedRun:
        spec = RunSpec("lab", notebook, notebook, Path(f"/{notebook}.ipynb"), {}, seed)
        return KeyedRun(spec, f"{notebook}{seed}", {})

    items = [item("a", 0), item("a", 1), item("a", 2), item("b", 0), item("c", 0), item("c", 1)]
    assert [i.key for i in interleave(items)] == ["a0", "b0", "c0", "a1", "c1", "a2"]


@pytest.mark.slow
def test_running_one_lab_with_another_profile_keeps_the_other_labs_results(tmp_path: Path) -> None:
    from conftest import add_second_lab, make_demo_project

    project = make_demo_project(tmp_path / "p")
    add_second_lab(project)
    _run(project, profile="default")
    before = {r["key"]: r for r in _index(project)["runs"] if r["lab"] == "other"}
    assert before and all(r["status"] == "ok" for r in before.values())
    _run(project, profile="quick", lab="demo")
    rows = _index(project)["runs"]
    assert {r["key"]: r for r in rows if r["lab"] == "other"} == before  # not forgotten
    demo = [r for r in rows if r["lab"] == "demo"]
    assert demo and all(r["profile"] == "quick" and r["status"] == "ok" for r in demo)
    assert [r["lab"] for r in rows] == sorted((r["lab"] for r in rows), key=["demo", "other"].index)


def test_a_pool_starts_no_more_workers_than_asked_or_than_it_has_runs(monkeypatch) -> None:
    monkeypatch.setattr(executors, "default_workers", lambda: 3)
    assert [executors.workers_for(None, runs) for runs in (0, 1, 2, 5)] == [1, 1, 2, 3]
    assert [executors.workers_for(4, runs) for runs in (2, 9, None)] == [2, 4, 4]
    assert executors.workers_for(None) == 3  # a kept pool, for passes of unknown size
