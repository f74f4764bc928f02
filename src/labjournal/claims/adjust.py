"""A comparison adjusted for a declared covariate (`adjust: METRIC`), CUPED-style.

Where a run records a measure the compared setting cannot touch (a baseline fitted on the same
split, the loss before the first step) that predicts the outcome, part of the seed-to-seed
noise of the paired differences is explained by it and can be taken out. Each seed's difference
d = (value at `at`) − (value at `than`) is regressed by least squares on the covariate c:

- c is the covariate's own paired difference where it differs between the two points (a
  measure taken in each run), and the adjusted difference is the intercept, the difference at
  c = 0: d̄ − θ c̄ with θ = cov(d, c) / var(c) (CUPED; the setting does not touch the covariate,
  so c is 0 on average and the intercept estimates the same difference as d̄);
- c is the covariate's value on the seed, centred, where the two points have the same value on
  every seed (a baseline of the seed's split): the intercept is d̄ itself, with the noise the
  covariate explains removed from its standard error.

The interval is the intercept's Student-t interval with n − 2 degrees of freedom (statsmodels'
OLS gives the same estimate and standard error; tests/test_adjust.py checks it), at the
nominal level of the design's look with that many seeds (`Design.level`). Only a declared covariate is used, never one chosen after
seeing which helps; the method text names it and θ. A covariate that does not vary leaves the
plain paired t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from labjournal.claims.evidence import Evidence, Part, _g


@dataclass(frozen=True)
class Fit:
    """The least-squares fit of the differences on the covariate."""

    estimate: float  # the intercept: the adjusted mean difference
    error: float  # its standard error
    df: int
    theta: float


def fit(differences: list[float], covariate: list[float]) -> Fit:
    """The intercept of d on c by ordinary least squares, with its standard error."""
    d, c = np.asarray(differences, dtype=float), np.asarray(covariate, dtype=float)
    n = d.size
    centred = c - c.mean()
    theta = float(centred @ (d - d.mean()) / (centred @ centred))
    estimate = float(d.mean() - theta * c.mean())
    residual = d - estimate - theta * c
    variance = residual @ residual / (n - 2)
    error = math.sqrt(variance * (1 / n + c.mean() ** 2 / (centred @ centred)))
    return Fit(estimate, error, n - 2, theta)


@dataclass
class AdjustedEvidence(Evidence):
    """Paired differences adjusted for a declared covariate (the module's docstring)."""

    covariate: list[float] = field(default_factory=list)  # one per seed, as the differences
    covariate_name: str = ""
    covariate_kind: str = "difference"  # or "level": the same at both points, centred

    def __post_init__(self) -> None:
        self.method = f"paired t adjusted for {self.covariate_name} (OLS, CUPED)"

    def _fit(self) -> Fit | None:
        if self.n < 3 or not float(np.ptp(self.covariate)) > 0:
            return None
        found = fit(self.differences, self.covariate)
        return found if found.error > 0 else None

    def _t_p(self, shift: float = 0.0, side: str = "two") -> float:
        found = self._fit()
        if found is None:
            return super()._t_p(shift, side)
        t = (found.estimate - shift) / found.error
        if side == "two":
            return float(2 * stats.t.sf(abs(t), found.df))
        return float(stats.t.sf(t, found.df) if side == "greater" else stats.t.cdf(t, found.df))

    @property
    def mean(self) -> float:
        found = self._fit()
        return super().mean if found is None else found.estimate

    @property
    def spread(self) -> float:
        """The standard deviation per seed the adjusted interval implies (its standard error
        times sqrt(n)), for the seeds a decision would need."""
        found = self._fit()
        return super().spread if found is None else found.error * math.sqrt(self.n)

    @property
    def interval(self) -> tuple[float, float] | None:
        found = self._fit()
        if found is None:
            return super().interval
        half = self.design.critical(self.n, found.df) * found.error
        return found.estimate - half, found.estimate + half

    def interval_text(self) -> str:
        found = self._fit()
        if found is None:
            return f"{super().interval_text()}; not adjusted: {self.covariate_name} does not vary"
        how = "its paired difference" if self.covariate_kind == "difference" else "its value per seed"
        return (
            f"{super().interval_text()}; adjusted for {self.covariate_name} ({how}, "
            f"θ = {_g(found.theta)}; unadjusted Δ = {_g(float(np.mean(self.differences)))})"
        )


def adjusted_evidence(
    base: Part,
    at: dict[Any, float],
    than: dict[Any, float],
    covariate_at: dict[Any, float],
    covariate_than: dict[Any, float],
    name: str,
) -> AdjustedEvidence:
    """The adjusted evidence of two points' per-seed values and their covariate (the seeds that
    have all four)."""
    seeds = sorted(set(at) & set(than) & set(covariate_at) & set(covariate_than), key=str)
    change = [covariate_at[s] - covariate_than[s] for s in seeds]
    level = [(covariate_at[s] + covariate_than[s]) / 2 for s in seeds]
    varies = _varies(change, level)
    covariate = change if varies else [c - float(np.mean(level)) for c in level]
    if not varies and not _varies(level, level):
        covariate = [0.0] * len(seeds)  # constant: the plain paired t
    return AdjustedEvidence(
        **base,
        differences=[at[s] - than[s] for s in seeds],
        magnitude=max((abs(v) for v in (*at.values(), *than.values())), default=1.0),
        covariate=covariate,
        covariate_name=name,
        covariate_kind="difference" if varies else "level",
    )


def _varies(values: list[float], scale_of: list[float]) -> bool:
    """More than floating-point noise apart (1e-9 of the covariate's size)."""
    size = max((abs(v) for v in scale_of), default=0.0)
    return len(values) > 1 and float(np.ptp(values)) > 1e-9 * max(size, 1e-300)
