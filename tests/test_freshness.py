"""Freshness observed, not guessed: a run re-runs when anything it actually read changed (a config
opened by relative path, an editable install's inner module, a listed folder, an upgraded
distribution, a data file rewritten with its size and mtime kept), and nothing else; the no-op
report, `status` and preview's watch list come from the same records."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import write_notebook

from labjournal.build.inputs import watch_list
from labjournal.build.noop import stamp_path
from labjournal.cli import main
from labjournal.project import Project

pytestmark = [pytest.mark.slow]

FIT = """\
import os
import helperpkg
import fakedist
from labjournal.kit import record
config = open("config.txt").read().split()
names = sorted(os.listdir("inputs"))
data = open("../../data/points.txt").read()
record.scalars(value=helperpkg.scale(float(config[0])) + seed / 1000, files=len(names), data=len(data))
"""

PLAN = """\
default_profile: quick
profiles:
  quick: {seeds: [0, 1]}
data:
  points: {path: data/points.txt}
pythonpath: [.]
labs:
  mine:
    title: Mine
    page: index.qmd
    notebooks:
      fit:
        path: NOTEBOOK
        data: [points]
"""

QUARTO = """\
project: {type: website, output-dir: _site}
title: Mine
website:
  sidebar:
    contents:
      - href: index.qmd
