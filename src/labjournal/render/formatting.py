"""How values from the results appear in prose: numbers with their spread, and text from data
made safe for Markdown and HTML (it always shows as text)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from labjournal.records import IndexRow
from labjournal.run.results import Aggregate

# What pandoc Markdown gives a meaning inside a line: emphasis, code, math, citations, sub- and
# superscript, links and spans, raw HTML and entities, table cells, attributes.
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]<>$@~^|&#")


def markdown_text(value: Any) -> Markup:
    """Text from data made literal in pandoc Markdown: every character with a meaning inside a
    line is backslash-escaped (pandoc's `all_symbols_escapable`), so `*x*`, backticks, `_`, `$`, `@key`
    (a citation!), `<script>` and `[link](...)` all show as typed, in the HTML and in the PDF.
    Line breaks become spaces, so a value cannot start a heading or a list. Markup (Markdown
    built by the engine, e.g. with links) passes unchanged."""
    if isinstance(value, Markup):
        return value
    text = " ".join(str(value).splitlines())
    return Markup("".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text))


def attribute_text(value: Any) -> Markup:
    """Text from data inside a quoted pandoc attribute (`fig-alt="..."`): HTML-escaped, quotes
    included, since backslash escapes do not apply there."""
    return Markup(str(escape(" ".join(str(value).splitlines()))))


def escape_data(value: Any) -> Any:
    """Every `{{ }}` output passes here: strings are shown as text, never read as Markdown or HTML."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return markdown_text(value)
    return value


@dataclass(frozen=True)
class NotRun:
    """What the prose gets for a lab of the plan that has no results yet: it prints as a note,
    and any attribute (`.mean`, `best(...).lr`) is itself, so a page still renders."""

    lab: str
    mean: float = math.nan
    std: float = math.nan
    n: int = 0
    failed: str = ""  # the folder of a failed run the value needs: "failed", not "not run yet"

    def __getattr__(self, name: str) -> NotRun:
        if name.startswith("__"):
            raise AttributeError(name)  # no protocol (copying, __html__, ...) is implied
        return self

    def __str__(self) -> str:
        if self.failed:
            return f"(failed: see {self.failed})"
        return f"(not run yet: `labjournal run --lab {self.lab}`)"

    def note(self) -> Markup:
        if self.failed:
            return Markup(f"*Failed: the runs this needs failed; see `{self.failed}` and `labjournal run`.*")
        return Markup(f"*Not run yet: `labjournal run --lab {self.lab}` fills this in.*")


def _fmt(value: float, digits: int, percent: bool) -> str:
    if percent:
        return f"{value * 100:.{digits}f}"
    fixed = f"{value:,.{digits}f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    if value != 0 and float(fixed.replace(",", "")) == 0:
        return f"{value:.2g}"  # 0.00025, not 0.000
    return fixed


def format_aggregate_or_note(agg: Aggregate | NotRun, **options: Any) -> str:
    return str(agg) if isinstance(agg, NotRun) else format_aggregate(agg, **options)


def format_aggregate(
    agg: Aggregate, digits: int = 3, percent: bool = False, spread: bool = True, show_n: bool = True
) -> str:
    """`91.2% ± 0.8% (n = 3)`: the mean, its standard deviation over seeds, and how many seeds."""
    if agg.n == 0:
        return "not reached (n = 0)" if show_n else "not reached"
    unit = "%" if percent else ""
    text = _fmt(agg.mean, digits, percent) + unit
    if spread and agg.n > 1 and agg.std > 0:  # identical over seeds: nothing to spread
        text += f" ± {_fmt(agg.std, digits, percent)}{unit}"
    if spread and show_n:
        text += f" (n = {agg.n} of {agg.runs})" if agg.missing else f" (n = {agg.n})"
    elif agg.missing:
        text += f" ({agg.n} of {agg.runs})"
    return text


def describe_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in params.items())


def run_title(row: IndexRow) -> str:
    """What an executed-notebook page is titled: `lab/notebook · parameters seed n`."""
    seed = f" seed {row.seed}" if row.seed is not None else ""
    return f"{row.lab}/{row.notebook} · {describe_params(row.params)}{seed}".strip()


def describe_seeds(seeds: list[Any]) -> str:
    """'seed 0', 'seeds 0, 1', 'seeds 0–14' or 'seeds 0–2, 7': runs of three or more as ranges."""
    seeds = sorted(s for s in set(seeds) if s is not None)
    if not seeds:
        return ""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    runs: list[list[int]] = []
    for seed in seeds:
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return "seeds " + ", ".join(parts)


def format_cell(cell: Any) -> str:
    if isinstance(cell, float):
        return f"{cell:.3g}" if abs(cell) >= 1e-3 or cell == 0 else f"{cell:.2e}"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    return markdown_text(cell) if cell is not None else "–"
