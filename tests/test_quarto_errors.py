"""Quarto's failures told at the author's page and line, in plain text (labjournal.build.quarto_errors),
and `@sec-` references resolved to the section's title before either engine sees them
(labjournal.render.crossref). Quarto is not needed: its stderr is the text Quarto 1.10 writes
(quarto-cli's core/log.ts colours an ERROR bright red; render/pandoc.ts dumps pandoc's arguments and
the metadata first; core/typst.ts prints "[typst]: Compiling …" without a newline; typst's
diagnostics follow)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import make_demo_project

from labjournal.build import quarto as build_module
from labjournal.build.pages import COMBINED
from labjournal.build.quarto_errors import AuthorPage, explain, parse_failure, plain, where
from labjournal.errors import BuildError
from labjournal.project import Project
from labjournal.render.crossref import resolve_section_references, section_titles

RED, BOLD, RESET, UNBOLD = "\x1b[91m", "\x1b[1m", "\x1b[39m", "\x1b[22m"

TYPST_FAILURE = f"""{BOLD}pandoc {UNBOLD}
  to: typst
  output-file: journal.typ
  standalone: true
  default-image-extension: svg
  wrap: none
  citeproc: true
  filters:
    - badges.lua
  template-partials:
    - typst-template.typ
    - journal-style.typ

{BOLD}metadata{UNBOLD}
  title: Demo journal
  author: A. Learner
  toc: true
  toc-depth: 2
  link-citations: true
  toc-title: Contents

[typst]: Compiling journal.typ to journal.pdf...{RED}ERROR: error: cannot reference heading without numbering
    ┌─ journal.typ:7:4
    │
  7 │ See @sec-method.
    │     ^^^^^^^^^^^
    │
    = hint: you can enable heading numbering with `#set heading(numbering: "1.")`
{RESET}
{RED}ERROR: Typst compilation failed{RESET}
"""

# The typst Quarto wrote from the combined document: each page a chapter labelled page-<name>.
JOURNAL_TYP = """#show: doc => article(title: [Demo journal], doc)
= Introduction
<page-index>
The journal.
= Demo lab
<page-demo>
See @sec-method.
"""

DEMO_PAGE = """---
title: Demo lab
---

## Method {#sec-method}

Some text.
See @sec-method.
"""

PAGES = {
    "index.qmd": AuthorPage("index.qmd", "report/index.qmd", "---\ntitle: Intro\n---\n\nThe journal.\n"),
    "demo.qmd": AuthorPage("demo.qmd", "report/demo.qmd", DEMO_PAGE),
}


def test_colour_and_the_argument_dump_are_taken_out() -> None:
    lines = plain(TYPST_FAILURE)
    text = "\n".join(lines)
    assert "\x1b" not in text
    assert "output-file" not in text and "toc-title" not in text and "pandoc" not in text
    assert "[typst]" not in text
    assert lines[0] == "ERROR: error: cannot reference heading without numbering"


def test_typsts_error_its_line_underlined_part_and_hint_are_read() -> None:
    failure = parse_failure(TYPST_FAILURE)
    assert failure.message == "cannot reference heading without numbering"
    assert (failure.file, failure.line) == ("journal.typ", 7)
    assert failure.snippet == "See @sec-method." and failure.token == "@sec-method"
    assert failure.hints == ('you can enable heading numbering with `#set heading(numbering: "1.")`',)


def test_a_line_of_quartos_typst_is_traced_to_the_authors_page_and_line() -> None:
    failure = parse_failure(TYPST_FAILURE)
    place = where(failure, PAGES, {"journal.typ": JOURNAL_TYP.splitlines()})
    assert place == "report/demo.qmd:8"  # the chapter <page-demo>, the line holding @sec-method


def test_text_the_author_did_not_write_names_the_page_without_a_line() -> None:
    failure = dataclasses.replace(parse_failure(TYPST_FAILURE), snippet="#figure(x)", token="#figure")
    assert where(failure, PAGES, {"journal.typ": JOURNAL_TYP.splitlines()}) == "report/demo.qmd"


def test_the_message_is_plain_and_starts_at_the_page() -> None:
    failure = parse_failure(TYPST_FAILURE)
    message = explain(failure, "PDF", "report/demo.qmd:8", ".labjournal/quarto-pdf.log")
    first, *rest = message.splitlines()
    assert (
        first
        == "report/demo.qmd:8: Quarto could not build the PDF: cannot reference heading without numbering"
    )
    assert "  at line 7 of the journal.typ Quarto wrote: See @sec-method." in rest
    assert any(line.startswith("  hint: you can enable heading numbering") for line in rest)
    assert rest[-1] == "  Quarto's whole output: .labjournal/quarto-pdf.log"
    assert "\x1b" not in message and "Typst compilation failed" not in message


YAML_FAILURE = f"""{BOLD}[1/2] index.qmd{UNBOLD}
{BOLD}[2/2] demo.qmd{UNBOLD}
{RED}ERROR: Validation of YAML front matter failed.{RESET}
{RED}ERROR: In file demo.qmd{RESET}
{RED}(line 3, columns 6--14) Field "toc" has value yes please, which must instead be `true` or `false`{RESET}
2: title: Demo lab
3: toc: yes please
        ~~~~~~~~~~
