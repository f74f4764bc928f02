"""`labjournal render`: the author's prose plus the results become a Quarto project in `_build/`.

Each page listed in `_quarto.yml` is a Markdown file in `journal/` with Jinja expressions. Jinja runs
with StrictUndefined, so a misspelt name, a missing metric or grid point is an error naming the
page, the line and what exists. Quarto shortcodes (`{{< ... >}}`) pass through untouched.

Templates in `templates/` lay out the blocks the prose places: figures (caption with parameters,
seeds, data variant and run), result tables, and notes for labs that have not run yet.

The journal is rendered into a fresh folder that replaces `_build/` only once everything rendered,
so a failing render leaves the previous build in place.
"""

from __future__ import annotations

import re
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from labjournal.claims import CLAIMS_FILE, Verdict, evaluate_claim, load_claims
from labjournal.errors import RenderError
from labjournal.files import atomic_write_json, atomic_write_text
from labjournal.plan import load_plan
from labjournal.project import QUARTO_FILE, Project
from labjournal.provenance import build_environment
from labjournal.results import Aggregate, ResultLookupError, Results, split_ref

SHORTCODE = re.compile(r"\{\{<(.*?)>\}\}", re.DOTALL)
MANIFEST = "manifest.json"
BLANK_RUNS = re.compile(r"\n{3,}")  # left behind by {% set %} and {% if %} lines


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


def protect_shortcodes(text: str) -> str:
    """Wrap Quarto shortcodes in raw blocks so Jinja leaves them for Quarto."""
    return SHORTCODE.sub(lambda m: "{% raw %}{{<" + m.group(1) + ">}}{% endraw %}", text)


def _html_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_text(value: Any) -> Markup:
    """Plain text made safe inside Markdown: no HTML, and brackets that cannot end a link or image.
    Markup (already safe Markdown built by this module, e.g. with links) passes unchanged."""
    if isinstance(value, Markup):
        return value
    return Markup(_html_text(str(value)).replace("[", "\\[").replace("]", "\\]").replace("|", "\\|"))


def _escape_data(value: Any) -> Any:
    """Every `{{ }}` output passes here: strings from data are shown as text, never as HTML.
    (No backslash escapes: the same output may sit inside an attribute such as fig-alt.)"""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _html_text(value)
    return value


def _fmt(value: float, digits: int, percent: bool) -> str:
    if percent:
        return f"{value * 100:.{digits}f}"
    fixed = f"{value:,.{digits}f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    if value != 0 and float(fixed.replace(",", "")) == 0:
        return f"{value:.2g}"  # 0.00025, not 0.000
    return fixed


def format_aggregate(
    agg: Aggregate, digits: int = 3, percent: bool = False, spread: bool = True, show_n: bool = True
) -> str:
    """`91.2% ± 0.8% (n = 3)`: the mean, its standard deviation over seeds, and how many seeds."""
    if agg.n == 0:
        return "not reached (n = 0)" if show_n else "not reached"
    unit = "%" if percent else ""
    text = _fmt(agg.mean, digits, percent) + unit
    if spread and agg.n > 1 and agg.std > 0:  # identical over seeds: nothing to spread
        text += f" ± {_fmt(agg.std, digits, percent)}{unit}"
    if spread and show_n:
        text += f" (n = {agg.n} of {agg.runs})" if agg.missing else f" (n = {agg.n})"
    elif agg.missing:
        text += f" ({agg.n} of {agg.runs})"
    return text


def _describe_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in params.items())


def _describe_seeds(seeds: list[Any]) -> str:
    seeds = sorted(s for s in set(seeds) if s is not None)
    if not seeds:
        return ""
    return f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))


