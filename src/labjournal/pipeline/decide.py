"""`labjournal run --until-decided`: more seeds where a claim needs them, until it is decided.

One pass runs the design to its end. After the profile's seeds have run (the first pass), every
claim is evaluated. Each comparison that is not yet decided asks for `batch` more seeds at the
grid points it compares (only those: a trend asks at every point of its trend); the new runs are
ordinary runs (cached, with provenance), and the summaries that read them re-run because their
inputs changed: they run once, after the last batch (every pass where a claim reads a summary).
Claims are evaluated again after each batch. Adding stops per claim when it is
decided, when its comparisons reach the seed cap, or when deciding it would take more than twice
the cap at the spread seen so far (futility). A claim partly supported keeps adding seeds to an
open part that leans the wrong way until the cap, futile or not: that part may yet be
contradicted, and a contradiction is a decision the reader must see. Every one of these depends only on the design
(`decide:` in journal.yml: the profile's seeds, `batch` and `max_seeds`) and on the results, so
one `make report` ends where any other machine's would, and the next one has nothing to add.

A time budget is an explicit choice (`--budget MINUTES`, or `budget_minutes` under `decide:`):
its clock starts after the first pass, so it never decides how many seeds the plan's own seeds
are; the claims it stops are "stopped by the time budget", and a later run or report continues
them from the seeds already added (the no-op check of `report` does not record a report that
left claims to continue: labjournal.build.noop.waiting_on_budget).

The verdicts stay valid under this stopping rule because every look uses the repeated
confidence intervals of a group-sequential design fixed in advance (`labjournal.claims.sequential`):
looks at the profile's seeds, then after each batch, up to the cap, an O'Brien–Fleming-shaped
boundary (each look's level read by every test). Stopping, futility included, decides nothing. Every point gets seeds in
order (the next `batch` after its highest), so a comparison's paired seeds are a look of the
design whichever other claims share its points (fewer only where a run has no value). The
design is saved with the added seeds (`results/extra_seeds.json`), so later builds judge the
claims by the same design, and the reasons adding stopped are saved in `results/decisions.json`
for `check` and the Claims page.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjournal.claims.evidence import NOT_RUN, PARTLY, Evidence
from labjournal.claims.file import leaves
from labjournal.claims.judge import (
    CLAIMS_FILE,
    ClaimError,
    ClaimsFile,
    Verdict,
    evaluate_all,
    load_claims_file,
)
from labjournal.claims.sequential import Design
from labjournal.plan.schema import Decide
from labjournal.records import ClaimDecision, Decisions, ExtraSeeds, SeedsAdded, StopReason
from labjournal.results.lookup import Results, split_ref
from labjournal.results.store import ResultsStore
from labjournal.run.executors import KeptExecutor
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import RunSummary, read_extra_seeds, run_plan


def run_request(request: RunRequest, store: ResultsStore, report_dir: Path) -> RunSummary:
    """What `run`, `report` and `preview` execute: the plan once, or, where the request says so,
    until its claims are decided."""
    if request.decide is None:
        return run_plan(request, store)
    return run_until_decided(request, store, report_dir)


@dataclass
class Look:
    """The claims judged after a batch: why each stopped getting seeds (or that it still gets
    them), and the grid points that get the next batch, by claim."""

    results: Results
    decisions: dict[str, ClaimDecision] = field(default_factory=dict)
    wanted: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def spend_budget(self, settings: Decide) -> None:
        """The time budget is spent: the claims still getting seeds stop getting them."""
        for claim_id, decision in self.decisions.items():
            if decision.reason is StopReason.ADDING:
                self.decisions[claim_id] = _decision(StopReason.BUDGET, settings)


def run_until_decided(request: RunRequest, store: ResultsStore, report_dir: Path) -> RunSummary:
    """Run the plan, then add seeds in batches where claims need them, judging the claims after
    every batch, until each is decided or stops (seed cap, futility, time budget). The passes
    share their workers (and the workers' warm kernels)."""
    settings = request.decide or Decide()
    seeds = len(request.settings.seeds)
    if settings.max_seeds < seeds:
        raise ClaimError(
            f"--max-seeds {settings.max_seeds} is below the {seeds} seeds profile '{request.profile}' runs"
        )
    claims = load_claims_file(report_dir / CLAIMS_FILE)  # a broken claims file stops before any run
    design = _fix_design(request, store, settings)
    # the summaries run once, after the last batch, unless a claim reads one or they are forced
    waiting = request.force is None and not _claims_read_summaries(request, claims)
    first = dataclasses.replace(request, defer_summaries=waiting)
    options = request.options
    with KeptExecutor(options.executor, options.jobs, options.scheduler) as kept:
        summary, look = _passes(first, store, claims, design, kept)
        # the decisions read the grid runs only: saved before the summaries, whatever they do
        decisions = Decisions(profile=request.profile, design=design.to_json(), claims=look.decisions)
        store.write_decisions(decisions)
        decided = sum(d.reason is StopReason.DECIDED for d in look.decisions.values())
        if look.decisions:  # a journal without claims is not told about them
            request.console.print(f"Claims decided: {decided} of {len(look.decisions)} ({design.describe()})")
        if waiting and summary.deferred:  # the last pass left summaries to run: they read its runs
            later = dataclasses.replace(first, options=dataclasses.replace(options, force=None))
            summary = run_plan(dataclasses.replace(later, defer_summaries=False), store, kept)
    return summary


def _passes(
    first: RunRequest, store: ResultsStore, claims: ClaimsFile, design: Design, kept: KeptExecutor
) -> tuple[RunSummary, Look]:
    """The first pass, then a batch of seeds after each look that wants some: the last pass's
    summary and the last look."""
    settings = first.decide or Decide()
    summary = run_plan(first, store, kept)  # the plan's seeds and those added before
    deadline = _deadline(settings)  # a budget's clock starts now, never before the first pass
    # forcing applies to the first pass only
    later = dataclasses.replace(first, options=dataclasses.replace(first.options, force=None))
    batch_number = 0
    while True:
        look = _look(store, claims, settings, first.lab)
        if not look.wanted:
            return summary, look
        open_claims = len({k[2] for k in look.wanted})
        if deadline is not None and time.monotonic() >= deadline:
            look.spend_budget(settings)
            first.console.print(
                f"[yellow]Stopped by the time budget[/] ({settings.budget_minutes:g} minutes after the "
                f"first pass): {open_claims} claim(s) still open; a later run or report continues them"
            )
            return summary, look
        batch_number += 1
        points = _add_batch(look.results, store, first.profile, design, settings, look.wanted.values())
        if not points:
            return summary, look
        first.console.print(
            f"[bold]Until decided, batch {batch_number}:[/] {len(points)} grid point(s) get more seeds "
            f"for {open_claims} undecided claim(s)"
        )
        summary = run_plan(later, store, kept)


def _claims_read_summaries(request: RunRequest, claims: ClaimsFile) -> bool:
    """Whether a claim compares a summary notebook's results (then the summaries run every pass)."""
    summaries = {
        f"{spec.lab}/{spec.experiment}" for spec in request.plan.runs(request.profile) if spec.is_summary
    }
    return any(part.ref in summaries for claim in claims.claims.values() for _, part in leaves(claim.expect))


def _deadline(settings: Decide) -> float | None:
    """When an explicit time budget runs out, counted from now (after the first pass); None
    without one: the design runs to its end."""
    if settings.budget_minutes is None:
        return None
    return time.monotonic() + 60 * settings.budget_minutes


def _fix_design(request: RunRequest, store: ResultsStore, settings: Decide) -> Design:
    """The sequential design the claims are judged by, fixed before any run and saved with the
    seeds added under it (those added under another design are kept)."""
    design = Design.schedule(
        len(request.settings.seeds), settings.batch, settings.max_seeds, boundary=settings.boundary
    )
    added = read_extra_seeds(store, request.profile)
    if added.design and Design.from_json(added.design) != design:
        request.console.print(
            "[yellow]The design changed[/] (seed cap, batch or boundary): the seeds added before are kept, "
            "and the claims are judged by the new design."
        )
    store.write_extra_seeds(request.profile, ExtraSeeds(design=design.to_json(), points=added.points))
    return design


def _look(store: ResultsStore, claims: ClaimsFile, settings: Decide, lab: str | None) -> Look:
    """Judge every claim (of `--lab`'s lab only, where given) on the results so far."""
    look = Look(Results.load(store.root, store.index_path.name))
    for verdict in evaluate_all(look.results, claims):
        if lab is not None and verdict.claim.lab != lab:
            continue  # --lab: only that lab's claims get seeds
        decision, growing = _decide(verdict, settings)
        look.decisions[verdict.claim_id] = decision
        for evidence in growing:
            for point in evidence.points:
                key = (evidence.ref, repr(sorted(point.items())), verdict.claim_id)
                look.wanted[key] = {"ref": evidence.ref, "point": point}
    return look


def _decide(verdict: Verdict, settings: Decide) -> tuple[ClaimDecision, list[Evidence]]:
    """Why a claim gets no more seeds, or (still adding) the parts of it that get more."""
    if verdict.decided:  # settled: a partly supported claim with an open part is not
        return _decision(StopReason.DECIDED, settings), []
    if verdict.verdict == NOT_RUN:
        return _decision(StopReason.NO_RESULTS, settings), []
    growing = [(e, level) for e, level in verdict.open_parts() if e.n < settings.max_seeds]
    if not growing:
        return _decision(StopReason.MAX_SEEDS, settings), []
    partly = verdict.verdict == PARTLY  # a part leaning the wrong way may yet be contradicted
    if all(
        _futile(e, settings.max_seeds, level) and not (partly and _leans_wrong(e)) for e, level in growing
    ):
        return _decision(StopReason.FUTILITY, settings), []
    return _decision(StopReason.ADDING, settings), [e for e, _ in growing]


def _leans_wrong(evidence: Evidence) -> bool:
    """The part's estimate so far lies on the side opposite to the one the claim expects."""
    mean = evidence.mean
    if not math.isfinite(mean) or mean == 0:
        return False
    return (mean < 0) if evidence.expected == "positive" else (mean > 0)


def _decision(reason: StopReason, settings: Decide) -> ClaimDecision:
    return ClaimDecision(reason=reason, max_seeds=settings.max_seeds, budget_minutes=settings.budget_minutes)


def _futile(evidence: Evidence, cap: int, alpha: float | None = None) -> bool:
    """Stop adding seeds where, at the spread seen so far (from the second look on, when the
    spread is estimated from five or more seeds), deciding would take more than twice the cap
    (the median figure, `power=0.5`: the seeds shown to a reader are at 80 % power). Stopping for
    futility never decides anything, so it cannot raise the error rates."""
    if evidence.n < 5:
        return False
    needed = evidence.seeds_needed(alpha, limit=2 * cap, power=0.5)
    return needed is not None and needed > 2 * cap


def _add_batch(
    results: Results,
    store: ResultsStore,
    profile: str,
    design: Design,
    settings: Decide,
    wanted: Iterable[dict[str, Any]],
) -> list[SeedsAdded]:
    """Give every wanted grid point its next `batch` seeds (never past the cap); save them."""
    added = read_extra_seeds(store, profile)
    grown = []
    for want in wanted:
        lab, experiment = split_ref(want["ref"])
        rows = results.point_rows(lab, experiment, **want["point"])
        have = sorted({row.seed for row in rows if row.seed is not None})
        room = settings.max_seeds - len(have)
        if not have or room <= 0:
            continue
        new = list(range(max(have) + 1, max(have) + 1 + min(settings.batch, room)))
        entry = added.at(lab, experiment, want["point"])
        if entry is None:
            entry = SeedsAdded(lab=lab, experiment=experiment, point=want["point"], seeds=[])
            added.points.append(entry)
        fresh = [seed for seed in new if seed not in entry.seeds]
        if fresh:
            entry.seeds = sorted(entry.seeds + fresh)
            grown.append(entry)
    store.write_extra_seeds(profile, ExtraSeeds(design=design.to_json(), points=added.points))
    return grown
