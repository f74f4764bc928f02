"""The rules behind verdicts, one by one: margins and "negligible", zero spread, exact measures,
censored outcomes by order, log-ratios, trends on per-seed slopes, folds, claims judged part by
part, Holm over claims, and the seeds a claim would need."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import index_row, results_index

from labjournal.claims.evidence import PARTLY, Evidence
from labjournal.claims.judge import (
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
from labjournal.claims.ranks import RankedEvidence, order
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import judge
from labjournal.results.lookup import Results


def _row(params: dict, seed: int, metrics: dict) -> dict:
    return index_row("lab", "exp", params, seed, metrics)


def _results(
    points: dict, metric: str = "accuracy", param: str = "p", design: Design | None = None
) -> Results:
    rows = [
        _row({param: value}, seed, {metric: v})
        for value, values in points.items()
        for seed, v in enumerate(values)
    ]
    return Results(results_index(rows, "t", design=(design or Design.fixed()).to_json()), Path("."))


def _claim(expect: dict, margin: float | None = 0.01) -> Claim:
    return Claim.model_validate({"lab": "lab", "sentence": "s", "expect": expect, "margin": margin})


def _greater(metric: str = "accuracy", **options) -> dict:
    return {"greater": {"ref": "lab/exp", "metric": metric, "at": {"p": 2}, "than": {"p": 1}, **options}}


def test_a_tight_interval_inside_the_margin_is_negligible() -> None:
    # dropout 0.5 vs 0.2 in the default journal: Δ ≈ +0.0006, spread small against one point.
    results = _results({1: [0.800, 0.812, 0.805, 0.809], 2: [0.801, 0.811, 0.806, 0.810]})
    verdict = evaluate_claim(results, "c", _claim(_greater()))
    evidence = verdict.evidence[0]
    assert evidence.margin == 0.01 and "declared on the claim" in evidence.margin_note
    low, high = evidence.interval
    assert -0.01 < low < high < 0.01
    assert verdict.verdict == NEGLIGIBLE


def test_the_margin_can_be_declared_per_comparison_and_per_metric() -> None:
    results = _results({1: [0.80, 0.81, 0.805, 0.809], 2: [0.801, 0.8115, 0.8062, 0.8098]})
    assert evaluate_claim(results, "c", _claim(_greater())).verdict == NEGLIGIBLE
    strict = evaluate_claim(results, "c", _claim(_greater(margin=0.0001)))
    assert strict.evidence[0].margin == 0.0001 and strict.verdict == SUPPORTED
    settings = ClaimsFile(claims={"c": _claim(_greater(), margin=None)}, margins={"accuracy": 0.0001})
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
    declared = _claim(_greater("flops_per_epoch"), margin=1e6)  # a million FLOPs matter
    assert evaluate_claim(same, "c", declared).verdict == NEGLIGIBLE
    varying = _results({1: [10.0, 11.0, 12.0], 2: [13.0, 13.5, 15.0]}, metric="parameters")
    assert not evaluate_claim(varying, "c", _claim(_greater("parameters"))).evidence[0].exact


def test_a_censored_outcome_is_compared_by_order_never_as_a_number() -> None:
    """lab01-learning-rate: the fast learning rate never reached the threshold on one seed. "Not
    reached" ranks after every epoch that reached it; it is never counted as 30, and no Δ of
    imputed epochs is printed. Three seeds out of three one way is a sign test p of 0.25."""
    rows = [_row({"lr": 0.02, "epochs": 30}, s, {"epochs_to_threshold": v}) for s, v in enumerate([4, 5, 4])]
    rows += [
        _row({"lr": 0.5, "epochs": 30}, s, {"epochs_to_threshold": v}) for s, v in enumerate([None, 30, 28])
    ]
    results = Results(results_index(rows, "t"), Path("."))
    compared = {"ref": "lab/exp", "metric": "epochs_to_threshold", "censored_at": "epochs"}
    expect = {"greater": {**compared, "at": {"lr": 0.02}, "than": {"lr": 0.5}}}
    evidence = evaluate_claim(results, "c", _claim(expect)).evidence[0]
    assert isinstance(evidence, RankedEvidence)
    assert (evidence.later, evidence.earlier, evidence.ties, evidence.censored) == (0, 3, 0, 1)
    assert evidence.p_value == pytest.approx(0.25) and evidence.verdict == INCONCLUSIVE
    assert "Δ" not in evidence.summary() and "earlier on 3" in evidence.summary()
    assert evidence.interval is None and evidence.seeds_needed() == 10  # at 80 % power
    assert evidence.seeds_needed(power=0.5) == 6  # the median figure: six of six, p = 0.031


def test_both_censored_pairs_are_ties_counted_and_shown() -> None:
    assert (order(None, None), order(None, 3.0), order(3.0, None), order(2.0, 3.0), order(3.0, 3.0)) == (
        0,
        1,
        -1,
        -1,
        0,
    )
    base = dict(
        description="d", expected="positive", ref="r", margin=1.0, margin_note="", design=Design.fixed()
    )
    evidence = RankedEvidence(**base, orders=[0, 0, 1, 1, 1, 1, 1, 1], censored=4, both_censored=2)
    assert evidence.n == 8 and evidence.ties == 2
    assert evidence.p_value == pytest.approx(2 / 64) and evidence.verdict == SUPPORTED
    assert "tied on 2" in evidence.summary() and "2 with neither reaching it" in evidence.summary()
    assert evidence.p_equivalence == 1.0  # orders cannot show a negligible difference


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
    evidence = evaluate_claim(results, "c", _claim(expect, margin=math.log(1.2))).evidence[0]
    assert evidence.mean == pytest.approx(np.mean(np.log([0.0028, 0.004, 0.0021]) - np.log([1.07, 0.9, 1.3])))
    assert evidence.margin == pytest.approx(math.log(1.2)) and evidence.verdict == SUPPORTED
    assert "(log)" in evidence.description
    bad = _results({1: [1.0, 2.0], 2: [0.0, 1.0]}, metric="loss_variance")
    with pytest.raises(ClaimError, match="scale: log needs positive values"):
        evaluate_claim(bad, "c", _claim(expect))


def test_a_trend_is_judged_on_one_slope_per_seed() -> None:
    """The seed is the unit of a trend: each seed's least-squares slope (statsmodels OLS on that
    seed's points gives the same), then the paired interval on their mean with n - 1 df."""
    fractions = [0.1, 0.25, 0.5, 1.0]
    rng = np.random.default_rng(3)
    slopes = rng.normal(0.01, 0.02, 5)  # random per-seed slopes: pooling runs would understate the error
    points = {f: [0.7 + slopes[s] * math.log2(f) + rng.normal(0, 0.004) for s in range(5)] for f in fractions}
    results = _results(points, metric="test_accuracy", param="train_fraction")
    up = {
        "trend": {"ref": "lab/exp", "metric": "test_accuracy", "param": "train_fraction", "direction": "up"}
    }
    evidence = evaluate_claim(results, "c", _claim(up)).evidence[0]
    for seed in range(5):
        frame = pd.DataFrame(
            {"y": [points[f][seed] for f in fractions], "x": [math.log2(f) for f in fractions]}
        )
        assert evidence.per_seed[seed] == pytest.approx(smf.ols("y ~ x", data=frame).fit().params["x"])
    per_seed = list(evidence.per_seed.values())
    half = Design.fixed().critical(5, 4) * np.std(per_seed, ddof=1) / math.sqrt(5)
    assert evidence.interval == pytest.approx((np.mean(per_seed) - half, np.mean(per_seed) + half))
    assert evidence.n == 5 and evidence.unit == "per doubling of train_fraction"


