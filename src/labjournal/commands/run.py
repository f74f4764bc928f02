"""`labjournal run`: execute the plan (until its claims are decided where the profile says so)."""

from __future__ import annotations

from rich.console import Console

from labjournal.pipeline.report import run_journal
from labjournal.project import Project
from labjournal.run.options import RunOptions


def main(project: Project, options: RunOptions, console: Console) -> None:
    run_journal(project, options, console)
