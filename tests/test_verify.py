"""`labjournal verify`: runs re-executed in scratch and compared with the journal; the journal
digest on the PDF and in the site."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SQUARE_CELL, write_notebook

from labjournal.cli import main
from labjournal.plan.tolerance import Tolerance, Verify
from labjournal.records import IndexRow
from labjournal.run import reproducible
from labjournal.run.compare import Comparison
from labjournal.run.verify import pick

UNSEEDED_CELL = (
    SQUARE_CELL + '\nimport numpy as np\nrecord.scalar("draw", float(np.random.default_rng().random()))\n'
)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _ran(project: Path, monkeypatch) -> Path:
    monkeypatch.chdir(project)
    assert main(["run", "-j", "2"]) == 0
    return project / "results"


@pytest.mark.slow
def test_a_fresh_journal_verifies_a_sample_and_leaves_results_unchanged(demo_project, monkeypatch, capsys):
    results = _ran(demo_project, monkeypatch)
    before = snapshot(results)
    capsys.readouterr()
    assert main(["verify", "--sample", "2", "-j", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 reproduced exactly" in out
    assert "seed 0" in out  # the sample's seed is stated
    assert snapshot(results) == before  # byte for byte, no file added or removed
    assert main(["verify", "--sample", "1", "--json", "-j", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["reproduced exactly"] == 1 and report["runs"][0]["verify_s"] > 0
    assert snapshot(results) == before


@pytest.mark.slow
def test_a_metric_edited_by_hand_makes_verify_all_fail_naming_the_run_and_value(
    demo_project, monkeypatch, capsys
):
    results = _ran(demo_project, monkeypatch)
    index = json.loads((results / "index.json").read_text())
    row = next(r for r in index["runs"] if r["notebook"] == "square" and r["params"]["x"] == 2.0)
    metrics = results / row["run_dir"] / "metrics.json"
    edited = json.loads(metrics.read_text())
    edited["scalars"]["square"] = 4.5  # 2 * 2 is 4
    metrics.write_text(json.dumps(edited))
    capsys.readouterr()
    assert main(["verify", "--all", "-j", "2"]) == 1
    out = capsys.readouterr().out
    label = f"demo/squares x=2.0 seed={row['seed']}"
    assert f"{label} ({row['key'][:8]}): differs" in out
    assert "square: 4.5 in the journal, 4 now" in out
    assert "metrics.json was edited after the run" in out
    assert "6 of 7 reproduced exactly, 1 differs" in out


@pytest.mark.slow
def test_stale_results_are_refused_with_the_reason(demo_project, monkeypatch, capsys):
    _ran(demo_project, monkeypatch)
    write_notebook(
        demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", SQUARE_CELL + "\n# edited"
    )
    capsys.readouterr()
    assert main(["verify", "--sample", "2"]) == 2
    err = capsys.readouterr().err
    assert "stale against the sources" in err and "demo/square" in err


@pytest.mark.slow
def test_an_unseeded_generator_is_reported_not_reproducible_by_twice(demo_project, monkeypatch, capsys):
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", UNSEEDED_CELL)
    _ran(demo_project, monkeypatch)
    capsys.readouterr()
    assert main(["verify", "--twice", "--notebook", "demo/square", "--sample", "1", "-j", "2"]) == 1
    out = capsys.readouterr().out
    assert ": not reproducible" in out and "two executions of the same key differ" in out
    assert "metrics.json draw:" in out
    recorded = reproducible.read(demo_project)
    assert list(recorded) == ["demo/square"] and len(recorded["demo/square"]["keys"]) == 1
    rows = [
        IndexRow.model_validate(r)
        for r in json.loads((demo_project / "results/index.json").read_text())["runs"]
    ]
    assert "not reproducible" in reproducible.flags(demo_project, rows)["demo/square"]
    assert reproducible.flags(demo_project, [r for r in rows if r.notebook == "summary"]) == {}


@pytest.mark.slow
def test_a_pdf_built_from_other_results_fails_the_digest_check(demo_project, monkeypatch, capsys):
    monkeypatch.chdir(demo_project)
    assert main(["report", "-j", "2", "--engine", "pandoc"]) == 0
    site = demo_project / "_site"
    digest = json.loads((site / "journal-digest.json").read_text())["digest"]
    old_pdf = demo_project.parent / "old.pdf"
    shutil.copy(site / "journal.pdf", old_pdf)
    capsys.readouterr()
    assert main(["verify", "--pdf", str(old_pdf)]) == 0
    assert f"matches these results: journal digest {digest[:32]}" in capsys.readouterr().out
    write_notebook(
        demo_project / "notebooks" / "square.ipynb",
        "x = 1.0\nseed = 0",
        SQUARE_CELL.replace("x * x", "x * x + 1"),
    )
    assert main(["report", "-j", "2", "--engine", "pandoc"]) == 0
    capsys.readouterr()
    assert main(["verify", "--pdf", str(old_pdf)]) == 1
    out = capsys.readouterr().out
    assert "does NOT match these results (these differ: results, pages)" in out  # the title page's parts
    assert main(["verify", "--pdf", str(site)]) == 0  # the published folder of these results
    assert main(["verify", "--pdf", str(site / "journal.pdf")]) == 0


def _items(notebooks: dict[str, int]) -> list:
    from types import SimpleNamespace

    return [
        SimpleNamespace(spec=SimpleNamespace(lab="lab", notebook=name), key=f"{name}{i}")
        for name, count in notebooks.items()
        for i in range(count)
    ]


def test_a_sample_covers_every_notebook_quoted_first_before_any_gets_a_second():
    items = _items({"a": 5, "b": 1, "c": 3, "d": 2})
    for seed in range(20):
        picked = pick(items, 4, seed, first={"lab/c", "lab/d"})
        assert sorted(i.spec.notebook for i in picked) == ["a", "b", "c", "d"]
        assert {i.spec.notebook for i in picked[:2]} == {"c", "d"}
        assert pick(items, 4, seed, first=set()) == pick(items, 4, seed, first=set())  # the seed decides
        six = [i.spec.notebook for i in pick(items, 6, seed, first=set())]
        assert sorted(six[:4]) == ["a", "b", "c", "d"] and "b" not in six[4:]
    assert len({tuple(i.key for i in pick(items, 4, s, set())) for s in range(20)}) > 1


def test_values_are_exact_on_the_same_platform_and_within_tolerance_across_platforms():
    settings = Verify(metrics={"acc*": Tolerance(abs=0.01)}, measured=["*_s"])
    recorded = {"accuracy": 0.9, "loss": 1.0, "epoch_s": 3.0, "count": 4}
    now = {"accuracy": 0.905, "loss": 1.0 + 1e-9, "epoch_s": 9.0, "count": 4}
    same = Comparison(settings, tolerant=False).metrics(recorded, now)
    assert [(d.what, d.within) for d in same] == [("metric accuracy", False), ("metric loss", False)]
    other = Comparison(settings, tolerant=True).metrics(recorded, now)
    assert all(d.within for d in other)
    assert not Comparison(settings, tolerant=True).metrics({"accuracy": 0.9}, {"accuracy": 0.92})[0].within
    assert Comparison(settings, tolerant=False).metrics({"x": float("nan")}, {"x": float("nan")}) == []
    assert str(Verify().tolerance) == "abs 1e-06, rel 0.0001"  # the stated default


def test_the_claims_page_flags_a_claim_resting_on_a_run_verify_found_not_reproducible(tmp_path: Path):
    from types import SimpleNamespace

    from conftest import index_row, results_index

    from labjournal.claims.judge import attach_seed_warnings
    from labjournal.results.lookup import Results

    rows = [
        index_row("demo", "squares", {"x": 1.0}, seed, {"square": 1.0}, notebook="square") for seed in (0, 1)
    ]
    results = Results(results_index(rows), tmp_path / "results")
    claim = SimpleNamespace(refs=["demo/squares"], notes=[])
    attach_seed_warnings([claim], results)
    assert claim.notes == []
    moved = {"demo/square": {"keys": [rows[1]["key"]], "moved": ["metrics.json draw"]}}
    reproducible.update(tmp_path, {"demo/square": False}, moved)
    attach_seed_warnings([claim], results)
    assert claim.notes and claim.notes[0].startswith("demo/square: not reproducible")
    assert "metrics.json draw" in claim.notes[0]
    reproducible.update(tmp_path, {"demo/square": True}, {})  # verified again, and it repeated
    claim.notes.clear()
    attach_seed_warnings([claim], results)
    assert claim.notes == []


def test_runtime_setup_makes_torch_deterministic_and_says_what_it_cannot(monkeypatch):
    torch = pytest.importorskip("torch")
    from labjournal.kit import record, runtime

    monkeypatch.setattr(record, "device", lambda name: None)  # no metrics.json written here
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.setenv("LABJOURNAL_DEVICE", "cpu")
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # setup sets it: undone after the test
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    # setup changes this process's global state; the tests after see it as it was.
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    cudnn = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    generators = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        runtime.setup(3)
        first = torch.rand(4)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        runtime.setup(3)
        assert torch.equal(first, torch.rand(4))
        said = " ".join(runtime.not_controlled())
        assert "DataLoader workers" in said and "PYTHONHASHSEED" in said
        monkeypatch.setenv("PYTHONHASHSEED", "0")
        runtime.setup(3)
        assert "PYTHONHASHSEED" not in " ".join(runtime.not_controlled())
        assert torch.equal(runtime.generator(3).initial_seed() * torch.ones(1), 3 * torch.ones(1))
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        random.setstate(generators[0])
        np.random.set_state(generators[1])
        torch.set_rng_state(generators[2])
