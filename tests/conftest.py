"""Shared fixtures: a tiny journal project in a temporary folder, with fast notebooks (no torch)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    parameter_cell = nbformat.v4.new_code_cell(parameters)
    parameter_cell.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), parameter_cell]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


SQUARE_CELL = """
from labjournal.kit import record
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
record.scalar("square", x * x)
record.scalar("noisy", x + seed / 10)
record.scalar("guess_square", 2 * x)  # a "baseline" for tables: guesses the square as 2x
record.series("curve", [x, x / 2, x / 4])
fig, ax = plt.subplots()
ax.plot([1, 2, 3])
record.figure("plot", fig, caption="A line")
"""

SUMMARY_CELL = """
from labjournal.kit import inputs, record
frame = inputs.runs("squares")
record.scalar("total", float(frame["metric.square"].sum()))
record.scalar("count", len(frame))
"""

PLAN = """\
default_profile: default
profiles:
  quick: {seeds: [0]}
  default: {seeds: [0, 1]}
labs:
  demo:
    title: Demo lab
    page: demo.qmd
    notebooks:
      square:
        path: notebooks/square.ipynb
        experiments:
          squares:
            grid: {x: [1.0, 2.0, 3.0]}
            profiles:
              quick: {grid: {x: [1.0, 2.0]}}
      summary:
        path: notebooks/summary.ipynb
        inputs: [square]
"""

QUARTO = """\
project: {type: website, output-dir: _site}
title: "Demo journal"
author: "Tester"
bibliography: references.bib
website:
  title: "Demo journal"
  sidebar:
    contents:
      - href: index.qmd
        text: Home
      - demo.qmd
"""

INDEX_PAGE = """---
title: Home
---

Hello [@ref2020].
"""

DEMO_PAGE = """---
title: Demo lab
---

## Results

The square at x = 2 is {{ metric("demo/squares", "square", x=2.0) | num(2) }}.

{{ figure("demo/squares", "plot", x=1.0) }}

{{ table("demo/squares", ["square", "noisy"], by=["x"]) }}
"""

BIB = """@article{ref2020, title = {A Reference}, author = {Doe, Jane}, journal = {J}, year = {2020}}
"""


def make_demo_project(root: Path) -> Path:
    root.mkdir(parents=True)
    write_notebook(root / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL)
    write_notebook(root / "notebooks" / "summary.ipynb", "label = 'all'", SUMMARY_CELL)
    (root / "journal.yml").write_text(PLAN)
    (root / "_quarto.yml").write_text(QUARTO)
    (root / "journal").mkdir()
    (root / "journal" / "index.qmd").write_text(INDEX_PAGE)
    (root / "journal" / "demo.qmd").write_text(DEMO_PAGE)
    (root / "journal" / "references.bib").write_text(BIB)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    return make_demo_project(tmp_path / "journal-project")


@pytest.fixture(scope="session")
def offline_data() -> Path:
    """The offline data folder (LABJOURNAL_DATA, else ../shared/data beside the repository)."""
    candidates = [os.environ.get("LABJOURNAL_DATA"), str(REPO.parent / "shared" / "data")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "fashion-mnist-sample").is_dir():
            return Path(candidate)
    if os.environ.get("CI"):
        pytest.fail("CI must provide the offline data: set LABJOURNAL_DATA to shared/data")
    pytest.skip("no offline data: set LABJOURNAL_DATA to a folder holding fashion-mnist-sample/")
