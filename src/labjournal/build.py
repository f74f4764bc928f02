"""`labjournal build`: the rendered Quarto project in `_build/` becomes `_site/` and `journal.pdf`.

Two engines produce the same outputs from the same `_quarto.yml`:
- `quarto`: `quarto render` of the website, and of one combined document to typst for the PDF.
- `pandoc` (built in, used when Quarto is absent): pandoc renders each page to HTML with the
  templates in `templates/`, and the combined document to typst, which `typst` compiles to PDF.
  Citations are resolved by pandoc's citeproc in both outputs.

`auto` picks Quarto when the `quarto` command is on PATH.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from rich.console import Console

from labjournal.errors import BuildError, LabjournalError
from labjournal.freshness import check_rendered, write_built
from labjournal.project import PDF_NAME, Page, Project, SiteConfig
from labjournal.render import JOURNAL_CSS, MANIFEST

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
COMBINED = "_journal.qmd"  # underscore: Quarto does not render it as a site page


def choose_engine(requested: str) -> str:
    if requested == "auto":
        return "quarto" if shutil.which("quarto") else "pandoc"
    if requested == "quarto" and not shutil.which("quarto"):
        raise BuildError(
            "--engine quarto: the quarto command is not on PATH. Install Quarto (or `pip install -e .[quarto]` "
            "where the internet is reachable), or build with --engine pandoc."
        )
    return requested


def split_front_matter(text: str, source: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise BuildError(f"{source}: the YAML front matter is invalid: {exc}") from exc
    return meta, text[match.end() :]


def build_outputs(
    project: Project, engine: str = "auto", only: str | None = None, console: Console | None = None
) -> None:
    console = console or Console(stderr=True)
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
    write_combined(build_dir, site, pages, note)
    out = project.site_dir
    out.mkdir(parents=True, exist_ok=True)
    if only in (None, "site"):
        # The site is built into a fresh folder and swapped in, so pages and figures of an
        # earlier build never linger; the PDF is carried over unless it is rebuilt below.
        fresh = out.with_name(out.name + ".tmp")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        if chosen == "quarto":
            _quarto_site(project, fresh)
        else:
            _pandoc_site(project, site, pages, fresh)
        if (out / PDF_NAME).exists():
            shutil.copy2(out / PDF_NAME, fresh / PDF_NAME)
        retired = out.with_name(out.name + ".old")
        shutil.rmtree(retired, ignore_errors=True)
        out.rename(retired)
        fresh.rename(out)
        shutil.rmtree(retired, ignore_errors=True)
    if only in (None, "pdf"):
        if chosen == "quarto":
            _quarto_pdf(project, site, out)
        else:
            _typst_pdf(project, site, out)
    write_built(project, record)
    if only in (None, "site"):
        console.print(f"Site: {out / 'index.html'}")
    if only in (None, "pdf"):
        console.print(f"PDF:  {out / PDF_NAME}")


def author_files(build_dir: Path) -> list[str]:
    """The author's files the render copied beside the pages (images, data, styles)."""
    manifest = build_dir / MANIFEST
    return json.loads(manifest.read_text()).get("files", []) if manifest.exists() else []


def read_pages(build_dir: Path, site: SiteConfig) -> list[tuple[Page, dict, str]]:
    pages = []
    for page in site.pages:
        path = build_dir / page.source
        meta, body = split_front_matter(path.read_text(encoding="utf-8"), str(path))
        if "title" not in meta:
            raise BuildError(f"{page.source}: the page has no title in its front matter")
        pages.append((page, meta, body))
    return pages


