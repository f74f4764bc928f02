"""One `report` runs the claims' design to its end: every claim decided, futile or at its seed cap,
with no time budget unless one is asked for; a second executes nothing; an explicit budget's
clock starts after the first pass, the claims it stops say so, and a later call continues them
to the same end. The runs are faked (each grid point's value is a fixed function of its seed) and
so is the clock, so the tests say what the rule does, not how fast this machine is."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import REPO, index_row, make_demo_project, results_index
from rich.console import Console

from labjournal.build import noop
from labjournal.pipeline import decide
from labjournal.plan.model import load_plan
from labjournal.plan.schema import read_plan_file
from labjournal.records import Decisions, Index, StopReason
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import RunSummary, read_extra_seeds

SHOWCASE_DECIDE = read_plan_file(REPO / "journal.yml").profiles["default"].decide

CLAIMS = """\
claims:
  clear:
    lab: demo
    sentence: The value grows from x = 1 to x = 2.
    expect: {greater: {ref: demo/squares, metric: noisy, margin: 0.05, at: {x: 2.0}, than: {x: 1.0}}}
  open:
    lab: demo
    sentence: The value grows from x = 2 to x = 3.
    expect: {greater: {ref: demo/squares, metric: noisy, margin: 0.05, at: {x: 3.0}, than: {x: 2.0}}}
"""


def value(x: float, seed: int) -> float:
    """A run's result: 1 higher at x = 2 than at x = 1, the same at x = 2 and x = 3, with noise
    that depends only on the point and the seed."""
    noise = np.random.default_rng([seed, int(10 * x), 7]).normal()
    return min(x, 2.0) + 0.6 * noise


class Fake:
    """A clock and a `run_plan` that "executes" the runs not yet in the index, taking
    `first_pass` seconds for the first call of a report and `per_batch` for each later one."""

    def __init__(self, first_pass: float = 600.0, per_batch: float = 60.0) -> None:
        self.now = 0.0
        self.first_pass, self.per_batch = first_pass, per_batch
        self.calls: list[int] = []  # runs executed by each call of run_plan
        self.summaries: list[bool] = []  # whether each call ran the summaries (or left them waiting)
        self.summarised: int | None = None  # how many grid runs the summaries last read

    def monotonic(self) -> float:
        return self.now

    def run_plan(self, request: RunRequest, store: ResultsStore, kept: object = None) -> RunSummary:
        added = read_extra_seeds(store, request.profile)
        specs = request.plan.runs(request.profile, extra=[p.model_dump() for p in added.points])
        done = {(r["experiment"], json.dumps(r["params"]), r["seed"]) for r in _runs(store)}
        rows, executed = [], 0
        for spec in specs:
            if spec.is_summary:
                continue
            executed += (spec.experiment, json.dumps(spec.params), spec.seed) not in done
            metrics = {"square": spec.params["x"] ** 2, "noisy": value(spec.params["x"], spec.seed)}
            rows.append(index_row(spec.lab, spec.experiment, spec.params, spec.seed, metrics))
        design = added.design or request.plan.schedule(request.profile).to_json()
        store.write_index(Index.model_validate(results_index(rows, profile=request.profile, design=design)))
        self.now += self.per_batch if self.calls and self.calls[-1] != -1 else self.first_pass
        self.calls.append(executed)
        stale = self.summarised != len(rows)
        self.summaries.append(not request.defer_summaries)
        if not request.defer_summaries:
            self.summarised = len(rows)
        deferred = int(stale and request.defer_summaries)
        return RunSummary(planned=len(rows), distinct=len(rows), executed=executed, deferred=deferred)

    def report(self, project: Path, **options: Any) -> Decisions:
        """What `report` runs before rendering: the request of its options, until decided."""
        self.calls.append(-1)  # a new report: its first run_plan is a first pass
        request = RunRequest.for_plan(
            load_plan(project / "journal.yml"), console=Console(quiet=True), **options
        )
        decide.run_request(request, ResultsStore(project / "results"), project / "report")
        return Decisions.model_validate(json.loads((project / "results" / "decisions.json").read_text()))

    def executed(self) -> list[list[int]]:
        """The runs executed by each run_plan call, report by report."""
        reports: list[list[int]] = []
        for count in self.calls:
            reports.append([]) if count == -1 else reports[-1].append(count)
        return reports


def _runs(store: ResultsStore) -> list[dict[str, Any]]:
    return json.loads(store.index_path.read_text())["runs"] if store.index_path.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The demo project whose default profile has the showcase's design (three seeds, `decide:`
    as journal.yml writes it) and two claims: one that more seeds decide, one that stays open."""
    root = make_demo_project(tmp_path / "p")
    plan = root / "journal.yml"
    design = json.dumps(SHOWCASE_DECIDE.model_dump(exclude_none=True))
    plan.write_text(
        plan.read_text().replace(
            "default: {seeds: [0, 1]}", f"default: {{seeds: [0, 1, 2], decide: {design}}}"
        )
    )
    (root / "report" / "claims.yml").write_text(CLAIMS)
    return root


