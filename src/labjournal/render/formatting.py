"""How values from the results appear in prose: numbers with their spread, and text from data
made safe for Markdown and HTML (it always shows as text)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from markupsafe import Markup, escape

from labjournal.records import IndexRow
from labjournal.results.lookup import Aggregate

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
    """Every `{{ }}` output passes here: strings are shown as text, never read as Markdown or HTML;
    an aggregate (`{{ metric(...) }}`) as a table shows it (format_aggregate)."""
    if isinstance(value, Aggregate):
        return Markup(format_aggregate(value))
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

    def keys(self) -> tuple[str, ...]:
        """`**best(...).params` of a note passes no parameters (the call it goes to gives the note)."""
        return ()

    def __str__(self) -> str:
        if self.failed:
            return f"(failed: see {self.failed})"
        return f"(not run yet: `labjournal run --lab {self.lab}`)"

    def note(self) -> Markup:
        if self.failed:
            return Markup(f"*Failed: the runs this needs failed; see `{self.failed}` and `labjournal run`.*")
        return Markup(f"*Not run yet: `labjournal run --lab {self.lab}` fills this in.*")


DIGITS = 3  # decimal places of a mean (and its spread) where none are asked for; 1 for a percentage
PERCENT_DIGITS = 1


def rounded(value: float, places: int, percent: bool = False) -> str:
    """`value` (as a percentage: times 100) to `places` decimals, half away from zero on the digits
    the value is written with (8.5 -> 9, 0.125 -> 0.13, 0.8125 -> 81.3 %), as a reader rounds
    the number by hand: the one rounding rule of every number the pages show."""
    if not math.isfinite(value):
        return f"{value * 100 if percent else value}"
    exact = Decimal(repr(float(value))).scaleb(2 if percent else 0)
    exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{exact:,.{places}f}" if abs(exact) >= 1000 and not percent else f"{exact:.{places}f}"


def _fmt(value: float, digits: int, percent: bool) -> str:
    fixed = rounded(value, digits, percent)
    if not percent and value != 0 and float(fixed.replace(",", "")) == 0:
        return f"{value:.2g}"  # 0.00025, not 0.000
    return fixed


def places(agg: Aggregate, digits: int | None = None, percent: bool = False) -> int:
    """The decimals an aggregate is shown to, in a table and in the prose alike: those asked for,
    else 1 for a percentage and 3 otherwise; a metric that is a whole number at every seed (a
    count, an epoch) needs no more than its mean has: 8 and 9 give 8.5, never a rounded 8 (or 9)
    beside a prose that says 8.5; a whole mean (every seed the same count) shows none."""
    if digits is not None:
        return digits
    if percent:
        return PERCENT_DIGITS
    if agg.n == 0 or not all(float(v).is_integer() for v in agg.values):
        return DIGITS
    return next(
        (p for p in range(DIGITS) if float(rounded(agg.mean, p).replace(",", "")) == agg.mean), DIGITS
    )


def format_aggregate_or_note(agg: Aggregate | NotRun, **options: Any) -> str:
    return str(agg) if isinstance(agg, NotRun) else format_aggregate(agg, **options)


def format_aggregate(
    agg: Aggregate,
    digits: int | None = None,
    percent: bool = False,
    spread: bool = True,
    show_n: bool = True,
) -> str:
    """`91.2% ± 0.8% (n = 3)`: the mean, its standard deviation over seeds, and how many seeds, to
    the decimals `places` gives (the same in tables and prose)."""
    if agg.n == 0:
        return "not reached (n = 0)" if show_n else "not reached"
    unit = "%" if percent else ""
    digits = places(agg, digits, percent)
    text = _fmt(agg.mean, digits, percent) + unit
    if spread and agg.n > 1 and agg.std > 0:  # identical over seeds: nothing to spread
        text += f" ± {_fmt(agg.std, digits, percent)}{unit}"
    if spread and show_n:
        text += f" (n = {agg.n} of {agg.runs})" if agg.missing else f" (n = {agg.n})"
    elif agg.missing:
        text += f" ({agg.n} of {agg.runs})"
    return text


def describe_commits(commits: list[str | None]) -> str:
    """A caption's provenance: the project commit of the runs it shows, as their records say
    (`abc123+dirty` stays whole), one per run; where they differ, each with its runs, most first."""
    known = Counter(commit for commit in commits if commit)
    if not known:
        return "Project commit unknown (the runs have no record of it)."
    if len(known) == 1:
        return f"Project commit {next(iter(known))}."
    shown = ", ".join(f"{commit} ({n} run{'s' if n != 1 else ''})" for commit, n in known.most_common())
    return f"Runs of {len(known)} project commits, mixed: {shown}."


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
