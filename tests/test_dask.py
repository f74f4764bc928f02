"""The Dask executor against a LocalCluster: same run folders, cache and failure semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SQUARE_CELL, write_notebook
from rich.console import Console

from labjournal.errors import RunsFailedError
from labjournal.executors import ExecutorError
from labjournal.plan import load_plan
from labjournal.scheduler import run_plan
from labjournal.store import ResultsStore

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
    return run_plan(
        load_plan(project / "journal.yml"), ResultsStore(project / "results"), console=console, **options
    )


def _metrics(project: Path) -> dict[str, dict]:
    index = json.loads((project / "results" / "index.json").read_text())
    return {row["key"]: row["metrics"] for row in index["runs"]}


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
