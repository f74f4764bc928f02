"""What each CLI command does, in terms of the engine's modules."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labjournal.authoring.add import Adoption, adopt
from labjournal.authoring.new import new_journal
from labjournal.authoring.publish import publish as publish_site
from labjournal.build.incremental import build_prose_edit, rendered_pages
from labjournal.build.outputs import build_outputs
from labjournal.claims import check_out
from labjournal.claims.decide import run_request
from labjournal.claims.file import located
from labjournal.claims.judge import (
    CLAIMS_FILE,
    CONTRADICTED,
    NEGLIGIBLE,
    SUPPORTED,
    ClaimError,
    judge_journal,
    load_claims_file,
)
from labjournal.claims.sequential import Design
from labjournal.errors import ClaimsNotSupportedError, LabjournalError, RunsFailedError
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.freshness import read_render
from labjournal.render.journal import render_journal
from labjournal.results.lookup import Results
from labjournal.results.store import ResultsStore
from labjournal.run.cache import plan_keys, resolve_sources
from labjournal.run.reads import ReadCheck, ReadScope
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import RunSummary


def run(
    project_dir: str | None, console: Console, record_encodings: bool = True, **options: Any
) -> RunSummary:
    """Execute the plan; with --until-decided (or a profile with `decide:`), add seeds where
    claims need them until they are decided. Then record the claims' encodings in the ledger
    (`run` and `report` only; preview passes `record_encodings=False`). `options`: those of
    `RunRequest.for_plan`."""
    project = Project.discover(project_dir, options.get("profile"))
    request = RunRequest.for_plan(load_plan(project.plan_file), console=console, **options)
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


def render(project_dir: str | None, console: Console, profile: str | None = None) -> Path:
    """Render the pages; values whose runs failed become notes, and the exit status says so."""
    project = Project.discover(project_dir, profile)
    out, failed = render_journal(project)
    console.print(f"Rendered the journal into {out.relative_to(project.root)}/")
    if failed:
        raise RunsFailedError(
            f"rendered, with notes where runs failed (see {', '.join(failed[:3])}"
            + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
            + "): fix the notebooks and run `labjournal run`"
        )
    return out


def build(
    project_dir: str | None,
    console: Console,
    engine: str = "auto",
    only: str | None = None,
    profile: str | None = None,
) -> None:
    project = Project.discover(project_dir, profile)
    build_outputs(project, engine=engine, only=only, console=console)


def report(
    project_dir: str | None, console: Console, engine: str = "auto", only: str | None = None, **run_options
) -> None:
    """Run, render and build. Failed runs do not stop the journal: what needs them becomes a note,
    the rest is built, and the exit status says that something failed."""
    profile = run_options.get("profile")
    project = Project.discover(project_dir, profile)
    before, pages_before = read_render(project), rendered_pages(project)
    failures: list[RunsFailedError] = []
    for step in (
        lambda: run(project_dir, console=console, **run_options),
        lambda: render(project_dir, console=console, profile=profile),
    ):
        try:
            step()
        except RunsFailedError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            failures.append(exc)
    if only is not None or not build_prose_edit(project, before, pages_before, engine, console):
        build(project_dir, console=console, engine=engine, only=only, profile=profile)
    if failures:
        raise RunsFailedError("the journal was built with notes where runs failed; see above")


def show_plan(
    project_dir: str | None, console: Console, profile: str | None = None, data_dir: str | None = None
) -> None:
    project = Project.discover(project_dir, profile)
    plan = load_plan(project.plan_file)
    profile_name, profile_spec = plan.profile(profile)
    specs = plan.runs(profile_name)
    sources = resolve_sources(plan, specs, specs, profile_spec.data, data_dir)
    store = ResultsStore(project.results_dir, project.index_path.name)
    keyed = plan_keys(plan, specs, sources)
    distinct = len({item.key for item in keyed})
    table = Table(title=f"profile '{profile_name}': {len(specs)} runs ({distinct} distinct)")
    for column in ("run", "key", "status"):
        table.add_column(column, overflow="fold")  # a reason is read whole, never cut
    check = ReadCheck(ReadScope.of(plan.root, store.root))
    for item in keyed:
        _record, reason = check.lookup(store, item)
        table.add_row(escape(item.spec.label), item.key[:12], escape(reason))
    out = Console(soft_wrap=False, highlight=False)  # a listing: stdout, so that `plan | grep` works
    out.print(table)
    out.print(what_keys_cover(keyed, sources))


def what_keys_cover(keyed: list, sources: dict) -> str:
    """Per notebook, the files and datasets its runs' keys cover (besides its code and parameters)."""
    lines = ["What each notebook's cache key covers besides its cells and parameters:"]
    seen: set[tuple[str, str]] = set()
    for item in keyed:
        if (item.spec.lab, item.spec.notebook) in seen:
            continue
        seen.add((item.spec.lab, item.spec.notebook))
        lines.append(f"  {item.spec.lab}/{item.spec.notebook} ({item.inputs['notebook_code'][:8]})")
        code = ", ".join(item.inputs["code"]) or "none"
        lines.append(f"    code: {escape(code)}")
        for name in item.spec.data:
            found = sources.get(name)
            shown = f"{found.description}, {found.fingerprint[:12]}" if found else "unavailable"
            lines.append(f"    data: {name} ({escape(shown)})")
        for name, fingerprint in item.inputs["deps"].items():
            lines.append(f"    deps: {escape(name)} ({fingerprint[:12]})")
        if item.spec.inputs:
            lines.append(f"    reads the runs of: {', '.join(item.spec.inputs)}")
    return "\n".join(lines)


