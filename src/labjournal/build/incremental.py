"""A prose-only edit rebuilds only what it changed: `report` after a render whose only changed
sources are pages of `report/` rebuilds the pages whose rendered text changed, the search index
and the PDF, as `preview` does; anything else takes the full build (labjournal.build.outputs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from labjournal.build.builtin import index_for_search, rebuild_pages
from labjournal.build.outputs import build_outputs, choose_engine
from labjournal.project import Project
from labjournal.render.freshness import BUILT, digest, read_render


def rendered_pages(project: Project) -> dict[str, str]:
    """The rendered text of every page in the build folder (before a render replaces it)."""
    build = project.build_dir
    return {p.name: p.read_text(encoding="utf-8") for p in build.glob("*.qmd")} if build.exists() else {}


def build_prose_edit(
    project: Project,
    before: dict[str, Any] | None,
    pages_before: dict[str, str],
    engine: str,
    console: Console,
) -> bool:
    """After a render whose only changed sources are pages' prose, rebuild just the pages whose
    rendered text changed, the search index and the PDF (as `preview` does); True when done so.
    Anything else (templates, `_quarto.yml`, claims, bibliography, results, another engine, a
    site not built from the previous render) needs the full build."""
    after = read_render(project)
    site_built = project.site_dir / BUILT
    if (
        before is None
        or after is None
        or not after["ok"]
        or choose_engine(engine) != "pandoc"
        or not site_built.exists()
    ):
        return False
    if json.loads(site_built.read_text()).get("render") != digest(before):
        return False
    old, new = before["sources"], after["sources"]
    changed = {name for name in set(old) | set(new) if old.get(name) != new.get(name)}
    pages = {page.source for page in project.site_config().pages}
    if not changed or not all(
        Path(name).parent == Path(project.report_dir.name) and Path(name).name in pages for name in changed
    ):
        return False
    now = rendered_pages(project)
    edited = {name for name, text in now.items() if pages_before.get(name) != text}
    console.print(f"Prose only: rebuilding {len(edited)} page(s), the search index and the PDF")
    build_outputs(project, engine="pandoc", only="pdf", console=console)  # first: a failure changes nothing
    if edited:
        rebuild_pages(project, edited)
        index_for_search(project.site_dir, [page.html for page in project.site_config().pages])
    return True
