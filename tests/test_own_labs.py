"""A learner's own lab: a notebook that reads a CSV beside it by name, imports a helper module
beside it, and reads a declared `path:` dataset and a `url:` dataset (served on 127.0.0.1 with its
sha256). Each edit re-executes exactly the runs whose inputs changed, and nothing else."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import serve
from nbclient import NotebookClient

from labjournal.cli import main
from labjournal.data.datasets import DataSource
from labjournal.plan.model import load_plan

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIT_PARAMETERS = "seed = 0\nscale = 1.0"
FIT_CELL = """\
import pandas as pd
from pathlib import Path

from helpers import total
from labjournal.kit import data, record
from labjournal.kit.runtime import setup

setup(seed)
frame = pd.read_csv("points.csv")  # beside the notebook, read by name as in Jupyter
extra = pd.read_csv(data.path("extra"))
remote = float(Path(data.path("remote")).read_text())
record.scalars(total=total(frame) * scale, extra=float(extra["v"].sum()), remote=remote, seed_part=seed / 1000)
"""
OTHER_PARAMETERS = "seed = 0"
OTHER_CELL = """\
from pathlib import Path
from labjournal.kit import record

Path("notes.txt").write_text("written beside the notebook")
record.scalar("constant", 1.0)  # the seed is never used
"""
SILENT_CELL = "x = 1 + 1"

PLAN = """\
default_profile: quick
profiles:
  quick: {seeds: [0]}
  two: {seeds: [0, 1]}
data:
  extra: {path: data/extra.csv}
  remote: {url: "URL", sha256: "SHA"}
labs:
  mine:
    title: My lab
    page: index.qmd
    notebooks:
      fit:
        path: experiments/mine/fit.ipynb
        data: [extra, remote]
        deps: [experiments/mine/points.csv]
        experiments:
          scales:
            grid: {scale: [1.0, 2.0]}
      other:
        path: experiments/mine/other.ipynb
      silent:
        path: experiments/mine/silent.ipynb
