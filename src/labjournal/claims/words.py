"""A claim as a reader meets it: each part in words (the author's `label:`s and `labels:` table of
claims.yml, else the metric's and parameters' names), its estimate and interval written together
("Δ 0.30 [0.19, 0.41]", one minus sign, U+2212), its verdict, and which part decides the claim's.
The Claims page, its forest plots and `labjournal check` all read a claim through `view`; nothing
here changes a verdict.

The deciding part is the one the claim's verdict rests on (the part whose p-value is the claim's,
labjournal.claims.verdicts.claim_p): the weakest part of a supported or negligible claim, the
contradicting part of a contradicted one, the first part not shown of a partly supported one, and
the part nearest to deciding of an inconclusive one (judged before Holm over the claims, which
may have made a decided claim inconclusive)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labjournal.claims.evidence import Evidence
from labjournal.claims.file import Comparison, PartLabel, Trend, leaves
from labjournal.claims.ranks import RankedEvidence
from labjournal.claims.spread import SpreadEvidence
from labjournal.claims.verdicts import claim_level, counted, judge, possibly_below_margin
from labjournal.records import VerdictKind

if TYPE_CHECKING:
    from labjournal.claims.judge import Verdict

MINUS = "\u2212"
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def ordinal(i: int) -> str:
    """`first` for 0: the parts as prose counts them."""
    return ORDINALS[i] if i < len(ORDINALS) else f"{i + 1}th"


def minus(text: str) -> str:
    """Every hyphen-minus of a number as the minus sign."""
    return text.replace("-", MINUS)


def places(size: float) -> int | None:
    """The decimals an estimate is shown to: those that show the half-width of its interval
    (`size`) to two significant digits where they start with 1 or 2, else to one (0.114 → 2,
    0.0068 → 3); None where there is no size to go by."""
    if not size or not math.isfinite(size):
        return None
    exponent = math.floor(math.log10(abs(size)))
    lead = abs(size) / 10**exponent
    return max(0, min(6, -exponent + (1 if lead < 2.5 else 0)))


def number(value: float, decimals: int | None = None) -> str:
    """A number as prose shows it: to `decimals` places (else three significant digits), with
    thousands separated and the minus sign."""
    if not math.isfinite(value):
        return "none"
    if decimals is None:
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    else:
        text = f"{value:,.{decimals}f}"
    return minus(text.lstrip("-") if float(text.replace(",", "")) == 0 else text)  # no −0.00


def words(name: str, labels: dict[str, str]) -> str:
    """A metric's or parameter's name in the author's words, else with spaces for underscores."""
    return labels.get(name) or name.replace("_", " ")


def point_words(point: dict[str, Any], keys: list[str], labels: dict[str, str]) -> str:
    return ", ".join(f"{words(k, labels)} {_value(point[k])}" for k in keys if k in point)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return minus(str(value)) if isinstance(value, int | float) else str(value)


def _own(measure: Comparison | Trend) -> PartLabel:
    label = measure.label
    return PartLabel(metric=label) if isinstance(label, str) else label or PartLabel()


def part_name(measure: Comparison | Trend | None, e: Evidence, labels: dict[str, str]) -> str:
    """A part in words: `epochs to a loss of 0.4: lr 0.005 vs lr 0.02, at batch size 64`; a
    trend `loss variance over learning rate, at batch size 64`."""
    if measure is None:
        return e.description
    own = _own(measure)
    metric = own.metric or words(measure.metric, labels)
    if isinstance(measure, Trend):
        fixed = point_words(measure.at, list(measure.at), labels)
        return f"{metric} over {words(measure.param, labels)}" + (f", at {fixed}" if fixed else "")
    if measure.spread:
        metric = f"spread across seeds of {metric}"
    if measure.adjust:
        metric += f", adjusted for {words(measure.adjust, labels)}"
    moved = [k for k in measure.at if measure.at.get(k) != measure.than.get(k)]
    moved += [k for k in measure.than if k not in measure.at]
    shared = [k for k in measure.at if k not in moved]
    at = own.at or point_words(measure.at, moved, labels)
    than = own.than or point_words(measure.than, moved, labels)
    context = point_words(measure.at, shared, labels)  # what both points share: never labelled
    return f"{metric}: {at} vs {than}" + (f", at {context}" if context else "")


