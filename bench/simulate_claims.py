"""The whole decision rule, simulated: seeds added two at a time from 3 up to 15 (the default
profile's design: O'Brien–Fleming-shaped repeated intervals, each test at its own calibrated
level per look, labjournal.claims.sequential), futility stopping (never for a part leaning the
wrong way beside a supported one), claims of one to three parts, trends with per-seed random
slopes, censored outcomes at several rates, unequal seed counts, a refuted part beside a supported
one, and Holm over a family of claims (the default) with seeds added for the family's levels.
Every verdict and every decision to add seeds comes from the project's own functions
(labjournal.claims.evidence, .ranks, .verdicts, .judge, .decide), so what is simulated is what
`labjournal check` and `make report` do.

    python bench/simulate_claims.py [--claims 5000] [--families 2000] [--sizes 10,12]

prints one row per scenario: the share of each claim label ("supported" plain, "supported,
possibly below the margin", partly supported, contradicted, negligible, inconclusive) and the
seeds used, then the family-wise error of families of null claims, the sharper tests' table and
the boundaries compared (Pocock's constant level against the O'Brien–Fleming shape, same draws). The tests in
tests/test_claims_simulation.py run the same scenarios and assert the error rates.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

try:  # the installed engine; this checkout's src/ only where none is installed
    import labjournal  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from labjournal.claims.adjust import adjusted_evidence  # noqa: E402
from labjournal.claims.evidence import Evidence, seed_slope  # noqa: E402
from labjournal.claims.file import Claim  # noqa: E402
from labjournal.claims.judge import Verdict, apply_holm  # noqa: E402
from labjournal.claims.ranks import ranked  # noqa: E402
from labjournal.claims.sequential import Design  # noqa: E402
from labjournal.claims.spread import spread_evidence  # noqa: E402
from labjournal.claims.verdicts import judge  # noqa: E402
from labjournal.pipeline.decide import _decide  # noqa: E402
from labjournal.plan.schema import Decide  # noqa: E402
from labjournal.records import StopReason  # noqa: E402

DESIGN = Design.schedule(3, 2, 15)
CAP = 15
SETTINGS = Decide(max_seeds=CAP, batch=2)
SEED = 20261126
FALSE_WHEN_NULL = ("supported", "partly-supported", "contradicted")
CLAIM = Claim.model_construct(lab="sim", sentence="simulated")


def _base(design: Design, margin: float = 0.25) -> dict:
    return dict(
        description="sim", expected="positive", ref="sim/x", margin=margin, margin_note="", design=design
    )


# Each part maker takes (rng) and returns a function n -> Evidence on the first n seeds.
PartMaker = Callable[[np.random.Generator], Callable[[int], Evidence]]


def paired(effect: float, margin: float = 0.25, design: Design = DESIGN) -> PartMaker:
    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        data = rng.normal(effect, 1.0, CAP)
        return lambda n: Evidence(**_base(design, margin), differences=list(data[:n]))

    return make


def trend(
    mean_slope: float, slope_sd: float, points: int = 4, extra_at_first: int = 0, design: Design = DESIGN
) -> PartMaker:
    """Per-seed slopes ~ N(mean, slope_sd) over `points` x positions, unit noise per run; with
    `extra_at_first`, the first point has that many more seeds than the others (unequal counts)."""

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        xs = np.arange(points, dtype=float)
        slopes = rng.normal(mean_slope, slope_sd, CAP + extra_at_first)
        values = slopes[:, None] * xs[None, :] + rng.normal(0, 1.0, (CAP + extra_at_first, points))

        def at(n: int) -> Evidence:
            complete = range(n)  # seeds that ran every point; the extra seeds ran the first only
            per_seed = [seed_slope(list(zip(xs, values[s], strict=True))) for s in complete]
            return Evidence(**_base(design), differences=per_seed)

        return at

    return make


def censored(shift: float, censoring: float, design: Design = DESIGN) -> PartMaker:
    """Epochs to a target ~ exponential; `at` later by `shift` (in its scale); censored at the
    bound that leaves `censoring` of the `than` runs unreached, E = that bound in epochs (the
    engine's rule: the signed-rank test on restricted times, labjournal.claims.ranks)."""
    bound = -math.log(censoring) if censoring > 0 else math.inf
    budget = math.ceil(10 * bound) if censoring > 0 else 10**6

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        a = rng.exponential(1.0, CAP) * math.exp(shift)
        b = rng.exponential(1.0, CAP)
        a_seen = {s: (None if a[s] > bound else float(np.ceil(a[s] * 10))) for s in range(CAP)}
        b_seen = {s: (None if b[s] > bound else float(np.ceil(b[s] * 10))) for s in range(CAP)}
        return lambda n: ranked(
            {**_base(design), "expected": "positive"},
            {s: a_seen[s] for s in range(n)},
            {s: b_seen[s] for s in range(n)},
            budget,
        )

    return make


@dataclass
class Outcome:
    verdict: str
    label: str
    seeds: int
    parts: list[Evidence]


def _verdict(parts: list[Evidence]) -> Verdict:
    return Verdict("sim", CLAIM, judge(parts), parts)


def _next_look(n: int, design: Design) -> int | None:
    later = [look for look in design.looks if look > n]
    return later[0] if later else None


def run_family(
    claims: list[list[Callable[[int], Evidence]]], design: Design = DESIGN, family: bool = True
) -> list[Outcome]:
    """Claims judged together at every look, as `make report` judges a journal: Holm over the
    claims where `family`, and each claim still adding seeds (labjournal.pipeline.decide) gets the
    next look's seeds, until none does."""
    gc.freeze()  # statsmodels' Holm calls gc.collect(): never rescan what the simulation built
    seeds = [design.looks[0] if design.looks else CAP] * len(claims)
    while True:
        verdicts = [_verdict([part(n) for part in parts]) for parts, n in zip(claims, seeds, strict=True)]
        if family:
            apply_holm(verdicts, design.alpha)
        grew = False
        for i, verdict in enumerate(verdicts):
            decision, growing = _decide(verdict, SETTINGS)
            after = _next_look(seeds[i], design)
            if decision.reason is StopReason.ADDING and growing and after is not None:
                seeds[i], grew = after, True
        if not grew:
            return [Outcome(v.verdict, v.label, n, v.evidence) for v, n in zip(verdicts, seeds, strict=True)]


def run_claim(parts: list[Callable[[int], Evidence]], design: Design = DESIGN) -> Outcome:
    """One claim alone: looks at 3, 5, ... seeds; stops when it is settled, at the cap, or for
    futility."""
    return run_family([parts], design, family=False)[0]


LABELS = ("supported", "below margin", "partly-supported", "contradicted", "negligible", "inconclusive")


def simulate(
    makers: list[PartMaker], claims: int, seed: int = SEED, design: Design = DESIGN
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    seeds = 0
    for _ in range(claims):
        outcome = run_claim([make(rng) for make in makers], design)
        counts[outcome.verdict] += 1
        counts["below margin"] += outcome.label.startswith("supported, possibly below")
        seeds += outcome.seeds
    shares = {v: counts[v] / claims for v in LABELS}
    shares["plain supported"] = shares["supported"] - shares["below margin"]
    shares["mean seeds"] = seeds / claims
    return shares


def simulate_family(size: int, claims: int, use_holm: bool, seed: int = SEED) -> float:
    """Families of `size` one-part claims with no true effect, judged together with seeds added
    as `make report` adds them (for Holm: until each claim is settled at its family level): the
    share of families with at least one false decision."""
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(claims):
        outcomes = run_family([[paired(0.0)(rng)] for _ in range(size)], family=use_holm)
        wrong += any(o.verdict in FALSE_WHEN_NULL for o in outcomes)
    return wrong / claims


SCENARIOS: dict[str, list[PartMaker]] = {
    "no difference, one part": [paired(0.0)],
    "no difference, two parts": [paired(0.0), paired(0.0)],
    "no difference, three parts": [paired(0.0), paired(0.0), paired(0.0)],
    "true 0.5 sd, one part (power)": [paired(0.5)],
    "true 0.8 sd, one part (power)": [paired(0.8)],
    "true 1 sd, one part (power)": [paired(1.0)],
    "true 3 sd + no difference": [paired(3.0), paired(0.0)],
    "true 3 sd + a part 1 sd the wrong way": [paired(3.0), paired(-1.0)],
    "true 1 sd + a part 1 sd the wrong way": [paired(1.0), paired(-1.0)],
    "true half the margin": [paired(0.125)],
    "true 3 sd + a part at half the margin": [paired(3.0), paired(0.125)],
    "trend, no mean slope, per-seed slopes sd 0.5": [trend(0.0, 0.5)],
    "trend, no mean slope, unequal seed counts": [trend(0.0, 0.5, extra_at_first=6)],
    "trend, slope 0.5 (power)": [trend(0.5, 0.5)],
    "censored 0 %, no difference": [censored(0.0, 0.0)],
    "censored 30 %, no difference": [censored(0.0, 0.3)],
    "censored 60 %, no difference": [censored(0.0, 0.6)],
    "censored 30 %, later by 1 (power)": [censored(1.0, 0.3)],
}


# --- Sharper tests (issue 25, item 6): restricted times, spread across seeds, a covariate ------


def restricted(
    ratio: float, censoring: float, test: str = "signed-rank", log_sd: float = 0.4, design: Design = DESIGN
) -> PartMaker:
    """Epochs to a target, ceil(10 x lognormal(0, `log_sd`)) (median 10 epochs, seed-to-seed
    variation about 40 %), `at` later by the factor `ratio`; every run trained E epochs, E chosen
    so that `censoring` of the `than` runs never reach the target (0: none does). Judged by the
    signed-rank test on min(T, E + 1) (labjournal.claims.ranks), or by the sign test on orders it
    replaces (`test="sign"`)."""
    budget = math.floor(10 * math.exp(log_sd * stats.norm.isf(censoring))) if censoring > 0 else 10**6

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        a = np.ceil(10 * ratio * np.exp(rng.normal(0.0, log_sd, CAP)))
        b = np.ceil(10 * np.exp(rng.normal(0.0, log_sd, CAP)))
        a_seen = [None if t > budget else float(t) for t in a]
        b_seen = [None if t > budget else float(t) for t in b]
        known = budget if test == "signed-rank" else None
        return lambda n: ranked(
            {**_base(design), "expected": "positive"},
            dict(enumerate(a_seen[:n])),
            dict(enumerate(b_seen[:n])),
            known,
        )

    return make


def spread(variance_ratio: float, correlation: float = 0.5, design: Design = DESIGN) -> PartMaker:
    """One value per seed at two points, correlated by seed, the first with `variance_ratio`
    times the second's variance; a claim that the first is steadier, margin a ratio of 2
    (labjournal.claims.spread)."""

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        shared = rng.normal(size=CAP)
        y = correlation * shared + math.sqrt(1 - correlation**2) * rng.normal(size=CAP)
        x = math.sqrt(variance_ratio) * shared
        base = {**_base(design, math.log(2.0)), "expected": "negative"}
        return lambda n: spread_evidence(base, dict(enumerate(x[:n])), dict(enumerate(y[:n])))

    return make


def covariate(effect: float, adjust: bool, theta: float = 1.0, design: Design = DESIGN) -> PartMaker:
    """Paired differences effect + theta c + N(0, 1), c ~ N(0, 1) the declared covariate's paired
    difference (untouched by the setting: mean 0); judged adjusted for c (labjournal.claims.adjust)
    or by the plain paired t (sd sqrt(1 + theta^2))."""

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        c = rng.normal(size=CAP)
        d = effect + theta * c + rng.normal(size=CAP)
        zeros = dict.fromkeys(range(CAP), 0.0)
        if not adjust:
            return lambda n: Evidence(**_base(design), differences=list(d[:n]))
        return lambda n: adjusted_evidence(
            _base(design),
            dict(enumerate(d[:n])),
            {s: 0.0 for s in range(n)},
            dict(enumerate(c[:n])),
            zeros,
            "c",
        )

    return make


SHARPER: dict[str, list[PartMaker]] = {
    **{
        f"censored {c:.0%}, no difference, {test}": [restricted(1.0, c, test)]
        for c in (0.0, 0.3, 0.6)
        for test in ("signed-rank", "sign")
    },
    **{
        f"censored {c:.0%}, later x{r:g} (power), {test}": [restricted(r, c, test)]
        for r, c in ((1.5, 0.0), (1.5, 0.3), (2.0, 0.3))
        for test in ("signed-rank", "sign")
    },
    "spread, equal variances (correlation 0.5)": [spread(1.0)],
    "spread, variance ratio 1/4 (power)": [spread(0.25)],
    "covariate, no difference, adjusted": [covariate(0.0, True)],
    "covariate, difference 0.7 (power), adjusted": [covariate(0.7, True)],
    "covariate, difference 0.7 (power), unadjusted": [covariate(0.7, False)],
}


def sharper_table(claims: int) -> None:
    """The sharper tests' scenarios, one row each: supported, contradicted, negligible, seeds."""
    print(f"\n{'sharper tests':52} {'supp':>6} {'contra':>6} {'neglig':>6} {'seeds':>6}")
    for name, makers in SHARPER.items():
        s = simulate(makers, claims)
        print(
            f"{name:52} {s['supported']:6.1%} {s['contradicted']:6.1%} {s['negligible']:6.1%} "
            f"{s['mean seeds']:6.1f}"
        )


POCOCK = Design.schedule(3, 2, 15, boundary="pocock")
COMPARED: dict[str, Callable[[Design], list[PartMaker]]] = {
    "no difference": lambda d: [paired(0.0, design=d)],
    "true 0.5 sd": lambda d: [paired(0.5, design=d)],
    "true 0.8 sd": lambda d: [paired(0.8, design=d)],
    "true 1 sd": lambda d: [paired(1.0, design=d)],
    "true 3 sd + a part 1 sd the wrong way": lambda d: [paired(3.0, design=d), paired(-1.0, design=d)],
    "censored 30 %, no difference, signed-rank": lambda d: [restricted(1.0, 0.3, design=d)],
    "censored 0 %, later x1.5, signed-rank": lambda d: [restricted(1.5, 0.0, design=d)],
}


def boundary_table(claims: int) -> None:
    """Pocock's constant level against the O'Brien–Fleming shape on the same draws: decided
    (supported or contradicted) by the cap, and the mean seeds used."""
    print(f"\n{'boundaries compared (decided by n = 15, seeds)':52} {'Pocock':>15} {'O-F shape':>15}")
    for name, makers in COMPARED.items():
        cells = []
        for design in (POCOCK, DESIGN):
            s = simulate(makers(design), claims, design=design)
            cells.append(f"{s['supported'] + s['contradicted']:6.1%} {s['mean seeds']:5.1f} s")
        print(f"{name:52} " + " ".join(f"{c:>15}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--sizes", default="10,12", help="family sizes, comma-separated")
    parser.add_argument("--sharper-only", action="store_true", help="only the sharper tests' table")
    args = parser.parse_args()
    if args.sharper_only:
        sharper_table(args.claims)
        return
    print(
        "levels per look:",
        ", ".join(f"{t} {' '.join(f'{x:.2g}' for x in DESIGN.levels(t))}" for t in ("t", "signed-rank")),
    )
    print(f"{args.claims} simulated claims per scenario; design {DESIGN.describe()}; futility on")
    columns = (
        "plain supported",
        "below margin",
        "partly-supported",
        "contradicted",
        "negligible",
        "inconclusive",
    )
    print(
        f"{'scenario':44} {'supp':>6} {'below':>6} {'partly':>6} {'contra':>6} {'neglig':>6} {'incon':>6} {'seeds':>6}"
    )
    for name, makers in SCENARIOS.items():
        s = simulate(makers, args.claims)
        print(f"{name:44} " + " ".join(f"{s[c]:6.1%}" for c in columns) + f" {s['mean seeds']:6.1f}")
    for size in (int(x) for x in args.sizes.split(",") if x):
        for use in (False, True):
            rate = simulate_family(size, args.families, use)
            how = "Holm (the default)" if use else "familywise: none"
            print(f"family of {size} null claims, {how}: at least one false decision {rate:.1%}")
    sharper_table(args.claims)
    boundary_table(args.claims)


if __name__ == "__main__":
    main()
