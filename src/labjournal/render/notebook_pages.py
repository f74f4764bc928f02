"""Executed notebooks published as pages of the site (`runs/<key>.html`), without this machine's
paths."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat

from labjournal.errors import RenderError
from labjournal.files import atomic_write_text, sha256_file
from labjournal.render.notebook_html import Conversion, convert_all

NOTEBOOK_PAGE_VERSION = "offline-4"  # part of the cache name: a new template converts again
NOTEBOOK_CSS = "notebook.css"


def publish_notebooks(
    notebooks: dict[str, Path],
    cache: Path,
    out: Path,
    root: Path,
    titles: dict[str, str] | None = None,
    home: tuple[str, str] | None = None,
) -> None:
    """Executed notebooks as HTML (nbconvert, the `offline` template: no script from the
    network), one page per run key, titled with the notebook and its parameters, and with this
    machine's paths taken out of the outputs (`clean_paths`) and the value `setup(seed)` returns
    not shown (`hide_setup_value`). The HTML of a run never changes, so it is converted once and
    kept beside the results store; each copy published opens with a link back to the journal,
    `home` (its title, its first page)."""
    if not notebooks:
        return
    missing = []
    for key, source in notebooks.items():
        cached = cache / _cache_name(key, source, cache.parent)
        if not cached.exists():
            if not source.exists():
                raise RenderError(f"executed notebook of run {key[:8]} is missing: {source}")
            title = (titles or {}).get(key) or source.parent.name
            missing.append(Conversion(source, cached, title))
    convert_all(missing, root)
    out.mkdir(parents=True, exist_ok=True)
    for key, source in notebooks.items():
        cached = cache / _cache_name(key, source, cache.parent)
        page = cached.read_text(encoding="utf-8")
        atomic_write_text(out / f"{key[:16]}.html", with_journal_link(page, home) if home else page)
    stylesheet = cache / f"notebook.{NOTEBOOK_PAGE_VERSION}.css"
    if not stylesheet.exists():
        atomic_write_text(stylesheet, _lab_stylesheet())
    shutil.copy2(stylesheet, out / NOTEBOOK_CSS)


def with_journal_link(page: str, home: tuple[str, str]) -> str:
    """The page with a link back to the journal at the top (runs/ is one folder down)."""
    title, first = home
    link = f'<nav class="journal-back"><a href="../{html.escape(first)}">← {html.escape(title)}</a></nav>'
    return re.sub(r"(<body[^>]*>)", lambda found: found.group(1) + "\n" + link, page, count=1)


def _cache_name(key: str, source: Path, store: Path) -> str:
    """A sealed run's notebook never changes: its key names its page. A failed run's does (the
    run fails again, or succeeds under the same key), so its content is part of the name."""
    if source.is_relative_to(store / "runs") or not source.exists():
        return f"{key}.{NOTEBOOK_PAGE_VERSION}.html"
    return f"{key}.{sha256_file(source)[:12]}.{NOTEBOOK_PAGE_VERSION}.html"


def _lab_stylesheet() -> str:
    """The styles nbconvert's lab template inlines into every page, taken once from the export of
    an empty notebook, for the pages to share as one file."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.v4.new_notebook())
    head = body.split("</head>", 1)[0]
    styles = re.findall(r"<style[^>]*>(.*?)</style>", head, flags=re.DOTALL)
    return "\n".join([*styles, _BACK_LINK_STYLE])


_BACK_LINK_STYLE = """
.journal-back { max-width: 1200px; margin: 0 auto; padding: 0.8em 1em 0; font: 15px/1.4 system-ui, sans-serif; }
.journal-back a { color: #1f5fa8; text-decoration: none; }
.journal-back a:hover { text-decoration: underline; }
"""
