"""A failed run affects only what needs it: a table keeps its label, caption and other rows (the
failed row links to the failed run's notebook), a figure keeps its label with a note in its place,
a value at another grid point is shown, and the render still records the failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_PAGE, make_demo_project
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.freshness import read_render
from labjournal.render.journal import render_journal
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan
from labjournal.run.store import ResultsStore

REFERENCES = "\nAs @fig-demo-plot and @tbl-demo-squares show, squares grow.\n"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    demo = make_demo_project(tmp_path_factory.mktemp("failed") / "project")
    plan = load_plan(demo / "journal.yml")
    run_plan(RunRequest.for_plan(plan, console=Console(quiet=True)), ResultsStore(demo / "results"))
    return demo


def _fail(project: Path, x: float, seed: int) -> str:
    """The run at x, seed made a failed run in the index, as labjournal.run.index writes one (its
    executed notebook in results/failed/…). Returns its folder as the render's record names it."""
    index_path = project / "results" / "index.json"
    index = json.loads(index_path.read_text())
    for i, row in enumerate(index["runs"]):
        if row["experiment"] == "squares" and row["params"] == {"x": x} and row["seed"] == seed:
            folder = f"failed/demo/square/{row['key'][:16]}"
            (project / "results" / folder).mkdir(parents=True)
            shutil.copy(project / "results" / row["run_dir"] / "notebook.ipynb", project / "results" / folder)
            kept = {
                k: row[k] for k in ("lab", "notebook", "experiment", "notebook_path", "profile", "params")
            }
            error = {"notebook": row["notebook_path"], "cell": 3, "exception": "ValueError", "message": "no"}
            index["runs"][i] = {**kept, "seed": seed, "key": row["key"], "data": row["data"]}
            index["runs"][i].update(status="failed", run_dir=folder, error=error)
            index_path.write_text(json.dumps(index))
            return f"results/{folder}"
    raise AssertionError("no such run")


def _skip_summary(project: Path) -> None:
    """The summary made a run skipped because a run it reads failed: missing, as the index says."""
    index_path = project / "results" / "index.json"
    index = json.loads(index_path.read_text())
    for i, row in enumerate(index["runs"]):
        if row["notebook"] == "summary":
            kept = (
                "lab",
                "notebook",
                "experiment",
                "notebook_path",
                "profile",
                "params",
                "seed",
                "key",
                "data",
            )
            index["runs"][i] = {**{k: row[k] for k in kept}, "status": "missing", "reason": "not run yet"}
    index_path.write_text(json.dumps(index))


@pytest.fixture
def one_failed(executed: Path, tmp_path: Path) -> tuple[Path, str, str]:
    project = tmp_path / "project"
    shutil.copytree(executed, project)
    key = json.loads((project / "results" / "index.json").read_text())["runs"][0]["key"]
    return project, _fail(project, 1.0, 0), key


def test_a_failed_grid_point_fails_its_row_figure_and_value_only(one_failed) -> None:
    project, folder, key = one_failed
    (project / "report" / "demo.qmd").write_text(
        DEMO_PAGE
        + "\nAt x = 1 it is {{ metric('demo/squares', 'square', x=1.0) }}.\n"
        + "\n{{ run_table('demo/squares', 'errors', caption='Errors', x=1.0) }}\n"
        + REFERENCES
        + "@tbl-demo-errors has one cell.\n"
    )
    out, failed = render_journal(Project(project))
    page = (out / "demo.qmd").read_text()
    assert failed == [folder]
    assert read_render(Project(project))["failed"] == [folder]  # the exit status and publish see it
    # The table keeps its other rows, its caption and its label; the failed row links to the run.
    assert f"| 1.0 | failed: see [{key[:8]}](runs/{key[:16]}.html) | failed |" in page
    assert "| 2.0 | 4 | 2.050 ± 0.071 |" in page and "| 3.0 | 9 | 3.050 ± 0.071 |" in page
    assert ": Mean ± standard deviation over seeds 0, 1." in page and "{#tbl-demo-squares}" in page
    # The figure (its run is seed 0 of x = 1) keeps its label, with a note linking to the run.
    assert "::: {#fig-demo-plot .figure-unavailable}" in page
    assert f"Figure not available: the run failed (ValueError); see [{key[:8]}](runs/{key[:16]}.html)" in page
    # A value of another grid point is shown; the failed point's value is a note.
    assert "The square at x = 2 is 4.00 (n = 2)." in page
    assert f"At x = 1 it is (failed: see {folder})." in page
    assert (out / "runs" / f"{key[:16]}.html").exists()  # the failed run's notebook, published
    # A table the failed run would have recorded keeps its caption and label.
    assert f"| Not available: the run failed; see [{key[:8]}](runs/{key[:16]}.html) |" in page
    assert ": Errors. demo/square · x = 1.0 seed 0: the run failed (ValueError). {#tbl-demo-errors}" in page


def test_a_summary_skipped_because_a_run_it_reads_failed_keeps_its_figures_label(one_failed) -> None:
    project, folder, key = one_failed
    _skip_summary(project)
    (project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo\n---\n\n{{ figure('demo/summary', 'overview') }}\n\nTotal: "
        "{{ metric('demo/summary', 'total') }}; square at 3: {{ metric('demo/squares', 'square', x=3.0) | num(2) }}."
        "\n\nAs @fig-demo-overview shows.\n"
    )
    out, failed = render_journal(Project(project))
    page = (out / "demo.qmd").read_text()
    assert failed == [folder]
    assert "::: {#fig-demo-overview .figure-unavailable}" in page
    assert (
        f"*Figure not available: a run it reads failed (ValueError); see [{key[:8]}](runs/{key[:16]}.html).*"
        in page
    )
    assert "overview (demo/summary): not available, a run it reads failed." in page
    assert f"Total: (failed: see {folder}); square at 3: 9.00 (n = 2)." in page


def test_the_site_numbers_and_links_the_table_and_the_figure_placeholder(one_failed) -> None:
    project, _folder, key = one_failed
    (project / "report" / "demo.qmd").write_text(DEMO_PAGE + REFERENCES)
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", only="site", console=Console(quiet=True))
    html = (project / "_site" / "demo.html").read_text()
    assert 'id="fig-demo-plot"' in html and 'id="tbl-demo-squares"' in html
    assert 'href="#fig-demo-plot"' in html and 'href="#tbl-demo-squares"' in html
    assert f"runs/{key[:16]}.html" in html
