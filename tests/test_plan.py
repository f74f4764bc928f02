"""Plan loading: expansion of grids and profiles, and every kind of invalid plan, with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from labjournal.errors import PlanError
from labjournal.plan.model import load_plan


def test_profiles_expand_grids_seeds_and_summaries(demo_project: Path) -> None:
    plan = load_plan(demo_project / "journal.yml")
    default = plan.runs("default")
    grid = [r for r in default if not r.is_summary]
    assert [(r.params["x"], r.seed) for r in grid] == [
        (1.0, 0),
        (1.0, 1),
        (2.0, 0),
        (2.0, 1),
        (3.0, 0),
        (3.0, 1),
    ]
    assert default[-1].is_summary and default[-1].seed is None and default[-1].inputs == ("square",)
    quick = plan.runs("quick")
    assert [(r.params.get("x"), r.seed) for r in quick] == [(1.0, 0), (2.0, 0), (None, None)]
    assert quick[0].parameters == {"x": 1.0, "seed": 0}


def test_the_repository_plan_is_valid_for_every_profile() -> None:
    plan = load_plan(Path(__file__).resolve().parents[1] / "journal.yml")
    counts = {name: len(plan.runs(name)) for name in ("quick", "default", "full")}
    assert counts["quick"] < counts["default"] < counts["full"]
    assert all(run.seed in (0, 1, 2) for run in plan.runs("default") if run.notebook == "logreg")


def _broken(project: Path, old: str, new: str) -> str:
    path = project / "journal.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return str(caught.value)


def test_unknown_key_is_reported_with_file_line_and_key(demo_project: Path) -> None:
    message = _broken(
        demo_project, "        inputs: [square]", "        inputs: [square]\n        colour: red"
    )
    assert "journal.yml:20: labs.demo.notebooks.summary.colour: unknown key" in message


def test_undeclared_parameter_is_rejected_before_anything_runs(demo_project: Path) -> None:
    message = _broken(demo_project, "grid: {x: [1.0, 2.0, 3.0]}", "grid: {x: [1.0], y: [2]}")
    assert "journal.yml:14: labs.demo.notebooks.square.experiments.squares.grid.y" in message
    assert "declares no parameter 'y' (it declares: seed, x)" in message


def test_wrong_type_against_the_notebook_default(demo_project: Path) -> None:
    message = _broken(demo_project, "grid: {x: [1.0, 2.0, 3.0]}", "grid: {x: [1.0, 'two']}")
    assert "grid.x: expects float (the notebook's default is 1.0), got 'two'" in message


def test_wrong_type_in_the_plan_schema(demo_project: Path) -> None:
    message = _broken(demo_project, "default: {seeds: [0, 1]}", "default: {seeds: zero}")
    assert "journal.yml:4: profiles.default.seeds:" in message


def test_missing_notebook_is_reported(demo_project: Path) -> None:
    message = _broken(demo_project, "notebooks/summary.ipynb", "notebooks/nope.ipynb")
    assert (
        "journal.yml:18: labs.demo.notebooks.summary.path: notebook not found: notebooks/nope.ipynb"
        in message
    )


def test_yaml_syntax_error_names_line_and_column(demo_project: Path) -> None:
    message = _broken(demo_project, "  quick: {seeds: [0]}", "  quick: {seeds: [0]")
    assert "journal.yml:4:3: YAML syntax error: expected ',' or '}'" in message
    assert "(while parsing a flow mapping at line 3)" in message


@pytest.mark.parametrize("value", ["=", "!float 3"])
def test_a_value_yaml_reads_as_a_tag_names_line_and_column(demo_project: Path, value: str) -> None:
    """Composed, then unreadable when loaded: `=` alone is YAML 1.1's value tag."""
    message = _broken(demo_project, "grid: {x: [1.0, 2.0, 3.0]}", f"grid: {{x: {value}}}")
    lines = (demo_project / "journal.yml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if f"{{x: {value}}}" in text)
    assert f"journal.yml:{line}:" in message and "reads as the YAML tag" in message
    assert "quote it if it is text" in message


def test_duplicate_keys_are_not_silently_merged(demo_project: Path) -> None:
    message = _broken(demo_project, "  quick: {seeds: [0]}", "  quick: {seeds: [0]}\n  quick: {seeds: [1]}")
    assert "journal.yml:4: profiles.quick: duplicate key" in message


def test_a_key_yaml_reads_as_a_boolean_or_null_is_named_at_its_line_with_how_to_quote_it(
    demo_project: Path,
) -> None:
    message = _broken(demo_project, "          squares:", "          off:")
    assert (
        "journal.yml:13: labs.demo.notebooks.square.experiments.off: `off` is read by YAML as false: "
        in message
    )
    assert "quote it, 'off'" in message and "valid string" not in message
    message = _broken(demo_project, "      summary:", "      yes:")
    assert "labs.demo.notebooks.yes: `yes` is read by YAML as true: quote it, 'yes'" in message
    quoted = (
        (demo_project / "journal.yml").read_text().replace(" off:", " 'off':").replace(" yes:", " 'yes':")
    )
    (demo_project / "journal.yml").write_text(quoted)
    assert {run.experiment for run in load_plan(demo_project / "journal.yml").runs("quick")} == {"off", "yes"}


def test_unknown_profile_in_override_and_on_the_command_line(demo_project: Path) -> None:
    message = _broken(demo_project, "              quick: {grid:", "              fast: {grid:")
    assert "profiles.fast: no profile named 'fast'" in message
    demo_project.joinpath("journal.yml").write_text(
        demo_project.joinpath("journal.yml").read_text().replace("fast:", "quick:")
    )
    with pytest.raises(PlanError, match="unknown profile 'huge'"):
        load_plan(demo_project / "journal.yml").runs("huge")


def test_seed_may_not_be_a_parameter_and_inputs_must_exist(demo_project: Path) -> None:
    message = _broken(demo_project, "grid: {x: [1.0, 2.0, 3.0]}", "grid: {x: [1.0], seed: [3]}")
    assert "seeds come from 'seeds'" in message
    message = _broken(demo_project, "inputs: [square]", "inputs: [circle]")
    assert "'circle' is not another notebook of lab 'demo'" in message


def test_unknown_dataset_is_rejected(demo_project: Path) -> None:
    message = _broken(
        demo_project,
        "        path: notebooks/square.ipynb",
        "        path: notebooks/square.ipynb\n        data: [mnist_digits]",
    )
    assert "unknown dataset 'mnist_digits'" in message


@pytest.mark.slow
def test_a_notebook_without_kernelspec_metadata_is_read_and_runs(demo_project: Path) -> None:
    """A notebook made with nbformat.v4.new_notebook() has no kernelspec; it runs in the project's
    kernel like any other."""
    import nbformat
    from rich.console import Console

    from labjournal.results.store import ResultsStore
    from labjournal.run.request import RunRequest
    from labjournal.run.scheduler import run_plan

    path = demo_project / "notebooks" / "square.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    del notebook.metadata["kernelspec"]
    notebook.metadata.pop("language_info", None)
    nbformat.write(notebook, str(path))
    plan = load_plan(demo_project / "journal.yml")
    request = RunRequest.for_plan(plan, profile="quick", console=Console(quiet=True))
    summary = run_plan(request, ResultsStore(demo_project / "results"))
    assert (summary.executed, summary.failed) == (3, 0)


def test_a_notebook_without_a_parameters_cell_gets_one_message_saying_how_to_tag_it(
    demo_project: Path,
) -> None:
    import nbformat

    path = demo_project / "notebooks" / "square.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("tags", None)
    nbformat.write(notebook, str(path))
    with pytest.raises(PlanError) as caught:
        load_plan(demo_project / "journal.yml")
    assert len(caught.value.problems) == 1, caught.value.problems
    (problem,) = caught.value.problems
    assert "journal.yml:11: labs.demo.notebooks.square.path:" in problem
    assert "square.ipynb has no cell tagged 'parameters'" in problem and "property inspector" in problem
    assert "declares no" not in problem  # not the misleading "declares no 'seed' parameter"


def test_the_same_problem_is_reported_once() -> None:
    error = PlanError(
        "journal.yml", ["journal.yml:3: a: broken", "journal.yml:3: a: broken", "journal.yml:4: b: x"]
    )
    assert str(error).count("a: broken") == 1 and error.problems == [
        "journal.yml:3: a: broken",
        "journal.yml:4: b: x",
    ]


def test_a_lab_page_that_does_not_exist_is_reported(demo_project: Path) -> None:
    (demo_project / "journal.yml").write_text(
        (demo_project / "journal.yml").read_text().replace("page: demo.qmd", "page: lab04.qmd")
    )
    with pytest.raises(PlanError, match=r"journal.yml:8: labs.demo.page: report/lab04.qmd does not exist"):
        load_plan(demo_project / "journal.yml")


def test_a_notebook_without_seed_is_told_what_to_add_and_where(demo_project: Path) -> None:
    from conftest import SQUARE_CELL, write_notebook

    write_notebook(
        demo_project / "notebooks" / "square.ipynb", "x = 1.0", SQUARE_CELL.replace("seed / 10", "0")
    )
    with pytest.raises(PlanError) as caught:
        load_plan(demo_project / "journal.yml")
    (problem,) = caught.value.problems
    assert "journal.yml:11: labs.demo.notebooks.square.path:" in problem
    assert "add `seed = 0` to its cell tagged 'parameters'" in problem and "setup(seed)" in problem


def test_datasets_pythonpath_and_deps_are_checked_at_their_lines(demo_project: Path) -> None:
    plan = demo_project / "journal.yml"
    declared = "pythonpath: [shared]\ndata:\n  points: {path: data/points.csv}\n  web: {url: 'http://x/y.csv'}\nlabs:"
    deps = "path: notebooks/square.ipynb\n        deps: [notebooks/*.csv]"
    plan.write_text(
        plan.read_text().replace("labs:", declared, 1).replace("path: notebooks/square.ipynb", deps)
    )
    lines = plan.read_text().splitlines()
    with pytest.raises(PlanError) as caught:
        load_plan(plan)
    (problem,) = caught.value.problems
    web = lines.index("  web: {url: 'http://x/y.csv'}") + 1
    assert f"journal.yml:{web}: data.web:" in problem
    assert "a url dataset needs its sha256" in problem
    plan.write_text(
        plan.read_text().replace("'http://x/y.csv'}", "'http://x/y.csv', sha256: '" + "a" * 64 + "'}")
    )
    with pytest.raises(PlanError) as caught:
        load_plan(plan)
    problems = "\n".join(caught.value.problems)
    assert (
        f"journal.yml:{lines.index('pythonpath: [shared]') + 1}: pythonpath.0: shared is not a folder"
        in problems
    )
    points = lines.index("  points: {path: data/points.csv}") + 1
    assert f"journal.yml:{points}: data.points.path: data/points.csv does not exist" in problems
    assert "deps.0: 'notebooks/*.csv' matches no file or folder of the project" in problems
