"""Encodings declared, then frozen: the journal's guard against choosing after the data.

`report/claims.ledger.json` records each claim's encoding (its parts: metrics, grid points,
margins, scales, censoring; the claims file's margins for those metrics) the first time the claim
is evaluated against results. When a later evaluation finds a different encoding, the new one is
appended, marked as revised after seeing results, with when and what changed; `check` and the
Claims page show it on the claim. Only `run` and `report`, the commands that execute the design,
write the ledger; `check`, `render`, `build` and `preview` read it and show an encoding that
differs from its last recorded one as pending, so an intermediate save of claims.yml is never
recorded. Commit the ledger with claims.yml: it is the record a reader (or a grader) checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labjournal.files import atomic_write_json, canonical_json, sha256_bytes
from labjournal.run.provenance import now_iso

if TYPE_CHECKING:
    from labjournal.claims.file import Claim, ClaimsFile

LEDGER_FILE = "claims.ledger.json"  # in report/, beside claims.yml


def encoding_of(claim: Claim, settings: ClaimsFile) -> dict[str, Any]:
    """What a claim's verdict is computed from, as the author wrote it."""
    expect = claim.expect.model_dump(mode="json", exclude_defaults=True)
    metrics = sorted(set(_metrics(expect)))
    margins = {m: settings.margins[m] for m in metrics if m in settings.margins}
    return {"lab": claim.lab, "expect": expect, "margins": margins}


def _metrics(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["metric"]] if isinstance(node.get("metric"), str) else []
        return found + [m for value in node.values() for m in _metrics(value)]
    if isinstance(node, list):
        return [m for value in node for m in _metrics(value)]
    return []


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _flat(value, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): node}


def changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What changed between two encodings, in a line: `path: old → new`, at most four of them."""
    old, new = _flat(before), _flat(after)
    diffs = [
        f"{path}: {old.get(path, '(none)')} → {new.get(path, '(none)')}"
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]
    return "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


def read(path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        from labjournal.claims.file import ClaimError

        raise ClaimError(f"{path}: not a readable ledger ({exc}); restore it from version control") from exc


def reconcile(
    path: Path, judged: dict[str, Claim], settings: ClaimsFile, against: str, write: bool = False
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Compare the encoding of every claim judged against results (`judged`: by id) with its last
    recorded one. With `write` (only `run` and `report`, which execute the design), a claim met for
    the first time, or whose encoding changed, is recorded; without it the file is left as it is,
    and what the next run or report would record is returned as pending. Returns, by claim, the
    revisions recorded after results existed, and the lines saying what is pending."""
    ledger = read(path)
    pending: dict[str, str] = {}
    for claim_id, claim in judged.items():
        encoding = encoding_of(claim, settings)
        digest = sha256_bytes(canonical_json(encoding).encode())[:16]
        history = ledger.get(claim_id, [])
        if history and history[-1]["hash"] == digest:
            continue
        entry = {"hash": digest, "recorded": now_iso(), "against": against, "encoding": encoding}
        if history:
            entry["revised_after_results"] = True
            entry["changes"] = changes(history[-1]["encoding"], encoding)
        pending[claim_id] = _pending_line(entry)
        if write:
            ledger[claim_id] = [*history, entry]
    if write and pending:
        atomic_write_json(path, ledger)
        pending = {}
    revisions = {
        claim_id: [
            f"revised after seeing results on {entry['recorded'][:10]}: {entry['changes']}"
            for entry in ledger.get(claim_id, [])
            if entry.get("revised_after_results")
        ]
        for claim_id in judged
    }
    return revisions, pending


def _pending_line(entry: dict[str, Any]) -> str:
    """What the next run or report will record, as `check` and the Claims page say it."""
    if entry.get("revised_after_results"):
        return (
            f"Encoding pending: it differs from the one recorded ({entry['changes']}); the next "
            "labjournal run or report records it as revised after seeing results"
        )
    return "Encoding pending: not in the ledger yet; the next labjournal run or report records it"
