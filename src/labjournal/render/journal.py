"""`labjournal render`: the author's prose plus the results become a Quarto project in `_build/`.

Each page listed in `_quarto.yml` is a Markdown file in `report/` with Jinja expressions. Jinja runs
with StrictUndefined, so a misspelt name, a missing metric or grid point is an error naming the
page, the line and what exists. Quarto shortcodes (`{{< ... >}}`) pass through untouched.

Rendering takes two passes: every page, then again the pages that list what the others placed
(the Claims page), so that no page depends on the order of the pages. Templates in `templates/`
lay out the blocks the prose places (labjournal.render.blocks).

The journal is rendered into a fresh folder that replaces `_build/` only once everything rendered,
so a failing render leaves the previous build in place.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from labjournal.errors import RenderError, ResultLookupError
from labjournal.files import atomic_write_json, copy_files, refusal, staged_folder
from labjournal.plan.model import load_plan
from labjournal.project import PDF_NAME, Project, SiteConfig
from labjournal.records import KEY_SHOWN, short_key
from labjournal.render.blocks import Figures, Tables
from labjournal.render.cells import executable_cell_problems
from labjournal.render.claim_blocks import ClaimBlocks
from labjournal.render.crossref import (
    bibliography_keys,
    reference_problems,
    resolve_section_references,
    target_problems,
)
from labjournal.render.freshness import write_render
from labjournal.render.notebook_pages import publish_notebooks
from labjournal.render.placements import Placements
from labjournal.render.problems import Problems, tolerant
from labjournal.render.prose import RenderState, prose_functions
from labjournal.render.quarto_project import JOURNAL_CSS, write_default_csl, write_quarto_config
from labjournal.render.templating import (
    BLANK_RUNS,
    after_front_matter,
    make_environment,
    protect_shortcodes,
    render_file,
    template_line,
)
from labjournal.render.unplaced import unplaced_claims
from labjournal.render.values import Values
from labjournal.results.lookup import Results
from labjournal.run.provenance import build_environment

__all__ = ["JOURNAL_CSS", "MANIFEST", "render_journal"]

MANIFEST = "manifest.json"  # what the render placed: pages, figures, the author's files


def render_journal(project: Project) -> tuple[Path, list[str]]:
    """Render every page into the profile's build folder. Returns it and the failed runs whose
    values became notes. Records what it consumed and whether it succeeded (labjournal.render.freshness)."""
    try:
        out, failed, warnings = _render(project)
    except BaseException as exc:
        write_render(project, ok=False, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    write_render(project, ok=True, failed=failed, warnings=warnings)
    return out, failed


@dataclass
class Renderer:
    """One render of the journal: the prose functions bound to its state, and the pages' text."""

    project: Project
    site: SiteConfig
    state: RenderState
    claims: ClaimBlocks
    globals_: dict[str, Any]
    banner: str
    failed: list[str]
    problems: Problems  # every problem of the render, reported at once (labjournal.render.problems)
    checked: list[tuple[str, str, str, str]] = field(default_factory=list)  # pages, as the checks read them

    @classmethod
    def open(cls, project: Project) -> Renderer:
        plan = load_plan(project.plan_file)
        results = Results.load(project.results_dir, project.index_path.name)
        labs = {name: {"name": name, "title": lab.title, "page": lab.page} for name, lab in plan.labs.items()}
        state = RenderState(project, results, make_environment(project), labs, Placements())
        state.inputs = {
            (lab, name): list(spec.inputs)
            for lab, spec_of_lab in plan.labs.items()
            for name, spec in spec_of_lab.notebooks.items()
            if spec.inputs
        }
        claims = ClaimBlocks(state)
        problems = Problems()
        functions = prose_functions(Values(state), Figures(state), Tables(state), claims)
        globals_: dict[str, Any] = {name: tolerant(f, state, problems) for name, f in functions.items()}
        globals_.update(
            results_profile=results.index.profile,
            data_sources=results.index.data,
            devices=sorted({row.device for row in results.runs if row.device}),
            build={**build_environment(), "commit": results.index.project_commit},
        )
        state.env.globals.update(globals_)
        banner = _profile_banner(project, results)
        return cls(project, project.site_config(), state, claims, globals_, banner, state.failed, problems)

    def page(self, name: str) -> tuple[str, str] | None:
        """One page rendered: (its text with Jinja, as the author wrote it; the rendered text);
        None where an error stopped it (noted in the problems, as the prose functions' are)."""
        source = self.project.report_dir / name
        shown = f"{self.project.report_dir.name}/{name}"  # errors name the page as the author sees it
        self.state.page = name
        text = protect_shortcodes(source.read_text(encoding="utf-8"))
        try:
            rendered = render_file(self.state.env, source, text)
        except jinja2.TemplateSyntaxError as exc:
            self.problems.at(shown, exc.lineno, f"template syntax error: {exc.message}")
            return None
        except (jinja2.UndefinedError, ResultLookupError, TypeError, ValueError) as exc:
            line = template_line(exc, source)
            if not self.problems.noted(shown, line):  # else it follows from the problem noted there
                self.problems.at(shown, line, self._explain(exc))
            return None
        return text, BLANK_RUNS.sub("\n\n", after_front_matter(rendered, self.banner))

    def _explain(self, exc: BaseException) -> str:
        message = str(exc)
        if isinstance(exc, jinja2.UndefinedError) and " is undefined" in message:
            calls = ", ".join(sorted(n for n in self.globals_ if callable(self.globals_[n])))
            values = ", ".join(sorted(n for n in self.globals_ if not callable(self.globals_[n])))
            message += f" (the prose can call: {calls}; and use: {values})"
        return message

    def pages(self, staging: Path) -> None:
        """Both passes: every page, then the pages asking for what all pages placed; then the
        cross-references of the pages that rendered, as they stand."""
        rendered: dict[str, tuple[str, str] | None] = {}
        for page in self.site.pages:
            rendered[page.source] = self.page(page.source)
        for name in sorted(self.claims.second_pass):
            self.state.placements.forget(name)
            rendered[name] = self.page(name)
        done = {name: both for name, both in rendered.items() if both is not None}
        for name, (_text, out) in done.items():  # `@sec-x` as the heading's title, for both engines
            (staging / name).write_text(resolve_section_references(out), encoding="utf-8")
        report = self.project.report_dir.name
        self.checked = [(name, out, text, f"{report}/{name}") for name, (text, out) in done.items()]
        self.problems.add(reference_problems(self.checked))
        self.problems.add(executable_cell_problems(self.checked))

    def check_targets(self, files: list[str]) -> None:
        """Images, local links and citations of the rendered pages point at something. Then every
        problem found so far is reported, at once."""
        placements = self.state.placements
        available = set(files) | {PDF_NAME} | {use.target for use in placements.figures}
        available |= {f"runs/{short_key(key)}.html" for key in placements.notebooks}
        available |= set(placements.generated)  # the Claims page's plots and grid-point pages
        available |= {name for page in self.site.pages for name in (page.source, page.html)}
        bibliography = self.site.bibliography
        keys = bibliography_keys(self.project.report_dir / bibliography) if bibliography else None
        self.problems.add(target_problems(self.checked, available, keys, bibliography))
        self.problems.raise_any([page.source for page in self.site.pages])


