""" "Would need about N seeds" is the number at which the part's test has 80 % power, taking the
observed difference and spread as the truth (labjournal.claims.power): against statsmodels'
power of the t test, against a simulation, and against the median figure it replaces."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.power import TTestPower

from labjournal.claims.evidence import Evidence
from labjournal.claims.sequential import Design, seeds_to_decide

BASE = dict(description="d", expected="positive", ref="lab/exp", margin=0.25, margin_note="")


def _part(differences: list[float], design: Design | None = None) -> Evidence:
    return Evidence(**BASE, design=design or Design.fixed(), differences=differences)


def test_the_seeds_needed_are_statsmodels_80_percent_power_n() -> None:
    part = _part([0.9, -0.4, 1.1, 0.2])  # mean 0.45, sd 0.68: heading away from zero
    effect = part.mean / part.spread
    expected = math.ceil(TTestPower().solve_power(effect_size=effect, alpha=0.05, power=0.8))
    assert part.seeds_needed() == expected
    power = TTestPower().power
    assert power(effect, expected, 0.05) >= 0.8 > power(effect, expected - 1, 0.05)


def test_a_sequential_design_asks_at_the_level_of_each_look() -> None:
    """Under the O'Brien–Fleming-shaped design n seeds are judged at the level of their look
    (stricter early): the figure is the smallest n whose own level gives 80 % power."""
    design = Design.schedule(3, 2, 15)
    part = _part([0.9, -0.4, 1.1, 0.2], design)
    effect = part.mean / part.spread
    expected = math.ceil(TTestPower().solve_power(effect_size=effect, alpha=design.nominal_alpha, power=0.8))
    assert part.seeds_needed() == expected  # past the cap: the last look's level
    strong = _part([1.4, 0.2, 1.9, 0.7], design)  # mean 1.05, sd 0.73: open, decided within the cap
    effect = strong.mean / strong.spread
    n = strong.seeds_needed()
    power = TTestPower().power
    assert power(effect, n, design.level(n)) >= 0.8 > power(effect, n - 1, design.level(n - 1))
    assert n > _part([1.4, 0.2, 1.9, 0.7]).seeds_needed()  # the fixed-sample 5 % needs fewer


def test_heading_inside_the_margin_it_is_the_power_of_the_two_one_sided_tests() -> None:
    part = _part([0.2, -0.3, 0.25, -0.15, 0.05])  # mean 0.01, heading inside ±0.25
    distance = (0.25 - abs(part.mean)) / part.spread
    expected = math.ceil(TTestPower().solve_power(distance, alpha=0.025, power=0.8, alternative="larger"))
    assert part.seeds_needed() == max(expected, part.n)


def test_at_that_many_seeds_a_simulated_t_test_decides_80_percent_of_the_time() -> None:
    part = _part([0.9, -0.4, 1.1, 0.2])
    n = part.seeds_needed()
    rng = np.random.default_rng(3)
    samples = rng.normal(part.mean, part.spread, (20_000, n))
    t = samples.mean(axis=1) / (samples.std(axis=1, ddof=1) / math.sqrt(n))
    decided = np.mean(np.abs(t) > stats.t.isf(0.025, n - 1))
    assert 0.8 <= decided < 0.86


def test_the_old_figure_was_the_median_one() -> None:
    """The figure printed before was the n at which the observed difference would just be
    decided: about the 50 %-power n, well below the 80 % one."""
    part = _part([0.9, -0.4, 1.1, 0.2])
    old = seeds_to_decide(part.spread, part.mean, part.margin, Design.fixed(), part.n)
    assert abs(part.seeds_needed(power=0.5) - old) <= 1
    assert part.seeds_needed() >= old + 5
