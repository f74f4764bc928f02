"""Rendering prose with results: values, figures, tables, and errors that name file, line and key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_PAGE, index_row, make_demo_project, results_index
from rich.console import Console

from labjournal.errors import RenderError
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.render.templating import protect_shortcodes
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan


@pytest.fixture(scope="module")
def executed_once(tmp_path_factory) -> Path:
    """One executed demo project, run once for the tests of this module."""
    demo = make_demo_project(tmp_path_factory.mktemp("render") / "project")
    plan = load_plan(demo / "journal.yml")
    run_plan(
        RunRequest.for_plan(plan, profile="default", console=Console(quiet=True)),
        ResultsStore(demo / "results"),
    )
    return demo


@pytest.fixture
def results_store(executed_once: Path, tmp_path: Path) -> Path:
    """Each test its own copy of the executed project: the tests rewrite its page and its build."""
    return Path(shutil.copytree(executed_once, tmp_path / "project", symlinks=True))


def _render_page(project: Path, text: str) -> str:
    (project / "report" / "demo.qmd").write_text(text)
    out, _ = render_journal(Project(project))
    return (out / "demo.qmd").read_text()


def test_values_figures_and_tables_come_from_the_results(results_store: Path) -> None:
    page = _render_page(results_store, (results_store / "report" / "demo.qmd").read_text())
    assert "The square at x = 2 is 4.00 (n = 2)." in page  # two seeds, identical values
    assert "![A line. *Parameters: x = 1.0; seed 0. Project commit " in page
    assert "Executed notebook notebooks/square.ipynb, run [" in page  # a link to the notebook's HTML
    assert "| x | square | noisy |" in page
    assert "| 3.0 | 9 | 3.050 ± 0.071 |" in page  # mean ± sd over seeds 0 and 1
    assert ": Mean ± standard deviation over seeds 0, 1." in page
    manifest = json.loads((results_store / "_build" / "manifest.json").read_text())
    figure = manifest["figures"][0]
    assert (results_store / "_build" / figure["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure["notebook"] == "notebooks/square.ipynb"


def test_missing_metric_names_the_file_line_and_what_exists(results_store: Path) -> None:
    text = "---\ntitle: Demo\n---\n\nline four\n{{ metric('demo/squares', 'cube', x=2.0) | num }}\n"
    with pytest.raises(RenderError) as caught:
        _render_page(results_store, text)
    message = str(caught.value)
    assert "report/demo.qmd:6:" in message
    assert "no metric 'cube' (the runs record: guess_square, noisy, square)" in message


def test_missing_grid_point_and_unknown_name_are_errors(results_store: Path) -> None:
    with pytest.raises(
        RenderError, match=r"demo.qmd:2: demo/squares has no grid point x=7.0 \(it has: x=1.0; x=2.0; x=3.0\)"
    ):
        _render_page(results_store, "\n{{ metric('demo/squares', 'square', x=7.0) }}\n")
    with pytest.raises(RenderError, match=r"demo.qmd:3: 'accuracy' is undefined"):
        _render_page(results_store, "\n\n{{ accuracy }}\n")
    with pytest.raises(RenderError, match=r"demo.qmd:1: template syntax error"):
        _render_page(results_store, "{{ metric( }}\n")


def test_a_failed_render_keeps_the_previous_build(results_store: Path) -> None:
    _render_page(results_store, "---\ntitle: Demo\n---\n\nfine\n")
    with pytest.raises(RenderError):
        _render_page(results_store, "{{ nope }}")
    assert "fine" in (results_store / "_build" / "demo.qmd").read_text()


def test_quarto_shortcodes_and_pandoc_attributes_pass_through(results_store: Path) -> None:
    text = "A {{< pagebreak >}} B {{< include _part.qmd >}}\n\n## Heading {#sec-one}\n\n{## a Jinja comment ##}\n"
    page = _render_page(results_store, text)
    assert "{{< pagebreak >}}" in page and "{{< include _part.qmd >}}" in page
    assert "## Heading {#sec-one}" in page and "Jinja comment" not in page


def test_strings_from_data_are_shown_as_text_never_as_html(results_store: Path) -> None:
    page = _render_page(results_store, "{{ name }}\n".replace("name", "'<script>alert(1)</script>'"))
    assert page.strip().endswith("\\<script\\>alert(1)\\</script\\>")  # pandoc shows it as text


def test_shortcode_protection_is_exact() -> None:
    assert protect_shortcodes("{{< video x.mp4 >}}") == "{% raw %}{{< video x.mp4 >}}{% endraw %}"
    assert protect_shortcodes("{{ x }}") == "{{ x }}"


def test_rendering_before_any_run_places_notes_saying_what_to_run(demo_project: Path) -> None:
    page = (render_journal(Project(demo_project))[0] / "demo.qmd").read_text()
    assert "The square at x = 2 is (not run yet: `labjournal run --lab demo`)." in page
    assert page.count("*Not run yet: `labjournal run --lab demo` fills this in.*") == 2  # figure, table
    (demo_project / "report" / "demo.qmd").write_text("{{ metric('nolab/squares', 'square') }}\n")
    with pytest.raises(RenderError, match=r"asked for nolab/squares but there are no results yet"):
        render_journal(Project(demo_project))  # a lab the plan does not have stays an error


def test_tables_can_carry_baseline_rows(results_store: Path) -> None:
    page = _render_page(
        results_store,
        '{{ table("demo/squares", {"square": "value", "noisy": "noisy"}, by=["x"], '
        'baselines={"guess": "guess 2x"}, baseline_by=["x"]) }}',
    )
    assert "| model | x | value | noisy |" in page
    assert "| network | 3.0 | 9 | 3.050 ± 0.071 |" in page
    assert "| guess 2x | 3.0 | 6 | — |" in page  # no guess_noisy recorded: an empty cell
    assert "Baselines are fitted on the same splits as the network." in page


def test_a_baseline_without_values_is_an_error(results_store: Path) -> None:
    with pytest.raises(RenderError, match="baseline 'logreg' has none of logreg_square"):
        _render_page(
            results_store,
            '{{ table("demo/squares", ["square"], by=["x"], baselines={"logreg": "logistic regression"}) }}',
        )


def test_the_build_config_publishes_the_linked_notebooks(results_store: Path) -> None:
    _render_page(results_store, DEMO_PAGE)
    build = results_store / "_build"
    config = yaml.safe_load((build / "_quarto.yml").read_text())
    assert "runs/*.html" in config["project"]["resources"]
    assert config["website"] == yaml.safe_load((results_store / "_quarto.yml").read_text())["website"]
    pages = list((build / "runs").glob("*.html"))
    assert pages and all("jp-Notebook" in page.read_text() for page in pages)

    # converted once: the cache beside the store is reused on the next render
    def snapshot() -> dict:
        return {
            p.name: (p.stat().st_ino, p.read_bytes())
            for p in (results_store / "results" / "html").glob("*.html")
        }

    cached = snapshot()
    assert cached
    _render_page(results_store, DEMO_PAGE)
    assert snapshot() == cached  # the same files (inode and content): nothing was converted again


def test_a_misspelt_prose_function_lists_the_functions_that_exist(results_store: Path) -> None:
    with pytest.raises(RenderError) as caught:
        _render_page(results_store, "{{ metrc('demo/squares', 'square', x=1.0) }}\n")
    message = str(caught.value)
    assert "demo.qmd:1: 'metrc' is undefined (the prose can call: " in message
    for name in ("metric", "table", "figure", "claim", "pending"):
        assert name in message


def test_percent_naming_a_metric_the_table_lacks_is_an_error(results_store: Path) -> None:
    with pytest.raises(
        RenderError, match=r"percent names 'squar', which the table does not show \(its metrics: square\)"
    ):
        _render_page(results_store, "{{ table('demo/squares', ['square'], by=['x'], percent=['squar']) }}\n")


def test_pending_says_nothing_once_a_lab_has_results_and_refuses_an_unknown_lab(results_store: Path) -> None:
    page = _render_page(results_store, "A{{ pending('demo') }}B\n")
    assert "AB" in page and "not run" not in page
    with pytest.raises(RenderError, match=r"no lab 'lab09' in journal.yml \(it has: demo\)"):
        _render_page(results_store, "{{ pending('lab09') }}\n")


def test_pending_shows_a_note_for_a_lab_without_results(demo_project: Path) -> None:
    (demo_project / "report" / "demo.qmd").write_text("---\ntitle: Demo\n---\n\n{{ pending('demo') }}\n")
    page = (render_journal(Project(demo_project))[0] / "demo.qmd").read_text()
    assert "Experiments not run yet" in page and "labjournal run --lab demo" in page


def test_a_page_in_the_report_folder_that_the_sidebar_does_not_list_is_an_error(results_store: Path) -> None:
    extra = results_store / "report" / "forgotten.qmd"
    extra.write_text("---\ntitle: Forgotten\n---\n")
    (results_store / "report" / "_included.qmd").write_text("Included by another page.\n")
    try:
        with pytest.raises(
            RenderError, match=r"_quarto.yml: report/forgotten.qmd is not listed in website.sidebar.contents"
        ):
            _render_page(results_store, "Hi\n")
    finally:
        extra.unlink()
    _render_page(results_store, "Hi\n")  # a leading '_' marks an included part: no error


@pytest.mark.slow
def test_the_claims_page_does_not_depend_on_the_order_of_the_pages(tmp_path: Path) -> None:
    """The Claims page links each claim to the page stating it and to its figure; listed before
    those pages, it used to fail ("not placed on any page rendered before the claims page")."""
    project = make_demo_project(tmp_path / "p")
    (project / "report" / "claims.yml").write_text(
        "claims:\n  grows:\n    lab: demo\n    sentence: Squares grow.\n    figure: demo/squares/plot\n"
        "    expect: {greater: {ref: demo/squares, metric: square, margin: 0.5, at: {x: 2.0}, than: {x: 1.0}}}\n"
    )
    (project / "report" / "claims.qmd").write_text("---\ntitle: Claims\n---\n\n{{ claims_table() }}\n")
    (project / "report" / "demo.qmd").write_text(DEMO_PAGE + "\nSquares grow. {{ claim('grows') }}\n")
    quarto = project / "_quarto.yml"
    first = quarto.read_text().replace("        text: Home\n", "        text: Home\n      - claims.qmd\n", 1)
    quarto.write_text(first)
    run_plan(
        RunRequest.for_plan(
            load_plan(project / "journal.yml"), profile="default", console=Console(quiet=True)
        ),
        ResultsStore(project / "results"),
    )
    out, _ = render_journal(Project(project))
    claims = (out / "claims.qmd").read_text()
    assert "[Stated on the lab page](demo.html\\#claim-grows)" in claims
    assert "[figure](demo.html\\#fig-demo-plot)" in claims
    assert Project(project).site_config().pages[1].source == "claims.qmd"  # listed before demo.qmd


TABLE_PAGE = """---
title: Demo
---

