"""The Quarto engine: runs only where the `quarto` command is installed (it cannot be installed offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_demo_project
from pypdf import PdfReader
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

pytestmark = [
    pytest.mark.quarto,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("quarto") is None,
        reason="quarto is not on PATH: the Quarto engine is tested only where Quarto is installed "
        "(pip install -e .[quarto] needs the internet)",
    ),
]


def test_quarto_builds_the_same_site_and_pdf(tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "project")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=quiet),
        ResultsStore(project / "results"),
    )
    with (project / "report" / "demo.qmd").open("a") as page:  # a claim badge, as claims.md.j2 writes it
        page.write("\nThe square grows [supported]{.claim-badge .claim-supported}.\n")
    render_journal(Project(project))
    build_outputs(Project(project), engine="quarto", console=quiet)
    site = project / "_site"
    assert (site / "index.html").exists() and (site / "demo.html").exists()
    assert (site / "journal.pdf").read_bytes()[:5] == b"%PDF-"
    assert "4.00" in (site / "demo.html").read_text()
    assert list((site / "runs").glob("*.html")), "the executed notebooks the captions link to"
    # The PDF is laid out as the built-in engine's (templates/quarto/): a title page with its note,
    # then the contents, A4 pages, and the claim badge drawn by badges.lua (its label upper-cased).
    reader = PdfReader(str(site / "journal.pdf"))
    pages = [page.extract_text() for page in reader.pages]
    assert "Demo journal" in pages[0] and "re-runnable notebooks" in pages[0]
    assert "Contents" not in pages[0] and "Contents" in pages[1]
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4, not Quarto's US letter
    assert "SUPPORTED" in " ".join(pages[2:])


def _local_links(site: Path) -> list[tuple[str, str]]:
    """(page, target) for every local href/src of the site's HTML pages, the run pages included."""
    import re
    from urllib.parse import unquote, urlparse

    broken = []
    for page in site.rglob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text(errors="replace")):
            parsed = urlparse(target)
            if parsed.scheme or target.startswith(("//", "data:", "mailto:")):
                continue
            resolved = (page.parent / unquote(parsed.path)).resolve()
            if not resolved.exists():
                broken.append((str(page.relative_to(site)), target))
    return broken


def test_quarto_output_matches_the_builtin_engine(tmp_path: Path) -> None:
    """Every local link of Quarto's site resolves (the run pages' stylesheet included); Quarto's
    PDF has as many table captions as the built-in one, author-date citations, and cross-
    references resolved as numbers."""
    import subprocess

    project = make_demo_project(tmp_path / "project")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=quiet),
        ResultsStore(project / "results"),
    )
    with (project / "report" / "demo.qmd").open("a") as page:
        page.write("\nAs @tbl-demo-squares and @fig-demo-plot show [@ref2020].\n")
    render_journal(Project(project))
    texts = {}
    for engine in ("pandoc", "quarto"):
        build_outputs(Project(project), engine=engine, console=quiet)
        if engine == "quarto":
            assert _local_links(project / "_site") == []
        pdf = subprocess.run(
            ["pdftotext", str(project / "_site" / "journal.pdf"), "-"], capture_output=True, text=True
        )
        texts[engine] = " ".join(pdf.stdout.split())
    import re

    captions = {engine: len(re.findall(r"Table \d+:", text)) for engine, text in texts.items()}
    assert captions["quarto"] == captions["pandoc"] >= 1
    for text in texts.values():
        assert "As Table 1 and Figure 1 show (Doe 2020)" in text
        assert "[1]" not in text


def _quarto_journal(tmp_path: Path, addition: str) -> Project:
    project = make_demo_project(tmp_path / "project")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=quiet),
        ResultsStore(project / "results"),
    )
    with (project / "report" / "demo.qmd").open("a") as page:
        page.write(addition)
    render_journal(Project(project))
    return Project(project)


