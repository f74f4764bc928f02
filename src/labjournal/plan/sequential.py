"""Error rates that survive adding seeds until a decision: a group-sequential design.

A comparison may be looked at after `looks[0]` seeds, again after each batch of seeds the claim
asks for, up to `looks[-1]`. Re-testing a fixed-sample 95 % interval at every look would decide
far more often than 5 % of the time when there is no difference (optional stopping). Instead,
every look uses the same, stricter nominal level `nominal_alpha` (Pocock's design), chosen so that
the chance that *any* look's interval misses the true difference is `alpha`:

    P(some look k has |T_k| > t_{n_k - 1}(1 - nominal_alpha / 2)) = alpha   under any true mean

where T_k is the paired t statistic on the first n_k differences. The intervals are *repeated
confidence intervals* (Jennison & Turnbull 1989): they cover the true mean simultaneously at
every look with probability 1 - alpha, so every decision drawn from them (supported,
contradicted, negligible) keeps its error rate whatever rule decides when to stop.

`nominal_alpha` is found by simulation: the t statistic of normal data is pivotal (its law does
not depend on the mean or the spread), and each look's nominal p-value is exactly uniform, so the
minimum p-value over the looks has one distribution for every comparison with these looks. It is
simulated once per design, with a fixed random seed, so two builds give the same verdicts. A
design of one look is the plain Student-t interval. `tests/test_sequential.py` checks the
false-decision rate of the whole procedure by Monte Carlo, and pins the level of the default
design (numpy's PCG64 stream from a fixed seed: the same number on any machine).

How the error is spent: evenly over the looks, Pocock's way. With no difference and looks at
3, 5, ..., 15 seeds, the first false decision falls at each look with probability 0.012, 0.010,
0.008, 0.006, 0.006, 0.004, 0.005 (40,000 simulated comparisons): a quarter of the 5 % goes to
n = 3, where the interval is about nine standard errors wide and decides little. The looks are
fixed by the design alone (seeds are added to every point in order, so a comparison's n is a look
whatever else shares its points), never by time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
SIMULATIONS = 50_000
CALIBRATION_SEED = 20261125


@dataclass(frozen=True)
class Design:
    """The looks (numbers of paired seeds) at which a verdict may be taken, and the overall alpha."""

    looks: tuple[int, ...] = ()
    alpha: float = ALPHA

    @classmethod
    def fixed(cls, alpha: float = ALPHA) -> Design:
        """One look, whatever its size: the plain fixed-sample t interval."""
        return cls((), alpha)

    @classmethod
    def schedule(cls, first: int, batch: int, most: int, alpha: float = ALPHA) -> Design:
        """Looks at `first`, `first + batch`, ... up to `most` seeds."""
        looks = list(range(max(first, 2), most + 1, max(batch, 1)))
        if not looks or looks[-1] != most:
            looks.append(most)
        return cls(tuple(looks), alpha)

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    @property
    def nominal_alpha(self) -> float:
        """The two-sided level each look's interval is computed at."""
        return _calibrate(self.looks, self.alpha)[0] if self.sequential else self.alpha

    def repeated_p(self, nominal_p: float) -> float:
        """The design-adjusted p-value of a look's nominal p-value: the chance, with no true
        difference, that some look has a p-value this small. Valid under optional stopping."""
        if not self.sequential:
            return float(nominal_p)
        minima = _calibrate(self.looks, self.alpha)[1]
        count = np.searchsorted(minima, nominal_p, side="right")
        return float(min(1.0, (count + 1) / (len(minima) + 1)))

    def critical(self, df: int) -> float:
        """The t quantile the interval of a look with `df` degrees of freedom uses."""
        return _critical(self.nominal_alpha, df)

    def describe(self) -> str:
        if not self.sequential:
            return f"fixed-sample {100 * (1 - self.alpha):.0f} % Student-t intervals"
        looks = ", ".join(map(str, self.looks))
        return (
            f"a group-sequential design with looks at n = {looks} seeds: Pocock repeated "
            f"{100 * (1 - self.alpha):.0f} % confidence intervals, each look at nominal level "
            f"{self.nominal_alpha:.4f}"
        )

    def to_json(self) -> dict:
        return {"looks": list(self.looks), "alpha": self.alpha}

    @classmethod
    def from_json(cls, data: dict | None) -> Design:
        if not data:
            return cls.fixed()
        return cls(tuple(int(n) for n in data.get("looks", ())), float(data.get("alpha", ALPHA)))


@functools.lru_cache(maxsize=32)
def _calibrate(looks: tuple[int, ...], alpha: float) -> tuple[float, np.ndarray]:
    """Pocock's constant nominal level for these looks, and the sorted minimum nominal p-values
    over the looks under no difference (for repeated p-values)."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    data = rng.standard_normal((SIMULATIONS, looks[-1]))
    minimum = np.ones(SIMULATIONS)
    for n in looks:
        sample = data[:, :n]
        t = sample.mean(axis=1) / (sample.std(axis=1, ddof=1) / np.sqrt(n))
        minimum = np.minimum(minimum, 2 * stats.t.sf(np.abs(t), n - 1))
    minimum.sort()
    return float(np.quantile(minimum, alpha)), minimum


@functools.lru_cache(maxsize=4096)
def _critical(nominal_alpha: float, df: int) -> float:
    return float(stats.t.ppf(1 - nominal_alpha / 2, df))


@functools.lru_cache(maxsize=64)
def _half_width_curve(nominal_alpha: float, most: int) -> np.ndarray:
    """t quantile / sqrt(n) for n = 0 .. most (n < 2 undefined: infinite)."""
    n = np.arange(most + 1)
    curve = np.full(most + 1, np.inf)
    curve[2:] = stats.t.ppf(1 - nominal_alpha / 2, n[2:] - 1) / np.sqrt(n[2:])
    return curve


def seeds_to_decide(
    spread: float, mean: float, margin: float, design: Design, have: int, limit: int = 10_000
) -> int | None:
    """About how many paired seeds would decide a comparison at the observed spread and mean:
    the smallest n whose interval half-width is below the distance that decides (|mean| to
    exclude zero, or margin - |mean| to fall inside the margin). `limit + 1` where no n up to
    `limit` would; None where the spread gives no estimate."""
    target = max(abs(mean), margin - abs(mean))
    if not spread > 0 or not target > 0:
        return None
    curve = _half_width_curve(design.nominal_alpha, 10_000)[: limit + 1]
    found = np.flatnonzero(curve[max(have, 2) :] * spread < target)
    return int(found[0]) + max(have, 2) if found.size else limit + 1
