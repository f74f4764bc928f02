"""Censored outcomes ("epochs to a target", None = never reached within the E epochs trained)
judged by the Wilcoxon signed-rank test on the restricted times min(T, E + 1): its exact
p-value with ties and zeros, the budget read from the declared parameter, a decision the sign
test on orders could not make, and the whole sequential rule simulated (level at 0/30/60 %
censoring, power above the sign test's)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import index_row, results_index
from scipy import stats
from simulate_claims import FALSE_WHEN_NULL, restricted, simulate

from labjournal.claims.evidence import INCONCLUSIVE, SUPPORTED
from labjournal.claims.file import Claim
from labjournal.claims.judge import evaluate_claim
from labjournal.claims.ranks import RankedEvidence, RestrictedEvidence, signed_rank
from labjournal.claims.sequential import Design
from labjournal.errors import ClaimError
from labjournal.results.lookup import Results


def _positive_rank_sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(stats.rankdata(np.abs(x), axis=axis) * (x > 0), axis=axis)


@pytest.mark.parametrize(
    "differences",
    [
        [5.0, -4.0, 2.0, 0.0, 0.0, -3.0, 0.0, -1.0, 7.0, 2.0],  # zeros and tied magnitudes
        [1.0, 4.0, 2.0, 0.0, 2.0, 5.0, 0.0, 3.0, 3.0, 1.0],  # mostly one way
        [-1.0, 0.0, -1.0, -1.0, 2.0, -1.0],
    ],
)
def test_the_signed_rank_p_value_is_the_exact_permutation_p_value_with_ties(differences: list[float]) -> None:
    """The same p-value as scipy's permutation test enumerating every sign flip (zeros dropped,
    midranks for ties), which scipy.stats.wilcoxon's exact method does not give with ties."""
    untied = np.array([d for d in differences if d != 0])
    expected = stats.permutation_test(
        (untied,), _positive_rank_sum, permutation_type="samples", n_resamples=10**6, vectorized=True
    ).pvalue
    p, z = signed_rank(tuple(differences))
    assert p == pytest.approx(expected, rel=1e-12)
    assert np.sign(z) == np.sign(np.sum(stats.rankdata(np.abs(untied)) * np.sign(untied)))


def test_without_ties_it_is_scipys_exact_wilcoxon() -> None:
    d = np.random.default_rng(5).normal(0.6, 1.0, 12)
    assert signed_rank(tuple(d))[0] == pytest.approx(stats.wilcoxon(d, method="exact").pvalue)
    assert signed_rank((0.0, 0.0)) == (1.0, 0.0)


def _results(at: list, than: list, epochs: int = 30) -> Results:
    rows = [
        index_row("lab", "exp", {"lr": lr, "epochs": epochs}, seed, {"epochs_to_threshold": v})
        for lr, values in ((0.02, at), (0.5, than))
        for seed, v in enumerate(values)
    ]
    return Results(results_index(rows, "t"), Path("."))


def _claim(**options) -> Claim:
    compared = {"ref": "lab/exp", "metric": "epochs_to_threshold", "margin": 1, **options}
    expect = {"greater": {**compared, "at": {"lr": 0.02}, "than": {"lr": 0.5}}}
    return Claim.model_validate({"lab": "lab", "sentence": "s", "expect": expect})


def test_a_censored_part_ranks_restricted_times_with_the_budget_of_its_parameter() -> None:
    """Never reached within 30 epochs scores 31, one past every epoch trained; the pairs'
    differences of restricted times get the signed-rank test, and no Δ of epochs is printed."""
    results = _results([9, 12, 11, 8], [4, None, 3, None])
    evidence = evaluate_claim(results, "c", _claim(censored_at="epochs")).evidence[0]
    assert isinstance(evidence, RestrictedEvidence) and evidence.budget == 30
    assert evidence.restricted == [(9, 4), (12, 31), (11, 3), (8, 31)]
    assert evidence.differences == [5, -19, 8, -23]
    assert evidence.p_value == pytest.approx(signed_rank((5.0, -19.0, 8.0, -23.0))[0])
    assert evidence.method.startswith("signed-rank test on restricted times")
    assert "min(T, 30 + 1)" in evidence.summary() and "Δ" not in evidence.summary()
    assert (evidence.later, evidence.earlier, evidence.censored) == (2, 2, 2)
    numeric = evaluate_claim(results, "c", _claim(censored_at=12)).evidence[0]
    assert numeric.budget == 12 and numeric.restricted[1] == (12, 13)


def test_a_run_reaching_the_target_only_after_the_budget_counts_as_never() -> None:
    evidence = evaluate_claim(_results([9, 40, 5], [None, None, 3]), "c", _claim(censored_at=30)).evidence[0]
    assert evidence.restricted == [(9, 31), (31, 31), (5, 3)] and evidence.both_censored == 1