class JournalContext:
    """The functions and filters the prose can call. Every lookup fails loudly with what exists."""

    def __init__(self, project: Project, results: Results, env: jinja2.Environment, labs: dict[str, Any]):
        self.project = project
        self.results = results
        self.env = env
        self.labs = labs
        self.figures: list[FigureUse] = []
        self.page = ""
        self.claims = load_claims(project.journal_dir / CLAIMS_FILE)
        self.verdicts: dict[str, Verdict] = {}
        self.claim_pages: dict[str, str] = {}
        self.notebooks: dict[str, Path] = {}  # run key -> executed notebook, published as HTML

    # -- values -----------------------------------------------------------------------------

    def _split(self, ref: str) -> tuple[str, str]:
        return split_ref(ref)

    def metric(self, ref: str, name: str, over: list[str] | None = None, **params: Any) -> Aggregate:
        """A metric at one grid point over its seeds; `over` adds replicate parameters (folds)."""
        lab, experiment = self._split(ref)
        return self.results.metric(lab, experiment, name, over=over or (), **params)

    def best(self, ref: str | list[str], name: str, highest: bool = True) -> BestPoint:
        """The grid point with the highest (or lowest) mean of a metric, in one experiment or
        across several (`ref` a list); `.ref` says which experiment it came from."""
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

    def figure(self, ref: str, name: str, seed: int | None = None, **params: Any) -> Markup:
        """Place a figure recorded by the runs of `ref` (one grid point, first seed unless given)."""
        lab, experiment = self._split(ref)
        rows = self.results.point_rows(lab, experiment, **params)
        if seed is not None:
            rows = [r for r in rows if r["seed"] == seed]
            if not rows:
                raise ResultLookupError(f"{ref}: no run with seed {seed}")
        row = sorted(rows, key=lambda r: (r["seed"] is None, r["seed"]))[0]
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
        use.anchor = f"fig-{lab}-{name}-{row['key'][:8]}".replace("_", "-")
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
        return f"[{key[:8]}](runs/{key[:16]}.html)"

    def _provenance(self, row: dict[str, Any], record: dict[str, Any]) -> str:
        parts = []
        if row["seed"] is not None:
            shown = _describe_params(row["params"])
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
                seeds = _describe_seeds([r["seed"] for r in inputs])
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
    ) -> Markup:
        """A results table: one row per grid point, mean ± std over seeds for each metric.

        `metrics` maps metric names to column headings (or is a list of names). `over` names
        parameters that are replicates, like folds, aggregated together with the seeds.
        `baselines` maps a metric prefix to a label: a run that records `logreg_accuracy` next to
        `accuracy` gets a "logistic regression" row (split by `baseline_by` parameters, if any)."""
        lab, experiment = self._split(ref)
        headings = metrics if isinstance(metrics, dict) else {m: m.replace("_", " ") for m in metrics}
        over = over or []
        frame = self.results.table(lab, experiment, list(headings), by=by, over=over)
        percent = percent or []
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
        replicates = _describe_seeds([r["seed"] for r in runs])
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
            )
        )

    def run_table(
        self, ref: str, name: str, caption: str = "", seed: int | None = None, **params: Any
    ) -> Markup:
        """A table a run recorded itself (record.table), e.g. the gradient-check errors."""
        lab, experiment = self._split(ref)
        rows = self.results.point_rows(lab, experiment, **params)
        if seed is not None:
            rows = [r for r in rows if r["seed"] == seed]
        row = rows[0]
        tables = self.results.metrics_of(row).get("tables", {})
        if name not in tables:
            known = ", ".join(sorted(tables)) or "none"
            raise ResultLookupError(f"{ref}: no table '{name}' (the run records: {known})")
        recorded = tables[name]
        body = [[_format_cell(cell) for cell in r] for r in recorded["rows"]]
        shown = _describe_params(row["params"])
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
            )
        )

    # -- claims ------------------------------------------------------------------------------

    def verdict(self, claim_id: str) -> Verdict:
        if claim_id not in self.claims:
            known = ", ".join(self.claims) or f"none: journal/{CLAIMS_FILE} declares no claims"
            raise ResultLookupError(f"no claim '{claim_id}' (declared: {known})")
        if claim_id not in self.verdicts:
            self.verdicts[claim_id] = evaluate_claim(self.results, claim_id, self.claims[claim_id])
        return self.verdicts[claim_id]

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
        return Markup(self.env.get_template("claims.md.j2").render(rows=rows))

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
        """A note for a lab whose experiments have no results yet (or are not in the plan yet)."""
        info = self.labs.get(lab)
        return Markup(self.env.get_template("pending.md.j2").render(lab=lab, info=info))


def _format_cell(cell: Any) -> str:
    if isinstance(cell, float):
        return f"{cell:.3g}" if abs(cell) >= 1e-3 or cell == 0 else f"{cell:.2e}"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    return markdown_text(cell) if cell is not None else "–"


def make_environment(project: Project) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(project.journal_dir), str(project.templates_dir)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_escape_data,
        autoescape=False,
        # Pandoc attributes start with "{#" ({#fig-id}, {#refs}); Jinja comments use "{##" instead.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters["md"] = markdown_text
    env.filters["pct"] = lambda agg, digits=1: format_aggregate(agg, digits, percent=True)
    env.filters["num"] = lambda agg, digits=3: format_aggregate(agg, digits)
    env.filters["mean_pct"] = lambda agg, digits=1: format_aggregate(agg, digits, percent=True, spread=False)
    env.filters["mean"] = lambda agg, digits=3: format_aggregate(agg, digits, spread=False)
    return env


