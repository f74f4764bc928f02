"""Experimental claims of the journal, checked against the results.

`report/claims.yml` declares each claim once: the lab, the sentence the prose states, and an
expectation about the results; the page places `{{ claim("id") }}` next to that sentence.

    familywise: none            # or holm: control the family-wise error over every comparison
    margins: {val_accuracy: 0.02}   # optional: the smallest difference that matters, per metric
    claims:
      lab02-dropout-overfitting:
        lab: lab02
        sentence: Dropout 0.5 reduces overfitting compared with 0.2, but lowers accuracy.
        figure: lab02/summary/dropout_effect        # optional: the figure behind it
        expect:
          all:
            - less: {ref: lab02/dropout, metric: generalisation_gap, at: {dropout: 0.5}, than: {dropout: 0.2}}
            - less: {ref: lab02/dropout, metric: val_accuracy, at: {dropout: 0.5}, than: {dropout: 0.2}}

Expectations: `less` / `greater` (two grid points on one metric), `trend` (`up` or `down` over
the values of one numeric parameter, `at` fixing the others), and `all` (a conjunction, at least
one part). Options of a comparison or trend: `over: [fold]` (replicates within a seed),
`margin`, `scale: log` (compare log-ratios), `exact: true` (a deterministic measure),
`censored_at: PARAM or NUMBER` (a missing value means "not reached within this many"), and for a
trend `x_scale: log | linear`. The statistics and verdicts are in `labjournal.evidence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from labjournal.claims_file import (
    CLAIMS_FILE,
    Claim,
    ClaimError,
    ClaimsFile,
    Comparison,
    Expectation,
    Trend,
    _Measure,
    load_claims,
    load_claims_file,
)
from labjournal.evidence import (
    CONTRADICTED,
    DECIDED,
    DETERMINISTIC_WORDS,
    INCONCLUSIVE,
    NEGLIGIBLE,
    NOT_RUN,
    SUPPORTED,
    TOLERANCE,
    VERDICTS,
    Evidence,
    blocked_slope,
    combine,
    default_margin,
)
from labjournal.results import ResultLookupError, Results, split_ref
from labjournal.sequential import Design

__all__ = [
    "CLAIMS_FILE",
    "CONTRADICTED",
    "DECIDED",
    "INCONCLUSIVE",
    "NEGLIGIBLE",
    "NOT_RUN",
    "SUPPORTED",
    "VERDICTS",
    "Claim",
    "ClaimError",
    "ClaimsFile",
    "load_claims",
    "load_claims_file",
]


# --------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class Verdict:
    claim_id: str
    claim: Claim
    verdict: str
    evidence: list[Evidence] = field(default_factory=list)
    stopped: str = ""  # why adding seeds stopped, for a claim left undecided (see labjournal.decide)
    notes: list[str] = field(default_factory=list)  # what undermines its runs (a seed never used)

    @property
    def refs(self) -> list[str]:
        return sorted({e.ref for e in self.evidence})

    @property
    def decided(self) -> bool:
        return self.verdict in DECIDED

    def seeds_needed(self) -> int | None:
        """About how many seeds per compared point would decide its most promising undecided
        part, at the spread seen so far (one part found negligible or contradicted decides a
        conjunction; all supported decides it too, which may take more)."""
        needed = [e.seeds_needed() for e in self.evidence if e.verdict not in DECIDED]
        known = [n for n in needed if n is not None]
        return min(known) if known else None


@dataclass
class _Values:
    """One grid point's values of a metric, one per seed (folds averaged within their seed)."""

    by_seed: dict[Any, float]
    censored: set[Any]
    rows: list[dict[str, Any]]
    planned: int


def _values(
    results: Results,
    ref: str,
    metric: str,
    point: dict[str, Any],
    measure: _Measure,
    censored_at: str | float | None = None,
) -> _Values:
    lab, experiment = split_ref(ref)
    rows = results.point_rows(lab, experiment, over=measure.over, **point)
    grouped: dict[Any, list[float]] = {}
    censored: set[Any] = set()
    for row in rows:
        metrics = row.get("metrics", {})
        if metric not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise ResultLookupError(f"{ref}: no metric '{metric}' (the runs record: {known})")
        value = metrics[metric]
        if value is None and censored_at is not None:
            bound = row["params"].get(censored_at) if isinstance(censored_at, str) else censored_at
            if not isinstance(bound, int | float):
                raise ResultLookupError(f"{ref}: censored_at '{censored_at}' is not a numeric parameter")
            value = bound
            censored.add(row["seed"])
        if value is None:
            continue  # missing (a diverged loss): counted in "n of N"
        value = float(value)
        if measure.scale == "log":
            if value <= 0:
                raise ResultLookupError(f"{ref}: scale: log needs positive values of '{metric}', got {value}")
            value = math.log(value)
        grouped.setdefault(row["seed"], []).append(value)
    seeds = {row["seed"] for row in rows}
    by_seed = {seed: sum(v) / len(v) for seed, v in grouped.items()}
    return _Values(by_seed, censored, rows, len(seeds))


