"""The Quarto engine's PDF, checked without Quarto (which cannot be installed offline): the combined
document's front matter names the journal's typst partials and badge filter, and the partials,
assembled the way Quarto's typst template assembles a document, give a PDF laid out as the
built-in engine's: a title page with its note, then the contents, coloured badges and links."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, make_demo_project
from PIL import Image

from labjournal.build import quarto as build_module
from labjournal.build.builtin import _pandoc
from labjournal.build.pages import COMBINED as COMBINED_NAME
from labjournal.build.pages import split_front_matter
from labjournal.build.quarto import QUARTO_FILTERS, QUARTO_PARTIALS, quarto_pdf_front_matter
from labjournal.project import PDF_NAME, SHIPPED_TEMPLATES, Project

TEMPLATES = REPO / "templates"
NOTE = "re-runnable notebooks"
BADGE_GREEN = (46, 125, 50)  # badges.lua's colour for "supported"
LINK_BLUE = (31, 95, 168)  # journal-style.typ's link colour, #1f5fa8

COMBINED = """\
---
title: A Journal of Tests
subtitle: Checked without Quarto
author: A. Tester
date: '2026'
date-format: YYYY
toc: true
toc-depth: 2
filters:
- their-own.lua
format:
  typst:
    keep-typ: true
---

# First chapter {#page-index}

