"""The smaller flaws a reader or an author meets (issue 27, item 9): the run pages show no
`Out[3]: 'cpu'` and link back to the journal; the PDF's author metadata is the author's name; a
run that records nothing is said once per notebook; a journal without claims is not told about
claims; a claim no page places is warned about; a new journal has a Claims page; the build
record is not published with the site."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from labjournal.render.notebook_html import hide_setup_value
from labjournal.render.notebook_pages import publish_notebooks

REPO = Path(__file__).resolve().parents[1]


def _executed_notebook(path: Path, setup_line: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell(
        f"from labjournal.kit.runtime import setup\n\n{setup_line}", execution_count=3
    )
    setup.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "'cpu'"}, execution_count=3)]
    shown = nbformat.v4.new_code_cell("loss = 0.25\nloss", execution_count=4)
    shown.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "0.25"}, execution_count=4)]
    notebook.cells = [setup, shown]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("setup(seed)", True),
        ("setup(seed)  # seeds the generators", True),
        ("runtime.setup(seed)", True),
        ("%matplotlib inline\nsetup(seed)", True),
        ("setup(seed)\nsetup", False),  # the cell's value is not setup's: left as it is
        ("len('cpu')", False),
    ],
)
def test_the_value_setup_returns_is_not_shown(line: str, hidden: bool, tmp_path: Path) -> None:
    notebook = nbformat.read(str(_executed_notebook(tmp_path / "n.ipynb", line)), as_version=4)
    cleaned = hide_setup_value(notebook)
    assert (cleaned.cells[0].outputs == []) is hidden
    assert cleaned.cells[1].outputs[0]["data"]["text/plain"] == "0.25"  # the run's own value stays


def test_a_run_page_shows_no_out_cpu_and_links_back_to_the_journal(tmp_path: Path) -> None:
    source = _executed_notebook(
        tmp_path / "results" / "runs" / "lab" / "nb" / "k" / "notebook.ipynb", "setup(seed)"
    )
    key = "a" * 64
    out = tmp_path / "site" / "runs"
    publish_notebooks(
        {key: source},
        tmp_path / "results" / "html",
        out,
        tmp_path,
        {key: "nb seed=0"},
        home=("My <journal>", "index.html"),
    )
    page = (out / f"{key[:16]}.html").read_text()
    assert "&#x27;cpu&#x27;" not in page and "'cpu'" not in page
    assert "0.25" in page
    assert '<nav class="journal-back"><a href="../index.html">← My &lt;journal&gt;</a></nav>' in page
    assert page.index("journal-back") > page.index("<body")
    assert ".journal-back" in (out / "notebook.css").read_text()


def test_the_pdfs_author_metadata_is_the_name_on_one_line(tmp_path: Path) -> None:
    """pandoc wraps a template line at 72 columns, at a space inside the author's name too: the
    typst string then held a line break, and the PDF's author read "N.\\nUser"."""
    import pypandoc
    import typst
    from pypdf import PdfReader

    document = "---\ntitle: Notes on optimisation, with a test\nauthor: N. User\n---\n\nHello.\n"
    command = [pypandoc.get_pandoc_path(), "--from=markdown", "--to=typst", "--standalone"]
    command += [f"--template={REPO / 'templates' / 'journal.typ'}", "-o", str(tmp_path / "j.typ")]
    subprocess.run(command, input=document, text=True, check=True)
    (tmp_path / "j.pdf").write_bytes(typst.compile(str(tmp_path / "j.typ")))
    assert PdfReader(str(tmp_path / "j.pdf")).metadata.author == "N. User"


SILENT_PLAN = """\
default_profile: default
profiles:
  default: {seeds: [0, 1]}
labs:
  quiet:
    title: Quiet lab
    page: index.qmd
    notebooks:
      silent:
        path: notebooks/silent.ipynb
        experiments:
          points:
            grid: {x: [1.0, 2.0]}
"""


def _silent_journal(folder: Path) -> Path:
    from conftest import write_notebook

    write_notebook(folder / "notebooks" / "silent.ipynb", "x = 1.0\nseed = 0", "y = x * x")
    (folder / "journal.yml").write_text(SILENT_PLAN)
    (folder / "report").mkdir()
    (folder / "report" / "index.qmd").write_text("---\ntitle: Home\n---\n")
    return folder


def _run(folder: Path, **options) -> tuple[str, object]:
    from rich.console import Console

    from labjournal.pipeline.decide import run_request
    from labjournal.plan.model import load_plan
    from labjournal.results.store import ResultsStore
    from labjournal.run.request import RunRequest

    console = Console(record=True, width=200)
    request = RunRequest.for_plan(load_plan(folder / "journal.yml"), console=console, **options)
    summary = run_request(request, ResultsStore(folder / "results"), folder / "report")
    return console.export_text(), summary


