"""Quarto cross-references, checked before pandoc, typst or Quarto run.

A page labels a figure, table, equation or section as Quarto does (`![…](x.png){#fig-x}`,
`: caption {#tbl-x}`, `$$…$$ {#eq-x}`, `## Title {#sec-x}`) and refers to it with `@fig-x`
(`-@fig-x` for the number alone). Both engines number them per page on the site and through the
whole document in the PDF; `templates/crossref.lua` does it for the built-in engine.

What is checked here, on the rendered pages, so that the error names the page and line rather
than a generated file: every reference has a label on its own page (Quarto resolves references
within a page of a website; to point at another page, link to it), and no label is used twice in
the journal (the PDF holds every page, so a label must be unique across them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labjournal.errors import RenderError

KINDS = {"fig": "figure", "tbl": "table", "eq": "equation", "sec": "section"}
_ID = r"(?:fig|tbl|eq|sec)-[\w-]*\w"
LABEL = re.compile(r"\{#(" + _ID + r")(?=[\s}])")
REFERENCE = re.compile(r"(?<![\w@.\\`])-?@(" + _ID + r")")
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`+[^`\n]*`+")


@dataclass(frozen=True)
class Place:
    page: str  # the page's file name, e.g. lab01.qmd
    line: int
    where: str  # "report/lab01.qmd:12" where the text is the author's, else the rendered file

    def __str__(self) -> str:
        return self.where


def _blank(match: re.Match) -> str:
    """Code is not prose: blanked out, its line breaks kept so that line numbers stay right."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose_only(text: str) -> str:
    for pattern in (_FENCE, _INLINE_CODE):
        text = pattern.sub(_blank, text)
    return text


def _place(page: str, rendered: str, at: int, needle: str, source: str, source_name: str) -> Place:
    """The author's line where `needle` occurs in the page's source; the rendered page's own line
    where the engine wrote it (a labjournal figure or table)."""
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return Place(page, number, f"{source_name}:{number}")
    line = rendered.count("\n", 0, at) + 1
    return Place(page, line, f"{page}:{line} (as rendered)")


def check_references(pages: list[tuple[str, str, str, str]]) -> None:
    """`pages`: (page name, rendered text, source text, source path as shown) in site order.
    Raises RenderError naming the page and line of the first bad reference or label."""
    labels: dict[str, Place] = {}
    per_page: dict[str, set[str]] = {}
    for page, rendered, source, source_name in pages:
        text = prose_only(rendered)
        per_page[page] = set()
        for match in LABEL.finditer(text):
            label = match.group(1)
            place = _place(page, text, match.start(), "{#" + label, prose_only(source), source_name)
            if label in labels:
                raise RenderError(
                    f"{place}: the label #{label} is also given at {labels[label]}; a label names one "
                    "thing in the whole journal (the PDF holds every page): rename one"
                    + (", or pass label= to the figure or table" if label[:4] in ("fig-", "tbl-") else "")
                )
            labels[label] = place
            per_page[page].add(label)
    for page, rendered, source, source_name in pages:
        text = prose_only(rendered)
        for match in REFERENCE.finditer(text):
            label = match.group(1)
            if label in per_page[page]:
                continue
            place = _place(page, text, match.start(), "@" + label, prose_only(source), source_name)
            raise RenderError(f"{place}: {_unresolved(label, page, labels, per_page[page])}")


def _unresolved(label: str, page: str, labels: dict[str, Place], here: set[str]) -> str:
    kind = KINDS[label.split("-", 1)[0]]
    if label in labels:
        other = labels[label].page
        target = Path(other).with_suffix(".html").name
        return (
            f"@{label} refers to a {kind} on {other}; cross-references resolve within a page "
            f"(as in a Quarto website), so link to it instead: [{kind.capitalize()}]({target}#{label})"
        )
    same_kind = sorted(lab for lab in here if lab.startswith(label.split("-", 1)[0] + "-"))
    known = ", ".join(same_kind) or "none"
    return (
        f"@{label} refers to no {kind}: nothing on the page is labelled {{#{label}}} "
        f"({kind} labels on this page: {known})"
    )
