"""The `labjournal` command: parses arguments and calls the engine. No logic lives here."""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.markup import escape

from labjournal import __version__
from labjournal.errors import LabjournalError

console = Console(stderr=True, highlight=False, soft_wrap=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labjournal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"labjournal {__version__}")
    parser.add_argument(
        "--project", default=None, help="project folder (default: search upward for journal.yml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def add_run_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--profile", default=None, help="plan profile: quick, default, full (default: the plan's)"
        )
        sub.add_argument("--lab", default=None, help="execute only this lab's runs")
        sub.add_argument(
            "--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)"
        )
        sub.add_argument(
            "--force",
            nargs="?",
            const="all",
            default=None,
            metavar="WHAT",
            help="re-execute even if cached: all (default), a lab, lab/notebook, lab/experiment or a key prefix",
        )
        sub.add_argument("--data-dir", default=None, help="offline data folder (default: $LABJOURNAL_DATA)")
        sub.add_argument("--timeout", type=int, default=None, help="seconds a single cell may run")
        sub.add_argument(
            "--wait", type=float, default=0, help="seconds to wait for another run holding the store"
        )
        sub.add_argument(
            "--executor",
            choices=("local", "dask"),
            default="local",
            help="where runs execute: local worker processes (default) or a Dask cluster",
        )
        sub.add_argument(
            "--scheduler", default=None, help="the Dask scheduler's address, e.g. tcp://host:8786"
        )
        sub.add_argument(
            "--until-decided",
            action="store_true",
            help="add seeds at the grid points of undecided claims, in batches, until each is decided "
            "(on by default for profiles with `decide:`)",
        )
        sub.add_argument(
            "--max-seeds", type=int, default=None, help="with --until-decided: seeds per grid point at most"
        )
        sub.add_argument(
            "--budget",
            type=float,
            default=None,
            metavar="MINUTES",
            help="with --until-decided: stop adding seeds after this many minutes",
        )
        sub.add_argument(
            "--fresh-kernels",
            action="store_true",
            help="start a new kernel for every run instead of reusing a worker's warm kernel",
        )

    def add_build_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--engine",
            choices=("auto", "quarto", "pandoc"),
            default="auto",
            help="quarto where installed (auto), or the built-in pandoc + typst engine",
        )
        sub.add_argument(
            "--only", choices=("site", "pdf"), default=None, help="build only the site or the PDF"
        )

    profile_help = (
        "whose results and outputs (default: the plan's default profile; another builds into _site-NAME/)"
    )
    add_run_options(commands.add_parser("run", help="execute the notebooks of the plan"))
    render = commands.add_parser(
        "render", help="turn report/ prose and the results into Quarto pages in _build/"
    )
    render.add_argument("--profile", default=None, help=profile_help)
    build = commands.add_parser("build", help="build _site/ and the PDF from _build/")
    build.add_argument("--profile", default=None, help=profile_help)
    add_build_options(build)
    report = commands.add_parser("report", help="run + render + build")
    add_run_options(report)
    add_build_options(report)
    plan = commands.add_parser("plan", help="list the runs of a profile and whether each is cached")
    plan.add_argument("--profile", default=None)
    plan.add_argument("--data-dir", default=None)
    check = commands.add_parser("check", help="check the journal's claims against the results (runs nothing)")
    check.add_argument("--strict", action="store_true", help="also fail when a claim is inconclusive")
    check.add_argument("--json", action="store_true", help="every claim and its parts as JSON on stdout")
    check.add_argument("--profile", default=None, help=profile_help)
    check.add_argument(
        "--familywise",
        choices=("none", "holm"),
        default=None,
        help="family-wise error control over every comparison (default: the claims file's setting)",
    )
    new = commands.add_parser("new", help="start a new journal in an empty folder")
    new.add_argument("folder")
    new.add_argument("--title", default="My lab journal")
    new.add_argument("--author", default="A. Learner")
    add = commands.add_parser(
        "add", help="adopt an existing notebook: tag its parameters, add it to journal.yml"
    )
    add.add_argument("notebook", help="the .ipynb file, inside the project")
    add.add_argument("--lab", required=True, help="the lab it joins")
    add.add_argument(
        "--experiment", default=None, help="an experiment name (default with --grid: the notebook's)"
    )
    add.add_argument(
        "--grid", action="append", default=[], metavar="NAME=V1,V2", help="a parameter's grid (repeatable)"
    )
    add.add_argument("--name", default=None, help="its name in the plan (default: the file's stem)")
    add.add_argument("--page", default=None, help="a new lab's page in report/ (only for a new lab)")
    publish = commands.add_parser(
        "publish", help="commit _site/ to the gh-pages branch, or copy it to a folder"
    )
    publish.add_argument("target", nargs="?", default="gh-pages", help="gh-pages (default) or a folder")
    publish.add_argument(
        "--profile", default=None, help="publish another profile's build (needs --not-the-journal)"
    )
    publish.add_argument(
        "--not-the-journal",
        action="store_true",
        help="publish a build of a profile other than the default one, knowing it is not the journal to submit",
    )
    preview = commands.add_parser(
        "preview", help="build, serve on 127.0.0.1 and rebuild on every save (pages reload themselves)"
    )
    preview.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    preview.add_argument("--profile", default=None)
    serve = commands.add_parser("serve", help="serve the built site on localhost")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--profile", default=None, help=profile_help)
    return parser