def test_a_trend_needs_numbers_and_uses_the_seeds_that_ran_every_point() -> None:
    words = _results({"relu": [0.8, 0.81], "tanh": [0.7, 0.72]}, param="activation")
    trend = {"trend": {"ref": "lab/exp", "metric": "accuracy", "param": "activation", "direction": "up"}}
    with pytest.raises(ClaimError, match="claim 'c'.*a trend needs numeric values of 'activation'"):
        evaluate_claim(words, "c", _claim(trend))
    gaps = _results({1: [0.5, 0.6, None, 0.5], 2: [0.6, 0.7, 0.71, 0.6], 4: [0.8, None, 0.9, 0.7]}, param="p")
    up = {"trend": {"ref": "lab/exp", "metric": "accuracy", "param": "p", "direction": "up"}}
    evidence = evaluate_claim(gaps, "c", _claim(up)).evidence[0]  # no TypeError on None
    assert sorted(evidence.per_seed) == [0, 3] and evidence.n == 2 and evidence.planned == 4
    # More seeds at one point (added for another claim) do not change what the slope estimates.
    more = {1: [0.5, 0.6, 0.55, 0.5, 0.9, 0.95], 2: [0.6, 0.7, 0.65, 0.6], 4: [0.8, 0.8, 0.9, 0.7]}
    assert sorted(evaluate_claim(_results(more, param="p"), "c", _claim(up)).evidence[0].per_seed) == [
        0,
        1,
        2,
        3,
    ]


def test_folds_are_averaged_within_their_seed() -> None:
    rows = []
    for p, base in ((1, 0.70), (2, 0.74)):
        for seed in range(3):
            for fold in range(5):
                rows.append(
                    _row({"p": p, "fold": fold}, seed, {"accuracy": base + 0.01 * fold + 0.002 * seed})
                )
    results = Results(results_index(rows, "t"), Path("."))
    expect = _greater(over=["fold"])
    evidence = evaluate_claim(results, "c", _claim(expect)).evidence[0]
    assert evidence.n == 3  # three seeds, not fifteen folds
    assert evidence.differences == pytest.approx([0.04, 0.04, 0.04])


def _part(values: list[float], expected: str = "positive", margin: float = 0.1) -> Evidence:
    return Evidence("d", expected, "r", margin, "", Design.fixed(), differences=values)


