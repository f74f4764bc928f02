"""Quarto's failures told at the author's page and line, in plain text.

`quarto render` writes to stderr its pandoc arguments and metadata (the "argument dump"), its
progress lines, then the error, coloured with ANSI codes; typst's diagnostics name a line of the
typst file Quarto wrote in a temporary folder (`journal.typ:481:4`), which is gone by the time
anyone reads it. Here the colour and the dump are taken out, the first error is kept with its
hints, and its place is traced back: the chapter of the combined document it lies in (each page
is a chapter labelled `page-<name>`) or the page Quarto named, then the line of `report/<page>`
that holds the text the diagnostic shows. Where the text is not the author's (labjournal wrote
it), the page is named without a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_DUMP_START = re.compile(r"^(?:pandoc|metadata)(?:\s|$)")
_PROGRESS = re.compile(r"^\[\s*\d+/\d+\]\s+(\S+)")  # "[ 3/9] lab01.qmd", a website's pages
_TYPST_STEP = re.compile(r"^\[typst\]: Compiling \S+ to \S+\.\.\.(?:DONE)?\s*")
_QUIET = re.compile(r"^(?:Output created:|Watching files|Rendering |WARNING\b|warning:|Stack trace:|\s+at )")
_LINE = re.compile(r"\(line (\d+)")
_LEVEL = re.compile(r"^(?:ERROR|FATAL|CRITICAL)(?: \([^)]*\))?:\s*")
_LOCATION = re.compile(r"^\s*(?:┌─|╭─|-->)\s*(?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+)")
_SOURCE = re.compile(r"^\s*(?P<line>\d+)\s*│ ?(?P<text>.*)$")
_CARETS = re.compile(r"^\s*│( ?)(?P<pad>\s*)(?P<carets>\^+)")
_HINT = re.compile(r"^\s*=\s*(?:hint|help|note):\s*(?P<hint>.*)$")
_NAMED = re.compile(
    r"(?:In file |Error at |\")?(?P<file>[\w./-]+\.(?:qmd|md|typ))\"?"
    r"(?::(?P<line>\d+)|\s*\(line (?P<pline>\d+))?"
)
_GENERIC = ("Typst compilation failed", "Error", "")


@dataclass(frozen=True)
class QuartoFailure:
    """What Quarto's stderr says went wrong, without colour, dump or progress."""

    message: str
    file: str | None = None  # the file the error names: journal.typ, lab01.qmd
    line: int | None = None
    snippet: str = ""  # that line's text, as the diagnostic shows it
    token: str = ""  # the part of it the diagnostic underlines
    hints: tuple[str, ...] = ()
    page: str | None = None  # the last page a website render started
    details: tuple[str, ...] = field(default=())  # the error's other lines


def plain(stderr: str) -> list[str]:
    """Quarto's stderr without colour codes, its argument and metadata dump and progress lines."""
    lines, dumping = [], False
    for line in ANSI.sub("", stderr).replace("\r", "").splitlines():
        if _DUMP_START.match(line):
            dumping = True
            continue
        if dumping and (not line.strip() or line[:1].isspace()):
            continue
        dumping = False
        lines.append(_TYPST_STEP.sub("", line))
    return lines


def parse_failure(stderr: str) -> QuartoFailure:
    lines = plain(stderr)
    pages = [m.group(1) for line in lines if (m := _PROGRESS.match(line))]
    kept = [_LEVEL.sub("", line) for line in lines if not _PROGRESS.match(line) and not _QUIET.match(line)]
    typst = next((i for i, line in enumerate(kept) if line.startswith("error:")), None)
    if typst is not None:
        return _typst_failure(kept[typst:], pages[-1] if pages else None)
    messages = [line.strip() for line in kept if line.strip() and line.strip() not in _GENERIC]
    named = next((m for line in kept for m in _NAMED.finditer(line)), None)
    number = (named.group("line") or named.group("pline")) if named else None
    if named and not number:  # "In file lab01.qmd", then "(line 3, columns 8--12) Field …"
        number = next((m.group(1) for line in kept if (m := _LINE.match(line.strip()))), None)
    return QuartoFailure(
        message=messages[0] if messages else "Quarto failed without saying why",
        file=named.group("file") if named else None,
        line=int(number) if number else None,
        page=pages[-1] if pages else None,
        details=tuple(messages[1:4]),
    )


