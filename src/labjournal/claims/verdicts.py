"""A claim judged part by part: its label never says more than its parts.

Every part keeps and shows its own verdict (labjournal.claims.evidence). Within a claim of k
counted parts, a part's *direction* (supported or contradicted) counts at its Holm level: the
parts are tested step-down, the first at alpha / k, and once some are decided the others at
alpha / (the number still open), so that with no true effect in any part a claim of any number
of parts is wrongly decided at most alpha of the time. A part counts as negligible at alpha / k.
The claim's verdict:
- **supported** when every counted part is supported at its own level (intersection-union: the
  claim is wrongly supported only if some part is, each at most alpha);
- **negligible** when every counted part is negligible at its own level (likewise);
- **contradicted** when a part is contradicted at its level, whatever the other parts show: a
  claim is a conjunction, and one refuted part refutes it (the badge names the part);
- **partly supported** when some parts are supported at their level and the others are
  negligible or open (the badge names what was not shown); while a part is open the claim is
  not settled, and the design keeps adding seeds (labjournal.pipeline.decide);
- **inconclusive** otherwise. Parts true by construction are shown and never counted.

A supported claim (or the supported parts of a partly supported one) whose interval reaches
inside the margin says so on its badge: "supported, possibly below the margin".

With `familywise: holm` (the default) the journal's claims form one family: each claim's p-value
is that of the part that decides its verdict (`claim_p`), Holm-adjusted over the claims
(statsmodels), and a claim whose adjusted p-value exceeds alpha is inconclusive.
`tests/test_claims_simulation.py` checks all of it by simulating whole claims.
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

DIRECTIONS = (SUPPORTED, CONTRADICTED)


def counted(parts: list[Evidence]) -> list[Evidence]:
    return [part for part in parts if not part.by_construction]


def strict_alpha(parts: list[Evidence]) -> float:
    """The level a part is judged at when any of the claim's parts may decide it (alpha / k)."""
    live = counted(parts)
    return live[0].design.alpha / len(live) if live else 0.05


def holm_levels(parts: list[Evidence]) -> list[float]:
    """The level each counted part's direction is judged at: Holm's step-down within the claim.
    Every part deciding a direction at alpha / m (m parts still open) is decided; the rest are
    judged again at alpha / (the number left), until none more decides. A part's repeated
    interval at a level excludes zero exactly when its design-adjusted p-value is below that
    level, so this is Holm's procedure on the parts' p-values, read from their intervals."""
    live = counted(parts)
    if not live:
        return []
    alpha = live[0].design.alpha
    levels = [alpha / len(live)] * len(live)
    open_ = set(range(len(live)))
    while open_:
        level = alpha / len(open_)
        for i in open_:
            levels[i] = level
        decided = {i for i in open_ if _direction(live[i], level) is not None}
        if not decided:
            break
        open_ -= decided
    return levels


def _direction(part: Evidence, level: float) -> VerdictKind | None:
    """The part's direction at `level`, where its own verdict shows the same one (a part that is
    negligible on its own is never read as a direction from a wider interval)."""
    verdict = part.verdict_at(level)
    return verdict if verdict in DIRECTIONS and part.verdict == verdict else None


def claim_level(parts: list[Evidence]) -> list[VerdictKind]:
    """Each counted part's verdict at the level the claim counts it: its direction at its Holm
    level, else negligible at alpha / k, else inconclusive (open)."""
    live = counted(parts)
    strict = strict_alpha(parts)
    shown = []
    for part, level in zip(live, holm_levels(parts), strict=True):
        direction = _direction(part, level)
        if direction is not None:
            shown.append(direction)
        elif part.verdict_at(strict) == NEGLIGIBLE:
            shown.append(NEGLIGIBLE)
        else:
            shown.append(INCONCLUSIVE)
    return shown


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
    level = claim_level(parts)
    if CONTRADICTED in level:
        return CONTRADICTED
    if SUPPORTED in level:
        return PARTLY
    return INCONCLUSIVE


def settled(verdict: VerdictKind, parts: list[Evidence]) -> bool:
    """Whether more seeds could change the verdict's label: a partly supported claim with an open
    part is not settled (that part may yet be supported or contradicted)."""
    if verdict == PARTLY:
        return INCONCLUSIVE not in claim_level(parts)
    return verdict in DECIDED


def open_parts(parts: list[Evidence]) -> list[tuple[Evidence, float]]:
    """The counted parts still open at the claim's level, with the level each needs."""
    live = counted(parts)
    shown = claim_level(parts)
    levels = holm_levels(parts)
    return [(part, level) for part, v, level in zip(live, shown, levels, strict=True) if v == INCONCLUSIVE]


