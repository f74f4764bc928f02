"""`labjournal render`: the author's prose plus the results become a Quarto project in `_build/`.

Each page listed in `_quarto.yml` is a Markdown file in `report/` with Jinja expressions. Jinja runs
with StrictUndefined, so a misspelt name, a missing metric or grid point is an error naming the
page, the line and what exists. Quarto shortcodes (`{{< ... >}}`) pass through untouched.

Templates in `templates/` lay out the blocks the prose places: figures (caption with parameters,
seeds, data variant and run), result tables, and notes for labs that have not run yet.

The journal is rendered into a fresh folder that replaces `_build/` only once everything rendered,
so a failing render leaves the previous build in place.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import yaml
from markupsafe import Markup

from labjournal.errors import RenderError
from labjournal.files import atomic_write_json, atomic_write_text
from labjournal.plan.model import load_plan
from labjournal.project import QUARTO_FILE, SHIPPED_TEMPLATES, Project
from labjournal.render.crossref import check_references
from labjournal.render.formatting import NotRun, attribute_text, escape_data, markdown_text
from labjournal.render.formatting import format_aggregate_or_note as _shown
from labjournal.render.freshness import write_render
from labjournal.render.prose import JournalContext
from labjournal.run.provenance import build_environment
from labjournal.run.results import FailedRunsError, ResultLookupError, Results

SHORTCODE = re.compile(r"\{\{<(.*?)>\}\}", re.DOTALL)
MANIFEST = "manifest.json"
BLANK_RUNS = re.compile(r"\n{3,}")  # left behind by {% set %} and {% if %} lines


def protect_shortcodes(text: str) -> str:
    """Wrap Quarto shortcodes in raw blocks so Jinja leaves them for Quarto."""
    return SHORTCODE.sub(lambda m: "{% raw %}{{<" + m.group(1) + ">}}{% endraw %}", text)


def make_environment(project: Project) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            [str(project.report_dir), str(project.templates_dir), str(SHIPPED_TEMPLATES)]
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=escape_data,
        autoescape=False,
        # Pandoc attributes start with "{#" ({#fig-id}, {#refs}); Jinja comments use "{##" instead.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters["md"] = markdown_text
    env.filters["attr"] = attribute_text
    # Numbers formatted by the engine: digits, %, ±, "n = 3"; nothing from data.
    env.filters["pct"] = lambda agg, digits=1: Markup(_shown(agg, digits=digits, percent=True))
    env.filters["num"] = lambda agg, digits=3: Markup(_shown(agg, digits=digits))
    env.filters["mean_pct"] = lambda agg, digits=1: Markup(
        _shown(agg, digits=digits, percent=True, spread=False)
    )
    env.filters["mean"] = lambda agg, digits=3: Markup(_shown(agg, digits=digits, spread=False))
    return env


JOURNAL_CSS = "journal.css"  # the journal's blocks (claim badges, captions), styled under both engines
BOOK_ONLY_KEYS = ("subtitle", "date")  # the PDF's title page keeps them; no web page inherits them


def quarto_config(config: dict[str, Any], publish_runs: bool, files: Sequence[str] = ()) -> dict[str, Any]:
    """The `_quarto.yml` of the generated project in `_build/`, from the project's own.

    - The journal's stylesheet is listed under `format.html.css`, so claim badges, figure and
      table captions look the same as on the built-in site.
    - Top-level `subtitle` and `date` are dropped: Quarto gives every page the project-level
      metadata, so each page would show the book's subtitle and date under its own title. The
      combined document of the PDF still carries them (see `build.write_combined`).
    - `runs/*.html`, the executed notebooks the captions link to, are a project resource, so
      `quarto render` publishes them with the site."""
    config = copy.deepcopy(config)
    for key in BOOK_ONLY_KEYS:
        config.pop(key, None)
    formats = config.setdefault("format", {})
    html = formats.get("html")
    if not isinstance(html, dict):
        html = formats["html"] = {}
    css = html.get("css") or []
    css = [css] if isinstance(css, str) else list(css)
    if JOURNAL_CSS not in css:
        css.append(JOURNAL_CSS)
    html["css"] = css
    published = list(files)  # the author's own files, linked or not
    if publish_runs:
        published += ["runs/*.html", f"runs/{NOTEBOOK_CSS}"]  # the run pages and their stylesheet
    if published:
        project = config.setdefault("project", {})
        resources = project.get("resources") or []
        resources = [resources] if isinstance(resources, str) else list(resources)
        resources += [name for name in published if name not in resources]
        project["resources"] = resources
    return config


def write_default_csl(target: Path) -> None:
    """Pandoc's default citation style (Chicago author-date), which the built-in engine uses
    anyway, written out so that Quarto's site and PDF use the very same file."""
    import pypandoc

    style = subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "default.csl"],
        capture_output=True,
        check=True,
    ).stdout
    target.write_bytes(style)


