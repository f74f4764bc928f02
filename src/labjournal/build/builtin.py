"""The built-in engine: pandoc renders each page to HTML with the templates in `templates/`, and the
combined document to typst, which `typst` compiles to the PDF; pagefind indexes the site."""

from __future__ import annotations

import concurrent.futures
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from labjournal.build.pages import COMBINED, author_files, read_pages, run_tool
from labjournal.errors import BuildError
from labjournal.files import copy_files
from labjournal.project import PDF_NAME, Page, Project, SiteConfig
from labjournal.render.journal import JOURNAL_CSS


def _pandoc() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


# The built-in engine's pandoc filters, in order: Quarto's cross-references first (before
# citeproc, which would take `@fig-x` for a citation), a References heading where citeproc would
# list references without one, then callouts, margin notes and tabsets, claim badges, figure alt text.
FILTERS = ("crossref.lua", "references.lua", "callouts.lua", "layout.lua", "badges.lua", "figures.lua")
SITE_ASSETS = ("site.css", JOURNAL_CSS, "search.js", "tabs.js")

SHORTCODE = re.compile(r"\{\{<\s*([\w-]+)([^>]*)>\}\}")
PAGEBREAK = '\n\n```{=html}\n<div class="pagebreak"></div>\n```\n\n```{=typst}\n#pagebreak()\n```\n\n'


def builtin_shortcodes(text: str, where: str) -> str:
    """Quarto shortcodes for the built-in engine: `{{< pagebreak >}}` becomes a page break in the
    PDF (and a marker in the HTML); any other shortcode is refused, naming it, rather than
    printed as it is."""

    def replace(match: re.Match) -> str:
        if match.group(1) == "pagebreak":
            return PAGEBREAK
        line = text.count("\n", 0, match.start()) + 1
        raise BuildError(
            f"{where}:{line}: the built-in engine does not support the Quarto shortcode "
            f"{match.group(0)} (it supports: pagebreak); build with Quarto (--engine quarto) or remove it"
        )

    return SHORTCODE.sub(replace, text)


def pandoc_site(
    project: Project,
    site: SiteConfig,
    pages: list[tuple[Page, dict, str]],
    out: Path,
    only: set[str] | None = None,
) -> None:
    """The built-in engine's site: every page (or the `only` ones, for `labjournal preview`)
    through pandoc with the page template, the assets, figures and executed notebooks."""
    _copy_site_files(project, out)
    nav = [{"href": page.html, "text": page.text or meta["title"]} for page, meta, _ in pages]
    render_page = functools.partial(_render_page, project, site, _pandoc_html(project, site), nav, pages, out)
    chosen = [i for i, (page, _meta, _body) in enumerate(pages) if only is None or page.source in only]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(render_page, chosen))
    if only is None:
        index_for_search(out, [page.html for page, _meta, _body in pages])


def _copy_site_files(project: Project, out: Path) -> None:
    """The site's assets, figures, executed notebooks and the author's own files."""
    build_dir = project.build_dir
    for asset in SITE_ASSETS:
        shutil.copy2(project.template(asset), out / asset)
    for folder in ("figures", "runs"):  # figures, and the executed notebooks they link to
        if (build_dir / folder).exists():
            shutil.copytree(build_dir / folder, out / folder, dirs_exist_ok=True)
    copy_files(author_files(build_dir), build_dir, out)  # the author's own images and files


def _pandoc_html(project: Project, site: SiteConfig) -> list[str]:
    """The pandoc command every page of the site goes through (its metadata and output added)."""
    command = [
        _pandoc(),
        "--from=markdown",
        "--to=html5",
        "--standalone",
        f"--template={project.template('page.html')}",
        *(f"--lua-filter={project.template(name)}" for name in FILTERS),
        "--toc",
        "--toc-depth=2",
        "--mathml",
        "--section-divs",
    ]
    if site.bibliography:
        command += [
            "--citeproc",
            f"--bibliography={project.build_dir / site.bibliography}",
            f"--csl={project.build_dir / site.csl}",
        ]
    return command


