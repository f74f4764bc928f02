"""Property-based tests (hypothesis) of plan loading and cache keys."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from conftest import write_notebook
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labjournal.errors import PlanError
from labjournal.plan.model import load_plan
from labjournal.run.cache import plan_keys

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=4, unique=True)
grids = st.fixed_dictionaries({"a": values, "b": values})
seeds = st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=3, unique=True)


def _project(root: Path, grid: dict[str, list[int]], seed_list: list[int]) -> Path:
    write_notebook(root / "nb.ipynb", "a = 0\nb = 0\nseed = 0", "print(a + b)")
    write_notebook(root / "summary.ipynb", "label = 'x'", "print(label)")
    plan = {
        "profiles": {"default": {"seeds": seed_list}},
        "labs": {
            "lab": {
                "title": "Lab",
                "page": "lab.qmd",
                "notebooks": {
                    "nb": {"path": "nb.ipynb", "experiments": {"grid": {"grid": grid}}},
                    "summary": {"path": "summary.ipynb", "inputs": ["nb"]},
                },
            }
        },
    }
    (root / "journal.yml").write_text(yaml.safe_dump(plan))
    (root / "report").mkdir(exist_ok=True)
    (root / "report" / "lab.qmd").write_text("---\ntitle: Lab\n---\n")
    return root


def _keys(root: Path) -> dict[tuple, str]:
    plan = load_plan(root / "journal.yml")
    return {
        (item.spec.experiment, tuple(sorted(item.spec.params.items())), item.spec.seed): item.key
        for item in plan_keys(plan, plan.runs("default"), {})
    }


@FAST
@given(grid=grids, seed_list=seeds)
def test_the_same_plan_always_gives_the_same_distinct_keys(grid, seed_list) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = _project(Path(folder), grid, seed_list)
        first, second = _keys(root), _keys(root)
    assert first == second
    assert len(first) == len(grid["a"]) * len(grid["b"]) * len(seed_list) + 1
    assert len(set(first.values())) == len(first)  # every run has its own key


@FAST
@given(grid=grids, seed_list=seeds, data=st.data())
def test_changing_one_grid_value_changes_exactly_its_runs_and_the_summary(grid, seed_list, data) -> None:
    name = data.draw(st.sampled_from(["a", "b"]))
    old = data.draw(st.sampled_from(grid[name]))
    new = data.draw(st.integers(min_value=51, max_value=99))
    changed = {**grid, name: [new if v == old else v for v in grid[name]]}
    with tempfile.TemporaryDirectory() as folder:
        before = _keys(_project(Path(folder) / "before", grid, seed_list))
        after = _keys(_project(Path(folder) / "after", changed, seed_list))
    for (experiment, params, seed), key in before.items():
        if experiment == "summary":
            assert after[(experiment, params, seed)] != key  # it reads the changed runs
        elif dict(params)[name] == old:
            assert key not in after.values()
        else:
            assert after[(experiment, params, seed)] == key


@FAST
@given(text=st.text(max_size=200))
@example(text="=")  # YAML 1.1's value tag: composed, then failed when loaded (a traceback)
@example(text="lr: =\n")
def test_any_text_is_a_valid_plan_or_a_plan_error(text) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.yml"
        path.write_text(text, encoding="utf-8")
        try:
            load_plan(path)
        except PlanError as error:
            assert str(path) in str(error)