"""

PAGE = "---\ntitle: Mine\n---\n\nThe value is {{ metric('mine/fit', 'value') }}.\n"


def _fake_distribution(folder: Path, version: str) -> None:
    for old in folder.glob("fakedist-*.dist-info"):
        shutil.rmtree(old)
    info = folder / f"fakedist-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakedist\nVersion: {version}\n")
    (info / "top_level.txt").write_text("fakedist\n")
    (folder / "fakedist.py").write_text("VALUE = 1\n")


@pytest.fixture
def journal(tmp_path: Path, monkeypatch):
    """A learner's journal whose notebook lies outside experiments/, reads an undeclared config
    and a listed folder, imports an editable install and a distribution off the path."""
    project = tmp_path / "journal"
    notebook = project / "labs" / "mine" / "fit.ipynb"  # not under experiments/
    write_notebook(notebook, "seed = 0", FIT)
    (notebook.parent / "config.txt").write_text("2\n")
    (notebook.parent / "inputs").mkdir()
    (notebook.parent / "inputs" / "a.csv").write_text("1\n")
    (project / "data").mkdir()
    (project / "data" / "points.txt").write_text("abcd")
    (project / "journal.yml").write_text(PLAN.replace("NOTEBOOK", "labs/mine/fit.ipynb"))
    (project / "_quarto.yml").write_text(QUARTO)
    (project / "report").mkdir()
    (project / "report" / "index.qmd").write_text(PAGE)
    # An editable install (a .pth file in site-packages, as `pip install -e` writes) of a package
    # outside the project, and a distribution on the kernel's path.
    package = tmp_path / "helper-src" / "helperpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .inner import scale\n")
    (package / "inner.py").write_text("def scale(x):\n    return x * 10\n")
    pth = Path(sysconfig.get_paths()["purelib"]) / f"_labjournal_test_{os.getpid()}_{tmp_path.name}.pth"
    pth.write_text(str(package.parent) + "\n")
    libs = tmp_path / "libs"
    _fake_distribution(libs, "1.0")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(libs), os.environ.get("PYTHONPATH")) if p)
    )
    monkeypatch.syspath_prepend(str(libs))
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(project)
    try:
        yield project, package, libs
    finally:
        pth.unlink(missing_ok=True)


def _cli(project: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["--project", str(project), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _executed(output: str) -> int:
    return len(re.findall(r"\] mine/fit seed=\d ok", output))


def _values(project: Path) -> list[float]:
    rows = json.loads((project / "results" / "index.json").read_text())["runs"]
    return [row["metrics"]["value"] for row in rows]


def test_each_thing_a_run_read_re_runs_it_and_nothing_else_does(journal, capsys) -> None:
    project, package, libs = journal
    code, output = _cli(project, capsys, "run", "--jobs", "1")
    assert (code, _executed(output)) == (0, 2), output
    assert _values(project) == [20.0, 20.001]
    # The config was read without being declared: named, with the line that declares it.
    assert (
        "mine/fit read labs/mine/config.txt, labs/mine/inputs/, which journal.yml does not declare" in output
    )
    assert "`deps: [labs/mine/config.txt, labs/mine/inputs/]` under labs.mine.notebooks.fit" in output
    record = json.loads(next((project / "results" / "runs").rglob("run.json")).read_text())
    assert record["reads"]["files"].keys() == {"labs/mine/config.txt", "data/points.txt"}
    assert list(record["reads"]["listings"]) == ["labs/mine/inputs"]
    assert {Path(name).name for name in record["reads"]["modules"]} == {
        "__init__.py",
        "inner.py",
        "fakedist.py",
    }
    assert record["reads"]["distributions"]["fakedist"] == "1.0"

    # Unrelated: a new file beside the notebook, a touched config (same content).
    (project / "labs" / "mine" / "notes.txt").write_text("mine")
    os.utime(project / "labs" / "mine" / "config.txt")
    assert _executed(_cli(project, capsys, "run", "--jobs", "1")[1]) == 0

    edits = {
        "config": lambda: (project / "labs" / "mine" / "config.txt").write_text("3\n"),
        "inner module of an editable install": lambda: (package / "inner.py").write_text(
            "def scale(x):\n    return x * 100\n"
        ),
        "a file in a listed folder": lambda: (project / "labs" / "mine" / "inputs" / "b.csv").write_text(
            "2\n"
        ),
        "a distribution upgraded": lambda: _fake_distribution(libs, "2.0"),
    }
    for what, edit in edits.items():
        edit()
        code, output = _cli(project, capsys, "run", "--jobs", "1")
        assert (code, _executed(output)) == (0, 2), (what, output)
        assert _executed(_cli(project, capsys, "run", "--jobs", "1")[1]) == 0, what
    assert _values(project) == [300.0, 300.001]


def test_a_data_file_rewritten_with_its_size_and_mtime_kept_re_runs(journal, capsys) -> None:
    project, _package, _libs = journal
    assert _cli(project, capsys, "run", "--jobs", "1")[0] == 0
    points = project / "data" / "points.txt"
    before = points.stat()
    points.write_text("wxyz")  # same size
    os.utime(points, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert points.stat().st_mtime_ns == before.st_mtime_ns and points.stat().st_size == before.st_size
    code, output = _cli(project, capsys, "run", "--jobs", "1")
    assert (code, _executed(output)) == (0, 2), output


def _report(project: Path, capsys) -> tuple[int, str]:
    return _cli(project, capsys, "report", "--engine", "pandoc", "--jobs", "1")


def test_no_op_status_and_watch_list_come_from_what_was_read(journal, capsys, tmp_path, monkeypatch) -> None:
    project, package, libs = journal
    code, output = _report(project, capsys)
    assert code == 0, output
    # A virtual environment inside the project is never part of the record, nor results/.
    venv = project / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    assert _report(project, capsys)[1].count("Nothing changed since the last report") == 1
    recorded = json.loads(stamp_path(Project(project)).read_text())
    inside = [path for path in recorded["files"] if path.startswith(str(project))]
    runs = str(project / "results" / "runs")
    assert inside and not [
        p for p in inside if p.startswith(str(venv)) or p.startswith(runs) and not p.endswith("run.json")
    ]

    code, output = _cli(project, capsys, "status")
    assert code == 0 and "run: up to date" in output and "build: up to date" in output, output

    # Each kind of staleness, said by status, and each defeats the no-op.
    (project / "labs" / "mine" / "config.txt").write_text("5\n")
    (package / "inner.py").write_text("def scale(x):\n    return x * 2\n")
    _fake_distribution(libs, "3.0")
    (project / "report" / "index.qmd").write_text(PAGE + "\nMore.\n")
    status = json.loads(_cli(project, capsys, "status", "--json")[1])
    stages = {stage["stage"]: stage for stage in status["stages"]}
    why = stages["run"]["runs"]["mine/fit seed=0"]
    assert "labs/mine/config.txt changed" in why
    assert any(reason.endswith("helperpkg/inner.py changed") for reason in why)
    assert "fakedist 1.0 → 3.0" in why
    assert "report/index.qmd changed" in stages["render"]["reasons"]
    assert stages["build"]["reasons"] == ["follows the render stage, which is stale"]

    # The notebook itself (outside experiments/): a key change, explained.
    notebook = project / "labs" / "mine" / "fit.ipynb"
    notebook.write_text(notebook.read_text().replace("record.scalars(", "record.scalars(  "))
    output = _cli(project, capsys, "status")[1]
    assert "mine/fit (2 runs): the notebook's code cells changed" in output, output

    watched = watch_list(Project(project))
    for path in (notebook, project / "labs" / "mine" / "config.txt", package / "inner.py"):
        assert watched.counts(path.resolve()) and watched.needs_run({path.resolve()}), path
    page = (project / "report" / "index.qmd").resolve()
    assert watched.counts(page) and not watched.needs_run({page})
    assert not watched.counts((project / "results" / "index.json").resolve())

    code, output = _report(project, capsys)
    assert code == 0 and "Nothing changed" not in output and _executed(output) == 2, output
    assert "The value is 10.00" in (project / "_site" / "index.html").read_text()

    # The engine `auto` picks is an input of the build: a quarto appearing on PATH is seen.
    assert "Nothing changed" in _cli(project, capsys, "report", "--engine", "pandoc", "--jobs", "1")[1]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "quarto").write_text("#!/bin/sh\nexit 1\n")
    (fake / "quarto").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert "Nothing changed" not in _cli(project, capsys, "report", "--engine", "pandoc", "--jobs", "1")[1]
    assert "engine: pandoc → quarto" in _cli(project, capsys, "status")[1]


def _edit(name: str, project: Path, package: Path, libs: Path) -> str:
    """One edit of something a run read; the value the page then shows (seed 0, seed 1)."""
    lab = project / "labs" / "mine"
    if name == "config":
        (lab / "config.txt").write_text("4\n")
        return "The value is 40.00"
    if name == "editable":
        (package / "inner.py").write_text("def scale(x):\n    return x * 3\n")
        return "The value is 6.00"
    if name == "upgrade":
        _fake_distribution(libs, "1.1")
        return "The value is 20.00"
    if name == "notebook":
        notebook = lab / "fit.ipynb"
        notebook.write_text(notebook.read_text().replace("+ seed / 1000", "+ 1 + seed / 1000"))
        return "The value is 21.00"
    points = project / "data" / "points.txt"
    before = points.stat()
    points.write_text("wxyz")  # the same size, and the mtime put back
    os.utime(points, ns=(before.st_atime_ns, before.st_mtime_ns))
    return "The value is 20.00"


@pytest.mark.parametrize("edit", ["config", "editable", "upgrade", "notebook", "data"])
def test_after_each_edit_report_re_runs_exactly_those_runs_and_the_site_shows_it(
    journal, capsys, edit
) -> None:
    """`make report` twice: the second a no-op; then one edit of what a run read (a config opened
    by relative path, an editable install's inner module, a library upgrade, the notebook outside
    experiments/, a data file rewritten with its size and mtime kept) is not a no-op, re-runs the
    two runs and the site shows the new number."""
    project, package, libs = journal
    assert _report(project, capsys)[0] == 0
    assert "Nothing changed" in _report(project, capsys)[1]
    shown = _edit(edit, project, package, libs)
    code, output = _report(project, capsys)
    assert code == 0 and "Nothing changed" not in output and _executed(output) == 2, output
    assert shown in (project / "_site" / "index.html").read_text()
    assert "Nothing changed" in _report(project, capsys)[1]


def _page(address: str) -> str:
    with urllib.request.urlopen(f"{address}/index.html", timeout=10) as response:
        return response.read().decode()


def test_preview_rebuilds_when_a_file_a_run_read_is_saved(journal) -> None:
    """The watch list is what the records name: saving a config no folder rule covers, or an
    editable install's module outside the project, runs again and the served page changes."""
    project, package, _libs = journal
    process = subprocess.Popen(
        [sys.executable, "-m", "labjournal.cli", "preview", "--port", "0"],
        cwd=project,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = None
        while address is None:
            line = process.stderr.readline()
            assert line or process.poll() is None, "the preview stopped"
            match = re.search(r"Preview at (http://127\.0\.0\.1:\d+)/", line)
            address = match.group(1) if match else None
        assert "The value is 20.00" in _page(address)
        time.sleep(2)  # the watcher starts just after the line that gives the address
        for save, shown in (
            (lambda: (project / "labs" / "mine" / "config.txt").write_text("7\n"), "The value is 70.00"),
            (lambda: (package / "inner.py").write_text("def scale(x):\n    return x\n"), "The value is 7.00"),
        ):
            save()
            deadline = time.monotonic() + 60
            while shown not in _page(address):
                if time.monotonic() > deadline:
                    process.terminate()
                    raise AssertionError(f"the page never showed {shown!r}: {process.stderr.read()}")
                time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=30)