{{ table("demo/squares", ["square", "noisy"], by=["x"]) }}
"""


def _faked_seeds(tmp_path: Path, seeds_at: dict[float, list[int]]) -> Path:
    """The demo project with a results index written by hand: each grid point's seeds as given."""
    import nbformat

    project = make_demo_project(tmp_path / "project")
    rows = [
        index_row(
            "demo", "squares", {"x": x}, s, {"square": x * x, "noisy": x + s / 10}, run_dir=f"runs/{x}-{s}"
        )
        for x, seeds in seeds_at.items()
        for s in seeds
    ]
    for row in rows:  # the executed notebooks the tables link to
        (project / "results" / row["run_dir"]).mkdir(parents=True)
        nbformat.write(
            nbformat.v4.new_notebook(), str(project / "results" / row["run_dir"] / "notebook.ipynb")
        )
    (project / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    return project


def test_a_table_after_seeds_added_at_some_points_shows_every_row_over_the_seeds_all_ran(
    tmp_path: Path,
) -> None:
    """Seeds 2–8 added (for a claim) at x = 2 only: the table's rows stay over seeds 0 and 1, and
    its caption states that rule and names the seeds it leaves to the claims."""
    project = _faked_seeds(tmp_path, {1.0: [0, 1], 2.0: list(range(9)), 3.0: [0, 1]})
    page = _render_page(project, TABLE_PAGE)
    assert "| 2.0 | 4 | 2.050 ± 0.071 |" in page  # seeds 0 and 1, not 2.400 ± 0.274 over 0–8
    assert "| 1.0 | 1 | 1.050 ± 0.071 |" in page
    assert (
        ": Mean ± standard deviation over seeds 0, 1, the seeds every row ran. Seeds 2–8 at 1 of 3 "
        "grid points, added where claims needed them, count in the claims, not in this table, so "
        "that its rows compare on the same seeds."
    ) in page
    assert page.count("Executed notebooks:") == 1 and page.count("](") - page.count("![") == 6  # 3 × 2 runs


def test_a_table_whose_rows_share_no_seed_gives_each_cell_its_n(tmp_path: Path) -> None:
    project = _faked_seeds(tmp_path, {1.0: [0, 1], 2.0: [2, 3, 4]})
    page = _render_page(project, TABLE_PAGE)
    assert "| 2.0 | 4 (n = 3) | 2.300 ± 0.100 (n = 3) |" in page
    assert "| 1.0 | 1 (n = 2) | 1.050 ± 0.071 (n = 2) |" in page
    assert "over each row's own seeds. The rows share no seed: each cell gives its n." in page


def test_seeds_are_described_as_ranges_and_a_summary_names_the_seeds_of_each_point() -> None:
    from labjournal.records import IndexRow
    from labjournal.render.formatting import describe_seeds
    from labjournal.render.table_seeds import describe_points

    assert describe_seeds([0, 1]) == "seeds 0, 1" and describe_seeds([2, 0, 1, 7, 8]) == "seeds 0–2, 7, 8"
    assert describe_seeds(list(range(15))) == "seeds 0–14" and describe_seeds([None, 3]) == "seed 3"
    rows = [
        IndexRow.model_validate(index_row("demo", "squares", {"x": x}, seed, {}))
        for x, seeds in {1.0: range(3), 2.0: range(15), 3.0: range(9)}.items()
        for seed in seeds
    ]
    assert describe_points(rows) == "seeds 0–2 at every grid point, and seeds 3–14 at 2 of 3 grid points"
    assert describe_points(rows[:3]) == "seeds 0–2"


def _recorded_commits(project: Path, commit: str, index_commit: str, **others: str) -> None:
    """Each run's record (run.json) says it ran at `commit` (`others`: run folder -> its commit);
    the index, written by a later `labjournal run` whose runs were all cached, says `index_commit`."""
    for record in (project / "results" / "runs").rglob("run.json"):
        data = json.loads(record.read_text())
        folder = record.parent.relative_to(project / "results").as_posix()
        record.write_text(json.dumps({**data, "project_commit": others.get(folder, commit)}))
    index = json.loads((project / "results" / "index.json").read_text())
    (project / "results" / "index.json").write_text(json.dumps({**index, "project_commit": index_commit}))


def test_captions_give_the_commit_of_the_runs_they_show_and_say_when_commits_are_mixed(
    results_store: Path,
) -> None:
    project = results_store
    _recorded_commits(project, "c929b04db269+dirty", "ff15435217b4")
    page = _render_page(project, DEMO_PAGE)
    assert "seed 0. Project commit c929b04db269+dirty. Executed notebook" in page  # the figure
    assert "seeds 0, 1. Project commit c929b04db269+dirty. Executed notebooks:" in page  # the table
    assert "ff15435217b4" not in page
    index = json.loads((project / "results" / "index.json").read_text())
    later = next(row["run_dir"] for row in index["runs"] if row["params"] == {"x": 3.0} and row["seed"] == 1)
    _recorded_commits(project, "c929b04db269+dirty", "ff15435217b4", **{later: "ff15435217b4"})
    page = _render_page(project, DEMO_PAGE)
    assert "seed 0. Project commit c929b04db269+dirty. Executed notebook" in page  # x = 1: its own run
    assert (
        "Runs of 2 project commits, mixed: c929b04db269+dirty (5 runs), ff15435217b4 (1 run). Executed notebooks:"
        in page
    )


def test_a_tables_mean_and_the_proses_value_of_the_same_aggregate_agree(tmp_path: Path) -> None:
    """Whole numbers at every seed (epochs to a threshold): seeds gave 8, 9 at x = 1 and 9, 10 at
    x = 2. The table shows the means as the prose does, 8.5 and 9.5, never "8 ± 1" and "10 ± 1"
    (8.5 and 9.5 rounded half-to-even to no decimals)."""
    import nbformat

    project = make_demo_project(tmp_path / "project")
    epochs = {(1.0, 0): 8, (1.0, 1): 9, (2.0, 0): 9, (2.0, 1): 10, (3.0, 0): 7, (3.0, 1): 7}
    rows = [
        index_row("demo", "squares", {"x": x}, s, {"epochs": e}, run_dir=f"runs/{x}-{s}")
        for (x, s), e in epochs.items()
    ]
    for row in rows:  # the executed notebooks the table links to
        (project / "results" / row["run_dir"]).mkdir(parents=True)
        nbformat.write(
            nbformat.v4.new_notebook(), str(project / "results" / row["run_dir"] / "notebook.ipynb")
        )
    (project / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    page = _render_page(
        project,
        "---\ntitle: Demo\n---\n\n{{ table('demo/squares', ['epochs'], by=['x']) }}\n\n"
        "{% set e1 = metric('demo/squares', 'epochs', x=1.0) %}{% set e2 = metric('demo/squares', 'epochs', x=2.0) %}"
        "A: {{ e1 }}; {{ e1 | num }}; {{ e1 | mean }}. B: {{ e2 }}; {{ e2 | mean }}; {{ e2 | mean(0) }}. "
        "C: {{ metric('demo/squares', 'epochs', x=3.0) }}.\n",
    )
    assert "| 1.0 | 8.5 ± 0.7 |" in page and "| 2.0 | 9.5 ± 0.7 |" in page and "| 3.0 | 7 |" in page
    assert "A: 8.5 ± 0.7 (n = 2); 8.5 ± 0.7 (n = 2); 8.5." in page
    assert "B: 9.5 ± 0.7 (n = 2); 9.5; 10. C: 7 (n = 2)." in page


def test_every_number_is_rounded_half_away_from_zero_on_its_decimal_digits() -> None:
    from labjournal.render.formatting import format_aggregate, rounded
    from labjournal.results.lookup import Aggregate

    assert [rounded(v, 0) for v in (8.5, 9.5, -8.5, 0.5)] == ["9", "10", "-9", "1"]
    assert rounded(0.125, 2) == "0.13" and rounded(2.675, 2) == "2.68" and rounded(1234.5, 0) == "1,235"
    assert format_aggregate(Aggregate("v", (8.0, 9.0)), 0, show_n=False) == "9 ± 1"
    assert format_aggregate(Aggregate("v", (0.8125, 0.8125)), percent=True) == "81.3% (n = 2)"