@pytest.mark.slow
def test_runs_that_record_nothing_are_said_once_per_notebook(tmp_path: Path) -> None:
    output, summary = _run(_silent_journal(tmp_path))
    assert output.count("recorded nothing") == 1, output
    assert "notebooks/silent.ipynb ran but recorded nothing (4 runs: quiet/points" in output
    assert [w for w in summary.warnings if "recorded nothing" in w] == [
        w for w in summary.warnings if w.startswith("notebooks/silent.ipynb ran but recorded nothing (4 runs")
    ]


@pytest.mark.slow
def test_a_journal_without_claims_is_not_told_about_claims(tmp_path: Path) -> None:
    output, _ = _run(_silent_journal(tmp_path), until_decided=True)
    assert "4 planned runs" in output
    assert "Claims decided" not in output, output


CLAIMS = """\
claims:
  grows:
    lab: demo
    sentence: Squares grow.
    expect: {greater: {ref: demo/squares, metric: square, margin: 0.5, at: {x: 2.0}, than: {x: 1.0}}}
  shrinks:
    lab: demo
    sentence: Squares shrink.
    expect: {less: {ref: demo/squares, metric: square, margin: 0.5, at: {x: 2.0}, than: {x: 1.0}}}
"""


def _journal_with_results(tmp_path: Path) -> Path:
    """The demo journal with a results index written by hand (no notebook runs)."""
    import json

    from conftest import index_row, make_demo_project, results_index

    project = make_demo_project(tmp_path / "project")
    rows = [
        index_row(
            "demo", "squares", {"x": x}, s, {"square": x * x, "noisy": x + s / 10}, run_dir=f"runs/{x}-{s}"
        )
        for x in (1.0, 2.0, 3.0)
        for s in range(3)
    ]
    for row in rows:
        (project / "results" / row["run_dir"]).mkdir(parents=True)
        nbformat.write(
            nbformat.v4.new_notebook(), str(project / "results" / row["run_dir"] / "notebook.ipynb")
        )
    (project / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    (project / "report" / "claims.yml").write_text(CLAIMS)
    page = "---\ntitle: Demo lab\n---\n\nSquares grow. {{ claim('grows') }}\n"
    (project / "report" / "demo.qmd").write_text(page)
    return project


def test_a_claim_no_page_states_is_warned_about_at_its_line(tmp_path: Path) -> None:
    from rich.console import Console

    from labjournal.pipeline.report import render
    from labjournal.project import Project

    project = Project(_journal_with_results(tmp_path))
    console = Console(record=True, width=300)
    render(project, console)
    output = console.export_text()
    assert (
        "warning: report/claims.yml:6: claim 'shrinks' is stated on no page (the journal shows it "
        'nowhere); place it after the sentence that makes it with {{ claim("shrinks") }}'
    ) in output
    assert "'grows'" not in output


@pytest.mark.slow
def test_a_new_journal_has_a_claims_page_listing_its_claim(tmp_path: Path) -> None:
    import sys

    import yaml

    from labjournal.cli import main

    project = tmp_path / "j"
    assert main(["new", str(project)]) == 0
    sidebar = yaml.safe_load((project / "_quarto.yml").read_text())["website"]["sidebar"]["contents"]
    assert {"href": "claims.qmd", "text": "Claims"} in sidebar
    command = [sys.executable, "-m", "labjournal.cli", "report", "--profile", "quick", "--engine", "pandoc"]
    completed = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    html = " ".join((project / "_site-quick" / "claims.html").read_text().split())
    assert "The larger learning rate reaches a lower loss in the same number of steps." in html
    assert "Claims are judged with" in html  # claims_method()


@pytest.mark.slow
def test_the_build_record_is_not_published(tmp_path: Path) -> None:
    """`.labjournal-build.json` says which render the site was built from, for labjournal (status,
    publish's freshness check); readers get the site without it, on gh-pages and in a folder."""
    import shutil

    from conftest import make_demo_project
    from rich.console import Console

    from labjournal.build.outputs import build_outputs
    from labjournal.cli import main
    from labjournal.names import BUILT
    from labjournal.plan.model import load_plan
    from labjournal.project import Project
    from labjournal.render.journal import render_journal
    from labjournal.results.store import ResultsStore
    from labjournal.run.request import RunRequest
    from labjournal.run.scheduler import run_plan

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = make_demo_project(tmp_path / "journal")
    quiet = Console(quiet=True)
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), console=quiet),
        ResultsStore(project / "results"),
    )
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", console=quiet)
    assert (project / "_site" / BUILT).is_file()  # kept beside the site, for labjournal
    (project / ".gitignore").write_text("results/\n_build/\n_site/\n")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sources"]):
        subprocess.run(["git", *args], cwd=project, check=True, env={**__import__("os").environ, **env})
    assert main(["--project", str(project), "publish"]) == 0
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "gh-pages"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "index.html" in listed and BUILT not in listed
    assert main(["--project", str(project), "publish", str(tmp_path / "public")]) == 0
    assert (tmp_path / "public" / "index.html").is_file() and not (tmp_path / "public" / BUILT).exists()
