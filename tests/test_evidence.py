"""The rules behind verdicts, one by one: margins and "negligible", zero spread, exact measures,
censored runs, log-ratios, seed-blocked trends, folds, conjunctions, Holm, and the seeds a claim
would need."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from labjournal.claims import (
    CONTRADICTED,
    INCONCLUSIVE,
    NEGLIGIBLE,
    SUPPORTED,
    Claim,
    ClaimError,
    ClaimsFile,
    evaluate_all,
    evaluate_claim,
    load_claims,
)
from labjournal.evidence import Evidence, blocked_slope, combine
from labjournal.results import Results
from labjournal.sequential import Design


def _row(params: dict, seed: int, metrics: dict) -> dict:
    return {
        "lab": "lab",
        "notebook": "nb",
        "experiment": "exp",
        "params": params,
        "seed": seed,
        "key": f"{sorted(params.items())}-{seed}",
        "status": "ok",
        "run_dir": "runs/x",
        "metrics": metrics,
        "figures": {},
        "data": [],
    }


def _results(
    points: dict, metric: str = "accuracy", param: str = "p", design: Design | None = None
) -> Results:
    rows = [
        _row({param: value}, seed, {metric: v})
        for value, values in points.items()
        for seed, v in enumerate(values)
    ]
    index = {
        "format": 1,
        "profile": "t",
        "data": {},
        "runs": rows,
        "design": (design or Design.fixed()).to_json(),
    }
    return Results(index, Path("."))


def _claim(expect: dict) -> Claim:
    return Claim.model_validate({"lab": "lab", "sentence": "s", "expect": expect})


def _greater(metric: str = "accuracy", **options) -> dict:
    return {"greater": {"ref": "lab/exp", "metric": metric, "at": {"p": 2}, "than": {"p": 1}, **options}}


def test_a_tight_interval_inside_the_margin_is_negligible() -> None:
    # dropout 0.5 vs 0.2 in the default journal: Δ ≈ +0.0006, spread small against one point.
    results = _results({1: [0.800, 0.812, 0.805, 0.809], 2: [0.801, 0.811, 0.806, 0.810]})
    verdict = evaluate_claim(results, "c", _claim(_greater()))
    evidence = verdict.evidence[0]
    assert evidence.margin == 0.01 and "one percentage point" in evidence.margin_note
    low, high = evidence.interval
    assert -0.01 < low < high < 0.01
    assert verdict.verdict == NEGLIGIBLE


def test_the_margin_can_be_declared_per_comparison_and_per_metric() -> None:
    results = _results({1: [0.80, 0.81, 0.805, 0.809], 2: [0.801, 0.8115, 0.8062, 0.8098]})
    assert evaluate_claim(results, "c", _claim(_greater())).verdict == NEGLIGIBLE
    strict = evaluate_claim(results, "c", _claim(_greater(margin=0.0001)))
    assert strict.evidence[0].margin == 0.0001 and strict.verdict == SUPPORTED
    settings = ClaimsFile(claims={"c": _claim(_greater())}, margins={"accuracy": 0.0001})
    assert evaluate_all(results, settings)[0].evidence[0].margin == 0.0001


def test_identical_differences_fall_back_to_the_sign_test_and_print_no_interval() -> None:
    three = _results({1: [0.5, 0.6, 0.7], 2: [0.6, 0.7, 0.8]}, metric="score")
    evidence = evaluate_claim(three, "c", _claim(_greater("score"))).evidence[0]
    assert evidence.interval is None and evidence.verdict == INCONCLUSIVE  # sign test p = 0.25
    assert "sign test p = 0.25" in evidence.summary() and "CI" not in evidence.summary()
    six = _results({1: [0.5, 0.6, 0.7, 0.4, 0.3, 0.2], 2: [0.6, 0.7, 0.8, 0.5, 0.4, 0.3]}, metric="score")
    assert evaluate_claim(six, "c", _claim(_greater("score"))).verdict == SUPPORTED  # p = 0.031


def test_floating_point_noise_is_a_tie() -> None:
    base = [0.8, 0.81]
    results = _results({1: base, 2: [v + 5.55e-17 for v in base]}, metric="score")
    evidence = evaluate_claim(results, "c", _claim(_greater("score"))).evidence[0]
    assert evidence.verdict == INCONCLUSIVE and "tied on every seed" in evidence.summary()
    assert "Δ = 0 " in evidence.summary()


def test_deterministic_counts_are_compared_exactly() -> None:
    results = _results({1: [1.0e9] * 3, 2: [1.5e9] * 3}, metric="flops_per_epoch")
    verdict = evaluate_claim(results, "c", _claim(_greater("flops_per_epoch")))
    assert verdict.verdict == SUPPORTED and verdict.evidence[0].exact
    assert "exact: the same on every seed" in verdict.evidence[0].summary()
    same = _results({1: [1.0e9] * 3, 2: [1.0e9 + 1] * 3}, metric="flops_per_epoch")
    assert evaluate_claim(same, "c", _claim(_greater("flops_per_epoch"))).verdict == NEGLIGIBLE
    varying = _results({1: [10.0, 11.0, 12.0], 2: [13.0, 13.5, 15.0]}, metric="parameters")
    assert not evaluate_claim(varying, "c", _claim(_greater("parameters"))).evidence[0].exact


def test_a_censored_run_counts_at_its_bound_and_decides_only_the_safe_direction() -> None:
    """lab01-learning-rate: the fast learning rate never reached the threshold on one seed (None,
    at least the 30 epochs trained). Dropping it hid a contradiction; counted at 30 it decides."""
    rows = [_row({"lr": 0.02, "epochs": 30}, s, {"epochs_to_threshold": v}) for s, v in enumerate([4, 5, 4])]
    rows += [
        _row({"lr": 0.5, "epochs": 30}, s, {"epochs_to_threshold": v}) for s, v in enumerate([None, 30, 28])
    ]
    results = Results({"format": 1, "profile": "t", "data": {}, "runs": rows}, Path("."))
    expect = {
        "greater": {
            "ref": "lab/exp",
            "metric": "epochs_to_threshold",
            "at": {"lr": 0.02},
            "than": {"lr": 0.5},
        }
    }
    dropped = evaluate_claim(results, "c", _claim(expect)).evidence[0]
    assert dropped.n == 2 and dropped.planned == 3 and "n = 2 of 3" in dropped.summary()
    censored = {"greater": {**expect["greater"], "censored_at": "epochs"}}
    evidence = evaluate_claim(results, "c", _claim(censored)).evidence[0]
    assert evidence.n == 3 and evidence.differences[0] == 4 - 30 and evidence.censored_high == 1
    assert evidence.verdict == CONTRADICTED  # the true difference is even more negative
    assert "1 censored at their bound" in evidence.summary()
    # The other direction would be unsafe: the censored run could undo it.
    flipped = {"less": {**censored["greater"], "at": {"lr": 0.5}, "than": {"lr": 0.02}}}
    assert evaluate_claim(results, "c", _claim(flipped)).evidence[0].censored_low == 1


def test_a_censored_value_that_could_undo_the_verdict_leaves_it_inconclusive() -> None:
    evidence = Evidence(
        "d", "positive", "r", 0.5, "", Design.fixed(), differences=[3.0, 3.1, 2.9], censored_high=1
    )
    assert evidence.side == "positive" and evidence.verdict == INCONCLUSIVE


def test_log_ratios_for_values_spanning_orders_of_magnitude() -> None:
    results = _results({1: [1.07, 0.9, 1.3], 2: [0.0028, 0.004, 0.0021]}, metric="loss_variance")
    expect = {
        "less": {
            "ref": "lab/exp",
            "metric": "loss_variance",
            "scale": "log",
            "at": {"p": 2},
            "than": {"p": 1},
        }
    }
    evidence = evaluate_claim(results, "c", _claim(expect)).evidence[0]
    assert evidence.mean == pytest.approx(np.mean(np.log([0.0028, 0.004, 0.0021]) - np.log([1.07, 0.9, 1.3])))
    assert evidence.margin == pytest.approx(math.log(1.2)) and evidence.verdict == SUPPORTED
    assert "(log)" in evidence.description
    bad = _results({1: [1.0, 2.0], 2: [0.0, 1.0]}, metric="loss_variance")
    with pytest.raises(ClaimError, match="scale: log needs positive values"):
        evaluate_claim(bad, "c", _claim(expect))


def test_trend_is_a_seed_blocked_regression_matching_statsmodels() -> None:
    fractions = [0.1, 0.25, 0.5, 1.0]
    rng = np.random.default_rng(3)
    seed_effect = rng.normal(0, 0.02, 5)
    points = {
        f: [0.7 + 0.01 * math.log2(f) + seed_effect[s] + rng.normal(0, 0.004) for s in range(5)]
        for f in fractions
    }
    results = _results(points, metric="test_accuracy", param="train_fraction")
    up = {
        "trend": {"ref": "lab/exp", "metric": "test_accuracy", "param": "train_fraction", "direction": "up"}
    }
    evidence = evaluate_claim(results, "c", _claim(up)).evidence[0]
    frame = {"y": [], "x": [], "seed": []}
    for f, values in points.items():
        for s, v in enumerate(values):
            frame["y"].append(v), frame["x"].append(math.log2(f)), frame["seed"].append(s)
    fit = smf.ols("y ~ x + C(seed)", data=pd.DataFrame(frame)).fit()
    slope, error, df = evidence.slope
    assert slope == pytest.approx(fit.params["x"]) and error == pytest.approx(fit.bse["x"])
    assert df == fit.df_resid and evidence.unit == "per doubling of train_fraction"
    assert evidence.verdict in (SUPPORTED, NEGLIGIBLE) and evidence.interval[0] > 0


def test_a_trend_needs_numbers_and_skips_missing_values() -> None:
    words = _results({"relu": [0.8, 0.81], "tanh": [0.7, 0.72]}, param="activation")
    trend = {"trend": {"ref": "lab/exp", "metric": "accuracy", "param": "activation", "direction": "up"}}
    with pytest.raises(ClaimError, match="claim 'c'.*a trend needs numeric values of 'activation'"):
        evaluate_claim(words, "c", _claim(trend))
    gaps = _results({1: [0.5, 0.6, None], 2: [0.6, 0.7, 0.71], 4: [0.8, None, 0.9]}, param="p")
    up = {"trend": {"ref": "lab/exp", "metric": "accuracy", "param": "p", "direction": "up"}}
    evidence = evaluate_claim(gaps, "c", _claim(up)).evidence[0]  # no TypeError on None
    assert evidence.n == 3 and evidence.slope[0] > 0


def test_blocked_slope_needs_two_values_in_a_block() -> None:
    slope, error, df = blocked_slope([(0, 1.0, 1.0), (0, 2.0, 3.0), (1, 1.0, 5.0)])
    assert slope == pytest.approx(2.0) and df == 0 and math.isnan(error)


def test_folds_are_averaged_within_their_seed() -> None:
    rows = []
    for p, base in ((1, 0.70), (2, 0.74)):
        for seed in range(3):
            for fold in range(5):
                rows.append(
                    _row({"p": p, "fold": fold}, seed, {"accuracy": base + 0.01 * fold + 0.002 * seed})
                )
    results = Results({"format": 1, "profile": "t", "data": {}, "runs": rows}, Path("."))
    expect = _greater(over=["fold"])
    evidence = evaluate_claim(results, "c", _claim(expect)).evidence[0]
    assert evidence.n == 3  # three seeds, not fifteen folds
    assert evidence.differences == pytest.approx([0.04, 0.04, 0.04])


def test_combining_parts_of_a_conjunction() -> None:
    assert combine([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert combine([SUPPORTED, NEGLIGIBLE]) == NEGLIGIBLE
    assert combine([NEGLIGIBLE, CONTRADICTED]) == CONTRADICTED
    assert combine([SUPPORTED, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([INCONCLUSIVE, NEGLIGIBLE]) == NEGLIGIBLE


def test_an_empty_conjunction_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.yml"
    path.write_text("claims:\n  c:\n    lab: lab\n    sentence: s\n    expect: {all: []}\n")
    with pytest.raises(ClaimError, match=r"claims.c.expect.all: an empty conjunction claims nothing"):
        load_claims(path)


def test_holm_controls_the_family_and_is_stated() -> None:
    from statsmodels.stats.multitest import multipletests

    strong = {1: [0.5, 0.52, 0.51, 0.5], 2: [0.7, 0.73, 0.71, 0.72]}
    results = _results(strong)
    weak_rows = [
        _row({"q": q}, s, {"accuracy": v})
        for q, values in {1: [0.5, 0.55, 0.52, 0.6], 2: [0.55, 0.62, 0.56, 0.66]}.items()
        for s, v in enumerate(values)
    ]
    for row in weak_rows:
        row["experiment"] = "weak"
    results.index["runs"] += weak_rows
    weak = {"greater": {"ref": "lab/weak", "metric": "accuracy", "at": {"q": 2}, "than": {"q": 1}}}
    claims = ClaimsFile(claims={"strong": _claim(_greater()), "weak": _claim(weak)})
    plain = {v.claim_id: v for v in evaluate_all(results, claims)}
    assert plain["weak"].verdict == SUPPORTED
    family = [plain["strong"].evidence[0].p_value, plain["weak"].evidence[0].p_value]
    holm = {v.claim_id: v for v in evaluate_all(results, claims, familywise="holm")}
    expected = multipletests(family, alpha=0.05, method="holm")[1]
    assert holm["weak"].evidence[0].familywise_p == pytest.approx(expected[1])
    assert holm["strong"].verdict == SUPPORTED
    assert (holm["weak"].verdict == SUPPORTED) == (expected[1] <= 0.05)
    assert "Holm-adjusted p" in holm["weak"].evidence[0].summary()


def test_an_undecided_claim_says_how_many_seeds_would_decide_it() -> None:
    results = _results({1: [0.80, 0.83, 0.79], 2: [0.82, 0.84, 0.80]})
    verdict = evaluate_claim(results, "c", _claim(_greater()))
    assert verdict.verdict == INCONCLUSIVE
    needed = verdict.seeds_needed()
    assert needed is not None and needed > 3
