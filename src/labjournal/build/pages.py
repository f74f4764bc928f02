"""What both engines read from the rendered project: its pages and their front matter, the
author's files, and how an external tool is run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from labjournal.errors import BuildError
from labjournal.project import Page, SiteConfig
from labjournal.render.journal import MANIFEST

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
COMBINED = "_journal.qmd"  # underscore: Quarto does not render it as a site page


def split_front_matter(text: str, source: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise BuildError(f"{source}: the YAML front matter is invalid: {exc}") from exc
    return meta, text[match.end() :]


def author_files(build_dir: Path) -> list[str]:
    """The author's files the render copied beside the pages (images, data, styles)."""
    manifest = build_dir / MANIFEST
    return json.loads(manifest.read_text()).get("files", []) if manifest.exists() else []


def read_pages(build_dir: Path, site: SiteConfig) -> list[tuple[Page, dict, str]]:
    pages = []
    for page in site.pages:
        path = build_dir / page.source
        meta, body = split_front_matter(path.read_text(encoding="utf-8"), str(path))
        if "title" not in meta:
            raise BuildError(f"{page.source}: the page has no title in its front matter")
        pages.append((page, meta, body))
    return pages


def run_tool(command: list[str], cwd: Path, what: str, stdin: str | None = None) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, input=stdin)
    if completed.returncode != 0:
        raise BuildError(f"{what} failed (exit {completed.returncode}):\n{completed.stderr.strip()}")
