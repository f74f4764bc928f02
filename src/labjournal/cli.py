"""The `labjournal` command: parses arguments and calls the engine. No logic lives here."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.markup import escape

from labjournal import __version__
from labjournal.errors import LabjournalError

console = Console(stderr=True, highlight=False, soft_wrap=True)

# -- the arguments, declared: one small table of options per command ------------------------------

Option = tuple[tuple[str, ...], dict[str, Any]]


def option(*flags: str, **settings: Any) -> Option:
    """One `add_argument` call, written down to be made later."""
    return flags, settings


PROFILE_HELP = (
    "whose results and outputs (default: the plan's default profile; another builds into _site-NAME/)"
)
PROFILE = option("--profile", default=None, help=PROFILE_HELP)

RUN_OPTIONS = (
    option("--profile", default=None, help="plan profile: quick, default, full (default: the plan's)"),
    option("--lab", default=None, help="execute only this lab's runs"),
    option("--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)"),
    option(
        "--force",
        nargs="?",
        const="all",
        default=None,
        metavar="WHAT",
        help="re-execute even if cached: all (default), a lab, lab/notebook, lab/experiment or a key prefix",
    ),
    option("--data-dir", default=None, help="offline data folder (default: $LABJOURNAL_DATA)"),
    option("--timeout", type=int, default=None, help="seconds a single cell may run"),
    option("--wait", type=float, default=0, help="seconds to wait for another run holding the store"),
    option(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where runs execute: local worker processes (default) or a Dask cluster",
    ),
    option("--scheduler", default=None, help="the Dask scheduler's address, e.g. tcp://host:8786"),
    option(
        "--until-decided",
        action="store_true",
        help="add seeds at the grid points of undecided claims, in batches, until each is decided "
        "(on by default for profiles with `decide:`)",
    ),
    option("--max-seeds", type=int, default=None, help="with --until-decided: seeds per grid point at most"),
    option(
        "--budget",
        type=float,
        default=None,
        metavar="MINUTES",
        help="with --until-decided: stop adding seeds this many minutes after the first pass (the "
        "plan's own seeds); the claims it stops say so and a later report continues them "
        "(default: no budget, the design runs to its end)",
    ),
    option(
        "--fresh-kernels",
        action="store_true",
        help="start a new kernel for every run instead of reusing a worker's warm kernel",
    ),
)

BUILD_OPTIONS = (
    option(
        "--engine",
        choices=("auto", "quarto", "pandoc"),
        default="auto",
        help="quarto where installed (auto), or the built-in pandoc + typst engine",
    ),
    option("--only", choices=("site", "pdf"), default=None, help="build only the site or the PDF"),
)

CHECK_OPTIONS = (
    option("--strict", action="store_true", help="also fail when a claim is inconclusive"),
    option("--json", action="store_true", help="every claim and its parts as JSON on stdout"),
    PROFILE,
    option(
        "--familywise",
        choices=("none", "holm"),
        default=None,
        help="family-wise error control over every comparison (default: the claims file's setting)",
    ),
)

NEW_OPTIONS = (
    option("folder"),
    option("--title", default="My lab journal"),
    option("--author", default="A. Learner"),
)

ADD_OPTIONS = (
    option("notebook", help="the .ipynb file, inside the project"),
    option("--lab", required=True, help="the lab it joins"),
    option("--experiment", default=None, help="an experiment name (default with --grid: the notebook's)"),
    option(
        "--grid", action="append", default=[], metavar="NAME=V1,V2", help="a parameter's grid (repeatable)"
    ),
    option("--name", default=None, help="its name in the plan (default: the file's stem)"),
    option("--page", default=None, help="a new lab's page in report/ (only for a new lab)"),
)

PUBLISH_OPTIONS = (
    option("target", nargs="?", default="gh-pages", help="gh-pages (default) or a folder"),
    option("--profile", default=None, help="publish another profile's build (needs --not-the-journal)"),
    option(
        "--not-the-journal",
        action="store_true",
        help="publish a build of a profile other than the default one, knowing it is not the journal to submit",
    ),
)

VERIFY_OPTIONS = (
    option(
        "--sample", type=int, default=10, metavar="K", help="re-execute K runs picked at random (default 10)"
    ),
    option("--all", action="store_true", dest="everything", help="re-execute every run of the journal"),
    option("--seed", type=int, default=0, help="the seed the sample is drawn with (default 0)"),
    option("--lab", default=None, help="only this lab's runs"),
    option("--notebook", default=None, help="only this notebook's runs (lab/notebook or its name)"),
    option(
        "--twice", action="store_true", help="execute each run twice: outputs that move are not reproducible"
    ),
    option(
        "--pdf", default=None, metavar="FILE", help="check a PDF's (or published folder's) digest instead"
    ),
    option("--json", action="store_true", help="the report as JSON on stdout"),
    PROFILE,
    option("--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)"),
    option("--data-dir", default=None, help="offline data folder (default: $LABJOURNAL_DATA)"),
    option("--timeout", type=int, default=None, help="seconds a single cell may run"),
)

# Each command: its help line and its options, in the order `labjournal --help` lists them.
COMMANDS: dict[str, tuple[str, tuple[Option, ...]]] = {
    "run": ("execute the notebooks of the plan", RUN_OPTIONS),
    "render": ("turn report/ prose and the results into Quarto pages in _build/", (PROFILE,)),
    "build": ("build _site/ and the PDF from _build/", (PROFILE, *BUILD_OPTIONS)),
    "report": ("run + render + build", RUN_OPTIONS + BUILD_OPTIONS),
    "plan": (
        "list the runs of a profile and whether each is cached",
        (option("--profile", default=None), option("--data-dir", default=None)),
    ),
    "check": ("check the journal's claims against the results (runs nothing)", CHECK_OPTIONS),
    "status": (
        "say what is stale and why, stage by stage (runs nothing)",
        (PROFILE, option("--json", action="store_true", help="print the status as JSON")),
    ),
    "verify": (
        "re-execute runs in scratch and compare them with the journal (or check a PDF)",
        VERIFY_OPTIONS,
    ),
    "new": ("start a new journal in an empty folder", NEW_OPTIONS),
    "add": ("adopt an existing notebook: tag its parameters, add it to journal.yml", ADD_OPTIONS),
    "publish": ("commit _site/ to the gh-pages branch, or copy it to a folder", PUBLISH_OPTIONS),
    "preview": (
        "build, serve on 127.0.0.1 and rebuild on every save (pages reload themselves)",
        (
            option("--port", type=int, default=8000, help="0 picks a free port"),
            option("--profile", default=None),
        ),
    ),
    "serve": ("serve the built site on localhost", (option("--port", type=int, default=8000), PROFILE)),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labjournal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"labjournal {__version__}")
    parser.add_argument(
        "--project", default=None, help="project folder (default: search upward for journal.yml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (help_line, options) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_line)
        for flags, settings in options:
            sub.add_argument(*flags, **settings)
    return parser


# -- the calls into the engine, one per command ---------------------------------------------------

Handler = Callable[[ModuleType, argparse.Namespace], None]


def _run_kwargs(args: argparse.Namespace) -> dict:
    return {
        "profile": args.profile,
        "lab": args.lab,
        "jobs": args.jobs,
        "force": args.force,
        "data_dir": args.data_dir,
        "timeout_s": args.timeout,
        "wait_s": args.wait,
        "fresh_kernels": args.fresh_kernels,
        "until_decided": args.until_decided,
        "max_seeds": args.max_seeds,
        "budget": args.budget,
        "executor": args.executor,
        "scheduler": args.scheduler,
    }


def _report(commands: ModuleType, args: argparse.Namespace) -> None:
    commands.report(args.project, engine=args.engine, only=args.only, console=console, **_run_kwargs(args))
    _remember_report(args)


def _check(commands: ModuleType, args: argparse.Namespace) -> None:
    commands.check(
        args.project,
        strict=args.strict,
        familywise=args.familywise,
        as_json=args.json,
        console=console,
        profile=args.profile,
    )


def _add(commands: ModuleType, args: argparse.Namespace) -> None:
    commands.add(
        args.project,
        args.notebook,
        args.lab,
        experiment=args.experiment,
        grid=args.grid,
        name=args.name,
        page=args.page,
        console=console,
    )


def _publish(commands: ModuleType, args: argparse.Namespace) -> None:
    commands.publish(
        args.project,
        target=args.target,
        console=console,
        profile=args.profile,
        not_the_journal=args.not_the_journal,
    )


def _verify(commands: ModuleType, args: argparse.Namespace) -> None:
    commands.verify(
        args.project,
        console=console,
        pdf=args.pdf,
        as_json=args.json,
        profile=args.profile,
        sample=args.sample,
        everything=args.everything,
        seed=args.seed,
        lab=args.lab,
        notebook=args.notebook,
        twice=args.twice,
        jobs=args.jobs,
        data_dir=args.data_dir,
        timeout_s=args.timeout,
    )


HANDLERS: dict[str, Handler] = {
    "run": lambda commands, args: commands.run(args.project, **_run_kwargs(args), console=console),
    "render": lambda commands, args: commands.render(args.project, console=console, profile=args.profile),
    "build": lambda commands, args: commands.build(
        args.project, engine=args.engine, only=args.only, console=console, profile=args.profile
    ),
    "report": _report,
    "plan": lambda commands, args: commands.show_plan(
        args.project, profile=args.profile, data_dir=args.data_dir, console=console
    ),
    "check": _check,
    "status": lambda commands, args: commands.status(
        args.project, console=console, profile=args.profile, as_json=args.json
    ),
    "verify": _verify,
    "new": lambda commands, args: commands.new(
        args.folder, title=args.title, author=args.author, console=console
    ),
    "add": _add,
    "publish": _publish,
    "preview": lambda commands, args: commands.preview(
        args.project, port=args.port, profile=args.profile, console=console
    ),
    "serve": lambda commands, args: commands.serve(
        args.project, port=args.port, console=console, profile=args.profile
    ),
}


# -- `report` with nothing changed ---------------------------------------------------------------


def _noop_options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("project", "jobs", "wait")}


def _nothing_changed(args: argparse.Namespace) -> bool:
    """`report` with nothing changed since the last complete one: checked before importing the
    engine (labjournal.build.noop)."""
    from labjournal.build import noop
    from labjournal.project import Project

    project = Project.discover(args.project, args.profile)
    return noop.unchanged(project, _noop_options(args))


def _remember_report(args: argparse.Namespace) -> None:
    from labjournal.build import noop
    from labjournal.project import Project

    project = Project.discover(args.project, args.profile)
    if not noop.waiting_on_budget(project.root):
        noop.record(project, _noop_options(args))


def _report_is_a_noop(args: argparse.Namespace) -> bool:
    try:
        return args.command == "report" and args.force is None and _nothing_changed(args)
    except LabjournalError:
        return False  # the full path reports the problem properly


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    if _report_is_a_noop(args):
        console.print("Nothing changed since the last report: nothing to run, render or build.")
        return 0
    from labjournal import commands  # imported late: `--help` and a no-op stay instant

    try:
        HANDLERS[args.command](commands, args)
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
