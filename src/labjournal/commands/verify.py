"""`labjournal verify`: re-execute runs of the journal in scratch and compare them with results/
(labjournal.run.verify), or, with `--pdf`, check a PDF's (or a published folder's) digest against
these results (labjournal.build.digest)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from labjournal.build.digest import journal_digest, matches, read_document
from labjournal.errors import VerifyFailedError
from labjournal.project import Project
from labjournal.render.freshness import read_render, sources
from labjournal.render.journal import render_journal
from labjournal.run.options import VerifyOptions
from labjournal.run.verify import verify_journal


def main(project: Project, options: VerifyOptions, console: Console) -> None:
    if options.pdf is not None:
        verify_document(project, Path(options.pdf), console, options.json)
        return
    report = verify_journal(project, options, console)
    out = Console(soft_wrap=True, highlight=False)  # the report: stdout, like `check`
    if options.json:
        out.print_json(data=report.to_json())
    else:
        for line in report.lines():
            out.print(escape(line))
    if not report.ok:
        raise VerifyFailedError(f"not verified: {report.line()}")


def verify_document(project: Project, document: Path, console: Console, as_json: bool = False) -> None:
    """Whether the document a reader holds is the one the repository's results build: its digest
    against the digest of these results, rendered and judged here."""
    held = read_document(document)
    record = read_render(project)
    if record is None or not record.get("ok") or record.get("sources") != sources(project):
        console.print("Rendering the journal from results/ to recompute its digest")
        render_journal(project)
    ok, sentence = matches(held, journal_digest(project))
    if as_json:
        Console(highlight=False).print_json(
            data={"document": str(document), "matches": ok, "message": sentence}
        )
    else:
        Console(soft_wrap=True, highlight=False).print(escape(sentence))
    if not ok:
        raise VerifyFailedError(f"{document}: {sentence}")