def _noop_options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("project", "jobs", "wait")}


def _nothing_changed(args: argparse.Namespace) -> bool:
    """`report` with nothing changed since the last complete one: checked before importing the
    engine (labjournal.build.noop)."""
    from labjournal.build import noop
    from labjournal.project import Project

    project = Project.discover(args.project, args.profile)
    site = project.site_config().output_dir
    return noop.unchanged(project.root, site, project.output_suffix, _noop_options(args))


def _remember_report(args: argparse.Namespace) -> None:
    from labjournal.build import noop
    from labjournal.project import Project

    project = Project.discover(args.project, args.profile)
    if not noop.waiting_on_budget(project.root):
        noop.record(
            project.root, project.site_config().output_dir, project.output_suffix, _noop_options(args)
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        if args.command == "report" and args.force is None and _nothing_changed(args):
            console.print("Nothing changed since the last report: nothing to run, render or build.")
            return 0
    except LabjournalError:
        pass  # the full path reports the problem properly
    from labjournal import commands  # imported late: `--help` and a no-op stay instant

    try:
        if args.command == "run":
            commands.run(args.project, **_run_kwargs(args), console=console)
        elif args.command == "render":
            commands.render(args.project, console=console, profile=args.profile)
        elif args.command == "build":
            commands.build(
                args.project, engine=args.engine, only=args.only, console=console, profile=args.profile
            )
        elif args.command == "report":
            commands.report(
                args.project, engine=args.engine, only=args.only, console=console, **_run_kwargs(args)
            )
            _remember_report(args)
        elif args.command == "plan":
            commands.show_plan(args.project, profile=args.profile, data_dir=args.data_dir, console=console)
        elif args.command == "check":
            commands.check(
                args.project,
                strict=args.strict,
                familywise=args.familywise,
                as_json=args.json,
                console=console,
                profile=args.profile,
            )
        elif args.command == "new":
            commands.new(args.folder, title=args.title, author=args.author, console=console)
        elif args.command == "add":
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
        elif args.command == "publish":
            commands.publish(
                args.project,
                target=args.target,
                console=console,
                profile=args.profile,
                not_the_journal=args.not_the_journal,
            )
        elif args.command == "preview":
            commands.preview(args.project, port=args.port, profile=args.profile, console=console)
        elif args.command == "serve":
            commands.serve(args.project, port=args.port, console=console, profile=args.profile)
    except LabjournalError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("preview stopped" if args.command == "preview" else "interrupted")
        return 130
    if args.command in ("report", "build"):
        console.print(f"done in {time.monotonic() - started:.1f} s")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
