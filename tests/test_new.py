"""`labjournal new`: a journal that builds as it is, from the files shipped in the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.slow
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


def _this_installation() -> str:
    """What `pip install -e` of a source tree means, worked out from where `labjournal` is imported
    from rather than from pip's records: the folder holding src/labjournal and pyproject.toml, else
    this version from the package index."""
    import labjournal

    package = Path(labjournal.__file__).resolve().parent
    root = package.parents[1]
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return str(root)
    return f"labjournal=={labjournal.__version__}"


def test_the_makefile_installs_this_labjournal(tmp_path: Path) -> None:
    from labjournal.authoring.new import install_spec

    assert main(["new", str(tmp_path / "j")]) == 0
    makefile = (tmp_path / "j" / "Makefile").read_text()
    assert f"LABJOURNAL ?= {install_spec()}\n" in makefile
    # What a user's process answers, against the expectation worked out independently. (Not this
    # session's: bench/simulate_claims.py, imported by test_claims_simulation.py, puts src/ first
    # on sys.path, where setuptools' labjournal.egg-info has no record of the editable install.)
    command = [
        sys.executable,
        "-c",
        "from labjournal.authoring.new import install_spec; print(install_spec())",
    ]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == _this_installation()


class _Distribution:
    """What install_spec reads of an installed distribution: its version and direct_url.json."""

    def __init__(self, direct_url: dict | None) -> None:
        self.version = "9.8.7"
        self._direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self._direct_url is None else json.dumps(self._direct_url)


@pytest.mark.parametrize(
    "direct_url, expected",
    [
        ({"url": "file:///home/me/labjournal", "dir_info": {"editable": True}}, "/home/me/labjournal"),
        ({"url": "file:///opt/src/labjournal", "dir_info": {}}, "/opt/src/labjournal"),
        ({"url": "https://example.org/labjournal-9.8.7.tar.gz", "archive_info": {}}, "labjournal==9.8.7"),
        (None, "labjournal==9.8.7"),  # installed from the package index: no direct_url.json
    ],
)
def test_install_spec_follows_where_labjournal_was_installed_from(
    monkeypatch, direct_url: dict | None, expected: str
) -> None:
    from importlib import metadata

    from labjournal.authoring.new import install_spec

    monkeypatch.setattr(metadata, "distribution", lambda name: _Distribution(direct_url))
    assert install_spec() == expected


def test_install_spec_without_an_installed_distribution_is_the_package_name(monkeypatch) -> None:
    from importlib import metadata

    from labjournal.authoring.new import install_spec

    def missing(name: str):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    assert install_spec() == "labjournal"


def test_new_says_when_its_makefile_installs_from_a_folder_of_this_machine(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("labjournal.commands.new.install_spec", lambda: "/src/labjournal-checkout")
    assert main(["new", str(tmp_path / "a")]) == 0
    assert "installs labjournal from /src/labjournal-checkout, a folder of this machine" in " ".join(
        capsys.readouterr().err.split()
    )
    monkeypatch.setattr("labjournal.commands.new.install_spec", lambda: "labjournal==0.1.0")
    assert main(["new", str(tmp_path / "b")]) == 0
    assert "a folder of this machine" not in capsys.readouterr().err
