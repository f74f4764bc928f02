"""Error rates that survive adding seeds until a decision: a group-sequential design.

A comparison may be looked at after `looks[0]` seeds, again after each batch of seeds the claim
asks for, up to `looks[-1]` (the cap). Re-testing a fixed-sample 95 % interval at every look would
decide far more often than 5 % of the time when there is no difference (optional stopping).
Instead, look k uses a stricter nominal level `level(n_k)`, from a boundary fixed before the data:

- **O'Brien–Fleming-shaped** (the default, `boundary: obrien-fleming`): on the normal scale the
  critical value at look k is C sqrt(N / n_k), N the cap: very strict early, where a handful of
  seeds decide little anyway, and close to the fixed-sample level at the cap;
- **Pocock** (`boundary: pocock`, the earlier default): one constant level at every look.

C is chosen so that the chance that *any* look's interval misses the true difference is `alpha`:

    P(some look k has z(p_k) sqrt(n_k / N) > C) = alpha   under any true mean

where p_k is the look's nominal two-sided p-value (of the paired t on the first n_k differences)
and z(p) = Φ⁻¹(1 − p / 2). The intervals are *repeated confidence intervals* (Jennison & Turnbull
1989): they cover the true mean simultaneously at every look with probability 1 − alpha, so every
decision drawn from them (supported, contradicted, negligible) keeps its error rate whatever
rule decides when to stop, futility included.

C is found by simulation: the t statistic of normal data is pivotal (its law does not depend on
the mean or the spread), so the sequence of nominal p-values over the looks has one law for
every comparison with these looks. It is simulated once per design, with a fixed random seed, so
two builds give the same verdicts. Tests whose sequence of p-values has another law get their
own calibration, from the same seeded draws (`TESTS`): the exact signed-rank test of censored
outcomes (its discrete p-values under no difference with no ties: C then lies strictly above
the atom that would exceed alpha) and the Pitman–Morgan variance test (a correlation test with
n − 2 degrees of freedom). A design of one look is the plain fixed-sample level.
`tests/test_sequential.py` checks the false-decision rate of the whole procedure by Monte Carlo
and pins the levels of the default design (numpy's PCG64 stream from a fixed seed: the same
numbers on any machine); bench/simulate_claims.py simulates every test's whole rule.

The default design, looks at 3, 5, ..., 15 seeds: nominal levels 0.0000025, 0.00026, 0.0021,
0.0066, 0.014, 0.024, 0.035 for the t (signed-rank: 0.000005 ... 0.041; Pocock's: 0.0117 at
every look, which spent a quarter of the 5 % at n = 3, where almost nothing is decided). A comparison with fewer seeds than a
look (a run without a value) is judged at the level of the look before it, the stricter one. The
looks are fixed by the design alone (seeds are added to every point in order, so a comparison's
n is a look whatever else shares its points), never by time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from labjournal.plan.schedule import ALPHA, BOUNDARIES, BOUNDARY, Schedule

__all__ = ["ALPHA", "BOUNDARIES", "BOUNDARY", "Design", "Schedule", "seeds_to_decide"]

SIMULATIONS = 50_000
CALIBRATION_SEED = 20261125
TESTS = ("t", "signed-rank", "pitman-morgan")  # calibrations: see the module's docstring


@dataclass(frozen=True)
class Design(Schedule):
    """A plan's `Schedule` with its statistics: the nominal level of each look for each test, the
    design-adjusted p-value and the t quantile an interval uses."""

    @classmethod
    def of(cls, schedule: Schedule) -> Design:
        return cls(schedule.looks, schedule.alpha, schedule.boundary)

    def level(self, n: int, test: str = "t") -> float:
        """The two-sided nominal level of the look with `n` seeds, for `test` (TESTS)."""
        if not self.sequential:
            return self.alpha
        return float(_levels(self.looks, self.alpha, self.boundary, test)[self.look(n)])

    def levels(self, test: str = "t") -> tuple[float, ...]:
        """The nominal level of each look."""
        if not self.sequential:
            return (self.alpha,)
        return tuple(float(x) for x in _levels(self.looks, self.alpha, self.boundary, test))

    @property
    def nominal_alpha(self) -> float:
        """The last look's level (the most lenient one under an O'Brien–Fleming shape)."""
        return self.levels()[-1]

    def repeated_p(self, nominal_p: float, n: int, test: str = "t") -> float:
        """The design-adjusted p-value of the nominal p-value of the look with `n` seeds: the
        chance, with no true difference, that some look crosses a boundary this far out. Below a
        level exactly when the look's interval at that level excludes the tested value; valid
        under optional stopping."""
        if not self.sequential:
            return float(nominal_p)
        scores = _null_scores(self.looks, self.boundary, test)
        score = _z(nominal_p) * _weights(self.looks, self.boundary)[self.look(n)]
        count = len(scores) - np.searchsorted(scores, score, side="left")
        return float(min(1.0, (count + 1) / (len(scores) + 1)))

    def critical(self, n: int, df: int) -> float:
        """The t quantile the interval of the look with `n` seeds and `df` degrees of freedom uses."""
        return _critical(self.level(n), df)

    def describe(self) -> str:
        if not self.sequential:
            return f"fixed-sample {100 * (1 - self.alpha):.0f} % Student-t intervals"
        looks = ", ".join(map(str, self.looks))
        shape = "O'Brien–Fleming-shaped" if self.boundary == "obrien-fleming" else "Pocock"
        levels = ", ".join(f"{x:.2g}" for x in self.levels())
        return (
            f"a group-sequential design with looks at n = {looks} seeds: {shape} repeated "
            f"{100 * (1 - self.alpha):.0f} % confidence intervals, nominal levels {levels}"
        )


def _z(p: float | np.ndarray) -> np.ndarray:
    """The normal score of a two-sided p-value: Φ⁻¹(1 − p / 2)."""
    return stats.norm.isf(np.asarray(p, dtype=float) / 2)


def _weights(looks: tuple[int, ...], boundary: str) -> np.ndarray:
    """The boundary's shape: look k crosses where z(p_k) × weight_k > C."""
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary '{boundary}' (known: {', '.join(BOUNDARIES)})")
    n = np.asarray(looks, dtype=float)
    return np.sqrt(n / n[-1]) if boundary == "obrien-fleming" else np.ones_like(n)


