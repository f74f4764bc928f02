"""One part of a claim against the results: each compared grid point reduced to one value per
seed (folds averaged within their seed), then the evidence of labjournal.claims.evidence or
labjournal.claims.ranks. A part that names a grid point or metric the results lack raises
ResultLookupError, naming what exists."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labjournal.claims.adjust import adjusted_evidence
from labjournal.claims.evidence import DETERMINISTIC_WORDS, TOLERANCE, Evidence, Expected, Part, seed_slope
from labjournal.claims.file import Comparison, Margins, Trend, _Measure, no_margin
from labjournal.claims.ranks import budget_of, ranked
from labjournal.claims.sequential import Design
from labjournal.claims.spread import spread_evidence
from labjournal.errors import ResultLookupError
from labjournal.records import IndexRow
from labjournal.results.lookup import Results, split_ref


@dataclass
class Values:
    """One grid point's values of a metric, one per seed (None: never reached, for a censored
    outcome), and the rows they come from."""

    by_seed: dict[Any, float | None]
    rows: list[IndexRow]
    planned: int

    def observed(self) -> dict[Any, float]:
        return {seed: value for seed, value in self.by_seed.items() if value is not None}


def values(
    results: Results, ref: str, measure: _Measure, point: dict[str, Any], censored: bool = False
) -> Values:
    lab, experiment = split_ref(ref)
    rows = results.point_rows(lab, experiment, over=measure.over, **point)
    grouped: dict[Any, list[float | None]] = {}
    for row in rows:
        metrics = row.metrics
        if measure.metric not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise ResultLookupError(f"{ref}: no metric '{measure.metric}' (the runs record: {known})")
        value = metrics[measure.metric]
        if value is None and not censored:
            continue  # missing (a diverged loss): counted in "n of N"
        if value is not None:
            value = float(value)
            if measure.scale == "log":
                if value <= 0:
                    raise ResultLookupError(
                        f"{ref}: scale: log needs positive values of '{measure.metric}', got {value}"
                    )
                value = math.log(value)
        grouped.setdefault(row.seed, []).append(value)
    by_seed: dict[Any, float | None] = {}
    for seed, found in grouped.items():
        # A fold that never reached the target makes its seed's outcome "not reached".
        reached = [v for v in found if v is not None]
        by_seed[seed] = None if len(reached) < len(found) else sum(reached) / len(reached)
    return Values(by_seed, rows, len({row.seed for row in rows}))


def deterministic(measure: _Measure, *groups: Values) -> bool:
    """A FLOP or parameter count (or `exact: true`) that is the same on every seed."""
    name = measure.metric.lower()
    if not (measure.exact or any(word in name for word in DETERMINISTIC_WORDS)):
        return False
    for group in groups:
        found = list(group.observed().values())
        if len(found) < 2:
            return False  # one seed cannot show that a measure is the same on every seed
        if max(found) - min(found) > TOLERANCE * max(abs(v) for v in found):
            return False
    return True


def describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in point.items())


def margin_of(measure: _Measure, margins: Margins) -> tuple[float, str]:
    """The declared margin (labjournal.claims.file.Margins), never a guessed one; a part true by
    construction, never counted, may have none (0: never negligible)."""
    found = margins.of(measure)
    if found is not None:
        return found
    if measure.by_construction:
        return 0.0, "none declared (not counted)"
    raise ResultLookupError(no_margin(measure.metric, f"{measure.ref} {measure.metric}"))


def compare(
    results: Results, c: Comparison, expected: Expected, design: Design, margins: Margins
) -> Evidence:
    censored = c.censored_at is not None
    first = values(results, c.ref, c, c.at, censored)
    second = values(results, c.ref, c, c.than, censored)
    margin, note = margin_of(c, margins)
    base = Part(
        description=f"{c.metric}{' (log)' if c.scale == 'log' else ''} at {describe(c.at)} − at {describe(c.than)}",
        expected=expected,
        ref=c.ref,
        margin=margin,
        margin_note=note,
        design=design,
        runs=first.rows + second.rows,
        points=[dict(c.at), dict(c.than)],
        planned=min(first.planned, second.planned),
        by_construction=c.by_construction,
        metric=c.metric,
    )
    if c.censored_at is not None:
        budget = budget_of(c.censored_at, first.rows + second.rows)
        return ranked(base, first.by_seed, second.by_seed, budget)
    a, b = first.observed(), second.observed()
    if c.spread or c.adjust:
        return _sharper(results, c, base, a, b)
    seeds = sorted(set(a) & set(b), key=str)
    magnitude = max((abs(v) for v in (*a.values(), *b.values())), default=1.0)
    return Evidence(
        **base,
        differences=[a[s] - b[s] for s in seeds],
        exact=deterministic(c, first, second),
        magnitude=magnitude,
    )


def _sharper(
    results: Results, c: Comparison, base: Part, a: dict[Any, float], b: dict[Any, float]
) -> Evidence:
    """A part on the spread across seeds (labjournal.claims.spread), or adjusted for its
    declared covariate (labjournal.claims.adjust)."""
    if c.spread:
        return spread_evidence(base, a, b)
    covariate = c.model_copy(update={"metric": c.adjust, "scale": "linear", "adjust": None})
    at, than = (values(results, c.ref, covariate, point).observed() for point in (c.at, c.than))
    return adjusted_evidence(base, a, b, at, than, str(c.adjust))


def trend(results: Results, t: Trend, design: Design, margins: Margins) -> Evidence:
    """One least-squares slope per seed (the seeds that ran every point, so that points with
    more seeds do not change what the slope estimates), then their mean."""
    lab, experiment = split_ref(t.ref)
    points = [
        p
        for p in results.grid_points(lab, experiment)
        if t.param in p and all(p.get(k) == v for k, v in t.at.items())
    ]
    xs = [p[t.param] for p in points]
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in xs):
        raise ResultLookupError(
            f"{t.ref}: a trend needs numeric values of '{t.param}', got {', '.join(map(repr, xs))}"
        )
    if len(set(xs)) < 2:
        raise ResultLookupError(f"{t.ref}: fewer than two values of '{t.param}' to form a trend")
    log_x = t.x_scale == "log" or (t.x_scale == "auto" and min(xs) > 0 and max(xs) / min(xs) >= 4)
    if log_x and min(xs) <= 0:
        raise ResultLookupError(f"{t.ref}: x_scale: log needs positive values of '{t.param}'")
    groups = [(p, values(results, t.ref, t, p)) for p in sorted(points, key=lambda p: p[t.param])]
    position = [math.log2(p[t.param]) if log_x else float(p[t.param]) for p, _ in groups]
    every = set.intersection(*(set(g.observed()) for _, g in groups))
    slopes = {
        seed: seed_slope([(x, g.observed()[seed]) for x, (_, g) in zip(position, groups, strict=True)])
        for seed in sorted(every, key=str)
    }
    exact = deterministic(t, *(g for _, g in groups))
    margin, note = margin_of(t, margins)
    rows = [row for _, group in groups for row in group.rows]
    fixed = f" at {describe(t.at)}" if t.at else ""
    unit = f"per doubling of {t.param}" if log_x else f"per unit of {t.param}"
    return Evidence(
        description=f"slope of {t.metric}{' (log)' if t.scale == 'log' else ''} over {t.param}{fixed}",
        expected="positive" if t.direction == "up" else "negative",
        ref=t.ref,
        margin=margin,
        margin_note=note + (" per doubling" if log_x else f" per unit of {t.param}"),
        design=design,
        differences=list(slopes.values()),
        runs=rows,
        points=[dict(p) for p, _ in groups],
        planned=len({row.seed for row in rows}),
        exact=exact,
        by_construction=t.by_construction,
        unit=unit,
        per_seed=slopes,
        magnitude=max((abs(v) for _, g in groups for v in g.observed().values()), default=1.0),
        method="paired t on per-seed slopes",
        metric=t.metric,
    )