def test_a_section_reference_reads_as_the_sections_title_in_quartos_site_and_pdf(tmp_path: Path) -> None:
    """Quarto numbers `@sec-` ("Section 1", on the site even for a heading without a number) and
    its typst PDF fails on an unnumbered heading; the render gives both engines the title."""
    import re
    import subprocess

    project = _quarto_journal(tmp_path, "\n## Where it starts {#sec-start}\n\nAs @sec-start says.\n")
    build_outputs(project, engine="quarto", console=Console(quiet=True))
    html = (project.site_dir / "demo.html").read_text()
    assert re.search(r'<a href="#sec-start" class="quarto-xref"[^>]*>Where it starts</a>', html)
    assert "Section 1" not in html and "Section\u00a01" not in html
    pdf = subprocess.run(
        ["pdftotext", str(project.site_dir / "journal.pdf"), "-"], capture_output=True, text=True
    )
    assert "As Where it starts says." in " ".join(pdf.stdout.split())


def test_quartos_pdf_failure_names_the_authors_page_in_plain_text(tmp_path: Path) -> None:
    """typst fails on a line of the temporary journal.typ; the error names report/demo.qmd."""
    from labjournal.errors import BuildError

    project = _quarto_journal(tmp_path, "\n```{=typst}\n#journal-no-such-function()\n```\n")
    with pytest.raises(BuildError) as caught:
        build_outputs(project, engine="quarto", only="pdf", console=Console(quiet=True))
    message = str(caught.value)
    assert message.startswith("report/demo.qmd"), message
    assert "Quarto could not build the PDF" in message and "journal-no-such-function" in message
    assert "\x1b" not in message and "output-file" not in message and "metadata" not in message


QUARTO_HABITS = """
::: {.callout-warning title="Careful with the step"}
Too large a step diverges.
:::

::: {#fig-pair layout-ncol=2}
![The left panel](left.png){#fig-left}

![The right panel](right.png){#fig-right}

Two panels side by side.
:::

As @fig-left and @fig-right show, and @fig-pair as a whole.

A short paragraph.

::: {.column-margin}
Marginal words of a note.
:::

| Step | Loss |
|------|------|
| 1    | 2.0  |

: Losses by step {#tbl-steps}

::: {.panel-tabset}
## Tab one

One's panel.

## Tab two

Two's panel.
:::
"""


def test_quarto_habits_read_the_same_under_both_engines(tmp_path: Path) -> None:
    """Callout title, sub-figures, a margin note, a captioned table and a tabset, in both engines'
    PDFs: the same text (panels "(a)", references "Figure 2(a)", captions above tables), the note
    in the text column (the journal's margins leave Quarto no margin column), the tabs out of the
    contents, one References chapter; and on Quarto's site the callout's title and the panels."""
    import re
    import subprocess

    from PIL import Image

    project = make_demo_project(tmp_path / "project")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=quiet),
        ResultsStore(project / "results"),
    )
    for name, colour in (("left", (31, 95, 168)), ("right", (198, 40, 40))):
        Image.new("RGB", (300, 200), colour).save(project / "report" / f"{name}.png")
    with (project / "report" / "demo.qmd").open("a") as page:
        page.write(QUARTO_HABITS)
    render_journal(Project(project))
    texts, outlines = {}, {}
    for engine in ("pandoc", "quarto"):
        build_outputs(Project(project), engine=engine, console=quiet)
        pdf = project / "_site" / "journal.pdf"
        bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
        note = re.findall(r'xMax="([\d.]+)"[^>]*>(?:Marginal|note\.)</word>', bbox)
        assert note and all(float(x) <= 595.3 - 62 + 1 for x in note), engine  # inside the text column
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        texts[engine] = " ".join(text.split())
        outlines[engine] = [item.title for item in _flatten(PdfReader(str(pdf)).outline)]
        if engine == "quarto":
            site = (project / "_site" / "demo.html").read_text()
    for engine, text in texts.items():
        assert "Careful with the step" in text, engine
        assert "As Figure 2(a) and Figure 2(b) show, and Figure 2 as a whole." in text, engine
        assert "(a) The left panel" in text and "Figure 2: Two panels side by side." in text, engine
        assert text.index("Table 2: Losses by step") < text.index("Step Loss"), engine
        assert outlines[engine].count("References") == 1 and "Tab one" not in outlines[engine], engine
    assert "Careful with the step" in site and "fig-left" in site


def _flatten(outline: list) -> list:
    return [leaf for item in outline for leaf in (_flatten(item) if isinstance(item, list) else [item])]
