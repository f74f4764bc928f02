"""The `labjournal` command: parses the arguments into the command's options record
(labjournal.commands.options), finds the journal once, and calls the command's module
(`labjournal.commands.<name>.main`). Before importing the engine, a `report` with nothing changed
since the last complete one stops here (labjournal.build.noop); that check is the only thing this
module does besides parsing and reporting errors."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from labjournal import __version__
from labjournal.commands.options import COMMANDS, Command
from labjournal.errors import LabjournalError
from labjournal.options import add_arguments, from_arguments, values
from labjournal.project import Project

console = Console(stderr=True, highlight=False, soft_wrap=True)
DESCRIPTION = (
    "A reflective journal from literate experiments: `labjournal report` runs the notebooks of "
    "journal.yml, checks the claims against their results and builds the site and the PDF."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labjournal", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"labjournal {__version__}")
    parser.add_argument(
        "--project", default=None, help="project folder (default: search upward for journal.yml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=command.help), command.options)
    return parser


def _journal(args: argparse.Namespace, command: Command, options: object) -> Project | None:
    """The journal the command works on: --project, else the first folder holding journal.yml
    upward from here (from the notebook's folder, for `add`)."""
    if not command.in_a_journal:
        return None
    start = args.project
    if start is None and command.starts_at is not None:
        start = Path(getattr(options, command.starts_at)).resolve().parent
    return Project.discover(start, getattr(options, "profile", None))


def _nothing_changed(project: Project, options: object) -> bool:
    """`report` with nothing changed since the last complete one (labjournal.build.noop)."""
    from labjournal.build import noop

    if getattr(options, "force", None) is not None:
        return False
    try:
        return noop.unchanged(project, values(options, leave_out=noop.NOT_COMPARED))
    except LabjournalError:
        return False  # the full path reports the problem properly


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = COMMANDS[args.command]
    options = from_arguments(command.options, args)
    started = time.monotonic()
    try:
        project = _journal(args, command, options)
        if args.command == "report" and project is not None and _nothing_changed(project, options):
            console.print("Nothing changed since the last report: nothing to run, render or build.")
            return 0
        importlib.import_module(f"labjournal.commands.{args.command}").main(project, options, console)
    except LabjournalError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # labjournal.errors.Interrupted says what it stopped
        stopped = escape(str(exc)) or ("preview stopped" if args.command == "preview" else "interrupted")
        console.print(stopped, soft_wrap=True)
        return 130
    except BrokenPipeError:  # `labjournal check --json | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    if args.command in ("report", "build"):
        console.print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