def _adjusted(parts: list[Evidence]) -> list[float]:
    """The counted parts' Holm-adjusted p-values within the claim (statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    raw = [part.p_value for part in counted(parts)]
    return [float(p) for p in multipletests(raw, method="holm")[1]] if raw else []


def claim_p(verdict: VerdictKind, parts: list[Evidence]) -> float:
    """The p-value of a claim's verdict, for Holm over the claims: that of the part that decides
    it. Supported: the weakest part's own p-value (intersection-union: the claim is wrong when any
    part is, so the claim is shown at the level of its least certain part, and no
    multiplicity within the claim applies). Negligible: likewise, the largest equivalence
    p-value. Contradicted: the contradicting part's p-value, Holm-adjusted within the claim (one
    refuted part refutes the claim; the smallest where several do: any one suffices), never the
    p-value of a part that holds. Partly supported: the largest Holm-adjusted p-value among the
    parts it shows as supported (it asserts each of them)."""
    live = counted(parts)
    if not live:
        return 1.0
    if verdict == SUPPORTED:
        return max(part.p_value for part in live)
    if verdict == NEGLIGIBLE:
        return max(part.p_equivalence for part in live)
    adjusted = _adjusted(parts)
    shown = claim_level(parts)
    if verdict == CONTRADICTED:
        return min(p for p, v in zip(adjusted, shown, strict=True) if v == CONTRADICTED)
    if verdict == PARTLY:
        return max(p for p, v in zip(adjusted, shown, strict=True) if v == SUPPORTED)
    return min(adjusted)


def holm(verdicts: list[VerdictKind], parts: list[list[Evidence]], alpha: float) -> list[float]:
    """Holm-adjusted p-values of the claims' verdicts (1.0 for claims with nothing to judge)."""
    from statsmodels.stats.multitest import multipletests

    raw = [claim_p(v, p) if p else 1.0 for v, p in zip(verdicts, parts, strict=True)]
    if not raw:
        return []
    return [float(p) for p in multipletests(raw, alpha=alpha, method="holm")[1]]


def what_would_decide(parts: list[Evidence], alpha: float | None = None) -> int | None:
    """About how many seeds per compared point would decide the claim's most promising open part
    (at the level that part needs within the claim, or a Holm level over the claims where given
    and stricter)."""
    needed = [
        part.seeds_needed(min(level, alpha) if alpha else level)
        for part, level in open_parts(parts) or [(p, alpha or p.design.alpha) for p in counted(parts)]
    ]
    known = [n for n in needed if n is not None]
    return min(known) if known else None


def part_name(part: Evidence) -> str:
    """A part as a badge names it: its metric and what its grid points differ in."""
    if part.per_seed or part.unit:
        return part.description.split(" at ")[0]
    if len(part.points) == 2:
        at, than = part.points
        differ = [k for k in at if at.get(k) != than.get(k)]
        moved = ", ".join(f"{k} {at[k]} vs {than.get(k)}" for k in differ)
        return f"{part.metric} ({moved})" if moved else part.metric
    return part.metric or part.description


def possibly_below_margin(part: Evidence) -> bool:
    """A supported part whose effect may be smaller than the margin: its interval reaches inside
    it, or it has no interval that could show the size (orders of censored outcomes)."""
    if getattr(part, "orders", None) is not None:
        return True  # orders show a direction, never a size
    interval = part.interval
    if interval is not None:
        return interval[0] < part.margin if part.expected == "positive" else interval[1] > -part.margin
    if part.exact or part._no_spread():
        return abs(part.mean) < part.margin
    return True


def label(verdict: VerdictKind, parts: list[Evidence]) -> str:
    """The badge's words: the verdict, and what it rests on where one word would say more."""
    live = counted(parts)
    shown = claim_level(parts) if live else []
    names = [part_name(p) for p in live]
    many = len(live) > 1
    holds = [v == SUPPORTED or verdict == SUPPORTED for v in shown]  # supported: each on its own
    below = [n for p, h, n in zip(live, holds, names, strict=True) if h and possibly_below_margin(p)]
    small = (", possibly below the margin" + (f" ({'; '.join(below)})" if many else "")) if below else ""
    if verdict == CONTRADICTED:
        return "contradicted: " + "; ".join(n for v, n in zip(shown, names, strict=True) if v == CONTRADICTED)
    if verdict == SUPPORTED:
        return "supported" + small
    if verdict == PARTLY:
        text = "partly supported" + small
        negligible = [n for v, n in zip(shown, names, strict=True) if v == NEGLIGIBLE]
        unshown = [n for v, n in zip(shown, names, strict=True) if v == INCONCLUSIVE]
        text += f"; negligible: {'; '.join(negligible)}" if negligible else ""
        return text + (f"; not shown: {'; '.join(unshown)}" if unshown else "")
    return str(verdict)


def family_sentence(familywise: str) -> str:
    """Which error the journal controls, in one sentence (engine text, Markdown)."""
    if familywise == "holm":
        return (
            "the family-wise error is controlled by Holm over the journal's claims (the family: every "
            "claim judged; `familywise: holm`, the default), and within each claim over its parts."
        )
    return (
        "**the journal's claims are not corrected as a family** (`familywise: none` in `claims.yml`): "
        "each claim's error is held to 5 % on its own (its parts jointly), so with many claims some "
        "verdicts are likely wrong by chance; remove `familywise: none` for Holm over the claims."
    )
