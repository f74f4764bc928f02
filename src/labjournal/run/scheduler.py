"""`labjournal run`: decide which runs need executing, execute them in a process pool, record them.

Grid runs go first; a summary notebook (one with `inputs`) runs after every run it reads has
finished, and is skipped when one of them failed. Runs whose key is already in the store are not
executed. Each worker is a separate `spawn`ed process (forked workers break CUDA) with its share of
the cores, so N workers never oversubscribe the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from labjournal import __version__
from labjournal.errors import LabjournalError, RunsFailedError
from labjournal.files import atomic_write_json
from labjournal.kit.env import INPUTS_ENV
from labjournal.kit.progress import read as read_progress
from labjournal.plan.datasets import DataSource
from labjournal.plan.model import Plan, RunSpec
from labjournal.run.cache import KeyedRun, plan_keys, resolve_sources
from labjournal.run.execute import Job, Outcome, describe_error
from labjournal.run.executors import WorkerLost, default_workers, make_executor
from labjournal.run.index import build_index, merge_lab
from labjournal.run.kernel import ensure_kernelspec
from labjournal.run.placement import interleave, run_environment, shipped_files
from labjournal.run.provenance import machine, now_iso, project_commit
from labjournal.run.runchecks import recorded_nothing, written_beside
from labjournal.run.store import METRICS, PARAMS, ResultsStore
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
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a notebook lacks (labjournal.run.runchecks)

    def line(self) -> str:
        return (
            f"{self.planned} planned runs ({self.distinct} distinct): {self.executed} executed, {self.cached} cached, "
            f"{self.failed} failed, {self.skipped} skipped, {self.cold_starts} cold kernel starts, "
            f"in {self.wall_s:.1f} s"
        )


def matches(spec: RunSpec, key: str, selector: str) -> bool:
    """`--force` selectors: all, a lab, lab/notebook, lab/experiment, or a key prefix."""
    if selector in ("all", spec.lab, f"{spec.lab}/{spec.notebook}", f"{spec.lab}/{spec.experiment}"):
        return True
    return len(selector) >= 6 and key.startswith(selector)


def run_plan(
    plan: Plan,
    store: ResultsStore,
    *,
    profile: str | None = None,
    lab: str | None = None,
    jobs: int | None = None,
    force: str | None = None,
    data_dir: str | None = None,
    timeout_s: int | None = None,
    wait_s: float = 0,
    fresh_kernels: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    console: Console | None = None,
) -> RunSummary:
    console = console or Console(stderr=True)
    started = time.monotonic()
    if jobs is not None and jobs < 1:
        raise LabjournalError(f"--jobs {jobs}: the number of worker processes must be at least 1")
    profile_name, profile_spec = plan.profile(profile)
    added = store.read_extra_seeds(profile_name)
    design = added.get("design") or plan.design(profile_name).to_json()
    all_specs = plan.runs(profile_name, extra=added.get("points"))
    selected_specs = plan.runs(profile_name, lab, extra=added.get("points"))
    sources = resolve_sources(plan, all_specs, selected_specs, profile_spec.data, data_dir)
    keyed = plan_keys(plan, all_specs, sources)
    selected_keyed = [k for k in keyed if lab is None or k.spec.lab == lab]

    if force not in (None, "all") and not any(matches(k.spec, k.key, force) for k in selected_keyed):
        names = sorted(
            {k.spec.lab for k in selected_keyed}
            | {f"{k.spec.lab}/{k.spec.notebook}" for k in selected_keyed}
            | {f"{k.spec.lab}/{k.spec.experiment}" for k in selected_keyed}
        )
        where = f" among the runs of --lab {lab}" if lab else ""
        raise LabjournalError(
            f"--force {force}: matches no run{where} (give all, a lab, lab/notebook, lab/experiment "
            f"or a run key prefix of at least 6 characters; there are: {', '.join(names)})"
        )
    summary = RunSummary(planned=len(selected_keyed), distinct=len({k.key for k in selected_keyed}))
    commit = project_commit(plan.root)
    with store.locked(wait_s):
        todo: dict[str, KeyedRun] = {}
        for item in selected_keyed:  # grid runs first, then the summaries that read them
            if item.key in todo:
                continue
            forced = force is not None and matches(item.spec, item.key, force)
            record, _reason = store.lookup(item.spec.lab, item.spec.notebook, item.key)
            if (
                record is None
                or forced
                or (item.spec.is_summary and stale_summary(item, record, keyed, todo, store))
            ):
                todo[item.key] = item
        summary.cached = summary.distinct - len(todo)
        if todo:
            _execute(
                plan,
                store,
                todo,
                keyed,
                sources,
                jobs,
                timeout_s,
                commit,
                summary,
                console,
                warm=not fresh_kernels,
                executor_kind=executor,
                scheduler=scheduler,
            )
        else:
            console.print(f"[green]Nothing to execute:[/] all {summary.cached} runs are cached.")
        index = build_index(plan, store, keyed, profile_name, sources, commit, design)
        if lab is not None:
            try:
                previous = store.read_index()
            except json.JSONDecodeError:
                previous = None  # a broken index is rebuilt from the store; only this lab's rows survive
            index = merge_lab(previous, index, lab, list(plan.labs))
        store.write_index(index)
    for name, problem in index.get("seed_unused", {}).items():
        summary.warnings.append(f"{name}: {problem}")
    summary.wall_s = time.monotonic() - started
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(summary.line())
    if summary.failed:
        raise RunsFailedError("\n".join(["These runs failed (executed notebooks kept):", *summary.failures]))
    return summary


def _execute(
    plan: Plan,
    store: ResultsStore,
    todo: dict[str, KeyedRun],
    keyed: list[KeyedRun],
    sources: dict[str, DataSource],
    jobs: int | None,
    timeout_s: int | None,
    commit: str,
    summary: RunSummary,
    console: Console,
    warm: bool = True,
    executor_kind: str = "local",
    scheduler: str | None = None,
) -> None:
    kernel_name = ensure_kernelspec()
    pool = make_executor(executor_kind, max(1, min(jobs or default_workers(), len(todo))), scheduler)
    workers, threads = pool.workers, pool.threads
    grid = interleave([item for item in todo.values() if not item.spec.is_summary])
    summaries = [item for item in todo.values() if item.spec.is_summary]
    failed_keys: set[str] = set()

    def make_job(item: KeyedRun) -> tuple[Job, Path]:
        staging = store.new_staging(item.key)
        atomic_write_json(staging / PARAMS, {"parameters": item.spec.parameters})
        environment = run_environment(item, staging, sources, threads, workers, plan.pythonpath)
        if item.spec.is_summary:
            inputs_file = staging / "inputs.json"
            run_dir_of = lambda other: store.run_dir(other.spec.lab, other.spec.notebook, other.key).resolve()  # noqa: E731
            atomic_write_json(inputs_file, summary_inputs(item, keyed, run_dir_of))
            environment[INPUTS_ENV] = str(inputs_file)
        job = Job(
            key=item.key,
            notebook_path=item.spec.notebook_path,
            parameters=item.spec.parameters,
            staging=staging,
            kernel_name=kernel_name,
            environment=environment,
            timeout_s=timeout_s,
            warm=warm,
            project=plan.root,
            ship=shipped_files(plan.root, item, sources),
        )
        return job, staging

    where = f" on the Dask cluster at {scheduler}" if executor_kind == "dask" else ""
    console.print(
        f"Executing {len(todo)} runs ({len(grid)} grid, {len(summaries)} summary) with {workers} worker(s)"
        f"{where}, {threads} thread(s) each."
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, console=console, disable=not console.is_terminal) as progress,
        contextlib.closing(pool),
    ):
        bar = progress.add_task("runs", total=len(todo))
        pending: dict[Future, tuple[KeyedRun, Path]] = {}
        done_count = 0

        def submit(item: KeyedRun) -> None:
            job, staging = make_job(item)
            pending[pool.submit(job)] = (item, staging)

        def settle(future: Future) -> None:
            nonlocal done_count
            item, staging = pending.pop(future)
            try:
                outcome: Outcome = future.result()
            except WorkerLost:
                outcome = Outcome(
                    item.key,
                    ok=False,
                    started=time.time(),
                    duration_s=0.0,
                    error={
                        "notebook": str(item.spec.notebook_path),
                        "cell": None,
                        "cell_source": "",
                        "exception": "WorkerDied",
                        "message": "the worker process running this notebook died (killed, or out of memory)",
                    },
                )
            done_count += 1
            read = inputs_content(item, keyed, store) if item.spec.is_summary else None
            _record(store, item, staging, outcome, sources, commit, threads, read)
            notebook = os.path.relpath(item.spec.notebook_path, plan.root)
            if (
                outcome.ok
                and not (store.run_dir(item.spec.lab, item.spec.notebook, item.key) / METRICS).exists()
            ):
                summary.warnings.append(recorded_nothing(item.spec.label, notebook))
            if outcome.written_beside:
                summary.warnings.append(written_beside(item.spec.label, notebook, outcome.written_beside))
            status = "[green]ok[/]" if outcome.ok else "[red]FAILED[/]"
            console.print(f"[{done_count}/{len(todo)}] {item.spec.label} {status} {outcome.duration_s:.1f}s")
            summary.cold_starts += outcome.cold_start
            if outcome.ok:
                summary.executed += 1
            else:
                summary.failed += 1
                failed_keys.add(item.key)
                message = describe_error(outcome.error or {})
                summary.failures.append(f"  {item.spec.label}: {message}")
                console.print(f"    [red]{message}[/]")
            progress.update(bar, advance=1)

        def show_running() -> None:
            running = [
                f"{item.spec.label} {read_progress(staging)}".strip()
                for future, (item, staging) in pending.items()
                if future.running()
            ]
            progress.update(bar, description=" | ".join(running)[:100])

        def drain() -> None:
            try:
                while pending:
                    finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        settle(future)
                    show_running()
            except KeyboardInterrupt:
                running = sum(future.running() for future in pending)
                console.print(
                    f"[yellow]interrupted:[/] stopping {running} running notebook(s) and their kernels, "
                    f"and {len(pending) - running} queued; completed runs are kept, the next run resumes the rest"
                )
                pool.terminate()
                for _item, staging in pending.values():
                    shutil.rmtree(staging, ignore_errors=True)
                raise

        for item in grid:
            submit(item)
        drain()
        for item in summaries:
            blocked = set(item.inputs["inputs"]) & failed_keys
            if blocked:
                summary.skipped += 1
                done_count += 1
                console.print(
                    f"[{done_count}/{len(todo)}] {item.spec.label} [yellow]skipped[/]: an input run failed"
                )
                progress.update(bar, advance=1)
                continue
            try:
                submit(item)
            except WorkerLost:
                summary.skipped += 1
                console.print(f"{item.spec.label} [yellow]skipped[/]: the worker pool broke down")
        drain()


def _record(
    store: ResultsStore,
    item: KeyedRun,
    staging: Path,
    outcome: Outcome,
    sources: dict[str, DataSource],
    commit: str,
    threads: int,
    read: str | None = None,
) -> None:
    spec = item.spec
    device = None
    if (staging / METRICS).exists():
        try:
            device = json.loads((staging / METRICS).read_text()).get("device")
        except (OSError, json.JSONDecodeError):
            device = None
    record = {
        "key": item.key,
        "status": "ok" if outcome.ok else "failed",
        "lab": spec.lab,
        "notebook": spec.notebook,
        "notebook_path": os.path.relpath(spec.notebook_path, Path.cwd()),
        "parameters": spec.parameters,
        "seed": spec.seed,
        "key_inputs": item.inputs,
        "data": {name: sources[name].to_json() for name in spec.data if name in sources},
        "device": device,
        "threads": threads,
        "machine": machine(),
        "project_commit": commit,
        "labjournal": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(outcome.started)),
        "duration_s": round(outcome.duration_s, 3),
        "cold_start": outcome.cold_start,
        "recorded": now_iso(),
    }
    if read is not None:
        record["inputs_content"] = read  # the content of the runs this summary read
    if outcome.ok:
        store.commit(staging, store.run_dir(spec.lab, spec.notebook, item.key), record)
    else:
        record["error"] = outcome.error
        store.keep_failed(staging, store.failed_run_dir(spec.lab, spec.notebook, item.key), record)
