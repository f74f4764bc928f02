"""The generated `_quarto.yml` of `_build/`: the journal's own, with the stylesheet, the run pages and
the author's files as resources, and one citation style for both engines."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from labjournal.project import DEFAULT_CSL, QUARTO_FILE, Project
from labjournal.render.notebook_pages import NOTEBOOK_CSS

JOURNAL_CSS = "journal.css"  # the journal's blocks (claim badges, captions), styled under both engines
BOOK_ONLY_KEYS = ("subtitle", "date")  # the PDF's title page keeps them; no web page inherits them


def quarto_config(config: dict[str, Any], publish_runs: bool, files: Sequence[str] = ()) -> dict[str, Any]:
    """The `_quarto.yml` of the generated project in `_build/`, from the project's own.

    - The journal's stylesheet is listed under `format.html.css`, so claim badges, figure and
      table captions look the same as on the built-in site.
    - Top-level `subtitle` and `date` are dropped: Quarto gives every page the project-level
      metadata, so each page would show the book's subtitle and date under its own title. The
      combined document of the PDF still carries them (see `build.write_combined`).
    - `runs/*.html`, the executed notebooks the captions link to, are a project resource, so
      `quarto render` publishes them with the site."""
    config = copy.deepcopy(config)
    for key in BOOK_ONLY_KEYS:
        config.pop(key, None)
    formats = config.setdefault("format", {})
    html = formats.get("html")
    if not isinstance(html, dict):
        html = formats["html"] = {}
    css = html.get("css") or []
    css = [css] if isinstance(css, str) else list(css)
    if JOURNAL_CSS not in css:
        css.append(JOURNAL_CSS)
    html["css"] = css
    published = list(files)  # the author's own files, linked or not
    if publish_runs:
        published += ["runs/*.html", f"runs/{NOTEBOOK_CSS}"]  # the run pages and their stylesheet
    if published:
        project = config.setdefault("project", {})
        resources = project.get("resources") or []
        resources = [resources] if isinstance(resources, str) else list(resources)
        resources += [name for name in published if name not in resources]
        project["resources"] = resources
    return config


def write_default_csl(target: Path) -> None:
    """Pandoc's default citation style (Chicago author-date), which the built-in engine uses
    anyway, written out so that Quarto's site and PDF use the very same file."""
    import pypandoc

    style = subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "default.csl"],
        capture_output=True,
        check=True,
    ).stdout
    target.write_bytes(style)


def write_quarto_config(project: Project, build: Path, publish_runs: bool, files: list[str]) -> None:
    target = build / QUARTO_FILE
    raw = yaml.safe_load(project.quarto_file.read_text(encoding="utf-8")) or {}
    config = quarto_config(raw, publish_runs, [f for f in files if not f.endswith((".bib", ".csl"))])
    if config.get("bibliography"):
        config["csl"] = config.get("csl") or DEFAULT_CSL  # as SiteConfig.csl reads it
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy2(project.template(JOURNAL_CSS), target.parent / JOURNAL_CSS)
