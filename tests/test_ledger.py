"""The ledger of claim encodings is written by `run` and `report` only; `check`, `render` and
`preview` read it and show a changed encoding as pending; files labjournal writes never make the
project "+dirty". Results are faked (an index, no notebook runs)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import index_row, make_demo_project, results_index, write_notebook
from rich.console import Console

from labjournal.claims.ledger import LEDGER_FILE
from labjournal.cli import main
from labjournal.commands import preview as preview_command
from labjournal.commands.options import ServeOptions
from labjournal.errors import RunsFailedError
from labjournal.pipeline import report as pipeline
from labjournal.project import Project
from labjournal.render.journal import render_journal
from labjournal.run.options import RunOptions
from labjournal.run.provenance import project_commit

QUIET = Console(quiet=True)
EXPECT = "{greater: {ref: demo/squares, metric: square, margin: 0.01, at: {x: 2.0}, than: {x: 1.0}}}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The demo project with results for its lab (three seeds) and one claim on them."""
    root = make_demo_project(tmp_path / "p")
    rows = [
        index_row("demo", "squares", {"x": x}, seed, {"square": x * x + seed / 100}, notebook="square")
        for x in (1.0, 2.0)
        for seed in range(3)
    ]
    (root / "results").mkdir()
    (root / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    (root / "report" / "claims.yml").write_text(
        f"claims:\n  c:\n    lab: demo\n    sentence: Squares grow.\n    expect: {EXPECT}\n"
    )
    return root


def _revise(project: Path) -> None:
    claims = project / "report" / "claims.yml"
    claims.write_text(claims.read_text().replace("margin: 0.01", "margin: 0.5"))


def _pretend_run(monkeypatch: pytest.MonkeyPatch, fails: bool = False) -> None:
    """`labjournal run` with its plan already executed (the faked results stay as they are)."""

    def run_request(request, store, report_dir):
        if fails:
            raise RunsFailedError("These runs failed")

    monkeypatch.setattr(pipeline, "run_request", run_request)


def test_check_never_writes_the_ledger_and_shows_the_pending_revision(project: Path, capsys) -> None:
    ledger = project / "report" / LEDGER_FILE
    assert main(["--project", str(project), "check", "--json"]) == 0
    (claim,) = json.loads(capsys.readouterr().out)["claims"]
    assert not ledger.exists() and "not in the ledger yet" in claim["pending"]
    pipeline.record_claim_encodings(Project(project), QUIET)  # what run and report do
    recorded = ledger.read_bytes()
    _revise(project)  # an intermediate save while editing
    assert main(["--project", str(project), "check"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "Encoding pending: it differs from the one recorded (expect.greater.margin: 0.01 → 0.5)" in out
    assert "revised after seeing results on" not in out
    assert main(["--project", str(project), "check", "--json"]) == 0
    (claim,) = json.loads(capsys.readouterr().out)["claims"]
    assert claim["revisions"] == [] and "labjournal run or report" in claim["pending"]
    assert ledger.read_bytes() == recorded


def test_render_never_writes_the_ledger_and_the_claims_page_shows_the_pending_revision(
    project: Path,
) -> None:
    (project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\nSquares grow. {{ claim('c') }}\n"
    )
    (project / "report" / "claims.qmd").write_text("---\ntitle: Claims\n---\n\n{{ claims_table() }}\n")
    quarto = project / "_quarto.yml"
    quarto.write_text(quarto.read_text() + "      - claims.qmd\n")
    write_notebook(project / "results" / "runs" / "x" / "notebook.ipynb", "x = 1.0")  # every row's
    ledger = project / "report" / LEDGER_FILE
    out, _ = render_journal(Project(project))
    assert (
        not ledger.exists() and "Encoding pending: not in the ledger yet" in (out / "claims.qmd").read_text()
    )
    pipeline.record_claim_encodings(Project(project), QUIET)
    recorded = ledger.read_bytes()
    _revise(project)
    out, _ = render_journal(Project(project))
    page = (out / "claims.qmd").read_text()
    assert "Encoding pending: it differs from the one recorded" in page
    assert "revised after seeing results on" not in page
    assert ledger.read_bytes() == recorded


def test_run_records_the_revision_and_preview_does_not(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    ledger = project / "report" / LEDGER_FILE
    _pretend_run(monkeypatch)
    captured = {}
    monkeypatch.setattr(
        preview_command, "serve_and_watch", lambda project, console, run, port: captured.update(run=run)
    )
    preview_command.main(Project(project), ServeOptions(), QUIET)
    captured["run"]()  # preview runs the plan as report does, but records nothing
    assert not ledger.exists()
    pipeline.run_journal(Project(project), RunOptions(), QUIET)
    (first,) = json.loads(ledger.read_text())["c"]
    assert "revised_after_results" not in first and first["against"].startswith("default results")
    _revise(project)
    captured["run"]()
    assert len(json.loads(ledger.read_text())["c"]) == 1
    _pretend_run(monkeypatch, fails=True)  # failed runs do not stop the others' claims being recorded
    with pytest.raises(RunsFailedError):
        pipeline.run_journal(Project(project), RunOptions(), QUIET)
    history = json.loads(ledger.read_text())["c"]
    assert len(history) == 2 and history[1]["revised_after_results"] is True
    assert history[1]["changes"] == "expect.greater.margin: 0.01 → 0.5"
    assert main(["--project", str(project), "check", "--json"]) == 0
    (claim,) = json.loads(capsys.readouterr().out)["claims"]
    assert claim["pending"] is None and "revised after seeing results on" in claim["revisions"][0]
    recorded = ledger.read_bytes()
    _pretend_run(monkeypatch)
    pipeline.run_journal(Project(project), RunOptions(), QUIET)  # nothing changed: nothing written
    assert ledger.read_bytes() == recorded


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)
    return run.stdout.strip()


def test_files_labjournal_writes_never_make_the_commit_dirty(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "journal"  # a journal in a folder of a larger repository
    written = [
        f"report/{LEDGER_FILE}",
        "results/index.json",
        ".labjournal/render.json",
        "experiments/lab01/.labjournal-scratch/metrics.json",
        "_site/index.html",
        "_build-quick/journal.pdf",
    ]
    for name in [*written, "report/claims.yml", "experiments/lab01/model.py", "../README.md"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("before\n")
    _git(root.parent, "init", "-q")
    _git(root.parent, "add", "-A")
    _git(root.parent, "commit", "-qm", "sources and outputs")
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    for name in written:
        (root / name).write_text("after\n")
    assert project_commit(root) == commit
    for source in ("experiments/lab01/model.py", "../README.md", "report/claims.yml"):
        (root / source).write_text("after\n")
        assert project_commit(root) == f"{commit}+dirty", source
        _git(root, "checkout", "-q", "--", source)


def _check_json(project: Path, capsys) -> dict:
    main(["--project", str(project), "check", "--json"])
    return json.loads(capsys.readouterr().out)


def test_a_deleted_ledger_is_reported_and_its_loss_recorded_not_silently_restarted(
    project: Path, capsys
) -> None:
    ledger = project / "report" / LEDGER_FILE
    pipeline.record_claim_encodings(Project(project), QUIET)
    assert _check_json(project, capsys)["ledger_problem"] is None
    ledger.unlink()
    payload = _check_json(project, capsys)
    assert (
        "report/claims.ledger.json was deleted after labjournal run or report wrote it"
        in payload["ledger_problem"]
    )
    assert main(["--project", str(project), "check"]) == 0
    assert "The claims ledger: report/claims.ledger.json was deleted" in " ".join(
        capsys.readouterr().out.split()
    )
    pipeline.record_claim_encodings(Project(project), QUIET)  # the next run or report
    (entry,) = json.loads(ledger.read_text())["c"]
    assert entry["ledger_event"] == "the ledger was deleted"
    payload = _check_json(project, capsys)
    (claim,) = payload["claims"]
    assert payload["ledger_problem"] is None and claim["pending"] is None
    assert "because the ledger was deleted while results existed" in claim["revisions"][0]


def test_a_rewritten_ledger_is_reported_on_the_claims_page(project: Path) -> None:
    (project / "report" / "demo.qmd").write_text(
        "---\ntitle: Demo lab\n---\n\nSquares grow. {{ claim('c') }}\n"
    )
    (project / "report" / "claims.qmd").write_text("---\ntitle: Claims\n---\n\n{{ claims_table() }}\n")
    quarto = project / "_quarto.yml"
    quarto.write_text(quarto.read_text() + "      - claims.qmd\n")
    write_notebook(project / "results" / "runs" / "x" / "notebook.ipynb", "x = 1.0")
    pipeline.record_claim_encodings(Project(project), QUIET)
    ledger = project / "report" / LEDGER_FILE
    history = json.loads(ledger.read_text())
    history["c"][0]["encoding"]["expect"]["greater"]["margin"] = 0.5  # history rewritten by hand
    ledger.write_text(json.dumps(history))
    out, _ = render_journal(Project(project))
    page = " ".join((out / "claims.qmd").read_text().split())
    assert (
        "**The claims ledger:** report/claims.ledger.json was rewritten outside labjournal run or report"
        in page.replace("\\", "")
    )


def _rewrite_index(project: Path, design: dict | None = None, threshold: float = 0.75) -> None:
    rows = [
        index_row(
            "demo",
            "squares",
            {"x": x, "threshold": threshold},
            seed,
            {"square": x * x + seed / 100},
            notebook="square",
        )
        for x in (1.0, 2.0)
        for seed in range(3)
    ]
    extra = {"design": design} if design else {}
    (project / "results" / "index.json").write_text(
        json.dumps(results_index(rows, profile="default", **extra))
    )


def test_the_design_the_thresholds_the_sentence_and_familywise_are_recorded(project: Path, capsys) -> None:
    ledger = project / "report" / LEDGER_FILE
    _rewrite_index(project, {"looks": [3, 5, 7], "alpha": 0.05})
    pipeline.record_claim_encodings(Project(project), QUIET)
    (first,) = json.loads(ledger.read_text())["c"]
    assert first["plan"] == {
        "design": {"looks": [3, 5, 7], "cap": 7, "alpha": 0.05, "boundary": "pocock"},  # saved without one
        "params": {"demo/squares": {"threshold": 0.75}},
    }
    assert first["encoding"]["sentence"] == "Squares grow." and first["encoding"]["familywise"] == "holm"
    _rewrite_index(project, {"looks": [3, 5, 7, 9], "alpha": 0.05}, threshold=0.7)  # the plan changed
    (claim,) = _check_json(project, capsys)["claims"]
    assert "plan.design.cap: 7 → 9" in claim["pending"]
    assert "plan.params.demo/squares.threshold: 0.75 → 0.7" in claim["pending"]
    pipeline.record_claim_encodings(Project(project), QUIET)
    claims = project / "report" / "claims.yml"
    claims.write_text(
        "familywise: none\n" + claims.read_text().replace("Squares grow.", "Squares grow fast.")
    )
    pipeline.record_claim_encodings(Project(project), QUIET)
    history = json.loads(ledger.read_text())["c"]
    assert len(history) == 3 and all(e["revised_after_results"] for e in history[1:])
    assert "encoding.familywise" not in history[2]["changes"]  # paths are the encoding's own
    assert (
        "familywise: holm → none" in history[2]["changes"]
        and "sentence: Squares grow. → Squares grow fast." in history[2]["changes"]
    )
    (claim,) = _check_json(project, capsys)["claims"]
    assert (
        len(claim["revisions"]) == 2
        and "the design's looks were changed (3, 5, 7 → 3, 5, 7, 9)" in claim["revisions"][0]
    )
