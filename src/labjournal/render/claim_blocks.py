"""Claims in the prose: `claim` (the badge and numbers after the sentence stating it), `verdict`,
`claims_method` and `claims_table` (the Claims page, which lists where each claim and its figure
are placed, so it is rendered in the second pass, once every page has placed them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from labjournal.claims.file import located
from labjournal.claims.judge import CLAIMS_FILE, Verdict, judge_journal, load_claims_file
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import family_sentence
from labjournal.claims.words import ClaimView, number, view
from labjournal.errors import ClaimError, ResultLookupError
from labjournal.render.evidence_pages import GridPoint, grid_points, page_html, varying
from labjournal.render.forest import alt_text, forest_png
from labjournal.render.prose import RenderState, prose


class ClaimBlocks:
    def __init__(self, state: RenderState) -> None:
        self.state = state
        self.claims_file = load_claims_file(state.project.report_dir / CLAIMS_FILE)
        self.claims = self.claims_file.claims
        self.verdicts: dict[str, Verdict] = {}
        self.second_pass: set[str] = set()  # pages that list what every page placed

    @prose()
    def verdict(self, claim_id: str) -> Verdict:
        if claim_id not in self.claims:
            known = ", ".join(self.claims) or f"none: report/{CLAIMS_FILE} declares no claims"
            raise ResultLookupError(f"no claim '{claim_id}' (declared: {known})")
        if not self.verdicts:  # all at once: family-wise error control looks at every claim
            judged = judge_journal(self.state.results, self.claims_file, self.state.project.report_dir)
            self.verdicts = {v.claim_id: v for v in judged}
        return self.verdicts[claim_id]

    @prose()
    def claims_method(self) -> Markup:
        """One sentence on how the claims were judged: the design and the error control."""
        design = Design.of(self.state.results.design)
        family = family_sentence(self.claims_file.familywise)
        return Markup(f"Claims are judged with {design.describe()}; {family}")  # engine text: Markdown

    @prose()
    def claim(self, claim_id: str) -> Markup:
        """The verdict badge and the numbers behind a claim, placed after the sentence stating it."""
        verdict = self.verdict(claim_id)
        self.state.placements.claim_pages.setdefault(claim_id, self.state.page)
        template = self.state.env.get_template("claim.md.j2")
        shown = view(verdict, self.claims_file.labels)
        return Markup(template.render(v=verdict, c=shown, anchor=f"claim-{claim_id}", number=number))

    @prose()
    def claims_table(self) -> Markup:
        """Every declared claim: a summary table (claim, verdict, deciding part, seeds), then each
        claim with its forest plot, its parts in words, links to where it is stated, its figure
        and one page per compared grid point listing its runs. In the first pass it only asks for
        the second."""
        if self.state.page not in self.second_pass:
            self.second_pass.add(self.state.page)
            return Markup("")
        rows = [self._row(claim_id) for claim_id in self.claims]
        self._point_pages(rows)
        ledger = next((row.v.ledger for row in rows if row.v.ledger), "")
        template = self.state.env.get_template("claims.md.j2")
        return Markup(
            template.render(
                rows=rows,
                ledger=ledger,
                familywise=self.claims_file.familywise,
                labels=self.claims_file.labels,
                number=number,
            )
        )

    def _row(self, claim_id: str) -> ClaimRow:
        verdict = self.verdict(claim_id)
        page = self.state.placements.claim_pages.get(claim_id)
        try:
            figure = self.state.placements.figure_link(verdict.claim.figure)
        except ResultLookupError as exc:  # named at the claim's line, as every claim's error is
            error = ClaimError(f"claim '{claim_id}': {exc}", claim_id)
            raise located(error, self.state.project.report_dir) from None
        shown = view(verdict, self.claims_file.labels)
        points = grid_points(verdict.evidence)
        forest = ""
        if shown.parts:
            forest = f"figures/claims/{re.sub(r'[^A-Za-z0-9_-]+', '-', claim_id)}.png"
            self.state.placements.generated[forest] = forest_png(shown)
        return ClaimRow(
            v=verdict,
            c=shown,
            anchor=f"claims-{claim_id}",
            title=short_title(claim_id, verdict.claim.lab),
            stated=f"{Path(page).stem}.html#claim-{claim_id}" if page else None,
            figure=figure,
            forest=forest,
            alt=alt_text(shown) if shown.parts else "",
            points=points,
            varying=varying(points),
        )

    def _point_pages(self, rows: list[ClaimRow]) -> None:
        """One page per compared grid point (labjournal.render.evidence_pages), each listing the
        claims that compare it; its runs' executed notebooks are published with it."""
        store = self.state.results.store_root
        claims: dict[str, list[str]] = {}
        points: dict[str, GridPoint] = {}
        for row in rows:
            for point in row.points:
                claims.setdefault(point.target, []).append(row.v.claim_id)
                known = points.setdefault(point.target, point)
                known.metrics += [m for m in point.metrics if m not in known.metrics]
                for run in point.rows:
                    self.state.placements.notebook(store, run)
        back = f"{Path(self.state.page).stem}.html"
        labels = self.claims_file.labels
        for target, point in points.items():
            page = page_html(point, labels, back, claims[target])
            self.state.placements.generated[target] = page.encode("utf-8")


def short_title(claim_id: str, lab: str) -> str:
    """A claim as the summary table names it: its id in words, without its lab's prefix
    (`lab02-dropout-tradeoff` → `dropout tradeoff`); the table's cells do not wrap on the site."""
    words = claim_id.removeprefix(lab).strip("-_ ") or claim_id
    return re.sub(r"[-_]+", " ", words)


@dataclass
class ClaimRow:
    """One claim on the Claims page: its verdict, as a reader sees it (labjournal.claims.words),
    where it is stated, its figure, its forest plot and its compared grid points."""

    v: Verdict
    c: ClaimView
    anchor: str
    title: str  # the summary table's name for it (`short_title`)
    stated: str | None
    figure: str | None
    forest: str  # the plot's path in the site, "" where the claim has no parts
    alt: str
    points: list[GridPoint] = field(default_factory=list)
    varying: dict[str, list[str]] = field(default_factory=dict)  # by experiment: what its points differ in
