"""The results index and the views templates and summary notebooks read from it.

`results/index.json` has one row per planned run (lab, notebook, experiment, parameters, seed,
status, scalar metrics, figure and table names, run folder). `load_index` turns it into a pandas
DataFrame with `params.*` and `metrics.*` columns; `Results` answers the questions a journal asks:
the mean, spread and count over seeds of a metric at one grid point, or a table over a grid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from labjournal.errors import CorruptResultsError, FailedRunsError, ResultLookupError
from labjournal.files import canonical_json
from labjournal.plan.schedule import Schedule
from labjournal.records import DECISIONS, INDEX, METRICS, RUN_RECORD, Decisions, Index, IndexRow, RunRecord

Point = dict[str, Any]  # a grid point: its parameters, which all its seeds share


def read_json(path: Path) -> Any:
    """Read a results file; a corrupt one is an error that names it and says how to recover."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise CorruptResultsError(
            f"{path} is corrupt (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            f"Run `labjournal run` to rebuild it; runs whose files changed are executed again."
        ) from exc


def load_index(path: str | Path) -> pd.DataFrame:
    """The index as a DataFrame: one row per run, `params.<name>` and `metrics.<name>` columns."""
    payload = read_json(Path(path))
    return pd.json_normalize(payload["runs"], sep=".", max_level=1)


# --------------------------------------------------------------------------------------------
# Aggregates over seeds


@dataclass(frozen=True)
class Aggregate:
    """A metric at one grid point over its seeds (or folds).

    `values` holds the seeds that have a value; `runs` counts all of them, so a metric that some
    seeds never reach (a threshold, say) shows as "2 of 3" rather than as a silent mean of two."""

    metric: str
    values: tuple[float, ...]
    runs: int | None = None

    @property
    def missing(self) -> int:
        return (self.runs or self.n) - self.n

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n if self.n else math.nan

    @property
    def std(self) -> float:
        if self.n < 2:
            return 0.0
        mean = self.mean
        return math.sqrt(sum((v - mean) ** 2 for v in self.values) / (self.n - 1))

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def __format__(self, spec: str) -> str:
        return f"{format(self.mean, spec or '.3g')} ± {format(self.std, spec or '.2g')}"

    def __str__(self) -> str:
        return format(self, "")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