def test_how_much_later_decides_where_which_was_later_cannot() -> None:
    """Six seeds much later, one a single epoch earlier: the sign test's p is 2 x 8/128 = 0.125,
    the signed-rank test's 2 x 2/128 = 0.031 (only the smallest difference goes the other way)."""
    at, than = [20, 22, 25, 21, 24, 23, 5], [5, 6, 7, 5, 6, 4, 6]
    restricted_part = evaluate_claim(_results(at, than), "c", _claim(censored_at="epochs")).evidence[0]
    assert restricted_part.p_value == pytest.approx(2 * 2 / 128) and restricted_part.verdict == SUPPORTED
    base = {
        k: getattr(restricted_part, k) for k in ("description", "expected", "ref", "margin", "margin_note")
    }
    sign = RankedEvidence(**base, design=Design.fixed(), orders=restricted_part.orders)
    assert sign.p_value == pytest.approx(2 * 8 / 128) and sign.verdict == INCONCLUSIVE


def test_censored_at_naming_no_parameter_of_the_runs_is_an_error() -> None:
    with pytest.raises(ClaimError, match="censored_at: 'budget' must name a numeric parameter"):
        evaluate_claim(_results([9, 12], [4, None]), "c", _claim(censored_at="budget"))


def test_the_seeds_it_would_need_are_at_80_percent_power() -> None:
    """Three of three earlier: the standardised signed-rank statistic is -6 / sqrt(14) = -1.60,
    0.926 per seed; 80 % power at the two-sided 5 % level needs ((1.96 + 0.84) / 0.926)^2 = 9.1 seeds, the median
    figure 4.5, but never fewer than the six an exact test needs with every pair one way."""
    evidence = evaluate_claim(
        _results([4, 5, 4], [None, 30, 28]), "c", _claim(censored_at="epochs")
    ).evidence[0]
    z = evidence._test()[1]
    effect = abs(z) / math.sqrt(3)
    assert evidence.seeds_needed() == math.ceil(((stats.norm.isf(0.025) + stats.norm.ppf(0.8)) / effect) ** 2)
    assert evidence.seeds_needed(power=0.5) == 6


SMALL = 300  # claims per scenario: a small simulation with a fixed seed
BOUND = 0.05 + 3 * math.sqrt(0.05 * 0.95 / SMALL)


@pytest.mark.parametrize("censoring", [0.0, 0.3, 0.6])
def test_with_no_difference_the_whole_rule_errs_at_most_five_percent(censoring: float) -> None:
    """Looks at 3, 5, ..., 15 seeds at the signed-rank test's own O'Brien–Fleming-shaped levels, futility on."""
    shares = simulate([restricted(1.0, censoring)], SMALL)
    assert sum(shares[v] for v in FALSE_WHEN_NULL) <= BOUND


def test_at_later_by_half_again_it_is_more_powerful_than_the_sign_test() -> None:
    """The same simulated runs (the same random seed) judged both ways, whole rule, cap 15."""
    ranks = simulate([restricted(1.5, 0.0)], SMALL)["supported"]
    signs = simulate([restricted(1.5, 0.0, test="sign")], SMALL)["supported"]
    assert ranks > signs + 0.08, (ranks, signs)
    censored_ranks = simulate([restricted(2.0, 0.3)], SMALL)["supported"]
    censored_signs = simulate([restricted(2.0, 0.3, test="sign")], SMALL)["supported"]
    assert censored_ranks > censored_signs, (censored_ranks, censored_signs)


def test_each_look_decides_at_the_signed_rank_tests_own_level() -> None:
    """At the cap of the default design, p = 0.0356 is past the t's level (0.0352) but within the
    signed-rank test's own (0.0413): decided by the restricted times, where the t's level would
    have left it open; its design-adjusted p-value is below 5 % exactly then."""
    design = Design.schedule(3, 2, 15)
    differences = [6.0, -2.0, -3.0, 2.0, -3.0, -1.0, 0.0, 6.0, 6.0, 0.0, 4.0, 6.0, 0.0, 6.0, 5.0]
    p = signed_rank(tuple(differences))[0]
    assert design.level(15) < p <= design.level(15, "signed-rank")
    base = dict(
        description="d", expected="positive", ref="lab/exp", margin=1.0, margin_note="", design=design
    )
    pairs = [(10.0 + d, 10.0) for d in differences]
    evidence = RestrictedEvidence(
        **base, orders=[(d > 0) - (d < 0) for d in differences], budget=30, restricted=pairs
    )
    assert evidence.verdict == SUPPORTED and evidence.p_value <= 0.05
    early = RestrictedEvidence(**base, orders=[1] * 7, budget=30, restricted=[(20.0, 5.0)] * 7)
    assert signed_rank((15.0,) * 7)[0] == pytest.approx(2 / 128)  # all seven one way
    assert early.verdict == INCONCLUSIVE  # n = 7 is an early look: its level is 0.0028