EVIDENCE_NOTE = (
    "\n::: {.callout-note}\n## Where the evidence lives\n\nEvery number, figure and table here comes "
    "from an executed notebook published with this journal's website (its `runs/` folder), named "
    "in each caption by its run key. Set `website.site-url` in `_quarto.yml` to the address the site "
    "is published at, and this PDF links to each of them.\n:::\n"
)
_RELATIVE_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\((?!(?:[a-z][a-z0-9+.-]*:|#|/))([^)\s]+)\)")


def pdf_links(markdown: str, site_url: str, pages: set[str] | None = None) -> str:
    """A PDF travels alone: a link to one of the journal's pages becomes a link to that chapter;
    other relative links (not images) go to the published site (`website.site-url`), or, with
    no address known, become plain text rather than links that point nowhere."""

    def relink(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        page = target.partition("#")[0]
        if page in (pages or set()):  # to the page's own heading (every page is a chapter)
            return f"[{text}](#page-{Path(page).stem})"
        return f"[{text}]({site_url}/{target})" if site_url else text

    return _RELATIVE_LINK.sub(relink, markdown)


def write_combined(
    build_dir: Path, site: SiteConfig, pages: list[tuple[Page, dict, str]], note: str = ""
) -> Path:
    """One document of every page in order, each page a level-1 section: the PDF's source. A
    `note` (a build of another profile) goes into the title page's subtitle."""
    subtitle = " — ".join(part for part in (site.subtitle, note) if part)
    meta = {
        "title": site.title,
        "subtitle": subtitle or None,
        "author": site.author or None,
        "date": site.date or None,
        # A bare year is not a full date: without this Quarto prints "January 1, 2026".
        "date-format": "YYYY" if re.fullmatch(r"\d{4}", site.date or "") else None,
        "bibliography": site.bibliography,
        "csl": site.csl if site.bibliography else None,
        "citeproc": bool(site.bibliography),  # Quarto's typst PDF: pandoc's citeproc, not typst's
        "toc": True,
        "toc-depth": 2,
        "link-citations": True,
    }
    parts = ["---\n" + yaml.safe_dump({k: v for k, v in meta.items() if v}, sort_keys=False) + "---\n"]
    if not site.site_url:
        parts.append(EVIDENCE_NOTE)
    html_pages = {page.html for page, _, _ in pages}
    for page, page_meta, body in pages:
        anchor = Path(page.source).stem
        body = pdf_links(body.strip(), site.site_url, html_pages)
        parts.append(f"\n# {page_meta['title']} {{#page-{anchor}}}\n\n{body}\n")
    path = build_dir / COMBINED
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Built-in engine


def _pandoc() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


# The built-in engine's pandoc filters, in order: Quarto's cross-references first (before
# citeproc, which would take `@fig-x` for a citation), then callouts, margin notes and tabsets,
# claim badges, figure alt text.
FILTERS = ("crossref.lua", "callouts.lua", "layout.lua", "badges.lua", "figures.lua")
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


def _run(command: list[str], cwd: Path, what: str, stdin: str | None = None) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, input=stdin)
    if completed.returncode != 0:
        raise BuildError(f"{what} failed (exit {completed.returncode}):\n{completed.stderr.strip()}")


def _pandoc_site(
    project: Project,
    site: SiteConfig,
    pages: list[tuple[Page, dict, str]],
    out: Path,
    only: set[str] | None = None,
) -> None:
    """The built-in engine's site: every page (or the `only` ones, for `labjournal preview`)
    through pandoc with the page template, the assets, figures and executed notebooks."""
    build_dir = project.build_dir
    for asset in SITE_ASSETS:
        shutil.copy2(project.template(asset), out / asset)
    for folder in ("figures", "runs"):  # figures, and the executed notebooks they link to
        if (build_dir / folder).exists():
            shutil.copytree(build_dir / folder, out / folder, dirs_exist_ok=True)
    for name in author_files(build_dir):  # the author's own images and files, as in report/
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_dir / name, out / name)
    nav = [{"href": page.html, "text": page.text or meta["title"]} for page, meta, _ in pages]
    common = [
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
        common += [
            "--citeproc",
            f"--bibliography={build_dir / site.bibliography}",
            f"--csl={build_dir / site.csl}",
        ]

    def render_page(position: int) -> None:
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
            _run(
                common + [f"--metadata-file={handle.name}", "-o", str(out / page.html)],
                build_dir,
                f"pandoc ({page.source} -> HTML)",
                stdin=builtin_shortcodes((build_dir / page.source).read_text(encoding="utf-8"), page.source),
            )
        finally:
            Path(handle.name).unlink(missing_ok=True)

    chosen = [i for i, (page, _meta, _body) in enumerate(pages) if only is None or page.source in only]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(render_page, chosen))
    if only is None:
        index_for_search(out, [page.html for page, _meta, _body in pages])


def rebuild_pages(project: Project, sources: set[str]) -> None:
    """Rebuild some pages of the built-in engine's site in place (`labjournal preview`): the
    rendered pages in `_build/` that changed, with any new figures and notebooks; the search
    index and the PDF are left to a full build."""
    site = project.site_config()
    pages = read_pages(project.build_dir, site)
    _pandoc_site(project, site, pages, project.site_dir, only=sources)


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


def _typst_pdf(project: Project, site: SiteConfig, out: Path) -> None:
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
    _run(command, build_dir, "pandoc (journal -> typst)", stdin=combined)
    try:
        pdf = typst.compile(str(build_dir / "journal.typ"), root=str(build_dir))
    except Exception as exc:  # typst reports source errors as its own exception types
        raise BuildError(f"typst could not compile {build_dir / 'journal.typ'}:\n{exc}") from exc
    tmp = out / f".{PDF_NAME}.tmp"
    tmp.write_bytes(pdf)
    tmp.replace(out / PDF_NAME)


# --------------------------------------------------------------------------------------------
# Quarto engine


def _quarto() -> str:
    quarto = shutil.which("quarto")
    if quarto is None:  # choose_engine checked; PATH may have changed since
        raise LabjournalError("quarto disappeared from PATH")
    return quarto


def _quarto_site(project: Project, out: Path) -> None:
    build_dir = project.build_dir
    _run([_quarto(), "render", "--to", "html"], build_dir, "quarto render (site)")
    shutil.copytree(build_dir / "_site", out, dirs_exist_ok=True)


# What Quarto's PDF takes from `templates/`: the typst template partials (Quarto's `article()`
# laid out as the built-in PDF: title page with its note, contents, link colour; with the look
# both engines share), and the claim badges' filter. Quarto does cross-references, callouts and
# tabsets itself, so the built-in engine's other filters are not used.
QUARTO_PARTIALS = ("quarto/typst-template.typ", "journal-style.typ")
QUARTO_FILTERS = ("badges.lua",)


def _listed(value: object, names: list[str]) -> list:
    """A front-matter list (or single value, or none) with `names` added where missing."""
    items = list(value) if isinstance(value, list) else [] if value is None else [value]
    return items + [name for name in names if name not in items]


def quarto_pdf_front_matter(text: str, partials: list[str], filters: list[str]) -> str:
    """The combined document as Quarto's PDF source: its front matter lists the typst template
    `partials` (under `format: typst:`) and the Lua `filters`, files beside the document, and
    titles the contents "Contents" as the built-in PDF does (Quarto's default is "Table of
    contents"); everything else is kept."""
    meta, body = split_front_matter(text, COMBINED)
    formats = meta.get("format")
    if not isinstance(formats, dict):  # `format: typst` (a name) or none
        formats = {formats: "default"} if isinstance(formats, str) else {}
    typst = formats.get("typst")
    typst = dict(typst) if isinstance(typst, dict) else {}
    typst["template-partials"] = _listed(typst.get("template-partials"), partials)
    meta["format"] = {**formats, "typst": typst}
    meta["filters"] = _listed(meta.get("filters"), filters)
    meta.setdefault("toc-title", "Contents")
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"


def _quarto_pdf(project: Project, site: SiteConfig, out: Path) -> None:
    """Render the combined document on its own, outside any Quarto project, so that the website's
    settings (output folder, render list) cannot interfere with the PDF."""
    build_dir = project.build_dir
    with tempfile.TemporaryDirectory(prefix="labjournal-pdf-") as folder:
        work = Path(folder)
        for name in QUARTO_PARTIALS + QUARTO_FILTERS:  # beside the document, as its front matter says
            shutil.copy2(project.template(name), work / Path(name).name)
        source = quarto_pdf_front_matter(
            (build_dir / COMBINED).read_text(encoding="utf-8"),
            [Path(name).name for name in QUARTO_PARTIALS],
            list(QUARTO_FILTERS),
        )
        (work / "journal.qmd").write_text(source, encoding="utf-8")
        if (build_dir / "figures").exists():
            shutil.copytree(build_dir / "figures", work / "figures")
        for name in author_files(build_dir):  # their images, bibliography and style, as in report/
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(build_dir / name, work / name)
        if site.bibliography and (build_dir / site.csl).exists():  # the default style, written by render
            shutil.copy2(build_dir / site.csl, work / site.csl)
        _run([_quarto(), "render", "journal.qmd", "--to", "typst"], work, "quarto render (PDF)")
        shutil.copy2(work / PDF_NAME, out / PDF_NAME)
