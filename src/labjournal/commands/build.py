"""`labjournal build`: the site and the PDF from _build/."""

from __future__ import annotations

from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.commands.options import BuildOptions
from labjournal.project import Project


def main(project: Project, options: BuildOptions, console: Console) -> None:
    build_outputs(project, engine=options.engine, only=options.only, console=console)