PLAIN = """\
from labjournal.kit import record
record.scalar("constant", 1.0 + seed)
"""


def test_a_warm_kernel_records_each_run_apart(journal, capsys) -> None:
    """Runs of two notebooks in one warm kernel: the one that imports nothing of the other's
    (an editable install, a distribution) records none of it, and editing the other's helper
    re-runs only the other."""
    project, package, _libs = journal
    write_notebook(project / "labs" / "mine" / "plain.ipynb", "seed = 0", PLAIN)
    plan = project / "journal.yml"
    plan.write_text(plan.read_text() + "      plain:\n        path: labs/mine/plain.ipynb\n")
    code, output = _cli(project, capsys, "run", "--jobs", "1")
    assert code == 0 and "0 cold kernel starts" not in output and "1 cold kernel starts" in output, output
    plain = next((project / "results" / "runs" / "mine" / "plain").rglob("run.json"))
    reads = json.loads(plain.read_text())["reads"]
    assert not [name for name in reads["modules"] if "helperpkg" in name or "fakedist" in name], reads
    assert "fakedist" not in reads["distributions"] and "pyyaml" not in reads["distributions"], reads
    (package / "inner.py").write_text("def scale(x):\n    return x * 5\n")
    code, output = _cli(project, capsys, "run", "--jobs", "1")
    assert code == 0 and _executed(output) == 2 and "mine/plain" not in output.split("Executing")[-1], output


def test_publish_refuses_results_a_run_read_past(journal, capsys, tmp_path) -> None:
    """A helper edited after the report: status says the runs are stale, and publish refuses
    rather than ship the old numbers; after a report it publishes."""
    project, package, _libs = journal
    assert _report(project, capsys)[0] == 0
    (package / "inner.py").write_text("def scale(x):\n    return x * 4\n")
    code, output = _cli(project, capsys, "publish", str(tmp_path / "public"))
    assert code != 0 and "will not publish: the results are stale" in output, output
    assert "helperpkg/inner.py changed" in output and not (tmp_path / "public").exists()
    assert _report(project, capsys)[0] == 0
    code, output = _cli(project, capsys, "publish", str(tmp_path / "public"))
    assert code == 0, output
    assert "The value is 8.00" in (tmp_path / "public" / "index.html").read_text()