def new(folder: str, title: str, author: str, console: Console) -> Path:
    target = new_journal(folder, title=title, author=author)
    console.print(
        f"A new journal in {target}. Next: cd {folder} && make report   (then open _site/index.html)"
    )
    return target


def add(
    project_dir: str | None,
    notebook: str,
    lab: str,
    console: Console,
    experiment: str | None = None,
    grid: list[str] | None = None,
    name: str | None = None,
    page: str | None = None,
) -> Adoption:
    """Adopt an ordinary notebook: tag its parameters cell and add it to journal.yml."""
    project = Project.discover(project_dir or Path(notebook).resolve().parent)
    adoption = adopt(project, notebook, lab, experiment=experiment, grid=grid or [], name=name, page=page)
    for line in adoption.done():
        console.print(escape(line))
    console.print("Next:")
    for step in adoption.next_steps():
        console.print(f"  - {escape(step)}")
    return adoption


def publish(
    project_dir: str | None,
    console: Console,
    target: str = "gh-pages",
    profile: str | None = None,
    not_the_journal: bool = False,
) -> str:
    project = Project.discover(project_dir, profile)
    if not project.is_default and not not_the_journal:
        raise LabjournalError(
            f"{project.site_dir.name}/ is the '{project.profile_name}' profile's build, not the journal "
            f"(the '{project.default_profile}' profile's, in {project.with_profile(None).site_dir.name}/): "
            "publish it with --not-the-journal, or publish the journal without --profile"
        )
    message = publish_site(project, target)
    console.print(f"Published: {message}")
    return message


def preview(project_dir: str | None, console: Console, port: int = 8000, profile: str | None = None) -> None:
    from labjournal.authoring.preview import serve_and_watch  # watchfiles only where previewing

    # until decided too; a preview never writes the claims ledger (labjournal.claims.ledger)
    run_as_report = functools.partial(run, project_dir, console, record_encodings=False, profile=profile)
    serve_and_watch(Project.discover(project_dir, profile), console, run_as_report, port=port)


def serve(project_dir: str | None, console: Console, port: int = 8000, profile: str | None = None) -> None:
    project = Project.discover(project_dir, profile)
    site = project.site_dir
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console.print(f"Serving {site} at http://127.0.0.1:{port}/ (Ctrl-C stops)")
        server.serve_forever()


