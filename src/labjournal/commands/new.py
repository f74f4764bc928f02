"""`labjournal new`: a new journal in an empty folder."""

from __future__ import annotations

from rich.console import Console

from labjournal.authoring.new import new_journal
from labjournal.commands.options import NewOptions


def main(project: None, options: NewOptions, console: Console) -> None:
    target = new_journal(options.folder, title=options.title, author=options.author)
    console.print(
        f"A new journal in {target}. Next: cd {options.folder} && make report   (then open _site/index.html)"
    )
