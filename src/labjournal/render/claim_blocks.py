"""Claims in the prose: `claim` (the badge and numbers after the sentence stating it), `verdict`,
`claims_method` and `claims_table` (the Claims page, which lists where each claim and its figure
are placed, so it is rendered in the second pass, once every page has placed them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from labjournal.claims.file import ClaimError, located
from labjournal.claims.judge import CLAIMS_FILE, Verdict, judge_journal, load_claims_file
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import family_sentence
from labjournal.records import IndexRow
from labjournal.render.prose import RenderState, prose
from labjournal.results.lookup import ResultLookupError


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
        design = Design.from_json(self.state.results.index.get("design"))
        family = family_sentence(self.claims_file.familywise)
        return Markup(f"Claims are judged with {design.describe()}; {family}")  # engine text: Markdown

    @prose()
    def claim(self, claim_id: str) -> Markup:
        """The verdict badge and the numbers behind a claim, placed after the sentence stating it."""
        verdict = self.verdict(claim_id)
        self.state.placements.claim_pages.setdefault(claim_id, self.state.page)
        template = self.state.env.get_template("claim.md.j2")
        return Markup(template.render(v=verdict, anchor=f"claim-{claim_id}"))

    @prose()
    def claims_table(self) -> Markup:
        """Every declared claim: lab, sentence, verdict, evidence, and links to where it is stated,
        its figure and the experiments behind it. In the first pass it only asks for the second."""
        if self.state.page not in self.second_pass:
            self.second_pass.add(self.state.page)
            return Markup("")
        rows = [self._row(claim_id) for claim_id in self.claims]
        ledger = next((row["v"].ledger for row in rows if row["v"].ledger), "")
        template = self.state.env.get_template("claims.md.j2")
        return Markup(
            template.render(rows=rows, ledger=ledger, familywise=self.claims_file.familywise, zip=zip)
        )

    def _row(self, claim_id: str) -> dict[str, Any]:
        verdict = self.verdict(claim_id)
        page = self.state.placements.claim_pages.get(claim_id)
        keys: dict[str, IndexRow] = {}
        for evidence in verdict.evidence:
            keys.update({row.key: row for row in evidence.runs})
        store = self.state.results.store_root
        runs = ", ".join(self.state.placements.notebook(store, row) for row in keys.values())
        try:
            figure = self.state.placements.figure_link(verdict.claim.figure)
        except ResultLookupError as exc:  # named at the claim's line, as every claim's error is
            error = ClaimError(f"claim '{claim_id}': {exc}", claim_id)
            raise located(error, self.state.project.report_dir) from None
        return {
            "v": verdict,
            "stated": f"{Path(page).stem}.html#claim-{claim_id}" if page else None,
            "figure": figure,
            "runs": Markup(runs),
        }