"""


def _notebook(path: Path, parameters: str, cell: str) -> None:
    notebook = nbformat.v4.new_notebook()
    tagged = nbformat.v4.new_code_cell(parameters)
    tagged.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A lab"), tagged, nbformat.v4.new_code_cell(cell)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_own_lab(root: Path, notebooks: tuple[str, ...] = ("other", "silent")) -> tuple[Path, Path]:
    """The learner's project under `root` (a notebook, a CSV and a helper beside it, a data file)
    and the folder a local web server serves the `url:` dataset from."""
    project = root / "my-journal"
    lab = project / "experiments" / "mine"
    _notebook(lab / "fit.ipynb", FIT_PARAMETERS, FIT_CELL)
    cells = {"other": OTHER_CELL, "silent": SILENT_CELL}
    for name in notebooks:
        _notebook(lab / f"{name}.ipynb", OTHER_PARAMETERS, cells[name])
    (lab / "points.csv").write_text("x\n1\n2\n3\n")
    (lab / "helpers.py").write_text("def total(frame):\n    return float(frame['x'].sum())\n")
    (project / "data").mkdir()
    (project / "data" / "extra.csv").write_text("v\n10\n")
    (project / "report").mkdir()
    (project / "report" / "index.qmd").write_text("# Mine\n")
    served = root / "served"
    served.mkdir()
    (served / "remote.txt").write_text("100")
    return project, served


@pytest.fixture
def own_lab(tmp_path: Path, monkeypatch):
    project, served = make_own_lab(tmp_path)
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LABJOURNAL_DATA", str(tmp_path / "offline"))
    monkeypatch.chdir(project)
    with serve(served) as url:
        plan = PLAN.replace("URL", f"{url}/remote.txt").replace("SHA", _sha(served / "remote.txt"))
        (project / "journal.yml").write_text(plan)
        yield project, served, url


def _run(project: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["--project", str(project), "run", "--jobs", "1", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _executed(output: str) -> set[str]:
    return set(re.findall(r"\] (mine/\S+(?: scale=\S+)? seed=\d) ok", output))


def _metrics(project: Path) -> dict[tuple, dict]:
    index = json.loads((project / "results" / "index.json").read_text())
    return {
        (row["notebook"], row["params"].get("scale"), row["seed"]): row["metrics"] for row in index["runs"]
    }


FIT_RUNS = {"mine/scales scale=1.0 seed=0", "mine/scales scale=2.0 seed=0"}


def test_each_input_edit_re_executes_exactly_the_runs_that_read_it(own_lab, capsys) -> None:
    project, served, _url = own_lab
    code, output = _run(project, capsys)
    assert code == 0, output
    assert _executed(output) == FIT_RUNS | {"mine/other seed=0", "mine/silent seed=0"}
    metrics = _metrics(project)
    assert metrics[("fit", 2.0, 0)] == {"total": 12.0, "extra": 10.0, "remote": 100.0, "seed_part": 0.0}
    # What a notebook lacks is said at run time, naming it.
    assert "notes.txt beside experiments/mine/other.ipynb" in output
    assert "experiments/mine/silent.ipynb ran but recorded nothing" in output and "record.scalar" in output

    code, output = _run(project, capsys)
    assert (code, _executed(output)) == (0, set()), output

    lab = project / "experiments" / "mine"
    edits = [
        lambda: (lab / "points.csv").write_text("x\n1\n2\n3\n4\n"),  # a declared dep beside the notebook
        lambda: (lab / "helpers.py").write_text(
            "def total(frame):\n    return 2 * float(frame['x'].sum())\n"
        ),
        lambda: (project / "data" / "extra.csv").write_text("v\n10\n20\n"),  # a `path:` dataset
    ]
    for edit in edits:
        edit()
        code, output = _run(project, capsys)
        assert (code, _executed(output)) == (0, FIT_RUNS), output
    assert _metrics(project)[("fit", 1.0, 0)] == {
        "total": 20.0,
        "extra": 30.0,
        "remote": 100.0,
        "seed_part": 0.0,
    }

    # A `url:` dataset whose content changed: the new checksum declared, the new file downloaded.
    (served / "remote.txt").write_text("200")
    plan = project / "journal.yml"
    plan.write_text(re.sub(r'sha256: "\w+"', f'sha256: "{_sha(served / "remote.txt")}"', plan.read_text()))
    code, output = _run(project, capsys)
    assert (code, _executed(output)) == (0, FIT_RUNS), output
    assert _metrics(project)[("fit", 1.0, 0)]["remote"] == 200.0


def test_a_seed_the_notebook_never_uses_is_flagged(own_lab, capsys) -> None:
    project, _served_folder, _url = own_lab
    code, output = _run(project, capsys, "--profile", "two", "--lab", "mine")
    assert code == 0, output
    flagged = re.findall(r"warning: (mine/\w+): every metric is identical on every seed", output)
    assert flagged == ["mine/other"]  # fit records seed_part, so its seeds differ
    index = json.loads((project / "results" / "index.two.json").read_text())
    assert list(index["seed_unused"]) == ["mine/other"]


def test_the_notebook_opened_by_hand_in_its_folder_gives_the_same_metrics(
    own_lab, capsys, monkeypatch
) -> None:
    project, _served_folder, _url = own_lab
    code, output = _run(project, capsys)
    assert code == 0, output
    lab = project / "experiments" / "mine"
    notebook = nbformat.read(str(lab / "fit.ipynb"), as_version=4)
    for name in [k for k in os.environ if k.startswith("LABJOURNAL_RUN")]:
        monkeypatch.delenv(name)  # by hand: no run's settings
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(lab)}}).execute()
    by_hand = json.loads((lab / ".labjournal-scratch" / "metrics.json").read_text())
    assert by_hand["scalars"] == _metrics(project)[("fit", 1.0, 0)]
    assert DataSource(**by_hand["data"]["extra"]).root == str(project / "data" / "extra.csv")


def test_data_problems_are_clear_and_stop_before_anything_runs(own_lab, capsys) -> None:
    project, served, url = own_lab
    plan = project / "journal.yml"
    good = plan.read_text()
    # A checksum that does not match names both.
    (served / "remote.txt").write_text("999")
    code, output = _run(project, capsys)
    assert code == 2 and "remote" in output and _sha(served / "remote.txt") in output, output
    assert re.search(r"SHA256|sha256", output) and not (project / "results" / "runs").exists()
    # Offline: the download fails and the message says which folder to put the file in.
    plan.write_text(good.replace(url, "http://127.0.0.1:9"))
    code, output = _run(project, capsys)
    assert code == 2 and f"{os.environ['LABJOURNAL_DATA']}/remote/remote.txt" in output, output
    # A missing `path:` file is a plan error at its line.
    plan.write_text(good.replace("data/extra.csv", "data/missing.csv"))
    code, output = _run(project, capsys)
    line = good.splitlines().index("  extra: {path: data/extra.csv}") + 1
    assert code == 2 and f"journal.yml:{line}: data.extra.path: data/missing.csv does not exist" in output
    # An undeclared dataset and a dep that matches nothing, each at its line.
    plan.write_text(
        good.replace("data: [extra, remote]", "data: [extra, points]").replace("points.csv]", "nope.csv]")
    )
    code, output = _run(project, capsys)
    assert (
        code == 2
        and "unknown dataset 'points'" in output
        and "'experiments/mine/nope.csv' matches no file" in output
    )


def test_plan_shows_what_each_key_covers(own_lab, capsys) -> None:
    project, _served_folder, _url = own_lab
    assert main(["--project", str(project), "plan"]) == 0
    output = capsys.readouterr()
    shown = output.out + output.err
    assert "code: experiments/mine/helpers.py, labjournal/kit/__init__.py" in shown
    assert "deps: experiments/mine/points.csv" in shown and "data: extra (data/extra.csv," in shown
    plan = load_plan(project / "journal.yml")
    assert plan.pythonpath == []


def test_an_undeclared_dataset_and_a_failing_helper_are_named(own_lab, capsys) -> None:
    project, _served_folder, _url = own_lab
    plan = project / "journal.yml"
    plan.write_text(plan.read_text().replace("data: [extra, remote]", "data: [remote]"))
    code, output = _run(project, capsys, "--lab", "mine")
    assert code == 1 and "dataset 'extra' is not declared for this notebook" in output, output
    plan.write_text(plan.read_text().replace("data: [remote]", "data: [extra, remote]"))
    helpers = project / "experiments" / "mine" / "helpers.py"
    helpers.write_text("def total(frame):\n    raise ValueError('no total today')\n")
    code, output = _run(project, capsys, "--lab", "mine")
    assert code == 1 and "raised in helpers.py:2: ValueError: no total today" in output, output
