"""Where a journal project keeps things, and what `_quarto.yml` says about the site.

`_quarto.yml` is the single source of the journal's structure: title, author, page order (the
sidebar's contents), bibliography and output folder. Quarto reads it when it is installed; the
built-in engine reads the same keys.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from labjournal.errors import LabjournalError
from labjournal.names import index_file

REPORT_OWN = ("claims.yml", "claims.ledger.json")  # read by labjournal, not published
# Written into the build from pandoc's own default style (Chicago author-date) unless `_quarto.yml`
# names a `csl:` file in report/: one style for both engines, as Quarto's typst PDF would
# otherwise number citations its own way.
DEFAULT_CSL = "journal.csl"
SHIPPED_TEMPLATES = Path(__file__).parent / "scaffold" / "templates"

PLAN_FILE = "journal.yml"
REPORT_DIR = "report"  # the author's prose: pages, claims.yml, references.bib
QUARTO_FILE = "_quarto.yml"
PDF_NAME = "journal.pdf"


@dataclass(frozen=True)
class Page:
    source: str  # file name in report/, e.g. "lab01.qmd"
    text: str | None  # the navigation label; None means the page's own title

    @property
    def html(self) -> str:
        return Path(self.source).with_suffix(".html").name


@dataclass(frozen=True)
class SiteConfig:
    title: str
    author: str
    pages: list[Page]
    subtitle: str = ""
    date: str = ""
    bibliography: str | None = None
    output_dir: str = "_site"
    site_url: str = ""  # website.site-url: where the site is published (the PDF links there)
    csl: str = DEFAULT_CSL  # the citation style of both engines, site and PDF alike


@dataclass(frozen=True)
class Project:
    """A journal's folder, seen through one profile: the default profile's outputs are `_build/`,
    `_site/` and `results/index.json`; another profile's are `_build-NAME/`, `_site-NAME/` and
    `results/index.NAME.json`, so a quick build never stands in for the journal to submit."""

    root: Path
    profile: str | None = None  # None: the plan's default profile

    @classmethod
    def discover(cls, start: str | Path | None = None, profile: str | None = None) -> Project:
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / PLAN_FILE).exists():
                return cls(folder, profile)
        raise LabjournalError(
            f"no {PLAN_FILE} in {here} or any folder above it: is this a labjournal project?"
        )

    @property
    def plan_file(self) -> Path:
        return self.root / PLAN_FILE

    @property
    def quarto_file(self) -> Path:
        return self.root / QUARTO_FILE

    @property
    def report_dir(self) -> Path:
        return self.root / REPORT_DIR

    def author_files(self) -> list[str]:
        """The author's own files under `report/` (images, data, a CSL style…), relative to it:
        they go with the pages to the site and the PDF. Pages, the claims and their ledger, and
        hidden or `_`-prefixed files stay behind."""
        kept = []
        for path in sorted(self.report_dir.rglob("*")):
            relative = path.relative_to(self.report_dir)
            hidden = any(part.startswith((".", "_")) for part in relative.parts)
            if path.is_file() and not hidden and path.suffix != ".qmd" and path.name not in REPORT_OWN:
                kept.append(relative.as_posix())
        return kept

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def template(self, name: str) -> Path:
        """A layout file: the journal's own in `templates/`, else the one labjournal ships (so a
        journal made by an older version still builds when a new one adds a filter)."""
        own = self.templates_dir / name
        return own if own.exists() else SHIPPED_TEMPLATES / name

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @functools.cached_property
    def default_profile(self) -> str:
        """The plan's `default_profile` (read without validating the plan)."""
        try:
            raw = yaml.safe_load(self.plan_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return "default"
        chosen = raw.get("default_profile", "default") if isinstance(raw, dict) else "default"
        return chosen if isinstance(chosen, str) else "default"

    @property
    def profile_name(self) -> str:
        return self.profile or self.default_profile

    @property
    def is_default(self) -> bool:
        return self.profile_name == self.default_profile

    @property
    def output_suffix(self) -> str:
        return "" if self.is_default else f"-{self.profile_name}"

    def with_profile(self, profile: str | None) -> Project:
        return Project(self.root, profile)

    @property
    def index_path(self) -> Path:
        """This profile's results index."""
        name = index_file(None if self.is_default else self.profile_name)
        return self.results_dir / name

    @property
    def build_dir(self) -> Path:
        """The generated Quarto project: rendered pages, figures, bibliography."""
        return self.root / f"_build{self.output_suffix}"

    @property
    def site_dir(self) -> Path:
        return self.root / f"{self.site_config().output_dir}{self.output_suffix}"

    def site_config(self) -> SiteConfig:
        return read_site_config(self.quarto_file)


def read_site_config(path: Path) -> SiteConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise LabjournalError(f"{path}: cannot read the site configuration ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise LabjournalError(f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}") from exc
    website = raw.get("website") or {}
    contents = (website.get("sidebar") or {}).get("contents")
    if not contents:
        raise LabjournalError(f"{path}: website.sidebar.contents must list the journal's pages in order")
    pages = []
    for entry in contents:
        if isinstance(entry, str):
            pages.append(Page(entry, None))
        elif isinstance(entry, dict) and "href" in entry:
            pages.append(Page(entry["href"], entry.get("text")))
        else:
            raise LabjournalError(
                f"{path}: website.sidebar.contents: cannot read entry {entry!r} (want a file or href/text)"
            )
    if pages[0].source != "index.qmd":
        raise LabjournalError(
            f"{path}: website.sidebar.contents must start with index.qmd (the site's front page)"
        )
    author = raw.get("author", "")
    if isinstance(author, list):
        author = ", ".join(a["name"] if isinstance(a, dict) else str(a) for a in author)
    return SiteConfig(
        title=website.get("title") or raw.get("title") or "Journal",
        subtitle=raw.get("subtitle", ""),
        author=author,
        date=str(raw.get("date", "")),
        pages=pages,
        bibliography=raw.get("bibliography"),
        output_dir=(raw.get("project") or {}).get("output-dir", "_site"),
        site_url=str(website.get("site-url") or "").rstrip("/"),
        csl=raw.get("csl") or DEFAULT_CSL,
    )
