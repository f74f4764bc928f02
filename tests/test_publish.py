"""`labjournal publish`: the built site committed to gh-pages without touching the working tree and
pushed to a (local, bare) remote; a stale build refused; a folder as target, where publish never
deletes what it did not write (the project, a folder holding it, its own folders and a folder of
someone else's are refused; publishing again replaces only what labjournal published)."""

from __future__ import annotations

import json
import os
import shutil
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
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

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


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_demo_project(tmp_path_factory.mktemp("built") / "journal")
    run_plan(
        RunRequest.for_plan(load_plan(project / "journal.yml"), console=QUIET),  # the journal's own profile
        ResultsStore(project / "results"),
    )
    render_journal(Project(project))
    build_outputs(Project(project), engine="pandoc", console=QUIET)
    (project / ".gitignore").write_text("results/\n_build/\n_site/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "sources")
    return project


@pytest.fixture()
def built(built_once: Path, tmp_path: Path) -> Path:
    """A built journal in a git repository, each test its own copy (built once)."""
    return Path(shutil.copytree(built_once, tmp_path / "journal", symlinks=True))


def every_file(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


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


def test_publish_to_a_folder_twice_keeps_the_files_labjournal_did_not_publish(
    built: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "public"  # missing: made
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert (target / "index.html").exists() and (target / ".nojekyll").exists()
    assert (target / "index.html").stat().st_mode & 0o777 == 0o644
    (target / "CNAME").write_text("journal.example.org\n")  # the author's, added between publishes
    (target / "figures" / "mine.png").write_bytes(b"png")
    (target / "index.html").write_text("edited by hand")
    capsys.readouterr()
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert (target / "CNAME").read_text() == "journal.example.org\n"
    assert (target / "figures" / "mine.png").read_bytes() == b"png"
    assert (target / "index.html").read_text() == (built / "_site" / "index.html").read_text()
    out = " ".join("".join(capsys.readouterr()).split())
    assert "left 2 file(s) labjournal did not publish there as they were: CNAME, figures/mine.png" in out
    marker = json.loads((target / ".labjournal-published").read_text())
    assert marker["project"] == "journal" and "index.html" in marker["files"]
    assert "CNAME" not in marker["files"] and str(built) not in json.dumps(marker)  # no machine path
    assert (target / ".labjournal-published").stat().st_mode & 0o777 == 0o644  # served with the site


def test_a_file_published_before_that_the_site_no_longer_has_is_removed(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "public"
    target.mkdir()  # empty: fine
    (built / "_site" / "old.html").write_text("a page since removed")
    (built / "_site" / "old" / "figure.png").parent.mkdir()
    (built / "_site" / "old" / "figure.png").write_bytes(b"png")
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert (target / "old.html").exists() and (target / "old" / "figure.png").exists()
    (built / "_site" / "old.html").unlink()
    shutil.rmtree(built / "_site" / "old")
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert not (target / "old.html").exists() and not (target / "old").exists()
    assert (target / "index.html").exists()
    assert "old.html" not in json.loads((target / ".labjournal-published").read_text())["files"]


def test_publish_dot_from_the_project_deletes_nothing(built: Path, monkeypatch, capsys) -> None:
    before = every_file(built)
    monkeypatch.chdir(built)
    assert main(["publish", "."]) == 2
    assert every_file(built) == before  # .git, the sources, the site: all there
    assert git(built, "log", "--oneline")
    err = " ".join(capsys.readouterr().err.split())
    assert f"will not publish into {built}: it is the project {built}" in err


def test_publish_into_the_projects_own_folder_deletes_nothing(built: Path, monkeypatch, capsys) -> None:
    before = every_file(built)
    monkeypatch.chdir(built)
    for own in ("report", "report/site", "_site", ".git", "results"):
        assert main(["publish", own]) == 2, own
        err = " ".join(capsys.readouterr().err.split())
        assert f"will not publish into {built / own}: it is inside the project {built}" in err
        assert "publish to a folder outside the project, or to a new one at its top" in err
    assert every_file(built) == before


def test_publish_into_a_folder_holding_the_project_deletes_nothing(built: Path, capsys) -> None:
    before = every_file(built.parent)
    assert main(["--project", str(built), "publish", str(built.parent)]) == 2
    assert every_file(built.parent) == before
    err = " ".join(capsys.readouterr().err.split())
    assert f"will not publish into {built.parent}: it holds the project {built}" in err


def test_publish_into_someone_elses_folder_deletes_nothing(built: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "www"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["--project", str(built), "publish", str(target)]) == 2
    assert every_file(target) == {"notes.txt"}
    err = " ".join(capsys.readouterr().err.split())
    assert f"will not publish into {target}: it holds files labjournal did not write there (notes.txt)" in err
    assert "choose an empty folder, or one labjournal published to before" in err


def test_a_folder_at_the_projects_top_is_published_to(built: Path, monkeypatch) -> None:
    """Like docs/ for GitHub Pages from a branch: new, so labjournal's."""
    monkeypatch.chdir(built)
    assert main(["publish", "docs"]) == 0
    assert (built / "docs" / "index.html").exists()
    assert main(["publish", "docs"]) == 0


def test_an_authors_file_where_the_site_has_one_is_refused(built: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "public"
    assert main(["--project", str(built), "publish", str(target)]) == 0
    (built / "_site" / "about.html").write_text("the site's, new")
    (target / "about.html").write_text("the author's, added since")
    capsys.readouterr()
    assert main(["--project", str(built), "publish", str(target)]) == 2
    assert (target / "about.html").read_text() == "the author's, added since"
    err = " ".join(capsys.readouterr().err.split())
    assert (
        "the site has files where it holds ones labjournal did not publish (about.html); move them away"
        in err
    )


def test_a_marker_naming_files_outside_the_folder_removes_none_of_them(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "public"
    assert main(["--project", str(built), "publish", str(target)]) == 0
    (tmp_path / "outside.txt").write_text("not labjournal's")
    marker = json.loads((target / ".labjournal-published").read_text())
    marker["files"] += ["../outside.txt", str(tmp_path / "outside.txt")]
    (target / ".labjournal-published").write_text(json.dumps(marker))
    assert main(["--project", str(built), "publish", str(target)]) == 0
    assert (tmp_path / "outside.txt").read_text() == "not labjournal's"
    (target / ".labjournal-published").write_text("{not json")
    assert main(["--project", str(built), "publish", str(target)]) == 2  # which files are ours: unknown


@pytest.mark.parametrize("output_dir", ["report", "."])
def test_build_never_replaces_a_folder_of_the_authors(built: Path, output_dir: str, capsys) -> None:
    """`project.output-dir` in _quarto.yml names the folder the site replaces whole."""
    quarto = built / "_quarto.yml"
    quarto.write_text(quarto.read_text().replace("output-dir: _site", f"output-dir: {output_dir}"))
    render_journal(Project(built))  # current, so that only the folder can stop the build
    before = every_file(built)
    assert main(["--project", str(built), "build", "--engine", "pandoc"]) == 2
    assert every_file(built) == before
    err = " ".join(capsys.readouterr().err.split())
    why = "it is the project" if output_dir == "." else "it holds files labjournal did not write there"
    assert f"will not build the site into {built / output_dir if output_dir != '.' else built}: {why}" in err
    assert "set project.output-dir in _quarto.yml to a folder of labjournal's own" in err
