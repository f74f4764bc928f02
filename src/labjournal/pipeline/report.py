"""`run`, `render` and `report` as steps over one project: the plan executed (until its claims are
decided where the profile says so), the claims' encodings recorded in the ledger, the pages
rendered and the site and PDF built. Failed runs do not stop the journal: what needs them becomes
a note, the rest is built, and the exit status says that something failed."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from labjournal.build.incremental import build_prose_edit, rendered_pages
from labjournal.build.outputs import build_outputs
from labjournal.claims.file import located
from labjournal.claims.judge import CLAIMS_FILE, ClaimError, judge_journal, load_claims_file
from labjournal.errors import RunsFailedError
from labjournal.pipeline.decide import run_request
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.freshness import read_render
from labjournal.render.journal import render_journal
from labjournal.results.lookup import Results
from labjournal.results.store import ResultsStore
from labjournal.run.options import RunOptions
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import RunSummary


def run_journal(
    project: Project, options: RunOptions, console: Console, record_encodings: bool = True
) -> RunSummary:
    """Execute the plan; with --until-decided (or a profile with `decide:`), add seeds where
    claims need them until they are decided. Then record the claims' encodings in the ledger
    (`run` and `report`; a preview passes `record_encodings=False`)."""
    request = RunRequest.for_plan(load_plan(project.plan_file), options, console)
    store = ResultsStore(project.results_dir, project.index_path.name)
    try:
        summary = run_request(request, store, project.report_dir)
    except RunsFailedError:  # the index is written: the claims whose runs succeeded are judged
        if record_encodings:
            record_claim_encodings(project, console)
        raise
    except ClaimError as exc:  # --until-decided judges the claims: at the claim's line, as in check
        raise located(exc, project.report_dir) from None
    if record_encodings:
        record_claim_encodings(project, console)
    return summary


def record_claim_encodings(project: Project, console: Console) -> None:
    """The one writer of `report/claims.ledger.json` (labjournal.claims.ledger): every claim judged
    against the results just written, with its encoding as claims.yml now says it. A claim that
    cannot be judged is left to `check` and `render`, which say why."""
    results = Results.load(project.results_dir, project.index_path.name)
    if not results.runs:
        return
    try:
        claims = load_claims_file(project.report_dir / CLAIMS_FILE)
        judge_journal(results, claims, project.report_dir, record=True)
    except ClaimError as exc:
        console.print(f"[yellow]warning:[/] claim encodings not recorded: {escape(str(exc))}")


def render(project: Project, console: Console) -> Path:
    """Render the pages; values whose runs failed become notes, and the exit status says so."""
    out, failed = render_journal(project)
    console.print(f"Rendered the journal into {out.relative_to(project.root)}/")
    for warning in (read_render(project) or {}).get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if failed:
        raise RunsFailedError(
            f"rendered, with notes where runs failed (see {', '.join(failed[:3])}"
            + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
            + "): fix the notebooks and run `labjournal run`"
        )
    return out


def report(
    project: Project, options: RunOptions, console: Console, engine: str = "auto", only: str | None = None
) -> None:
    """Run, render and build (only what a prose edit changed, where that is all that changed)."""
    before, pages_before = read_render(project), rendered_pages(project)
    failures: list[RunsFailedError] = []
    for step in (lambda: run_journal(project, options, console), lambda: render(project, console)):
        try:
            step()
        except RunsFailedError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            failures.append(exc)
    if only is not None or not build_prose_edit(project, before, pages_before, engine, console):
        build_outputs(project, engine=engine, only=only, console=console)
    if failures:
        raise RunsFailedError("the journal was built with notes where runs failed; see above")
