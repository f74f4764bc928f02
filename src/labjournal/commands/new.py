"""`labjournal new`: a new journal in an empty folder."""

from __future__ import annotations

from rich.console import Console

from labjournal.authoring.new import install_spec, new_journal
from labjournal.commands.options import NewOptions


def main(project: None, options: NewOptions, console: Console) -> None:
    target = new_journal(options.folder, title=options.title, author=options.author)
    console.print(
        f"A new journal in {target}. Next: cd {options.folder} && make report   (then open _site/index.html)"
    )
    spec = install_spec()
    if spec.startswith("/"):  # installed from a folder of this machine: the Makefile says so
        console.print(
            f"[yellow]Note:[/] its Makefile installs labjournal from {spec}, a folder of this machine; "
            "elsewhere (another machine, CI) run make with LABJOURNAL set to what pip should install, "
            "e.g. `make report LABJOURNAL=labjournal` or a git URL, or edit the Makefile's LABJOURNAL line"
        )
