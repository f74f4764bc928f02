"""What a build was built from, so that nothing stale or failed is built or published.

`render` records, in `.labjournal/render[-PROFILE].json`, the content fingerprint of every source
it consumed (pages, claims, bibliography, templates, `_quarto.yml`, the plan, the results index
and the decisions) and whether it succeeded; values shown as notes because their runs failed are
listed too. `build` refuses when the last render failed or a source changed since, naming the
cause and what to run; it records which render it built. `publish` refuses the same, and a site
whose build does not match the last render. Content, not times: touching a file changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labjournal.errors import BuildError
from labjournal.files import atomic_write_json, canonical_json, sha256_bytes, sha256_file
from labjournal.project import PLAN_FILE, QUARTO_FILE
from labjournal.records import BUILT, DECISIONS, render_record

if TYPE_CHECKING:
    from labjournal.project import Project


def record_path(project: Project) -> Path:
    return project.root / ".labjournal" / render_record(project.output_suffix)


def sources(project: Project) -> dict[str, str]:
    """The content fingerprint of every file a render reads, by path relative to the project."""
    files = [project.root / QUARTO_FILE, project.root / PLAN_FILE, project.index_path]
    if project.is_default:  # why adding seeds stopped: the default profile's (labjournal.pipeline.decide)
        files.append(project.results_dir / DECISIONS)
    for folder in (project.report_dir, project.templates_dir):
        if folder.exists():
            files += [
                p
                for p in folder.rglob("*")
                if p.is_file() and ".ipynb_checkpoints" not in p.parts  # the claims ledger too
            ]
    return {str(p.relative_to(project.root)): _content(p, project) for p in sorted(files) if p.exists()}


def _content(path: Path, project: Project) -> str:
    """A file's SHA-256; for the results index, of what it says (not when it was written)."""
    if path == project.index_path:
        try:
            index = json.loads(path.read_text())
            index.pop("generated", None)
            return sha256_bytes(canonical_json(index).encode())
        except (OSError, json.JSONDecodeError):
            pass
    return sha256_file(path)


def digest(record: dict[str, Any]) -> str:
    return sha256_bytes(canonical_json(record.get("sources", {})).encode())


def write_render(
    project: Project,
    ok: bool,
    error: str = "",
    failed: list[str] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    record = {
        "ok": ok,
        "error": error,
        "profile": project.profile_name,
        "failed": sorted(set(failed or [])),
        "warnings": list(warnings or []),  # what the render saw amiss, said by `render` and `report`
        "sources": sources(project),
    }
    atomic_write_json(record_path(project), record)
    return record


def read_render(project: Project) -> dict[str, Any] | None:
    try:
        return json.loads(record_path(project).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def check_rendered(project: Project, what: str = "build") -> dict[str, Any]:
    """The last render's record, if it succeeded and its sources are unchanged; else refuse."""
    record = read_render(project)
    option = "" if project.is_default else f" --profile {project.profile_name}"
    run = f"labjournal render{option}"
    if record is None:
        raise BuildError(
            f"nothing to {what}: the journal has not been rendered; run `{run}` (or `labjournal report`)"
        )
    if not record["ok"]:
        raise BuildError(
            f"will not {what}: the last render failed ({record['error']}); fix it and run `{run}`. "
            f"{project.site_dir.name}/ still holds the build of an earlier render."
        )
    now = sources(project)
    changed = sorted(
        name for name in set(now) | set(record["sources"]) if now.get(name) != record["sources"].get(name)
    )
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise BuildError(
            f"will not {what}: {shown} changed since the last render; run `labjournal report{option}` "
            f"(or `{run}`, then `labjournal build{option}`)"
        )
    return record


def write_built(project: Project, record: dict[str, Any], engine: str) -> None:
    """Which render, profile and engine the site was built from (labjournal.build.status)."""
    built = {"render": digest(record), "profile": project.profile_name, "engine": engine}
    atomic_write_json(project.site_dir / BUILT, built)


def check_published(project: Project) -> dict[str, Any]:
    """For publish: a successful, current render, and a site built from exactly that render."""
    record = check_rendered(project, what="publish")
    try:
        built = json.loads((project.site_dir / BUILT).read_text())
    except (OSError, json.JSONDecodeError):
        built = {}
    if built.get("render") != digest(record):
        option = "" if project.is_default else f" --profile {project.profile_name}"
        raise BuildError(
            f"will not publish: {project.site_dir.name}/ was not built from the last render; "
            f"run `labjournal build{option}`"
        )
    return record
