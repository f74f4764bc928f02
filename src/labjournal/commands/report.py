"""`labjournal report`: run, render and build, and remember a complete report, so that the next
one with nothing changed returns at once (labjournal.build.noop, checked by the CLI before the
engine is imported)."""

from __future__ import annotations

from rich.console import Console

from labjournal.build import noop
from labjournal.commands.options import ReportOptions
from labjournal.options import values
from labjournal.pipeline.report import report
from labjournal.project import Project


def main(project: Project, options: ReportOptions, console: Console) -> None:
    report(project, options, console, engine=options.engine, only=options.only)
    if not noop.waiting_on_budget(project.root):
        noop.record(project, values(options, leave_out=noop.NOT_COMPARED))