@functools.lru_cache(maxsize=16)
def _null_p(looks: tuple[int, ...], test: str) -> np.ndarray:
    """Nominal two-sided p-values of each look (columns) under no difference, SIMULATIONS paths."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    data = rng.standard_normal((SIMULATIONS, looks[-1]))
    if test == "t":
        columns = [_t_p(data[:, :n]) for n in looks]
    elif test == "signed-rank":
        columns = [_signed_rank_p(data[:, :n]) for n in looks]
    elif test == "pitman-morgan":
        other = rng.standard_normal((SIMULATIONS, looks[-1]))
        columns = [_correlation_p(data[:, :n], other[:, :n]) for n in looks]
    else:
        raise ValueError(f"unknown test '{test}' (known: {', '.join(TESTS)})")
    return np.column_stack(columns)


def _t_p(sample: np.ndarray) -> np.ndarray:
    n = sample.shape[1]
    t = sample.mean(axis=1) / (sample.std(axis=1, ddof=1) / np.sqrt(n))
    return 2 * stats.t.sf(np.abs(t), n - 1)


def _signed_rank_p(sample: np.ndarray) -> np.ndarray:
    """The exact two-sided signed-rank p-value of each row (no ties, no zeros: continuous data)."""
    n = sample.shape[1]
    ranks = np.abs(sample).argsort(axis=1).argsort(axis=1) + 1
    positive = np.where(sample > 0, ranks, 0).sum(axis=1)
    chance = np.zeros(n * (n + 1) // 2 + 1)  # the law of the positive rank sum
    chance[0] = 1.0
    for rank in range(1, n + 1):
        shifted = np.zeros_like(chance)
        shifted[rank:] = chance[:-rank]
        chance = 0.5 * (chance + shifted)
    below, above = np.cumsum(chance), np.cumsum(chance[::-1])[::-1]
    return np.minimum(1.0, 2 * np.minimum(below[positive], above[positive]))


def _correlation_p(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The two-sided p-value of zero correlation (t with n − 2 df), row by row."""
    n = x.shape[1]
    x_, y_ = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    r = (x_ * y_).sum(axis=1) / np.sqrt((x_**2).sum(axis=1) * (y_**2).sum(axis=1))
    t = r * np.sqrt((n - 2) / np.maximum(1 - r * r, 1e-300))
    return 2 * stats.t.sf(np.abs(t), n - 2)


@functools.lru_cache(maxsize=32)
def _null_scores(looks: tuple[int, ...], boundary: str, test: str) -> np.ndarray:
    """Each simulated path's largest weighted score over the looks, sorted (repeated p-values)."""
    weighted = _z(_null_p(looks, test)) * _weights(looks, boundary)
    return np.sort(weighted.max(axis=1))


@functools.lru_cache(maxsize=256)
def _levels(looks: tuple[int, ...], alpha: float, boundary: str, test: str) -> np.ndarray:
    """Each look's nominal level: C is the smallest score that at most alpha of the simulated
    paths reach (strictly above an atom of a discrete test's scores)."""
    scores = _null_scores(looks, boundary, test)
    allowed = int(np.floor(alpha * len(scores)))
    c = scores[len(scores) - allowed - 1] if allowed < len(scores) else scores[0]
    if len(scores) - np.searchsorted(scores, c, side="left") > allowed:
        c = c * (1 + 1e-9) + 1e-12  # ties at c: step past the atom
    return 2 * stats.norm.sf(c / _weights(looks, boundary))


@functools.lru_cache(maxsize=4096)
def _critical(nominal_alpha: float, df: int) -> float:
    return float(stats.t.ppf(1 - nominal_alpha / 2, df))


def seeds_to_decide(
    spread: float, mean: float, margin: float, design: Design, have: int, limit: int = 10_000
) -> int | None:
    """About how many paired seeds would decide a comparison at the observed spread and mean:
    the smallest n whose interval half-width (at the level of the look n would be) is below the
    distance that decides (|mean| to exclude zero, or margin - |mean| to fall inside the margin).
    `limit + 1` where no n up to `limit` would; None where the spread gives no estimate."""
    target = max(abs(mean), margin - abs(mean))
    if not spread > 0 or not target > 0:
        return None
    n = np.arange(max(have, 2), limit + 1)
    if not n.size:
        return limit + 1
    levels = np.array([design.level(int(k)) for k in n]) if design.sequential else design.alpha
    curve = stats.t.isf(levels / 2, n - 1) / np.sqrt(n)
    found = np.flatnonzero(curve * spread < target)
    return int(n[found[0]]) if found.size else limit + 1