def test_a_claim_is_judged_part_by_part() -> None:
    strong = _part([2.0, 2.1, 1.9, 2.05, 1.95])
    null_inside = _part([0.001, -0.002, 0.0, 0.001, -0.001])
    against = _part([-2.0, -2.1, -1.9, -2.05, -1.95])
    unclear = _part([0.5, -0.4, 0.3, -0.6, 0.2])
    assert judge([strong, strong]) == SUPPORTED
    assert judge([null_inside, null_inside]) == NEGLIGIBLE
    # lab02-dropout-tradeoff: a strongly supported part and a negligible one is partly supported,
    # not "negligible" as one part's label.
    assert judge([strong, null_inside]) == PARTLY
    assert judge([against, unclear]) == CONTRADICTED
    assert judge([strong, unclear]) == PARTLY  # the open part is named on its badge
    built = _part([5.0, 5.1, 4.9, 5.0, 5.05])
    built.by_construction = True  # shown, never counted
    assert judge([unclear, built]) == INCONCLUSIVE and judge([strong, built]) == SUPPORTED


def test_a_part_decides_against_a_claim_only_at_alpha_over_its_parts() -> None:
    """Contradicted at 5 % on its own, but not at 2.5 %: one part of two cannot sink the claim."""
    part = _part([-1.0, -0.05, -0.9, -0.5, -0.4])  # t-test p = 0.03
    assert part.verdict == CONTRADICTED and part.verdict_at(0.025) == INCONCLUSIVE
    assert judge([part]) == CONTRADICTED and judge([part, _part([0.5, -0.4, 0.3, -0.6, 0.2])]) == INCONCLUSIVE


def test_supported_says_when_the_effect_may_be_smaller_than_the_margin() -> None:
    evidence = _part([0.05, 0.15, 0.1, 0.12, 0.08], margin=0.1)
    assert evidence.verdict == SUPPORTED and "possibly smaller than the margin" in evidence.summary()
    assert "possibly smaller" not in _part([2.0, 2.1, 1.9, 2.05, 1.95]).summary()


def test_an_empty_conjunction_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.yml"
    path.write_text("claims:\n  c:\n    lab: lab\n    sentence: s\n    expect: {all: []}\n")
    with pytest.raises(ClaimError, match=r"claims.c.expect.all: an empty conjunction claims nothing"):
        load_claims(path)


def test_holm_over_claims_includes_negligible_verdicts() -> None:
    """The family is the journal's claims; a claim's p-value is that of its own verdict (the TOST
    p-value for negligible), Holm-adjusted over every claim judged."""
    from statsmodels.stats.multitest import multipletests

    from labjournal.claims.verdicts import claim_p

    results = _results({1: [0.5, 0.52, 0.51, 0.5], 2: [0.7, 0.73, 0.71, 0.72]})
    extra = {
        "weak": {1: [0.5, 0.55, 0.52, 0.6], 2: [0.55, 0.62, 0.56, 0.66]},
        "flat": {1: [0.5, 0.501, 0.499, 0.5], 2: [0.5005, 0.5012, 0.4991, 0.5003]},
    }
    rows = [row.to_json() for row in results.runs]
    for experiment, points in extra.items():
        for q, values in points.items():
            for s, v in enumerate(values):
                rows.append(index_row("lab", experiment, {"q": q}, s, {"accuracy": v}))
    results = Results({**results.index.to_json(), "runs": rows}, Path("."))
    claims = ClaimsFile(
        claims={
            "strong": _claim(_greater()),
            "weak": _claim(
                {"greater": {"ref": "lab/weak", "metric": "accuracy", "at": {"q": 2}, "than": {"q": 1}}}
            ),
            "flat": _claim(
                {"greater": {"ref": "lab/flat", "metric": "accuracy", "at": {"q": 2}, "than": {"q": 1}}}
            ),
        }
    )
    plain = {v.claim_id: v for v in evaluate_all(results, claims, familywise="none")}
    assert (plain["weak"].verdict, plain["flat"].verdict) == (SUPPORTED, NEGLIGIBLE)
    raw = [claim_p(v.verdict, v.evidence) for v in plain.values()]
    assert raw[2] == plain["flat"].evidence[0].p_equivalence
    holm = {v.claim_id: v for v in evaluate_all(results, claims, familywise="holm")}
    expected = multipletests(raw, alpha=0.05, method="holm")[1]
    assert [v.familywise_p for v in holm.values()] == pytest.approx(list(expected))
    for claim_id, adjusted in zip(holm, expected, strict=True):
        kept = holm[claim_id].verdict == plain[claim_id].verdict
        assert kept == (adjusted <= 0.05)
        assert kept or "not under Holm" in holm[claim_id].notes[0]


def test_an_undecided_claim_says_how_many_seeds_would_decide_it() -> None:
    results = _results({1: [0.80, 0.83, 0.79], 2: [0.82, 0.84, 0.80]})
    verdict = evaluate_claim(results, "c", _claim(_greater()))
    assert verdict.verdict == INCONCLUSIVE
    needed = verdict.seeds_needed()
    assert needed is not None and needed > 3
