"""`labjournal publish [gh-pages | DIR]`: put the built site where readers get it.

- `gh-pages` (default): commit `_site/` (with `.nojekyll`, so GitHub Pages serves it as it is) as
  the tree of the `gh-pages` branch, on top of its previous commit, without touching the working
  tree, the index or the checked-out branch (git plumbing with a private index file); then push
  the branch to the remote where one is configured (`origin`, else the only one).
- a folder: copy `_site/` there, replacing only what labjournal published there before
  (labjournal.authoring.folder: the project, a folder holding it, its own folders and a non-empty
  folder it never published to are refused). Files are published world-readable (0644, folders 0755).

A failed, stale or partial build is refused (labjournal.render.freshness): publishing would show readers
something the sources no longer say.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from labjournal.authoring.folder import check_folder, copy_site
from labjournal.build.status import run_status
from labjournal.errors import BuildError, PublishError
from labjournal.names import BUILT
from labjournal.project import Project
from labjournal.render.freshness import check_published

BRANCH = "gh-pages"


def check_fresh(project: Project) -> Path:
    """The site, if it was built from the last render, that render succeeded, no source changed
    since, and no value of it is a note for a failed run."""
    site = project.site_dir
    if not (site / "index.html").exists():
        raise PublishError(f"{site} holds no built site: run `labjournal report` (or `make report`) first")
    try:
        record = check_published(project)
    except BuildError as exc:
        raise PublishError(str(exc)) from None
    if record.get("failed"):
        raise PublishError(
            f"will not publish: the journal shows notes where runs failed ({', '.join(record['failed'][:3])}); "
            "fix the notebooks, then `labjournal report`"
        )
    runs = run_status(project)  # what the runs read may have changed since (labjournal.run.reads)
    if not runs.fresh:
        option = "" if project.is_default else f" --profile {project.profile_name}"
        shown = "; ".join(runs.reasons[:3]) + (
            f" and {len(runs.reasons) - 3} more" if len(runs.reasons) > 3 else ""
        )
        raise PublishError(
            f"will not publish: the results are stale ({shown}); run `labjournal report{option}` "
            f"(`labjournal status{option}` says why)"
        )
    return site


def publish(project: Project, target: str = BRANCH) -> str:
    if target == BRANCH:
        return _to_branch(project, check_fresh(project))
    folder = Path(target).resolve()
    published = check_folder(project, folder)  # before anything else: the folder may not be ours
    return copy_site(project, check_fresh(project), folder, published)


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
        _git(root, "update-index", "--force-remove", BUILT, env=env)  # the build record is not the site's
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
        message += pages_address(_try(root, "remote", "get-url", remote), project.site_config().site_url)
    return message


def pages_address(remote_url: str, site_url: str) -> str:
    """Where GitHub Pages serves a repository's gh-pages branch, and whether the PDF's links
    (website.site-url) point there."""
    found = re.search(r"github\.com[:/]([^/]+)/([^/]+?)(?:\.git)?/?$", remote_url)
    if not found:
        return ""
    owner, repo = found.groups()
    address = f"https://{owner}.github.io" + (
        "" if repo.lower() == f"{owner.lower()}.github.io" else f"/{repo}"
    )
    if site_url.rstrip("/") == address:
        return f"; GitHub Pages serves it at {address}/"
    return (
        f"; GitHub Pages will serve it at {address}/ — set website.site-url: {address} in _quarto.yml "
        "(then `labjournal report`) so that the PDF's links point there"
    )


def _try(root: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return completed.stdout.strip() if completed.returncode == 0 else ""


def _remote(root: Path) -> str | None:
    remotes = _try(root, "remote").split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None
