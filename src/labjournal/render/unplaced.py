"""Claims that `claims.yml` declares and no page states: a render warns about each, at its line
in `claims.yml`, rather than leaving it out of the journal in silence (the Claims page, where
there is one, still lists it, as "not placed on a page")."""

from __future__ import annotations

from pathlib import Path

from labjournal.claims.file import claim_line
from labjournal.claims.judge import CLAIMS_FILE


def unplaced_claims(report_dir: Path, declared: list[str], placed: set[str], claims_page: bool) -> list[str]:
    """One warning for each claim of `declared` that no page placed with `{{ claim(...) }}`."""
    warnings = []
    for claim_id in declared:
        if claim_id in placed:
            continue
        line = claim_line(report_dir / CLAIMS_FILE, claim_id)
        where = f"{report_dir.name}/{CLAIMS_FILE}" + (f":{line}" if line else "")
        shown = "only the Claims page lists it" if claims_page else "the journal shows it nowhere"
        warnings.append(
            f"{where}: claim '{claim_id}' is stated on no page ({shown}); place it after the sentence "
            f'that makes it with {{{{ claim("{claim_id}") }}}}'
        )
    return warnings
