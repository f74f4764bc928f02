"""Cache keys: stable for unchanged inputs, changed exactly where an input changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labjournal.data.datasets import DataSource
from labjournal.plan.model import load_plan
from labjournal.run import codedeps
from labjournal.run.cache import key_inputs, notebook_code_hash, plan_keys, run_key

FIXED_INPUTS = dict(
    code_hash="c",
    parameters={"lr": 0.1, "seed": 0},
    data_fingerprints={"d": "1"},
    input_keys=[],
    code={"labjournal/kit/record.py": "k"},
    deps={"data.csv": "d"},
    environment={"torch": "2"},
)
PINNED_KEY = (
    "7be84db35a9d41414c0fc4cfa30a3f53c2ba12f63660a8d0512be983212e952f"  # KEY_FORMAT 3: libraries by reads
)
SOURCE = DataSource("fashion_mnist", "sample", "sample", "/data", "f" * 64)


def _keys(project: Path, profile: str = "default", fingerprint: str = "f" * 64) -> dict[str, str]:
    plan = load_plan(project / "journal.yml")
    sources = {"fashion_mnist": DataSource("fashion_mnist", "sample", "sample", "/data", fingerprint)}
    return {item.spec.label: item.key for item in plan_keys(plan, plan.runs(profile), sources)}


KEYS_SCRIPT = """
import json, sys
from pathlib import Path
from labjournal.data.datasets import DataSource
from labjournal.plan.model import load_plan
from labjournal.run.cache import plan_keys
plan = load_plan(Path(sys.argv[1]) / "journal.yml")
sources = {"fashion_mnist": DataSource("fashion_mnist", "sample", "sample", "/data", "f" * 64)}
print(json.dumps({item.spec.label: item.key for item in plan_keys(plan, plan.runs("default"), sources)}))
"""


def _keys_in_a_fresh_process(project: Path, hash_seed: str, cwd: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, "-c", KEYS_SCRIPT, str(project)], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@pytest.mark.slow
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


SHOWCASE = Path(__file__).resolve().parents[1]


def _showcase_keys(sources: dict[str, DataSource] | None = None) -> dict[str, str]:
    plan = load_plan(SHOWCASE / "journal.yml")
    keyed = plan_keys(plan, plan.runs("quick"), sources or {"fashion_mnist": SOURCE})
    return {item.spec.label: item.key for item in keyed}


def test_a_kit_edit_changes_the_keys_of_the_notebooks_that_import_it_and_bytecode_does_not(
    tmp_path: Path, monkeypatch
) -> None:
    """The kit is hashed module by module, as imported: editing `kit/plots.py` re-runs the summaries
    (which draw with it) and nothing else; editing `kit/record.py` (imported by all) re-runs all."""
    engine = tmp_path / "engine"
    shutil.copytree(
        codedeps.ENGINE_ROOT / "labjournal",
        engine / "labjournal",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.setattr(codedeps, "ENGINE_ROOT", engine)
    before = _showcase_keys()
    kit = engine / "labjournal" / "kit"
    (kit / "__pycache__").mkdir()
    (kit / "__pycache__" / "plots.cpython-311.pyc").write_bytes(b"compiled")
    assert _showcase_keys() == before  # bytecode is not source
    (kit / "plots.py").write_text((kit / "plots.py").read_text() + "\n# a comment is an edit\n")
    after = _showcase_keys()
    changed = {label for label in before if before[label] != after[label]}
    assert changed == {"lab01/summary", "lab02/summary", "lab03/summary"}
    (kit / "record.py").write_text((kit / "record.py").read_text() + "\n# an edit\n")
    assert all(before[label] != key for label, key in _showcase_keys().items())


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
        {"code": {"labjournal/kit/record.py": "k2"}},
        {"code": {"labjournal/kit/record.py": "k", "helpers.py": "h"}},
        {"deps": {"data.csv": "d2"}},
        {"environment": {"torch": "3"}},
    ]
    for change in variants:
        assert run_key(key_inputs(**{**base, **change})) != reference, change
    # key order and dict order never matter
    reordered = {**base, "parameters": {"seed": 0, "lr": 0.1}}
    assert run_key(key_inputs(**reordered)) == reference


def test_data_fingerprint_reaches_only_notebooks_that_declare_data() -> None:
    first = _showcase_keys()
    second = _showcase_keys({"fashion_mnist": DataSource("fashion_mnist", "full", "full", "/data", "0" * 64)})
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
