"""The whole decision rule, simulated: seeds added two at a time from 3 up to 15 (the default
profile's design), futility stopping, claims of one to three parts, trends with per-seed random
slopes, censored outcomes at several rates, unequal seed counts, and Holm over a family of claims.
Every verdict comes from the project's own functions (labjournal.claims.evidence, .ranks, .verdicts,
.decide), so what is simulated is what `labjournal check` and `make report` do.

    python bench/simulate_claims.py [--claims 5000]

prints one row per scenario: the share of each claim verdict and the seeds used. The tests in
tests/test_claims_simulation.py run the same scenarios and assert the error rates.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:  # the installed engine; this checkout's src/ only where none is installed
    import labjournal  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from labjournal.claims.decide import _futile  # noqa: E402
from labjournal.claims.evidence import DECIDED, Evidence, seed_slope  # noqa: E402
from labjournal.claims.ranks import ranked  # noqa: E402
from labjournal.claims.verdicts import counted, holm, judge, strict_alpha  # noqa: E402
from labjournal.plan.sequential import Design  # noqa: E402

DESIGN = Design.schedule(3, 2, 15)
CAP = 15
SEED = 20261126


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
    bound that leaves `censoring` of the `than` runs unreached."""
    bound = -math.log(censoring) if censoring > 0 else math.inf

    def make(rng: np.random.Generator) -> Callable[[int], Evidence]:
        a = rng.exponential(1.0, CAP) * math.exp(shift)
        b = rng.exponential(1.0, CAP)
        a_seen = {s: (None if a[s] > bound else float(np.ceil(a[s] * 10))) for s in range(CAP)}
        b_seen = {s: (None if b[s] > bound else float(np.ceil(b[s] * 10))) for s in range(CAP)}
        return lambda n: ranked(
            {**_base(design), "expected": "positive"},
            {s: a_seen[s] for s in range(n)},
            {s: b_seen[s] for s in range(n)},
        )

    return make


@dataclass
class Outcome:
    verdict: str
    seeds: int
    parts: list[Evidence]


def run_claim(parts: list[Callable[[int], Evidence]], design: Design = DESIGN) -> Outcome:
    """Looks at 3, 5, ... seeds; stops when the claim is decided, at the cap, or for futility."""
    evidence: list[Evidence] = []
    for n in design.looks or (CAP,):
        evidence = [part(n) for part in parts]
        verdict = judge(evidence)
        if verdict in DECIDED:
            return Outcome(verdict, n, evidence)
        level = strict_alpha(evidence)
        open_parts = [e for e in counted(evidence) if e.verdict_at(level) not in DECIDED]
        if open_parts and all(_futile(e, CAP, level) for e in open_parts):
            return Outcome(verdict, n, evidence)
    return Outcome(judge(evidence), evidence[0].n if evidence else 0, evidence)


def simulate(makers: list[PartMaker], claims: int, seed: int = SEED) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    seeds = 0
    for _ in range(claims):
        outcome = run_claim([make(rng) for make in makers])
        counts[outcome.verdict] += 1
        seeds += outcome.seeds
    shares = {
        v: counts[v] / claims
        for v in ("supported", "partly-supported", "contradicted", "negligible", "inconclusive")
    }
    shares["mean seeds"] = seeds / claims
    return shares


def simulate_family(size: int, claims: int, use_holm: bool, seed: int = SEED) -> float:
    """Families of `size` one-part claims with no true effect: the share of families with at least
    one false decision (fixed sample: the profile's first look of 3 seeds plus every batch)."""
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(claims):
        outcomes = [run_claim([paired(0.0)(rng)]) for _ in range(size)]
        verdicts = [o.verdict for o in outcomes]
        if use_holm:
            adjusted = holm(verdicts, [o.parts for o in outcomes], DESIGN.alpha)
            verdicts = [
                v if p <= DESIGN.alpha else "inconclusive" for v, p in zip(verdicts, adjusted, strict=True)
            ]
        wrong += any(v in ("supported", "contradicted", "partly-supported") for v in verdicts)
    return wrong / claims


SCENARIOS: dict[str, list[PartMaker]] = {
    "no difference, one part": [paired(0.0)],
    "no difference, two parts": [paired(0.0), paired(0.0)],
    "no difference, three parts": [paired(0.0), paired(0.0), paired(0.0)],
    "true 1 sd, one part (power)": [paired(1.0)],
    "true 3 sd + no difference": [paired(3.0), paired(0.0)],
    "true half the margin": [paired(0.125)],
    "trend, no mean slope, per-seed slopes sd 0.5": [trend(0.0, 0.5)],
    "trend, no mean slope, unequal seed counts": [trend(0.0, 0.5, extra_at_first=6)],
    "trend, slope 0.5 (power)": [trend(0.5, 0.5)],
    "censored 0 %, no difference": [censored(0.0, 0.0)],
    "censored 30 %, no difference": [censored(0.0, 0.3)],
    "censored 60 %, no difference": [censored(0.0, 0.6)],
    "censored 30 %, later by 1 (power)": [censored(1.0, 0.3)],
}
FALSE_WHEN_NULL = ("supported", "partly-supported", "contradicted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000)
    args = parser.parse_args()
    print(f"{args.claims} simulated claims per scenario; design {DESIGN.describe()}; futility on")
    header = (
        f"{'scenario':48} {'supp':>6} {'partly':>6} {'contra':>6} {'neglig':>6} {'incon':>6} {'seeds':>6}"
    )
    print(header)
    for name, makers in SCENARIOS.items():
        s = simulate(makers, args.claims)
        print(
            f"{name:48} {s['supported']:6.1%} {s['partly-supported']:6.1%} {s['contradicted']:6.1%} "
            f"{s['negligible']:6.1%} {s['inconclusive']:6.1%} {s['mean seeds']:6.1f}"
        )
    for use in (False, True):
        rate = simulate_family(10, max(args.claims // 10, 200), use)
        print(
            f"family of 10 null claims, {'Holm' if use else 'no correction'}: at least one false decision {rate:.1%}"
        )


if __name__ == "__main__":
    main()
