"""Blocks the prose places: `figure`, `table`, `run_table`. Each is built from the results, with its
provenance (parameters, seeds, data, commit and the executed notebook), and laid out by a Jinja
template of `templates/`. What they place is recorded in the placements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from markupsafe import Markup

from labjournal.errors import ResultLookupError
from labjournal.records import IndexRow, short_key
from labjournal.render.failed import TableRuns, at_point, failures, where
from labjournal.render.formatting import (
    describe_commits,
    describe_params,
    format_aggregate,
    format_cell,
    markdown_text,
    places,
    run_title,
)
from labjournal.render.placements import FigureUse
from labjournal.render.prose import RenderState, prose
from labjournal.render.table_seeds import TableSeeds, describe_points
from labjournal.results.lookup import Aggregate, Results, split_ref


class _Placing:
    """What placing a block needs: the run of a grid point, a link to its notebook, a label."""

    def __init__(self, state: RenderState) -> None:
        self.state = state
        self.results = state.results

    def _failed_needed(self, ref: str, seed: int | None, params: dict[str, Any]) -> list[IndexRow]:
        """The failed runs a block of one grid point needs: its run (the given seed, else the
        first seed) where that failed, or the runs a summary reads where one failed."""
        lab, experiment = split_ref(ref)
        planned = at_point(self.results.rows(lab, experiment, ok_only=False), params)
        planned = [r for r in planned if seed is None or r.seed == seed]
        return failures(self.results, self.state.inputs, [min(planned, key=_seed_order)] if planned else [])

    def _run_row(self, ref: str, seed: int | None, params: dict[str, Any]) -> IndexRow:
        """The run of one grid point whose figure or table a page shows: the given seed, else the
        first seed."""
        lab, experiment = split_ref(ref)
        rows = self.state.usable.point_rows(lab, experiment, **params)
        if seed is not None:
            rows = [r for r in rows if r.seed == seed]
            if not rows:
                raise ResultLookupError(f"{ref}: no run with seed {seed}")
        return min(rows, key=_seed_order)

    def _link(self, row: IndexRow) -> str:
        return self.state.placements.notebook(self.results.store_root, row)

    def _commits(self, rows: list[IndexRow]) -> str:
        """The project commit of the runs a block shows, from their records (not the render's)."""
        return describe_commits([self.results.commit_of(row) for row in rows])

    def _label(self, kind: str, given: str | None, *parts: str) -> str:
        return self.state.placements.label(self.state.page, kind, given, *parts)

    def _failed_link(self, rows: list[IndexRow]) -> Markup:
        """Links to the executed notebooks of failed runs, each recorded as failed for the render."""
        for row in rows:
            self.state.failed.append(where(self.results, row))
        return Markup(", ".join(self._link(row) for row in rows))

    def _failed_table(self, ref: str, rows: list[IndexRow], name: str, caption: str, anchor: str) -> Markup:
        """A recorded table whose run failed: one cell saying so, with the caption and the label."""
        cell = Markup(f"Not available: {_why(ref, rows)}; see {self._failed_link(rows)}")
        note = markdown_text(f"{_what(ref, rows)}: {_why(ref, rows)} ({_exception(rows[0])}).")
        return Markup(
            self.state.env.get_template("table.md.j2").render(
                headers=[name.replace("_", " ")], rows=[[cell]], caption=caption, note=note, anchor=anchor
            )
        )


def _seed_order(row: IndexRow) -> tuple[bool, int | None]:
    return (row.seed is None, row.seed)


def _what(ref: str, rows: list[IndexRow]) -> str:
    """What a block that is not there would have shown: its run (`lab/notebook · x = 1 seed 0`),
    or the experiment (a summary)."""
    return run_title(rows[0]) if len(rows) == 1 and rows[0].experiment == split_ref(ref)[1] else ref


def _why(ref: str, rows: list[IndexRow]) -> str:
    """Why a block is not there: its own run failed, or a run its summary reads."""
    if split_ref(ref)[1] == rows[0].experiment:
        return "the run failed" if len(rows) == 1 else "its runs failed"
    return "a run it reads failed" if len(rows) == 1 else "runs it reads failed"


def _exception(row: IndexRow) -> str:
    """What a failed run raised (labjournal.records.RunError), for the note that replaces a block."""
    return (row.error.exception if row.error is not None else "") or "see its notebook"


class Figures(_Placing):
    """`figure`: a figure a run recorded, its caption ending with its provenance."""

    @prose(failed_runs="block")
    def figure(
        self, ref: str, name: str, seed: int | None = None, label: str | None = None, **params: Any
    ) -> Markup:
        """Place a figure recorded by the runs of `ref` (one grid point, first seed unless given),
        labelled `fig-<lab>-<name>` (or `label=`) for `@fig-…` references."""
        if note := self.state.not_run(ref):
            return note.note()
        lab, _ = split_ref(ref)
        if failed := self._failed_needed(ref, seed, params):
            return self._unavailable(ref, failed, name, label)
        row = self._run_row(ref, seed, params)
        figures = row.figures
        if name not in figures:
            known = ", ".join(sorted(figures)) or "none"
            raise ResultLookupError(f"{ref}: no figure '{name}' (the run records: {known})")
        record = figures[name]
        use = FigureUse(
            page=self.state.page,
            lab=lab,
            name=name,
            source=self.results.store_root / row.folder / record["path"],
            target=f"figures/{short_key(row.key)}/{name}.png",
            caption=record["caption"],
            alt=record.get("alt") or record["caption"],
            run_key=row.key,
            notebook=row.notebook_path,
            anchor=self._label("fig", label, lab, name),
        )
        self.state.placements.figure(use)
        block = self.state.env.get_template("figure.md.j2").render(
            figure=use,
            provenance=self._provenance(row, record),
            link=Markup(self._link(row)),
            anchor=use.anchor,
        )
        return Markup(block)

    def _unavailable(self, ref: str, failed: list[IndexRow], name: str, label: str | None) -> Markup:
        """A figure whose run (or a run its summary reads) failed: a note in its place that keeps
        its label (and so its number and every `@fig-…` reference), linking to the failed runs."""
        lab, _ = split_ref(ref)
        use = FigureUse(
            page=self.state.page,
            lab=lab,
            name=name,
            source=self.results.store_root / str(failed[0].run_dir),
            target="",
            caption=f"{name}: not available",
            alt="",
            run_key=failed[0].key,
            notebook=failed[0].notebook_path,
            anchor=self._label("fig", label, lab, name),
        )
        self.state.placements.unavailable.append(use)
        block = self.state.env.get_template("figure-unavailable.md.j2").render(
            figure=use,
            run=_what(ref, failed),
            why=_why(ref, failed),
            exception=_exception(failed[0]),
            link=self._failed_link(failed),
        )
        return Markup(block)

    def _provenance(self, row: IndexRow, record: dict[str, Any]) -> str:
        parts = []
        shown = [row]  # the run, and a summary's inputs: the commits the caption gives are theirs
        if row.seed is not None:
            described = describe_params(row.params)
            parts.append(f"Parameters: {described}; seed {row.seed}." if described else f"Seed {row.seed}.")
        summarised = (record.get("experiments") or []) if row.seed is None else []
        for experiment in summarised:
            inputs = [r for r in self.results.runs if r.lab == row.lab and r.experiment == experiment]
            parts.append(self._inputs_of(inputs, experiment))
            shown += inputs
        data = "; ".join(row.data or []) if row.seed is not None else self._data_of_inputs(row)
        if data:
            parts.append(f"Data: {data}.")
        parts.append(f"{self._commits(shown)} Executed notebook {row.notebook_path}, run")
        return " ".join(parts)

    @staticmethod
    def _inputs_of(inputs: list[IndexRow], experiment: str) -> str:
        """The runs a summary's figure was drawn from: the grid they span and their seeds."""
        grid: dict[str, list[Any]] = {}
        for r in inputs:
            for k, v in r.params.items():
                grid.setdefault(k, [])
                if v not in grid[k]:
                    grid[k].append(v)
        varying = "; ".join(f"{k} ∈ {{{', '.join(map(str, vs))}}}" for k, vs in grid.items() if len(vs) > 1)
        fixed = ", ".join(f"{k} = {vs[0]}" for k, vs in grid.items() if len(vs) == 1)
        seeds = describe_points(inputs)
        return (
            f"From {len(inputs)} runs of {experiment}: {varying or 'one grid point'}"
            f"{'; ' + fixed if fixed else ''}; {seeds}."
        )

    def _data_of_inputs(self, row: IndexRow) -> str:
        seen: list[str] = []
        for other in self.results.runs:
            if other.lab == row.lab:
                seen += [d for d in other.data or [] if d not in seen]
        return "; ".join(seen)


class Tables(_Placing):
    """`table` (means ± sd over seeds per grid point) and `run_table` (a table a run recorded)."""

    @prose(failed_runs="block")
    def table(
        self,
        ref: str,
        metrics: dict[str, str] | list[str],
        by: list[str] | None = None,
        caption: str = "",
        percent: list[str] | None = None,
        digits: int = 3,
        over: list[str] | None = None,
        baselines: dict[str, str] | None = None,
        baseline_by: list[str] | None = None,
        model: str = "network",
        label: str | None = None,
    ) -> Markup:
        """A results table: one row per grid point, mean ± std over seeds for each metric.

        `metrics` maps metric names to column headings (or is a list of names). `over` names
        parameters that are replicates, like folds, aggregated together with the seeds.
        `baselines` maps a metric prefix to a label: a run that records `logreg_accuracy` next to
        `accuracy` gets a "logistic regression" row (split by `baseline_by` parameters, if any).
        The table is labelled `tbl-<lab>-<experiment>` (or `label=`) for `@tbl-…` references."""
        if note := self.state.not_run(ref):
            return note.note()
        lab, experiment = split_ref(ref)
        anchor = self._label("tbl", label, lab, experiment)
        headings = metrics if isinstance(metrics, dict) else {m: m.replace("_", " ") for m in metrics}
        unknown = [name for name in percent or [] if name not in headings]
        if unknown:
            raise ResultLookupError(
                f"{ref}: percent names {', '.join(map(repr, unknown))}, which the table does not show "
                f"(its metrics: {', '.join(headings)})"
            )
        runs = TableRuns.split(self.results, lab, experiment, by, over or [])
        seeds = TableSeeds.of(self.results, lab, experiment, runs.by)  # the seeds all rows ran
        if seeds.seeds.uneven:
            runs = TableRuns.split(seeds.restrict(self.results), lab, experiment, runs.by, over or [])
        body = self._grid_rows(runs, ref, list(headings), over or [])
        columns = list(runs.by)
        if baselines:
            body = [[model, *cells] for cells in body]
            if runs.shown.runs:
                by_over = (baseline_by or [], over or [])
                body += self._baseline_rows(runs.shown, ref, headings, columns, baselines, *by_over)
            columns = ["model", *columns]
        columns += list(headings)
        rows = [self._shown(columns, cells, percent or [], digits, seeds.seeds.own_n) for cells in body]
        return Markup(
            self.state.env.get_template("table.md.j2").render(
                headers=[headings.get(c, c.replace("_", " ")) for c in columns],
                rows=rows,
                caption=caption,
                note=self._table_note(seeds, over or [], bool(baselines), runs),
                anchor=anchor,
            )
        )

    def _grid_rows(self, runs: TableRuns, ref: str, metrics: list[str], over: list[str]) -> list[list[Any]]:
        """A row per grid point, in the plan's order: its grid values and metrics over seeds, or,
        where a run of the point failed, "failed" and links to the failed runs' notebooks. (The
        table of `runs.shown` lists its points in the same order.)"""
        computed: Iterator[list[Any]] = iter(())
        if runs.shown.runs:
            frame = runs.shown.table(*split_ref(ref), metrics, by=runs.by, over=over)
            computed = ([record[c] for c in runs.by + metrics] for _, record in frame.iterrows())
        body = []
        for point in runs.points:
            if point not in runs.failed:
                body.append(next(computed))
                continue
            failed = runs.failed[point]
            cells: list[Any] = [failed[0].params.get(name) for name in runs.by]
            cells.append(Markup(f"failed: see {self._failed_link(failed)}"))
            body.append(cells + [Markup("failed")] * (len(metrics) - 1))
        return body

    def _baseline_rows(
        self,
        results: Results,
        ref: str,
        headings: dict[str, str],
        columns: list[str],
        baselines: dict[str, str],
        baseline_by: list[str],
        over: list[str],
    ) -> list[list[Any]]:
        """A row per baseline (and `baseline_by` point) from the `results` of the table's other
        rows: a baseline has no training time or parameter count, so those cells stay empty."""
        lab, experiment = split_ref(ref)
        recorded = set(results.rows(lab, experiment)[0].metrics)
        body = []
        for prefix, label in baselines.items():
            names = [f"{prefix}_{m}" for m in headings if f"{prefix}_{m}" in recorded]
            if not names:
                raise ResultLookupError(
                    f"{ref}: baseline '{prefix}' has none of {', '.join(f'{prefix}_{m}' for m in headings)}"
                )
            part = results.table(lab, experiment, names, by=baseline_by, over=over, collapse=True)
            for _, record in part.iterrows():
                grid_cells = [record[c] if c in part.columns else "—" for c in columns]
                metric_cells = [record.get(f"{prefix}_{m}", "—") for m in headings]
                body.append([label, *grid_cells, *metric_cells])
        return body

    @staticmethod
    def _shown(
        columns: list[str], cells: list[Any], percent: list[str], digits: int, show_n: bool = False
    ) -> list[str]:
        shown = []
        for column, value in zip(columns, cells, strict=True):
            if isinstance(value, Aggregate):
                pct = column in percent
                whole = not pct and value.n > 0 and all(float(v).is_integer() for v in value.values)
                # the decimals the prose shows it to (labjournal.render.formatting.places)
                shown_to = places(value, None if pct or whole else digits, pct)
                shown.append(format_aggregate(value, shown_to, pct, show_n=show_n))
            else:
                shown.append(markdown_text(value))
        return shown

    def _table_note(self, seeds: TableSeeds, over: list[str], baselines: bool, table: TableRuns) -> Markup:
        """The caption's provenance: replicates (the seeds every row ran: labjournal.render.table_seeds),
        data, the commit and the executed notebooks of the runs it averages; the points that failed."""
        runs = seeds.used
        replicates = seeds.replicates()
        for name in over:
            values = sorted({r.params.get(name) for r in runs}, key=str)
            replicates += f" and {name} " + ", ".join(map(str, values))
        data = "; ".join(runs[0].data)
        failed, points = len(table.failed), len(table.points)
        note = f"Mean ± standard deviation over {replicates}.{seeds.aside()}" if failed < points else ""
        note += f" Data: {data}." if data else ""
        note += f" {self._commits(runs)}"
        if baselines and failed < points:
            note += " Baselines are fitted on the same splits as the network."
        if failed:
            every = (
                f"every grid point ({failed} of {points})" if failed == points else f"{failed} grid point(s)"
            )
            note += f" Runs failed at {every}: their rows link to the failed runs."
        note = note.strip()
        links = ", ".join(self._link(r) for r in runs if r.status != "failed")
        return markdown_text(note) + Markup(f" Executed notebooks: {links}." if links else "")

    @prose(failed_runs="block")
    def run_table(
        self,
        ref: str,
        name: str,
        caption: str = "",
        seed: int | None = None,
        label: str | None = None,
        **params: Any,
    ) -> Markup:
        """A table a run recorded itself (record.table), e.g. the gradient-check errors, labelled
        `tbl-<lab>-<name>` (or `label=`)."""
        if pending := self.state.not_run(ref):
            return pending.note()
        if failed := self._failed_needed(ref, seed, params):
            return self._failed_table(
                ref, failed, name, caption, self._label("tbl", label, failed[0].lab, name)
            )
        row = self._run_row(ref, seed, params)
        tables = self.results.metrics_of(row).get("tables", {})
        if name not in tables:
            known = ", ".join(sorted(tables)) or "none"
            raise ResultLookupError(f"{ref}: no table '{name}' (the run records: {known})")
        recorded = tables[name]
        shown = describe_params(row.params)
        about = f"Parameters: {shown}; seed {row.seed}. " if shown and row.seed is not None else ""
        note = markdown_text(f"{about}{self._commits([row])} Recorded by {row.notebook_path}, run ")
        return Markup(
            self.state.env.get_template("table.md.j2").render(
                headers=[h.replace("_", " ") for h in recorded["columns"]],
                rows=[[format_cell(cell) for cell in r] for r in recorded["rows"]],
                caption=caption or recorded.get("caption", ""),
                note=note + Markup(self._link(row) + "."),
                anchor=self._label("tbl", label, row.lab, name),
            )
        )
