"""The run pages of a journal (every executed notebook as HTML, `runs/<key>.html`), made three
ways in one run, from an empty page cache each time:

- nbconvert as it comes: one `HTMLExporter.from_notebook_node` per notebook (the offline
  template, the cleaning of `labjournal.render.notebook_html`);
- labjournal in one process (`convert_all(..., workers=1)`: highlighting and sanitising
  remembered by their input, as every run of a notebook has the same cells);
- labjournal as `render` calls it (the same, shared between one child Python per core).

It prints the seconds of each, the ratios, and whether the three made the same bytes.

    python bench/run_pages.py PROJECT [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat

from labjournal.render.notebook_html import (
    NOTEBOOK_TEMPLATES,
    Conversion,
    clean_paths,
    convert_all,
    hide_setup_value,
)


def plain(conversions: list[Conversion], root: Path) -> None:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(NOTEBOOK_TEMPLATES)])
    for item in conversions:
        notebook = hide_setup_value(clean_paths(nbformat.read(str(item.source), as_version=4), root))
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": item.title}})
        item.target.write_text(body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="only the first N notebooks")
    args = parser.parse_args()
    root = args.project.resolve()
    sources = sorted((root / "results" / "runs").glob("*/*/*/notebook.ipynb"))[: args.limit]
    with tempfile.TemporaryDirectory() as scratch:
        made: dict[str, list[Conversion]] = {}
        seconds: dict[str, float] = {}
        ways = {
            "nbconvert, one exporter": lambda items: plain(items, root),
            "labjournal, one process": lambda items: convert_all(items, root, workers=1),
            "labjournal, as render": lambda items: convert_all(items, root),
        }
        for way, convert in ways.items():
            folder = Path(scratch) / str(len(made))
            folder.mkdir()
            items = [Conversion(s, folder / f"{i}.html", s.parent.name) for i, s in enumerate(sources)]
            started = time.perf_counter()
            convert(items)
            seconds[way], made[way] = time.perf_counter() - started, items
        first = list(made.values())[0]
        same = all(
            a.target.read_bytes() == b.target.read_bytes()
            for items in made.values()
            for a, b in zip(first, items, strict=True)
        )
    base = seconds["nbconvert, one exporter"]
    print(f"{len(sources)} executed notebooks of {root.name}")
    for way, took in seconds.items():
        print(f"  {way:<26} {took:7.1f} s   {base / took:5.2f}x")
    print(f"  the same bytes: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