def _profile_banner(project: Project, results: Results) -> str:
    """On every page of a build that is not the journal's own profile, say so."""
    if project.is_default:
        return ""
    seeds = sorted({row.seed for row in results.runs if row.seed is not None})
    return (
        f"::: {{.callout-warning}}\n## Not the journal to submit\n\nBuilt from the **{project.profile_name}** "
        f"profile ({len(seeds)} seed{'s' if len(seeds) != 1 else ''} per grid point), not the journal's "
        f"**{project.default_profile}** profile: `make report` builds that one.\n:::\n\n"
    )


def _check_listed(project: Project, site: SiteConfig) -> None:
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
    for page in site.pages:
        if not (project.report_dir / page.source).exists():
            raise RenderError(
                f"{project.quarto_file}: page '{page.source}' is listed but "
                f"{project.report_dir / page.source} does not exist"
            )


def _render(project: Project) -> tuple[Path, list[str], list[str]]:
    site = project.site_config()
    _check_listed(project, site)
    renderer = Renderer.open(project)
    if why := refusal(project.build_dir, project.root):  # a profile's name could lead elsewhere
        raise RenderError(f"will not render into {project.build_dir}: {why}; rename the profile")
    with staged_folder(project.build_dir) as staging:
        renderer.pages(staging)
        files = _copy_author_files(project, site, staging)
        renderer.check_targets(files)
        placements = renderer.state.placements
        for use in placements.figures:
            if not use.source.exists():
                raise RenderError(
                    f"{use.page}: figure '{use.name}' of run {short_key(use.run_key, KEY_SHOWN)} is missing: "
                    f"{use.source}"
                )
            (staging / use.target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(use.source, staging / use.target)
        for target, content in placements.generated.items():
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            (staging / target).write_bytes(content)
        publish_notebooks(
            placements.notebooks,
            project.results_dir / "html",
            staging / "runs",
            project.root,
            placements.notebook_titles,
            home=(site.title, site.pages[0].html) if site.pages else None,
        )
        write_quarto_config(project, staging, publish_runs=bool(placements.notebooks), files=files)
        _write_manifest(staging, site, placements, renderer.state.results, files)
    claims = renderer.claims
    placed = set(renderer.state.placements.claim_pages)
    warnings = unplaced_claims(project.report_dir, list(claims.claims), placed, bool(claims.second_pass))
    return project.build_dir, sorted(set(renderer.failed)), warnings


def _copy_author_files(project: Project, site: SiteConfig, staging: Path) -> list[str]:
    """The author's images and files, beside the pages as in report/; the citation style."""
    files = project.author_files()
    copy_files(files, project.report_dir, staging)
    if site.bibliography and site.bibliography not in files:
        raise RenderError(
            f"{project.quarto_file}: bibliography '{site.bibliography}' is not a file in "
            f"{project.report_dir.name}/ (it is read from there, beside the pages)"
        )
    if site.bibliography and site.csl not in files:
        write_default_csl(staging / site.csl)
    return files


def _write_manifest(
    staging: Path, site: SiteConfig, placements: Placements, results: Results, files: list[str]
) -> None:
    figures = [
        {
            "page": u.page,
            "lab": u.lab,
            "name": u.name,
            "path": u.target,
            "run_key": u.run_key,
            "notebook": u.notebook,
            "caption": u.caption,
        }
        for u in placements.figures
    ]
    atomic_write_json(
        staging / MANIFEST,
        {
            "pages": [page.source for page in site.pages],
            "figures": figures,
            "files": files,
            "profile": results.index.profile,
            "seeds": len({row.seed for row in results.runs if row.seed is not None}),
        },
    )
