"""The Quarto project that `labjournal render` writes into `_build/`, checked without Quarto (which
cannot be installed offline): the journal's stylesheet is listed and present, no page inherits the
book's subtitle or date, and the executed notebooks are a project resource. The PDF's combined
document keeps the title page's subtitle and date."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import QUARTO, make_demo_project
from rich.console import Console

from labjournal.build.combined import write_combined
from labjournal.build.pages import COMBINED, read_pages, split_front_matter
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.render.quarto_project import quarto_config
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

# The demo project's configuration, with what only the PDF's title page should show.
BOOK = (
    QUARTO.replace(
        'author: "Tester"\n',
        'subtitle: "A subtitle for the title page only"\nauthor: "Tester"\ndate: "2026"\n',
    )
    + "format:\n  html:\n    toc: true\n"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    project = make_demo_project(tmp_path_factory.mktemp("quarto-project") / "project")
    (project / "_quarto.yml").write_text(BOOK)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=Console(quiet=True)),
        ResultsStore(project / "results"),
    )
    (project / "report" / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    return render_journal(Project(project))[0]


@pytest.mark.slow
def test_the_journal_stylesheet_is_listed_and_carried(rendered: Path) -> None:
    config = yaml.safe_load((rendered / "_quarto.yml").read_text())
    assert config["format"]["html"]["css"] == ["journal.css"]
    assert config["format"]["html"]["toc"] is True  # the author's own settings survive
    css = (rendered / "journal.css").read_text()
    for rule in (".claim-badge", ".claim-supported", ".claim-negligible", "figcaption", "caption"):
        assert rule in css


@pytest.mark.slow
def test_no_page_inherits_the_subtitle_or_the_date(rendered: Path) -> None:
    config = yaml.safe_load((rendered / "_quarto.yml").read_text())
    assert "subtitle" not in config and "date" not in config
    assert config["title"] == "Demo journal" and config["author"] == "Tester"
    for page in ("index.qmd", "demo.qmd"):
        meta, _ = split_front_matter((rendered / page).read_text(), page)
        assert "subtitle" not in meta and "date" not in meta, page


@pytest.mark.slow
def test_executed_notebooks_are_a_project_resource(rendered: Path) -> None:
    config = yaml.safe_load((rendered / "_quarto.yml").read_text())
    assert "runs/*.html" in config["project"]["resources"]
    assert list((rendered / "runs").glob("*.html"))
    # Every run page links runs/notebook.css: Quarto must publish it too, or the pages are unstyled.
    assert (
        "runs/notebook.css" in config["project"]["resources"]
        and (rendered / "runs" / "notebook.css").exists()
    )
    assert all('href="notebook.css"' in page.read_text() for page in (rendered / "runs").glob("*.html"))


@pytest.mark.slow
def test_the_pdf_title_page_keeps_subtitle_and_a_year_shown_as_a_year(rendered: Path) -> None:
    site = Project(rendered.parent).site_config()
    write_combined(rendered, site, read_pages(rendered, site))
    combined = (rendered / COMBINED).read_text()
    meta, body = split_front_matter(combined, COMBINED)
    assert meta["subtitle"] == "A subtitle for the title page only"
    assert meta["date"] == "2026" and meta["date-format"] == "YYYY"
    assert "# Demo lab" in body


def test_quarto_config_merges_with_what_the_author_wrote() -> None:
    config = quarto_config(
        {"format": {"html": {"css": "mine.css"}}, "project": {"resources": "data/*.csv"}}, publish_runs=True
    )
    assert config["format"]["html"]["css"] == ["mine.css", "journal.css"]
    assert config["project"]["resources"] == ["data/*.csv", "runs/*.html", "runs/notebook.css"]
    again = quarto_config(config, publish_runs=True)
    assert again["format"]["html"]["css"] == ["mine.css", "journal.css"]  # idempotent
    assert quarto_config({}, publish_runs=False)["format"]["html"]["css"] == ["journal.css"]
    assert "resources" not in quarto_config({}, publish_runs=False).get("project", {})


def test_a_full_date_is_kept_as_it_is(tmp_path: Path) -> None:
    from labjournal.project import Page, SiteConfig

    site = SiteConfig(title="T", author="A", pages=[Page("index.qmd", None)], date="2026-11-25")
    path = write_combined(tmp_path, site, [(Page("index.qmd", None), {"title": "Home"}, "Hi")])
    meta, _ = split_front_matter(path.read_text(), "x")
    assert meta["date"] == "2026-11-25" and "date-format" not in meta


@pytest.mark.slow
def test_one_citation_style_for_both_engines_and_quarto_pdf_uses_citeproc(rendered: Path) -> None:
    """Quarto's typst PDF numbers citations with typst's own style unless told to use pandoc's
    citeproc; the site, the built-in engine and Quarto all read the same CSL file."""
    config = yaml.safe_load((rendered / "_quarto.yml").read_text())
    assert config["csl"] == "journal.csl"
    assert "author-date" in (rendered / "journal.csl").read_text()
    site = Project(rendered.parent).site_config()
    write_combined(rendered, site, read_pages(rendered, site))
    meta, _ = split_front_matter((rendered / COMBINED).read_text(), COMBINED)
    assert meta["citeproc"] is True and meta["csl"] == "journal.csl"
    assert meta["bibliography"] == "references.bib"


@pytest.mark.slow
def test_every_placed_table_and_figure_is_labelled(rendered: Path) -> None:
    """Quarto's typst output drops the caption of a table without a #tbl- label."""
    text = (rendered / "demo.qmd").read_text()
    captions = [line for line in text.splitlines() if line.startswith(": ")]
    assert captions and all(line.rstrip().endswith("{#tbl-demo-squares}") for line in captions)
    assert "{#fig-demo-plot " in text


@pytest.mark.slow
def test_the_authors_own_files_travel_with_the_project(rendered: Path) -> None:
    config = yaml.safe_load((rendered / "_quarto.yml").read_text())
    assert (rendered / "diagram.svg").exists() and "diagram.svg" in config["project"]["resources"]
    assert "references.bib" not in config["project"]["resources"]  # read, not published
