"""Experimental claims of the journal, checked against the results.

`report/claims.yml` declares each claim once: the lab, the sentence the prose states, and an
expectation about the results; the page places `{{ claim("id") }}` next to that sentence.

    familywise: holm            # the default: Holm over the journal's claims (`none` opts out)
    margins: {val_accuracy: 0.02, "*_variance": 0.4}   # the smallest difference that matters
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
one part). Every counted part needs a margin: on the part, on the claim (`margin:` beside
`expect:`), or in the `margins:` table (labjournal.claims.file). Options of a comparison or
trend: `over: [fold]` (replicates within a seed), `margin`, `scale: log` (compare log-ratios), `exact: true` (a deterministic measure),
`censored_at: PARAM or NUMBER` (a missing value means "not reached within this many"), and for a
trend `x_scale: log | linear`. The statistics and verdicts are in `labjournal.claims.evidence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjournal.claims.evidence import (
    CONTRADICTED,
    DECIDED,
    INCONCLUSIVE,
    NEGLIGIBLE,
    NOT_RUN,
    PARTLY,
    SUPPORTED,
    VERDICTS,
    Evidence,
)
from labjournal.claims.file import (
    CLAIMS_FILE,
    Claim,
    ClaimsFile,
    Comparison,
    Expectation,
    Margins,
    Trend,
    claim_line,
    leaves,
    load_claims,
    load_claims_file,
)
from labjournal.claims.ledger import (
    LEDGER_FILE,
    STATE_FILE,
    Context,
    Encoded,
    encoding_of,
    plan_of,
    reconcile,
)
from labjournal.claims.parts import compare, trend
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import (
    claim_level,
    counted,
    holm,
    holm_levels,
    judge,
    label,
    open_parts,
    settled,
    strict_alpha,
    what_would_decide,
)
from labjournal.errors import ClaimError, FailedRunsError, ResultLookupError
from labjournal.records import Decisions, VerdictKind, stop_note
from labjournal.results.lookup import Results, split_ref
from labjournal.run.reproducible import flags

__all__ = [
    "CLAIMS_FILE",
    "CONTRADICTED",
    "DECIDED",
    "INCONCLUSIVE",
    "NEGLIGIBLE",
    "NOT_RUN",
    "PARTLY",
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
    verdict: VerdictKind
    evidence: list[Evidence] = field(default_factory=list)
    stopped: str = ""  # why adding seeds stopped, for a claim left undecided (see labjournal.pipeline.decide)
    notes: list[str] = field(default_factory=list)  # what undermines its runs (a seed never used)
    familywise_p: float | None = None  # the claim's Holm-adjusted p-value, where the journal asks
    sensitivity: list[tuple[str, list[tuple[str, VerdictKind]]]] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)  # encodings changed after results existed
    pending: str = ""  # claims.yml differs from the ledger: what the next run or report records
    familywise: str = "holm"  # "none": the journal's claims are not corrected as a family
    family_level: float | None = None  # the Holm level over the claims this claim needs
    ledger: str = ""  # the ledger was deleted or rewritten since run or report wrote it

    @property
    def refs(self) -> list[str]:
        return sorted({e.ref for e in self.evidence})

    @property
    def decided(self) -> bool:
        """Settled: more seeds could not change its label (a partly supported claim with an open
        part is not; labjournal.claims.verdicts.settled)."""
        return settled(self.verdict, self.evidence)

    @property
    def label(self) -> str:
        """The badge's words: "contradicted: <part>", "partly supported; not shown: <part>",
        "supported, possibly below the margin" (labjournal.claims.verdicts.label)."""
        return label(self.verdict, self.evidence)

    def open_parts(self) -> list[tuple[Evidence, float]]:
        """The counted parts still open, each with the level it needs (within the claim, and no
        less strict than the Holm level over the claims)."""
        cap = self.family_level
        if cap is None:
            return open_parts(self.evidence)
        levels = [min(level, cap) for level in holm_levels(self.evidence)]
        live = zip(counted(self.evidence), levels, strict=True)
        return [(e, level) for e, level in live if e.verdict_at(level) not in DECIDED]

    def part_notes(self) -> list[str]:
        """For each part, where its verdict at the claim's level differs from its own: why."""
        live = counted(self.evidence)
        levels = zip(claim_level(self.evidence), holm_levels(self.evidence), strict=True)
        shown = dict(zip(map(id, live), levels, strict=True))
        notes = []
        for e in self.evidence:
            at_claim, level = shown.get(id(e), (e.verdict, e.design.alpha))
            differs = at_claim != e.verdict
            notes.append(
                f"{at_claim} at the claim's level ({level:.3g}, Holm over its parts)" if differs else ""
            )
        return notes

    def seeds_needed(self) -> int | None:
        """About how many seeds per compared point would decide its most promising open part."""
        return what_would_decide(self.evidence, self.family_level)

    def claim_alpha(self) -> float:
        return strict_alpha(self.evidence)