def _deterministic(measure: _Measure, *groups: _Values) -> bool:
    """A FLOP or parameter count (or `exact: true`) that is the same on every seed."""
    name = measure.metric.lower()
    if not (measure.exact or any(word in name for word in DETERMINISTIC_WORDS)):
        return False
    for group in groups:
        values = list(group.by_seed.values())
        if len(values) < 2:
            return False  # one seed cannot show that a measure is the same on every seed
        if max(values) - min(values) > TOLERANCE * max(abs(v) for v in values):
            return False
    return True


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in point.items())


def _compare(
    results: Results, c: Comparison, expected: str, design: Design, margins: dict[str, float]
) -> Evidence:
    first = _values(results, c.ref, c.metric, c.at, c, c.censored_at)
    second = _values(results, c.ref, c.metric, c.than, c, c.censored_at)
    differences, low, high = [], 0, 0
    for seed in sorted(set(first.by_seed) & set(second.by_seed), key=str):
        a_cut, b_cut = seed in first.censored, seed in second.censored
        if a_cut and b_cut:
            continue  # neither reached: nothing is known about the difference
        differences.append(first.by_seed[seed] - second.by_seed[seed])
        low += a_cut  # at >= bound: the true difference is at least this
        high += b_cut  # than >= bound: the true difference is at most this
    reference = float(sum(second.by_seed.values()) / len(second.by_seed)) if second.by_seed else 0.0
    margin, note = _margin(c, margins, reference)
    magnitude = max((abs(v) for g in (first, second) for v in g.by_seed.values()), default=1.0)
    return Evidence(
        description=f"{c.metric}{' (log)' if c.scale == 'log' else ''} at {_describe(c.at)} − at {_describe(c.than)}",
        expected=expected,  # type: ignore[arg-type]
        ref=c.ref,
        margin=margin,
        margin_note=note,
        design=design,
        differences=differences,
        runs=first.rows + second.rows,
        points=[dict(c.at), dict(c.than)],
        planned=min(first.planned, second.planned),
        censored_low=low,
        censored_high=high,
        exact=_deterministic(c, first, second),
        magnitude=magnitude,
    )


def _margin(measure: _Measure, margins: dict[str, float], reference: float) -> tuple[float, str]:
    if measure.margin is not None:
        return measure.margin, "declared for this comparison"
    if measure.metric in margins:
        return margins[measure.metric], f"declared for {measure.metric}"
    margin, note = default_margin(measure.metric, measure.scale, reference)
    return (margin if margin > 0 else TOLERANCE), note


def _trend(results: Results, t: Trend, design: Design, margins: dict[str, float]) -> Evidence:
    lab, experiment = split_ref(t.ref)
    points = [
        p
        for p in results.grid_points(lab, experiment)
        if t.param in p and all(p.get(k) == v for k, v in t.at.items())
    ]
    xs = [p[t.param] for p in points]
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in xs):
        raise ResultLookupError(
            f"{t.ref}: a trend needs numeric values of '{t.param}', got {', '.join(map(repr, xs))}"
        )
    if len(set(xs)) < 2:
        raise ResultLookupError(f"{t.ref}: fewer than two values of '{t.param}' to form a trend")
    log_x = t.x_scale == "log" or (t.x_scale == "auto" and min(xs) > 0 and max(xs) / min(xs) >= 4)
    if log_x and min(xs) <= 0:
        raise ResultLookupError(f"{t.ref}: x_scale: log needs positive values of '{t.param}'")
    groups = [(p, _values(results, t.ref, t.metric, p, t)) for p in sorted(points, key=lambda p: p[t.param])]
    observations = [
        (seed, math.log2(p[t.param]) if log_x else float(p[t.param]), value)
        for p, group in groups
        for seed, value in group.by_seed.items()
    ]
    exact = _deterministic(t, *(g for _, g in groups))
    if exact:  # one value per x: the slope through them is known exactly
        slope, _, df = blocked_slope([(0, x, v) for seed, x, v in observations if seed == observations[0][0]])
        fitted = (slope, 0.0, df)
    else:
        fitted = blocked_slope(observations)
    lowest = groups[0][1].by_seed
    reference = sum(lowest.values()) / len(lowest) if lowest else 0.0
    margin, note = _margin(t, margins, reference)
    seeds = {seed for seed, _, _ in observations}
    rows = [row for _, group in groups for row in group.rows]
    fixed = f" at {_describe(t.at)}" if t.at else ""
    return Evidence(
        description=f"slope of {t.metric}{' (log)' if t.scale == 'log' else ''} over {t.param}{fixed}",
        expected="positive" if t.direction == "up" else "negative",
        ref=t.ref,
        margin=margin,
        margin_note=note + (" per doubling" if log_x else f" per unit of {t.param}"),
        design=design,
        differences=[0.0] * len(seeds),  # n = the seeds that carry the slope
        runs=rows,
        points=[dict(p) for p, _ in groups],
        planned=len({row["seed"] for row in rows}),
        exact=exact,
        slope=fitted,
        unit=f"per doubling of {t.param}" if log_x else f"per unit of {t.param}",
        magnitude=max((abs(v) for _, _, v in observations), default=1.0),
    )


