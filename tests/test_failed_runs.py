"""A failed run affects only what needs it: a table keeps its label, caption and other rows (the
failed row links to the failed run's notebook), a figure keeps its label with a note in its place,
a value at another grid point is shown, and the render still records the failure."""

from __future__ import annotations

import json
import re
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
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

REFERENCES = "\nAs @fig-demo-plot and @tbl-demo-squares show, squares grow.\n"

# A lab of its own with one notebook without `experiments:` (one run per seed; its experiment is
# the notebook's name), placed on the demo page.
SOLO_LAB = """\
  solo:
    title: Solo lab
    page: demo.qmd
    notebooks:
      single:
        path: notebooks/square.ipynb
        params: {x: 4.0}
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    demo = make_demo_project(tmp_path_factory.mktemp("failed") / "project")
    (demo / "journal.yml").write_text((demo / "journal.yml").read_text() + SOLO_LAB)
    plan = load_plan(demo / "journal.yml")
    run_plan(RunRequest.for_plan(plan, console=Console(quiet=True)), ResultsStore(demo / "results"))
    return demo


def _fail(project: Path, x: float, seed: int, experiment: str = "squares") -> str:
    """The run at x, seed made a failed run in the index, as labjournal.run.index writes one (its
    executed notebook in results/failed/…). Returns its folder as the render's record names it."""
    index_path = project / "results" / "index.json"
    index = json.loads(index_path.read_text())
    for i, row in enumerate(index["runs"]):
        if row["experiment"] == experiment and row["params"] == {"x": x} and row["seed"] == seed:
            folder = f"failed/{row['lab']}/{row['notebook']}/{row['key'][:16]}"
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


def _links(folders: list[str]) -> list[str]:
    """The links a page gives to the executed notebooks of failed runs (results/failed/…/<key16>)."""
    return [f"(runs/{folder.rsplit('/', 1)[1]}.html)" for folder in folders]


def test_an_experiment_whose_runs_all_failed_keeps_its_table_figure_and_values_in_a_failed_lab(
    one_failed,
) -> None:
    """Every grid point of the only experiment failed (its summary skipped, so the lab has no
    results at all): its table, figure and values still say failed, never "not run yet"."""
    project, _, _ = one_failed
    folders = sorted(_fail(project, x, seed) for x in (2.0, 3.0) for seed in (0, 1)) + [
        _fail(project, 1.0, 1)
    ]
    folders = sorted([*folders, "results/failed/demo/square/" + one_failed[2][:16]])
    _skip_summary(project)
    (project / "report" / "demo.qmd").write_text(
        DEMO_PAGE
        + "\n{{ figure('demo/summary', 'overview') }}\n\n{{ pending('demo') }}\n"
        + "{% if has_results('demo') %}{% set top = best('demo/squares', 'square') %}"
        + "Best: {{ metric(top.ref, 'square', **top.params) | num(2) }} at x = {{ top.x }}.{% endif %}\n"
        + REFERENCES
    )
    out, failed = render_journal(Project(project))
    page = (out / "demo.qmd").read_text()
    assert failed == folders and read_render(Project(project))["failed"] == folders
    assert "not run yet" not in page.lower()
    assert "{#tbl-demo-squares}" in page and "::: {#fig-demo-plot .figure-unavailable}" in page
    assert "::: {#fig-demo-overview .figure-unavailable}" in page
    for x in ("1.0", "2.0", "3.0"):
        assert re.search(
            rf"\| {x} \| failed: see \[\w+\]\(runs/\w+\.html\), \[\w+\]\(runs/\w+\.html\) \| failed \|", page
        )
    assert "Runs failed at every grid point (3 of 3): their rows link to the failed runs." in page
    assert "The square at x = 2 is (failed: see results/failed/demo/square/" in page
    assert "## The experiments' runs failed" in page and "6 run(s) of *Demo lab* failed" in page
    assert re.search(r"Best: \(failed: see results/failed/demo/square/\w+\) at x = \(failed: see ", page)
    build_outputs(Project(project), engine="pandoc", only="site", console=Console(quiet=True))
    html = (project / "_site" / "demo.html").read_text()
    assert 'id="tbl-demo-squares"' in html and 'href="#tbl-demo-squares"' in html
    assert 'id="fig-demo-plot"' in html and 'href="#fig-demo-plot"' in html


def test_a_failed_run_of_a_notebook_without_experiments_is_shown_failed_and_counted(
    executed, tmp_path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(executed, project)
    folders = sorted(_fail(project, 4.0, seed, experiment="single") for seed in (0, 1))
    (project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\nThe square is {{ metric('solo/single', 'square') }}.\n\n"
        "{{ figure('solo/single', 'plot') }}\n\n{{ table('solo/single', ['square']) }}\n\n"
        "{% if has_results('solo') %}Solo ran: {{ metric('solo/single', 'square') | num(1) }}.{% endif %}\n\n"
        "As @fig-solo-plot and @tbl-solo-single show.\n"
    )
    out, failed = render_journal(Project(project))
    page = (out / "demo.qmd").read_text()
    assert failed == folders and read_render(Project(project))["failed"] == folders
    assert "not run yet" not in page.lower()
    assert (
        f"The square is (failed: see {folders[0]})." in page
        or f"The square is (failed: see {folders[1]})." in page
    )
    assert "Solo ran: (failed: see results/failed/solo/single/" in page
    assert "::: {#fig-solo-plot .figure-unavailable}" in page and "{#tbl-solo-single}" in page
    assert all(link in page for link in _links(folders))  # the table's row links to both seeds' runs


def test_a_value_read_from_a_best_point_that_failed_is_the_note_not_an_error(one_failed) -> None:
    """`best` over a grid with a failed point is a note; what the prose passes it on to (its `.ref`,
    its `**params`) gives the same note, as the conclusion's `metric(top.ref, …, **top.params)`."""
    project, folder, _ = one_failed
    (project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\n{% set top = best('demo/squares', 'square') %}"
        "Best: {{ metric(top.ref, 'square', **top.params) | num(2) }}; {{ figure(top.ref, 'plot', **top.params) }}\n"
    )
    out, failed = render_journal(Project(project))
    assert failed == [folder]
    assert (
        f"Best: (failed: see {folder}); *Failed: the runs this needs failed; see `{folder}`"
        in (out / "demo.qmd").read_text()
    )
