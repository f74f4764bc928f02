"""Censored outcomes judged as what they are: "not reached within the epochs trained" is an
outcome, not a number, and never stands in for one.

Every run of a comparison stops at the same budget E (the `censored_at` parameter, or number),
so the restricted time R = min(T, E + 1) is fully observed: a run that reached the target at
epoch T scores T, a run that never did scores E + 1, one past every epoch trained (a fixed score
for "never", declared before the data, not an estimate of when it would have). Each seed's pair
is compared by the difference of its restricted times with the **Wilcoxon signed-rank test**:
pairs tied (both never, or the same epoch) are dropped, tied magnitudes share their midrank,
and the p-value is exact, from the permutation distribution (each pair's sign flipped with
probability 1/2 under no difference; `signed_rank_p`). It is valid for any n, ties included,
and uses how much later, not only which run was later, so it decides from fewer seeds than the
sign test on orders. Each look is decided at the design's nominal level for that look calibrated
for this test (`Design.level(n, "signed-rank")` of `labjournal.claims.sequential`: the exact test's
own p-values over the looks, not the t's), so its error rate stays within the design's alpha when
seeds are added (bench/simulate_claims.py and tests/test_censored.py simulate the whole rule:
level and power at 0/30/60 % censoring, ties included). No difference in epochs is printed, and equivalence
("negligible") is not shown from restricted times, so such a part is never negligible.

`RankedEvidence` is the earlier rule, the exact sign test on the orders of the pairs; a
comparison whose budget is unknown still gets it (`ranked` without `budget`), and the simulation
compares the two.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from labjournal.claims.evidence import DECIDED, Evidence, Part, _g
from labjournal.claims.power import POWER, normal_seeds
from labjournal.errors import ResultLookupError
from labjournal.records import IndexRow


def order(a: float | None, b: float | None) -> int:
    """+1 when `a` comes later than `b` (larger, or never reached while `b` was), -1 when earlier,
    0 when tied (equal, or neither reached). None is "never reached"."""
    if a is None and b is None:
        return 0
    if a is None:
        return 1
    if b is None:
        return -1
    return (a > b) - (a < b)


@dataclass
class RankedEvidence(Evidence):
    """A comparison of censored outcomes by the order of each seed's pair (the sign test)."""

    orders: list[int] = field(default_factory=list)  # +1, -1 or 0 per seed: `at` after `than`
    censored: int = 0  # runs that never reached the target
    both_censored: int = 0  # pairs tied because neither run reached it

    def __post_init__(self) -> None:
        self.method = "sign test on orders (censored)"
        self.differences = [float(o) for o in self.orders]  # n counts every pair, ties included

    @property
    def later(self) -> int:
        return sum(o > 0 for o in self.orders)

    @property
    def earlier(self) -> int:
        return sum(o < 0 for o in self.orders)

    @property
    def ties(self) -> int:
        return sum(o == 0 for o in self.orders)

    def _test(self) -> tuple[float, float]:
        """The nominal two-sided p-value and the standardised statistic (positive: later)."""
        untied = self.later + self.earlier
        if not untied:
            return 1.0, 0.0
        p = float(stats.binomtest(self.later, untied, 0.5).pvalue)
        return p, (self.later - self.earlier) / math.sqrt(untied)

    def _nominal(self) -> float:
        return self._test()[0]

    @property
    def interval(self) -> tuple[float, float] | None:
        return None

    @property
    def p_value(self) -> float:
        return self.design.repeated_p(self._nominal(), self.n, self.test)

    @property
    def p_equivalence(self) -> float:
        return 1.0

    @property
    def side(self) -> str | None:
        p, z = self._test()
        if z == 0 or p > self.design.level(self.n, self.test):
            return None
        return "positive" if z > 0 else "negative"

    def seeds_needed(self, alpha: float | None = None, limit: int = 1000, power: float = POWER) -> int | None:
        """About how many seeds would decide it with 80 % power (`power`) if the pairs went on as
        seen: the statistic standardised per seed as the effect (labjournal.claims.power), and
        never fewer than the exact test can decide with at the share of untied pairs seen."""
        z = self._test()[1]
        if self.verdict_at(alpha or self.design.alpha) in DECIDED or z == 0:
            return None
        design = self.design.at(alpha or self.design.alpha)
        last = design.level(limit, self.test)  # the most lenient look's
        fewest_untied = math.ceil(1 + math.log2(1 / last))  # all one way: p = 2 / 2^m
        least = math.ceil(fewest_untied * self.n / (self.later + self.earlier))
        level = functools.partial(design.level, test=self.test)
        return normal_seeds(z / math.sqrt(self.n), 0.0, level, self.n, limit, power, least)

    def _test_text(self) -> str:
        return f"sign test p = {_g(self._nominal())}"

    def interval_text(self) -> str:
        shown_n = f"n = {self.n}" + (f" of {self.planned}" if self.planned > self.n else "")
        return (
            f"later on {self.later}, earlier on {self.earlier}, tied on {self.ties} of the seeds "
            f"({self.both_censored} with neither reaching it; {self.censored} runs never reached it); "
            f"{self._test_text()}, {shown_n}"
        )

    def summary(self) -> str:
        sign = "later" if self.expected == "positive" else "earlier"
        text = f"{self.description}: {self.interval_text()}; expected {sign}, compared by order"
        if self.by_construction:
            text += " — true by construction of the design: shown, not counted"
        return text