The claim holds [supported]{.claim-badge .claim-supported}; see [the site](https://example.org/).

## A section

More text.

# Second chapter {#page-second}

The end.
"""

# Quarto's typst template (quarto-cli's src/resources/formats/typst/pandoc/quarto/template.typ and
# its partials), cut down to what meets the journal's partial: the partial (typst-template.typ),
# page.typ's defaults (US letter, no page numbers), typst-show.typ's `article(...)` call, the body.
# Quarto's definitions.typ is left out: the partial must not need it (`content-to-string` is
# only in Quarto 1.9 and later).
QUARTO_TEMPLATE = """\
$typst-template.typ()$

#set page(paper: "us-letter", margin: (x: 1.25in, y: 1.25in), numbering: none, columns: 1)

SHOW

$body$
"""
# typst-show.typ's call for COMBINED's metadata: Quarto passes `author` as `authors`, each with a
# name, affiliation and email.
SHOW = """\
#show: doc => article(
  title: [$title$],
  subtitle: [$subtitle$],
  authors: (
    ( name: [$author$],
      affiliation: [],
      email: [] ),
    ),
  date: [$date$],
  toc: $toc$,
  toc_title: [$toc-title$],
  toc_depth: $toc-depth$,
  doc,
)"""


def test_the_front_matter_names_the_partials_and_the_badge_filter() -> None:
    text = quarto_pdf_front_matter(COMBINED, ["typst-template.typ", "journal-style.typ"], ["badges.lua"])
    meta, body = split_front_matter(text, "journal.qmd")
    typst = meta["format"]["typst"]
    assert typst["template-partials"] == ["typst-template.typ", "journal-style.typ"]
    assert typst["keep-typ"] is True  # the document's own settings are kept
    assert meta["filters"] == ["their-own.lua", "badges.lua"]
    assert meta["toc-title"] == "Contents"  # as the built-in PDF, not Quarto's "Table of contents"
    expected, _ = split_front_matter(COMBINED, "combined")
    for key, value in expected.items():
        if key not in ("format", "filters"):
            assert meta[key] == value, key
    assert body.lstrip().startswith("# First chapter {#page-index}") and body.rstrip().endswith("The end.")
    # Idempotent: nothing is listed twice.
    again, _ = split_front_matter(
        quarto_pdf_front_matter(text, ["typst-template.typ", "journal-style.typ"], ["badges.lua"]), "x"
    )
    assert again["format"] == meta["format"] and again["filters"] == meta["filters"]


def test_a_document_without_format_or_filters_gets_both() -> None:
    text = "---\ntitle: T\nformat: typst\n---\n\nBody.\n"
    meta, body = split_front_matter(quarto_pdf_front_matter(text, ["p.typ"], ["f.lua"]), "x")
    assert meta == {
        "title": "T",
        "format": {"typst": {"template-partials": ["p.typ"]}},
        "filters": ["f.lua"],
        "toc-title": "Contents",
    }
    assert body == "Body.\n"


def test_the_quarto_engine_uses_files_the_templates_folder_has() -> None:
    for name in QUARTO_PARTIALS + QUARTO_FILTERS:
        assert (TEMPLATES / name).is_file(), name
    assert Path(QUARTO_PARTIALS[0]).name == "typst-template.typ"  # the partial Quarto replaces


def _fake_quarto_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, dict]:
    """`_quarto_pdf` with a stand-in for `quarto render`, which records what it was given."""
    project = Project(make_demo_project(tmp_path / "project"))
    project.build_dir.mkdir()
    (project.build_dir / COMBINED_NAME).write_text(COMBINED)
    seen: dict = {}

    def quarto_render(command: list[str], cwd: Path, what: str, stdin: str | None = None) -> None:
        seen["command"] = command
        seen["files"] = {path.name: path.read_text() for path in cwd.iterdir() if path.is_file()}
        (cwd / PDF_NAME).write_bytes(b"%PDF-")

    monkeypatch.setattr(build_module, "_quarto", lambda: "quarto")
    monkeypatch.setattr(build_module, "run_tool", quarto_render)
    return project, seen


def test_quarto_renders_the_document_with_the_partials_and_the_filter_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, seen = _fake_quarto_build(tmp_path, monkeypatch)
    site = dataclasses.replace(project.site_config(), bibliography=None)
    (tmp_path / "out").mkdir()
    build_module.quarto_pdf(project, site, tmp_path / "out")
    assert seen["command"][1:] == ["render", "journal.qmd", "--to", "typst"]
    files = seen["files"]
    for name in QUARTO_PARTIALS + QUARTO_FILTERS:  # side by side, as the front matter names them
        assert files[Path(name).name] == (TEMPLATES / name).read_text(), name
    meta, _ = split_front_matter(files["journal.qmd"], "journal.qmd")
    assert meta["format"]["typst"]["template-partials"] == ["typst-template.typ", "journal-style.typ"]
    assert meta["filters"] == ["their-own.lua", *QUARTO_FILTERS] and meta["title"] == "A Journal of Tests"
    assert (tmp_path / "out" / PDF_NAME).read_bytes() == b"%PDF-"


def test_a_journal_made_before_the_quarto_partials_gets_the_shipped_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, seen = _fake_quarto_build(tmp_path, monkeypatch)
    shutil.rmtree(project.templates_dir / "quarto")
    (project.templates_dir / "journal-style.typ").unlink()
    (project.templates_dir / "badges.lua").write_text("-- the journal's own badges\n")
    build_module.quarto_pdf(project, dataclasses.replace(project.site_config(), bibliography=None), tmp_path)
    assert seen["files"]["typst-template.typ"] == (SHIPPED_TEMPLATES / QUARTO_PARTIALS[0]).read_text()
    assert "journal-title-page" in seen["files"]["journal-style.typ"]
    assert seen["files"]["badges.lua"] == "-- the journal's own badges\n"  # its own file wins


def _pdftotext(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pixels_near(pdf: Path, page: int, colour: tuple[int, int, int], folder: Path) -> int:
    """How many pixels of one page, drawn at 150 dpi, are within a few levels of `colour`."""
    prefix = folder / f"page{page}"
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        ["pdftoppm", "-r", "150", *pages, "-png", "-singlefile", str(pdf), str(prefix)], check=True
    )
    image = Image.open(prefix.with_suffix(".png")).convert("RGB")
    return sum(
        count
        for count, pixel in image.getcolors(maxcolors=1 << 24)
        if all(abs(a - b) <= 8 for a, b in zip(pixel, colour, strict=True))
    )


def _quarto_like_pdf(folder: Path, show: str, markdown: str) -> Path:
    """A document through Quarto's steps: the front matter as `_quarto_pdf` writes it, pandoc with
    the journal's partials staged beside a Quarto-like template (calling `article` with `show`)
    and the filters, then typst."""
    import typst

    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdftotext, pdftoppm) is not installed")
    for name in QUARTO_PARTIALS + QUARTO_FILTERS:  # as Quarto stages its partials: side by side
        shutil.copy2(TEMPLATES / name, folder / Path(name).name)
    (folder / "template.typ").write_text(QUARTO_TEMPLATE.replace("SHOW", show))
    partials = [Path(name).name for name in QUARTO_PARTIALS]
    source = quarto_pdf_front_matter(markdown, partials, list(QUARTO_FILTERS))
    meta, _ = split_front_matter(source, "journal.qmd")
    command = [_pandoc(), "--from=markdown", "--to=typst", "--standalone", "--template=template.typ"]
    command += [f"--lua-filter={name}" for name in meta["filters"] if name in QUARTO_FILTERS]
    subprocess.run([*command, "-o", "journal.typ"], cwd=folder, input=source, text=True, check=True)
    (folder / "journal.pdf").write_bytes(typst.compile(str(folder / "journal.typ")))
    return folder / "journal.pdf"


@pytest.fixture(scope="module")
def quarto_like_pdf(tmp_path_factory) -> Path:
    return _quarto_like_pdf(tmp_path_factory.mktemp("quarto-pdf"), SHOW, COMBINED)


def test_the_badge_is_raw_typst_in_the_document(quarto_like_pdf: Path) -> None:
    typst_source = (quarto_like_pdf.parent / "journal.typ").read_text()
    assert "#box(fill: rgb(46, 125, 50)" in typst_source
    assert "#show: doc => article(" in typst_source and "journal-title-page(" in typst_source


def test_page_one_is_a_title_page_with_the_note(quarto_like_pdf: Path) -> None:
    title_page = _pdftotext(quarto_like_pdf, 1)
    for text in ("A Journal of Tests", "Checked without Quarto", "A. Tester", "2026", NOTE):
        assert text in title_page, text
    assert "Contents" not in title_page and "First chapter" not in title_page


def test_the_contents_follow_on_their_own_page_then_one_chapter_a_page(quarto_like_pdf: Path) -> None:
    contents = _pdftotext(quarto_like_pdf, 2)
    assert "Contents" in contents and "Table of contents" not in contents
    assert "First chapter" in contents and "A section" in contents and "Second chapter" in contents
    assert "The claim holds" not in contents
    assert "The claim holds" in _pdftotext(quarto_like_pdf, 3)
    assert "The end." in _pdftotext(quarto_like_pdf, 4)  # each chapter starts a page


def test_the_pages_are_the_journals_a4_not_quartos_letter(quarto_like_pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(quarto_like_pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info


def test_the_claim_badge_and_the_link_are_coloured(quarto_like_pdf: Path, tmp_path: Path) -> None:
    text = _pdftotext(quarto_like_pdf, 3)
    assert "SUPPORTED" in text and "supported" not in text.replace("SUPPORTED", "")
    assert _pixels_near(quarto_like_pdf, 3, BADGE_GREEN, tmp_path) > 200  # a filled box
    assert _pixels_near(quarto_like_pdf, 3, LINK_BLUE, tmp_path) > 20  # the link's letters
    assert _pixels_near(quarto_like_pdf, 4, BADGE_GREEN, tmp_path) == 0


def test_quartos_link_colour_and_an_older_quartos_arguments_are_taken(tmp_path: Path) -> None:
    """`linkcolor` comes as text in content (`[\\#c00000]`); Quarto 1.5 to 1.7 also pass the
    paper, margins and columns to `article`, which the journal's own layout overrides."""
    show = """#show: doc => article(
  title: [Red links],
  linkcolor: [\\#c00000],
  paper: "us-letter",
  margin: (x: 1.25in, y: 1.25in),
  cols: 1,
  toc: true,
  doc,
)"""
    markdown = "---\ntitle: Red links\n---\n\n# One\n\nSee [the site](https://example.org/).\n"
    pdf = _quarto_like_pdf(tmp_path, show, markdown)
    assert NOTE in _pdftotext(pdf, 1) and "Contents" in _pdftotext(pdf, 2)
    assert _pixels_near(pdf, 3, (192, 0, 0), tmp_path) > 20
    assert _pixels_near(pdf, 3, LINK_BLUE, tmp_path) == 0


