"""The statistics behind a verdict: one comparison of two grid points, or one trend, over seeds.

Four verdicts:
- **supported**: the interval lies on the expected side of zero (and not inside the margin);
- **contradicted**: it lies on the other side;
- **negligible**: it lies inside ±margin, the smallest difference that matters: whatever the
  sign, the effect is too small to support the claim's direction;
- **inconclusive**: none of these (the interval straddles zero and reaches past the margin).

How the interval is made depends on the data:
- paired differences over seeds (folds are averaged within their seed first: folds of one split
  share training data and are not independent replicates; the seed is the unit) get a Student-t
  interval at the design's nominal level (`sequential.Design`: fixed-sample, or Pocock repeated
  intervals when seeds are added until a decision);
- differences that are the same on every seed have no spread to make an interval from: an exact
  sign test decides the direction (it needs six seeds at 5 %), no interval is printed;
- deterministic measures (FLOP and parameter counts, or `exact: true`) that are identical on every
  seed are compared as they are: the difference is known exactly;
- a trend is the slope of a regression blocked by seed (a parameter per seed, one common slope),
  on log2 of the parameter when it is positive and spans a factor of 4 or more;
- `scale: log` compares log-ratios, for measures whose values span orders of magnitude (variances);
- censored values (a threshold never reached, `censored_at`) count at their bound ("at least the
  epochs trained"); a direction is decided only where the true values could only push the
  interval further that way, never towards it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from labjournal.sequential import Design, seeds_to_decide

SUPPORTED, CONTRADICTED, NEGLIGIBLE, INCONCLUSIVE = "supported", "contradicted", "negligible", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, NEGLIGIBLE, INCONCLUSIVE)
NOT_RUN = "not-run"  # the claim's lab has no results yet: nothing to judge
DECIDED = (SUPPORTED, CONTRADICTED, NEGLIGIBLE)
DETERMINISTIC_WORDS = ("flops", "parameters")  # counted, the same on every seed
TOLERANCE = 1e-9  # relative: differences below this are floating-point noise


def default_margin(metric: str, scale: str, reference: float) -> tuple[float, str]:
    """The smallest difference that matters, by the kind of metric (documented in the README)."""
    name = metric.lower()
    if scale == "log":
        return math.log(1.2), "a ratio of 1.2 (log scale)"
    if any(word in name for word in ("accuracy", "recall", "precision", "f1", "gap")):
        return 0.01, "one percentage point"
    if "epochs" in name:
        return 1.0, "one epoch"
    return 0.05 * abs(reference), "5 % of the reference value"


@dataclass
class Evidence:
    """One test: the differences `at - than` over seeds (or a trend's slope) and its verdict."""

    description: str
    expected: Literal["negative", "positive"]
    ref: str
    margin: float
    margin_note: str
    design: Design
    differences: list[float] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # the index rows compared
    points: list[dict[str, Any]] = field(default_factory=list)  # the grid points compared
    planned: int = 0  # pairs the runs could give, missing values included
    censored_low: int = 0  # pairs whose true difference is at least the value used
    censored_high: int = 0  # pairs whose true difference is at most the value used
    exact: bool = False  # a deterministic measure, identical on every seed
    slope: tuple[float, float, int] | None = None  # a trend: (slope, standard error, df)
    unit: str = ""  # "per doubling of lr" for a trend
    familywise_p: float | None = None  # set when the journal controls the family-wise error
    magnitude: float = 1.0  # the size of the compared values: differences below 1e-9 of it are noise

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        if self.slope is not None:
            return self.slope[0]
        return float(np.mean(self.differences)) if self.differences else math.nan

    @property
    def spread(self) -> float:
        """The standard deviation of the differences (for a trend: the slope's standard error ×
        √n, so that `seeds_to_decide` scales it the same way)."""
        if self.slope is not None:
            return self.slope[1] * math.sqrt(max(self.n, 1))
        return float(np.std(self.differences, ddof=1)) if self.n > 1 else math.nan

    def _noise(self) -> float:
        return TOLERANCE * max(self.magnitude, 1e-300)

    def _no_spread(self) -> bool:
        return self.n > 1 and self.spread <= self._noise()

    @property
    def interval(self) -> tuple[float, float] | None:
        """The repeated confidence interval; None where no valid interval exists."""
        if self.exact or self.n < 2:
            return None
        if self.slope is not None:
            value, error, df = self.slope
            if df < 1 or not error > 0:
                return None
            half = self.design.critical(df) * error
            return (value - half, value + half)
        if self._no_spread():
            return None
        half = self.design.critical(self.n - 1) * self.spread / math.sqrt(self.n)
        return (self.mean - half, self.mean + half)

    @property
    def p_value(self) -> float:
        """The two-sided, design-adjusted p-value of 'no difference' (1.0 where none applies)."""
        if self.exact:
            return 0.0 if abs(self.mean) > 0 else 1.0
        if self.n < 2:
            return 1.0
        if self.slope is not None:
            value, error, df = self.slope
            nominal = 2 * stats.t.sf(abs(value) / error, df) if error > 0 and df >= 1 else 1.0
        elif self._no_spread():
            nominal = self._sign_test()
        else:
            t = self.mean / (self.spread / math.sqrt(self.n))
            nominal = 2 * stats.t.sf(abs(t), self.n - 1)
        return self.design.repeated_p(float(nominal))

    def _sign_test(self) -> float:
        signs = [d for d in self.differences if abs(d) > self._noise()]
        if not signs:
            return 1.0
        positive = sum(d > 0 for d in signs)
        return float(stats.binomtest(positive, len(signs), 0.5).pvalue)

    @property
    def side(self) -> str | None:
        """Where the evidence puts the difference: 'negative', 'positive', 'inside' (the margin)
        or None (undecided)."""
        if self.exact:
            if abs(self.mean) < self.margin:
                return "inside"
            return "positive" if self.mean > 0 else "negative"
        interval = self.interval
        if interval is None:
            if self.n >= 2 and self._no_spread() and self._sign_test() <= self.design.nominal_alpha:
                return "positive" if self.mean > 0 else "negative"
            return None
        low, high = interval
        if -self.margin < low and high < self.margin:
            return "inside"
        if low > 0:
            return "positive"
        if high < 0:
            return "negative"
        return None

    @property
    def verdict(self) -> str:
        side = self.side
        if side is None:
            return INCONCLUSIVE
        if self.censored_low or self.censored_high:
            # Censored pairs are used at their bound: the true differences lie further up (low) or
            # down (high). Only a direction those could not undo is decided.
            if side == "inside" or (side == "positive" and self.censored_high):
                return INCONCLUSIVE
            if side == "negative" and self.censored_low:
                return INCONCLUSIVE
        holm_fails = self.familywise_p is not None and self.familywise_p > self.design.alpha
        if holm_fails and side in ("positive", "negative"):
            return INCONCLUSIVE
        if side == "inside":
            return NEGLIGIBLE
        return SUPPORTED if side == self.expected else CONTRADICTED

    def seeds_needed(self) -> int | None:
        """About how many seeds would decide this comparison, at the observed spread."""
        if self.verdict in DECIDED or self.exact or self.n < 2 or self._no_spread():
            return None
        return seeds_to_decide(self.spread, self.mean, self.margin, self.design, self.n)

    def summary(self) -> str:
        interval = self.interval
        shown_n = f"n = {self.n}" + (f" of {self.planned}" if self.planned > self.n else "")
        censored = self.censored_low + self.censored_high
        if censored:
            shown_n += f", {censored} censored at their bound"
        if self.exact:
            how = f"exact: the same on every seed, {shown_n}"
        elif interval is not None:
            level = 100 * (1 - self.design.alpha)
            kind = "repeated CI" if self.design.sequential else "CI"
            how = f"{level:.0f}% {kind} [{_g(interval[0])}, {_g(interval[1])}], {shown_n}"
        elif self.n >= 2 and self._no_spread() and abs(self.mean) <= self._noise():
            how = f"no interval: tied on every seed, {shown_n}"
        elif self.n >= 2 and self._no_spread():
            how = f"no interval: the same difference on every seed, sign test p = {_g(self._sign_test())}, {shown_n}"
        else:
            how = f"no interval, {shown_n}"
        sign = "< 0" if self.expected == "negative" else "> 0"
        unit = f" {self.unit}" if self.unit else ""
        mean = 0.0 if abs(self.mean) <= self._noise() else self.mean
        text = f"{self.description}: Δ = {_g(mean)}{unit} ({how}; margin ±{_g(self.margin)}; expected {sign})"
        if self.familywise_p is not None:
            text += f" [Holm-adjusted p = {_g(self.familywise_p)}]"
        return text


def _g(value: float) -> str:
    return f"{value:.3g}"


def combine(verdicts: list[str]) -> str:
    """A conjunction (`all`) of parts: contradicted if any part is; else negligible if any part's
    effect is too small to matter; else supported if every part is; else inconclusive. An
    empty conjunction is refused when the claims file is loaded."""
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if NEGLIGIBLE in verdicts:
        return NEGLIGIBLE
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return INCONCLUSIVE


def blocked_slope(points: list[tuple[Any, float, float]]) -> tuple[float, float, int]:
    """Least-squares slope of value on x with one intercept per block (seed):
    `points` are (block, x, value). Returns (slope, standard error, residual df)."""
    blocks: dict[Any, list[tuple[float, float]]] = {}
    for block, x, value in points:
        blocks.setdefault(block, []).append((x, value))
    xs, ys = [], []
    for members in blocks.values():
        if len(members) < 2:
            continue  # a seed with one value says nothing about the slope
        mx = sum(x for x, _ in members) / len(members)
        my = sum(y for _, y in members) / len(members)
        xs += [x - mx for x, _ in members]
        ys += [y - my for _, y in members]
    used_blocks = sum(len(m) >= 2 for m in blocks.values())
    sxx = float(np.dot(xs, xs))
    if not sxx > 0:
        return (math.nan, math.nan, 0)
    slope = float(np.dot(xs, ys)) / sxx
    df = len(xs) - used_blocks - 1
    residual = np.asarray(ys) - slope * np.asarray(xs)
    error = math.sqrt(float(residual @ residual) / df / sxx) if df >= 1 else math.nan
    return (slope, error, df)
