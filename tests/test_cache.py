"""Cache keys: stable for unchanged inputs, changed exactly where an input changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from labjournal import cache as cache_module
from labjournal.cache import key_inputs, notebook_code_hash, run_key
from labjournal.datasets import DataSource
from labjournal.plan import load_plan
from labjournal.scheduler import plan_keys

FIXED_INPUTS = dict(
    code_hash="c",
    parameters={"lr": 0.1, "seed": 0},
    data_fingerprints={"d": "1"},
    input_keys=[],
    kit="k",
    environment={"torch": "2"},
)
PINNED_KEY = "6ffdf412ba8251d2c794dfa28c1cb2f8646c378e206118302ff38ffcaf1e78a0"
SOURCE = DataSource("fashion_mnist", "sample", "sample", "/data", "f" * 64)


def _keys(project: Path, profile: str = "default", fingerprint: str = "f" * 64) -> dict[str, str]:
    plan = load_plan(project / "journal.yml")
    sources = {"fashion_mnist": DataSource("fashion_mnist", "sample", "sample", "/data", fingerprint)}
    return {item.spec.label: item.key for item in plan_keys(plan.runs(profile), sources)}


KEYS_SCRIPT = """
import json, sys
from pathlib import Path
from labjournal.datasets import DataSource
from labjournal.plan import load_plan
from labjournal.scheduler import plan_keys
plan = load_plan(Path(sys.argv[1]) / "journal.yml")
sources = {"fashion_mnist": DataSource("fashion_mnist", "sample", "sample", "/data", "f" * 64)}
print(json.dumps({item.spec.label: item.key for item in plan_keys(plan.runs("default"), sources)}))
"""


def _keys_in_a_fresh_process(project: Path, hash_seed: str, cwd: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, "-c", KEYS_SCRIPT, str(project)], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_keys_are_the_same_in_two_fresh_processes_with_different_hash_seeds(
    demo_project: Path, tmp_path: Path
) -> None:
    """Nothing process-specific (set order, hash randomisation, the working folder) leaks into a
    key: two interpreters with different PYTHONHASHSEED, started in different folders, agree."""
    first = _keys_in_a_fresh_process(demo_project, "1", demo_project)
    second = _keys_in_a_fresh_process(demo_project, "4242", tmp_path)
    assert first == second
    assert len(set(first.values())) == 7  # 3 grid points x 2 seeds + 1 summary
    assert first == _keys(demo_project)  # and this process agrees too


def test_a_key_is_pinned() -> None:
    """A key computed from fixed inputs never drifts between versions by accident (change
    KEY_FORMAT on purpose when the recipe changes)."""
    assert run_key(key_inputs(**FIXED_INPUTS)) == PINNED_KEY


def test_editing_the_kit_changes_every_key_and_its_bytecode_does_not(tmp_path: Path, monkeypatch) -> None:
    kit = tmp_path / "kit"
    shutil.copytree(cache_module.KIT_DIR, kit, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache_module, "KIT_DIR", kit)
    cache_module.kit_hash.cache_clear()
    before = cache_module.kit_hash()
    (kit / "__pycache__").mkdir(exist_ok=True)
    (kit / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"compiled")
    cache_module.kit_hash.cache_clear()
    assert cache_module.kit_hash() == before  # bytecode is not source
    train = kit / "train.py"
    train.write_text(train.read_text() + "\n# a comment is an edit\n")
    cache_module.kit_hash.cache_clear()
    after = cache_module.kit_hash()
    assert after != before
    base = dict(code_hash="c", parameters={}, data_fingerprints={}, input_keys=[], environment={"t": "1"})
    assert run_key(key_inputs(**base, kit=before)) != run_key(key_inputs(**base, kit=after))
    cache_module.kit_hash.cache_clear()


def test_changing_one_grid_value_changes_only_its_runs_and_the_summary(demo_project: Path) -> None:
    before = _keys(demo_project)
    plan_file = demo_project / "journal.yml"
    plan_file.write_text(
        plan_file.read_text().replace("grid: {x: [1.0, 2.0, 3.0]}", "grid: {x: [1.0, 2.0, 4.0]}")
    )
    after = _keys(demo_project)
    unchanged = {label for label in before if label in after and before[label] == after[label]}
    assert unchanged == {f"demo/squares x={x} seed={s}" for x in (1.0, 2.0) for s in (0, 1)}
    assert before["demo/summary"] != after["demo/summary"]  # it reads the changed runs


def test_markdown_edits_do_not_change_keys_but_code_edits_do(demo_project: Path) -> None:
    path = demo_project / "notebooks" / "square.ipynb"
    before = notebook_code_hash(path)
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].source += "\n\nMore explanation."
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nbformat.write(notebook, str(path))
    assert notebook_code_hash(path) == before
    notebook.cells[2].source += "\nrecord.scalar('extra', 1.0)"
    nbformat.write(notebook, str(path))
    assert notebook_code_hash(path) != before


def test_moving_the_parameters_tag_changes_the_key(demo_project: Path) -> None:
    path = demo_project / "notebooks" / "square.ipynb"
    before = notebook_code_hash(path)
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[1].metadata["tags"] = []  # papermill would now inject at the top instead
    nbformat.write(notebook, str(path))
    assert notebook_code_hash(path) != before


def test_every_key_input_matters() -> None:
    base = dict(FIXED_INPUTS)
    reference = run_key(key_inputs(**base))
    variants = [
        {"code_hash": "c2"},
        {"parameters": {"lr": 0.2, "seed": 0}},
        {"parameters": {"lr": 0.1, "seed": 1}},
        {"data_fingerprints": {"d": "2"}},
        {"input_keys": ["x"]},
        {"kit": "k2"},
        {"environment": {"torch": "3"}},
    ]
    for change in variants:
        assert run_key(key_inputs(**{**base, **change})) != reference, change
    # key order and dict order never matter
    reordered = {**base, "parameters": {"seed": 0, "lr": 0.1}}
    assert run_key(key_inputs(**reordered)) == reference


def test_data_fingerprint_reaches_only_notebooks_that_declare_data() -> None:
    plan = load_plan(Path(__file__).resolve().parents[1] / "journal.yml")
    runs = plan.runs("quick")
    first = {item.spec.label: item.key for item in plan_keys(runs, {"fashion_mnist": SOURCE})}
    other = DataSource("fashion_mnist", "full", "full", "/data", "0" * 64)
    second = {item.spec.label: item.key for item in plan_keys(runs, {"fashion_mnist": other})}
    changed = {label for label in first if first[label] != second[label]}
    assert "lab01/gradients seed=0" not in changed  # declares no data
    assert any(label.startswith("lab01/lr_batch") for label in changed)
    assert "lab01/summary" in changed  # its inputs changed


def test_one_configuration_spelt_two_ways_is_one_run(demo_project: Path) -> None:
    # `at_default` leaves x to the notebook's default (1.0); `squares` sets x = 1.0 explicitly.
    plan_file = demo_project / "journal.yml"
    plan_file.write_text(
        plan_file.read_text().replace("      summary:", "          at_default: {}\n      summary:", 1)
    )
    keys = _keys(demo_project)
    assert keys["demo/at_default seed=0"] == keys["demo/squares x=1.0 seed=0"]
    assert keys["demo/at_default seed=1"] == keys["demo/squares x=1.0 seed=1"]
    assert keys["demo/at_default seed=0"] != keys["demo/squares x=2.0 seed=0"]
