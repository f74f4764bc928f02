"""The decision procedure proved by simulation, adaptive stopping included: with no true
difference, supported + contradicted stays at or below 5 % (plus Monte Carlo error) over 2,000
simulated claims; the power at a stated true difference is reported; equivalence gives
"negligible" when it should. A naive procedure (a fixed-sample interval re-tested after every
batch of seeds) is shown to fail the same check, so the simulation can tell the two apart."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labjournal.claims.evidence import CONTRADICTED, DECIDED, NEGLIGIBLE, SUPPORTED, Evidence
from labjournal.plan.sequential import Design, seeds_to_decide

CLAIMS = 2_000
LOOKS = Design.schedule(3, 2, 15)  # the default profile's design: 3, 5, ..., 15 seeds


def simulate(true_difference: float, margin: float, design: Design, claims: int = CLAIMS, seed: int = 1):
    """Run the adaptive procedure on `claims` synthetic claims: paired differences ~ N(true, 1),
    looked at after each batch of seeds, stopped as soon as a verdict is decided. Returns the
    share of each final verdict."""
    rng = np.random.default_rng(seed)
    looks = design.looks or (15,)
    counts = {"supported": 0, "contradicted": 0, "negligible": 0, "inconclusive": 0}
    for _ in range(claims):
        data = rng.normal(true_difference, 1.0, looks[-1])
        verdict = "inconclusive"
        for n in looks:
            evidence = Evidence(
                description="sim",
                expected="positive",
                ref="sim/x",
                margin=margin,
                margin_note="",
                design=design,
                differences=list(data[:n]),
            )
            verdict = evidence.verdict
            if verdict in DECIDED:
                break
        counts[verdict] += 1
    return {name: count / claims for name, count in counts.items()}


def monte_carlo_bound(rate: float, claims: int = CLAIMS) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / claims)


def test_no_true_difference_gives_at_most_five_percent_false_decisions() -> None:
    shares = simulate(0.0, margin=0.25, design=LOOKS)
    false = shares[SUPPORTED] + shares[CONTRADICTED]
    print(f"\nno true difference, looks {LOOKS.looks}: false decisions {false:.3%} ({shares})")
    assert false <= monte_carlo_bound(0.05)
    assert false > 0.02  # the design spends its error rate: not a procedure that never decides


def test_re_testing_a_fixed_interval_after_each_batch_is_not_valid() -> None:
    """Optional stopping with the plain 95 % interval: the simulation catches it."""

    class Naive(Design):
        @property
        def nominal_alpha(self) -> float:
            return self.alpha

    shares = simulate(0.0, margin=0.25, design=Naive(LOOKS.looks))
    false = shares[SUPPORTED] + shares[CONTRADICTED]
    print(f"\nnaive re-testing: false decisions {false:.3%}")
    assert false > monte_carlo_bound(0.05)


def test_power_at_a_true_difference_of_one_standard_deviation() -> None:
    shares = simulate(1.0, margin=0.25, design=LOOKS)
    print(f"\ntrue difference 1 sd: power (supported) {shares[SUPPORTED]:.1%} ({shares})")
    assert shares[SUPPORTED] >= 0.6
    assert shares[CONTRADICTED] <= 0.001


def test_equivalence_gives_negligible_when_the_difference_is_inside_the_margin() -> None:
    shares = simulate(0.0, margin=2.0, design=LOOKS)
    print(f"\nno difference, margin 2 sd: negligible {shares[NEGLIGIBLE]:.1%} ({shares})")
    assert shares[NEGLIGIBLE] >= 0.9
    assert shares[SUPPORTED] + shares[CONTRADICTED] <= monte_carlo_bound(0.05)


def test_a_difference_just_outside_the_margin_is_rarely_called_negligible() -> None:
    """Equivalence's own error: a true difference at the margin is called negligible at most
    alpha / 2 of the time (the interval is two-sided at the design's level)."""
    shares = simulate(0.5, margin=0.5, design=LOOKS)
    assert shares[NEGLIGIBLE] <= monte_carlo_bound(0.025)


def test_the_design_is_calibrated_and_deterministic() -> None:
    assert Design.fixed().nominal_alpha == 0.05 and not Design.fixed().sequential
    assert LOOKS.looks == (3, 5, 7, 9, 11, 13, 15)
    nominal = LOOKS.nominal_alpha
    assert 0.008 < nominal < 0.016  # Pocock's level for seven looks (about 0.014 on the z scale)
    assert Design.schedule(3, 2, 15).nominal_alpha == nominal  # same simulation, same level
    assert Design.schedule(3, 2, 11).nominal_alpha > nominal  # fewer looks, less to pay
    assert Design.schedule(3, 2, 10).looks == (3, 5, 7, 9, 10)
    assert Design.from_json(LOOKS.to_json()) == LOOKS
    # The same level on any machine: the calibration draws from a fixed seed of numpy's PCG64
    # (a numpy that changed its normal stream would change this number, and this test says so).
    assert round(nominal, 6) == 0.01173
    assert LOOKS.repeated_p(nominal) == pytest.approx(0.05, abs=0.005)
    assert LOOKS.repeated_p(1e-9) < 0.001 and LOOKS.repeated_p(0.5) > 0.5


def test_seeds_to_decide_grows_as_the_effect_shrinks() -> None:
    design = Design.fixed()
    assert seeds_to_decide(1.0, 1.0, 0.1, design, have=3) < seeds_to_decide(1.0, 0.5, 0.1, design, have=3)
    n = seeds_to_decide(1.0, 0.5, 0.1, design, have=3)
    assert design.critical(n - 1) / math.sqrt(n) < 0.5 <= design.critical(n - 2) / math.sqrt(n - 1)
    assert seeds_to_decide(0.0, 0.5, 0.1, design, have=3) is None


def test_why_adding_seeds_stopped_is_read_from_old_and_new_decision_files() -> None:
    """`results/decisions.json` keeps the reason and its wording; files from before the reason was
    kept hold the wording only, and read back to the same reasons and the same wording."""
    from labjournal.records import NO_SEEDS_ADDED, Decisions, StopReason, stop_note

    worded = {
        "a": "decided",
        "b": "its lab has no results",
        "c": "seed cap (4 seeds)",
        "d": "futile, deciding it would take more than twice the cap of 10 seeds",
        "e": "time budget (0.5 minutes) spent",
        "f": "still adding seeds",
    }
    old = Decisions.model_validate(
        {"profile": "quick", "claims": {k: {"stopped": v} for k, v in worded.items()}}
    )
    assert [d.reason for d in old.claims.values()] == list(StopReason)
    # The budget's wording says when its clock started and that a later report continues.
    budget = "stopped by the time budget (0.5 minutes after the first pass); a later report continues it"
    assert {k: d.prose for k, d in old.claims.items()} == {**worded, "e": budget}
    new = old.to_json()
    stopped = {k: d["stopped"] for k, d in new["claims"].items()}
    assert stopped == {**worded, "e": budget}  # readers of the wording keep working
    assert new["claims"]["e"]["reason"] == "budget" and Decisions.model_validate(new) == old
    assert Decisions.model_validate({"claims": {"e": {"stopped": budget}}}).claims["e"] == old.claims["e"]
    assert stop_note(old.claims["a"]).startswith("adding seeds stopped when it was decided at its own level")
    assert stop_note(old.claims["c"]) == "seed cap (4 seeds)" and stop_note(None) == NO_SEEDS_ADDED
