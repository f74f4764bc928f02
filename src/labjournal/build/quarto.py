"""The Quarto engine: `quarto render` of the website, and of the combined document to typst, with
the journal's typst partials and badge filter, for the PDF."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

from labjournal.build.pages import COMBINED, author_files, run_tool, split_front_matter
from labjournal.build.quarto_errors import AuthorPage, explain, parse_failure, where
from labjournal.errors import BuildError, LabjournalError
from labjournal.files import copy_files
from labjournal.project import PDF_NAME, Project, SiteConfig


def _quarto() -> str:
    quarto = shutil.which("quarto")
    if quarto is None:  # choose_engine checked; PATH may have changed since
        raise LabjournalError("quarto disappeared from PATH")
    return quarto


def quarto_site(project: Project, out: Path) -> None:
    build_dir = project.build_dir
    site = project.site_config()
    pages = tuple(build_dir / page.source for page in site.pages)
    _render([_quarto(), "render", "--to", "html"], build_dir, "site", project, site, pages)
    shutil.copytree(build_dir / "_site", out, dirs_exist_ok=True)


def _render(
    command: list[str], cwd: Path, what: str, project: Project, site: SiteConfig, read: tuple[Path, ...]
) -> None:
    """`quarto render`; a failure told at the author's page and line (labjournal.build.quarto_errors),
    plain, with Quarto's whole output kept in `.labjournal/quarto-<what>.log`. `read`: the files
    Quarto read or wrote that a line it names may be in (the pages; the combined document and
    the typst made of it), read before a temporary folder goes."""
    try:
        run_tool(command, cwd, f"quarto render ({what})")
    except BuildError as exc:
        stderr = str(exc).partition("\n")[2]
        log = project.root / ".labjournal" / f"quarto-{what.lower()}{project.output_suffix}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(stderr, encoding="utf-8")
        failure = parse_failure(stderr)
        written = {path.name: path.read_text(errors="replace").splitlines() for path in read if path.exists()}
        place = where(failure, _author_pages(project, site), written)
        raise BuildError(explain(failure, what, place, str(log.relative_to(project.root)))) from None


def _author_pages(project: Project, site: SiteConfig) -> dict[str, AuthorPage]:
    report = project.report_dir
    return {
        page.source: AuthorPage(
            page.source, f"{report.name}/{page.source}", (report / page.source).read_text(encoding="utf-8")
        )
        for page in site.pages
        if (report / page.source).is_file()
    }


# What Quarto's PDF takes from `templates/`: the typst template partials (Quarto's `article()`
# laid out as the built-in PDF: title page with its note, contents, link colour; with the look
# both engines share), the claim badges' filter, and layout.lua, so that margin notes and tabsets
# read the same in both PDFs (notes in place, tabs as bold titles outside the contents). Quarto
# does cross-references and callouts itself, so the built-in engine's other filters are not used.
QUARTO_PARTIALS = ("quarto/typst-template.typ", "journal-style.typ")
QUARTO_FILTERS = ("badges.lua", "layout.lua")


def _listed(value: object, names: list[str]) -> list:
    """A front-matter list (or single value, or none) with `names` added where missing."""
    items = list(value) if isinstance(value, list) else [] if value is None else [value]
    return items + [name for name in names if name not in items]


def quarto_pdf_front_matter(
    text: str, partials: list[str], filters: list[str], keep_typ: bool = False
) -> str:
    """The combined document as Quarto's PDF source: its front matter lists the typst template
    `partials` (under `format: typst:`) and the Lua `filters`, files beside the document, and
    titles the contents "Contents" as the built-in PDF does (Quarto's default is "Table of
    contents"); everything else is kept. `keep_typ`: Quarto leaves the typst it wrote, so that
    a line typst names can be traced back to the page it came from."""
    meta, body = split_front_matter(text, COMBINED)
    formats = meta.get("format")
    if not isinstance(formats, dict):  # `format: typst` (a name) or none
        formats = {formats: "default"} if isinstance(formats, str) else {}
    typst = formats.get("typst")
    typst = dict(typst) if isinstance(typst, dict) else {}
    typst["template-partials"] = _listed(typst.get("template-partials"), partials)
    if keep_typ:
        typst.setdefault("keep-typ", True)
    meta["format"] = {**formats, "typst": typst}
    meta["filters"] = _listed(meta.get("filters"), filters)
    meta.setdefault("toc-title", "Contents")
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"


def quarto_pdf(project: Project, site: SiteConfig, out: Path) -> None:
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
            keep_typ=True,
        )
        (work / "journal.qmd").write_text(source, encoding="utf-8")
        if (build_dir / "figures").exists():
            shutil.copytree(build_dir / "figures", work / "figures")
        copy_files(author_files(build_dir), build_dir, work)  # images, bibliography, style
        if site.bibliography and (build_dir / site.csl).exists():  # the default style, written by render
            shutil.copy2(build_dir / site.csl, work / site.csl)
        command = [_quarto(), "render", "journal.qmd", "--to", "typst"]
        _render(command, work, "PDF", project, site, (work / "journal.qmd", work / "journal.typ"))
        shutil.copy2(work / PDF_NAME, out / PDF_NAME)