def _parts(results: Results, expectation: Expectation, design: Design, margins: Margins) -> list[Evidence]:
    kind = expectation.kind()
    if kind in ("less", "greater"):
        c: Comparison = getattr(expectation, kind)
        return [compare(results, c, "negative" if kind == "less" else "positive", design, margins)]
    if kind == "trend":
        assert expectation.trend is not None
        return [trend(results, expectation.trend, design, margins)]
    return [e for part in expectation.all or [] for e in _parts(results, part, design, margins)]


def evaluate_claim(
    results: Results,
    claim_id: str,
    claim: Claim,
    design: Design | None = None,
    margins: Margins | None = None,
) -> Verdict:
    design = design or Design.of(results.design)
    margins = margins or Margins(claim.margin)
    try:
        evidence = _parts(results, claim.expect, design, margins)
        verdict = Verdict(claim_id, claim, judge(evidence), evidence)
        verdict.sensitivity = sensitivity(results, claim.expect, design, margins)
    except FailedRunsError as exc:
        return Verdict(claim_id, claim, NOT_RUN, stopped=f"not run: its runs failed (see {exc.where})")
    except ResultLookupError as exc:
        raise ClaimError(f"claim '{claim_id}': {exc}", claim_id) from None
    return verdict


def sensitivity(
    results: Results, expectation: Expectation, design: Design, margins: Margins
) -> list[tuple[str, list[tuple[str, VerdictKind]]]]:
    """For every part with `across: [param]`: its verdict at each value of those parameters
    (shown beside the claim, never counted: the claim is judged where it was declared)."""
    table = []
    for (*_, kind), measure in leaves(expectation):
        if not measure.across:
            continue
        described = _parts(results, _moved(kind, measure, None, None), design, margins)[0].description
        lab, experiment = split_ref(measure.ref)
        for param in measure.across:
            seen = sorted({p[param] for p in results.grid_points(lab, experiment) if param in p}, key=str)
            moved = [(value, _moved(kind, measure, param, value)) for value in seen]
            cells = [(f"{param} {v}", _parts(results, m, design, margins)[0].verdict) for v, m in moved]
            table.append((described, cells))
    return table


def _moved(kind: str, measure: Comparison | Trend, param: str | None, value: Any) -> Expectation:
    update: dict[str, Any] = {"across": []}
    if param is not None:
        if isinstance(measure, Comparison):
            update.update(at={**measure.at, param: value}, than={**measure.than, param: value})
        else:
            update.update(at={**measure.at, param: value})
    return Expectation.model_validate({kind: measure.model_copy(update=update)})


def evaluate_all(
    results: Results, claims: dict[str, Claim] | ClaimsFile, familywise: str | None = None
) -> list[Verdict]:
    """Every claim's verdict. With `familywise="holm"` (the claims file's default) the claims
    are one family: a claim keeps its verdict only where its Holm-adjusted p-value, over every
    claim of the journal, is at most alpha (labjournal.claims.verdicts); `none` opts out."""
    settings = claims if isinstance(claims, ClaimsFile) else ClaimsFile(claims=claims)
    design = Design.of(results.design)
    verdicts = [
        evaluate_claim(results, claim_id, claim, design, settings.margins_for(claim))
        if results.has_lab(claim.lab)
        else Verdict(claim_id, claim, NOT_RUN)
        for claim_id, claim in settings.claims.items()
    ]
    method = familywise or settings.familywise
    for verdict in verdicts:
        verdict.familywise = method
    if method == "holm":
        apply_holm(verdicts, design.alpha)
    attach_seed_warnings(verdicts, results)
    return verdicts


