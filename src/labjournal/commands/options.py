"""Every command's options, one typed record each, and the table `labjournal --help` lists. A
field is an option (labjournal.options.flag): the parser is made from these records and the parsed
arguments come back as them, so each option is declared once. Light to import: the engine is
imported only by the command that runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labjournal.options import ProfileOption, flag, switch
from labjournal.run.options import RunOptions, VerifyOptions


@dataclass(frozen=True)
class BuildOptions(ProfileOption):
    engine: str = flag(
        "--engine",
        default="auto",
        choices=("auto", "quarto", "pandoc"),
        help="quarto where installed (auto), or the built-in pandoc + typst engine",
    )
    only: str | None = flag("--only", choices=("site", "pdf"), help="build only the site or the PDF")


@dataclass(frozen=True)
class ReportOptions(RunOptions, BuildOptions):
    """`report`: run's options and build's."""


@dataclass(frozen=True)
class PlanOptions(ProfileOption):
    data_dir: str | None = flag("--data-dir", help="offline data folder (default: $LABJOURNAL_DATA)")


@dataclass(frozen=True)
class CheckOptions(ProfileOption):
    strict: bool = switch("--strict", help="also fail when a claim is inconclusive")
    json: bool = switch("--json", help="every claim and its parts as JSON on stdout")
    familywise: str | None = flag(
        "--familywise",
        choices=("none", "holm"),
        help="family-wise error control over every comparison (default: the claims file's setting)",
    )


@dataclass(frozen=True)
class StatusOptions(ProfileOption):
    json: bool = switch("--json", help="print the status as JSON")


@dataclass(frozen=True)
class NewOptions:
    folder: str = flag("folder", help="an empty (or new) folder")
    title: str = flag("--title", default="My lab journal", help="the journal's title")
    author: str = flag("--author", default="A. Learner", help="its author")


@dataclass(frozen=True)
class AddOptions:
    notebook: str = flag("notebook", help="the .ipynb file, inside the project")
    lab: str = flag("--lab", required=True, help="the lab it joins")
    experiment: str | None = flag(
        "--experiment", help="an experiment name (default with --grid: the notebook's)"
    )
    grid: list[str] = flag(
        "--grid", factory=list, action="append", metavar="NAME=V1,V2", help="a parameter's grid (repeatable)"
    )
    name: str | None = flag("--name", help="its name in the plan (default: the file's stem)")
    page: str | None = flag("--page", help="a new lab's page in report/ (only for a new lab)")


@dataclass(frozen=True)
class PublishOptions(ProfileOption):
    target: str = flag("target", default="gh-pages", nargs="?", help="gh-pages (default) or a folder")
    not_the_journal: bool = switch(
        "--not-the-journal",
        help="publish a build of a profile other than the default one, knowing it is not the journal to submit",
    )


@dataclass(frozen=True)
class ServeOptions(ProfileOption):
    port: int = flag("--port", default=8000, type=int, help="the port on 127.0.0.1 (0 picks a free one)")


@dataclass(frozen=True)
class SchemaOptions:
    which: str = flag("which", choices=("journal", "claims"), help="journal.yml or report/claims.yml")


@dataclass(frozen=True)
class Command:
    """A command as `labjournal --help` lists it: its help line and its options record."""

    help: str
    options: type[Any]
    in_a_journal: bool = True  # discovers the journal (from --project, else upward from here)
    starts_at: str | None = None  # the option whose folder the search starts from, if not here


COMMANDS: dict[str, Command] = {
    "run": Command("execute the notebooks of the plan", RunOptions),
    "render": Command("turn report/ prose and the results into Quarto pages in _build/", ProfileOption),
    "build": Command("build _site/ and the PDF from _build/", BuildOptions),
    "report": Command("run + render + build", ReportOptions),
    "plan": Command("list the runs of a profile and whether each is cached", PlanOptions),
    "check": Command("check the journal's claims against the results (runs nothing)", CheckOptions),
    "status": Command("say what is stale and why, stage by stage (runs nothing)", StatusOptions),
    "verify": Command(
        "re-execute runs in scratch and compare them with the journal (or check a PDF)", VerifyOptions
    ),
    "new": Command("start a new journal in an empty folder", NewOptions, in_a_journal=False),
    "add": Command(
        "adopt an existing notebook: tag its parameters, add it to journal.yml",
        AddOptions,
        starts_at="notebook",
    ),
    "publish": Command("commit _site/ to the gh-pages branch, or copy it to a folder", PublishOptions),
    "preview": Command(
        "build, serve on 127.0.0.1 and rebuild on every save (pages reload themselves)", ServeOptions
    ),
    "serve": Command("serve the built site on localhost", ServeOptions),
    "schema": Command(
        "print the JSON Schema of journal.yml or claims.yml", SchemaOptions, in_a_journal=False
    ),
}
