"""Censored outcomes judged as what they are: "not reached within the epochs trained" is an
outcome, not a number, and never stands in for one.

A comparison that declares `censored_at` compares each seed's pair of runs by their order only:
a run that got there ranks by the epoch it got there; a run that never did ranks after every run
that did; two runs that never did are tied. Ties (both censored, or the same epoch) are counted
and shown, never dropped in silence. The test is the exact two-sided sign test on the untied
pairs (binomial, p = 1/2 under no difference), decided at the design's nominal level at every
look, so its error rate stays within the design's alpha when seeds are added (the simulation in
tests/test_claims_simulation.py checks it). No difference in epochs is printed: with censoring
it would be a difference of imputed values. Equivalence ("negligible") cannot be shown from
orders, so a ranked part is never negligible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from labjournal.claims.evidence import DECIDED, Evidence, _g
from labjournal.plan.sequential import Design


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
    """A comparison of censored outcomes by the order of each seed's pair."""

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

    def _nominal(self) -> float:
        untied = self.later + self.earlier
        return float(stats.binomtest(self.later, untied, 0.5).pvalue) if untied else 1.0

    @property
    def interval(self) -> tuple[float, float] | None:
        return None

    @property
    def p_value(self) -> float:
        return self.design.repeated_p(self._nominal())

    @property
    def p_equivalence(self) -> float:
        return 1.0

    @property
    def side(self) -> str | None:
        if self.later == self.earlier or self._nominal() > self.design.nominal_alpha:
            return None
        return "positive" if self.later > self.earlier else "negative"

    def seeds_needed(self, alpha: float | None = None, limit: int = 1000) -> int | None:
        """About how many seeds would decide it if the share of untied pairs going each way and
        the share of ties stayed as seen."""
        if self.verdict_at(alpha or self.design.alpha) in DECIDED or self.later == self.earlier:
            return None
        nominal = Design(self.design.looks, alpha or self.design.alpha).nominal_alpha
        n = np.arange(max(self.n, 2), limit + 1)
        untied = np.maximum(1, np.rint(n * (self.later + self.earlier) / self.n)).astype(int)
        majority = np.floor(untied * max(self.later, self.earlier) / (self.later + self.earlier))
        p = np.minimum(1.0, 2 * stats.binom.sf(majority - 1, untied, 0.5))  # the exact two-sided p
        found = np.flatnonzero(p <= nominal)
        return int(n[found[0]]) if found.size else limit + 1

    def interval_text(self) -> str:
        shown_n = f"n = {self.n}" + (f" of {self.planned}" if self.planned > self.n else "")
        return (
            f"later on {self.later}, earlier on {self.earlier}, tied on {self.ties} of the seeds "
            f"({self.both_censored} with neither reaching it; {self.censored} runs never reached it); "
            f"sign test p = {_g(self._nominal())}, {shown_n}"
        )

    def summary(self) -> str:
        sign = "later" if self.expected == "positive" else "earlier"
        text = f"{self.description}: {self.interval_text()}; expected {sign}, compared by order"
        if self.by_construction:
            text += " — true by construction of the design: shown, not counted"
        return text


def ranked(
    base: dict[str, Any], first: dict[Any, float | None], second: dict[Any, float | None]
) -> RankedEvidence:
    """The ranked evidence of two points' per-seed outcomes (None: never reached)."""
    seeds = sorted(set(first) & set(second), key=str)
    orders = [order(first[s], second[s]) for s in seeds]
    censored = sum(first[s] is None for s in seeds) + sum(second[s] is None for s in seeds)
    both = sum(first[s] is None and second[s] is None for s in seeds)
    return RankedEvidence(**base, orders=orders, censored=censored, both_censored=both)
