"""The PDF's source: one document of every page in order, each a level-1 section."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from labjournal.build.pages import COMBINED
from labjournal.project import Page, SiteConfig
from labjournal.render.crossref import bibliography_keys, prose_only

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
        page, _, fragment = target.partition("#")
        if page in (pages or set()):
            if fragment.startswith(UNIQUE_IDS):  # a label, unique in the journal: to the thing itself
                return f"[{text}](#{fragment})"
            return f"[{text}](#page-{Path(page).stem})"  # to the page's own heading (a chapter)
        return f"[{text}]({site_url}/{target})" if site_url else text

    return _RELATIVE_LINK.sub(relink, markdown)


# Ids that name one thing in the whole journal (labjournal.render.crossref checks the labels;
# a claim is stated once), so a link to one on another page can go to it in the PDF.
UNIQUE_IDS = ("fig-", "tbl-", "eq-", "sec-", "claim-")
REFS_DIV = re.compile(r"^(:{3,})\s*\{\s*#refs\b[^}]*\}\s*\n(?:.*?\n)??\1\s*$\n?", re.MULTILINE | re.DOTALL)
# A refs div with the heading that introduces it (nothing but blank lines between them).
REFS_SECTION = re.compile(
    r"(?:^#{1,6}[ \t][^\n]*\n(?:[ \t]*\n)*)?" + REFS_DIV.pattern, re.MULTILINE | re.DOTALL
)
REFS_BLOCK = "::: {#refs}\n:::\n"
REFERENCES_CHAPTER = "\n# References {#references}\n\n" + REFS_BLOCK
_CITATION = re.compile(r"(?<![\w@.\\`/])-?@([A-Za-z0-9_][\w:.#$%&+?<>~/-]*\w|[A-Za-z0-9_])")


def one_bibliography(bodies: list[str], cites: bool = False) -> list[str]:
    """The PDF has one bibliography, a chapter of its own, where a website lists references on
    any page that asks (`::: {#refs}`, often under a "References" heading). Every refs div leaves
    its page with the heading that introduces it (no empty "References" section, no second entry
    in the contents). A page that held nothing else (a References page) becomes the chapter;
    otherwise, when the journal cites (`cites`) or asked for references anywhere, a "References"
    chapter ends the document. Returns the bodies and, last, what follows them ("" or the chapter)."""
    stripped = [REFS_SECTION.sub("", body) for body in bodies]
    asked = [bool(REFS_DIV.search(body)) for body in bodies]
    pages = [i for i, body in enumerate(stripped) if asked[i] and not body.strip()]
    if pages:
        found = REFS_DIV.search(bodies[pages[-1]])
        stripped[pages[-1]] = found.group(0) if found else ""  # with its own options
        return [*stripped, ""]
    return [*stripped, REFERENCES_CHAPTER if cites or any(asked) else ""]


def journal_cites(bodies: list[str], metas: list[dict], bibliography: Path | None) -> bool:
    """Whether any page cites a work of the bibliography (or asks for `nocite`); code is not prose."""
    if bibliography is None or not bibliography.exists():
        return False
    if any(meta.get("nocite") for meta in metas):
        return True
    keys = bibliography_keys(bibliography)
    for body in bodies:
        for match in _CITATION.finditer(prose_only(body)):
            key = match.group(1)
            if key in keys if keys is not None else not key.startswith(UNIQUE_IDS):
                return True
    return False


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
    texts = [body for _, _, body in pages]
    bibliography = build_dir / site.bibliography if site.bibliography else None
    *bodies, end = one_bibliography(texts, journal_cites(texts, [meta for _, meta, _ in pages], bibliography))
    for (page, page_meta, _), body in zip(pages, bodies, strict=True):
        anchor = Path(page.source).stem
        body = pdf_links(body.strip(), site.site_url, html_pages)
        parts.append(f"\n# {page_meta['title']} {{#page-{anchor}}}\n\n{body}\n")
    parts.append(end)
    path = build_dir / COMBINED
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
