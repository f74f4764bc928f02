"""Executed notebooks converted to HTML pages (nbconvert's lab template without scripts from the
network), with this machine's paths taken out and the value `setup(seed)` returns not shown.

Every run of a notebook has the same code and markdown cells, so nbconvert's two costliest
filters (syntax highlighting and HTML sanitising) are remembered by their input, and the pages of
a render are shared between processes when there are many (a fresh journal has hundreds)."""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from labjournal.errors import RenderError
from labjournal.files import atomic_write_text

NOTEBOOK_TEMPLATES = Path(__file__).parents[1] / "nbtemplates"
PAGES_PER_WORKER = 24  # fewer pages than this per process: starting one costs more than it saves
MAX_WORKERS = 8


@dataclass(frozen=True)
class Conversion:
    """One executed notebook (`source`) to convert into the page `target`, titled `title`."""

    source: Path
    target: Path
    title: str


def convert_all(conversions: list[Conversion], root: Path, workers: int | None = None) -> None:
    """Convert every notebook, in this process or shared round-robin between `workers` child
    Pythons (by default one per available core while each gets `PAGES_PER_WORKER` pages). The
    pages are the same either way; a failed conversion is a RenderError naming the notebook."""
    workers = workers or _default_workers(len(conversions))
    if workers <= 1:
        _convert(conversions, root)
        return
    children = [_start_child(conversions[start::workers], root) for start in range(workers)]
    failures = [error for child in children if (error := _finish_child(child))]
    if failures:
        raise RenderError("converting executed notebooks to pages failed:\n" + "\n".join(failures))


def _start_child(share: list[Conversion], root: Path) -> subprocess.Popen[str]:
    """A child Python converting `share` (a module run, not multiprocessing: no guard needed in
    whatever script called the engine)."""
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    child.stdin.write(json.dumps([[str(c.source), str(c.target), c.title] for c in share]))
    child.stdin.close()
    return child


def _finish_child(child: subprocess.Popen[str]) -> str:
    """The child's error (its last lines), or "" when it converted its share."""
    assert child.stderr is not None
    errors = child.stderr.read()
    if child.wait() == 0:
        return ""
    return "\n".join(errors.strip().splitlines()[-6:])


def _default_workers(pages: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS, pages // PAGES_PER_WORKER))


def _convert(conversions: list[Conversion], root: Path) -> None:
    if not conversions:
        return
    exporter = _exporter()
    for item in conversions:
        try:
            notebook = hide_setup_value(clean_paths(nbformat.read(str(item.source), as_version=4), root))
            exporter.filters["highlight_code"].lexer = _lexer(notebook)
            body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": item.title}})
        except Exception as error:
            raise RenderError(
                f"{item.source}: cannot make its page ({type(error).__name__}: {error})"
            ) from error
        atomic_write_text(item.target, body)


def _exporter() -> Any:
    """nbconvert's HTML exporter (the `offline` template) with `clean_html` and `highlight_code`
    remembered: the same function of the same text, made once per process instead of once per run."""
    from nbconvert import HTMLExporter
    from nbconvert.filters.strings import clean_html

    return HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(NOTEBOOK_TEMPLATES)],
        filters={"clean_html": functools.lru_cache(maxsize=8192)(clean_html), "highlight_code": _Highlight()},
    )


def _lexer(notebook: nbformat.NotebookNode) -> str | None:
    """The notebook's Pygments lexer, found as nbconvert finds it."""
    info = notebook.metadata.get("language_info", {})
    return info.get("pygments_lexer", info.get("name"))


class _Highlight:
    """nbconvert's `highlight_code` filter, remembered by what decides its output: the source, the
    language (the notebook's lexer unless given) and a cell's `magics_language` (the only cell
    metadata nbconvert reads)."""

    def __init__(self) -> None:
        self.lexer: str | None = None
        self._highlight = functools.lru_cache(maxsize=8192)(self._convert)

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        magics = (metadata or {}).get("magics_language")
        return self._highlight(source, language or self.lexer, magics)

    @staticmethod
    def _convert(source: str, language: str | None, magics: str | None) -> str:
        from nbconvert.filters.highlight import Highlight2HTML

        metadata = {"magics_language": magics} if magics else None
        return str(Highlight2HTML(pygments_lexer=language)(source, metadata=metadata))


def _is_setup_call(source: str) -> bool:
    """Whether a cell ends in a bare `setup(...)` (or `runtime.setup(...)`), whose value Jupyter shows."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    last = body[-1] if body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)):
        return False
    func = last.value.func
    return (isinstance(func, ast.Name) and func.id == "setup") or (
        isinstance(func, ast.Attribute) and func.attr == "setup"
    )


def hide_setup_value(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A cell ending in the kit's `setup(seed)` shows its return value (`Out[3]: 'cpu'`, or
    `device(type='cpu')`): not a result of the run, so it is left off the page."""
    uses_kit = any("labjournal.kit" in cell.get("source", "") for cell in notebook.cells)
    for cell in notebook.cells:
        if uses_kit and cell.get("cell_type") == "code" and _is_setup_call(cell.get("source", "")):
            cell["outputs"] = [
                out for out in cell.get("outputs", []) if out.get("output_type") != "execute_result"
            ]
    return notebook


def clean_paths(notebook: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """The outputs of an executed notebook without this machine's paths: a run's folder (where
    it ran, or its staging folder) becomes `<run>`, the project's folder `<project>`, the home
    folder `~`. Published pages must not show where the journal was built."""
    project = re.escape(str(root.resolve()))
    rules = [
        (re.compile(project + r"/results/(?:\.staging|runs(?:/[^/\s'\"]+){2})/[^/\s'\"]+"), "<run>"),
        (re.compile(project), "<project>"),
        (re.compile(re.escape(str(Path.home()))), "~"),
    ]

    def clean(text: str) -> str:
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            if "traceback" in output:
                output["traceback"] = [clean(line) for line in output["traceback"]]
            for kind in ("text/plain", "text/html", "text/markdown"):
                if kind in output.get("data", {}):
                    value = output["data"][kind]
                    output["data"][kind] = clean("".join(value) if isinstance(value, list) else value)
    return notebook


if __name__ == "__main__":  # a child of convert_all: its share as JSON on stdin
    _convert([Conversion(Path(a), Path(b), c) for a, b, c in json.load(sys.stdin)], Path(sys.argv[1]))
