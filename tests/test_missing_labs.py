"""Writing while labs are missing: a page whose lab has no results renders with notes where its
values, figures and tables would be; the other pages build; claims of that lab are 'not run'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import add_second_lab, make_demo_project
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.cli import main
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

OTHER_PAGE = """---
title: Other lab
---

The square was {{ metric("other/squares", "square", x=5.0) | num(2) }}; the best x was
{{ best("other/squares", "square").x }}.

{{ figure("other/squares", "plot", x=5.0) }}

{{ table("other/squares", ["square"], by=["x"]) }}

{% if metric("other/squares", "square", x=5.0).mean > 100 %}Large.{% else %}Not large.{% endif %}

Squares grow. {{ claim("other-grows") }}
"""


@pytest.mark.slow
def test_a_lab_without_results_renders_notes_and_its_claims_are_not_run(tmp_path: Path, capsys) -> None:
    project = make_demo_project(tmp_path / "p")
    add_second_lab(project, page="other.qmd")
    plan = project / "journal.yml"
    (project / "report" / "other.qmd").write_text(OTHER_PAGE)
    quarto = project / "_quarto.yml"
    quarto.write_text(quarto.read_text() + "      - other.qmd\n")
    (project / "report" / "claims.yml").write_text(
        "claims:\n  other-grows:\n    lab: other\n    sentence: Squares grow.\n"
        "    expect: {greater: {ref: other/squares, metric: square, margin: 0.5, at: {x: 6.0}, than: {x: 5.0}}}\n"
    )
    quiet = Console(quiet=True)
    request = RunRequest.for_plan(load_plan(plan), profile="quick", lab="demo", console=quiet)
    run_plan(request, ResultsStore(project / "results"))
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", only="site", console=quiet)
    page = " ".join((project / "_site" / "other.html").read_text().split())
    assert page.count("<code>labjournal run --lab other</code>") == 4  # value, best, figure, table
    assert "its lab has no results yet" in page and "claim-not-run" in page  # the claim
    assert "Not large." in page
    assert "The square at x = 2 is 4.00" in (project / "_site" / "demo.html").read_text()  # other pages build
    assert main(["--project", str(project), "check"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "other-grows (other): not run" in out and "its lab has no results yet" in out
    index = json.loads((project / "results" / "index.json").read_text())
    assert {row["lab"] for row in index["runs"] if row["status"] == "ok"} == {"demo"}
