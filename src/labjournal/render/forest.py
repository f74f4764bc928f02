"""A claim as a picture: a small forest plot, one row per part (labjournal.claims.words).

Parts measure different things (a difference of accuracies, a slope per doubling, a log variance
ratio), so each row is drawn in units of its own margin: the shaded band is ±margin for every row,
the line is zero, and the half of each row on its expected side is tinted. A bar is the part's
interval, the dot its estimate, both coloured by the part's own verdict; the numbers on the part's
own scale are written at the right. A part compared by ranks (censored outcomes: no size, only
orders) gets its row with what it is written in it, never a bar made up for it; a part without
a margin (true by construction, not counted) likewise. The strip at the left edge has the claim's
verdict colour. One PNG serves the site and both engines' PDFs."""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

from labjournal.claims.words import ClaimView, PartView

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The badges' colours (templates/journal.css), by verdict.
COLOURS = {
    "supported": "#2e7d32",
    "contradicted": "#c62828",
    "negligible": "#1f5fa8",
    "partly-supported": "#8a6200",
    "inconclusive": "#6d6d6d",
    "not-run": "#b0b7c0",
}
LIMIT = 1000.0  # margins: a bar reaching further is cut at the edge, with an arrow
# The axis is linear within ±1 margin and logarithmic beyond (matplotlib's symlog), so a part far
# past its margin (a loss 40 margins lower) is drawn whole beside one near it.
ROW_INCHES = 0.5
WIDTH_INCHES = 6.0


def _colour(verdict: str) -> str:
    return COLOURS.get(str(verdict), "#6d6d6d")


def _scaled(part: PartView) -> tuple[float | None, tuple[float, float] | None]:
    """The estimate and interval in units of the margin (None where not drawn as a bar)."""
    if part.margin <= 0 or part.kind == "ranks":
        return None, None
    mean = None if part.mean is None else part.mean / part.margin
    interval = (
        None if part.interval is None else (part.interval[0] / part.margin, part.interval[1] / part.margin)
    )
    return mean, interval


def _extent(parts: list[PartView]) -> float:
    ends = [1.0]
    for part in parts:
        mean, interval = _scaled(part)
        ends += [abs(x) for x in (*(interval or ()), *(() if mean is None else (mean,)))]
    return min(LIMIT, max(ends) * 1.6 + 0.3)


def _row(ax: Axes, y: float, part: PartView, edge: float) -> None:
    """One part's row: the tint of its expected side, then its bar and dot or what it is."""
    colour = _colour(part.verdict)
    side = (0, edge) if part.expected == "positive" else (-edge, 0)
    ax.fill_between(side, y - 0.42, y + 0.42, color="#2e7d32", alpha=0.06, linewidth=0)
    mean, interval = _scaled(part)
    if part.kind == "ranks" or part.margin <= 0:
        what = "compared by ranks: no size" if part.kind == "ranks" else "no margin: not counted"
        box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5}
        ax.text(0, y, what, ha="center", va="center", fontsize=8, color=colour, style="italic", bbox=box)
        return
    if interval is not None:
        low, high = max(interval[0], -edge), min(interval[1], edge)
        ax.plot(
            [low, high], [y, y], color=colour, linewidth=3.2 if part.deciding else 2.2, solid_capstyle="butt"
        )
        for end, cut, marker in ((interval[0], -edge, "<"), (interval[1], edge, ">")):
            if (end < cut) if marker == "<" else (end > cut):
                ax.plot([cut], [y], marker=marker, color=colour, markersize=6)
    if mean is not None:
        marker = "D" if part.kind == "exact" else "o"
        x = max(-edge, min(edge, mean))
        ax.plot([x], [y], marker=marker, color=colour, markersize=6, markeredgecolor="white")
    if interval is None:
        ax.text(0, y - 0.3, "no interval", ha="center", va="center", fontsize=7, color=colour)


def _labels(ax: Axes, parts: list[PartView]) -> None:
    """Each part's number and name at the left, its numbers and verdict at the right."""
    for y, part in enumerate(parts):
        name = textwrap.fill(f"{part.number}. {part.short}", 24)
        weight = "bold" if part.deciding else "normal"
        ax.text(
            -0.02,
            y,
            name,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=8,
            weight=weight,
        )
        verdict = str(part.verdict) + (", deciding" if part.deciding else "")
        verdict += "" if part.counted else ", not counted"
        right = f"{textwrap.fill(part.brief, 26)}\n{verdict}"
        ax.text(
            1.02,
            y,
            right,
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=8,
            color=_colour(part.verdict),
        )


def forest_figure(claim: ClaimView) -> Figure:
    """The claim's forest plot (the module's docstring)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter

    parts = claim.parts
    height = 0.75 + ROW_INCHES * max(1, len(parts))
    fig = Figure(figsize=(WIDTH_INCHES, height), dpi=150)
    bottom = 0.5 / height
    ax = fig.add_axes((0.3, bottom, 0.4, 1 - bottom - 0.12 / height))
    edge = _extent(parts)
    ax.axvspan(-1, 1, color="#9e9e9e", alpha=0.22, linewidth=0)
    ax.axvline(0, color="#222222", linewidth=0.9)
    for y, part in enumerate(parts):
        _row(ax, y, part, edge)
    _labels(ax, parts)
    ax.set_xscale("symlog", linthresh=1.0, linscale=1.0)
    ax.set_xlim(-edge, edge)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}".replace("-", "\u2212")))
    ax.set_ylim(len(parts) - 0.5, -0.5)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("estimate ÷ margin (log beyond ±1) · grey: ±margin · green: expected side", fontsize=7)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    fig.add_artist(Rectangle((0, 0), 0.008, 1, transform=fig.transFigure, color=_colour(claim.verdict)))
    return fig


def forest_png(claim: ClaimView) -> bytes:
    """The claim's forest plot as PNG bytes (the same bytes for the same claim: no date in it)."""
    buffer = io.BytesIO()
    forest_figure(claim).savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def alt_text(claim: ClaimView) -> str:
    """What the plot shows, in words, for a reader who cannot see it."""
    rows = "; ".join(f"part {p.number}, {p.name}: {p.estimate}, {p.verdict}" for p in claim.parts)
    return f"Forest plot of the claim's parts, each against zero and its margin: {rows}."
