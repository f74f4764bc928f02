"""Runs that failed, as the pages show them: only what needs a failed run says so. A table keeps
its label, caption and other rows, and the row of a grid point whose runs failed says "failed"
with a link to the failed run's executed notebook; a figure or a recorded table whose run failed
keeps its label, so `@fig-…` and `@tbl-…` still resolve, and says why it is not there; a value at
a grid point whose runs all succeeded is shown even where other points failed. Every failed run a
page needed is listed in the render's record (labjournal.render.freshness), so the exit status
says that something failed and `publish` refuses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labjournal.errors import FailedRunsError
from labjournal.files import canonical_json
from labjournal.records import IndexRow
from labjournal.results.lookup import Results


def only_rows(results: Results, rows: list[IndexRow]) -> Results:
    """The results holding only `rows`."""
    view = Results(results.index.model_copy(update={"runs": rows}), results.store_root)
    view.index_name = results.index_name
    return view


def usable_results(results: Results) -> Results:
    """The results without the failed runs: what the blocks read the rest from."""
    return only_rows(results, [row for row in results.runs if row.status != "failed"])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def at_point(rows: list[IndexRow], params: dict[str, Any]) -> list[IndexRow]:
    """The rows whose parameters include `params` (numbers compared as the results compare them)."""
    return [r for r in rows if all(k in r.params and _same(r.params[k], v) for k, v in params.items())]


def failures(
    results: Results, inputs: dict[tuple[str, str], list[str]], rows: list[IndexRow]
) -> list[IndexRow]:
    """The failed runs that `rows` (runs of one grid point) need: those of them that failed, and,
    for a summary skipped because a run it reads failed (so it is missing), those runs. `inputs`:
    the notebooks each summary reads, by (lab, notebook)."""
    found = [row for row in rows if row.status == "failed"]
    for row in rows:
        if row.status == "missing" and (names := inputs.get((row.lab, row.notebook))):
            read = [r for r in results.runs if r.lab == row.lab and r.notebook in names]
            found += [r for r in read if r.status == "failed" and r not in found]
    return found


def where(results: Results, row: IndexRow) -> str:
    """A failed run's folder as the render's record and the notes name it: results/failed/…"""
    return f"{results.store_root.name}/{row.run_dir}"


def failed_error(results: Results, rows: list[IndexRow]) -> FailedRunsError:
    """The error a value needing these failed runs gives (the prose shows it as a note)."""
    first = rows[0]
    shown = where(results, first)
    return FailedRunsError(
        f"{first.lab}/{first.experiment}: {len(rows)} run(s) it needs failed (see {shown})",
        first.lab,
        shown,
    )


def point_of(row: IndexRow, by: list[str]) -> str:
    return canonical_json({name: row.params.get(name) for name in by})


def varying(rows: list[IndexRow], over: list[str]) -> list[str]:
    """The parameters a table's rows differ in by default: those that vary, besides `over`."""
    names = sorted({name for row in rows for name in row.params} - set(over))
    return [n for n in names if len({canonical_json(r.params.get(n)) for r in rows}) > 1]


@dataclass(frozen=True)
class TableRuns:
    """A table's runs by grid point (its `by` parameters), in the plan's order: the points whose
    runs all succeeded are read from `shown` as usual; a point with a failed run is a "failed" row
    (its other seeds would give a mean over fewer runs than the caption says)."""

    by: list[str]
    points: list[str]  # every point, in the plan's order
    failed: dict[str, list[IndexRow]]  # a point -> its failed runs
    shown: Results  # the runs of the points without a failed run

    @classmethod
    def split(
        cls, results: Results, lab: str, experiment: str, by: list[str] | None, over: list[str]
    ) -> TableRuns:
        planned = results.rows(lab, experiment, ok_only=False)
        by = list(by) if by is not None else varying(planned, over)
        failed: dict[str, list[IndexRow]] = {}
        for row in planned:
            if row.status == "failed":
                failed.setdefault(point_of(row, by), []).append(row)
        points = list(dict.fromkeys(point_of(row, by) for row in planned))
        kept = [row for row in planned if point_of(row, by) not in failed]
        return cls(by, points, failed, only_rows(results, kept))
