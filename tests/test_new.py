"""`labjournal new`: a journal that builds as it is, from the files shipped in the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from pypdf import PdfReader

from labjournal.cli import main


def _labjournal(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labjournal.cli", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_new_journal_reports_its_quick_profile_with_the_value_and_figure_placed(tmp_path: Path) -> None:
    project = tmp_path / "my-journal"
    assert main(["new", str(project), "--title", "Optimisation notes", "--author", "R. Student"]) == 0
    for name in (
        "journal.yml",
        "_quarto.yml",
        "Makefile",
        "README.md",
        ".gitignore",
        ".ci/run",
        "report/index.qmd",
        "report/claims.yml",
        "report/references.bib",
        "experiments/lab01/fit_line.ipynb",
        "templates/page.html",
        "templates/journal.typ",
    ):
        assert (project / name).is_file(), name
    assert not list(project.rglob("*.in"))
    config = yaml.safe_load((project / "_quarto.yml").read_text())
    assert config["title"] == "Optimisation notes" and config["author"] == "R. Student"
    assert "make test" in (project / "README.md").read_text()
    page = (project / "report" / "index.qmd").read_text()
    for section in (
        "Summary of Key Learnings",
        "Insights & Understanding",
        "Challenges Encountered",
        "Application & Relevance",
        "Code and Experimentation",
    ):
        assert f"## {section}" in page
    completed = _labjournal(project, "report", "--profile", "quick", "--engine", "pandoc")
    assert completed.returncode == 0, completed.stderr
    index = json.loads((project / "results" / "index.quick.json").read_text())
    loss = next(r["metrics"]["final_loss"] for r in index["runs"] if r["params"]["lr"] == 0.1)
    site = project / "_site-quick"  # the quick profile's build: the journal's own stays in _site/
    assert not (project / "_site").exists()
    html = (site / "index.html").read_text()
    assert f"the final loss was {loss:.3f} (n = 1)" in " ".join(html.split())
    assert 'src="figures/' in html and (site / "journal.pdf").read_bytes()[:5] == b"%PDF-"
    pdf = " ".join(page.extract_text() for page in PdfReader(str(site / "journal.pdf")).pages)
    assert "Loss per step at learning rate 0.1" in " ".join(pdf.split())
    check = _labjournal(project, "check", "--profile", "quick")
    assert check.returncode == 0 and "1 inconclusive" in check.stdout  # one seed in the quick profile


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["new", str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_makefile_installs_this_labjournal(tmp_path: Path) -> None:
    from labjournal.authoring.new import install_spec

    assert main(["new", str(tmp_path / "j")]) == 0
    makefile = (tmp_path / "j" / "Makefile").read_text()
    assert f"LABJOURNAL ?= {install_spec()}" in makefile
    assert install_spec() == str(Path(__file__).resolve().parents[1]) or install_spec().startswith(
        "labjournal"
    )
