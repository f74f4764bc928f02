"""`labjournal publish [gh-pages | DIR]`: put the built site where readers get it.

- `gh-pages` (default): commit `_site/` (with `.nojekyll`, so GitHub Pages serves it as it is) as
  the tree of the `gh-pages` branch, on top of its previous commit, without touching the working
  tree, the index or the checked-out branch (git plumbing with a private index file); then push
  the branch to the remote where one is configured (`origin`, else the only one).
- a folder: copy `_site/` there (a fresh copy replaces the folder's contents).

A stale build is refused: if a source of the journal (prose, templates, `_quarto.yml`, the plan,
the notebooks, the results index) is newer than the built site, publishing would show readers
something the sources no longer say.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from labjournal.errors import LabjournalError
from labjournal.project import PLAN_FILE, QUARTO_FILE, Project

BRANCH = "gh-pages"


class PublishError(LabjournalError):
    """The site cannot be published (not built, stale, not a git repository, push refused)."""


def _sources(project: Project) -> list[Path]:
    folders = [project.report_dir, project.templates_dir, project.root / "experiments"]
    files = [project.root / QUARTO_FILE, project.root / PLAN_FILE, project.results_dir / "index.json"]
    found = [f for f in files if f.exists()]
    for folder in folders:
        if folder.exists():
            found += [p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts]
    return found


def check_fresh(project: Project) -> Path:
    site = project.site_dir
    built = site / "index.html"
    if not built.exists():
        raise PublishError(f"{site} holds no built site: run `labjournal report` (or `make report`) first")
    newer = [p for p in _sources(project) if p.stat().st_mtime > built.stat().st_mtime]
    if newer:
        shown = ", ".join(str(p.relative_to(project.root)) for p in sorted(newer)[:5])
        more = f" and {len(newer) - 5} more" if len(newer) > 5 else ""
        raise PublishError(
            f"the built site is older than its sources ({shown}{more} changed since): run "
            "`labjournal report` (or `make report`) before publishing"
        )
    return site


def publish(project: Project, target: str = BRANCH) -> str:
    site = check_fresh(project)
    if target != BRANCH:
        return _to_folder(site, Path(target))
    return _to_branch(project, site)


def _to_folder(site: Path, folder: Path) -> str:
    folder = folder.resolve()
    fresh = folder.with_name(folder.name + ".publishing")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(site, fresh)
    (fresh / ".nojekyll").touch()
    if folder.exists():
        retired = folder.with_name(folder.name + ".old")
        shutil.rmtree(retired, ignore_errors=True)
        folder.rename(retired)
        fresh.rename(folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        fresh.rename(folder)
    return f"copied {site} to {folder}"


def _git(root: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    completed = subprocess.run(["git", *args], cwd=root, env=env, input=stdin, capture_output=True, text=True)
    if completed.returncode != 0:
        raise PublishError(f"git {' '.join(args[:2])} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _to_branch(project: Project, site: Path) -> str:
    if shutil.which("git") is None:
        raise PublishError("git is not installed: publish to a folder instead (`labjournal publish DIR`)")
    try:
        root = Path(_git(project.root, "rev-parse", "--show-toplevel"))
    except PublishError:
        raise PublishError(
            f"{project.root} is not in a git repository: `git init` it, or publish to a folder "
            "(`labjournal publish DIR`)"
        ) from None
    env = dict(os.environ)
    if not _try(root, "config", "--get", "user.email"):
        env.update(GIT_AUTHOR_NAME="labjournal", GIT_AUTHOR_EMAIL="labjournal@localhost")
        env.update(GIT_COMMITTER_NAME="labjournal", GIT_COMMITTER_EMAIL="labjournal@localhost")
    with tempfile.TemporaryDirectory(prefix="labjournal-publish-") as folder:
        env["GIT_INDEX_FILE"] = str(Path(folder) / "index")
        _git(root, "--work-tree", str(site), "add", "--all", "--force", ".", env=env)
        blob = _git(root, "hash-object", "-w", "--stdin", env=env, stdin="")
        _git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},.nojekyll", env=env)
        tree = _git(root, "write-tree", env=env)
    parent = _try(root, "rev-parse", "--verify", "-q", f"refs/heads/{BRANCH}")
    if parent and _git(root, "rev-parse", f"{parent}^{{tree}}") == tree:
        message = f"{BRANCH} already holds this site ({parent[:8]})"
    else:
        source = _try(root, "rev-parse", "--short", "HEAD") or "no commit"
        args = ["commit-tree", tree, "-m", f"Publish the journal (sources at {source})"]
        if parent:
            args += ["-p", parent]
        commit = _git(root, *args, env=env)
        _git(root, "update-ref", f"refs/heads/{BRANCH}", commit, *([parent] if parent else []))
        message = f"committed the site to {BRANCH} ({commit[:8]})"
    remote = _remote(root)
    if remote:
        _git(root, "push", remote, f"refs/heads/{BRANCH}:refs/heads/{BRANCH}", env=env)
        message += f", pushed to {remote}"
    return message


def _try(root: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return completed.stdout.strip() if completed.returncode == 0 else ""


def _remote(root: Path) -> str | None:
    remotes = _try(root, "remote").split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None
