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
from labjournal.claims.sequential import Design, seeds_to_decide

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
        def level(self, n: int, test: str = "t") -> float:
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
    assert Design.fixed().level(4) == 0.05 and Design.fixed().repeated_p(0.03, 4) == 0.03
    assert LOOKS.looks == (3, 5, 7, 9, 11, 13, 15) and LOOKS.boundary == "obrien-fleming"
    levels = LOOKS.levels()
    assert list(levels) == sorted(levels)  # O'Brien–Fleming: strict early, looser late
    assert levels[0] < 1e-4 and 0.03 < levels[-1] < 0.05  # nearly nothing at n = 3, most at the cap
    assert Design.schedule(3, 2, 15).levels() == levels  # same simulation, same levels
    assert Design.schedule(3, 2, 11).levels()[-1] > levels[-1]  # fewer looks, less to pay
    assert Design.schedule(3, 2, 10).looks == (3, 5, 7, 9, 10)
    assert Design.from_json(LOOKS.to_json()) == LOOKS
    # A design saved before boundaries had a name was Pocock's, and reads back as it was.
    old = Design.from_json({"looks": [3, 5, 7, 9, 11, 13, 15], "alpha": 0.05})
    assert old.boundary == "pocock" and old != LOOKS
    # The same levels on any machine: the calibration draws from a fixed seed of numpy's PCG64
    # (a numpy that changed its normal stream would change these numbers, and this test says so).
    assert [round(x, 6) for x in levels] == [
        2e-06,
        0.000265,
        0.002051,
        0.006554,
        0.013927,
        0.023693,
        0.035215,
    ]
    assert round(old.level(9), 5) == 0.01173  # Pocock's constant level, as pinned before
    # Between looks (a run without a value), the look before: the stricter level.
    assert LOOKS.level(10) == LOOKS.level(9) and LOOKS.level(2) == LOOKS.level(3)
    assert LOOKS.level(40) == levels[-1]
    for n in LOOKS.looks:  # below a level exactly where the look's interval excludes zero
        assert LOOKS.repeated_p(LOOKS.level(n), n) == pytest.approx(0.05, abs=0.002)
    assert LOOKS.repeated_p(1e-9, 15) < 0.001 and LOOKS.repeated_p(0.5, 15) > 0.5
    assert LOOKS.repeated_p(1e-4, 3) > 0.1  # p = 0.0001 at n = 3 is far from decisive


def test_each_test_reads_its_own_calibration() -> None:
    """The signed-rank test's discrete p-values over the looks have their own law: its levels
    are calibrated on them (higher than the t's: the t's levels left its error at 1-2 %), and
    the Pitman–Morgan test's correlation t (n − 2 df) gets nearly the t's."""
    ranks = LOOKS.levels("signed-rank")
    assert all(r > t for r, t in zip(ranks, LOOKS.levels(), strict=True))
    assert [round(x, 4) for x in ranks] == [0.0, 0.0004, 0.0028, 0.0084, 0.0172, 0.0284, 0.0413]
    assert LOOKS.levels("pitman-morgan") == pytest.approx(LOOKS.levels(), rel=0.05, abs=1e-5)
    with pytest.raises(ValueError, match="unknown test"):
        LOOKS.levels("anova")


def test_obrien_fleming_decides_more_by_the_cap_than_pocock() -> None:
    """The reason for the shape: at the same 5 % a true 0.8 sd is decided more often by n = 15."""
    pocock = Design.schedule(3, 2, 15, boundary="pocock")
    assert pocock.levels() == pytest.approx([0.01173] * 7, abs=1e-5)
    obf = simulate(0.8, margin=0.25, design=LOOKS, claims=1000, seed=3)
    flat = simulate(0.8, margin=0.25, design=pocock, claims=1000, seed=3)
    assert obf[SUPPORTED] > flat[SUPPORTED] + 0.05


def test_seeds_to_decide_grows_as_the_effect_shrinks() -> None:
    design = Design.fixed()
    assert seeds_to_decide(1.0, 1.0, 0.1, design, have=3) < seeds_to_decide(1.0, 0.5, 0.1, design, have=3)
    n = seeds_to_decide(1.0, 0.5, 0.1, design, have=3)
    assert design.critical(n, n - 1) / math.sqrt(n) < 0.5 <= design.critical(n - 1, n - 2) / math.sqrt(n - 1)
    assert seeds_to_decide(0.0, 0.5, 0.1, design, have=3) is None
    # Under the sequential design each n is judged at its own look's level: stricter early.
    m = seeds_to_decide(1.0, 1.5, 0.1, LOOKS, have=3)
    assert m > seeds_to_decide(1.0, 1.5, 0.1, design, have=3)
    assert LOOKS.critical(m, m - 1) / math.sqrt(m) < 1.5 <= LOOKS.critical(m - 1, m - 2) / math.sqrt(m - 1)


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


def test_a_part_leaning_the_wrong_way_beside_a_supported_one_is_never_futile() -> None:
    """Futility stops a claim whose open parts would take more than twice the cap; but a part
    leaning the wrong way beside a supported one may yet be contradicted, so it keeps getting
    seeds (the mirror image, leaning the expected way, is stopped as futile)."""
    from labjournal.claims.evidence import PARTLY
    from labjournal.claims.file import Claim
    from labjournal.claims.judge import Verdict
    from labjournal.claims.verdicts import judge
    from labjournal.pipeline.decide import _decide
    from labjournal.plan.schema import Decide
    from labjournal.records import StopReason

    def part(differences: list[float]) -> Evidence:
        return Evidence("p", "positive", "sim/x", 0.25, "", LOOKS, differences=differences)

    strong = part([3.1, 2.8, 3.4, 2.9, 3.2, 3.0, 2.7])
    wrong = part([-1.5, 1.2, -0.9, 0.8, -1.0, 0.5, -0.3])  # mean -0.17, sd 1.0: futile
    claim = Claim.model_construct(lab="sim", sentence="s")
    settings = Decide(max_seeds=15, batch=2)
    for leaning, reason in (
        (wrong, StopReason.ADDING),
        (part([-d for d in wrong.differences]), StopReason.FUTILITY),
    ):
        parts = [strong, leaning]
        verdict = Verdict("c", claim, judge(parts), parts)
        assert verdict.verdict == PARTLY
        assert leaning.seeds_needed(power=0.5, limit=30) > 30  # futile by the figure
        decision, growing = _decide(verdict, settings)
        assert decision.reason is reason
        assert growing == ([leaning] if reason is StopReason.ADDING else [])
