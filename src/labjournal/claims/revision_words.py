"""A revision of a claim's encoding in words: `the second part's censoring point was added (none →
epochs)` rather than `expect.all.1.less.censored_at: (none) → epochs`. The ledger keeps its own
record as it is (labjournal.claims.ledger); this is only how `check` and the Claims page say it."""

from __future__ import annotations

from typing import Any

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
FIELDS = {
    "metric": "metric",
    "scale": "scale",
    "censored_at": "censoring point",
    "margin": "margin",
    "spread": "comparison of spreads",
    "adjust": "covariate",
    "over": "replicates",
    "exact": "exact comparison",
    "by_construction": "mark of true by construction",
    "across": "sensitivity parameters",
    "param": "trend parameter",
    "direction": "direction",
    "x_scale": "x scale",
    "ref": "experiment",
}
CLAIM_FIELDS = {
    "sentence": "the sentence",
    "lab": "the lab",
    "margin": "the claim's margin",
    "familywise": "the correction over the journal's claims",
}
DESIGN = {"looks": "looks", "cap": "seed cap", "alpha": "alpha", "boundary": "boundary"}
KINDS = {"less": "a comparison, lower", "greater": "a comparison, higher", "trend": "a trend"}


def flat(node: Any, path: tuple = ()) -> dict[tuple, Any]:
    """Every value of an encoding by its path; a list of plain values is one value."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in flat(value, (*path, key)).items()}
    if isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
        return {k: v for i, value in enumerate(node) for k, v in flat(value, (*path, i)).items()}
    return {path: node}


def shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(shown, value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("-", "\u2212") if isinstance(value, int | float) else str(value)


def _part(path: tuple) -> tuple[str, tuple]:
    """`the second part's` and the rest of an expectation's path (`expect.all.1.less.x`)."""
    rest = path[1:]
    if rest[:1] == ("all",) and len(rest) > 1 and isinstance(rest[1], int):
        i = rest[1]
        owner = f"the {ORDINALS[i] if i < len(ORDINALS) else f'{i + 1}th'} part's"
        rest = rest[2:]
    else:
        owner = "the part's"
    return owner, rest


def thing(path: tuple) -> str:
    """What a path of the encoding names, in words."""
    head = path[0] if path else ""
    if head == "expect":
        owner, rest = _part(path)
        if len(rest) < 2:
            return f"{owner} kind" if rest else owner.replace("'s", "")
        kind, name, *more = rest
        if name in ("at", "than") and more:
            point = "first point" if name == "at" else "second point"
            return f"{owner} {more[0]} at its {point}"
        return f"{owner} {FIELDS.get(str(name), str(name).replace('_', ' '))}"
    if head == "margins" and len(path) > 1:
        return f"the margin of {path[1]} in the margins table"
    if head == "plan" and len(path) > 2 and path[1] == "design":
        return f"the design's {DESIGN.get(str(path[2]), path[2])}"
    if head == "plan" and len(path) > 3 and path[1] == "params":
        return f"{path[3]}, shared by the {path[2]} runs"
    return CLAIM_FIELDS.get(str(head), ".".join(map(str, path)))


def change_words(path: tuple, old: Any, new: Any, missing: object) -> str:
    what = thing(path)
    verb = "were" if what.endswith(("parameters", "replicates", "looks")) else "was"
    if old is missing:
        return f"{what} {verb} added ({shown(None)} → {shown(new)})"
    if new is missing:
        return f"{what} {verb} removed ({shown(old)} → {shown(None)})"
    return f"{what} {verb} changed ({shown(old)} → {shown(new)})"


def _kinds(values: dict[tuple, Any]) -> dict[tuple, str]:
    """Each part of an encoding's expectation, by the path that leads to it, and its kind."""
    found = {}
    for path in values:
        if path[:1] == ("expect",):
            owner = path[:3] if path[1:2] == ("all",) else path[:1]
            kind = path[len(owner)] if len(path) > len(owner) else ""
            found[owner] = str(kind)
    return found


def _whole_parts(old: dict[tuple, Any], new: dict[tuple, Any]) -> tuple[list[str], set[tuple]]:
    """Parts added, removed or of another kind, each said once; and the parts said so."""
    before, after = _kinds(old), _kinds(new)
    lines, whole = [], set()
    for owner in sorted(set(before) | set(after), key=lambda p: tuple(map(str, p))):
        if before.get(owner) == after.get(owner):
            continue
        name, _ = _part((*owner, "kind"))
        name = name.removesuffix("'s")
        whole.add(owner)
        if owner not in before:
            lines.append(f"{name} was added ({KINDS.get(after[owner], after[owner])})")
        elif owner not in after:
            lines.append(f"{name} was removed ({KINDS.get(before[owner], before[owner])})")
        else:
            old_kind, new_kind = (KINDS.get(k, k) for k in (before[owner], after[owner]))
            lines.append(f"{name} was rewritten ({old_kind} → {new_kind})")
    return lines, whole


def described(before: dict[str, Any], after: dict[str, Any], prefix: tuple = ()) -> list[str]:
    """What changed between two encodings (or plans, with `prefix=("plan",)`), each in words."""
    old, new = flat(before, prefix), flat(after, prefix)
    lines, whole = _whole_parts(old, new)
    missing = object()
    for path in sorted(set(old) | set(new), key=lambda p: tuple(map(str, p))):
        if any(path[: len(owner)] == owner for owner in whole):
            continue
        if old.get(path, missing) != new.get(path, missing):
            lines.append(change_words(path, old.get(path, missing), new.get(path, missing), missing))
    return lines


def revision_words(history: list[dict[str, Any]], i: int) -> str:
    """What the i-th entry of a claim's history changed, in words (its recorded `changes` where
    the entries before it are not there to compare)."""
    entry = history[i]
    if i == 0 or "encoding" not in entry or "encoding" not in history[i - 1]:
        return str(entry.get("changes", ""))
    found = described(history[i - 1]["encoding"], entry["encoding"])
    profile = entry.get("profile")
    earlier = [e for e in history[:i] if e.get("profile", profile) == profile and "plan" in e]
    if earlier and "plan" in entry:
        found += described(earlier[-1]["plan"], entry["plan"], ("plan",))
    return "; ".join(found) or str(entry.get("changes", ""))
