"""Shared fixtures: a tiny journal project in a temporary folder, with fast notebooks (no torch)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def index_row(
    lab: str,
    experiment: str,
    params: dict[str, Any],
    seed: int | None,
    metrics: dict[str, Any],
    *,
    notebook: str = "nb",
    key: str | None = None,
    status: str = "ok",
    run_dir: str = "runs/x",
    data: Sequence[str] = (),
) -> dict[str, Any]:
    """One row of `results/index.json` as labjournal.run.index writes it: the one place the tests
    spell out the row's schema (labjournal.records.IndexRow reads it). The key defaults to one
    unique per parameters and seed."""
    return {
        "lab": lab,
        "notebook": notebook,
        "experiment": experiment,
        "params": params,
        "seed": seed,
        "key": f"{sorted(params.items())}-{seed}" if key is None else key,
        "status": status,
        "run_dir": run_dir,
        "metrics": metrics,
        "figures": {},
        "data": list(data),
    }


def results_index(rows: Sequence[dict[str, Any]], profile: str = "test", **extra: Any) -> dict[str, Any]:
    """A whole `results/index.json` around `rows` (e.g. `design=` as a further field)."""
    return {"format": 1, "profile": profile, "data": {}, "runs": list(rows), **extra}


def ctrl_c_as_in_a_terminal() -> None:
    """`preexec_fn` for a command a test stops with Ctrl-C: SIGINT at its default and unblocked,
    as a command typed in a terminal starts, whatever the test run inherited (a suite started in
    the background, `cmd &` in a script, ignores SIGINT, and so would every command it starts)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def make_demo_project(root: Path) -> Path:
    root.mkdir(parents=True)
    write_notebook(root / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL)
    write_notebook(root / "notebooks" / "summary.ipynb", "label = 'all'", SUMMARY_CELL)
    (root / "journal.yml").write_text(PLAN)
    (root / "_quarto.yml").write_text(QUARTO)
    (root / "report").mkdir()
    (root / "report" / "index.qmd").write_text(INDEX_PAGE)
    (root / "report" / "demo.qmd").write_text(DEMO_PAGE)
    (root / "report" / "references.bib").write_text(BIB)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


def add_second_lab(project: Path, name: str = "other", page: str = "demo.qmd") -> None:
    """A copy of the demo lab under another name, with other grid values (so other cache keys)."""
    plan = project / "journal.yml"
    text = plan.read_text()
    copy = (
        text[text.index("  demo:") :]
        .replace("  demo:", f"  {name}:")
        .replace("page: demo.qmd", f"page: {page}")
    )
    plan.write_text(text + copy.replace("[1.0, 2.0, 3.0]", "[5.0, 6.0]").replace("[1.0, 2.0]", "[5.0, 6.0]"))


@pytest.fixture(autouse=True)
def _import_state_kept() -> Iterator[None]:
    """Each test finds `sys.modules`, `sys.path` and the environment as the tests before found
    them (a job executed in this process, as some tests do, writes its run's variables such as
    LABJOURNAL_THREADS into `os.environ`, which a later fresh kernel would inherit). A test that runs
    the warm kernel's reset in this process (`kit.reset.forget_local_modules`) drops every module
    of this checkout from `sys.modules` (course, conftest, the tests themselves); a later test
    would then patch a fresh copy of a module that the functions it imported never see."""
    modules, path, environment = dict(sys.modules), list(sys.path), dict(os.environ)
    yield
    sys.path[:] = path
    if dict(os.environ) != environment:  # a run executed in this process sets the run's variables
        os.environ.clear()
        os.environ.update(environment)
    for name, module in modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module


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


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's closed network refuses Google's hosts
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's) driven by Playwright; skipped with the reason where either is
    missing, except under CI, where the browser test must run."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        missing = "chromium" if executable is None else "playwright"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {missing} is not installed (see .ci/run)")
        pytest.skip(f"{missing} is not installed: apt-get install chromium; pip install -e .[dev]")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@contextlib.contextmanager
def serve(folder: Path):
    """A static HTTP server for `folder` on a free local port; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


# -- Under CI, no skip hides a test ------------------------------------------------------------
# Quarto cannot be installed on these machines, so its test is an honest skip, said in the summary
# line. Any other skip under CI (a missing browser, data, a dependency) fails the run.
ALLOWED_CI_SKIPS = ("quarto is not on PATH",)
_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _skips:
        return
    quarto = [node for node, reason in _skips if reason.startswith(ALLOWED_CI_SKIPS)]
    if quarto:
        terminalreporter.write_line(
            f"skipped by design: {len(quarto)} Quarto test(s): quarto is not on PATH on this machine "
            "(it cannot be installed offline); the generated Quarto project is checked by test_quarto_project.py"
        )


def pytest_sessionfinish(session, exitstatus) -> None:
    unexpected = [(node, reason) for node, reason in _skips if not reason.startswith(ALLOWED_CI_SKIPS)]
    if os.environ.get("CI") and unexpected:
        for node, reason in unexpected:
            print(f"\nCI does not accept this skip: {node}: {reason}")
        session.exitstatus = 1
