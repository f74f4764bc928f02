"""`labjournal add`: an ordinary notebook adopted into a journal made by `labjournal new`."""

from __future__ import annotations

import difflib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labjournal.authoring.add import is_literal_assignment_cell, parse_grid
from labjournal.cli import main
from labjournal.plan.model import load_plan
from labjournal.plan.notebooks import declared_parameters
from labjournal.project import Project

LITERALS = "# the defaults\nlr = 0.1\nepochs = 3"
TRAIN = "loss = 1.0\nfor _ in range(epochs):\n    loss *= 1 - lr\nprint(loss)"
RECORDED = TRAIN + "\nfrom labjournal.kit import record\nrecord.scalar('final_loss', loss)"


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "journal"
    assert main(["new", str(project)]) == 0
    return project


def _notebook(project: Path, name: str = "speed.ipynb", *sources: str) -> Path:
    """A plain notebook: no tags; an import first, then the literals, then the code using them
    (with an output and metadata that must survive)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["author_note"] = {"kept": True}
    cells = sources or ("import math", LITERALS, TRAIN)
    notebook.cells = [nbformat.v4.new_markdown_cell("# Training speed")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    last = notebook.cells[-1]
    last.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.729\n")]
    last.metadata["collapsed"] = True
    path = project / "experiments" / "lab01" / name
    nbformat.write(notebook, str(path))
    return path


def _add(project: Path, notebook: Path, *options: str) -> int:
    return main(["--project", str(project), "add", str(notebook), *options])


def _snapshot(*paths: Path) -> list[bytes]:
    return [path.read_bytes() for path in paths]


def test_add_tags_the_literal_cell_adds_a_seed_and_an_entry_whose_grid_the_plan_expands(
    tmp_path: Path, capsys
) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    before = nbformat.read(str(path), as_version=4)
    plan_before = (project / "journal.yml").read_text()
    options = ["--lab", "lab01", "--experiment", "speed", "--grid", "lr=0.1,0.01", "--grid", "epochs=2,3"]
    assert _add(project, path, *options) == 0

    after = nbformat.read(str(path), as_version=4)
    assert after.cells[2].metadata["tags"] == ["parameters"]
    assert after.cells[2].source.startswith(LITERALS + "\nseed = 0")
    assert declared_parameters(path) == {"lr": 0.1, "epochs": 3, "seed": 0}
    for index in (0, 1, 3):
        assert after.cells[index] == before.cells[index]  # outputs and metadata kept
    assert after.metadata == before.metadata

    plan_after = (project / "journal.yml").read_text()
    assert plan_after.startswith(plan_before)  # every byte of the plan kept, the comments too
    assert plan_after.removeprefix(plan_before) == (
        "      speed:\n"
        "        path: experiments/lab01/speed.ipynb\n"
        "        experiments:\n"
        "          speed:\n"
        "            grid: {lr: [0.1, 0.01], epochs: [2, 3]}\n"
    )
    plan = load_plan(project / "journal.yml")
    runs = [run for run in plan.runs("quick") if run.notebook == "speed"]
    assert sorted((run.params["lr"], run.params["epochs"]) for run in runs) == sorted(
        itertools.product([0.1, 0.01], [2, 3])
    )
    assert {run.seed for run in runs} == {0} and {run.experiment for run in runs} == {"speed"}

    err = " ".join(capsys.readouterr().err.split())
    entry_line = plan_after.splitlines().index("      speed:") + 1
    assert "Tagged cell 3 of experiments/lab01/speed.ipynb 'parameters'" in err
    assert "Added `seed = 0`" in err and "labjournal.kit.runtime.setup(seed)" in err
    assert f"journal.yml line {entry_line}" in err
    assert 'record.scalar("accuracy", acc)' in err and "labjournal run --lab lab01" in err


def test_the_rest_of_journal_yml_is_kept_byte_for_byte_where_the_entry_goes_in_the_middle(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    plan_file = project / "journal.yml"
    second_lab = (
        "\n"
        "  # A second lab, written by hand: its comments, quotes and long lines must stay as they are.\n"
        "  lab02:\n"
        "    title: 'Lab 02 — single quotes'   # a trailing comment\n"
        "    page: index.qmd\n"
        "    notebooks:\n"
        "      other:\n"
        "        path: experiments/lab01/fit_line.ipynb\n"
        "        description: A description well over eighty characters long, which must not be folded by the writer.\n"
        "        params: {steps: 10, points: 100}   # flow style\n"
    )
    plan_file.write_text(plan_file.read_text() + second_lab)
    path = _notebook(project)
    before = plan_file.read_text()
    assert _add(project, path, "--lab", "lab01", "--grid", "lr=0.5") == 0
    after = plan_file.read_text()
    matcher = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True), autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"]  # nothing replaced or deleted
    _, at, _, start, end = changes[0]
    assert before.splitlines(True)[at] == "\n"  # before the blank line and the second lab's comment
    assert "".join(after.splitlines(True)[start:end]).startswith("      speed:\n")
    assert "grid: {lr: [0.5]}" in after
    load_plan(plan_file)


def test_a_notebook_with_nothing_parameter_like_is_refused_and_left_untouched(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project, "plain.ipynb", "%matplotlib inline\nlr = 0.1", "import math\nx = math.pi")
    files = (path, project / "journal.yml")
    before = _snapshot(*files)
    assert _add(project, path, "--lab", "lab01") == 2
    assert _snapshot(*files) == before
    assert "no cell tagged 'parameters' and no code cell made only of literal assignments" in (
        " ".join(capsys.readouterr().err.split())
    )


def test_a_grid_over_a_parameter_the_notebook_does_not_declare_is_refused(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    files = (path, project / "journal.yml")
    before = _snapshot(*files)
    assert _add(project, path, "--lab", "lab01", "--grid", "momentum=0.9") == 2
    assert _snapshot(*files) == before
    assert "declares no 'momentum' (it declares: lr, epochs, seed)" in capsys.readouterr().err


def test_a_notebook_already_in_the_plan_or_a_name_already_used_is_refused(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    first = _notebook(project)
    assert _add(project, first, "--lab", "lab01") == 0
    capsys.readouterr()
    plan_before = (project / "journal.yml").read_bytes()
    assert _add(project, first, "--lab", "lab01", "--name", "again") == 2
    assert "experiments/lab01/speed.ipynb is already in the plan, as labs.lab01.notebooks.speed" in (
        capsys.readouterr().err
    )
    second = _notebook(project, "other.ipynb")
    second_before = second.read_bytes()
    assert _add(project, second, "--lab", "lab01", "--name", "speed") == 2
    assert "lab 'lab01' already has a notebook named 'speed'" in capsys.readouterr().err
    assert second.read_bytes() == second_before and (project / "journal.yml").read_bytes() == plan_before


def test_a_new_lab_needs_a_page_and_the_refusal_names_the_labs(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    assert _add(project, path, "--lab", "lab02") == 2
    assert "no lab 'lab02' in the plan (it has: lab01)" in capsys.readouterr().err
    assert _add(project, path, "--lab", "lab02", "--page", "index.qmd") == 0
    lab = load_plan(project / "journal.yml").labs["lab02"]
    assert lab.title == "lab02" and lab.page == "index.qmd" and list(lab.notebooks) == ["speed"]


def test_a_tagged_parameters_cell_is_kept_and_its_seed_left_alone(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project, "tagged.ipynb", "a = 1", "lr = 0.1\nseed = 7", TRAIN.replace("epochs", "3"))
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[2].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, str(path))
    before = path.read_bytes()
    assert _add(project, path, "--lab", "lab01", "--name", "Tagged Run") == 0
    assert path.read_bytes() == before  # nothing to tag, a seed already there
    assert "Tagged Run" in load_plan(project / "journal.yml").labs["lab01"].notebooks
    err = capsys.readouterr().err
    assert "Tagged cell" not in err and "seed = 0" not in err


def test_a_value_of_the_wrong_type_is_found_by_the_plan_and_both_files_are_restored(
    tmp_path: Path, capsys
) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    files = (path, project / "journal.yml")
    before = _snapshot(*files)
    assert _add(project, path, "--lab", "lab01", "--grid", "lr=adam") == 2
    assert _snapshot(*files) == before
    err = " ".join(capsys.readouterr().err.split())
    assert "expects float (the notebook's default is 0.1), got 'adam'" in err
    assert "journal.yml and speed.ipynb are as they were" in err


def test_grid_values_are_yaml_scalars_and_floats_stay_floats_in_the_plan(tmp_path: Path) -> None:
    assert parse_grid(["x=0.1,3,true,adam,1e-3", "name=a b"]) == {
        "x": [0.1, 3, True, "adam", 0.001],
        "name": ["a b"],
    }
    project = _project(tmp_path)
    path = _notebook(project)
    assert _add(project, path, "--lab", "lab01", "--grid", "lr=1e-5,2.5e20") == 0
    runs = load_plan(project / "journal.yml").runs("quick", lab="lab01")
    assert sorted(run.params["lr"] for run in runs if run.notebook == "speed") == [1e-5, 2.5e20]


def test_names_and_values_yaml_11_reads_as_booleans_are_quoted_in_the_plan(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project, "off.ipynb", "offset = 1.0\nmode = 'a'", TRAIN)
    options = ["--lab", "lab01", "--experiment", "off", "--grid", "offset=1.0,2.0", "--grid", "mode=yes,no"]
    assert _add(project, path, *options) == 0, capsys.readouterr().err
    text = (project / "journal.yml").read_text()
    assert "      'off':\n" in text and "          'off':\n" in text  # the notebook and the experiment
    assert "mode: ['yes', 'no']" in text
    runs = [
        run for run in load_plan(project / "journal.yml").runs("quick", lab="lab01") if run.notebook == "off"
    ]
    assert {run.experiment for run in runs} == {"off"}
    assert sorted((run.params["offset"], run.params["mode"]) for run in runs) == [
        (1.0, "no"),
        (1.0, "yes"),
        (2.0, "no"),
        (2.0, "yes"),
    ]


@pytest.mark.parametrize(
    ("source", "literal"),
    [
        ("lr = 0.1\nname = 'a'  # a comment\n\nsizes = [1, 2]\nneg = -1", True),
        ("x: int = 3", True),
        ("%matplotlib inline\nx = 1", False),
        ("!pip install torch", False),
        ("x = 1\nprint(x)", False),
        ("x = some_function()", False),
        ("a, b = 1, 2", False),
        ("# only a comment", False),
    ],
)
def test_what_counts_as_a_cell_of_literal_assignments(source: str, literal: bool) -> None:
    assert is_literal_assignment_cell(source) is literal


@pytest.mark.slow
@pytest.mark.e2e
def test_an_adopted_notebook_runs_on_the_quick_profile(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project, "speed.ipynb", "import math", LITERALS, RECORDED)
    grid = ["--grid", "lr=0.1,0.5"]
    assert _add(project, path, "--lab", "adopted", "--page", "index.qmd", *grid) == 0
    assert "record.scalar" not in capsys.readouterr().err  # it records already
    completed = subprocess.run(
        [sys.executable, "-m", "labjournal.cli", "run", "--profile", "quick", "--lab", "adopted"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    index = json.loads((project / "results" / "index.quick.json").read_text())
    losses = {r["params"]["lr"]: r["metrics"]["final_loss"] for r in index["runs"] if r["lab"] == "adopted"}
    assert losses == pytest.approx({0.1: 0.9**3, 0.5: 0.5**3})


def test_a_new_labs_page_that_does_not_exist_is_created_and_listed_in_quarto_yml(
    tmp_path: Path, capsys
) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    quarto = project / "_quarto.yml"
    before = quarto.read_text()
    assert _add(project, path, "--lab", "lab02", "--page", "lab02.qmd") == 0
    assert "Created report/lab02.qmd" in capsys.readouterr().err
    page = (project / "report" / "lab02.qmd").read_text()
    assert page.startswith('---\ntitle: "lab02"\n---\n') and '{{ pending("lab02") }}' in page
    # Listed after the last lab's page, written as the entry before it; every other byte kept.
    entry = '      - href: lab02.qmd\n        text: "lab02"\n'
    after = '        text: "Lab 01: Fitting a line"\n'
    assert quarto.read_text() == before.replace(after, after + entry)
    pages = [p.source for p in Project(project).site_config().pages]
    assert pages == ["index.qmd", "lab02.qmd", "claims.qmd"]  # a new lab before the Claims page
    assert main(["--project", str(project), "render"]) == 0  # the stub renders, with its note
    assert "Experiments not run yet" in (project / "_build" / "lab02.qmd").read_text()


def test_an_existing_page_not_listed_is_listed_and_kept_as_it_is(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    quarto = project / "_quarto.yml"
    quarto.write_text(quarto.read_text().replace("    contents:\n", "    contents:  # the pages, in order\n"))
    written = "---\ntitle: Speed\n---\n\nMy own words.\n"
    (project / "report" / "speed.qmd").write_text(written)
    assert _add(project, path, "--lab", "speed", "--page", "speed.qmd") == 0
    assert (project / "report" / "speed.qmd").read_text() == written
    assert "# the pages, in order" in quarto.read_text()
    assert [p.source for p in Project(project).site_config().pages] == [
        "index.qmd",
        "speed.qmd",
        "claims.qmd",
    ]
    assert "Created" not in capsys.readouterr().err
    other = _notebook(project, "other.ipynb")
    before = quarto.read_bytes()
    assert _add(project, other, "--lab", "other", "--page", "speed.qmd") == 0  # listed already
    assert quarto.read_bytes() == before


def test_a_bad_page_name_or_an_invalid_plan_leaves_no_page_and_quarto_yml_as_it_was(
    tmp_path: Path, capsys
) -> None:
    project = _project(tmp_path)
    path = _notebook(project)
    files = (path, project / "journal.yml", project / "_quarto.yml")
    before = _snapshot(*files)
    assert _add(project, path, "--lab", "lab02", "--page", "../lab02.qmd") == 2
    assert "--page ../lab02.qmd: name a page file of report/" in capsys.readouterr().err
    assert _add(project, path, "--lab", "lab02", "--page", "lab02.qmd", "--grid", "lr=adam") == 2
    assert _snapshot(*files) == before and not (project / "report" / "lab02.qmd").exists()
