"""The PDF's source: one document of every page in order, each a level-1 section."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from labjournal.build.pages import COMBINED
from labjournal.project import Page, SiteConfig

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


def one_bibliography(bodies: list[str]) -> list[str]:
    """Pages of a website may each list their references (`::: {#refs}`); the PDF has one
    bibliography, where the last page that asks for it does (a References page), and none at
    the end of a chapter. Without any, citeproc puts it at the end of the document."""
    last = max((i for i, body in enumerate(bodies) if REFS_DIV.search(body)), default=None)
    return [body if i == last else REFS_DIV.sub("", body) for i, body in enumerate(bodies)]


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
    bodies = one_bibliography([body for _, _, body in pages])
    for (page, page_meta, _), body in zip(pages, bodies, strict=True):
        anchor = Path(page.source).stem
        body = pdf_links(body.strip(), site.site_url, html_pages)
        parts.append(f"\n# {page_meta['title']} {{#page-{anchor}}}\n\n{body}\n")
    path = build_dir / COMBINED
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
