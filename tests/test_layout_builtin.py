"""Quarto's margin notes (`.column-margin`, `.aside`) and tabsets (`.panel-tabset`) in the built-in
engine: templates/layout.lua alone on small documents (fast), then a new journal built with them
and read in Chromium and in its PDF (slow)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pypandoc
import pytest
import typst
from conftest import REPO, serve
from pypdf import PdfReader

FILTER = REPO / "templates" / "layout.lua"

TABSET = """\
## Intro

Before the tabs.

::: {.panel-tabset}
Lead-in kept before the tabs.

## Loss

Loss panel text.

### Detail of loss

Detail text.

## Accuracy *rate*

Accuracy panel text.
:::

## After

The end.
"""

MARGIN = """\
## Notes

First paragraph, which the note follows.

::: {.column-margin}
A note in the **margin**.
:::

Second paragraph with [an aside span]{.aside} in it.

## Figures

::: {.aside}
A note right after a heading.
:::

Third paragraph.

![A margin figure](dot.png){.column-margin}
"""


def pandoc(markdown: str, to: str, *options: str, cwd: Path | None = None) -> str:
    completed = subprocess.run(
        [pypandoc.get_pandoc_path(), "--from=markdown", f"--to={to}", f"--lua-filter={FILTER}", *options],
        input=markdown,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


class Elements(HTMLParser):
    """Every start tag of an HTML document as (tag, attributes, path of enclosing tags' classes)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None], list[dict[str, str | None]]]] = []
        self._open: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.found.append((tag, attributes, [a for _, a in self._open]))
        if tag not in ("img", "br", "hr", "meta", "link", "input"):
            self._open.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def where(self, **wanted: str) -> list[tuple[str, dict[str, str | None], list[dict[str, str | None]]]]:
        return [e for e in self.found if all(e[1].get(k.replace("_", "-")) == v for k, v in wanted.items())]


def classes(attributes: dict[str, str | None]) -> list[str]:
    return (attributes.get("class") or "").split()


# -- The filter alone ------------------------------------------------------------------------------


def test_a_tabset_becomes_aria_tabs_whose_headings_stay_out_of_the_contents() -> None:
    html = pandoc(
        TABSET, "html5", "--standalone", "--toc", "--toc-depth=3", "--section-divs", "--metadata=title:T"
    )
    page = Elements(html)
    [(_, tablist, _)] = page.where(role="tablist")
    assert "hidden" in tablist  # shown by tabs.js; without JavaScript the panels stand as they are
    tabs = page.where(role="tab")
    panels = page.where(role="tabpanel")
    assert [tag for tag, _, _ in tabs] == ["button", "button"]
    assert [t["aria-selected"] for _, t, _ in tabs] == ["true", "false"]
    assert [t["tabindex"] for _, t, _ in tabs] == ["0", "-1"]  # roving tabindex
    assert [t["aria-controls"] for _, t, _ in tabs] == [p["id"] for _, p, _ in panels]
    assert [p["aria-labelledby"] for _, p, _ in panels] == [t["id"] for _, t, _ in tabs]
    assert len({t["id"] for _, t, _ in tabs} | {p["id"] for _, p, _ in panels}) == 4
    # Each panel keeps its heading (for readers without JavaScript), the second tab's label its markup.
    assert '<h2 id="loss" class="tab-heading">Loss</h2>' in html
    assert ">Accuracy <em>rate</em></button>" in html
    assert html.index("Lead-in kept before the tabs.") < html.index('role="tablist"')
    assert html.index("Loss panel text.") < html.index("Accuracy panel text.")
    # The contents lists the page's sections, not the tabs nor the headings inside them.
    toc = html[html.index('<nav id="TOC"') : html.index("</nav>")]
    assert "Intro" in toc and "After" in toc
    assert "Loss" not in toc and "Accuracy" not in toc and "Detail of loss" not in toc


def test_the_tabs_are_the_headings_at_the_level_of_the_first_one_and_ids_are_unique() -> None:
    markdown = (
        "::: {.panel-tabset}\n### One\n\nx\n\n#### Inside one\n\ny\n\n### Two\n\nz\n:::\n\n"
        "::: {#metrics .panel-tabset}\n## Three\n\nw\n\n## Four\n\nv\n:::\n"
    )
    page = Elements(pandoc(markdown, "html5"))
    labels = [attributes["id"] for _, attributes, _ in page.where(role="tab")]
    assert labels == ["tabset-1-1-tab", "tabset-1-2-tab", "metrics-1-tab", "metrics-2-tab"]
    headings = [(tag, classes(a)) for tag, a, _ in page.found if tag in ("h3", "h4")]
    assert headings == [("h3", ["tab-heading"]), ("h4", ["unlisted"]), ("h3", ["tab-heading"])]


def test_a_margin_note_sits_with_the_block_it_follows_and_marks_the_page(tmp_path: Path) -> None:
    template = tmp_path / "page.html"
    template.write_text('$if(labjournal-margin)$<main class="has-margin">$endif$\n$body$\n')
    html = pandoc(MARGIN, "html5", f"--template={template}")
    page = Elements(html)
    anchors = [a for _, a, _ in page.where() if "margin-anchor" in classes(a)]
    assert len(anchors) == 3  # the figure joins the note beside the third paragraph
    notes = [(a, enclosing) for _, a, enclosing in page.found if "margin-note" in classes(a)]
    assert len(notes) == 4
    for attributes, enclosing in notes:
        assert attributes["role"] == "note" and "column-margin" in classes(attributes)
        assert "margin-column" in classes(enclosing[-1]) and "margin-anchor" in classes(enclosing[-2])
    # In the anchor the notes' column comes first (so that it floats level with the block on wide
    # screens), marked "margin-after" when the source has the notes after the block (narrow screens
    # show them there); the aside span has left its paragraph.
    first = html.index("First paragraph")
    anchor = html.rindex('class="margin-anchor"', 0, first)
    assert anchor < html.index("A note in the") < first
    assert html.index('class="margin-column margin-after"', anchor) < first
    assert "<p>Second paragraph with in it.</p>" in html
    assert html.index("an aside span") < html.index("Second paragraph")
    # After a heading the note goes beside the next paragraph, before it as in the source (its
    # column not marked "margin-after"), and the figure after that paragraph joins the same column;
    # the heading stays outside.
    heading = html.index('<h2 id="figures">')
    third = html.index("Third paragraph")
    assert heading < html.rindex('class="margin-anchor"', 0, third) < html.index("A note right after") < third
    assert html.index("A note right after") < html.index("A margin figure") < third
    assert html.count('class="margin-column"') == 1 and html.count('class="margin-column margin-after"') == 2
    assert html.startswith('<main class="has-margin">')
    plain = pandoc("Just a paragraph.\n", "html5", f"--template={template}")
    assert "has-margin" not in plain and "margin-anchor" not in plain


def test_in_typst_notes_are_small_blocks_in_place_and_tabs_are_bold_titles_outside_the_outline(
    tmp_path: Path,
) -> None:
    (tmp_path / "dot.png").write_bytes(dot_png())
    markdown = "---\ntitle: T\ntoc: true\n---\n\n" + MARGIN + "\n" + TABSET + "\nSee [the loss tab](#loss).\n"
    source = pandoc(markdown, "typst", "--standalone", cwd=tmp_path)
    assert "== Loss" not in source and "#strong[Loss]" in source
    assert "#heading(level: 3, outlined: false)[Detail of loss]" in source
    assert "#set text(size: 8.5pt)" in source  # the notes' small text
    (tmp_path / "doc.typ").write_text(source)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(typst.compile(str(tmp_path / "doc.typ"), root=str(tmp_path)))
    text = pdf_text(pdf)
    order = ["First paragraph", "A note in the margin", "Second paragraph", "an aside span",
             "A note right after a heading", "Loss panel text", "Accuracy panel text"]  # fmt: skip
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    outline = [item.title for item in flatten(PdfReader(str(pdf)).outline)]
    assert "Intro" in outline and "Notes" in outline
    assert not {"Loss", "Accuracy rate", "Detail of loss"} & set(outline)


def through(markdown: str, to: str, *filters: str, options: tuple[str, ...] = ()) -> str:
    """`markdown` through some of the built-in engine's filters (names in templates/), then `options`
    (citeproc runs after the filters, as in the built-in engine)."""
    command = [pypandoc.get_pandoc_path(), "--from=markdown", f"--to={to}", "--wrap=none"]
    command += [f"--lua-filter={REPO / 'templates' / name}" for name in filters] + list(options)
    completed = subprocess.run(command, input=markdown, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


CALLOUTS = """\
::: {.callout-warning title="Careful *here*"}
The learning rate matters.
:::

::: {.callout-tip}
## A tip heading
Tips are kept.
:::

::: {.callout-note}
Plain.
:::
"""


def test_a_callout_keeps_its_title_attribute_else_its_heading_else_its_kind() -> None:
    html = through(CALLOUTS, "html5", "callouts.lua")
    titles = re.findall(r'<div class="callout-title">\s*(.*?)\s*</div>', html, re.DOTALL)
    assert titles == ["Careful <em>here</em>", "A tip heading", "Note"]
    assert "Warning" not in html and "<h2" not in html
    typst_source = through(CALLOUTS, "typst", "callouts.lua")
    assert "#strong[Careful #emph[here]]" in typst_source and "Warning" not in typst_source


def test_a_page_that_cites_without_a_refs_div_gets_a_references_section(tmp_path: Path) -> None:
    bib = tmp_path / "references.bib"
    bib.write_text(
        "@article{doe2020, title = {A Work}, author = {Doe, Jane}, journal = {J}, year = {2020}}\n"
    )
    cite = ("--citeproc", f"--bibliography={bib}", "--section-divs")
    page = "## Method\n\nAs [@doe2020] and @fig-x show.\n\n![x](x.png){#fig-x}\n"
    html = through(page, "html5", "crossref.lua", "references.lua", options=cite)
    section = html[html.index('<section id="references"') :]
    assert '<h2 class="unnumbered">References</h2>' in section and "A Work" in section
    assert html.index("</section>") < html.index('<section id="references"')  # after Method, not in it
    # In the combined PDF's typst the heading is a chapter; a page with its own refs div, or one
    # that only cross-references, is left alone.
    chapter = through(page, "typst", "crossref.lua", "references.lua", options=cite)
    assert re.search(r"#heading\(level: 1\b[^)]*\)\[References\]", chapter)
    own = "As [@doe2020].\n\n## Sources\n\n::: {#refs}\n:::\n"
    assert "References" not in through(own, "html5", "crossref.lua", "references.lua", options=cite)
    assert "References" not in through(
        "See @fig-x.\n\n![x](x.png){#fig-x}\n", "html5", "crossref.lua", "references.lua"
    )


def dot_png() -> bytes:
    """A PNG of one grey pixel, for the margin figure."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def flatten(outline: list) -> list:
    return [leaf for item in outline for leaf in (flatten(item) if isinstance(item, list) else [item])]


def pdf_text(pdf: Path) -> str:
    """The PDF's text, by pdftotext where installed (else pypdf), with whitespace runs as one space."""
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    else:
        text = "\n".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    return " ".join(text.split())


# -- A new journal, built, in Chromium and in its PDF -----------------------------------------------

PARAGRAPH = "The learning rate was the hardest choice"
ADDED = f"""## Challenges Encountered

{PARAGRAPH}: too small and the loss barely moved within fifty steps,
too large and it oscillated before settling. We tried three values and kept the middle one.

::: {{.column-margin}}
Marginalia: the learning rate was tuned by hand.
:::

::: {{.panel-tabset}}
## Loss tab

Loss panel text: the loss fell steadily.

## Accuracy tab

Accuracy panel text: the fit matched the points.
:::
"""


LONG_NOTE = (
    "A long margin note: the step size was halved twice before the loss settled, and each halving "
    "doubled the number of steps the fit needed, which is why the later runs take longer."
)
QUARTO_HABITS = f"""
::: {{.callout-warning title="Careful with the step"}}
Too large a step diverges.
:::

::: {{#fig-pair layout-ncol=2}}
![The left panel](left.png){{#fig-left}}

![The right panel](right.png){{#fig-right}}

Two panels side by side.
:::

As @fig-left and @fig-right show, and @fig-pair as a whole; @fig-after comes later.

A short paragraph.

::: {{.column-margin}}
{LONG_NOTE}
:::

After the long note, the loss:

$$ L(w) = \\frac{{1}}{{n}} \\sum_i (y_i - w x_i)^2 $$ {{#eq-loss}}

| Step | Loss |
|------|------|
| 1    | 2.0  |

: Losses by step, with a caption long enough to be wider than the table {{#tbl-steps}}

![After the pair](left.png){{#fig-after}}
"""
REFS = "## References {.unnumbered}\n\n::: {#refs}\n:::\n"


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> Path:
    """`labjournal new`, its page written as a Quarto user writes (a margin note, a tabset, a callout
    with title=, sub-figures, a citation without `::: {#refs}`, an equation, a captioned table),
    `labjournal report` (built-in engine)."""
    from PIL import Image

    project = tmp_path_factory.mktemp("layout") / "journal"
    run = [sys.executable, "-m", "labjournal.cli"]
    subprocess.run([*run, "new", str(project)], check=True, capture_output=True)
    page = project / "report" / "index.qmd"
    text = page.read_text()
    assert "## Challenges Encountered\n" in text and REFS in text
    text = text.replace(REFS, "").replace("## Challenges Encountered\n", ADDED + QUARTO_HABITS)
    page.write_text(text)
    for name, colour in (("left", (31, 95, 168)), ("right", (198, 40, 40))):
        Image.new("RGB", (300, 200), colour).save(project / "report" / f"{name}.png")
    completed = subprocess.run(
        [*run, "report", "--profile", "quick", "--engine", "pandoc"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    return project / "_site-quick"


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.slow
def test_the_margin_note_is_beside_its_paragraph_when_wide_and_in_the_text_when_narrow(
    journal: Path, browser
) -> None:
    with serve(journal) as base:
        wide = browser.new_page(viewport={"width": 1400, "height": 900})
        wide.goto(f"{base}/index.html")
        note, paragraph = box(wide, ".margin-note"), box(wide, f"p:has-text('{PARAGRAPH}')")
        text_column = box(wide, "p:has-text('Loss panel text')")
        wide.close()
        narrow = browser.new_page(viewport={"width": 500, "height": 900})
        narrow.goto(f"{base}/index.html")
        folded, above = box(narrow, ".margin-note"), box(narrow, f"p:has-text('{PARAGRAPH}')")
        narrow.close()
    right_edge = max(paragraph["x"] + paragraph["width"], text_column["x"] + text_column["width"])
    assert note["x"] >= right_edge  # in a column right of the text
    assert note["x"] + note["width"] <= 1400
    assert abs(note["y"] - paragraph["y"]) < 30  # beside the paragraph it follows, not below it
    assert above["x"] - 1 <= folded["x"] and folded["x"] + folded["width"] <= above["x"] + above["width"] + 1
    assert folded["y"] >= above["y"] + above["height"]  # after its paragraph, in the text


@pytest.mark.slow
def test_the_tabset_switches_panels_by_click_and_arrow_keys_and_stays_out_of_the_contents(
    journal: Path, browser
) -> None:
    with serve(journal) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/index.html")
        first, second = page.get_by_role("tab", name="Loss tab"), page.get_by_role("tab", name="Accuracy tab")
        loss, accuracy = page.get_by_text("Loss panel text"), page.get_by_text("Accuracy panel text")
        assert loss.is_visible() and accuracy.is_hidden()
        assert page.locator(".tab-heading:has-text('Loss tab')").is_hidden()  # the tab names it
        second.click()
        assert accuracy.is_visible() and loss.is_hidden()
        assert (
            second.get_attribute("aria-selected") == "true"
            and first.get_attribute("aria-selected") == "false"
        )
        assert (second.get_attribute("tabindex"), first.get_attribute("tabindex")) == ("0", "-1")
        first.click()
        page.keyboard.press("ArrowRight")
        focused = page.evaluate("document.activeElement.textContent")
        assert focused == "Accuracy tab" and second.get_attribute("aria-selected") == "true"
        assert accuracy.is_visible() and loss.is_hidden()
        page.keyboard.press("Home")
        assert page.evaluate("document.activeElement.textContent") == "Loss tab" and loss.is_visible()
        page.keyboard.press("End")
        assert page.evaluate("document.activeElement.textContent") == "Accuracy tab"
        toc = page.inner_text("nav.toc")
        page.close()
    assert not errors
    assert "Challenges Encountered" in toc
    assert "Loss tab" not in toc and "Accuracy tab" not in toc


@pytest.mark.slow
def test_without_javascript_every_panel_shows_with_its_heading(journal: Path, browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    with serve(journal) as base:
        page = context.new_page()
        page.goto(f"{base}/index.html")
        visible = [page.get_by_text(text).is_visible() for text in ("Loss panel text", "Accuracy panel text")]
        headings = page.locator(".tab-heading").all_inner_texts()
        tablist_hidden = page.locator("[role=tablist]").is_hidden()
        context.close()
    assert visible == [True, True]
    assert headings == ["Loss tab", "Accuracy tab"] and tablist_hidden


@pytest.mark.slow
def test_the_pdf_has_both_panels_and_the_margin_note(journal: Path) -> None:
    text = pdf_text(journal / "journal.pdf")
    for expected in (
        "Marginalia: the learning rate was tuned by hand.",
        "Loss panel text: the loss fell steadily.",
        "Accuracy panel text: the fit matched the points.",
    ):
        assert expected in text, expected
    assert (
        text.index(PARAGRAPH)
        < text.index("Marginalia")
        < text.index("Loss panel")
        < text.index("Accuracy panel")
    )
    outline = [item.title for item in flatten(PdfReader(str(journal / "journal.pdf")).outline)]
    assert "Challenges Encountered" in outline and "Loss tab" not in outline


@pytest.mark.slow
def test_quarto_habits_read_as_in_quarto_on_the_site(journal: Path, browser) -> None:
    with serve(journal) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/index.html")
        title = page.inner_text(".callout-warning:has-text('Too large a step') .callout-title")
        links = page.eval_on_selector_all("main a.quarto-xref", "nodes => nodes.map(n => n.textContent)")
        pair_caption = page.inner_text("#fig-pair > figcaption")
        left, right = box(page, "#fig-left"), box(page, "#fig-right")
        panel_captions = page.locator(".figure-panels figcaption").all_inner_texts()
        short, after = (
            box(page, "p:has-text('A short paragraph')"),
            box(page, "p:has-text('After the long note')"),
        )
        note = box(page, f".margin-note:has-text('{LONG_NOTE[:30]}')")
        equation, caption = box(page, "#eq-loss math"), box(page, "#tbl-steps caption")
        table_rows = box(page, "#tbl-steps tbody")
        references = page.locator("main h2").all_inner_texts()[-1]
        listed = page.inner_text("main section:last-of-type")
        page.close()
    assert title == "Careful with the step"
    assert links == ["Figure\u00a02(a)", "Figure\u00a02(b)", "Figure\u00a02", "Figure\u00a03"]
    assert pair_caption.startswith("Figure 2: Two panels side by side")
    assert panel_captions == ["(a) The left panel", "(b) The right panel"]
    assert abs(left["y"] - right["y"]) < 2 and right["x"] >= left["x"] + left["width"]  # side by side
    # The long note, taller than its paragraph, leaves no gap in the text column.
    assert note["height"] > short["height"] + 60 and abs(note["y"] - short["y"]) < 30
    assert after["y"] - (short["y"] + short["height"]) < 40
    column_centre = after["x"] + after["width"] / 2
    assert abs(equation["x"] + equation["width"] / 2 - column_centre) < 10  # centred, as Quarto
    assert caption["width"] > 0.9 * after["width"] > table_rows["width"]  # the caption spans the column
    assert caption["y"] < table_rows["y"]  # above the table
    assert references == "References" and "Cauchy" in listed


@pytest.mark.slow
def test_quarto_habits_read_as_in_quarto_in_the_pdf(journal: Path) -> None:
    text = pdf_text(journal / "journal.pdf")
    assert "Careful with the step Too large a step diverges." in text
    assert "As Figure 2(a) and Figure 2(b) show, and Figure 2 as a whole; Figure 3 comes later." in text
    assert "(a) The left panel (b) The right panel Figure 2: Two panels side by side." in text
    assert "Figure 3: After the pair" in text
    assert text.index("Table 1: Losses by step") < text.index("Step Loss 1 2.0")  # caption above
    # One References chapter, listed once in the contents; none left empty in the lab's chapter.
    outline = PdfReader(str(journal / "journal.pdf")).outline
    top = [item.title for item in outline if not isinstance(item, list)]
    assert top[-1] == "References" and [item.title for item in flatten(outline)].count("References") == 1
    assert text.rindex("References") > text.index("Figure 3: After the pair")
    assert "Cauchy" in text[text.rindex("References") :]
