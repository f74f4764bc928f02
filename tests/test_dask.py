"""The Dask executor: against a LocalCluster (same run folders, cache and failure semantics), and
against separate scheduler and worker processes that share no folder with the project."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import SQUARE_CELL, write_notebook
from rich.console import Console

from labjournal.errors import ExecutorError, RunsFailedError
from labjournal.plan.model import load_plan
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install .[dask])"
)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local.scheduler_address


def _run(project: Path, **options):
    console = Console(file=open(project / "run.log", "a"), width=200)  # noqa: SIM115 - closed with the file
    request = RunRequest.for_plan(load_plan(project / "journal.yml"), console=console, **options)
    return run_plan(request, ResultsStore(project / "results"))


def _metrics(project: Path) -> dict[str, dict]:
    index = json.loads((project / "results" / "index.json").read_text())
    return {row["key"]: row["metrics"] for row in index["runs"]}


@pytest.mark.slow
def test_dask_runs_give_the_same_results_and_cache_as_local_runs(
    demo_project: Path, tmp_path: Path, cluster
) -> None:
    summary = _run(demo_project, profile="default", executor="dask", scheduler=cluster)
    assert (summary.executed, summary.failed) == (7, 0)
    on_dask = _metrics(demo_project)
    run_dirs = list((demo_project / "results" / "runs" / "demo" / "square").glob("*/run.json"))
    assert len(run_dirs) == 6 and all((d.parent / "notebook.ipynb").exists() for d in run_dirs)

    again = _run(demo_project, profile="default", executor="dask", scheduler=cluster)
    assert (again.executed, again.cached) == (0, 7)  # the same cache, whoever executed

    _run(demo_project, profile="default", force="all")  # the local pool, for comparison
    assert _metrics(demo_project) == on_dask


@pytest.mark.slow
def test_a_failing_notebook_fails_its_run_only(demo_project: Path, cluster) -> None:
    failing = 'if x == 2.0:\n    raise ValueError("no twos")'
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", failing, SQUARE_CELL)
    with pytest.raises(RunsFailedError, match="no twos"):
        _run(demo_project, profile="default", executor="dask", scheduler=cluster)
    index = json.loads((demo_project / "results" / "index.json").read_text())
    statuses = sorted(
        (row["params"].get("x"), row["status"]) for row in index["runs"] if row["seed"] is not None
    )
    assert statuses == [(1.0, "ok"), (1.0, "ok"), (2.0, "failed"), (2.0, "failed"), (3.0, "ok"), (3.0, "ok")]
    assert list((demo_project / "results" / "failed").rglob("notebook.ipynb"))


def test_unusable_clusters_are_clear_errors(demo_project: Path) -> None:
    with pytest.raises(ExecutorError, match="needs --scheduler"):
        _run(demo_project, profile="quick", executor="dask")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as two,
        pytest.raises(ExecutorError, match="nthreads 1"),
    ):
        _run(demo_project, profile="quick", executor="dask", scheduler=two.scheduler_address)


SLOW_SQUARE = SQUARE_CELL + "\nimport time\ntime.sleep(4)\n"


def hidden(folder: Path, command: list[str]) -> list[str]:
    """`command` in a mount namespace where `folder` is an empty tmpfs (root only): the process
    cannot see the project, so whatever reaches the store travels back through the client."""
    script = 'mount -t tmpfs tmpfs "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(folder), *command]


def can_hide() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(hidden(Path(tempfile.mkdtemp()), ["true"]), capture_output=True)
    return probe.returncode == 0


def _start_worker(dask: Path, address: str, home: Path, hide: Path | None) -> subprocess.Popen:
    """A `dask worker` with a folder of its own (`home`), where `hide` (the project) is invisible."""
    (home / "tmp").mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(home / "tmp"), "JUPYTER_RUNTIME_DIR": str(home)}
    command = [
        str(dask),
        "worker",
        address,
        "--nthreads",
        "1",
        "--no-nanny",
        "--no-dashboard",
        "--local-directory",
        str(home),
    ]
    return subprocess.Popen(
        hidden(hide, command) if hide is not None else command,
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def separate_cluster(project: Path, workers: int = 2):
    """A real `dask scheduler` and `dask worker` processes on 127.0.0.1, each worker in a folder of
    its own; where the machine allows it, the workers cannot see the project's folder at all."""
    base = Path(tempfile.mkdtemp(prefix="labjournal-dask-"))
    dask = Path(sys.executable).parent / "dask"
    hide = can_hide()
    scheduler_file = base / "scheduler.json"
    processes = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            cwd=base,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(workers):
            processes.append(_start_worker(dask, address, base / f"worker-{i}", project if hide else None))
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
            yield address, client, hide
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_workers_without_the_project_folder_run_and_survive_a_killed_worker(demo_project: Path) -> None:
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SLOW_SQUARE)
    with separate_cluster(demo_project.parent) as (address, client, hide):
        if hide:  # what a worker sees where the project is: nothing
            listing = [sys.executable, "-c", f"import os; os.listdir({str(demo_project)!r})"]
            probe = subprocess.run(hidden(demo_project.parent, listing), capture_output=True, text=True)
            assert "FileNotFoundError" in probe.stderr
        elif os.environ.get("CI"):
            pytest.fail("CI runs as root and must hide the project from the workers (unshare)")
        outcome: dict = {}
        thread = threading.Thread(
            target=lambda: outcome.update(
                summary=_run(demo_project, profile="quick", executor="dask", scheduler=address)
            )
        )
        thread.start()
        victim = None
        deadline = time.monotonic() + 90
        while victim is None and time.monotonic() < deadline:
            busy = [worker for worker, keys in client.processing().items() if keys]
            if busy:
                victim = client.run(os.getpid)[busy[0]]
                time.sleep(1.0)  # mid-run: the notebook is executing
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.1)
        thread.join(timeout=180)
    assert victim is not None, "no run was seen executing on the cluster"
    summary = outcome["summary"]
    assert (summary.executed, summary.failed) == (3, 0)  # the killed run was rescheduled
    index = json.loads((demo_project / "results" / "index.json").read_text())
    assert [row["status"] for row in index["runs"]] == ["ok", "ok", "ok"]
    assert {row["metrics"]["square"] for row in index["runs"] if row["seed"] is not None} == {1.0, 4.0}
    for record in (demo_project / "results" / "runs").rglob("run.json"):
        run = json.loads(record.read_text())
        for name, checksum in run["artifacts"].items():  # every file arrived whole
            assert hashlib.sha256((record.parent / name).read_bytes()).hexdigest() == checksum
    assert not (demo_project / "results" / ".staging").exists()


