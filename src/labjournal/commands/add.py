"""`labjournal add`: adopt an ordinary notebook (tag its parameters cell, add it to journal.yml)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from labjournal.authoring.add import adopt
from labjournal.commands.options import AddOptions
from labjournal.project import Project


def main(project: Project, options: AddOptions, console: Console) -> None:
    adoption = adopt(
        project,
        options.notebook,
        options.lab,
        experiment=options.experiment,
        grid=options.grid,
        name=options.name,
        page=options.page,
    )
    for line in adoption.done():
        console.print(escape(line))
    console.print("Next:")
    for step in adoption.next_steps():
        console.print(f"  - {escape(step)}")
