"""What the pages place, recorded in the first rendering pass: figures and their labels, the
executed notebooks their captions link to, the page stating each claim. The Claims page reads it
in the second pass, whatever the order of the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from labjournal.errors import ResultLookupError
from labjournal.records import KEY_SHOWN, IndexRow, short_key
from labjournal.render.formatting import run_title


@dataclass(frozen=True)
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
    anchor: str


@dataclass
class Placements:
    figures: list[FigureUse] = field(default_factory=list)
    notebooks: dict[str, Path] = field(default_factory=dict)  # run key -> executed notebook
    notebook_titles: dict[str, str] = field(default_factory=dict)  # run key -> its page's title
    claim_pages: dict[str, str] = field(default_factory=dict)  # claim -> the page stating it
    labels: dict[str, str] = field(default_factory=dict)  # cross-reference label -> its page
    unavailable: list[FigureUse] = field(default_factory=list)  # figures whose run failed: a note
    generated: dict[str, bytes] = field(default_factory=dict)  # files written into the site, by path

    def label(self, page: str, kind: str, given: str | None, *parts: str) -> str:
        """A cross-reference label for a block labjournal places (`fig-lab01-loss-curves`): from
        what it shows, or `label=`, never from a run key, so `@fig-…` keeps working across runs.
        The same label on two blocks is an error asking for `label=`."""
        label = given or "-".join(parts)
        label = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")
        label = label if label.startswith(kind + "-") else f"{kind}-{label}"
        if label in self.labels:
            raise ResultLookupError(
                f"#{label} is already placed on {self.labels[label]}: give this one its own "
                f'label= (e.g. label="{label}-2") so that @{label} names one thing'
            )
        self.labels[label] = page
        return label

    def notebook(self, store_root: Path, row: IndexRow) -> str:
        """A Markdown link to the run's executed notebook, published under runs/ with the site."""
        key = row.key
        self.notebooks[key] = store_root / row.folder / "notebook.ipynb"
        self.notebook_titles[key] = run_title(row) + (" · failed" if row.status == "failed" else "")
        return f"[{short_key(key, KEY_SHOWN)}](runs/{short_key(key)}.html)"

    def figure(self, use: FigureUse) -> None:
        self.figures.append(use)

    def forget(self, page: str) -> None:
        """What `page` placed, dropped before it is rendered again (the second pass)."""
        self.labels = {label: where for label, where in self.labels.items() if where != page}
        self.figures = [use for use in self.figures if use.page != page]
        self.unavailable = [use for use in self.unavailable if use.page != page]
        self.claim_pages = {claim: where for claim, where in self.claim_pages.items() if where != page}

    def figure_link(self, figure: str | None) -> str | None:
        """Where a claim's figure (`lab/experiment/name`) is shown, for the Claims page."""
        if not figure:
            return None
        lab, _experiment, name = figure.split("/")
        for use in self.figures + self.unavailable:
            if use.lab == lab and use.name == name:
                return f"{Path(use.page).stem}.html#{use.anchor}"
        raise ResultLookupError(f"claim figure '{figure}' is not placed on any page")