def check(
    project_dir: str | None,
    console: Console,
    strict: bool = False,
    familywise: str | None = None,
    as_json: bool = False,
    profile: str | None = None,
) -> None:
    """Evaluate every claim against the results store (never runs a notebook). The table (or the
    JSON) goes to stdout, so it can be piped; the exit status says whether the claims hold."""
    project = Project.discover(project_dir, profile)
    claims = load_claims_file(project.report_dir / CLAIMS_FILE)
    results = Results.load(project.results_dir, project.index_path.name)
    if not results.runs:
        raise LabjournalError(
            f"no results of the '{project.profile_name}' profile to check the claims against "
            f"({project.index_path.relative_to(project.root)} is missing): run `labjournal run"
            + ("" if project.is_default else f" --profile {project.profile_name}")
            + "` (or `make report`) first"
        )
    verdicts = judge_journal(results, claims, project.report_dir, familywise=familywise)
    design = Design.from_json(results.index.get("design"))
    method = familywise or claims.familywise
    profile = str(results.index.get("profile"))
    if as_json:
        print(check_out.as_json(verdicts, profile, design, method))
    else:
        check_out.print_table(verdicts, profile, design, method)
    failing = [
        v
        for v in verdicts
        if v.verdict == CONTRADICTED or (strict and v.verdict not in (SUPPORTED, NEGLIGIBLE))
    ]
    if failing:
        what = "not supported" if strict else "contradicted"
        raise ClaimsNotSupportedError(
            f"{len(failing)} claim(s) {what}: " + ", ".join(v.claim_id for v in failing)
        )


def status(
    project_dir: str | None, console: Console, profile: str | None = None, as_json: bool = False
) -> bool:
    """What is stale and why, per stage (labjournal.build.status); True when all is up to date."""
    from labjournal.build.status import journal_status

    project = Project.discover(project_dir, profile)
    stages = journal_status(project)
    out = Console(soft_wrap=True, highlight=False)  # stdout, like `plan`
    if as_json:
        out.print_json(data={"profile": project.profile_name, "stages": [s.to_json() for s in stages]})
        return all(stage.fresh for stage in stages)
    for stage in stages:
        if stage.fresh:
            out.print(f"[green]{stage.stage}: up to date[/]")
            continue
        count = f" ({len(stage.runs)} runs)" if stage.runs else ""
        out.print(f"[yellow]{stage.stage}: stale{count}[/]")
        for why in stage.reasons:
            out.print(f"  {escape(why)}")
    return all(stage.fresh for stage in stages)


def verify(
    project_dir: str | None,
    console: Console,
    pdf: str | None = None,
    as_json: bool = False,
    profile: str | None = None,
    **options: Any,
) -> None:
    """Re-execute runs of the journal in scratch and compare them with results/ (labjournal.run.verify),
    or, with `pdf`, check a PDF's (or a published folder's) digest against these results."""
    from labjournal.run.verify import VerifyFailedError, VerifyOptions, verify_journal

    project = Project.discover(project_dir, profile)
    if pdf is not None:
        verify_document(project, Path(pdf), console, as_json)
        return
    report = verify_journal(project, VerifyOptions(**options), console)
    out = Console(soft_wrap=True, highlight=False)  # the report: stdout, like `check`
    if as_json:
        out.print_json(data=report.to_json())
    else:
        for line in report.lines():
            out.print(escape(line))
    if not report.ok:
        raise VerifyFailedError(f"not verified: {report.line()}")


def verify_document(project: Project, document: Path, console: Console, as_json: bool = False) -> None:
    """Whether the document a reader holds is the one the repository's results build: its digest
    against the digest of these results, rendered and judged here (labjournal.build.digest)."""
    from labjournal.build.digest import journal_digest, matches, read_document
    from labjournal.render.freshness import sources
    from labjournal.run.verify import VerifyFailedError

    held = read_document(document)
    record = read_render(project)
    if record is None or not record.get("ok") or record.get("sources") != sources(project):
        console.print("Rendering the journal from results/ to recompute its digest")
        render_journal(project)
    ok, sentence = matches(held, journal_digest(project))
    if as_json:
        Console(highlight=False).print_json(
            data={"document": str(document), "matches": ok, "message": sentence}
        )
    else:
        Console(soft_wrap=True, highlight=False).print(escape(sentence))
    if not ok:
        raise VerifyFailedError(f"{document}: {sentence}")