class Results:
    """Read access to one results index, shaped for templates."""

    def __init__(self, index: Index | dict[str, Any] | None, store_root: Path):
        """`index` as read (an Index) or as the file holds it (validated here, once)."""
        self.index = index if isinstance(index, Index) else Index.model_validate(index or {})
        self.store_root = Path(store_root)
        self.index_name = INDEX
        self._metrics_cache: dict[str, dict[str, Any]] = {}
        self._commit_cache: dict[str, str | None] = {}

    @classmethod
    def load(cls, store_root: str | Path, index_name: str = INDEX) -> Results:
        """One profile's results (the default profile's `index.json` unless named)."""
        path = Path(store_root) / index_name
        try:
            index = Index.model_validate(read_json(path)) if path.exists() else None
        except ValidationError as exc:
            raise CorruptResultsError(
                f"{path} is not a results index ({exc.errors()[0]['msg']}). Run `labjournal run` to rebuild it."
            ) from exc
        results = cls(index, Path(store_root))
        results.index_name = index_name
        return results

    @property
    def runs(self) -> list[IndexRow]:
        return self.index.runs

    @property
    def design(self) -> Schedule:
        """The sequential design the claims are judged by, as the run that wrote the index fixed it."""
        return Schedule.from_json(self.index.design)

    @property
    def decisions(self) -> Decisions:
        """Why adding seeds stopped, per claim (`results/decisions.json`, written by
        `labjournal run --until-decided`); empty when no seeds were added."""
        path = self.store_root / DECISIONS
        try:
            decisions = (
                Decisions.model_validate(json.loads(path.read_text())) if path.exists() else Decisions()
            )
        except (json.JSONDecodeError, ValidationError):
            return Decisions()  # explanations only: a broken file loses them, never results
        return decisions if decisions.profile in (None, self.index.profile) else Decisions()

    def has_lab(self, lab: str) -> bool:
        return any(row.lab == lab and row.status == "ok" for row in self.runs)

    def has_run(self, lab: str) -> bool:
        """Whether the lab has run: it has results, or runs that failed (not "not run yet")."""
        return any(row.lab == lab and row.status in ("ok", "failed") for row in self.runs)

    def experiments(self, lab: str) -> list[str]:
        return sorted({row.experiment for row in self.runs if row.lab == lab})

    def rows(self, lab: str, experiment: str, ok_only: bool = True) -> list[IndexRow]:
        rows = [r for r in self.runs if r.lab == lab and r.experiment == experiment]
        if not self.runs:
            raise ResultLookupError(
                f"asked for {lab}/{experiment} but there are no results yet "
                f"({self.store_root / self.index_name} is missing): run `labjournal run` first"
            )
        if not rows:
            known = ", ".join(self.experiments(lab)) or "none"
            raise ResultLookupError(
                f"no experiment '{lab}/{experiment}' in the results (lab {lab} has: {known})"
            )
        if ok_only:
            bad = [r for r in rows if r.status != "ok"]
            if bad and all(r.status == "failed" for r in bad):
                where = f"{self.store_root.name}/{bad[0].run_dir}"
                raise FailedRunsError(
                    f"{lab}/{experiment}: {len(bad)} of {len(rows)} runs failed (see {where})", lab, where
                )
            if bad:
                states = ", ".join(sorted({r.status for r in bad}))
                raise ResultLookupError(
                    f"{lab}/{experiment}: {len(bad)} of {len(rows)} runs are not usable ({states}); "
                    f"run `labjournal run` and check its report"
                )
        return rows

    def grid_points(self, lab: str, experiment: str) -> list[Point]:
        """The experiment's grid points, in the order the index first has them."""
        seen: dict[str, Point] = {}
        for row in self.rows(lab, experiment, ok_only=False):
            seen.setdefault(canonical_json(row.params), row.params)
        return list(seen.values())

    def point_rows(
        self, lab: str, experiment: str, over: Iterable[str] = (), **params: Any
    ) -> list[IndexRow]:
        """The runs of one grid point (all its seeds, and all values of the `over` parameters)."""
        rows = self.rows(lab, experiment)
        chosen = [
            r
            for r in rows
            if all(name in r.params and _same(r.params[name], v) for name, v in params.items())
        ]
        if not chosen:
            known = "; ".join(_describe(p) for p in self.grid_points(lab, experiment))
            raise ResultLookupError(
                f"{lab}/{experiment} has no grid point {_describe(params)} (it has: {known})"
            )
        points, varying = _mixed_points(chosen, params, over)
        if points > 1:
            raise ResultLookupError(
                f"{lab}/{experiment}: {_describe(params)} matches {points} grid points; also give "
                f"{', '.join(varying)}"
            )
        return chosen

    def metric(
        self, lab: str, experiment: str, metric: str, over: Iterable[str] = (), **params: Any
    ) -> Aggregate:
        rows = self.point_rows(lab, experiment, over=over, **params)
        return self._aggregate(lab, experiment, rows, metric)

    def _aggregate(self, lab: str, experiment: str, rows: list[IndexRow], metric: str) -> Aggregate:
        missing = [r for r in rows if metric not in r.metrics]
        if missing:
            known = ", ".join(sorted(rows[0].metrics)) or "none"
            raise ResultLookupError(f"{lab}/{experiment}: no metric '{metric}' (the runs record: {known})")
        values = tuple(float(r.metrics[metric]) for r in rows if r.metrics[metric] is not None)
        return Aggregate(metric, values, runs=len(rows))

    def table(
        self,
        lab: str,
        experiment: str,
        metrics: Iterable[str],
        by: Iterable[str] | None = None,
        over: Iterable[str] = (),
        collapse: bool = False,
    ) -> pd.DataFrame:
        """One row per grid point (the `by` parameters, default: those that vary besides `over`),
        one Aggregate per metric over seeds and the `over` parameters (folds, say).

        With `collapse`, the runs of a row may differ in other parameters too: their values are
        first averaged per replicate (seed and `over` values). That is how a baseline fitted
        once per data split, and recorded by every run on that split, is counted once per split."""
        rows = self.rows(lab, experiment)
        over = list(over)
        if by is None:
            names = sorted({name for row in rows for name in row.params} - set(over))
            by = [n for n in names if len({canonical_json(r.params.get(n)) for r in rows}) > 1]
        by = list(by)
        groups: dict[str, list[IndexRow]] = {}
        for row in rows:
            point = {name: row.params.get(name) for name in by}
            groups.setdefault(canonical_json(point), []).append(row)
        records = []
        for members in groups.values():
            point = {name: members[0].params.get(name) for name in by}
            if not collapse:
                self._check_one_point(lab, experiment, members, point, over)
            record: dict[str, Any] = dict(point)
            for metric in metrics:
                agg = self._aggregate(lab, experiment, members, metric)
                if collapse:
                    agg = _per_replicate(members, metric, over, agg)
                record[metric] = agg
            records.append(record)
        return pd.DataFrame(records)

    def _check_one_point(
        self, lab: str, experiment: str, members: list[IndexRow], point: dict[str, Any], over: list[str]
    ) -> None:
        points, varying = _mixed_points(members, point, over)
        if points > 1:
            raise ResultLookupError(
                f"{lab}/{experiment}: the row {_describe(point)} mixes {points} grid points; "
                f"add {', '.join(varying)} to by= (or to over= if they are replicates such as folds)"
            )

    def commit_of(self, row: IndexRow) -> str | None:
        """The project commit a run was executed at, as its record (`run.json`, kept for failed
        runs too) says; None where the run has no readable record."""
        run_dir = row.run_dir
        if run_dir is None:
            return None
        if run_dir not in self._commit_cache:
            try:
                record = RunRecord.model_validate_json((self.store_root / run_dir / RUN_RECORD).read_bytes())
            except (OSError, ValidationError):
                record = None
            self._commit_cache[run_dir] = record.project_commit if record is not None else None
        return self._commit_cache[run_dir]

    def metrics_of(self, row: IndexRow) -> dict[str, Any]:
        run_dir = row.folder
        if run_dir not in self._metrics_cache:
            self._metrics_cache[run_dir] = read_json(self.store_root / run_dir / METRICS)
        return self._metrics_cache[run_dir]


