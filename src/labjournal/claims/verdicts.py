"""A claim judged part by part, with its error rate held whatever the number of parts.

Every part keeps and shows its own verdict (labjournal.claims.evidence). The claim's verdict:
- **supported** when every counted part is supported (intersection-union: each part at the
  design's alpha, so the claim's error is at most alpha however many parts it has);
- **negligible** when every counted part is negligible (likewise);
- **partly supported** when some parts hold and others are contradicted or negligible, each of
  those judged at alpha / k for k counted parts (Bonferroni), so a claim with no true effect
  is called partly supported or contradicted at most alpha of the time;
- **contradicted** when a part is contradicted at alpha / k and none is supported;
- **inconclusive** otherwise. Parts true by construction are shown and never counted.

With `familywise: holm` the journal's claims form one family: each decided claim's p-value (the
largest of its parts' for supported and negligible, the smallest times k for the others) is
Holm-adjusted over the claims (statsmodels), and a claim whose adjusted p-value exceeds alpha is
inconclusive. `tests/test_claims_simulation.py` checks all of it by simulating whole claims.
"""

from __future__ import annotations

from labjournal.claims.evidence import (
    CONTRADICTED,
    DECIDED,
    INCONCLUSIVE,
    NEGLIGIBLE,
    PARTLY,
    SUPPORTED,
    Evidence,
)
from labjournal.records import VerdictKind


def counted(parts: list[Evidence]) -> list[Evidence]:
    return [part for part in parts if not part.by_construction]


def strict_alpha(parts: list[Evidence]) -> float:
    """The level each part is judged at when one part's verdict may decide the claim."""
    live = counted(parts)
    return live[0].design.alpha / len(live) if live else 0.05


def judge(parts: list[Evidence]) -> VerdictKind:
    """The claim's verdict from its parts (see the module's docstring)."""
    live = counted(parts)
    if not live:
        return INCONCLUSIVE
    own = [part.verdict for part in live]
    if all(v == SUPPORTED for v in own):
        return SUPPORTED
    if all(v == NEGLIGIBLE for v in own):
        return NEGLIGIBLE
    alpha = strict_alpha(parts)
    strict = [part.verdict_at(alpha) for part in live]
    if SUPPORTED in strict and (CONTRADICTED in strict or NEGLIGIBLE in strict):
        return PARTLY
    if CONTRADICTED in strict and SUPPORTED not in strict:
        return CONTRADICTED
    return INCONCLUSIVE


def claim_p(verdict: VerdictKind, parts: list[Evidence]) -> float:
    """The p-value of a claim's verdict, for Holm over the claims."""
    live = counted(parts)
    if not live:
        return 1.0
    if verdict == SUPPORTED:
        return max(part.p_value for part in live)
    if verdict == NEGLIGIBLE:
        return max(part.p_equivalence for part in live)
    smallest = min(min(part.p_value, part.p_equivalence) for part in live)
    return min(1.0, smallest * len(live))


def holm(verdicts: list[str], parts: list[list[Evidence]], alpha: float) -> list[float]:
    """Holm-adjusted p-values of the claims' verdicts (1.0 for claims with nothing to judge)."""
    from statsmodels.stats.multitest import multipletests

    raw = [claim_p(v, p) if p else 1.0 for v, p in zip(verdicts, parts, strict=True)]
    if not raw:
        return []
    return [float(p) for p in multipletests(raw, alpha=alpha, method="holm")[1]]


def what_would_decide(parts: list[Evidence], alpha: float | None = None) -> int | None:
    """About how many seeds per compared point would decide the claim's most promising open part
    (at the level that part needs: alpha / k, or a Holm level where given)."""
    level = alpha or strict_alpha(parts)
    needed = [part.seeds_needed(level) for part in counted(parts) if part.verdict_at(level) not in DECIDED]
    known = [n for n in needed if n is not None]
    return min(known) if known else None


def family_sentence(familywise: str) -> str:
    """Which error the journal controls, in one sentence (engine text, Markdown)."""
    if familywise == "holm":
        return "the family-wise error is controlled by Holm over the journal's claims (the family: every claim judged)."
    return (
        "each claim's error is held to 5 % (its parts jointly: a claim is supported only when every part "
        "is, and a part decides against it only at 5 % divided by its number of parts); the journal's "
        "claims are not corrected as a family (set `familywise: holm` in `claims.yml` for that)."
    )
