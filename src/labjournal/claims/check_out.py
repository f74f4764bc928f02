"""What `labjournal check` prints: the claims as blocks for a reader (one per claim, readable in
an 80-column terminal: labjournal.claims.words), or as JSON for CI and for whoever grades a
journal (`check --json`). Both go to stdout; the exit status says whether the claims hold (see
labjournal.commands.check)."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from labjournal.claims.judge import Verdict
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import family_sentence
from labjournal.claims.words import ClaimView, PartView, number, view

VERDICT_STYLES = {
    "supported": "green",
    "partly-supported": "dark_orange",
    "contradicted": "red",
    "negligible": "blue",
    "inconclusive": "yellow",
    "not-run": "dim",
}


def _undecided_line(v: Verdict) -> str:
    needed = v.seeds_needed()
    if needed is None:
        what = "no number of seeds can be estimated from this spread"
    elif needed > 1000:
        what = "its most promising open part would need more than 1,000 seeds per grid point"
    else:
        what = f"its most promising open part would need about {needed} seeds per grid point, at 80 % power"
    stopped = f"Adding seeds stopped: {escape(v.stopped)}; " if v.stopped else "Undecided: "
    return f"[italic]{stopped}{what}.[/]"


def _part_lines(part: PartView) -> list[tuple[str, int]]:
    """A part: its number and name, then its estimate with its verdict, then its margin and n."""
    style = VERDICT_STYLES.get(part.verdict, "")
    deciding = " [bold](deciding)[/]" if part.deciding else ""
    verdict = f"[{style}]{part.verdict}[/]" if style else str(part.verdict)
    lines = [
        (f"{part.number}. {escape(part.name)}{deciding}", 2),
        (f"{escape(part.estimate)}: {verdict}", 5),
        (f"[dim]{escape(part.details)}[/]", 5),
    ]
    if part.note:
        lines.append((f"[dim]the claim counts it {escape(part.note)}[/]", 5))
    return lines


def _notes(v: Verdict, claim: ClaimView) -> list[str]:
    """What follows a claim's parts: sensitivity, the Holm p-value, why it is open, warnings,
    revisions and what the ledger has pending."""
    names = {part.name: part for part in claim.parts}
    by_description = {e.description: claim.parts[i] for i, e in enumerate(v.evidence)}
    lines = []
    for description, cells in v.sensitivity:
        part = by_description.get(description) or names.get(description)
        which = f"part {part.number}" if part else escape(description)
        shown = ", ".join(f"{escape(where.replace('_', ' '))} {verdict}" for where, verdict in cells)
        lines.append(f"[dim]Sensitivity of {which}, not counted: {shown}.[/]")
    if v.familywise_p is not None:
        lines.append(f"Holm-adjusted p-value over the journal's claims: {number(v.familywise_p)}.")
    if v.familywise == "none":
        lines.append("[dim]Not corrected over the journal's claims: familywise: none.[/]")
    if v.verdict == "not-run":
        lines.append(f"[italic]{escape(v.stopped)}.[/]")
    elif not v.decided:
        lines.append(_undecided_line(v))
    lines += [f"[yellow]Warning: {escape(note)}.[/]" for note in v.notes]
    lines += [f"[magenta]{escape(revision[:1].upper() + revision[1:])}.[/]" for revision in v.revisions]
    if v.pending:
        lines.append(f"[magenta italic]{escape(v.pending)}.[/]")
    return lines


def print_claim(out: Console, v: Verdict, labels: dict[str, str] | None = None) -> None:
    """One claim as a block that reads at any width: its id and verdict on one line, the sentence,
    the deciding part, then each part on its own lines, then its notes."""
    claim = view(v, labels)
    style = VERDICT_STYLES[v.verdict]
    say(
        out,
        f"[bold]{escape(v.claim_id)}[/] ({escape(v.claim.lab)}): [bold {style}]{escape(claim.badge())}[/]",
    )
    lines: list[tuple[str, int]] = [(f"[italic]{escape(v.claim.sentence)}[/]", 2)]
    if claim.deciding is not None:
        lines.append((f"Deciding part: {claim.deciding.number}, {escape(claim.deciding.name)}", 2))
    for part in claim.parts:
        lines += _part_lines(part)
    lines += [(line, 2) for line in _notes(v, claim)]
    for text, indent in lines:
        say(out, text, indent, indent + 3 if indent == 2 and text[:1].isdigit() else indent)


def say(out: Console, markup: str, indent: int = 0, hang: int | None = None) -> None:
    """Rich markup wrapped to the console's width, the first line indented by `indent`, the
    others by `hang` (the same by default), none ending in spaces."""
    hang = indent if hang is None else hang
    lines = Text.from_markup(markup, overflow="fold").wrap(out, max(20, out.width - max(indent, hang)))
    for i, line in enumerate(lines):
        line.rstrip()
        out.print(Text(" " * (hang if i else indent)) + line, soft_wrap=True)


def print_table(
    verdicts: list[Verdict],
    profile: str,
    design: Design,
    familywise: str,
    labels: dict[str, str] | None = None,
    out: Console | None = None,
) -> None:
    """Every claim, one block each (`print_claim`), then the counts and how they were judged."""
    out = out or Console()
    say(out, f"[bold]{len(verdicts)} claims against the {escape(profile)} results[/]")
    for v in verdicts:
        out.print()
        print_claim(out, v, labels)
    out.print()
    counts = {name: sum(v.verdict == name for v in verdicts) for name in VERDICT_STYLES}
    for line in _comma_lines([f"{n} {name}" for name, n in counts.items()], out.width):
        say(out, line)
    say(out, escape(f"Judged with {design.describe()}; {family_sentence(familywise).replace('**', '')}"))
    for trouble in sorted({v.ledger for v in verdicts if v.ledger}):
        say(out, f"[bold red]The claims ledger:[/] {escape(trouble)}")


def _comma_lines(items: list[str], width: int) -> list[str]:
    """`items` joined by commas into lines of at most `width`, never breaking an item."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 3 <= width:
            lines[-1] += f", {item}"
        else:
            lines[-1:] = [lines[-1] + ","] if lines else []
            lines.append(item)
    return lines


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def part_json(e: Any) -> dict[str, Any]:
    interval = e.interval
    return {
        "description": e.description,
        "ref": e.ref,
        "verdict": e.verdict,
        "metric": e.metric,
        "estimate": None if getattr(e, "orders", None) is not None else _number(e.mean),
        "interval": [_number(interval[0]), _number(interval[1])] if interval else None,
        "n": e.n,
        "planned": e.planned,
        "method": "exact" if e.exact else e.method,
        "margin": _number(e.margin),
        "expected": e.expected,
        "p_value": _number(e.p_value),
        "counted": not e.by_construction,
        "per_seed": {str(seed): slope for seed, slope in e.per_seed.items()} or None,
    }


def as_json(verdicts: list[Verdict], profile: str, design: Design, familywise: str) -> str:
    claims = [
        {
            "id": v.claim_id,
            "lab": v.claim.lab,
            "sentence": v.claim.sentence,
            "verdict": v.verdict,
            "label": v.label,
            "parts": [part_json(e) for e in v.evidence],
            "familywise_p": _number(v.familywise_p),
            "stopped": v.stopped or None,
            "seeds_needed": v.seeds_needed() if not v.decided and v.evidence else None,
            "sensitivity": [
                {"part": d, "cells": [{"at": w, "verdict": c} for w, c in cells]}
                for d, cells in v.sensitivity
            ],
            "warnings": v.notes,
            "revisions": v.revisions,
            "pending": v.pending or None,
        }
        for v in verdicts
    ]
    payload = {
        "profile": profile,
        "design": {**design.to_json(), "levels": list(design.levels()), "described": design.describe()},
        "familywise": familywise,
        "ledger_problem": next((v.ledger for v in verdicts if v.ledger), None),
        "claims": claims,
    }
    return json.dumps(payload, indent=2, allow_nan=False)