@pytest.mark.slow
def test_workers_without_the_project_get_its_modules_files_and_datasets(tmp_path: Path, monkeypatch) -> None:
    """A learner's notebook that imports a helper beside it, reads a CSV beside it by name, a
    `path:` dataset of the project and a `url:` dataset: on workers that cannot see the project,
    the first three travel with the job and the worker fetches the download into its own cache."""
    from conftest import serve
    from test_own_labs import PLAN, _sha, make_own_lab

    project, served = make_own_lab(tmp_path, notebooks=())
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LABJOURNAL_DATA", str(tmp_path / "offline"))
    only_fit = PLAN[: PLAN.index("      other:")]
    with serve(served) as url:
        plan = only_fit.replace("URL", f"{url}/remote.txt").replace("SHA", _sha(served / "remote.txt"))
        (project / "journal.yml").write_text(plan)
        with separate_cluster(tmp_path) as (address, _client, hide):
            if not hide and os.environ.get("CI"):
                pytest.fail("CI runs as root and must hide the project from the workers (unshare)")
            summary = _run(project, profile="quick", executor="dask", scheduler=address)
    assert (summary.executed, summary.failed) == (2, 0), (project / "run.log").read_text()
    index = json.loads((project / "results" / "index.json").read_text())
    assert {row["params"]["scale"]: row["metrics"]["total"] for row in index["runs"]} == {1.0: 6.0, 2.0: 12.0}
    assert {row["metrics"]["extra"] for row in index["runs"]} == {10.0}
    assert {row["metrics"]["remote"] for row in index["runs"]} == {100.0}
