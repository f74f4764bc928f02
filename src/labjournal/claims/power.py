"""About how many seeds would decide an open part: the seeds at which the part's test has 80 %
power, taking the observed spread and the observed difference as the truth.

A part can be decided two ways: its interval excludes zero (supported or contradicted), or it
falls inside ±margin, the declared smallest difference that matters (negligible). With an
observed difference Δ and standard deviation sd, the first needs power against an effect of
|Δ|, the two-sided test at the level the look with that many seeds uses (`Design.level`: under
an O'Brien–Fleming-shaped boundary, stricter at small n); the second needs the one-sided test
against the nearer margin, at distance margin − |Δ|, at half that level (two one-sided tests).
The figure shown is the smaller of the two: the seeds that would give the verdict the data lean
to an 80 % chance at that look alone (the looks before it only add chances to decide, so this
errs on the side of more seeds). Past the cap, the last look's level.

For a paired t (differences, slopes, adjusted differences) the power is the noncentral-t power
of `statsmodels.stats.power.TTestPower`; for the rank and variance tests, whose statistics are
about normal with a standard error that shrinks as 1/sqrt(n), it is the normal approximation of
the same two-sided or one-sided test.

`power=0.5` gives the median figure: the seeds at which the observed difference would just be
decided (what futility stopping asks: labjournal.pipeline.decide).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

from scipy import stats
from statsmodels.stats.power import TTestPower

POWER = 0.8  # the power "would need about N seeds" is stated at
Level = Callable[[int], float] | float  # the two-sided nominal level of the look with n seeds


def _at(level: Level, n: int) -> float:
    return float(level(n)) if callable(level) else float(level)


def _t_power(effect: float, n: int, alpha: float, alternative: str) -> float:
    power = float(TTestPower().power(effect_size=effect, nobs=n, alpha=alpha, alternative=alternative))
    return 1.0 if math.isnan(power) else power  # scipy's noncentral t fails far out in the tail


def _smallest_n(
    effect: float, level: Callable[[int], float], alternative: str, power: float, have: int, limit: int
) -> int:
    """The smallest n from `have` (at least 2) up to `limit` at which the one-sample t test of a
    standardised `effect` at the level `level(n)` reaches `power` (bisection: power grows with
    n, and the level does not shrink with n); `limit + 1` if none. The search starts below twice
    the normal approximation's n at the last level, which the t's n does not reach (and where
    scipy's noncentral t is accurate)."""
    if not effect > 0:
        return limit + 1

    def reaches(n: int) -> bool:
        return _t_power(effect, n, level(n), alternative) >= power

    alpha = level(limit)
    one_sided = alpha if alternative == "larger" else alpha / 2
    normal = ((stats.norm.isf(one_sided) + stats.norm.ppf(power)) / effect) ** 2
    low = max(have, 2)
    if low > limit:
        return limit + 1
    high = max(low, min(limit, math.ceil(2 * normal) + 10))
    if not reaches(high):
        high = limit
        if not reaches(limit):
            return limit + 1
    if reaches(low):
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def t_seeds(
    sd: float,
    mean: float,
    margin: float,
    level: Level,
    have: int,
    limit: int = 10_000,
    power: float = POWER,
) -> int | None:
    """Seeds at which a paired t on differences with this sd decides at `power` (the module's
    docstring), `level` the nominal level (of the look with n seeds, where a function);
    `limit + 1` for "more than `limit`", None where the sd gives no estimate."""
    if not sd > 0 or not math.isfinite(sd):
        return None
    apart = _smallest_n(abs(mean) / sd, lambda n: _at(level, n), "two-sided", power, have, limit)
    inside = _smallest_n((margin - abs(mean)) / sd, lambda n: _at(level, n) / 2, "larger", power, have, limit)
    return min(apart, inside)


def normal_seeds(
    per_seed_effect: float,
    inside_effect: float,
    level: Level,
    have: int,
    limit: int = 10_000,
    power: float = POWER,
    least: int = 2,
) -> int | None:
    """Seeds for a test whose statistic is about normal with mean `effect * sqrt(n)`: apart from
    zero with the standardised `per_seed_effect` (two-sided), or inside the margin with
    `inside_effect` (one-sided at half the level; 0 where equivalence cannot be shown), at the
    level of the look with n seeds where `level` is a function. Never below `least`, the fewest
    seeds the test can decide with at all."""
    effects = [e for e in (abs(per_seed_effect), inside_effect) if e > 0 and math.isfinite(e)]
    if not effects:
        return None
    normal = NormalDist()
    beyond = normal.inv_cdf(power)

    def enough(n: int) -> bool:  # monotone in n: the level does not shrink as n grows
        critical = normal.inv_cdf(1 - _at(level, n) / 2)  # two-sided, or one-sided at half
        return any(n >= ((critical + beyond) / e) ** 2 for e in effects)

    low = max(have, least, 1)
    if low > limit or not enough(limit):
        return limit + 1
    if enough(low):
        return low
    high = limit  # bisection: enough(high) and not enough(low)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high