def _write_quarto_config(project: Project, target: Path, publish_runs: bool, files: list[str]) -> None:
    raw = yaml.safe_load(project.quarto_file.read_text(encoding="utf-8")) or {}
    config = quarto_config(raw, publish_runs, [f for f in files if not f.endswith((".bib", ".csl"))])
    if config.get("bibliography"):
        config.setdefault("csl", project.site_config().csl)
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy2(project.template(JOURNAL_CSS), target.parent / JOURNAL_CSS)


NOTEBOOK_TEMPLATES = Path(__file__).parents[1] / "nbtemplates"
NOTEBOOK_PAGE_VERSION = "offline-3"  # part of the cache name: a new template converts again
NOTEBOOK_CSS = "notebook.css"


def publish_notebooks(
    notebooks: dict[str, Path], cache: Path, out: Path, root: Path, titles: dict[str, str] | None = None
) -> None:
    """Executed notebooks as HTML (nbconvert, the `offline` template: no script from the
    network), one page per run key, titled with the notebook and its parameters, and with this
    machine's paths taken out of the outputs (`clean_paths`). The HTML of a run never changes, so
    it is converted once and kept beside the results store."""
    if not notebooks:
        return
    from nbconvert import HTMLExporter

    exporter = None
    out.mkdir(parents=True, exist_ok=True)
    for key, source in notebooks.items():
        cached = cache / f"{key}.{NOTEBOOK_PAGE_VERSION}.html"
        if not cached.exists():
            if not source.exists():
                raise RenderError(f"executed notebook of run {key[:8]} is missing: {source}")
            exporter = exporter or HTMLExporter(
                template_name="offline", extra_template_basedirs=[str(NOTEBOOK_TEMPLATES)]
            )
            notebook = clean_paths(nbformat.read(str(source), as_version=4), root)
            title = (titles or {}).get(key) or source.parent.name
            body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
            atomic_write_text(cached, body)
        shutil.copy2(cached, out / f"{key[:16]}.html")
    stylesheet = cache / f"notebook.{NOTEBOOK_PAGE_VERSION}.css"
    if not stylesheet.exists():
        atomic_write_text(stylesheet, _lab_stylesheet())
    shutil.copy2(stylesheet, out / NOTEBOOK_CSS)


