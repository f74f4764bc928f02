"""Every problem of a render in one error, each at its page and line: what the prose functions
raise, broken images, unknown citations and unresolved references, on every page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import index_row, make_demo_project, results_index

from labjournal.cli import main
from labjournal.errors import RenderError
from labjournal.project import Project
from labjournal.render.freshness import read_render
from labjournal.render.journal import render_journal


@pytest.fixture
def faked(tmp_path: Path) -> Path:
    """The demo project with a results index written by hand: nothing executed."""
    project = make_demo_project(tmp_path / "project")
    rows = [
        index_row("demo", "squares", {"x": x}, seed, {"square": x * x, "noisy": x + seed / 10})
        for x in (1.0, 2.0)
        for seed in (0, 1)
    ]
    (project / "results").mkdir()
    (project / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    return project


PAGE = """---
title: Demo
---

![The setup](img/setup.png)

As @doe2021 showed, and as @fig-loss shows,
the square is {{ metric('demo/squares', 'cube', x=1.0) | num }}.

Also {{ metric('demo/squares', 'square', x=7.0) }}, and {{ metric('demo/squares', 'square', x=2.0) }}.
"""


def test_a_page_with_a_broken_image_a_citation_a_reference_and_prose_errors_gets_all_in_one_error(
    faked: Path,
) -> None:
    (faked / "report" / "demo.qmd").write_text(PAGE)
    (faked / "report" / "index.qmd").write_text("---\ntitle: Home\n---\n\nSee @tbl-none and [@nobody].\n")
    with pytest.raises(RenderError) as caught:
        render_journal(Project(faked))
    lines = str(caught.value).splitlines()
    expected = [  # in the site's order of pages, then of lines
        "report/index.qmd:5: @tbl-none refers to no table",
        "report/index.qmd:5: @nobody is not a key of references.bib",
        "report/demo.qmd:5: the image 'img/setup.png' is not a file of report/",
        "report/demo.qmd:7: @fig-loss refers to no figure",
        "report/demo.qmd:7: @doe2021 is not a key of references.bib",
        "report/demo.qmd:8: demo/squares: no metric 'cube'",
        "report/demo.qmd:10: demo/squares has no grid point x=7.0",
    ]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(want), (line, want)
    assert read_render(Project(faked))["ok"] is False


def test_an_error_that_follows_from_a_failed_call_on_its_line_is_not_a_second_problem(faked: Path) -> None:
    page = "---\ntitle: Demo\n---\n\n{{ metric('demo/squares', 'cube', x=1.0).nope.nope() }}\n{{ nosuch }}\n"
    (faked / "report" / "demo.qmd").write_text(page)
    with pytest.raises(RenderError) as caught:
        render_journal(Project(faked))
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith("report/demo.qmd:5: demo/squares: no metric 'cube'")


CLAIM = "# the claims\nclaims:\n  grows:\n    lab: demo\n    sentence: Squares grow.\n{rest}"
EXPECT = "    expect:\n      less: {{ref: demo/squares, metric: {metric}, margin: 0.5, at: {{x: 1.0}}, than: {{x: 2.0}}}}\n"


def _errors(project: Path, capsys, *commands: str) -> list[str]:
    found = []
    for command in commands:
        assert main(["--project", str(project), command]) == 2
        found.append(capsys.readouterr().err.strip())
    return found


@pytest.mark.parametrize(
    ("rest", "where"),
    [
        (EXPECT.format(metric="cube"), "report/claims.yml:3: claim 'grows': demo/squares: no metric 'cube'"),
        ("    expect: {}\n", "report/claims.yml:6: claims.grows.expect: give exactly one of"),
        (
            "    sentense: typo\n" + EXPECT.format(metric="square"),
            "report/claims.yml:6: claims.grows.sentense",
        ),
    ],
)
def test_a_bad_claim_is_named_at_its_line_in_claims_yml_by_render_as_by_check(
    faked: Path, capsys, rest: str, where: str
) -> None:
    (faked / "report" / "claims.yml").write_text(CLAIM.format(rest=rest))
    (faked / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo\n---\n\nSquares grow. {{ claim('grows') }}\n"
    )
    check, render = _errors(faked, capsys, "check", "render")
    assert check.startswith(f"error: {where}"), check
    assert render.startswith(check), render  # the same error, then the page that asked for it
    assert render.endswith("(asked by report/demo.qmd:5)") or render == check


def test_a_claim_figure_placed_on_no_page_is_named_at_the_claim(faked: Path, capsys) -> None:
    rest = EXPECT.format(metric="square") + "    figure: demo/squares/nope\n"
    (faked / "report" / "claims.yml").write_text(CLAIM.format(rest=rest))
    (faked / "report" / "claims.qmd").write_text("---\ntitle: Claims\n---\n\n{{ claims_table() }}\n")
    (faked / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo\n---\n\nSquares grow. {{ claim('grows') }}\n"
    )
    quarto = faked / "_quarto.yml"
    quarto.write_text(quarto.read_text() + "      - claims.qmd\n")
    (render,) = _errors(faked, capsys, "render")
    assert render == (
        "error: report/claims.yml:3: claim 'grows': claim figure 'demo/squares/nope' is not placed on any "
        "page (asked by report/claims.qmd:5)"
    )


def test_a_bad_claim_asked_for_by_several_pages_is_said_once_with_every_page(faked: Path, capsys) -> None:
    (faked / "report" / "claims.yml").write_text(CLAIM.format(rest=EXPECT.format(metric="cube")))
    (faked / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo\n---\n\nSquares grow. {{ claim('grows') }}\n"
    )
    (faked / "report" / "index.qmd").write_text("---\ntitle: Home\n---\n\nSee. {{ claim('grows') }}\n")
    (render,) = _errors(faked, capsys, "render")
    assert render.count("report/claims.yml:") == 1, render
    assert render.endswith("(asked by report/index.qmd:5, report/demo.qmd:5)"), render


def test_a_quarto_code_cell_is_a_problem_at_its_line_not_text_on_the_page(faked: Path) -> None:
    """```{python} in a page would be printed as code by the built-in engine and run outside the plan
    by Quarto: neither is a number the journal can vouch for. A fence with a plain language is code
    shown, and fine."""
    page = "---\ntitle: Demo\n---\n\n```python\nprint(2)\n```\n\n```{python}\n#| echo: false\nprint(1 + 1)\n```\n"
    (faked / "report" / "index.qmd").write_text(page)
    with pytest.raises(RenderError) as caught:
        render_journal(Project(faked))
    (line,) = [x for x in str(caught.value).splitlines() if x.startswith("report/index.qmd")]
    assert line.startswith("report/index.qmd:9: a Quarto code cell ({python}) is not run by labjournal")
    assert "{{ metric(...) }}" in line and "```python (no braces)" in line