4: ---

{RED}ERROR: Render failed due to invalid YAML.{RESET}

Stack trace:
    at renderFileInternal (file:///opt/quarto/bin/quarto.js:1:1)
"""


def test_a_site_page_quarto_names_is_the_authors_page() -> None:
    failure = parse_failure(YAML_FAILURE)
    assert failure.message == "Validation of YAML front matter failed."
    assert (failure.file, failure.line, failure.page) == ("demo.qmd", 3, "demo.qmd")
    source = "---\ntitle: Demo lab\ntoc: yes please\n---\n\nText.\n"
    pages = {"demo.qmd": AuthorPage("demo.qmd", "report/demo.qmd", "\n\n" + source)}  # two lines more
    rendered = {"demo.qmd": source.splitlines()}  # as the render wrote it into _build/
    assert where(failure, pages, rendered) == "report/demo.qmd:5"
    message = explain(failure, "site", "report/demo.qmd:5", "log")
    assert "Stack trace" not in message and "renderFileInternal" not in message


def test_a_failure_without_a_place_still_says_what_failed() -> None:
    failure = parse_failure(
        f"{RED}ERROR: Error running filter badges.lua: attempt to index a nil value{RESET}\n"
    )
    assert where(failure, PAGES, {}) is None
    assert explain(failure, "PDF", None, "log").startswith(
        "Quarto could not build the PDF: Error running filter badges.lua: attempt to index a nil value"
    )


def test_quartos_pdf_failure_is_reported_at_the_page_with_the_whole_output_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """quarto_pdf with a stand-in for `quarto render` that fails as Quarto does, leaving the typst it
    wrote in the temporary folder (keep-typ)."""
    project = Project(make_demo_project(tmp_path / "project"))
    project.build_dir.mkdir()
    (project.build_dir / COMBINED).write_text("---\ntitle: Demo journal\n---\n\n# Demo lab {#page-demo}\n")
    (project.report_dir / "demo.qmd").write_text(DEMO_PAGE)

    def failing_quarto(command: list[str], cwd: Path, what: str, stdin: str | None = None) -> None:
        assert "keep-typ: true" in (cwd / "journal.qmd").read_text()
        (cwd / "journal.typ").write_text(JOURNAL_TYP)
        raise BuildError(f"{what} failed (exit 1):\n{TYPST_FAILURE.strip()}")

    monkeypatch.setattr(build_module, "_quarto", lambda: "quarto")
    monkeypatch.setattr(build_module, "run_tool", failing_quarto)
    site = dataclasses.replace(project.site_config(), bibliography=None)
    with pytest.raises(BuildError) as caught:
        build_module.quarto_pdf(project, site, tmp_path)
    message = str(caught.value)
    assert message.startswith("report/demo.qmd:8: Quarto could not build the PDF: cannot reference heading")
    assert "\x1b" not in message and "output-file" not in message
    log = project.root / ".labjournal" / "quarto-pdf.log"
    assert f"Quarto's whole output: {log.relative_to(project.root)}" in message
    assert "output-file: journal.typ" in log.read_text()  # the dump is kept there, for whoever needs it


# -- @sec- references ---------------------------------------------------------------------------

SECTIONS = """---
title: "See @sec-loss in the front matter"
---
## The `loss` and its [plot](a.html)[^1] {#sec-loss .unnumbered}

See @sec-loss, [@sec-loss; -@sec-method] and `@sec-loss`; @sec-elsewhere stays.

```
@sec-loss
```

# Method {#sec-method}

[^1]: A note.
"""


def test_section_titles_are_read_without_links_and_notes() -> None:
    assert section_titles(SECTIONS) == {"sec-loss": "The `loss` and its plot", "sec-method": "Method"}


def test_section_references_become_links_titled_as_the_heading() -> None:
    resolved = resolve_section_references(SECTIONS)
    loss = "[The `loss` and its plot](#sec-loss){.quarto-xref}"
    assert f"See {loss}, {loss}, [Method](#sec-method){{.quarto-xref}} and `@sec-loss`;" in resolved
    assert "@sec-elsewhere stays" in resolved  # not on the page: reference_problems says so
    assert "```\n@sec-loss\n```" in resolved  # code is code
    assert 'title: "See @sec-loss in the front matter"' in resolved
    assert resolved.count("\n") == SECTIONS.count("\n")  # the lines stay where they were


def test_a_page_without_section_labels_is_unchanged() -> None:
    text = "See @fig-x and @sec-y.\n"
    assert resolve_section_references(text) is text


def test_the_built_in_engine_shows_a_resolved_reference_as_it_showed_the_citation() -> None:
    import subprocess

    import pypandoc

    from labjournal.project import SHIPPED_TEMPLATES

    command = [pypandoc.get_pandoc_path(), "--from=markdown", "--to=html5", "--wrap=none"]
    command.append(f"--lua-filter={SHIPPED_TEMPLATES / 'crossref.lua'}")
    text = "## Method {#sec-method}\n\nAs @sec-method says.\n"
    html = [
        subprocess.run(command, input=t, capture_output=True, text=True, check=True).stdout
        for t in (text, resolve_section_references(text))
    ]
    assert html[0] == html[1]
    assert '<a href="#sec-method" class="quarto-xref">Method</a>' in html[1]
