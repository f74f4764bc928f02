"""`labjournal run` stopped from outside: results/ removed while it runs, Ctrl-C (SIGINT) to the
command alone or to its process group. Each ends with one line, no traceback from any process, no
worker or kernel left running and no staging left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import process as futures_process
from pathlib import Path

import pytest
from conftest import SQUARE_CELL, ctrl_c_as_in_a_terminal, write_notebook
from rich.console import Console

from labjournal.errors import ResultsRemovedError
from labjournal.plan.model import load_plan
from labjournal.records import Index
from labjournal.results.store import ResultsStore
from labjournal.run.execute import Job
from labjournal.run.executors import LocalExecutor, RunFolderRemoved
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

KEY = "a" * 64


@pytest.mark.parametrize("made_again", [False, True], ids=["removed", "removed-and-made-again"])
def test_the_store_writes_nothing_once_its_folder_is_removed(tmp_path: Path, made_again: bool) -> None:
    store = ResultsStore(tmp_path / "results")
    with store.locked():
        staging = store.new_staging(KEY)
        (staging / "metrics.json").write_text("{}")
        shutil.rmtree(store.root)
        if made_again:  # another folder of the same name, with a lock file of its own
            (store.root / ".staging" / staging.name).mkdir(parents=True)
            (store.root / ".lock").touch()
        message = r"results/ was removed while runs were executing: 1 run\(s\) were lost; run `labjournal run` again"
        with pytest.raises(ResultsRemovedError, match=message):
            store.commit(staging, store.run_dir("lab", "nb", KEY), {"key": KEY, "status": "ok"})
        for write in (
            lambda: store.keep_failed(staging, store.failed_run_dir("lab", "nb", KEY), {"key": KEY}),
            lambda: store.new_staging("b" * 64),
            lambda: store.write_index(Index()),
        ):
            with pytest.raises(ResultsRemovedError):
                write()
    assert not list(tmp_path.rglob("run.json")) and not list(tmp_path.rglob("index.json"))
    assert made_again or not store.root.exists()  # nothing was made again


@pytest.mark.slow
def test_a_run_whose_folder_was_removed_is_a_lost_run(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1.0", "y = x")
    job = Job(
        key=KEY, notebook_path=notebook, parameters={}, staging=tmp_path / "gone", kernel_name="labjournal"
    )
    pool = LocalExecutor(1)
    try:
        error = pool.submit(job).exception(timeout=120)
    finally:
        pool.close()
    assert isinstance(error, RunFolderRemoved) and str(tmp_path / "gone") in str(error)


def test_a_terminated_pool_is_wound_down_when_close_returns(monkeypatch) -> None:
    """After Ctrl-C the pool's manager thread closes its wake-up pipe; were it still doing so as
    the command exits, Python's exit hook wrote to the closing pipe (`OSError: [Errno 9] Bad file
    descriptor` after the command's last line, once in CI). The thread is slowed here as a loaded
    machine slows it: `close` waits for it."""
    wind_down = futures_process._ExecutorManagerThread.join_executor_internals  # noqa: SLF001

    def slowly(thread: object) -> None:
        time.sleep(0.5)
        wind_down(thread)

    monkeypatch.setattr(futures_process._ExecutorManagerThread, "join_executor_internals", slowly)  # noqa: SLF001
    pool = LocalExecutor(2)
    running = pool.pool.submit(time.sleep, 30)
    pool.terminate()
    manager, wakeup = pool.pool._executor_manager_thread, pool.pool._executor_manager_thread_wakeup  # noqa: SLF001
    pool.close()
    assert manager is not None and not manager.is_alive()
    assert wakeup is not None and wakeup._closed  # noqa: SLF001
    assert isinstance(running.exception(timeout=0), futures_process.BrokenProcessPool)


# -- the command, from outside ---------------------------------------------------------------------


def _hanging_notebook(project: Path, hangs: str = "True") -> tuple[Path, Path]:
    """Each run says it started, then waits while the brake file exists (20 s at most) if `hangs`,
    then says it finished: a run that was stopped never does."""
    marks, brake = project / "marks", project / "brake"
    marks.mkdir()
    brake.write_text("")
    cell = (
        f"import os, time\nopen(os.path.join({str(marks)!r}, f'started-{{x}}'), 'w').close()\n"
        f"deadline = time.time() + 20\nwhile {hangs} and os.path.exists({str(brake)!r}) and time.time() < deadline:\n"
        f"    time.sleep(0.05)\nopen(os.path.join({str(marks)!r}, f'finished-{{x}}'), 'w').close()\n"
    )
    write_notebook(project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", cell, SQUARE_CELL)
    return marks, brake


def _start(project: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "labjournal.cli", "run", "--profile", "quick", "--jobs", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a signal to the group reaches no test
        env={**os.environ, "COLUMNS": "300"},
        preexec_fn=ctrl_c_as_in_a_terminal,
    )


def _wait_for(condition, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process is None or process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "waited two minutes"
        time.sleep(0.05)


def _running_in(project: Path) -> list[str]:
    """The processes (zombies aside) working in the project's folders: the command, its workers
    and their kernels."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            inside = Path(os.readlink(proc / "cwd")).is_relative_to(project.resolve())
            if inside and (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append((proc / "cmdline").read_text().replace("\0", " "))
        except (OSError, IndexError):
            continue
    return found


def _workers_of(pid: int) -> list[int]:
    """The pool's worker processes of a command, started (spawned) or starting."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and "spawn_main" in (proc / "cmdline").read_text():
                found.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _nothing_left(project: Path, marks: Path, brake: Path, finished: tuple[str, ...] = ()) -> None:
    """No run goes on: released, none finishes (but those `finished` before); no process is left;
    no staging is left."""
    brake.unlink()
    deadline = time.monotonic() + 10  # SIGKILLed processes leave /proc as they are reaped
    while _running_in(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running_in(project) == []
    assert sorted(path.name for path in marks.glob("finished-*")) == sorted(finished)
    staging = project / "results" / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


@pytest.mark.slow
def test_removing_results_while_runs_execute_stops_with_one_message(demo_project: Path) -> None:
    marks, brake = _hanging_notebook(demo_project)
    process = _start(demo_project)
    results = demo_project / "results"
    _wait_for(lambda: len(list(marks.glob("started-*"))) == 2, process)
    shutil.rmtree(results)
    brake.unlink()  # the runs finish, into folders that are gone
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "was removed" in line]
    assert (
        len(lines) == 1 and "results/ was removed while runs were executing: 2 run(s) were lost" in lines[0]
    )
    assert lines[0].endswith("run `labjournal run` again")
    assert not list(demo_project.rglob("run.json")) and not (results / "index.json").exists()
    _wait_for(lambda: not _running_in(demo_project))  # no worker or kernel left
    assert not (results / ".staging").exists()


@pytest.mark.slow
def test_sigint_to_the_command_alone_stops_its_workers_and_kernels(demo_project: Path) -> None:
    marks, brake = _hanging_notebook(demo_project)
    process = _start(demo_project)
    _wait_for(lambda: len(list(marks.glob("started-*"))) == 2, process)  # both runs execute
    os.kill(process.pid, signal.SIGINT)  # `kill -INT <pid>`: the workers get nothing
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "interrupted" in line]
    assert lines == [
        "interrupted: stopping 2 running notebook(s) and their kernels, and 0 queued; completed runs "
        "are kept, the next run resumes the rest"
    ], output
    _nothing_left(demo_project, marks, brake)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["workers-starting", "a-worker-idle"])
def test_ctrl_c_to_the_group_prints_no_traceback(demo_project: Path, when: str) -> None:
    marks, brake = _hanging_notebook(demo_project, hangs="True" if when == "workers-starting" else "x == 2.0")
    process = _start(demo_project)
    if when == "workers-starting":
        _wait_for(lambda: _workers_of(process.pid), process)
        time.sleep(0.3)  # past the start of the worker's Python: it imports papermill and the rest now
    else:  # one worker waits for its next run (after its first ran a notebook), the other runs one
        runs = demo_project / "results" / "runs"
        _wait_for(lambda: list(runs.rglob("run.json")) and list(marks.glob("started-2.0")), process)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal: every process of the group
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Traceback" not in output and "Process SpawnProcess" not in output, output
    assert len([line for line in output.splitlines() if "interrupted" in line]) == 1, output
    _nothing_left(demo_project, marks, brake, () if when == "workers-starting" else ("finished-1.0",))


@pytest.mark.slow
def test_ctrl_c_while_runs_are_submitted_stops_those_already_executing(
    demo_project: Path, monkeypatch
) -> None:
    """Ctrl-C lands between two submissions (a large plan takes a while to submit): the run that
    already executes is stopped, not waited for."""
    marks, brake = _hanging_notebook(demo_project)
    made = ResultsStore.new_staging

    def interrupted_second(store: ResultsStore, key: str) -> Path:
        if list(store.staging_dir.glob("*")):  # the second run: Ctrl-C once the first executes
            _wait_for(lambda: list(marks.glob("started-*")))
            raise KeyboardInterrupt
        return made(store, key)

    monkeypatch.setattr(ResultsStore, "new_staging", interrupted_second)
    plan = load_plan(demo_project / "journal.yml")
    console = Console(file=open(demo_project / "run.log", "a"), width=200)  # noqa: SIM115 - closed with the file
    with pytest.raises(KeyboardInterrupt):
        run_plan(
            RunRequest.for_plan(plan, console=console, profile="quick", jobs=2),
            ResultsStore(demo_project / "results"),
        )
    _nothing_left(demo_project, marks, brake)