def _render_page(
    project: Project,
    site: SiteConfig,
    common: list[str],
    nav: list[dict],
    pages: list[tuple[Page, dict, str]],
    out: Path,
    position: int,
) -> None:
    """One page to HTML: the navigation with this page marked current, its neighbours as the pager."""
    build_dir = project.build_dir
    page, _meta, _body = pages[position]
    variables = {
        "site-title": site.title,
        "site-author": site.author,
        "pdf": PDF_NAME,
        "nav": [{**item, "current": i == position} for i, item in enumerate(nav)],
        "prev": nav[position - 1] if position > 0 else None,
        "next": nav[position + 1] if position + 1 < len(nav) else None,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({k: v for k, v in variables.items() if v is not None}, handle)
    try:
        run_tool(
            common + [f"--metadata-file={handle.name}", "-o", str(out / page.html)],
            build_dir,
            f"pandoc ({page.source} -> HTML)",
            stdin=builtin_shortcodes((build_dir / page.source).read_text(encoding="utf-8"), page.source),
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)


def rebuild_pages(project: Project, sources: set[str]) -> None:
    """Rebuild some pages of the built-in engine's site in place (`labjournal preview`): the
    rendered pages in `_build/` that changed, with any new figures and notebooks; the search
    index and the PDF are left to a full build."""
    site = project.site_config()
    pages = read_pages(project.build_dir, site)
    pandoc_site(project, site, pages, project.site_dir, only=sources)


def index_for_search(site: Path, pages: list[str]) -> None:
    """Pagefind's index of the journal pages (not of the executed notebooks under runs/), in
    `pagefind/`, with the search box's script and style. Only the `<main data-pagefind-body>` of
    each page is indexed: navigation, contents and pager are left out."""
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--glob", "*.html", "--silent"]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BuildError(
            f"pagefind could not index the site in {site} (exit {completed.returncode}):\n"
            f"{(completed.stderr or completed.stdout).strip()}\n"
            'Is the pagefind binary installed? `pip install "pagefind[bin]"` installs it.'
        )
    entry = site / "pagefind" / "pagefind-entry.json"
    try:
        languages = json.loads(entry.read_text())["languages"]
        indexed = sum(language["page_count"] for language in languages.values())
    except (OSError, ValueError, KeyError) as exc:
        raise BuildError(f"pagefind ran but its index is unreadable: {entry} ({exc})") from exc
    if indexed != len(pages):
        raise BuildError(
            f"pagefind indexed {indexed} pages of {site}, expected the {len(pages)} journal pages"
        )


def typst_pdf(project: Project, site: SiteConfig, out: Path) -> None:
    import typst

    build_dir = project.build_dir
    command = [
        _pandoc(),
        "--from=markdown",
        "--to=typst",
        "--standalone",
        f"--template={project.template('journal.typ')}",
        *(f"--lua-filter={project.template(name)}" for name in FILTERS),
        "-o",
        "journal.typ",
    ]
    if site.bibliography:  # after the filters: cross-references are not citations
        command[-2:-2] = ["--citeproc", f"--bibliography={site.bibliography}", f"--csl={site.csl}"]
    combined = builtin_shortcodes((build_dir / COMBINED).read_text(encoding="utf-8"), COMBINED)
    run_tool(command, build_dir, "pandoc (journal -> typst)", stdin=combined)
    try:
        pdf = typst.compile(str(build_dir / "journal.typ"), root=str(build_dir))
    except Exception as exc:  # typst reports source errors as its own exception types
        raise BuildError(f"typst could not compile {build_dir / 'journal.typ'}:\n{exc}") from exc
    tmp = out / f".{PDF_NAME}.tmp"
    tmp.write_bytes(pdf)
    tmp.replace(out / PDF_NAME)