NOTES_AND_TABS = """\
---
title: Notes and tabs
toc: true
toc-depth: 2
---

# One

A paragraph that a margin note follows, long enough to run over the whole line of the page and on.

::: {.column-margin}
Marginal words here.
:::

::: {.panel-tabset}
## Tab one

One's panel.

## Tab two

Two's panel.
:::

```{=typst}
#figure(rect(width: 2cm, height: 1cm), caption: [A box]) <fig-box>

Quarto writes a cross-reference as a ref: see @fig-box.
```
"""


def _words(pdf: Path, page: int) -> list[tuple[str, float, float, float]]:
    """(word, xMin, xMax, yMin) of each word of one page, by pdftotext -bbox."""
    import re

    pages = ["-f", str(page), "-l", str(page)]
    out = subprocess.run(["pdftotext", "-bbox", *pages, str(pdf), "-"], capture_output=True, text=True).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"[^>]*>([^<]*)</word>', out)
    return [(word, float(x0), float(x1), float(y0)) for x0, y0, x1, word in found]


def test_margin_notes_and_tabs_read_as_in_the_builtin_pdf(tmp_path: Path) -> None:
    """Quarto's PDF runs layout.lua: the note stays in the text column after its paragraph (the
    journal's margins leave no room for Quarto's margin column), the tabs are bold titles outside
    the contents, and a cross-reference (a typst ref) is coloured as links are."""
    from pypdf import PdfReader

    show = "#show: doc => article(title: [$title$], toc: $toc$, toc_depth: $toc-depth$, doc)"
    pdf = _quarto_like_pdf(tmp_path, show, NOTES_AND_TABS)
    words = _words(pdf, 3)
    right_edge = 595.3 - 2.2 / 2.54 * 72  # A4 less the journal's 2.2 cm margin
    note = [w for w in words if w[0] in ("Marginal", "words", "here.")]
    paragraph = [w for w in words if w[0] in ("paragraph", "follows,", "on.")]
    assert len(note) == 3 and all(x1 <= right_edge + 1 for _, _, x1, _ in note)
    assert min(y for *_, y in note) > max(y for *_, y in paragraph)  # below it, not beside it
    text = _pdftotext(pdf, 3)
    assert text.index("on.") < text.index("Marginal") < text.index("Tab one") < text.index("Tab two")
    outline = [item.title for item in PdfReader(str(pdf)).outline if not isinstance(item, list)]
    assert "One" in outline and "Tab one" not in " ".join(map(str, PdfReader(str(pdf)).outline))
    assert "Tab one" not in _pdftotext(pdf, 2)  # the contents page
    assert _pixels_near(pdf, 3, LINK_BLUE, tmp_path) > 20  # the ref's letters
