"""`labjournal status`: what is stale and why, stage by stage (labjournal.build.status)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from labjournal.build.status import journal_status
from labjournal.commands.options import StatusOptions
from labjournal.project import Project


def main(project: Project, options: StatusOptions, console: Console) -> None:
    stages = journal_status(project)
    out = Console(soft_wrap=True, highlight=False)  # stdout, like `plan`
    if options.json:
        out.print_json(data={"profile": project.profile_name, "stages": [s.to_json() for s in stages]})
        return
    for stage in stages:
        if stage.fresh:
            out.print(f"[green]{stage.stage}: up to date[/]")
            continue
        count = f" ({len(stage.runs)} run{'s' if len(stage.runs) != 1 else ''})" if stage.runs else ""
        out.print(f"[yellow]{stage.stage}: stale{count}[/]")
        for why in stage.reasons:
            out.print(f"  {escape(why)}")
