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
from urllib.parse import unquote

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
    rendered_line = rendered.count("\n", 0, at) + 1
    return Place(page, rendered_line, f"{page}:{rendered_line} (as rendered)")


def check_references(pages: list[tuple[str, str, str, str]]) -> None:
    """Raises RenderError with every problem `reference_problems` finds."""
    _raise(reference_problems(pages))


def _raise(problems: list[str]) -> None:
    if problems:
        raise RenderError("\n".join(problems))


def reference_problems(pages: list[tuple[str, str, str, str]]) -> list[str]:
    """`pages`: (page name, rendered text, source text, source path as shown) in site order.
    Every label given twice and every reference that resolves to nothing on its page, each at its
    page and line."""
    labels: dict[str, Place] = {}
    per_page: dict[str, set[str]] = {}
    problems = []  # every problem at once, not one per build
    for page, rendered, source, source_name in pages:
        text = prose_only(rendered)
        per_page[page] = set()
        for match in LABEL.finditer(text):
            label = match.group(1)
            place = _place(page, text, match.start(), "{#" + label, prose_only(source), source_name)
            if label in labels:
                problems.append(
                    f"{place}: the label #{label} is also given at {labels[label]}; a label names one "
                    "thing in the whole journal (the PDF holds every page): rename one"
                    + (", or pass label= to the figure or table" if label[:4] in ("fig-", "tbl-") else "")
                )
                continue
            labels[label] = place
            per_page[page].add(label)
    for page, rendered, source, source_name in pages:
        text = prose_only(rendered)
        for match in REFERENCE.finditer(text):
            label = match.group(1)
            if label in per_page[page]:
                continue
            place = _place(page, text, match.start(), "@" + label, prose_only(source), source_name)
            problems.append(f"{place}: {_unresolved(label, page, labels, per_page[page])}")
    return problems


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


# -- section references, resolved before either engine sees them --------------------------------

_HEADING = re.compile(r"^#{1,6}[ \t]+(.*?)[ \t]*\{#(sec-[\w-]*\w)(?=[\s}])[^}\n]*\}[ \t]*$", re.MULTILINE)
_SEC = r"-?@(sec-[\w-]*\w)"
_SEC_REFERENCE = re.compile(r"(?<![\w@.\\`])" + _SEC)
_SEC_GROUP = re.compile(r"\[\s*" + _SEC + r"(?:\s*;\s*" + _SEC + r")*\s*\]")
_NOTE_OR_LINK = re.compile(r"\[\^[^\]]*\]|\[([^\]]*)\]\([^)]*\)")


def section_titles(text: str) -> dict[str, str]:
    """`sec-…` label -> the heading's text (Markdown, without its links and notes) on one page."""
    prose = prose_only(_FRONT.sub(_blank, text))
    return {
        match.group(2): _NOTE_OR_LINK.sub(lambda m: m.group(1) or "", text[match.start(1) : match.end(1)])
        for match in _HEADING.finditer(prose)
    }


def resolve_section_references(text: str) -> str:
    """Every `@sec-x` (and `-@sec-x`, `[@sec-x; @sec-y]`) whose heading is on the page becomes a
    link titled as the heading, `[Method](#sec-x){.quarto-xref}`, as the built-in engine's
    crossref.lua shows it. Quarto numbers a section reference ("Section 1", even for a heading
    without a number on the site) and its typst PDF fails on an unnumbered heading ("cannot
    reference heading without numbering"); the journal's headings are unnumbered, so both engines
    get the title. References to nothing on the page are left as written (reference_problems
    names them). Code is left alone; line numbers do not change."""
    titles = section_titles(text)
    if not titles:
        return text
    prose = prose_only(_FRONT.sub(_blank, text))

    def link(label: str) -> str:
        return f"[{titles[label]}](#{label}){{.quarto-xref}}"

    spans: list[tuple[int, int, str]] = []
    for match in _SEC_GROUP.finditer(prose):
        labels = re.findall(_SEC, match.group(0))
        if all(label in titles for label in labels):
            spans.append((match.start(), match.end(), ", ".join(link(label) for label in labels)))
    for match in _SEC_REFERENCE.finditer(prose):
        inside = any(start <= match.start() < end for start, end, _ in spans)
        if not inside and match.group(1) in titles:
            spans.append((match.start(), match.end(), link(match.group(1))))
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# -- what pages point at: images, local links, citations ----------------------------------------

_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\(<?([^)\s>]+)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\)")
_CITATION = re.compile(r"(?<![\w@.\\`/])-?@([A-Za-z0-9_][\w:.#$%&+?<>~/-]*\w|[A-Za-z0-9_])")
_BIB_KEY = re.compile(r"@\w+\s*[{(]\s*([^,\s]+)\s*,")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|/|#|$)", re.IGNORECASE)


def bibliography_keys(path: Path) -> set[str] | None:
    """The keys of a BibTeX or CSL-JSON bibliography; None for a format not read here."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".bib":
        return set(_BIB_KEY.findall(text))
    if path.suffix == ".json":
        import json

        return {str(entry["id"]) for entry in json.loads(text) if isinstance(entry, dict) and "id" in entry}
    return None


def check_targets(
    pages: list[tuple[str, str, str, str]],
    available: set[str],
    keys: set[str] | None,
    bibliography: str | None,
) -> None:
    """Raises RenderError with every problem `target_problems` finds."""
    _raise(target_problems(pages, available, keys, bibliography))


def target_problems(
    pages: list[tuple[str, str, str, str]],
    available: set[str],
    keys: set[str] | None,
    bibliography: str | None,
) -> list[str]:
    """Every image and local link of every page names a file the site will have (the author's
    files in report/, the pages, labjournal's figures and run pages), and every citation a key
    of the bibliography: the problems, each at its page and line."""
    problems: list[str] = []
    for page, rendered, source, source_name in pages:
        text = prose_only(_FRONT.sub(_blank, rendered))
        plain = prose_only(_FRONT.sub(_blank, source))
        for pattern, what in ((_IMAGE, "image"), (_LINK, "link")):
            for match in pattern.finditer(text):
                target = unquote(re.sub(r"\\(.)", r"\1", match.group(1))).partition("#")[0]
                if _EXTERNAL.match(target) or target in available:
                    continue
                place = _place(page, text, match.start(), match.group(1), plain, source_name)
                problems.append(
                    f"{place}: the {what} '{target}' is not a file of report/ nor a page of the journal"
                )
        for match in _CITATION.finditer(text):
            key = match.group(1)
            if key.split("-", 1)[0] in KINDS or (keys is not None and key in keys):
                continue
            place = _place(page, text, match.start(), "@" + key, plain, source_name)
            if bibliography is None:
                problems.append(f"{place}: @{key} cites, but _quarto.yml names no bibliography")
            elif keys is not None:
                problems.append(f"{place}: @{key} is not a key of {bibliography}")
    return problems