def _seeds(project: Path) -> dict[str, list[int]]:
    added = json.loads((project / "results" / "extra_seeds.json").read_text())["default"]
    return {json.dumps(entry["point"]): entry["seeds"] for entry in added["points"]}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    clock = Fake()
    monkeypatch.setattr(decide, "run_plan", clock.run_plan)
    monkeypatch.setattr(decide, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


def test_the_showcase_and_the_scaffold_run_their_design_with_no_time_budget() -> None:
    for plan_file in (REPO / "journal.yml", REPO / "src" / "labjournal" / "scaffold" / "journal.yml"):
        plan = read_plan_file(plan_file)
        settings = plan.profiles[plan.default_profile].decide
        assert settings is not None and settings.budget_minutes is None, plan_file
        assert settings.max_seeds > len(plan.profiles[plan.default_profile].seeds)


def test_one_report_runs_the_design_to_its_end_and_a_second_executes_nothing(
    project: Path, fake: Fake
) -> None:
    """The first pass takes longer than the old 8-minute budget: it decides nothing about seeds."""
    first = fake.report(project)
    reasons = {claim: d.reason for claim, d in first.claims.items()}
    assert reasons["clear"] is StopReason.DECIDED
    assert reasons["open"] in (StopReason.MAX_SEEDS, StopReason.FUTILITY)
    assert len(fake.executed()[0]) > 3  # the first pass, more than one batch, the summaries
    # the summaries wait for the last batch: they run once, in a last pass that adds no seeds
    assert fake.summaries == [False] * (len(fake.calls) - 2) + [True]
    assert fake.executed()[0][-1] == 0
    seeds = _seeds(project)
    if reasons["open"] is StopReason.MAX_SEEDS:  # at the cap: the design's last look
        assert len(seeds[json.dumps({"x": 3.0})]) + 3 == SHOWCASE_DECIDE.max_seeds
    extra = (project / "results" / "extra_seeds.json").read_text()
    decisions = (project / "results" / "decisions.json").read_text()
    assert not noop.waiting_on_budget(project)  # a complete report: the next one may be the no-op

    second = fake.report(project)
    assert fake.executed()[1] == [0]  # one run_plan, nothing executed, no seeds asked for
    assert fake.summaries[-1] is False  # and the summaries, read the same runs, not run again
    assert second == first
    assert (project / "results" / "extra_seeds.json").read_text() == extra
    assert (project / "results" / "decisions.json").read_text() == decisions


def test_a_budget_counts_after_the_first_pass_and_a_later_report_continues(
    project: Path, fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgeted = fake.report(project, budget=2.5)  # first pass 10 minutes, then batches of 1 minute
    # the first pass and three batches (10 + 3 ≥ 10 + 2.5 minutes), then the summaries
    assert len(fake.executed()[0]) == 5 and fake.summaries[-2:] == [False, True]
    stopped = [d for d in budgeted.claims.values() if d.reason is StopReason.BUDGET]
    assert stopped and all(d.prose.startswith("stopped by the time budget (2.5 minutes") for d in stopped)
    assert noop.waiting_on_budget(project)  # not recorded as complete: the next report continues

    continued = fake.report(project)
    executed = fake.executed()[1]
    assert executed[0] == 0 and sum(executed) > 0  # the seeds added before are not run again
    assert StopReason.BUDGET not in {d.reason for d in continued.claims.values()}
    assert not noop.waiting_on_budget(project)

    # The same end as one report without a budget: a budget delays the design, never changes it.
    other = make_demo_project(tmp_path / "other")
    for name in ("journal.yml", "report/claims.yml"):
        (other / name).write_text((project / name).read_text())
    straight = Fake()
    monkeypatch.setattr(decide, "run_plan", straight.run_plan)
    monkeypatch.setattr(decide, "time", SimpleNamespace(monotonic=straight.monotonic))
    assert straight.report(other) == continued
    assert _seeds(other) == _seeds(project)


def test_a_cap_below_the_profile_seeds_is_refused_in_the_plan(tmp_path: Path) -> None:
    root = make_demo_project(tmp_path / "p")
    plan = root / "journal.yml"
    plan.write_text(
        plan.read_text().replace(
            "default: {seeds: [0, 1]}", "default: {seeds: [0, 1, 2], decide: {max_seeds: 2}}"
        )
    )
    with pytest.raises(Exception, match="max_seeds 2 is below the 3 seeds the profile runs"):
        load_plan(plan)


@pytest.mark.slow
def test_make_report_runs_tiny_notebooks_to_the_cap_and_a_second_report_is_the_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's notebooks for real: `noisy` is 1 higher at x = 2 on every seed, which the sign
    test cannot decide before the cap of five seeds; one report adds the seeds, the table stays
    over the seeds every row ran, and the next report does nothing."""
    from labjournal.cli import main

    root = make_demo_project(tmp_path / "p")
    plan = root / "journal.yml"
    plan.write_text(
        plan.read_text().replace(
            "default: {seeds: [0, 1]}", "default: {seeds: [0, 1, 2], decide: {max_seeds: 5, batch: 2}}"
        )
    )
    (root / "report" / "claims.yml").write_text(CLAIMS.split("  open:")[0])
    report = ["--project", str(root), "report", "--engine", "pandoc", "--jobs", "1"]
    assert main(report) == 0, capsys.readouterr()
    first = capsys.readouterr()
    decisions = Decisions.model_validate(json.loads((root / "results" / "decisions.json").read_text()))
    assert decisions.claims["clear"].reason is StopReason.MAX_SEEDS
    assert _seeds(root) == {json.dumps({"x": 1.0}): [3, 4], json.dumps({"x": 2.0}): [3, 4]}
    assert "Until decided, batch 1:" in first.err and "batch 2" not in first.err
    # the summary waits for the last batch and runs once, on every seed
    assert "1 summary waiting" in first.err
    assert first.err.count(", 1 summary)") == 1 and "(0 grid, 1 summary)" in first.err
    # the passes share their worker: its kernel starts once, in the first pass
    assert [
        line.split(" cold kernel")[0][-1] for line in first.err.splitlines() if "cold kernel" in line
    ] == [
        "1",
        "0",
        "0",
    ]
    page = (root / "_build" / "demo.qmd").read_text()
    assert "over seeds 0–2, the seeds every row ran. Seeds 3, 4 at 2 of 3 grid points" in page

    assert main(report) == 0
    assert "Nothing changed since the last report" in capsys.readouterr().err


def test_the_boundary_is_the_plans_choice_and_reaches_the_saved_design(project: Path, fake: Fake) -> None:
    """`decide: {boundary: pocock}` in journal.yml: the schedule the run stage records and the design
    the claims are judged by are Pocock's (the default is O'Brien-Fleming's)."""
    plan_file = project / "journal.yml"
    assert load_plan(plan_file).schedule("default").boundary == "obrien-fleming"
    text = plan_file.read_text()
    assert '"boundary": "obrien-fleming"' in text  # the fixture writes the showcase's decide: settings
    plan_file.write_text(text.replace('"boundary": "obrien-fleming"', '"boundary": "pocock"'))
    assert load_plan(plan_file).schedule("default").boundary == "pocock"
    fake.report(project)
    saved = json.loads((project / "results" / "extra_seeds.json").read_text())["default"]["design"]
    assert saved["boundary"] == "pocock" and saved["looks"][-1] == SHOWCASE_DECIDE.max_seeds


def test_a_failing_summary_leaves_the_decisions_of_the_grid_runs(
    project: Path, fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summaries run after the last look: one that fails fails the run, but the claims'
    decisions, which read only the grid runs, are saved first (for `check` and the Claims page)."""
    from labjournal.errors import RunsFailedError

    plain = fake.run_plan

    def failing_summaries(request: RunRequest, store: ResultsStore, kept: object = None) -> RunSummary:
        summary = plain(request, store, kept)
        if not request.defer_summaries:
            raise RunsFailedError("These runs failed (executed notebooks kept):\n  demo/summary: boom")
        return summary

    monkeypatch.setattr(decide, "run_plan", failing_summaries)
    with pytest.raises(RunsFailedError, match="demo/summary"):
        fake.report(project)
    assert fake.summaries[-1] is True and fake.summaries.count(True) == 1  # tried once, last
    saved = Decisions.model_validate(json.loads((project / "results" / "decisions.json").read_text()))
    assert saved.claims["clear"].reason is StopReason.DECIDED
