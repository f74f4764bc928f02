"""Building the site and the PDF: engine choice, the built-in engine's outputs, failure modes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import make_demo_project
from pypdf import PdfReader
from rich.console import Console

from labjournal.build import outputs as build_module
from labjournal.build.outputs import build_outputs, choose_engine
from labjournal.errors import BuildError
from labjournal.plan.model import load_plan
from labjournal.project import PDF_NAME, Project
from labjournal.render.journal import render_journal
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

QUIET = Console(quiet=True)


def test_auto_uses_quarto_only_where_it_is_installed(monkeypatch) -> None:
    monkeypatch.setattr(build_module.shutil, "which", lambda name: None)
    assert choose_engine("auto") == "pandoc"
    with pytest.raises(BuildError, match="quarto command is not on PATH.*--engine pandoc"):
        choose_engine("quarto")
    monkeypatch.setattr(build_module.shutil, "which", lambda name: f"/opt/bin/{name}")
    assert choose_engine("auto") == "quarto"
    assert choose_engine("pandoc") == "pandoc"


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """The demo journal run, rendered and built once for the tests of this module."""
    project = make_demo_project(tmp_path_factory.mktemp("build") / "project")
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=QUIET),
        ResultsStore(project / "results"),
    )
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", console=QUIET)
    return project


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    """Each test its own copy of the built journal: some rebuild it, or break a page to see a build fail."""
    return Path(shutil.copytree(built_once, tmp_path / "project", symlinks=True))


@pytest.mark.slow
def test_site_has_every_page_with_navigation_figures_and_citations(built: Path) -> None:
    site = built / "_site"
    index = (site / "index.html").read_text()
    demo = (site / "demo.html").read_text()
    for page in (index, demo):
        assert 'href="index.html"' in page and 'href="demo.html"' in page and 'href="journal.pdf"' in page
        assert '<link rel="stylesheet" href="site.css">' in page and "http" not in page.split("<body>")[0]
    assert 'aria-current="page">Home' in index
    assert "Doe" in index and "2020" in index  # citeproc resolved [@ref2020]
    images = [part.split('"')[0] for part in demo.split('src="')[1:]]
    assert images and all((site / image).exists() for image in images)
    assert "The square at x = 2 is 4.00 (n = 1)." in demo


@pytest.mark.slow
def test_pdf_has_title_contents_every_page_and_the_figures(built: Path) -> None:
    reader = PdfReader(str(built / "_site" / "journal.pdf"))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    for expected in ("Demo journal", "Contents", "Home", "Demo lab", "Results", "Doe"):
        assert expected in text, expected
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 1


@pytest.mark.slow
def test_a_rebuild_drops_pages_no_longer_listed_and_only_pdf_keeps_the_site(built: Path) -> None:
    stale = built / "_site" / "old-page.html"
    stale.write_text("stale")
    build_outputs(Project(built), engine="pandoc", only="site", console=QUIET)
    assert not stale.exists() and (built / "_site" / "journal.pdf").exists()
    page = built / "_site" / "demo.html"
    before = (page.stat().st_ino, page.read_bytes())
    build_outputs(Project(built), engine="pandoc", only="pdf", console=QUIET)
    assert (page.stat().st_ino, page.read_bytes()) == before  # the same file, not a rewrite


def test_building_before_rendering_is_a_clear_error(tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "project")
    with pytest.raises(BuildError, match="the journal has not been rendered; run `labjournal render`"):
        build_outputs(Project(project), engine="pandoc", console=QUIET)


@pytest.mark.slow
def test_a_pandoc_failure_names_the_page(built: Path) -> None:
    (built / "templates" / "page.html").write_text("$if(broken$")
    with pytest.raises(BuildError, match="templates/page.html changed since the last render"):
        build_outputs(Project(built), engine="pandoc", only="site", console=QUIET)
    render_journal(Project(built))
    with pytest.raises(BuildError, match=r"pandoc \((index|demo)\.qmd -> HTML\) failed"):
        build_outputs(Project(built), engine="pandoc", only="site", console=QUIET)


MARKDOWN_IN_DATA = (
    "*Biscuit* `rm -rf` _x_ $y$ @doe2020 ~sub~ ^sup^ [link](http://x) <b>bold</b> a|b #tag &amp;"
)

DATA_CELL = f"""
from labjournal.kit import record
record.scalar("square", x * x)
record.table("animals", [{{"name": {MARKDOWN_IN_DATA!r}, "outcome": "Adoption"}}])
"""


@pytest.mark.slow
def test_markdown_in_data_appears_literally_in_the_html_and_the_pdf(demo_project: Path) -> None:
    """The Austin data marks names given by staff with a leading '*'; data may hold backticks,
    '_', '$' or '@key'. Shown as typed: no emphasis, code, math, citation or link."""
    from conftest import write_notebook

    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", DATA_CELL)
    (demo_project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\n{{ run_table('demo/squares', 'animals', x=1.0) }}\n\n"
        "In prose: {{ " + repr(MARKDOWN_IN_DATA) + " }}\n"
    )
    (demo_project / "report" / "references.bib").write_text(
        "@article{doe2020, title = {Cited}, author = {Roe, Richard}, journal = {J}, year = {2020}}\n"
        "@article{ref2020, title = {A Reference}, author = {Doe, Jane}, journal = {J}, year = {2020}}\n"
    )
    run_plan(
        RunRequest.for_plan(load_plan(demo_project / "journal.yml"), profile="quick", console=QUIET),
        ResultsStore(demo_project / "results"),
    )
    render_journal(Project(demo_project))
    build_outputs(Project(demo_project), engine="pandoc", console=QUIET)
    html = (demo_project / "_site" / "demo.html").read_text()
    main = html.split("<main", 1)[1]
    for tag in ("<em>", "<code>", "<sub>", "<sup>", "<math", 'href="http://x"', "<b>", "citation"):
        assert tag not in main, tag
    from html import unescape

    text = " ".join(unescape(re.sub(r"<[^>]+>", "", main)).split())
    assert text.count(MARKDOWN_IN_DATA) == 2  # the table cell and the prose, exactly as recorded
    pdf = " ".join(
        " ".join(
            page.extract_text() for page in PdfReader(str(demo_project / "_site" / "journal.pdf")).pages
        ).split()
    )
    for fragment in ("*Biscuit*", "`rm -rf`", "_x_", "$y$", "@doe2020", "[link](http://x)", "<b>bold</b>"):
        assert fragment in pdf, fragment
    assert "Roe" not in pdf and "Roe" not in html  # @doe2020 stayed text: nothing was cited


def test_the_built_in_engine_makes_pagebreak_a_page_break_and_refuses_other_shortcodes(
    demo_project: Path,
) -> None:
    (demo_project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\nBefore.\n\n{{< pagebreak >}}\n\nAfter.\n"
    )
    render_journal(Project(demo_project))
    build_outputs(Project(demo_project), engine="pandoc", console=QUIET)
    html = (demo_project / "_site" / "demo.html").read_text()
    assert "{{&lt;" not in html and "pagebreak &gt;}}" not in html and "pagebreak" in html
    typst_source = (demo_project / "_build" / "journal.typ").read_text()
    assert "#pagebreak()" in typst_source
    pages = [page.extract_text() for page in PdfReader(str(demo_project / "_site" / "journal.pdf")).pages]
    before = next(i for i, text in enumerate(pages) if "Before." in text)
    after = next(i for i, text in enumerate(pages) if "After." in text)
    assert after == before + 1 and "{{<" not in " ".join(pages)
    (demo_project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\nA\n\n{{< video clip.mp4 >}}\n"
    )
    render_journal(Project(demo_project))
    with pytest.raises(
        BuildError,
        match=r"demo.qmd:7: the built-in engine does not support the Quarto shortcode \{\{< video clip.mp4 >\}\} \(it supports: pagebreak\)",
    ):
        build_outputs(Project(demo_project), engine="pandoc", console=QUIET)


@pytest.mark.slow
def test_a_failed_pdf_build_keeps_the_last_good_site_and_pdf(built: Path) -> None:
    """The site is not swapped in before the PDF is built: a PDF that fails to compile leaves the
    previous site and PDF together, as they were."""
    project = Project(built)
    site = project.site_dir
    before = {name: (site / name).read_bytes() for name in ("demo.html", PDF_NAME)}
    page = built / "_build" / "demo.qmd"
    page.write_text(
        page.read_text() + "\n```{=typst}\n#this-is-not-typst(\n```\n"
    )  # the site builds, typst fails
    with pytest.raises(BuildError, match="typst could not compile"):
        build_outputs(project, engine="pandoc", console=Console(quiet=True))
    assert {name: (site / name).read_bytes() for name in before} == before
    assert not site.with_name(site.name + ".tmp").exists()
