"""Run-to-run stability (`spread: true`): the variances across seeds of two grid points compared
by the paired Pitman–Morgan test, its statistic against the textbook formula, its interval as
the test's inversion, the option in claims.yml, and the whole rule simulated."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import index_row, results_index
from scipy import stats
from simulate_claims import FALSE_WHEN_NULL, simulate, spread

from labjournal.claims.evidence import CONTRADICTED, SUPPORTED
from labjournal.claims.file import Claim, load_claims_file
from labjournal.claims.judge import evaluate_claim
from labjournal.claims.spread import SpreadEvidence, log_ratio_interval, pitman_morgan
from labjournal.errors import ClaimError
from labjournal.results.lookup import Results

X = [0.81, 0.84, 0.79, 0.86, 0.80, 0.83, 0.78]  # one value per seed at each point
Y = [0.815, 0.826, 0.809, 0.84, 0.812, 0.821, 0.806]


def test_the_pitman_morgan_statistic_is_the_textbook_one() -> None:
    """Pitman (1939), Morgan (1939): t = (F - 1) sqrt(n - 2) / (2 sqrt(F (1 - r^2))), F the ratio
    of the sample variances, r the correlation of x and y, t(n - 2) under equal variances."""
    n = len(X)
    f = np.var(X, ddof=1) / np.var(Y, ddof=1)
    r = np.corrcoef(X, Y)[0, 1]
    t = (f - 1) * math.sqrt(n - 2) / (2 * math.sqrt(f * (1 - r * r)))
    assert pitman_morgan(X, Y) == pytest.approx(2 * stats.t.sf(abs(t), n - 2), rel=1e-10)
    assert pitman_morgan(X, Y, alternative="greater") == pytest.approx(stats.t.sf(t, n - 2), rel=1e-10)


def test_its_interval_is_the_set_of_ratios_the_test_keeps() -> None:
    log_f, low, high = log_ratio_interval(X, Y, 0.05)
    assert log_f == pytest.approx(math.log(np.var(X, ddof=1) / np.var(Y, ddof=1)))
    assert pitman_morgan(X, Y, math.exp(low)) == pytest.approx(0.05)
    assert pitman_morgan(X, Y, math.exp(high)) == pytest.approx(0.05)
    assert low < log_f < high


def _results(first: list[float], second: list[float]) -> Results:
    rows = [
        index_row("lab", "exp", {"optimizer": name}, seed, {"val_accuracy": v})
        for name, values in (("adam", first), ("sgd", second))
        for seed, v in enumerate(values)
    ]
    return Results(results_index(rows, "t"), Path("."))


def _claim(**options) -> Claim:
    compared = {
        "ref": "lab/exp",
        "metric": "val_accuracy",
        "at": {"optimizer": "adam"},
        "than": {"optimizer": "sgd"},
    }
    return Claim.model_validate({"lab": "lab", "sentence": "s", "expect": {"less": {**compared, **options}}})


def test_a_spread_part_compares_the_variances_across_seeds_paired_by_seed() -> None:
    rng = np.random.default_rng(1)
    shared = rng.normal(size=12)
    steady, variable = 0.8 + 0.002 * shared, 0.8 + 0.02 * shared + 0.01 * rng.normal(size=12)
    evidence = evaluate_claim(_results(list(steady), list(variable)), "c", _claim(spread=True, margin=0.69))
    part = evidence.evidence[0]
    assert isinstance(part, SpreadEvidence) and part.n == 12
    assert part.mean == pytest.approx(math.log(np.var(steady, ddof=1) / np.var(variable, ddof=1)))
    assert part.verdict == SUPPORTED and part.p_value == pytest.approx(pitman_morgan(steady, variable))
    assert "Pitman–Morgan" in part.method and "variance ratio" in part.summary()
    reverse = evaluate_claim(_results(list(variable), list(steady)), "c", _claim(spread=True, margin=0.69))
    assert reverse.evidence[0].verdict == CONTRADICTED
    plain = evaluate_claim(_results(list(steady), list(variable)), "c", _claim(margin=0.01)).evidence[0]
    assert not isinstance(plain, SpreadEvidence)  # without the option the means are compared


def test_a_spread_part_declares_its_margin_and_takes_one_test(tmp_path: Path) -> None:
    claims = tmp_path / "claims.yml"
    part = "{ref: lab/exp, metric: val_accuracy, at: {o: a}, than: {o: b}, spread: true"
    claims.write_text(f"claims:\n  c:\n    lab: lab\n    sentence: s\n    expect:\n      less: {part}}}\n")
    with pytest.raises(ClaimError, match=r"claims.yml:6: .*declare its margin on this part"):
        load_claims_file(claims)
    claims.write_text(claims.read_text().replace("spread: true", "spread: true, margin: 1, censored_at: 3"))
    with pytest.raises(ClaimError, match="give at most one of censored_at, spread, adjust"):
        load_claims_file(claims)


def test_fewer_than_three_seeds_or_no_spread_give_no_interval() -> None:
    two = evaluate_claim(_results([0.8, 0.9], [0.7, 0.75]), "c", _claim(spread=True, margin=0.69)).evidence[0]
    assert two.interval is None and two.side is None and "no interval" in two.summary()
    flat = evaluate_claim(_results([0.8] * 4, [0.7, 0.75, 0.8, 0.6]), "c", _claim(spread=True, margin=0.69))
    assert flat.evidence[0].interval is None


SMALL = 300


def test_with_equal_variances_the_whole_rule_errs_at_most_five_percent() -> None:
    shares = simulate([spread(1.0)], SMALL)
    assert sum(shares[v] for v in FALSE_WHEN_NULL) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / SMALL)


def test_a_variance_four_times_smaller_is_found_most_of_the_time() -> None:
    assert simulate([spread(0.25)], SMALL)["supported"] >= 0.4
