"""`labjournal build`: the rendered Quarto project in `_build/` becomes `_site/` and `journal.pdf`.

Two engines produce the same outputs from the same `_quarto.yml`:
- `quarto`: `quarto render` of the website, and of one combined document to typst for the PDF.
- `pandoc` (built in, used when Quarto is absent): pandoc renders each page to HTML with the
  templates in `templates/`, and the combined document to typst, which `typst` compiles to PDF.
  Citations are resolved by pandoc's citeproc in both outputs.

`auto` picks Quarto when the `quarto` command is on PATH.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rich.console import Console

from labjournal.build import builtin, quarto
from labjournal.build.combined import write_combined
from labjournal.build.digest import journal_digest, write_site_digest
from labjournal.build.pages import read_pages
from labjournal.errors import BuildError
from labjournal.files import refusal, staged_folder
from labjournal.project import PDF_NAME, Project, SiteConfig
from labjournal.render.freshness import BUILT, check_rendered, write_built
from labjournal.render.journal import MANIFEST


def choose_engine(requested: str) -> str:
    if requested == "auto":
        return "quarto" if shutil.which("quarto") else "pandoc"
    if requested == "quarto" and not shutil.which("quarto"):
        raise BuildError(
            "--engine quarto: the quarto command is not on PATH. Install Quarto (or `pip install -e .[quarto]` "
            "where the internet is reachable), or build with --engine pandoc."
        )
    return requested


def build_outputs(
    project: Project, engine: str = "auto", only: str | None = None, console: Console | None = None
) -> None:
    console = console or Console(stderr=True)
    check_site_folder(project)
    build_dir = project.build_dir
    record = check_rendered(project)  # never build a failed or stale render
    if not (build_dir / MANIFEST).exists():
        raise BuildError(f"{build_dir} holds no rendered journal: run `labjournal render` first")
    site = project.site_config()
    chosen = choose_engine(engine)
    console.print(f"Building with the {'Quarto' if chosen == 'quarto' else 'built-in pandoc + typst'} engine")
    pages = read_pages(build_dir, site)
    seeds = json.loads((build_dir / MANIFEST).read_text()).get("seeds", 0)
    note = (
        ""
        if project.is_default
        else f"Built from the {project.profile_name} profile ({seeds} seed{'s' if seeds != 1 else ''} "
        "per grid point): not the journal to submit"
    )
    digest = journal_digest(project)  # on the title page and in the site (labjournal.build.digest)
    write_combined(build_dir, site, pages, " — ".join(part for part in (note, digest.line()) if part))
    out = project.site_dir
    if only == "pdf":  # the site stays as it is, file for file; the PDF replaces the old one whole
        out.mkdir(parents=True, exist_ok=True)
        _pdf(chosen, project, site, out)
        write_site_digest(out, digest)
    else:
        # The site (and the PDF) are built into a fresh folder that replaces the old one only once
        # all is done: a failed build leaves the last good site and PDF, never half of each.
        with staged_folder(out) as fresh:
            if chosen == "quarto":
                quarto.quarto_site(project, fresh)
            else:
                builtin.pandoc_site(project, site, pages, fresh)
            write_site_digest(fresh, digest)
            if only is None:
                _pdf(chosen, project, site, fresh)
            elif (out / PDF_NAME).exists():
                shutil.copy2(out / PDF_NAME, fresh / PDF_NAME)
    write_built(project, record, chosen)
    if only in (None, "site"):
        console.print(f"Site: {out / 'index.html'}")
    if only in (None, "pdf"):
        console.print(f"PDF:  {out / PDF_NAME}")


def check_site_folder(project: Project) -> None:
    """The site folder is replaced whole: `_site` is labjournal's; a `project.output-dir` of the
    author's choosing must be at the project's top and new, empty or a site labjournal built."""
    out = project.site_dir
    own = out.name == f"_site{project.output_suffix}"
    why = refusal(out, project.root, None if own else BUILT)
    if why:
        raise BuildError(
            f"will not build the site into {out}: {why}; set project.output-dir in "
            f"{project.quarto_file.name} to a folder of labjournal's own (the default: _site)"
        )


def _pdf(engine: str, project: Project, site: SiteConfig, out: Path) -> None:
    if engine == "quarto":
        quarto.quarto_pdf(project, site, out)
    else:
        builtin.typst_pdf(project, site, out)
