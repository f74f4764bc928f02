"""`labjournal preview`: build, serve on 127.0.0.1 and rebuild on every save."""

from __future__ import annotations

import functools

from rich.console import Console

from labjournal.authoring.preview import serve_and_watch
from labjournal.commands.options import ServeOptions
from labjournal.pipeline.report import run_journal
from labjournal.project import Project
from labjournal.run.options import RunOptions


def main(project: Project, options: ServeOptions, console: Console) -> None:
    # until decided too; a preview never writes the claims ledger (labjournal.claims.ledger)
    run = functools.partial(run_journal, project, RunOptions(profile=options.profile), console, False)
    serve_and_watch(project, console, run, port=options.port)
