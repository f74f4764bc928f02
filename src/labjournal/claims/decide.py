"""`labjournal run --until-decided`: more seeds where a claim needs them, until it is decided.

After the profile's seeds have run, every claim is evaluated. Each comparison that is not yet
decided asks for `batch` more seeds at the grid points it compares (only those: a trend asks at
every point of its trend); the new runs are ordinary runs (cached, with provenance, counted as n
in tables), and the summaries that read them re-run because their inputs changed. Claims are
evaluated again after each batch. Adding stops per claim when it is decided, when its
comparisons reach the seed cap, when deciding it would take more than twice the cap at the
spread seen so far (futility), or for all claims when the time budget is spent.

The verdicts stay valid under this stopping rule because every look uses the repeated
confidence intervals of a group-sequential design fixed in advance (`labjournal.plan.sequential`):
looks at the profile's seeds, then after each batch, up to the cap. The design is saved with the
added seeds (`results/extra_seeds.json`), so later builds judge the claims by the same design,
and the reasons adding stopped are saved in `results/decisions.json` for `check` and the Claims
page.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from labjournal.claims.evidence import DECIDED, NOT_RUN, Evidence
from labjournal.claims.judge import CLAIMS_FILE, ClaimError, evaluate_all, load_claims_file
from labjournal.claims.verdicts import counted, strict_alpha
from labjournal.plan.model import Plan
from labjournal.plan.schema import Decide
from labjournal.plan.sequential import Design
from labjournal.run.results import Results, split_ref
from labjournal.run.scheduler import RunSummary, run_plan
from labjournal.run.store import ResultsStore


def settings_for(plan: Plan, profile: str | None, max_seeds: int | None, budget: float | None) -> Decide:
    """The profile's `decide:` settings (the plan's defaults where it has none), with the
    command line's overrides."""
    _, spec = plan.profile(profile)
    base = spec.decide or Decide()
    update = {"max_seeds": max_seeds, "budget_minutes": budget}
    return base.model_copy(update={k: v for k, v in update.items() if v is not None})


def run_until_decided(
    plan: Plan,
    store: ResultsStore,
    report_dir: Path,
    settings: Decide,
    console: Console,
    profile: str | None = None,
    **run_options: Any,
) -> RunSummary:
    profile_name, spec = plan.profile(profile)
    if settings.max_seeds < len(spec.seeds):
        raise ClaimError(
            f"--max-seeds {settings.max_seeds} is below the {len(spec.seeds)} seeds profile '{profile_name}' runs"
        )
    claims = load_claims_file(report_dir / CLAIMS_FILE)  # a broken claims file stops before any run
    design = Design.schedule(len(spec.seeds), settings.batch, settings.max_seeds)
    added = store.read_extra_seeds(profile_name)
    if added.get("design") and Design.from_json(added["design"]) != design:
        console.print(
            "[yellow]The design changed[/] (seed cap or batch): the seeds added before are kept, "
            "and the claims are judged by the new design."
        )
    store.write_extra_seeds(profile_name, {"design": design.to_json(), "points": added.get("points", [])})
    deadline = time.monotonic() + 60 * settings.budget_minutes if settings.budget_minutes else None
    summary = run_plan(plan, store, profile=profile_name, console=console, **run_options)
    run_options.pop("force", None)  # forcing applies to the first pass only
    batch_number = 0
    while True:
        results = Results.load(store.root, store.index_path.name)
        verdicts = evaluate_all(results, claims)
        stopped: dict[str, dict[str, Any]] = {}
        wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
        lab = run_options.get("lab")
        for verdict in verdicts:
            if lab is not None and verdict.claim.lab != lab:
                continue  # --lab: only that lab's claims get seeds
            if verdict.verdict in DECIDED:
                stopped[verdict.claim_id] = {"stopped": "decided"}
                continue
            if verdict.verdict == NOT_RUN:
                stopped[verdict.claim_id] = {"stopped": "its lab has no results"}
                continue
            level = strict_alpha(verdict.evidence)
            open_parts = [e for e in counted(verdict.evidence) if e.verdict_at(level) not in DECIDED]
            growing = [e for e in open_parts if e.n < settings.max_seeds]
            if not growing:
                stopped[verdict.claim_id] = {"stopped": f"seed cap ({settings.max_seeds} seeds)"}
                continue
            if all(_futile(e, settings.max_seeds, level) for e in growing):  # no part is worth more seeds
                stopped[verdict.claim_id] = {
                    "stopped": f"futile, deciding it would take more than twice the cap of {settings.max_seeds} seeds"
                }
                continue
            stopped[verdict.claim_id] = {"stopped": "still adding seeds"}
            for evidence in growing:
                for point in evidence.points:
                    key = (evidence.ref, repr(sorted(point.items())), verdict.claim_id)
                    wanted[key] = {"ref": evidence.ref, "point": point}
        if not wanted:
            break
        if deadline is not None and time.monotonic() >= deadline:
            for state in stopped.values():
                if state["stopped"] == "still adding seeds":
                    state["stopped"] = f"time budget ({settings.budget_minutes:g} minutes) spent"
            break
        batch_number += 1
        points = _add_batch(results, store, profile_name, design, settings, wanted.values())
        if not points:
            break
        console.print(
            f"[bold]Until decided, batch {batch_number}:[/] {len(points)} grid point(s) get more seeds "
            f"for {len({k[2] for k in wanted})} undecided claim(s)"
        )
        summary = run_plan(plan, store, profile=profile_name, console=console, **run_options)
    store.write_decisions({"profile": profile_name, "design": design.to_json(), "claims": stopped})
    decided = sum(state["stopped"] == "decided" for state in stopped.values())
    console.print(f"Claims decided: {decided} of {len(stopped)} ({design.describe()})")
    return summary


def _futile(evidence: Evidence, cap: int, alpha: float | None = None) -> bool:
    """Stop adding seeds where, at the spread seen so far (from the second look on, when the
    spread is estimated from five or more seeds), deciding would take more than twice the cap.
    Stopping for futility never decides anything, so it cannot raise the error rates."""
    if evidence.n < 5:
        return False
    needed = evidence.seeds_needed(alpha, limit=2 * cap)
    return needed is not None and needed > 2 * cap


def _add_batch(
    results: Results,
    store: ResultsStore,
    profile: str,
    design: Design,
    settings: Decide,
    wanted: Any,
) -> list[dict[str, Any]]:
    """Give every wanted grid point its next `batch` seeds (never past the cap); save them."""
    added = store.read_extra_seeds(profile)
    points: list[dict[str, Any]] = list(added.get("points", []))
    grown = []
    for want in wanted:
        lab, experiment = split_ref(want["ref"])
        rows = results.point_rows(lab, experiment, **want["point"])
        have = sorted({row["seed"] for row in rows})
        room = settings.max_seeds - len(have)
        if room <= 0:
            continue
        new = list(range(max(have) + 1, max(have) + 1 + min(settings.batch, room)))
        entry = next(
            (
                p
                for p in points
                if p["lab"] == lab and p["experiment"] == experiment and p["point"] == want["point"]
            ),
            None,
        )
        if entry is None:
            entry = {"lab": lab, "experiment": experiment, "point": want["point"], "seeds": []}
            points.append(entry)
        fresh = [seed for seed in new if seed not in entry["seeds"]]
        if fresh:
            entry["seeds"] = sorted(entry["seeds"] + fresh)
            grown.append(entry)
    store.write_extra_seeds(profile, {"design": design.to_json(), "points": points})
    return grown