def _evaluate(
    results: Results, expectation: Expectation, design: Design, margins: dict[str, float]
) -> tuple[str, list[Evidence]]:
    kind = expectation.kind()
    if kind in ("less", "greater"):
        c: Comparison = getattr(expectation, kind)
        evidence = _compare(results, c, "negative" if kind == "less" else "positive", design, margins)
        return evidence.verdict, [evidence]
    if kind == "trend":
        assert expectation.trend is not None
        evidence = _trend(results, expectation.trend, design, margins)
        return evidence.verdict, [evidence]
    parts = [_evaluate(results, part, design, margins) for part in expectation.all or []]
    return combine([verdict for verdict, _ in parts]), [e for _, evidence in parts for e in evidence]


def evaluate_claim(
    results: Results,
    claim_id: str,
    claim: Claim,
    design: Design | None = None,
    margins: dict[str, float] | None = None,
) -> Verdict:
    design = design or Design.from_json(results.index.get("design"))
    try:
        verdict, evidence = _evaluate(results, claim.expect, design, margins or {})
    except ResultLookupError as exc:
        raise ClaimError(f"claim '{claim_id}': {exc}") from None
    return Verdict(claim_id, claim, verdict, evidence)


def evaluate_all(
    results: Results, claims: dict[str, Claim] | ClaimsFile, familywise: str | None = None
) -> list[Verdict]:
    """Every claim's verdict. With `familywise="holm"` (or the claims file's setting) a direction
    is decided only where its Holm-adjusted p-value, over every comparison of the journal, is
    below alpha (`statsmodels.stats.multitest`)."""
    settings = claims if isinstance(claims, ClaimsFile) else ClaimsFile(claims=claims)
    design = Design.from_json(results.index.get("design"))
    verdicts = [
        evaluate_claim(results, claim_id, claim, design, settings.margins)
        if results.has_lab(claim.lab)
        else Verdict(claim_id, claim, NOT_RUN)
        for claim_id, claim in settings.claims.items()
    ]
    if (familywise or settings.familywise) == "holm":
        apply_holm(verdicts, design.alpha)
    attach_seed_warnings(verdicts, results)
    return verdicts


def attach_seed_warnings(verdicts: list[Verdict], results: Results) -> None:
    """A claim resting on a notebook whose results never change with the seed says so: its
    'seeds' are copies of one run, not replicates."""
    unused = results.index.get("seed_unused") or {}
    if not unused:
        return
    owner = {(row["lab"], row["experiment"]): f"{row['lab']}/{row['notebook']}" for row in results.runs}
    for verdict in verdicts:
        names = {owner.get(split_ref(ref)) for ref in verdict.refs}
        verdict.notes += [f"{name}: {unused[name]}" for name in sorted(n for n in names if n in unused)]


def apply_holm(verdicts: list[Verdict], alpha: float) -> None:
    from statsmodels.stats.multitest import multipletests

    family = [e for v in verdicts for e in v.evidence]
    if not family:
        return
    _, adjusted, _, _ = multipletests([e.p_value for e in family], alpha=alpha, method="holm")
    for evidence, p in zip(family, adjusted, strict=True):
        evidence.familywise_p = float(p)
    for v in verdicts:
        if v.verdict == NOT_RUN:
            continue
        if v.claim.expect.kind() == "all":
            v.verdict = combine([e.verdict for e in v.evidence])
        else:
            v.verdict = v.evidence[0].verdict


def attach_stop_reasons(verdicts: list[Verdict], decisions: dict[str, Any]) -> None:
    """Why adding seeds stopped (`results/decisions.json`), for the claims left undecided."""
    reasons = decisions.get("claims", {})
    for verdict in verdicts:
        if verdict.verdict == NOT_RUN:
            verdict.stopped = f"its lab has no results yet (labjournal run --lab {verdict.claim.lab})"
        elif verdict.verdict not in DECIDED:
            state = reasons.get(verdict.claim_id, {}).get("stopped")
            verdict.stopped = (
                state if state and state != "decided" else "no seeds were added (run --until-decided)"
            )
