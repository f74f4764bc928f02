"""Data strings reach the reader as text, in a real browser: a run that records an animal named
<script>alert(1)</script> must show that name, and never run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import serve, write_notebook
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

pytestmark = pytest.mark.slow  # runs notebooks and drives a real browser

HOSTILE = "<script>alert(1)</script>"

HOSTILE_CELL = f"""
from labjournal.kit import record
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
record.scalar("square", x * x)
record.table("animals", [{{"name": {HOSTILE!r}, "outcome": "Adoption"}}])
fig, ax = plt.subplots()
ax.plot([1, 2])
record.figure("plot", fig, caption="Outcomes of {HOSTILE}", alt="A plot about {HOSTILE}")
"""

PAGE = """---
title: Demo lab
---

## Animals

{{ run_table("demo/squares", "animals", x=1.0) }}

{{ figure("demo/squares", "plot", x=1.0) }}
"""


def test_a_script_in_the_data_is_shown_as_text_and_never_runs(demo_project: Path, browser) -> None:
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", HOSTILE_CELL)
    (demo_project / "report" / "demo.qmd").write_text(PAGE)
    plan = load_plan(demo_project / "journal.yml")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(plan, profile="quick", console=quiet), ResultsStore(demo_project / "results")
    )
    render_journal(Project(demo_project))
    build_outputs(Project(demo_project), engine="pandoc", only="site", console=quiet)

    dialogs: list[str] = []
    with serve(demo_project / "_site") as base:
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{base}/demo.html")
        page.wait_for_load_state("load")
        text = page.inner_text("main")
        scripts = page.eval_on_selector_all("main script", "nodes => nodes.length")
        alt = page.get_attribute("main img", "alt")
        page.close()
    assert dialogs == []
    assert scripts == 0
    assert HOSTILE in text  # the name in the table, and the caption, as plain text
    assert text.count(HOSTILE) >= 2
    assert alt == f"A plot about {HOSTILE}"


def test_search_box_finds_a_page_by_a_word_on_it(demo_project: Path, browser) -> None:
    (demo_project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\n## Notes\n\nThe axolotl regrows its limbs.\n"
    )
    quiet = Console(quiet=True)
    render_journal(Project(demo_project))
    build_outputs(Project(demo_project), engine="pandoc", only="site", console=quiet)
    with serve(demo_project / "_site") as base:
        page = browser.new_page()
        page.goto(f"{base}/index.html")
        page.fill("#search input", "axolotl")
        page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
        links = page.eval_on_selector_all(".pagefind-ui__result-link", "ls => ls.map(a => a.href)")
        page.fill("#search input", "pangolin")  # on no page
        page.wait_for_selector(".pagefind-ui__message:has-text('No results')", timeout=15_000)
        page.close()
    assert [link.split("#")[0] for link in links] == [f"{base}/demo.html"]


def test_search_box_explains_itself_on_a_page_opened_from_disk(demo_project: Path, browser) -> None:
    (demo_project / "report" / "demo.qmd").write_text("---\ntitle: Demo lab\n---\n\nNo results needed.\n")
    render_journal(Project(demo_project))
    build_outputs(Project(demo_project), engine="pandoc", only="site", console=Console(quiet=True))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((demo_project / "_site" / "index.html").as_uri())
    text = page.inner_text("#search")
    page.close()
    assert "labjournal serve" in text
    assert not errors
