"""`results/index.json`: one row per planned run, written after every `labjournal run`.

Each row holds the lab, notebook, experiment, parameters, seed, cache key, data variant and
status of a run, and for a completed run its scalar metrics, the names of its series, tables and
figures, and its folder in the store. `labjournal.results.lookup` reads it; only the scheduler writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from labjournal.records import RUN_RECORD, Index, IndexRow, RunError, RunRecord
from labjournal.run.cache import KeyedRun
from labjournal.run.provenance import now_iso
from labjournal.run.reads import ReadCheck, ReadScope
from labjournal.run.runchecks import seed_unused

if TYPE_CHECKING:
    from labjournal.data.datasets import DataSource
    from labjournal.plan.model import Plan
    from labjournal.results.store import ResultsStore

INDEX_FORMAT = 1


def build_index(
    plan: Plan,
    store: ResultsStore,
    keyed: list[KeyedRun],
    profile: str,
    sources: dict[str, DataSource],
    commit: str,
    design: dict[str, Any] | None = None,
) -> Index:
    rows = []
    check = ReadCheck(ReadScope.of(plan.root, store.root))
    for item in keyed:
        spec = item.spec
        row: dict[str, Any] = {
            "lab": spec.lab,
            "notebook": spec.notebook,
            "experiment": spec.experiment,
            "notebook_path": str(spec.notebook_path.relative_to(plan.root)),
            "profile": profile,
            "params": spec.params,
            "seed": spec.seed,
            "key": item.key,
            "data": [sources[name].description for name in spec.data if name in sources],
        }
        record, reason = check.lookup(store, item)
        if record is not None:
            run_dir = store.run_dir(spec.lab, spec.notebook, item.key)
            metrics = store.read_metrics(run_dir)
            row.update(
                status="ok",
                run_dir=str(run_dir.relative_to(store.root)),
                metrics=metrics.get("scalars", {}),
                series=sorted(metrics.get("series", {})),
                tables=sorted(metrics.get("tables", {})),
                figures=metrics.get("figures", {}),
                device=record.device,
                duration_s=record.duration_s,
            )
        elif (error := _recorded_error(store.failed_run_dir(spec.lab, spec.notebook, item.key))) is not None:
            failed = store.failed_run_dir(spec.lab, spec.notebook, item.key)
            row.update(status="failed", run_dir=str(failed.relative_to(store.root)), error=error)
        else:
            row.update(status="missing", reason=reason)
        rows.append(IndexRow.model_validate(row))  # the one schema of a row
    check.files.save()
    return Index(
        format=INDEX_FORMAT,
        profile=profile,
        generated=now_iso(),
        project_commit=commit,
        design=design or {},  # the sequential design claims are judged by (labjournal.claims.sequential)
        data={name: source.to_json() for name, source in sources.items()},
        runs=rows,
        seed_unused=seed_unused(rows),  # notebooks whose results never change with the seed
    )


def _recorded_error(folder: Path) -> RunError | None:
    """The error a failed run's record (`failed/…/run.json`) keeps; None where there is no
    readable record."""
    try:
        return RunRecord.model_validate_json((folder / RUN_RECORD).read_bytes()).error
    except (OSError, ValidationError):
        return None


def merge_lab(previous: Index | None, current: Index, lab: str, labs: list[str]) -> Index:
    """The index after `labjournal run --lab LAB`: that lab's rows from this run, every other
    lab's rows as the previous index had them (possibly of another profile: each row says which),
    in the plan's order of labs. Running one lab never makes the journal forget the others."""
    if previous is None:
        return current
    kept = [row for row in previous.runs if row.lab != lab and row.lab in labs]
    fresh = [row for row in current.runs if row.lab == lab]
    order = {name: position for position, name in enumerate(labs)}
    rows = sorted(kept + fresh, key=lambda row: order[row.lab])  # stable: runs keep their order
    data = {**previous.data, **current.data}
    return current.model_copy(update={"runs": rows, "data": data, "seed_unused": seed_unused(rows)})