def _write_quarto_config(source: Path, target: Path, publish_runs: bool) -> None:
    """The project's `_quarto.yml`, plus `runs/` as a site resource so that `quarto render`
    publishes the executed notebooks the captions link to."""
    if not publish_runs:
        shutil.copy2(source, target)
        return
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    resources = config.setdefault("project", {}).setdefault("resources", [])
    if isinstance(resources, str):
        resources = config["project"]["resources"] = [resources]
    resources.append("runs/*.html")
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def publish_notebooks(notebooks: dict[str, Path], cache: Path, out: Path) -> None:
    """Executed notebooks as HTML (nbconvert), one page per run key. The HTML of a run never
    changes, so it is converted once and kept beside the results store."""
    if not notebooks:
        return
    from nbconvert import HTMLExporter

    exporter = None
    out.mkdir(parents=True, exist_ok=True)
    for key, source in notebooks.items():
        cached = cache / f"{key}.html"
        if not cached.exists():
            if not source.exists():
                raise RenderError(f"executed notebook of run {key[:8]} is missing: {source}")
            exporter = exporter or HTMLExporter(template_name="lab")
            body, _ = exporter.from_filename(str(source))
            atomic_write_text(cached, body)
        shutil.copy2(cached, out / f"{key[:16]}.html")


def _template_line(exc: BaseException, page: Path) -> int | None:
    """The line of the page being rendered where the error happened (Jinja maps frames to it)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == page.resolve():
            line = frame.lineno
    return line


def render_journal(project: Project) -> Path:
    site = project.site_config()
    plan = load_plan(project.plan_file)
    results = Results.load(project.results_dir)
    env = make_environment(project)
    labs = {name: {"name": name, "title": lab.title, "page": lab.page} for name, lab in plan.labs.items()}
    context = JournalContext(project, results, env, labs)
    globals_ = {
        "metric": context.metric,
        "best": context.best,
        "figure": context.figure,
        "table": context.table,
        "run_table": context.run_table,
        "has_results": context.has_results,
        "pending": context.pending,
        "claim": context.claim,
        "verdict": context.verdict,
        "claims_table": context.claims_table,
        "lab": context.lab,
        "results_profile": results.index.get("profile"),
        "data_sources": results.index.get("data", {}),
        "devices": sorted({row["device"] for row in results.runs if row.get("device")}),
        "build": {**build_environment(), "commit": results.index.get("project_commit")},
    }
    env.globals.update(globals_)

    staging = project.root / "_build.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for page in site.pages:
            source = project.journal_dir / page.source
            if not source.exists():
                raise RenderError(
                    f"{project.quarto_file}: page '{page.source}' is listed but {source} does not exist"
                )
            context.page = page.source
            text = protect_shortcodes(source.read_text(encoding="utf-8"))
            try:
                rendered = _render_file(env, source, text)
            except jinja2.TemplateSyntaxError as exc:
                raise RenderError(f"{source}:{exc.lineno}: template syntax error: {exc.message}") from exc
            except (jinja2.UndefinedError, ResultLookupError, TypeError, ValueError) as exc:
                line = _template_line(exc, source)
                where = f"{source}:{line}" if line else str(source)
                raise RenderError(f"{where}: {exc}") from exc
            (staging / page.source).write_text(BLANK_RUNS.sub("\n\n", rendered), encoding="utf-8")
        for use in context.figures:
            if not use.source.exists():
                raise RenderError(
                    f"{use.page}: figure '{use.name}' of run {use.run_key[:8]} is missing: {use.source}"
                )
            (staging / use.target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(use.source, staging / use.target)
        publish_notebooks(context.notebooks, project.results_dir / "html", staging / "runs")
        _write_quarto_config(project.quarto_file, staging / QUARTO_FILE, publish_runs=bool(context.notebooks))
        if site.bibliography:
            shutil.copy2(project.journal_dir / site.bibliography, staging / site.bibliography)
        atomic_write_json(
            staging / MANIFEST,
            {
                "pages": [page.source for page in site.pages],
                "figures": [
                    {
                        "page": u.page,
                        "lab": u.lab,
                        "name": u.name,
                        "path": u.target,
                        "run_key": u.run_key,
                        "notebook": u.notebook,
                        "caption": u.caption,
                    }
                    for u in context.figures
                ],
                "profile": results.index.get("profile"),
            },
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(project.build_dir, ignore_errors=True)
    staging.rename(project.build_dir)
    return project.build_dir


def _render_file(env: jinja2.Environment, source: Path, text: str) -> str:
    # Compile with the page's real file name so that Jinja's traceback lines point into it.
    code = env.compile(text, name=source.name, filename=str(source))
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return template.render()