@dataclass
class RestrictedEvidence(RankedEvidence):
    """A comparison of censored outcomes by the signed-rank test on the restricted times
    min(T, E + 1) of each seed's pair (the module's docstring)."""

    budget: float = math.inf  # E, the epochs every run was given; "never" scores E + 1
    restricted: list[tuple[float, float]] = field(default_factory=list)  # (at, than) per seed
    test = "signed-rank"

    def __post_init__(self) -> None:
        self.method = "signed-rank test on restricted times (censored)"
        self.differences = [a - b for a, b in self.restricted]

    def _test(self) -> tuple[float, float]:
        return signed_rank(tuple(self.differences))

    def _test_text(self) -> str:
        return f"signed-rank test on min(T, {_g(self.budget)} + 1) p = {_g(self._nominal())}"


@functools.lru_cache(maxsize=65_536)
def signed_rank(differences: tuple[float, ...]) -> tuple[float, float]:
    """The exact two-sided p-value of the Wilcoxon signed-rank test of `differences` and its
    standardised statistic sum(rank * sign) / sqrt(sum(rank^2)) (positive: the differences lean
    positive). Zeros are dropped and tied magnitudes share their midrank; the null distribution
    is the permutation one, every sign flipped with probability 1/2 (what
    scipy.stats.permutation_test computes by enumeration, here by convolution of the ranks)."""
    d = np.array([x for x in differences if x != 0.0])
    if d.size == 0:
        return 1.0, 0.0
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)  # midranks doubled: integers
    chance = np.zeros(int(doubled.sum()) + 1)  # the law of twice the positive rank sum
    chance[0] = 1.0
    for rank in doubled:
        shifted = np.zeros_like(chance)
        shifted[rank:] = chance[:-rank]
        chance = 0.5 * (chance + shifted)
    observed = int(doubled[d > 0].sum())
    tail = min(chance[: observed + 1].sum(), chance[observed:].sum())
    z = float((doubled * np.sign(d)).sum() / np.sqrt((doubled**2).sum()))
    return float(min(1.0, 2 * tail)), z


def restricted_time(value: float | None, budget: float) -> float:
    """min(T, E + 1): the epoch reached, or E + 1 for "never reached within E"."""
    return budget + 1 if value is None else min(float(value), budget + 1)


def budget_of(censored_at: str | float, rows: list[IndexRow]) -> float:
    """E, the budget every compared run was given: the number declared, or the smallest value of
    the parameter it names over the runs (a run given fewer epochs bounds the comparison)."""
    if not isinstance(censored_at, str):
        return float(censored_at)
    found = [row.params.get(censored_at) for row in rows]
    numbers = [float(v) for v in found if isinstance(v, int | float) and not isinstance(v, bool)]
    if not found or len(numbers) < len(found):
        raise ResultLookupError(
            f"censored_at: '{censored_at}' must name a numeric parameter of every compared run "
            f"(the budget E each run had), got {sorted({repr(v) for v in found})}"
        )
    return min(numbers)


def ranked(
    base: Part,
    first: dict[Any, float | None],
    second: dict[Any, float | None],
    budget: float | None = None,
) -> RankedEvidence:
    """The evidence of two points' per-seed censored outcomes (None: never reached): the
    signed-rank test on restricted times where the budget E is known, the sign test on orders
    where it is not."""
    seeds = sorted(set(first) & set(second), key=str)
    if budget is not None:  # a run reaching it only after E counts as never, as the others do
        first = {s: (None if v is not None and v > budget else v) for s, v in first.items()}
        second = {s: (None if v is not None and v > budget else v) for s, v in second.items()}
    orders = [order(first[s], second[s]) for s in seeds]
    censored = sum(first[s] is None for s in seeds) + sum(second[s] is None for s in seeds)
    both = sum(first[s] is None and second[s] is None for s in seeds)
    if budget is None:
        return RankedEvidence(**base, orders=orders, censored=censored, both_censored=both)
    pairs = [(restricted_time(first[s], budget), restricted_time(second[s], budget)) for s in seeds]
    return RestrictedEvidence(
        **base, orders=orders, censored=censored, both_censored=both, budget=budget, restricted=pairs
    )