def apply_holm(verdicts: list[Verdict], alpha: float) -> None:
    judged = [v for v in verdicts if v.verdict != NOT_RUN]
    adjusted = holm([v.verdict for v in judged], [v.evidence for v in judged], alpha)
    kept = sum(p <= alpha for p in adjusted)
    for verdict, p in zip(judged, adjusted, strict=True):
        verdict.familywise_p = p
        # Holm's step-down: a claim not kept needs its p-value below alpha / (the claims not kept).
        verdict.family_level = None if p <= alpha else alpha / max(1, len(judged) - kept)
        if verdict.verdict in DECIDED and p > alpha:
            verdict.notes.append(
                f"{verdict.verdict} at its own level, but not under Holm over the journal's claims "
                f"(adjusted p = {p:.3g} > {alpha:g})"
            )
            verdict.verdict = INCONCLUSIVE


def attach_seed_warnings(verdicts: list[Verdict], results: Results) -> None:
    """A claim resting on a notebook whose results never change with the seed says so: its
    'seeds' are copies of one run, not replicates. So does one resting on a run that `verify
    --twice` found not reproducible (labjournal.run.reproducible)."""
    unused = {**results.index.seed_unused, **flags(results.store_root.parent, results.runs)}
    if not unused:
        return
    owner = {(row.lab, row.experiment): f"{row.lab}/{row.notebook}" for row in results.runs}
    for verdict in verdicts:
        names = {owner.get(split_ref(ref)) for ref in verdict.refs}
        verdict.notes += [f"{name}: {unused[name]}" for name in sorted(n for n in names if n in unused)]


def attach_stop_reasons(verdicts: list[Verdict], decisions: Decisions) -> None:
    """Why adding seeds stopped (`results/decisions.json`, as Results.decisions reads it: a file
    that cannot be read loses the explanations only), for the claims left undecided."""
    for verdict in verdicts:
        if verdict.verdict == NOT_RUN:
            verdict.stopped = (
                verdict.stopped or f"its lab has no results yet (labjournal run --lab {verdict.claim.lab})"
            )
        elif not verdict.decided:
            verdict.stopped = stop_note(decisions.claims.get(verdict.claim_id))


def judge_journal(
    results: Results,
    settings: ClaimsFile,
    report_dir: Path,
    familywise: str | None = None,
    record: bool = False,
) -> list[Verdict]:
    """Every claim judged, with why adding seeds stopped and the ledger of its encodings
    (recorded the first time a claim meets results; revisions after that are marked). Only with
    `record` (`run` and `report`) is the ledger written; otherwise a claim whose encoding is not
    the recorded one says so as pending (labjournal.claims.ledger)."""
    try:
        verdicts = evaluate_all(results, settings, familywise=familywise)
    except ClaimError as exc:  # point at the claim's line in claims.yml
        line = claim_line(report_dir / CLAIMS_FILE, exc.claim_id) if exc.claim_id else None
        if line is None:
            raise
        raise ClaimError(f"{report_dir.name}/{CLAIMS_FILE}:{line}: {exc}", exc.claim_id) from None
    attach_stop_reasons(verdicts, results.decisions)
    profile = str(results.index.profile)
    context = Context(
        profile=profile,
        against=f"{profile} results of {results.index.generated[:19]}",
        state=report_dir.parent / ".labjournal" / STATE_FILE,
    )
    judged = {v.claim_id: encoded(v, settings, results) for v in verdicts if v.verdict != NOT_RUN}
    revisions, pending, trouble = reconcile(report_dir / LEDGER_FILE, judged, context, write=record)
    for verdict in verdicts:
        verdict.revisions = revisions.get(verdict.claim_id, [])
        verdict.pending = pending.get(verdict.claim_id, "")
        verdict.ledger = trouble
    return verdicts


def encoded(verdict: Verdict, settings: ClaimsFile, results: Results) -> Encoded:
    """A judged claim's encoding for the ledger: claims.yml's, and the plan's (the design, and the
    parameters its compared runs share)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for evidence in verdict.evidence:
        runs.setdefault(evidence.ref, []).extend(row.params for row in evidence.runs)
    plan = plan_of(results.index.design, runs)
    return Encoded(encoding_of(verdict.claim, settings), plan)
