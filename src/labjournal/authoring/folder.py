"""`labjournal publish DIR`: the site copied into a folder, never deleting what labjournal did not write.

A folder is labjournal's to publish to when it is missing or empty, or when labjournal published
there before: its marker (`.labjournal-published`, JSON: the project's name, when, every file
written) says which files are labjournal's. Publishing again replaces those and removes the ones
the site no longer has; a file the author added stays, and is named. Refused, saying why and what to do: the
project, a folder holding it, a folder inside it other than a new one at its top (like `docs/`),
a non-empty folder labjournal never published to, and an author's file where the site has one.
Files are written world-readable (0644, their folders 0755), one at a time, pages last.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath

from labjournal.errors import PublishError
from labjournal.files import atomic_write_json, refusal
from labjournal.names import BUILT
from labjournal.project import REPORT_DIR, Project

MARKER = ".labjournal-published"
OWN = (REPORT_DIR, "templates", "experiments", "results")  # the project's own, even when empty
CHOOSE = "choose an empty folder, or one labjournal published to before"


def shown(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def check_folder(project: Project, folder: Path) -> set[str]:
    """The files labjournal published into `folder` before (none for a new or empty folder); a
    folder it may not publish into is refused."""
    folder, root = folder.resolve(), project.root.resolve()
    if root in folder.parents:
        top = folder.relative_to(root).parts[0]
        if folder.parent != root or top.startswith((".", "_")) or top in OWN:
            raise PublishError(
                f"will not publish into {folder}: it is inside the project {root}, in its own {top}/; "
                f"publish to a folder outside the project, or to a new one at its top (like {root / 'docs'})"
            )
    why = refusal(folder, root, MARKER, anywhere=True)
    if why:
        raise PublishError(f"will not publish into {folder}: {why}; {CHOOSE}")
    return _published(folder) if folder.is_dir() else set()


def _published(folder: Path) -> set[str]:
    """What the marker lists, the names that could leave the folder dropped."""
    if not (folder / MARKER).exists():
        return set()
    try:
        files = json.loads((folder / MARKER).read_text())["files"]
        names = {PurePosixPath(name) for name in files if isinstance(name, str)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(
            f"will not publish into {folder}: its {MARKER} cannot be read ({exc}), so which files "
            f"labjournal wrote there is unknown; {CHOOSE}"
        ) from None
    safe = {name for name in names if not name.is_absolute() and ".." not in name.parts and name.parts}
    return {name.as_posix() for name in safe} - {MARKER}


def _linked(folder: Path, path: Path) -> bool:
    """Whether a folder between `folder` and `path` is a link (or a file): writing or removing
    there would reach outside `folder`."""
    return any(p.is_symlink() or (p.exists() and not p.is_dir()) for p in path.parents if folder in p.parents)


def _clashes(folder: Path, new: list[str], old: set[str]) -> list[str]:
    """The site's files that would land on the author's own: an unlisted file, a folder or a link."""
    clashes = []
    for name in new:
        path = folder / name
        taken = (path.exists() or path.is_symlink()) and (name not in old or path.is_dir())
        # a file published before where the site now has a folder is removed first
        stale = any(
            parent.as_posix() in old and not (folder / parent).is_symlink()
            for parent in PurePosixPath(name).parents
        )
        if taken or (_linked(folder, path) and not stale):
            clashes.append(name)
    return clashes


def copy_site(project: Project, site: Path, folder: Path, old: set[str]) -> str:
    """`site` copied into `folder` (checked by check_folder), which held `old` from labjournal."""
    folder = folder.resolve()
    files = sorted(
        (p.relative_to(site).as_posix() for p in site.rglob("*") if not p.is_dir() and p.name != BUILT),
        key=_pages_last,  # the build record (.labjournal-build.json) is labjournal's, not the site's
    )
    new = [*files, ".nojekyll"]
    published = set(new)
    clashes = _clashes(folder, new, old)
    if clashes:
        raise PublishError(
            f"will not publish into {folder}: the site has files where it holds ones labjournal did "
            f"not publish ({shown(clashes)}); move them away, then publish again"
        )
    folder.mkdir(parents=True, exist_ok=True)
    _mark(folder, project, old | published)  # interrupted from here on: all it may have written is listed
    gone = sorted(old - published)
    for name in gone:
        _remove(folder, name)
    for name in new:
        _place(site / name if name != ".nojekyll" else None, folder / name)
    for path in {folder, *(p for name in new for p in (folder / name).parents if folder in p.parents)}:
        path.chmod(0o755)
    _mark(folder, project, published)
    message = f"copied {site} to {folder}"
    if gone:
        message += f"; removed {len(gone)} file(s) of the last publish that the site no longer has"
    theirs = sorted(
        name
        for name in (p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())
        if name not in published and name != MARKER
    )
    if theirs:
        message += (
            f"; left {len(theirs)} file(s) labjournal did not publish there as they were: {shown(theirs)}"
        )
    return message


def _pages_last(name: str) -> tuple[bool, str]:
    """Figures, styles and scripts before the pages that use them: a reader mid-publish may see an
    old page, never a new page missing its figure."""
    return name.endswith(".html"), name


def _mark(folder: Path, project: Project, files: set[str]) -> None:
    """The marker, served with the site (0644): it names the project by its folder's name and title,
    no path of this machine."""
    payload = {"project": project.root.name, "title": project.site_config().title}
    payload["published"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write_json(folder / MARKER, {**payload, "files": sorted(files)})
    (folder / MARKER).chmod(0o644)


def _remove(folder: Path, name: str) -> None:
    """A file published before and no longer in the site; its folders too once empty."""
    path = folder / name
    if _linked(folder, path) or path.is_dir() or not (path.exists() or path.is_symlink()):
        return
    path.unlink()
    for parent in path.parents:
        if parent == folder or any(parent.iterdir()):
            break
        parent.rmdir()


def _place(source: Path | None, target: Path) -> None:
    """One file (empty without a source), written beside its place then moved in, 0644."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if source is not None:
            shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