@dataclass(frozen=True)
class PartView:
    """One part as a reader sees it, and what its forest-plot row draws (on its own scale)."""

    index: int  # 0-based, in the order of claims.yml
    name: str
    short: str  # the metric in words, for the plot's rows
    estimate: str  # "Δ 0.30 [0.19, 0.41]", "slope 0.52 [0.31, 0.73] per doubling of lr", ranks
    details: str  # "margin ±0.01, expected > 0, n = 15"
    brief: str  # the estimate for the plot: "Δ 0.30 [0.19, 0.41]", "later on 9, earlier on 1 of 10"
    verdict: VerdictKind  # its own
    at_claim: VerdictKind  # as the claim counts it (a Holm level within the claim)
    note: str  # why the two differ, where they do
    below: bool  # holding, it may be smaller than its margin
    counted: bool
    deciding: bool
    kind: str  # "interval", "exact", "ranks" (censored: orders, no size) or "none" (no interval)
    mean: float | None
    interval: tuple[float, float] | None
    margin: float
    expected: str  # "negative" or "positive"

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class ClaimView:
    claim_id: str
    lab: str
    sentence: str
    verdict: VerdictKind
    parts: list[PartView]
    seeds: str  # "15", or "7 to 15" where the parts differ; "" with no parts

    @property
    def deciding(self) -> PartView | None:
        return next((p for p in self.parts if p.deciding), None)

    def badge(self, by_name: bool = False) -> str:
        """The verdict in words, naming the parts it rests on by number (or by name)."""
        return badge(self, by_name)


def view(v: Verdict, labels: dict[str, str] | None = None) -> ClaimView:
    """A judged claim as the Claims page, its plot and `check` show it."""
    labels = labels or {}
    measures: list[Any] = [m for _, m in leaves(v.claim.expect)]
    if len(measures) != len(v.evidence):
        measures = [None] * len(v.evidence)
    decider = deciding_part(v)
    notes = v.part_notes() if v.evidence else []
    live = counted(v.evidence)
    levels = dict(zip(map(id, live), claim_level(v.evidence) if live else [], strict=True))
    parts = [
        _part(i, e, m, labels, i == decider, levels.get(id(e), e.verdict), notes[i])
        for i, (e, m) in enumerate(zip(v.evidence, measures, strict=True))
    ]
    ns = sorted({e.n for e in counted(v.evidence)})
    seeds = "" if not ns else str(ns[0]) if len(ns) == 1 else f"{ns[0]} to {ns[-1]}"
    return ClaimView(v.claim_id, v.claim.lab, v.claim.sentence, v.verdict, parts, seeds)


def _part(
    i: int,
    e: Evidence,
    measure: Any,
    labels: dict[str, str],
    deciding: bool,
    at_claim: VerdictKind,
    note: str,
) -> PartView:
    interval = e.interval
    mean = None if isinstance(e, RankedEvidence) or not math.isfinite(e.mean) else e.mean
    if isinstance(e, RankedEvidence):
        kind = "ranks"
    elif e.exact:
        kind = "exact"
    else:
        kind = "interval" if interval is not None else "none"
    return PartView(
        index=i,
        name=part_name(measure, e, labels),
        short=_short_name(measure, e, labels),
        estimate=estimate(e, measure, labels),
        brief=_brief(e, measure, labels),
        details=details(e),
        verdict=e.verdict,
        at_claim=at_claim,
        note=note,
        below=possibly_below_margin(e),
        counted=not e.by_construction,
        deciding=deciding,
        kind=kind,
        mean=mean,
        interval=interval,
        margin=e.margin,
        expected=e.expected,
    )


def _short_name(measure: Any, e: Evidence, labels: dict[str, str]) -> str:
    if measure is None:
        return e.metric or e.description
    return _own(measure).metric or words(measure.metric, labels)


def _brief(e: Evidence, measure: Any, labels: dict[str, str]) -> str:
    if isinstance(e, RankedEvidence):
        return f"later on {e.later}, earlier on {e.earlier} of {e.n}"
    text = estimate(e, measure, labels)
    return text.split("]")[0] + "]" if "[" in text else text.split(",")[0]


def _symbol(e: Evidence, measure: Any, labels: dict[str, str]) -> tuple[str, str]:
    """What the estimate is called, and its unit after the interval."""
    if isinstance(e, SpreadEvidence):
        return "log variance ratio", ""
    if e.per_seed or e.unit:
        param = words(measure.param, labels) if isinstance(measure, Trend) else e.unit.split(" of ")[-1]
        unit = f"per doubling of {param}" if e.unit.startswith("per doubling") else f"per unit of {param}"
        return ("log slope" if getattr(measure, "scale", "") == "log" else "slope"), unit
    return ("log ratio" if getattr(measure, "scale", "") == "log" else "Δ"), ""


