"""What `labjournal check` prints: the claims as a table for a reader, or as JSON for CI and for
whoever grades a journal (`check --json`). Both go to stdout; the exit status says whether the
claims hold (see labjournal.commands.check)."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labjournal.claims.judge import Verdict
from labjournal.claims.sequential import Design
from labjournal.claims.verdicts import family_sentence

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
        what = f"its most promising open part would need about {needed} seeds per grid point (80 % power)"
    return f"[italic]stopped: {escape(v.stopped)}; {what}[/]"


def _lines(v: Verdict) -> list[str]:
    lines = [
        escape(e.summary()) + f" → {e.verdict}" + (f" on its own; {note}" if note else "")
        for e, note in zip(v.evidence, v.part_notes(), strict=True)
    ]
    for description, cells in v.sensitivity:
        shown = ", ".join(f"{where}: {verdict}" for where, verdict in cells)
        lines.append(f"[dim]sensitivity of {escape(description)}: {escape(shown)} (not counted)[/]")
    if v.familywise_p is not None:
        lines.append(f"the claim's Holm-adjusted p-value: {v.familywise_p:.3g}")
    if v.familywise == "none":
        lines.append("[dim]not corrected over the journal's claims (familywise: none)[/]")
    if v.verdict == "not-run":
        lines.append(f"[italic]{escape(v.stopped)}[/]")
    elif not v.decided:
        lines.append(_undecided_line(v))
    lines += [f"[yellow]warning: {escape(note)}[/]" for note in v.notes]
    lines += [f"[magenta]{escape(revision)}[/]" for revision in v.revisions]
    if v.pending:
        lines.append(f"[magenta italic]{escape(v.pending)}[/]")
    return lines


def print_table(verdicts: list[Verdict], profile: str, design: Design, familywise: str) -> None:
    table = Table(title=f"{len(verdicts)} claims against the {profile} results")
    for column in ("claim", "lab", "verdict", "evidence (each part's own verdict)"):
        table.add_column(column)
    for v in verdicts:
        style = VERDICT_STYLES[v.verdict]
        shown = f"[{style}]{escape(v.label)}[/]"
        table.add_row(escape(v.claim_id), v.claim.lab, shown, "\n".join(_lines(v)))
    out = Console(soft_wrap=False)
    out.print(table)
    counts = {name: sum(v.verdict == name for v in verdicts) for name in VERDICT_STYLES}
    out.print(", ".join(f"{n} {name}" for name, n in counts.items()))
    out.print(f"Judged with {design.describe()}; {family_sentence(familywise).replace('**', '')}")
    for trouble in sorted({v.ledger for v in verdicts if v.ledger}):
        out.print(f"[bold red]The claims ledger:[/] {escape(trouble)}")


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
