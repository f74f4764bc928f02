"""`labjournal publish`: the built site committed to gh-pages without touching the working tree and
pushed to a (local, bare) remote; a stale build refused; a folder as target."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import make_demo_project
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.cli import main
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan
from labjournal.run.store import ResultsStore

pytestmark = pytest.mark.slow  # every test runs, renders and builds a journal

QUIET = Console(quiet=True)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True
    )
    return completed.stdout.strip()


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    project = make_demo_project(tmp_path / "journal")
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), profile="quick", console=QUIET),
        ResultsStore(project / "results"),
    )
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", console=QUIET)
    (project / ".gitignore").write_text("results/\n_build/\n_site/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "sources")
    return project


def test_publish_commits_the_site_to_gh_pages_and_pushes_it(built: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(built, "remote", "add", "origin", str(remote))
    (built / "scratch.txt").write_text("uncommitted work\n")  # must survive, untouched
    status = git(built, "status", "--porcelain")
    head = git(built, "rev-parse", "HEAD")
    assert main(["--project", str(built), "publish"]) == 0
    files = set(git(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines())
    assert {
        "index.html",
        "demo.html",
        ".nojekyll",
        "journal.pdf",
        "site.css",
        "pagefind/pagefind-ui.js",
    } <= files
    assert any(name.startswith("runs/") for name in files) and any(
        name.startswith("figures/") for name in files
    )
    assert git(built, "status", "--porcelain") == status  # the working tree and index untouched
    assert git(built, "rev-parse", "HEAD") == head and git(built, "branch", "--show-current") == "main"
    assert git(remote, "show", "gh-pages:index.html") == (built / "_site" / "index.html").read_text().strip()
    first = git(built, "rev-parse", "gh-pages")
    assert main(["--project", str(built), "publish"]) == 0  # nothing changed: no new commit
    assert git(built, "rev-parse", "gh-pages") == first


def test_a_stale_build_is_refused(built: Path, capsys) -> None:
    page = built / "report" / "demo.qmd"
    page.write_text(page.read_text() + "\nA new sentence.\n")
    assert main(["--project", str(built), "publish"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "will not publish: report/demo.qmd changed since the last render; run `labjournal report`" in err
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "gh-pages"], cwd=built).returncode != 0


def test_publish_to_a_folder(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "public"
    target.mkdir()
    (target / "old.html").write_text("from an older site")
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert (target / "index.html").exists() and (target / ".nojekyll").exists()
    assert not (target / "old.html").exists()