def _typst_failure(lines: list[str], page: str | None) -> QuartoFailure:
    """typst's first error: `error: …`, its location, the source line, the carets, the hints.
    Of several locations (an error inside a package, then where the document used it), the
    first in the document Quarto wrote counts."""
    message = lines[0].removeprefix("error:").strip()
    file = line = None
    snippet = token = ""
    hints: list[str] = []
    for text in lines[1:]:
        if text.startswith(("error:", "ERROR")) or not text.strip():
            if text.startswith("error:"):
                break
            continue
        if (found := _LOCATION.match(text)) and (file is None or file.startswith("@")):
            file, line, snippet, token = found.group("file"), int(found.group("line")), "", ""
        elif (source := _SOURCE.match(text)) and line is not None and int(source.group("line")) == line:
            snippet = source.group("text")
        elif (carets := _CARETS.match(text)) and snippet and not token:
            start = len(carets.group("pad"))
            token = snippet[start : start + len(carets.group("carets"))]
        elif hint := _HINT.match(text):
            hints.append(hint.group("hint").strip())
    return QuartoFailure(message, file, line, snippet.strip(), token.strip(), tuple(hints), page)


# -- back to the author's page ----------------------------------------------------------------


@dataclass(frozen=True)
class AuthorPage:
    name: str  # the page's file in the build, e.g. lab01.qmd
    shown: str  # as the author sees it: report/lab01.qmd
    source: str  # the author's text (Jinja and all)


def chapter_of(lines: list[str], line: int, pages: dict[str, AuthorPage]) -> AuthorPage | None:
    """The page whose chapter holds `line` of the combined document, as markdown (`{#page-x}`) or
    as the typst Quarto made of it (`<page-x>`): the nearest chapter label at or above it."""
    label = re.compile(r"(?:\{#|<)page-([\w.-]+?)(?:[\s}]|>)")
    by_stem = {name.rsplit(".", 1)[0]: page for name, page in pages.items()}
    for text in reversed(lines[: max(line, 0)]):
        for found in label.finditer(text):
            if found.group(1) in by_stem:
                return by_stem[found.group(1)]
    return None


def author_line(source: str, snippet: str, token: str = "") -> int | None:
    """The line of the author's page holding what the diagnostic shows: the underlined part, or
    it without typst's marks (`<sec-x>`, `@sec-x`), or the whole line; of several, the one
    sharing most words with the line shown."""
    lines = source.splitlines()
    bare = re.sub(r"^[#@<]+|[>\])]+$", "", token)
    words = set(re.findall(r"\w+", snippet))
    for needle in dict.fromkeys(n.strip() for n in (token, bare, snippet)):
        if len(needle) < 3:
            continue
        hits = [n for n, text in enumerate(lines, start=1) if needle in text]
        if hits:
            return max(hits, key=lambda n: (len(words & set(re.findall(r"\w+", lines[n - 1]))), -n))
    return None


def where(failure: QuartoFailure, pages: dict[str, AuthorPage], written: dict[str, list[str]]) -> str | None:
    """`report/lab01.qmd:12`, or `report/lab01.qmd` where the line is not the author's, or None.
    `written`: the lines of the files Quarto read or wrote (the combined document, its typst),
    by name, for the chapter a line lies in; a page of the site is read from `pages`."""
    page = pages.get(failure.file or "") or pages.get(failure.page or "")
    snippet = failure.snippet
    if failure.file in written and failure.line is not None:
        lines = written[failure.file]
        page = chapter_of(lines, failure.line, pages) or page
        if not snippet and 0 < failure.line <= len(lines):
            snippet = lines[failure.line - 1].strip()
    if page is None:
        return None
    number = author_line(page.source, snippet, failure.token) if (snippet or failure.token) else None
    return f"{page.shown}:{number}" if number else page.shown


def explain(failure: QuartoFailure, what: str, place: str | None, log: str) -> str:
    """The failure in a few plain lines: where, what, the line Quarto's file had, the hints."""
    head = f"{place}: " if place else ""
    lines = [f"{head}Quarto could not build the {what}: {failure.message}"]
    if failure.file and failure.line is not None:
        shown = f": {failure.snippet}" if failure.snippet else ""
        lines.append(f"  at line {failure.line} of the {failure.file} Quarto wrote{shown}")
    lines += [f"  {detail}" for detail in failure.details]
    lines += [f"  hint: {hint}" for hint in failure.hints]
    lines.append(f"  Quarto's whole output: {log}")
    return "\n".join(lines)