def clean_paths(notebook: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """The outputs of an executed notebook without this machine's paths: a run's folder (where
    it ran, or its staging folder) becomes `<run>`, the project's folder `<project>`, the home
    folder `~`. Published pages must not show where the journal was built."""
    project = re.escape(str(root.resolve()))
    rules = [
        (re.compile(project + r"/results/(?:\.staging|runs(?:/[^/\s'\"]+){2})/[^/\s'\"]+"), "<run>"),
        (re.compile(project), "<project>"),
        (re.compile(re.escape(str(Path.home()))), "~"),
    ]

    def clean(text: str) -> str:
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            if "traceback" in output:
                output["traceback"] = [clean(line) for line in output["traceback"]]
            for kind in ("text/plain", "text/html", "text/markdown"):
                if kind in output.get("data", {}):
                    value = output["data"][kind]
                    output["data"][kind] = clean("".join(value) if isinstance(value, list) else value)
    return notebook


def _lab_stylesheet() -> str:
    """The styles nbconvert's lab template inlines into every page, taken once from the export of
    an empty notebook, for the pages to share as one file."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.v4.new_notebook())
    head = body.split("</head>", 1)[0]
    return "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", head, flags=re.DOTALL))


def _template_line(exc: BaseException, page: Path) -> int | None:
    """The line of the page being rendered where the error happened (Jinja maps frames to it)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == page.resolve():
            line = frame.lineno
    return line


def render_journal(project: Project) -> tuple[Path, list[str]]:
    """Render every page into the profile's build folder. Returns it and the failed runs whose
    values became notes. Records what it consumed and whether it succeeded (labjournal.render.freshness)."""
    try:
        out, failed = _render(project)
    except BaseException as exc:
        write_render(project, ok=False, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    write_render(project, ok=True, failed=failed)
    return out, failed


def _tolerant(function: Any, block: bool, failed: list[str]) -> Any:
    """A prose function that turns "its runs failed" into a note instead of stopping the journal."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except FailedRunsError as exc:
            failed.append(exc.where)
            note = NotRun(exc.lab, failed=exc.where)
            return note.note() if block else note

    return call


BLOCK_FUNCTIONS = ("figure", "table", "run_table")  # place a block; values: metric, best


def _tolerating_failed_runs(globals_: dict[str, Any], failed: list[str]) -> dict[str, Any]:
    """The prose functions, those that need runs turning "its runs failed" into notes."""
    for name in ("metric", "best", *BLOCK_FUNCTIONS):
        globals_[name] = _tolerant(globals_[name], name in BLOCK_FUNCTIONS, failed)
    return globals_


def _profile_banner(project: Project, results: Results) -> str:
    """On every page of a build that is not the journal's own profile, say so."""
    if project.is_default:
        return ""
    seeds = sorted({row["seed"] for row in results.runs if row.get("seed") is not None})
    return (
        f"::: {{.callout-warning}}\n## Not the journal to submit\n\nBuilt from the **{project.profile_name}** "
        f"profile ({len(seeds)} seed{'s' if len(seeds) != 1 else ''} per grid point), not the journal's "
        f"**{project.default_profile}** profile: `make report` builds that one.\n:::\n\n"
    )


def _render(project: Project) -> tuple[Path, list[str]]:
    site = project.site_config()
    plan = load_plan(project.plan_file)
    results = Results.load(project.results_dir, project.index_path.name)
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
        "claims_method": context.claims_method,
        "lab": context.lab,
        "results_profile": results.index.get("profile"),
        "data_sources": results.index.get("data", {}),
        "devices": sorted({row["device"] for row in results.runs if row.get("device")}),
        "build": {**build_environment(), "commit": results.index.get("project_commit")},
    }
    failed: list[str] = []
    env.globals.update(_tolerating_failed_runs(globals_, failed))
    banner = _profile_banner(project, results)

    listed = {page.source for page in site.pages}
    unlisted = sorted(
        p.name
        for p in project.report_dir.glob("*.qmd")
        if p.name not in listed and not p.name.startswith("_")
    )
    if unlisted:
        raise RenderError(
            f"{project.quarto_file}: {', '.join(f'{project.report_dir.name}/{n}' for n in unlisted)} "
            "is not listed in website.sidebar.contents, so it would not be built; list it, or name it "
            "with a leading '_' if it is included by other pages"
        )
    staging = project.root / f"_build{project.output_suffix}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    checked: list[tuple[str, str, str, str]] = []  # what crossref.check_references reads
    try:
        for page in site.pages:
            source = project.report_dir / page.source
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
                message = str(exc)
                if isinstance(exc, jinja2.UndefinedError) and " is undefined" in message:
                    calls = ", ".join(sorted(n for n in globals_ if callable(globals_[n])))
                    values = ", ".join(sorted(n for n in globals_ if not callable(globals_[n])))
                    message += f" (the prose can call: {calls}; and use: {values})"
                raise RenderError(f"{where}: {message}") from exc
            rendered = BLANK_RUNS.sub("\n\n", _after_front_matter(rendered, banner))
            (staging / page.source).write_text(rendered, encoding="utf-8")
            checked.append((page.source, rendered, text, f"{project.report_dir.name}/{page.source}"))
        check_references(checked)
        files = project.author_files()
        if site.bibliography and site.csl not in files:
            write_default_csl(staging / site.csl)
        if site.bibliography and site.bibliography not in files:
            raise RenderError(
                f"{project.quarto_file}: bibliography '{site.bibliography}' is not a file in "
                f"{project.report_dir.name}/ (it is read from there, beside the pages)"
            )
        for name in files:  # the author's images and files, beside the pages as in report/
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project.report_dir / name, staging / name)
        for use in context.figures:
            if not use.source.exists():
                raise RenderError(
                    f"{use.page}: figure '{use.name}' of run {use.run_key[:8]} is missing: {use.source}"
                )
            (staging / use.target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(use.source, staging / use.target)
        publish_notebooks(
            context.notebooks,
            project.results_dir / "html",
            staging / "runs",
            project.root,
            context.notebook_titles,
        )
        _write_quarto_config(
            project, staging / QUARTO_FILE, publish_runs=bool(context.notebooks), files=files
        )
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
                "files": files,
                "profile": results.index.get("profile"),
                "seeds": len({row["seed"] for row in results.runs if row.get("seed") is not None}),
            },
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(project.build_dir, ignore_errors=True)
    staging.rename(project.build_dir)
    return project.build_dir, sorted(set(failed))


def _after_front_matter(text: str, banner: str) -> str:
    """`banner` placed after a page's YAML front matter (or at its top)."""
    if not banner:
        return text
    match = re.match(r"---\n.*?\n---\n", text, flags=re.DOTALL)
    at = match.end() if match else 0
    return text[:at] + "\n" + banner + text[at:]


def _render_file(env: jinja2.Environment, source: Path, text: str) -> str:
    # Compile with the page's real file name so that Jinja's traceback lines point into it.
    code = env.compile(text, name=source.name, filename=str(source))
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return template.render()
