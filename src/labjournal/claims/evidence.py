"""The statistics behind a verdict on one part of a claim: a comparison of two grid points, or a
trend, over seeds. The seed is the unit: everything is reduced to one number per seed first.

Four verdicts per part:
- **supported**: the interval lies on the expected side of zero (when it also reaches inside the
  margin, the summary says the effect is possibly smaller than the margin);
- **contradicted**: it lies on the other side;
- **negligible**: it lies inside ±margin, the smallest difference that matters (two one-sided
  tests): whatever the sign, the effect is too small to support the claim's direction;
- **inconclusive**: none of these.

How each part is judged depends on what it measures, fixed in claims.yml before the data:
- paired differences over seeds (folds averaged within their seed first) get a Student-t
  interval at the nominal level of the design's look with that many seeds (`sequential.Design`:
  fixed-sample, or O'Brien–Fleming-shaped repeated intervals when seeds are added until a
  decision; every test reads the level of its look, `Design.level(n, test)`);
- differences that are the same on every seed have no spread to make an interval from: an exact
  sign test decides the direction (it needs six seeds at 5 %);
- deterministic measures (FLOP and parameter counts, or `exact: true`) identical on every seed
  are compared as they are;
- a trend is judged on one slope per seed (least squares of the metric on the parameter, on log2
  of it when positive and spanning a factor of 4 or more), with the seeds that ran every point:
  the mean of the per-seed slopes gets the same paired interval as a difference;
- `scale: log` compares log-ratios, for measures whose values span orders of magnitude;
- a censored outcome (`censored_at`: "never reached within the epochs trained") is never a
  number: the signed-rank test on restricted times, `labjournal.claims.ranks`;
- `spread: true` compares the variance across seeds (Pitman–Morgan, `labjournal.claims.spread`),
  `adjust: METRIC` the differences adjusted for a declared covariate (`labjournal.claims.adjust`);
- the seeds an open part would need are those at 80 % power (`labjournal.claims.power`).

A part `by_construction: true` is one the design makes true (more FLOPs for more data): it is
shown, never counted. How parts make a claim's verdict is `labjournal.claims.verdicts`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np
from scipy import stats

from labjournal.claims.power import POWER, t_seeds
from labjournal.claims.sequential import Design
from labjournal.records import IndexRow, VerdictKind

SUPPORTED, CONTRADICTED = VerdictKind.SUPPORTED, VerdictKind.CONTRADICTED
NEGLIGIBLE, INCONCLUSIVE = VerdictKind.NEGLIGIBLE, VerdictKind.INCONCLUSIVE
PARTLY = VerdictKind.PARTLY  # a claim whose parts disagree (see labjournal.claims.verdicts)
VERDICTS = (SUPPORTED, CONTRADICTED, NEGLIGIBLE, INCONCLUSIVE)
NOT_RUN = VerdictKind.NOT_RUN  # the claim's lab has no results yet: nothing to judge
DECIDED = (SUPPORTED, CONTRADICTED, NEGLIGIBLE, PARTLY)
DETERMINISTIC_WORDS = ("flops", "parameters")  # counted, the same on every seed
TOLERANCE = 1e-9  # relative: differences below this are floating-point noise

Expected = Literal["negative", "positive"]  # the sign of the difference (or slope) a part expects


class _PartRequired(TypedDict):
    description: str
    expected: Expected
    ref: str
    margin: float
    margin_note: str
    design: Design


class Part(_PartRequired, total=False):
    """What every kind of evidence of one part shares (labjournal.claims.parts builds it; the
    spread, adjusted and ranked evidence add their own fields to it)."""

    runs: list[IndexRow]
    points: list[dict[str, Any]]
    planned: int
    by_construction: bool
    metric: str


@dataclass
class Evidence:
    """One part: the per-seed values `at - than` (or per-seed slopes) and its verdict."""

    description: str
    expected: Expected
    ref: str
    margin: float
    margin_note: str
    design: Design
    differences: list[float] = field(default_factory=list)  # one per seed: a difference or a slope
    runs: list[IndexRow] = field(default_factory=list)  # the index rows compared
    points: list[dict[str, Any]] = field(default_factory=list)  # the grid points compared
    planned: int = 0  # seeds the runs could give, missing values included
    exact: bool = False  # a deterministic measure, identical on every seed
    by_construction: bool = False  # the design fixes the outcome: shown, not counted
    unit: str = ""  # "per doubling of lr" for a trend
    per_seed: dict[Any, float] = field(default_factory=dict)  # a trend's slope of each seed
    magnitude: float = 1.0  # the size of the compared values: differences below 1e-9 of it are noise
    method: str = "paired t"
    metric: str = ""
    test = "t"  # whose calibration of the design's levels this part's test uses (sequential.TESTS)

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences)) if self.differences else math.nan

    @property
    def spread(self) -> float:
        """The standard deviation of the per-seed values."""
        return float(np.std(self.differences, ddof=1)) if self.n > 1 else math.nan

    def _noise(self) -> float:
        return TOLERANCE * max(self.magnitude, 1e-300)

    def _no_spread(self) -> bool:
        return self.n > 1 and self.spread <= self._noise()

    @property
    def interval(self) -> tuple[float, float] | None:
        """The repeated confidence interval; None where no valid interval exists."""
        if self.exact or self.n < 2 or self._no_spread():
            return None
        half = self.design.critical(self.n, self.n - 1) * self.spread / math.sqrt(self.n)
        return (self.mean - half, self.mean + half)

    def _t_p(self, shift: float = 0.0, side: str = "two") -> float:
        """The nominal t-test p-value of the per-seed mean against `shift`."""
        t = (self.mean - shift) / (self.spread / math.sqrt(self.n))
        if side == "two":
            return float(2 * stats.t.sf(abs(t), self.n - 1))
        return float(stats.t.sf(t, self.n - 1) if side == "greater" else stats.t.cdf(t, self.n - 1))

    @property
    def p_value(self) -> float:
        """The two-sided, design-adjusted p-value of 'no difference' (1.0 where none applies)."""
        if self.exact:
            return 0.0 if abs(self.mean) > 0 else 1.0
        if self.n < 2:
            return 1.0
        nominal = self._sign_test() if self._no_spread() else self._t_p()
        return self.design.repeated_p(nominal, self.n, self.test)

    @property
    def p_equivalence(self) -> float:
        """The design-adjusted p-value of 'the difference is at least the margin' (two one-sided
        tests): below alpha exactly when the repeated interval lies inside ±margin."""
        if self.exact:
            return 0.0 if abs(self.mean) < self.margin else 1.0
        if self.n < 2 or self._no_spread():
            return 1.0
        worst = max(self._t_p(-self.margin, "greater"), self._t_p(self.margin, "less"))
        return self.design.repeated_p(min(1.0, 2 * worst), self.n, self.test)

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
            if self.n >= 2 and self._no_spread() and self._sign_test() <= self.design.level(self.n):
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
    def verdict(self) -> VerdictKind:
        side = self.side
        if side is None:
            return INCONCLUSIVE
        if side == "inside":
            return NEGLIGIBLE
        return SUPPORTED if side == self.expected else CONTRADICTED

    def verdict_at(self, alpha: float) -> VerdictKind:
        """The verdict with the design spending `alpha` instead (a stricter level for one part of
        several: see labjournal.claims.verdicts)."""
        if alpha == self.design.alpha:
            return self.verdict
        return dataclasses.replace(self, design=self.design.at(alpha)).verdict

    def seeds_needed(
        self, alpha: float | None = None, limit: int = 10_000, power: float = POWER
    ) -> int | None:
        """About how many seeds would decide this part with 80 % power (`power`) at the observed
        spread and difference (at `alpha`, e.g. a Holm level, where given; labjournal.claims.power);
        `limit + 1` for "more than `limit`"."""
        if (
            self.verdict_at(alpha or self.design.alpha) in DECIDED
            or self.exact
            or self.n < 2
            or self._no_spread()
        ):
            return None
        design = self.design.at(alpha) if alpha else self.design
        return t_seeds(self.spread, self.mean, self.margin, design.level, self.n, limit, power)

    def interval_text(self) -> str:
        shown_n = f"n = {self.n}" + (f" of {self.planned}" if self.planned > self.n else "")
        interval = self.interval
        if self.exact:
            return f"exact: the same on every seed, {shown_n}"
        if interval is not None:
            level = 100 * (1 - self.design.alpha)
            kind = "repeated CI" if self.design.sequential else "CI"
            return f"{level:.0f}% {kind} [{_g(interval[0])}, {_g(interval[1])}], {shown_n}"
        if self.n >= 2 and self._no_spread() and abs(self.mean) <= self._noise():
            return f"no interval: tied on every seed, {shown_n}"
        if self.n >= 2 and self._no_spread():
            return f"no interval: the same on every seed, sign test p = {_g(self._sign_test())}, {shown_n}"
        return f"no interval, {shown_n}"

    def summary(self) -> str:
        sign = "< 0" if self.expected == "negative" else "> 0"
        unit = f" {self.unit}" if self.unit else ""
        mean = 0.0 if abs(self.mean) <= self._noise() else self.mean
        how = self.interval_text()
        text = f"{self.description}: Δ = {_g(mean)}{unit} ({how}; margin ±{_g(self.margin)}; expected {sign})"
        interval = self.interval
        if (
            self.verdict == SUPPORTED
            and interval is not None
            and min(abs(interval[0]), abs(interval[1])) < self.margin
        ):
            text += " — possibly smaller than the margin"
        if self.by_construction:
            text += " — true by construction of the design: shown, not counted"
        return text


def _g(value: float) -> str:
    return f"{value:.3g}"


def seed_slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of value on x, for one seed's (x, value) points."""
    xs = np.array([x for x, _ in points], dtype=float)
    ys = np.array([y for _, y in points], dtype=float)
    dx = xs - xs.mean()
    return float(dx @ (ys - ys.mean()) / (dx @ dx))
