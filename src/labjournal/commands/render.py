"""`labjournal render`: the pages, from report/ and the results, into _build/."""

from __future__ import annotations

from rich.console import Console

from labjournal.options import ProfileOption
from labjournal.pipeline.report import render
from labjournal.project import Project


def main(project: Project, options: ProfileOption, console: Console) -> None:
    render(project, console)
