"""`labjournal run`: decide which runs need executing, execute them in a process pool, record them.

Grid runs go first; a summary notebook (one with `inputs`) runs after every run it reads has
finished, and is skipped when one of them failed. Runs whose key is already in the store are not
executed. Each worker is a separate `spawn`ed process (forked workers break CUDA) with its share of
the cores, so N workers never oversubscribe the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from labjournal.data.datasets import DataSource
from labjournal.errors import Interrupted, RunsFailedError, WorkerLost
from labjournal.files import atomic_write_json
from labjournal.kit.progress import read as read_progress
from labjournal.names import INPUTS_ENV
from labjournal.records import METRICS, PARAMS, ExtraSeeds, Index, Reads, RunError
from labjournal.results.store import ResultsStore
from labjournal.run.cache import KeyedRun, plan_keys, resolve_sources
from labjournal.run.execute import Job, Outcome
from labjournal.run.executors import Executor, KeptExecutor, make_executor, workers_for
from labjournal.run.index import build_index, merge_lab
from labjournal.run.kernel import ensure_kernelspec
from labjournal.run.placement import interleave, run_environment, shipped_files
from labjournal.run.provenance import project_commit, run_record
from labjournal.run.reads import ReadCheck, ReadScope, reads_of_run
from labjournal.run.request import RunRequest
from labjournal.run.runchecks import recorded_nothing, written_beside
from labjournal.run.summaries import inputs_content, stale_summary, summary_inputs


@dataclass
class RunSummary:
    planned: int = 0
    distinct: int = 0
    executed: int = 0
    cached: int = 0
    failed: int = 0
    skipped: int = 0
    cold_starts: int = 0  # runs that started a kernel of their own (see labjournal.run.warm)
    deferred: int = 0  # summaries to run that wait for a later pass (RunRequest.defer_summaries)
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a notebook lacks (labjournal.run.runchecks)
    silent: dict[str, list[str]] = field(default_factory=dict)  # notebook -> its runs that recorded nothing

    def line(self) -> str:
        return (
            f"{self.planned} planned runs ({self.distinct} distinct): {self.executed} executed, {self.cached} cached, "
            f"{self.failed} failed, {self.skipped} skipped, {self.cold_starts} cold kernel starts, "
            + (
                f"{self.deferred} {'summary' if self.deferred == 1 else 'summaries'} waiting, "
                if self.deferred
                else ""
            )
            + f"in {self.wall_s:.1f} s"
        )


@dataclass
class PlannedRuns:
    """The runs of a request's profile, keyed: every lab's (summaries read across the plan) and
    those `--lab` selects, with the data they read and the design their claims are judged by."""

    keyed: list[KeyedRun]
    selected: list[KeyedRun]
    sources: dict[str, DataSource]
    design: dict[str, Any]
    commit: str  # the project's commit they run at
    scope: ReadScope  # where what a run reads counts as its input (labjournal.run.reads)


def read_extra_seeds(store: ResultsStore, profile: str) -> ExtraSeeds:
    """The seeds `--until-decided` added to a profile (none where it never ran)."""
    return store.read_extra_seeds(profile)


def run_plan(request: RunRequest, store: ResultsStore, kept: KeptExecutor | None = None) -> RunSummary:
    """Execute what the request asks for that is not cached, then write the index (on the
    workers `kept` from an earlier pass where given, else on workers of its own)."""
    started = time.monotonic()
    planned = _planned(request, store)
    request.check_force(planned.selected)
    summary = RunSummary(planned=len(planned.selected), distinct=len({k.key for k in planned.selected}))
    with store.locked(request.options.wait_s):
        todo, deferred = _todo(request, planned, store)
        summary.cached = summary.distinct - len(todo) - len(deferred)
        summary.deferred = len(deferred)
        if todo:
            Execution(request, store, planned, summary, list(todo.values()), kept).run()
        else:
            request.console.print(f"[green]Nothing to execute:[/] all {summary.cached} runs are cached.")
        index = _write_index(request, store, planned)
    for name, problem in index.seed_unused.items():
        summary.warnings.append(f"{name}: {problem}")
    summary.wall_s = time.monotonic() - started
    for warning in summary.warnings:
        request.console.print(f"[yellow]warning:[/] {escape(warning)}")
    request.console.print(summary.line())
    if summary.failed:
        raise RunsFailedError("\n".join(["These runs failed (executed notebooks kept):", *summary.failures]))
    return summary


def _planned(request: RunRequest, store: ResultsStore) -> PlannedRuns:
    plan, profile = request.plan, request.profile
    added = read_extra_seeds(store, profile)
    extra = [entry.model_dump() for entry in added.points]
    all_specs = plan.runs(profile, extra=extra)
    selected_specs = plan.runs(profile, request.lab, extra=extra)
    sources = resolve_sources(
        plan, all_specs, selected_specs, request.settings.data, request.options.data_dir
    )
    keyed = plan_keys(plan, all_specs, sources)
    return PlannedRuns(
        keyed=keyed,
        selected=[k for k in keyed if request.lab is None or k.spec.lab == request.lab],
        sources=sources,
        design=added.design or plan.schedule(profile).to_json(),
        commit=project_commit(plan.root),
        scope=ReadScope.of(plan.root, store.root),
    )


def _todo(
    request: RunRequest, planned: PlannedRuns, store: ResultsStore
) -> tuple[dict[str, KeyedRun], list[KeyedRun]]:
    """The runs to execute: not in the store, forced, or a summary whose inputs changed; grid runs
    first, then the summaries that read them. Where the summaries wait for a later pass, those
    that would run are returned apart."""
    todo: dict[str, KeyedRun] = {}
    deferred: list[KeyedRun] = []
    check = ReadCheck(planned.scope)
    for item in planned.selected:
        if item.key in todo:
            continue
        forced = request.forces(item)
        record, _reason = check.lookup(store, item)
        if (
            record is None
            or forced
            or (item.spec.is_summary and stale_summary(item, record, planned.keyed, todo, store))
        ):
            if item.spec.is_summary and request.defer_summaries:
                deferred.append(item)
            else:
                todo[item.key] = item
    check.files.save()
    return todo, deferred


def _write_index(request: RunRequest, store: ResultsStore, planned: PlannedRuns) -> Index:
    plan, keyed = request.plan, planned.keyed
    index = build_index(plan, store, keyed, request.profile, planned.sources, planned.commit, planned.design)
    if request.lab is not None:
        # a broken index reads as none: it is rebuilt from the store, only this lab's rows survive
        index = merge_lab(store.read_index(), index, request.lab, list(plan.labs))
    store.write_index(index)
    return index


PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeElapsedColumn(),
    TextColumn("eta"),
    TimeRemainingColumn(),
)


class Execution:
    """The runs of one `run_plan` that are not cached, on an executor: submitted (grid runs in
    turn from each notebook, then the summaries whose inputs all succeeded), settled as each
    finishes (recorded in the store, counted in the summary, shown), and drained."""

    def __init__(
        self,
        request: RunRequest,
        store: ResultsStore,
        planned: PlannedRuns,
        summary: RunSummary,
        todo: list[KeyedRun],
        kept: KeptExecutor | None = None,
    ) -> None:
        self.request, self.store, self.planned, self.summary = request, store, planned, summary
        self.console, self.todo, total = request.console, todo, len(todo)
        self.kernel_name = ensure_kernelspec()
        options = request.options
        self.pool: Executor = (
            kept.get()
            if kept
            else make_executor(options.executor, workers_for(options.jobs, total), options.scheduler)
        )
        self.owns_pool = kept is None  # a kept executor outlives this pass: its owner stops it
        self.pending: dict[Future, tuple[KeyedRun, Path]] = {}
        self.failed_keys: set[str] = set()
        self.done, self.total = 0, total
        self.progress = Progress(
            *PROGRESS_COLUMNS, console=self.console, disable=not self.console.is_terminal
        )
        self.bar = self.progress.add_task("runs", total=total)

    def run(self) -> None:
        todo = self.todo
        grid = interleave([item for item in todo if not item.spec.is_summary])
        summaries = [item for item in todo if item.spec.is_summary]
        request, pool = self.request, self.pool
        where = (
            f" on the Dask cluster at {request.options.scheduler}"
            if request.options.executor == "dask"
            else ""
        )
        self.console.print(
            f"Executing {len(todo)} run{'s' * (len(todo) != 1)} ({len(grid)} grid, {len(summaries)} summary) with "
            f"{pool.workers} worker(s){where}, {pool.threads} thread(s) each."
        )
        # left on an exception, the pool stops what still runs (a kept one: when its owner is left)
        with self.progress, pool if self.owns_pool else contextlib.nullcontext():
            for item in grid:
                self.submit(item)
            self.drain()
            for item in summaries:
                self.submit_summary(item)
            self.drain()

    def submit(self, item: KeyedRun) -> None:
        job, staging = self._job(item)
        self.pending[self.pool.submit(job)] = (item, staging)

    def submit_summary(self, item: KeyedRun) -> None:
        """A summary runs once every run it reads has; it is skipped where one of them failed."""
        if set(item.inputs["inputs"]) & self.failed_keys:
            self.summary.skipped += 1
            self.done += 1
            self.console.print(
                f"[{self.done}/{self.total}] {item.spec.label} [yellow]skipped[/]: an input run failed"
            )
            self._advance()
            return
        try:
            self.submit(item)
        except WorkerLost:
            self.summary.skipped += 1
            self.console.print(f"{item.spec.label} [yellow]skipped[/]: the worker pool broke down")

    def _job(self, item: KeyedRun) -> tuple[Job, Path]:
        plan, store, sources, pool = self.request.plan, self.store, self.planned.sources, self.pool
        staging = store.new_staging(item.key)
        atomic_write_json(staging / PARAMS, {"parameters": item.spec.parameters})
        environment = run_environment(item, staging, sources, pool.threads, pool.workers, plan.pythonpath)
        if item.spec.is_summary:
            inputs_file = staging / "inputs.json"
            run_dir_of = lambda other: store.run_dir(other.spec.lab, other.spec.notebook, other.key).resolve()  # noqa: E731
            atomic_write_json(inputs_file, summary_inputs(item, self.planned.keyed, run_dir_of))
            environment[INPUTS_ENV] = str(inputs_file)
        job = Job(
            key=item.key,
            notebook_path=item.spec.notebook_path,
            parameters=item.spec.parameters,
            staging=staging,
            kernel_name=self.kernel_name,
            environment=environment,
            timeout_s=self.request.options.timeout_s,
            warm=not self.request.options.fresh_kernels,
            project=plan.root,
            ship=shipped_files(plan.root, item, sources),
        )
        return job, staging

    def settle(self, future: Future) -> None:
        """Record a finished run (or a lost worker's) and say how it went."""
        item, staging = self.pending.pop(future)
        try:
            outcome: Outcome = future.result()
        except WorkerLost:
            error = RunError.worker_died(str(item.spec.notebook_path))
            outcome = Outcome(item.key, ok=False, started=time.time(), duration_s=0.0, error=error)
        self.done += 1
        keyed, store = self.planned.keyed, self.store
        read = inputs_content(item, keyed, store) if item.spec.is_summary else None
        planned = self.planned
        record = run_record(item, staging, outcome, planned.sources, planned.commit, self.pool.threads, read)
        if outcome.ok:
            record.reads = self._reads(item, staging)
            store.commit(
                staging, store.run_dir(item.spec.lab, item.spec.notebook, item.key), record.to_json()
            )
        else:
            failed = store.failed_run_dir(item.spec.lab, item.spec.notebook, item.key)
            store.keep_failed(staging, failed, record.to_json())
        self._count(item, outcome)
        self._advance()

    def _reads(self, item: KeyedRun, staging: Path) -> Reads | None:
        """What the run read; a file journal.yml does not declare is named in a warning."""
        roots = [self.planned.sources[name].root for name in item.spec.data if name in self.planned.sources]
        reads, warning = reads_of_run(staging, self.planned.scope, item, roots)
        if warning and warning not in self.summary.warnings:
            self.summary.warnings.append(warning)
        return reads

    def _count(self, item: KeyedRun, outcome: Outcome) -> None:
        summary = self.summary
        notebook = os.path.relpath(item.spec.notebook_path, self.request.plan.root)
        if (
            outcome.ok
            and not (self.store.run_dir(item.spec.lab, item.spec.notebook, item.key) / METRICS).exists()
        ):
            silent = summary.silent.setdefault(notebook, [])  # one warning a notebook, not one a run
            if silent:
                summary.warnings.remove(recorded_nothing(notebook, silent))
            silent.append(item.spec.label)
            summary.warnings.append(recorded_nothing(notebook, silent))
        if outcome.written_beside:
            summary.warnings.append(written_beside(item.spec.label, notebook, outcome.written_beside))
        status = "[green]ok[/]" if outcome.ok else "[red]FAILED[/]"
        self.console.print(f"[{self.done}/{self.total}] {item.spec.label} {status} {outcome.duration_s:.1f}s")
        summary.cold_starts += outcome.cold_start
        if outcome.ok:
            summary.executed += 1
            return
        summary.failed += 1
        self.failed_keys.add(item.key)
        message = outcome.error.describe() if outcome.error else ""
        summary.failures.append(f"  {item.spec.label}: {message}")
        self.console.print(f"    [red]{message}[/]")

    def _advance(self) -> None:
        self.progress.update(self.bar, advance=1)

    def show_running(self) -> None:
        """The runs executing now, with what each reports of its progress (labjournal.kit.progress)."""
        running = [
            f"{item.spec.label} {read_progress(staging)}".strip()
            for future, (item, staging) in self.pending.items()
            if future.running()
        ]
        self.progress.update(self.bar, description=" | ".join(running)[:100])

    def drain(self) -> None:
        """Settle every run submitted; Ctrl-C stops them all (the runs completed are kept)."""
        try:
            while self.pending:
                finished, _ = wait(self.pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    self.settle(future)
                self.show_running()
        except KeyboardInterrupt as interrupt:
            running = min(sum(future.running() for future in self.pending), self.pool.workers)
            self.pool.terminate()
            for _item, staging in self.pending.values():
                shutil.rmtree(staging, ignore_errors=True)
            raise Interrupted(  # one line, printed by the CLI
                f"interrupted: stopping {running} running notebook(s) and their kernels, "
                f"and {len(self.pending) - running} queued; completed runs are kept, the next run resumes the rest"
            ) from interrupt
