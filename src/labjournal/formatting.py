"""How values from the results appear in prose: numbers with their spread, and text from data
made safe for Markdown and HTML (it always shows as text)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from labjournal.results import Aggregate


def markdown_text(value: Any) -> Markup:
    """Plain text made safe inside Markdown: no HTML, and brackets that cannot end a link or image.
    Markup (already safe Markdown built by this module, e.g. with links) passes unchanged."""
    if isinstance(value, Markup):
        return value
    return Markup(str(escape(str(value))).replace("[", "\\[").replace("]", "\\]").replace("|", "\\|"))


def escape_data(value: Any) -> Any:
    """Every `{{ }}` output passes here: strings from data are shown as text, never as HTML.
    (No backslash escapes: the same output may sit inside an attribute such as fig-alt.)"""
    if isinstance(value, str) and not isinstance(value, Markup):
        return str(escape(value))
    return value


def _fmt(value: float, digits: int, percent: bool) -> str:
    if percent:
        return f"{value * 100:.{digits}f}"
    fixed = f"{value:,.{digits}f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    if value != 0 and float(fixed.replace(",", "")) == 0:
        return f"{value:.2g}"  # 0.00025, not 0.000
    return fixed


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


def describe_seeds(seeds: list[Any]) -> str:
    seeds = sorted(s for s in set(seeds) if s is not None)
    if not seeds:
        return ""
    return f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))


def format_cell(cell: Any) -> str:
    if isinstance(cell, float):
        return f"{cell:.3g}" if abs(cell) >= 1e-3 or cell == 0 else f"{cell:.2e}"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    return markdown_text(cell) if cell is not None else "–"
