"""A declared covariate (`adjust: METRIC`): the paired differences regressed on it, the adjusted
estimate and its standard error against statsmodels' OLS, the method text naming it, and the
whole rule simulated (level, and power above the unadjusted paired t)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from conftest import index_row, results_index
from simulate_claims import FALSE_WHEN_NULL, covariate, simulate

from labjournal.claims.adjust import AdjustedEvidence, fit
from labjournal.claims.file import Claim
from labjournal.claims.judge import evaluate_claim
from labjournal.results.lookup import Results

RNG = np.random.default_rng(11)
BASELINE = RNG.normal(0.7, 0.03, 8)  # a baseline per seed's split, untouched by dropout
NOISE = RNG.normal(0, 0.004, (2, 8))


def _results(covariate_differs: bool) -> Results:
    """val_accuracy at dropout 0.3 and 0.0 on 8 seeds; the gain grows with the split's baseline."""
    rows = []
    for dropout, gain in ((0.3, 0.01), (0.0, 0.0)):
        for seed in range(8):
            shift = 0.002 * seed * (dropout > 0) if covariate_differs else 0.0
            base = BASELINE[seed] + shift
            value = base + gain + 0.5 * (BASELINE[seed] - 0.7) * (dropout > 0) + NOISE[int(dropout > 0), seed]
            rows.append(index_row("lab", "exp", {"dropout": dropout}, seed, {"acc": value, "baseline": base}))
    return Results(results_index(rows, "t"), Path("."))


def _claim(**options) -> Claim:
    compared = {"ref": "lab/exp", "metric": "acc", "at": {"dropout": 0.3}, "than": {"dropout": 0.0}}
    expect = {"greater": {**compared, "margin": 0.002, **options}}
    return Claim.model_validate({"lab": "lab", "sentence": "s", "expect": expect})


def test_the_fit_is_statsmodels_ols_of_the_differences_on_the_covariate() -> None:
    rng = np.random.default_rng(12)  # its own generator: the draws do not depend on the tests before
    c = rng.normal(size=9)
    d = 0.3 + 0.8 * c + rng.normal(size=9)
    ols = sm.OLS(d, sm.add_constant(c)).fit()
    found = fit(list(d), list(c))
    assert (found.estimate, found.theta) == pytest.approx(tuple(ols.params), rel=1e-10)
    assert found.error == pytest.approx(ols.bse[0], rel=1e-10) and found.df == ols.df_resid


def test_a_covariate_the_same_at_both_points_adjusts_by_its_value_per_seed() -> None:
    """The baseline of each seed's split is the same at both points: the differences are
    regressed on its centred value, the estimate is the mean difference, the interval narrower."""
    results = _results(covariate_differs=False)
    adjusted = evaluate_claim(results, "c", _claim(adjust="baseline")).evidence[0]
    plain = evaluate_claim(results, "c", _claim()).evidence[0]
    assert isinstance(adjusted, AdjustedEvidence) and adjusted.covariate_kind == "level"
    d = np.array(plain.differences)
    ols = sm.OLS(d, sm.add_constant(BASELINE - BASELINE.mean())).fit()
    assert adjusted.mean == pytest.approx(ols.params[0]) == pytest.approx(d.mean())
    low, high = adjusted.interval
    t = adjusted.design.critical(adjusted.n, 6)  # the level of the look with n seeds, n − 2 df
    assert (low, high) == pytest.approx((ols.params[0] - t * ols.bse[0], ols.params[0] + t * ols.bse[0]))
    assert high - low < plain.interval[1] - plain.interval[0]
    assert "adjusted for baseline" in adjusted.method and "θ = " in adjusted.summary()


def test_a_covariate_measured_in_each_run_adjusts_by_its_paired_difference() -> None:
    results = _results(covariate_differs=True)
    adjusted = evaluate_claim(results, "c", _claim(adjust="baseline")).evidence[0]
    assert adjusted.covariate_kind == "difference"
    c = [0.002 * seed for seed in range(8)]
    ols = sm.OLS(np.array(adjusted.differences), sm.add_constant(c)).fit()
    assert adjusted.mean == pytest.approx(ols.params[0]) and adjusted.p_value == pytest.approx(ols.pvalues[0])
    assert "unadjusted Δ" in adjusted.summary()


SMALL = 300


def test_with_no_difference_the_adjusted_rule_errs_at_most_five_percent() -> None:
    shares = simulate([covariate(0.0, adjust=True)], SMALL)
    assert sum(shares[v] for v in FALSE_WHEN_NULL) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / SMALL)


def test_adjusting_for_a_predictive_covariate_finds_more_than_the_plain_paired_t() -> None:
    adjusted = simulate([covariate(0.7, adjust=True)], SMALL)["supported"]
    plain = simulate([covariate(0.7, adjust=False)], SMALL)["supported"]
    assert adjusted > plain + 0.1, (adjusted, plain)