def estimate(e: Evidence, measure: Any = None, labels: dict[str, str] | None = None) -> str:
    """The estimate and its interval together, `Δ 0.30 [0.19, 0.41]`; for censored outcomes the
    orders of the pairs and the rank test, never a number of epochs."""
    if isinstance(e, RankedEvidence):
        return ranks_text(e)
    symbol, unit = _symbol(e, measure, labels or {})
    unit = f" {unit}" if unit else ""
    interval = e.interval
    if interval is not None:
        d = places((interval[1] - interval[0]) / 2)
        low, high = (number(x, d) for x in interval)
        return f"{symbol} {number(e.mean, d)} [{low}, {high}]{unit}"
    if not math.isfinite(e.mean):
        return f"{symbol}: none, no values to compare"
    mean = number(0.0 if abs(e.mean) <= e._noise() else e.mean, places(e.margin))
    if e.exact:
        return f"{symbol} {mean}{unit}, exact: the same on every seed"
    if e.n >= 2 and e._no_spread():
        return f"{symbol} {mean}{unit}, the same on every seed: sign test p = {number(e._sign_test())}"
    return f"{symbol} {mean}{unit}, no interval from {e.n} seed{'s' if e.n != 1 else ''}"


def ranks_text(e: RankedEvidence) -> str:
    """`later on 9 of 10 seeds, earlier on 1, tied on 0, 3 runs never reached it, signed-rank
    test p = 0.004`: which of each seed's pair came later, never a number of epochs."""
    test = "signed-rank test on restricted times" if hasattr(e, "budget") else "sign test"
    never = f", {e.censored} run{'s' if e.censored != 1 else ''} never reached it" if e.censored else ""
    return (
        f"later on {e.later} of {e.n} seeds, earlier on {e.earlier}, tied on {e.ties}{never}, "
        f"{test} p = {number(e._nominal())}"
    )


def details(e: Evidence) -> str:
    if isinstance(e, RankedEvidence):
        expected = "expected later" if e.expected == "positive" else "expected earlier"
        parts = [expected, "compared by order, no size"]
    else:
        margin = f"margin ±{number(e.margin)}" if e.margin else "no margin"
        parts = [margin, f"expected {'<' if e.expected == 'negative' else '>'} 0"]
    parts.append(f"n = {e.n}" + (f" of {e.planned}" if e.planned > e.n else ""))
    if e.by_construction:
        parts.append("true by construction: shown, not counted")
    return ", ".join(parts)


def deciding_part(v: Verdict) -> int | None:
    """The index of the part the claim's verdict rests on (the module's docstring)."""
    live = counted(v.evidence)
    if not live:
        return None
    own = judge(v.evidence)  # before Holm over the claims
    shown = claim_level(v.evidence)
    if own == VerdictKind.SUPPORTED:
        chosen = max(live, key=lambda e: e.p_value)
    elif own == VerdictKind.NEGLIGIBLE:
        chosen = max(live, key=lambda e: e.p_equivalence)
    elif own == VerdictKind.CONTRADICTED:
        chosen = min((e for e, s in zip(live, shown, strict=True) if s == own), key=lambda e: e.p_value)
    elif own == VerdictKind.PARTLY:
        chosen = next(e for e, s in zip(live, shown, strict=True) if s != VerdictKind.SUPPORTED)
    else:  # the open part the design adds seeds for: the one nearest to deciding
        open_ = [e for e, s in zip(live, shown, strict=True) if s == VerdictKind.INCONCLUSIVE] or live
        chosen = min(open_, key=lambda e: (e.seeds_needed() or math.inf, e.p_value))
    return next(i for i, e in enumerate(v.evidence) if e is chosen)


def badge(claim: ClaimView, by_name: bool = False) -> str:
    """`supported`, `contradicted by part 2`, `partly supported; not shown: part 2`, and
    `possibly below the margin` where a part holding may be smaller than its margin."""

    def named(parts: list[PartView]) -> str:
        if by_name:
            return "; ".join(p.name for p in parts)
        numbers = [str(p.number) for p in parts]
        listed = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"
        return ("part " if len(numbers) == 1 else "parts ") + listed

    live = [p for p in claim.parts if p.counted]
    many = len(live) > 1
    verdict = claim.verdict
    if verdict == VerdictKind.CONTRADICTED:
        against = [p for p in live if p.at_claim == VerdictKind.CONTRADICTED] or live
        return f"contradicted by {named(against)}" if many else "contradicted"
    if verdict not in (VerdictKind.SUPPORTED, VerdictKind.PARTLY):
        return str(verdict).replace("-", " ")
    holding = [p for p in live if verdict == VerdictKind.SUPPORTED or p.at_claim == VerdictKind.SUPPORTED]
    below = [p for p in holding if p.below]
    text = str(verdict).replace("-", " ")
    if below:
        text += ", possibly below the margin" + (f": {named(below)}" if many else "")
    if verdict == VerdictKind.PARTLY:
        negligible = [p for p in live if p.at_claim == VerdictKind.NEGLIGIBLE]
        unshown = [p for p in live if p.at_claim == VerdictKind.INCONCLUSIVE]
        text += f"; negligible: {named(negligible)}" if negligible else ""
        text += f"; not shown: {named(unshown)}" if unshown else ""
    return text
