"""The documentation site: its reference pages are what docs/gen_reference.py generates from the
models and the parser today (every key, every command and option), every page is in the nav, and
`mkdocs build --strict` succeeds (a broken link fails it)."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

from labjournal.authoring import schemas
from labjournal.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_pages_are_what_the_code_generates() -> None:
    for path, text in _generator().pages().items():
        assert path.is_file(), f"{path} missing: python docs/gen_reference.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date: python docs/gen_reference.py"
        )


def test_the_file_references_list_every_key_the_models_accept() -> None:
    gen = _generator()
    for which, (page, _, _) in gen.FILE_PAGES.items():
        text = (DOCS / "reference" / page).read_text(encoding="utf-8")
        sections = text.split("\n## ")[1:]
        for model in schemas.models_of(schemas.SCHEMAS[which]):
            section = next(s for s in sections if s.startswith(model.__name__.strip("_") + " "))
            for name in model.model_fields:
                assert f"| `{name}` |" in section, f"{page}: {model.__name__}.{name}"


def test_the_cli_reference_lists_every_command_and_option() -> None:
    text = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        section = text.split(f"## labjournal {name} ")[1].split("\n## ")[0]
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in section, f"labjournal {name} {flag}"


def _nav_pages(entries) -> list[str]:
    found = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += _nav_pages(value) if isinstance(value, list) else [value]
    return found


def test_every_page_of_the_docs_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_pages(config["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages


NO_MKDOCS = importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None
needs_mkdocs = pytest.mark.skipif(
    NO_MKDOCS, reason="mkdocs-material is not installed (it is in the dev extras: pip install -e '.[dev]')"
)


def _build(project: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    done = _build(ROOT, site)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


@needs_mkdocs
def test_the_docs_site_builds_with_strict(built_site: Path) -> None:
    for page in ("index.html", "reference/journal-yml/index.html", "guide/claims/index.html"):
        assert (built_site / page).is_file(), page


def _letters(text: str) -> str:
    """Text without whitespace or backticks: how a docstring compares with its rendering."""
    return re.sub(r"[\s`]+", "", text)


def _text(html: str) -> str:
    """A page's text: scripts and tags dropped, entities read."""
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", html, flags=re.S)))


@needs_mkdocs
def test_the_kit_page_renders_the_kits_docstrings(built_site: Path) -> None:
    """reference/kit.md is rendered by mkdocstrings from the kit's code: the docstring of
    `runtime.setup` (read here from the source) and `record.figure`'s signature are on the page."""
    source = ast.parse((ROOT / "src/labjournal/kit/runtime.py").read_text(encoding="utf-8"))
    setup = next(n for n in source.body if isinstance(n, ast.FunctionDef) and n.name == "setup")
    docstring = ast.get_docstring(setup) or ""
    assert docstring, "labjournal.kit.runtime.setup has no docstring"
    page = _letters(_text((built_site / "reference/kit/index.html").read_text(encoding="utf-8")))
    assert _letters(docstring) in page
    assert (
        _letters("labjournal.kit.record") in page
        and _letters("figure(name: str, fig: Any, caption: str") in page
    )


@needs_mkdocs
def test_a_broken_link_fails_the_docs_build(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "guide" / "quarto.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [the missing page](missing.md).\n")
    done = _build(tmp_path, tmp_path / "site")
    assert done.returncode != 0 and "missing.md" in done.stdout + done.stderr


def test_the_readme_is_a_front_page() -> None:
    """At most 200 lines, the two commands, and screenshots of a page and of the PDF that exist
    and stay small (under 150 KB each)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "make report" in readme and "make test" in readme
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", readme)
    assert len(images) >= 2, images
    for image in images:
        path = ROOT / image
        assert path.is_file() and path.stat().st_size < 150_000, image