def _mixed_points(rows: list[IndexRow], given: dict[str, Any], over: Iterable[str]) -> tuple[int, list[str]]:
    """How many grid points `rows` span once the `over` parameters (replicates) are ignored, and
    the parameters besides `given` that tell them apart."""
    over = set(over)
    distinct = {canonical_json({k: v for k, v in r.params.items() if k not in over}) for r in rows}
    varying = sorted({k for r in rows for k in r.params if k not in given and k not in over})
    return len(distinct), varying


def split_ref(ref: str) -> tuple[str, str]:
    """'lab01/lr_batch' -> ('lab01', 'lr_batch'), the way prose and claims name an experiment."""
    if ref.count("/") != 1:
        raise ResultLookupError(f"'{ref}' is not of the form lab/experiment, e.g. 'lab01/lr_batch'")
    lab, experiment = ref.split("/")
    return lab, experiment


def _per_replicate(members: list[IndexRow], metric: str, over: list[str], agg: Aggregate) -> Aggregate:
    by_replicate: dict[str, list[float]] = {}
    for row in members:
        value = row.metrics[metric]
        key = canonical_json([row.seed, *(row.params.get(name) for name in over)])
        values = by_replicate.setdefault(key, [])
        if value is not None:
            values.append(float(value))
    means = tuple(sum(v) / len(v) for v in by_replicate.values() if v)
    return Aggregate(agg.metric, means, runs=len(by_replicate))


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(no parameters)"
