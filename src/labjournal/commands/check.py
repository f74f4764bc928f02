"""`labjournal check`: every claim judged against the results store (never runs a notebook). The
verdicts (or JSON) go to stdout, so they can be piped; the exit status says whether the claims
hold."""

from __future__ import annotations

from rich.console import Console

from labjournal.claims import check_out
from labjournal.claims.judge import (
    CLAIMS_FILE,
    CONTRADICTED,
    NEGLIGIBLE,
    SUPPORTED,
    judge_journal,
    load_claims_file,
)
from labjournal.claims.sequential import Design
from labjournal.commands.options import CheckOptions
from labjournal.errors import ClaimsNotSupportedError, LabjournalError
from labjournal.project import Project
from labjournal.results.lookup import Results


def main(project: Project, options: CheckOptions, console: Console) -> None:
    claims = load_claims_file(project.report_dir / CLAIMS_FILE)
    results = Results.load(project.results_dir, project.index_path.name)
    if not results.runs:
        raise LabjournalError(
            f"no results of the '{project.profile_name}' profile to check the claims against "
            f"({project.index_path.relative_to(project.root)} is missing): run `labjournal run"
            + ("" if project.is_default else f" --profile {project.profile_name}")
            + "` (or `make report`) first"
        )
    verdicts = judge_journal(results, claims, project.report_dir, familywise=options.familywise)
    design = Design.of(results.design)
    method = options.familywise or claims.familywise
    profile = str(results.index.profile)
    if options.json:
        print(check_out.as_json(verdicts, profile, design, method))
    else:
        check_out.print_table(verdicts, profile, design, method, claims.labels)
    failing = [
        v
        for v in verdicts
        if v.verdict == CONTRADICTED or (options.strict and v.verdict not in (SUPPORTED, NEGLIGIBLE))
    ]
    if failing:
        what = "not supported" if options.strict else "contradicted"
        raise ClaimsNotSupportedError(
            f"{len(failing)} claim(s) {what}: " + ", ".join(v.claim_id for v in failing)
        )
