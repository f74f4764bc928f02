"""The functions the prose can call: `metric`, `best`, `figure`, `table`, `run_table`, `claim`,
`claims_table`, `verdict`, `pending`, `has_results`, `lab`. Every lookup fails loudly with what
exists. Figures, tables and claims are laid out by the Jinja templates in `templates/`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from labjournal.claims.judge import (
    CLAIMS_FILE,
    DECIDED,
    Verdict,
    judge_journal,
    load_claims_file,
)
from labjournal.claims.verdicts import family_sentence
from labjournal.plan.sequential import Design
from labjournal.project import Project
from labjournal.render.formatting import (
    NotRun,
    describe_params,
    describe_seeds,
    format_aggregate,
    format_cell,
    markdown_text,
    run_title,
)
from labjournal.run.results import Aggregate, ResultLookupError, Results, split_ref


@dataclass
class FigureUse:
    page: str
    lab: str
    name: str
    source: Path  # the PNG in the results store
    target: str  # its path inside _build/
    caption: str
    alt: str
    run_key: str
    notebook: str
    anchor: str = ""


@dataclass(frozen=True)
class BestPoint:
    params: dict[str, Any]
    value: Aggregate
    ref: str

    def __getattr__(self, name: str) -> Any:  # best(...).lr reads a parameter of the point
        try:
            return self.params[name]
        except KeyError:
            raise ResultLookupError(
                f"the grid point has no parameter '{name}' (it has: {', '.join(self.params)})"
            ) from None


class JournalContext:
    """The functions and filters the prose can call. Every lookup fails loudly with what exists."""

    def __init__(self, project: Project, results: Results, env: jinja2.Environment, labs: dict[str, Any]):
        self.project = project
        self.results = results
        self.env = env
        self.labs = labs
        self.figures: list[FigureUse] = []
        self.page = ""
        self.claims_file = load_claims_file(project.report_dir / CLAIMS_FILE)
        self.claims = self.claims_file.claims
        self.verdicts: dict[str, Verdict] = {}
        self.claim_pages: dict[str, str] = {}
        self.notebooks: dict[str, Path] = {}  # run key -> executed notebook, published as HTML
        self.notebook_titles: dict[str, str] = {}  # run key -> "lab/notebook · parameters seed n"
        self.labels: dict[str, str] = {}  # cross-reference label -> the page that placed it

    # -- values -----------------------------------------------------------------------------

    def _split(self, ref: str) -> tuple[str, str]:
        return split_ref(ref)

    def _not_run(self, refs: str | list[str]) -> NotRun | None:
        """A note instead of values for a lab of the plan that has no results yet, so the author's
        pages build while labs are missing."""
        labs = {self._split(ref)[0] for ref in ([refs] if isinstance(refs, str) else refs)}
        missing = [lab for lab in labs if lab in self.labs and not self.results.has_lab(lab)]
        return NotRun(missing[0]) if missing and len(missing) == len(labs) else None

    def metric(self, ref: str, name: str, over: list[str] | None = None, **params: Any) -> Aggregate | NotRun:
        """A metric at one grid point over its seeds; `over` adds replicate parameters (folds)."""
        if note := self._not_run(ref):
            return note
        lab, experiment = self._split(ref)
        return self.results.metric(lab, experiment, name, over=over or (), **params)

    def best(self, ref: str | list[str], name: str, highest: bool = True) -> BestPoint:
        """The grid point with the highest (or lowest) mean of a metric, in one experiment or
        across several (`ref` a list); `.ref` says which experiment it came from."""
        if note := self._not_run(ref):
            return note  # type: ignore[return-value]
        scored = []
        for one in [ref] if isinstance(ref, str) else ref:
            lab, experiment = self._split(one)
            for point in self.results.grid_points(lab, experiment):
                agg = self.results.metric(lab, experiment, name, **point)
                if agg.n:
                    scored.append((agg.mean, one, point, agg))
        if not scored:
            raise ResultLookupError(f"{ref}: no run has a value for '{name}'")
        _, where, point, agg = (max if highest else min)(scored, key=lambda item: item[0])
        return BestPoint(point, agg, where)

    def has_results(self, lab: str) -> bool:
        return self.results.has_lab(lab)

    def lab(self, name: str) -> Any:
        if name not in self.labs:
            raise ResultLookupError(f"no lab '{name}' in journal.yml (it has: {', '.join(self.labs)})")
        return self.labs[name]

    # -- blocks ------------------------------------------------------------------------------

    def _run_row(self, ref: str, seed: int | None, params: dict[str, Any]) -> dict[str, Any]:
        """The run of one grid point whose figure or table a page shows: the given seed, else the
        first seed."""
        lab, experiment = self._split(ref)
        rows = self.results.point_rows(lab, experiment, **params)
        if seed is not None:
            rows = [r for r in rows if r["seed"] == seed]
            if not rows:
                raise ResultLookupError(f"{ref}: no run with seed {seed}")
        return sorted(rows, key=lambda r: (r["seed"] is None, r["seed"]))[0]

    def _label(self, kind: str, given: str | None, *parts: str) -> str:
        """A cross-reference label for a block labjournal places (`fig-lab01-loss-curves`): from
        what it shows, or `label=`, never from a run key, so `@fig-…` keeps working across runs.
        The same label twice in the journal is an error asking for `label=`."""
        label = given or "-".join(parts)
        label = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")
        label = label if label.startswith(kind + "-") else f"{kind}-{label}"
        if label in self.labels:
            raise ResultLookupError(
                f"#{label} is already placed on {self.labels[label]}: give this one its own "
                f'label= (e.g. label="{label}-2") so that @{label} names one thing'
            )
        self.labels[label] = self.page
        return label

    def figure(
        self, ref: str, name: str, seed: int | None = None, label: str | None = None, **params: Any
    ) -> Markup:
        """Place a figure recorded by the runs of `ref` (one grid point, first seed unless given),
        labelled `fig-<lab>-<name>` (or `label=`) for `@fig-…` references."""
        if note := self._not_run(ref):
            return note.note()
        lab, _ = self._split(ref)
        row = self._run_row(ref, seed, params)
        figures = row.get("figures", {})
        if name not in figures:
            known = ", ".join(sorted(figures)) or "none"
            raise ResultLookupError(f"{ref}: no figure '{name}' (the run records: {known})")
        record = figures[name]
        source = self.results.store_root / row["run_dir"] / record["path"]
        target = f"figures/{row['key'][:16]}/{name}.png"
        provenance = self._provenance(row, record)
        use = FigureUse(
            page=self.page,
            lab=lab,
            name=name,
            source=source,
            target=target,
            caption=record["caption"],
            alt=record.get("alt") or record["caption"],
            run_key=row["key"],
            notebook=row["notebook_path"],
        )
        use.anchor = self._label("fig", label, lab, name)
        self.figures.append(use)
        block = self.env.get_template("figure.md.j2").render(
            figure=use, provenance=provenance, link=Markup(self.notebook_link(row)), anchor=use.anchor
        )
        return Markup(block)

    def _commit(self) -> str:
        return self.results.index.get("project_commit") or "unknown"  # "<hash>+dirty" stays whole

    def notebook_link(self, row: dict[str, Any]) -> str:
        """A Markdown link to the run's executed notebook, published under runs/ with the site."""
        key = row["key"]
        self.notebooks[key] = self.results.store_root / row["run_dir"] / "notebook.ipynb"
        self.notebook_titles[key] = run_title(row)
        return f"[{key[:8]}](runs/{key[:16]}.html)"

    def _provenance(self, row: dict[str, Any], record: dict[str, Any]) -> str:
        parts = []
        if row["seed"] is not None:
            shown = describe_params(row["params"])
            parts.append(f"Parameters: {shown}; seed {row['seed']}." if shown else f"Seed {row['seed']}.")
        else:
            for experiment in record.get("experiments") or []:
                inputs = [
                    r for r in self.results.runs if r["lab"] == row["lab"] and r["experiment"] == experiment
                ]
                grid: dict[str, list[Any]] = {}
                for r in inputs:
                    for k, v in r["params"].items():
                        grid.setdefault(k, [])
                        if v not in grid[k]:
                            grid[k].append(v)
                varying = "; ".join(
                    f"{k} ∈ {{{', '.join(map(str, vs))}}}" for k, vs in grid.items() if len(vs) > 1
                )
                fixed = ", ".join(f"{k} = {vs[0]}" for k, vs in grid.items() if len(vs) == 1)
                seeds = describe_seeds([r["seed"] for r in inputs])
                parts.append(
                    f"From {len(inputs)} runs of {experiment}: {varying or 'one grid point'}"
                    f"{'; ' + fixed if fixed else ''}; {seeds}."
                )
        data = "; ".join(row.get("data") or []) if row["seed"] is not None else self._data_of_inputs(row)
        if data:
            parts.append(f"Data: {data}.")
        parts.append(f"Project commit {self._commit()}. Executed notebook {row['notebook_path']}, run")
        return " ".join(parts)

    def _data_of_inputs(self, row: dict[str, Any]) -> str:
        seen: list[str] = []
        for other in self.results.runs:
            if other["lab"] == row["lab"]:
                seen += [d for d in other.get("data") or [] if d not in seen]
        return "; ".join(seen)

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
        if note := self._not_run(ref):
            return note.note()
        lab, experiment = self._split(ref)
        anchor = self._label("tbl", label, lab, experiment)
        headings = metrics if isinstance(metrics, dict) else {m: m.replace("_", " ") for m in metrics}
        over = over or []
        frame = self.results.table(lab, experiment, list(headings), by=by, over=over)
        percent = percent or []
        unknown = [name for name in percent if name not in headings]
        if unknown:
            raise ResultLookupError(
                f"{ref}: percent names {', '.join(map(repr, unknown))}, which the table does not show "
                f"(its metrics: {', '.join(headings)})"
            )
        grid_columns = [c for c in frame.columns if c not in headings]
        body = [[record[c] for c in grid_columns + list(headings)] for _, record in frame.iterrows()]
        if baselines:
            body = [[model, *cells] for cells in body]
            recorded = set(self.results.rows(lab, experiment)[0].get("metrics", {}))
            for prefix, label in baselines.items():
                # A baseline has no training time or parameter count: those cells stay empty.
                names = [f"{prefix}_{m}" for m in headings if f"{prefix}_{m}" in recorded]
                if not names:
                    raise ResultLookupError(
                        f"{ref}: baseline '{prefix}' has none of {', '.join(f'{prefix}_{m}' for m in headings)}"
                    )
                part = self.results.table(
                    lab, experiment, names, by=baseline_by or [], over=over, collapse=True
                )
                for _, record in part.iterrows():
                    grid_cells = [record[c] if c in part.columns else "—" for c in grid_columns]
                    metric_cells = [record.get(f"{prefix}_{m}", "—") for m in headings]
                    body.append([label, *grid_cells, *metric_cells])
            grid_columns = ["model", *grid_columns]
        columns = grid_columns + list(headings)
        rows = []
        for cells in body:
            shown = []
            for column, value in zip(columns, cells, strict=True):
                if isinstance(value, Aggregate):
                    pct = column in percent
                    whole = value.n > 0 and all(float(v).is_integer() for v in value.values)
                    places = 1 if pct else (0 if whole else digits)
                    shown.append(format_aggregate(value, places, pct, show_n=False))
                else:
                    shown.append(markdown_text(value))
            rows.append(shown)
        runs = self.results.rows(lab, experiment)
        replicates = describe_seeds([r["seed"] for r in runs])
        for name in over:
            values = sorted({r["params"].get(name) for r in runs}, key=str)
            replicates += f" and {name} " + ", ".join(map(str, values))
        data = "; ".join(runs[0].get("data") or [])
        note = f"Mean ± standard deviation over {replicates}." + (f" Data: {data}." if data else "")
        note += f" Project commit {self._commit()}."
        if baselines:
            note += " Baselines are fitted on the same splits as the network."
        links = ", ".join(self.notebook_link(r) for r in runs)
        note = markdown_text(note) + Markup(f" Executed notebooks: {links}.")
        return Markup(
            self.env.get_template("table.md.j2").render(
                headers=[headings.get(c, c.replace("_", " ")) for c in columns],
                rows=rows,
                caption=caption,
                note=note,
                anchor=anchor,
            )
        )

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
        if note := self._not_run(ref):
            return note.note()
        row = self._run_row(ref, seed, params)
        tables = self.results.metrics_of(row).get("tables", {})
        if name not in tables:
            known = ", ".join(sorted(tables)) or "none"
            raise ResultLookupError(f"{ref}: no table '{name}' (the run records: {known})")
        recorded = tables[name]
        body = [[format_cell(cell) for cell in r] for r in recorded["rows"]]
        shown = describe_params(row["params"])
        about = f"Parameters: {shown}; seed {row['seed']}. " if shown and row["seed"] is not None else ""
        note = markdown_text(
            f"{about}Project commit {self._commit()}. Recorded by {row['notebook_path']}, run "
        )
        note += Markup(self.notebook_link(row) + ".")
        return Markup(
            self.env.get_template("table.md.j2").render(
                headers=[h.replace("_", " ") for h in recorded["columns"]],
                rows=body,
                caption=caption or recorded.get("caption", ""),
                note=note,
                anchor=self._label("tbl", label, row["lab"], name),
            )
        )

    # -- claims ------------------------------------------------------------------------------

    def verdict(self, claim_id: str) -> Verdict:
        if claim_id not in self.claims:
            known = ", ".join(self.claims) or f"none: report/{CLAIMS_FILE} declares no claims"
            raise ResultLookupError(f"no claim '{claim_id}' (declared: {known})")
        if not self.verdicts:  # all at once: family-wise error control looks at every claim
            verdicts = judge_journal(self.results, self.claims_file, self.project.report_dir)
            self.verdicts = {v.claim_id: v for v in verdicts}
        return self.verdicts[claim_id]

    def claims_method(self) -> Markup:
        """One sentence on how the claims were judged: the design and the error control."""
        design = Design.from_json(self.results.index.get("design"))
        family = family_sentence(self.claims_file.familywise)
        return Markup(f"Claims are judged with {design.describe()}; {family}")  # engine text: Markdown

    def claim(self, claim_id: str) -> Markup:
        """The verdict badge and the numbers behind a claim, placed after the sentence stating it."""
        verdict = self.verdict(claim_id)
        self.claim_pages.setdefault(claim_id, self.page)
        return Markup(self.env.get_template("claim.md.j2").render(v=verdict, anchor=f"claim-{claim_id}"))

    def claims_table(self) -> Markup:
        """Every declared claim: lab, sentence, verdict, evidence, and links to where it is stated,
        its figure and the experiments behind it."""
        rows = []
        for claim_id in self.claims:
            verdict = self.verdict(claim_id)
            page = self.claim_pages.get(claim_id)
            stated = f"{Path(page).stem}.html#claim-{claim_id}" if page else None
            keys: dict[str, dict[str, Any]] = {}
            for evidence in verdict.evidence:
                keys.update({row["key"]: row for row in evidence.runs})
            runs = Markup(", ".join(self.notebook_link(row) for row in keys.values()))
            rows.append(
                {
                    "v": verdict,
                    "stated": stated,
                    "figure": self._figure_link(verdict.claim.figure),
                    "runs": runs,
                }
            )
        return Markup(self.env.get_template("claims.md.j2").render(rows=rows, decided=DECIDED))

    def _figure_link(self, figure: str | None) -> str | None:
        if not figure:
            return None
        lab, experiment, name = figure.split("/")
        for use in self.figures:
            if use.lab == lab and use.name == name:
                return f"{Path(use.page).stem}.html#{use.anchor}"
        raise ResultLookupError(
            f"claim figure '{figure}' is not placed on any page rendered before the claims page"
        )

    def pending(self, lab: str) -> Markup:
        """A note for a lab of the plan whose experiments have no results yet; nothing once they
        have. A lab the plan does not have is an error naming the labs it has."""
        info = self.lab(lab)
        if self.results.has_lab(lab):
            return Markup("")
        return Markup(self.env.get_template("pending.md.j2").render(lab=lab, info=info))
