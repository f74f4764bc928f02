"""Run-to-run stability: a part with `spread: true` compares how much a metric varies across
seeds at two grid points, not its mean.

Each seed gives one value at each point (x at `at`, y at `than`), and the two are paired: runs of
one seed share its data split and order, so their values are correlated, and two independent
variance estimates (an F test) would be the wrong test. The **Pitman–Morgan test** is the paired
one: with u = x / sqrt(φ0) + y and v = x / sqrt(φ0) − y, cov(u, v) = var(x) / φ0 − var(y), so
"var(x) / var(y) = φ0" is "u and v are uncorrelated", tested by the correlation's t statistic
r_uv sqrt(n − 2) / sqrt(1 − r_uv²) with n − 2 degrees of freedom (exact for normal values;
scipy.stats.pearsonr gives its p-value). Its confidence interval for the ratio of variances
(Gardner's closed form, the set of φ0 the test does not reject) is

    F (K ± sqrt(K² − 1)),   F = s_x² / s_y²,   K = 1 + 2 (1 − r_xy²) t² / (n − 2),

with t the two-sided quantile of t(n − 2) at the look's level. The part is judged on the log of
the ratio, log(var at `at` / var at `than`): negative means steadier at `at`. The margin (a log
ratio: 0.69 is a ratio of 2) must be declared on the part. Each look uses the design's nominal
level of that look calibrated for this test (`Design.level(n, "pitman-morgan")`: a correlation
test's p-values over the looks, n − 2 degrees of freedom); bench/simulate_claims.py checks the
level of the whole rule.
It needs three seeds (one degree of freedom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from labjournal.claims.evidence import DECIDED, SUPPORTED, Evidence, Part, _g
from labjournal.claims.power import POWER, normal_seeds

Alternative = Literal["two-sided", "less", "greater"]


def pitman_morgan(
    x: list[float], y: list[float], ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> float:
    """The p-value of the Pitman–Morgan test of var(x) / var(y) = `ratio` for paired x and y
    (`alternative` "greater": the ratio is larger than `ratio`)."""
    scaled = np.asarray(x, dtype=float) / math.sqrt(ratio)
    y_ = np.asarray(y, dtype=float)
    return float(stats.pearsonr(scaled + y_, scaled - y_, alternative=alternative).pvalue)


def log_ratio(x: list[float], y: list[float]) -> float:
    """log(s_x² / s_y²), the observed log ratio of the variances."""
    return math.log(np.var(x, ddof=1) / np.var(y, ddof=1))


def log_ratio_interval(x: list[float], y: list[float], alpha: float) -> tuple[float, float, float]:
    """log(s_x² / s_y²) and its two-sided (1 − alpha) Pitman–Morgan interval, on the log scale."""
    n = len(x)
    log_f = log_ratio(x, y)
    r = float(np.corrcoef(x, y)[0, 1])
    t = stats.t.isf(alpha / 2, n - 2)
    k = 1 + 2 * (1 - r * r) * t * t / (n - 2)
    half = math.acosh(k)  # log(K + sqrt(K² − 1))
    return log_f, log_f - half, log_f + half


@dataclass
class SpreadEvidence(Evidence):
    """The log ratio of the variances across seeds at two grid points, paired by seed."""

    at_values: list[float] = field(default_factory=list)  # one per seed, the same seeds in order
    than_values: list[float] = field(default_factory=list)
    test = "pitman-morgan"

    def __post_init__(self) -> None:
        self.method = "Pitman–Morgan paired variance test (log variance ratio)"
        self.differences = [a - b for a, b in zip(self.at_values, self.than_values, strict=True)]

    def _valid(self) -> bool:
        """Three seeds or more, spread at both points, and not perfectly correlated."""
        if self.n < 3 or min(np.var(self.at_values), np.var(self.than_values)) <= self._noise() ** 2:
            return False
        return abs(float(np.corrcoef(self.at_values, self.than_values)[0, 1])) < 1 - 1e-12

    def _no_spread(self) -> bool:
        return not self._valid()

    @property
    def mean(self) -> float:
        if not self._valid():
            return math.nan
        return log_ratio(self.at_values, self.than_values)

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self._valid():
            return None
        _, low, high = log_ratio_interval(
            self.at_values, self.than_values, self.design.level(self.n, self.test)
        )
        return low, high

    def _pm_p(self, log_ratio: float, alternative: Alternative) -> float:
        return pitman_morgan(self.at_values, self.than_values, math.exp(log_ratio), alternative)

    @property
    def p_value(self) -> float:
        if not self._valid():
            return 1.0
        return self.design.repeated_p(self._pm_p(0.0, "two-sided"), self.n, self.test)

    @property
    def p_equivalence(self) -> float:
        if not self._valid():
            return 1.0
        worst = max(self._pm_p(-self.margin, "greater"), self._pm_p(self.margin, "less"))
        return self.design.repeated_p(min(1.0, 2 * worst), self.n, self.test)

    @property
    def side(self) -> str | None:
        return super().side if self._valid() else None

    def seeds_needed(
        self, alpha: float | None = None, limit: int = 10_000, power: float = POWER
    ) -> int | None:
        """About how many seeds would decide it with 80 % power at the observed ratio and
        correlation: the log ratio's standard error is about 2 sqrt((1 − r²) / (n − 2))."""
        if self.verdict_at(alpha or self.design.alpha) in DECIDED or not self._valid():
            return None
        design = self.design.at(alpha or self.design.alpha)
        r = float(np.corrcoef(self.at_values, self.than_values)[0, 1])
        unit = 2 * math.sqrt(1 - r * r)  # the log ratio's sd per seed, about
        apart, inside = abs(self.mean) / unit, max(self.margin - abs(self.mean), 0.0) / unit
        level = lambda n: design.level(n + 2, self.test)  # noqa: E731 (n − 2 degrees of freedom)
        needed = normal_seeds(apart, inside, level, self.n - 2, limit, power)
        return None if needed is None else min(needed + 2, limit + 1)

    def interval_text(self) -> str:
        shown_n = f"n = {self.n}" + (f" of {self.planned}" if self.planned > self.n else "")
        interval = self.interval
        if interval is None:
            return f"no interval: fewer than three seeds or no spread at a point, {shown_n}"
        level = 100 * (1 - self.design.alpha)
        kind = "repeated CI" if self.design.sequential else "CI"
        return (
            f"variance ratio {_g(math.exp(self.mean))}, {level:.0f}% {kind} of its log "
            f"[{_g(interval[0])}, {_g(interval[1])}] (Pitman–Morgan, paired by seed), {shown_n}"
        )

    def summary(self) -> str:
        sign = "steadier at the first point" if self.expected == "negative" else "more variable"
        text = (
            f"{self.description}: log variance ratio {_g(self.mean)} ({self.interval_text()}; "
            f"margin ±{_g(self.margin)}; expected {sign})"
        )
        interval = self.interval
        if self.verdict == SUPPORTED and interval and min(abs(interval[0]), abs(interval[1])) < self.margin:
            text += " — possibly smaller than the margin"
        return text + (
            " — true by construction of the design: shown, not counted" if self.by_construction else ""
        )


def spread_evidence(base: Part, at: dict[Any, float], than: dict[Any, float]) -> SpreadEvidence:
    """The spread evidence of two points' per-seed values (the seeds both have)."""
    seeds = sorted(set(at) & set(than), key=str)
    part: Part = {**base, "description": f"variance across seeds of {base['description']}"}
    return SpreadEvidence(
        **part,
        at_values=[at[s] for s in seeds],
        than_values=[than[s] for s in seeds],
        magnitude=max((abs(v) for v in (*at.values(), *than.values())), default=1.0),
    )
