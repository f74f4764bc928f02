"""Encodings declared, then frozen: the journal's guard against choosing after the data.

`report/claims.ledger.json` records, for each claim, everything its verdict is computed from, the
first time the claim is evaluated against results:
- from claims.yml: the lab, the sentence, the expectation (metrics, grid points, scales,
  censoring, per-part margins), the claim's margin, the `margins:` table entries its metrics
  take, and `familywise`;
- from the plan (per profile): the sequential design (looks, seed cap, alpha, boundary) and the parameters
  every compared run shares (thresholds that define a metric, the epochs trained, …).
When a later evaluation finds a different encoding, the new one is appended, marked as revised
after seeing results, with when and what changed; `check` and the Claims page show it on the
claim. Only `run` and `report`, the commands that execute the design, write the ledger; `check`,
`render`, `build` and `preview` show an encoding that differs from its last recorded one as
pending, so an intermediate save of claims.yml is never recorded.

A ledger deleted or rewritten while results exist is not silently restarted: `run` and `report`
keep its digest in `.labjournal/claims-ledger.json`; a ledger missing, or whose digest differs,
is reported by `check` and on the Claims page, and the next run or report records the loss on
every claim it judges. Commit the ledger with claims.yml: it is the record a reader (or a
grader) checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labjournal.files import atomic_write_json, canonical_json, sha256_bytes
from labjournal.run.provenance import now_iso

if TYPE_CHECKING:
    from labjournal.claims.file import Claim, ClaimsFile

LEDGER_FILE = "claims.ledger.json"  # in report/, beside claims.yml
STATE_FILE = "claims-ledger.json"  # in .labjournal/: the digest of the ledger run/report wrote


@dataclass
class Context:
    """What the encodings are recorded against: the profile's results and where the ledger's
    digest is kept."""

    profile: str
    against: str  # "default results of 2026-…": shown in each entry
    state: Path  # .labjournal/claims-ledger.json


@dataclass
class Encoded:
    """One claim's encoding: from claims.yml, and from the plan of the profile judged."""

    claim: dict[str, Any]
    plan: dict[str, Any] = field(default_factory=dict)


def encoding_of(claim: Claim, settings: ClaimsFile) -> dict[str, Any]:
    """What a claim's verdict is computed from, as the author wrote it in claims.yml."""
    from labjournal.claims.file import Margins, leaves

    expect = claim.expect.model_dump(mode="json", exclude_defaults=True)
    table = Margins(None, settings.margins)
    margins = {}
    for _, measure in leaves(claim.expect):
        found = table.of(measure.model_copy(update={"margin": None}))
        if found is not None:
            margins[measure.metric] = found[0]
    encoding: dict[str, Any] = {
        "lab": claim.lab,
        "sentence": claim.sentence,
        "expect": expect,
        "margins": margins,
    }
    if claim.margin is not None:
        encoding["margin"] = claim.margin
    encoding["familywise"] = settings.familywise
    return encoding


def plan_of(design: dict[str, Any] | None, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The design (looks, cap, alpha, boundary) and, per compared experiment, the parameters that every
    compared run shares (those that vary are the compared points, written in claims.yml)."""
    looks = list((design or {}).get("looks") or [])
    shared = {}
    for ref, params in sorted(runs.items()):
        if params:
            first = params[0]
            shared[ref] = {k: v for k, v in sorted(first.items()) if all(p.get(k) == v for p in params)}
    return {
        "design": {
            "looks": looks,
            "cap": looks[-1] if looks else None,
            "alpha": (design or {}).get("alpha", 0.05),
            # the boundary's shape (labjournal.claims.sequential); a design saved without one was Pocock's
            **({"boundary": (design or {}).get("boundary", "pocock")} if len(looks) > 1 else {}),
        },
        "params": shared,
    }


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _flat(value, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): node}


def changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """What changed between two encodings: `path: old → new`, one per change."""
    old, new = _flat(before), _flat(after)
    return [
        f"{prefix}{path}: {old.get(path, '(not recorded)')} → {new.get(path, '(none)')}"
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


def _line(diffs: list[str]) -> str:
    return "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


def read(path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        from labjournal.errors import ClaimError

        raise ClaimError(f"{path}: not a readable ledger ({exc}); restore it from version control") from exc


def _digest(path: Path) -> str | None:
    try:
        return sha256_bytes(path.read_bytes())
    except FileNotFoundError:
        return None


def problem(path: Path, state: Path) -> tuple[str, str]:
    """What happened to the ledger since run or report last wrote it, as an event recorded on the
    claims and as a message ("", "" where nothing did)."""
    try:
        kept = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "", ""
    when = f"on {str(kept.get('written', ''))[:10]}"
    shown = f"{path.parent.name}/{path.name}"
    digest = _digest(path)
    if digest is None:
        return "the ledger was deleted", (
            f"{shown} was deleted after labjournal run or report wrote it ({when}, "
            f"{kept.get('claims', '?')} claims): its record of encodings and revisions is gone; restore "
            "it from version control, or the next run or report records the loss on every claim"
        )
    if digest != kept.get("sha256"):
        return "the ledger was rewritten outside labjournal run or report", (
            f"{shown} was rewritten outside labjournal run or report (it differs from the one written "
            f"{when}): its record may not be the one kept while the results were made; restore it "
            "from version control, or the next run or report records this on every claim"
        )
    return "", ""


def _entry(
    encoded: Encoded, history: list[dict[str, Any]], context: Context, event: str
) -> dict[str, Any] | None:
    """The entry to record for one claim, or None where its last one still holds."""
    here = [e for e in history if e.get("profile", context.profile) == context.profile and "plan" in e]
    entry: dict[str, Any] = {"recorded": now_iso(), "against": context.against, "profile": context.profile}
    entry.update(encoding=encoded.claim, plan=encoded.plan)
    entry["hash"] = sha256_bytes(canonical_json([encoded.claim, encoded.plan, context.profile]).encode())[:16]
    diffs = changes(history[-1]["encoding"], encoded.claim) if history else []
    if here:
        diffs += changes(here[-1]["plan"], encoded.plan, "plan.")
    if diffs:
        entry.update(revised_after_results=True, changes=_line(diffs))
    elif history and here and not event:
        return None
    if event:
        entry["ledger_event"] = event
    return entry


def reconcile(
    path: Path, judged: dict[str, Encoded], context: Context, write: bool = False
) -> tuple[dict[str, list[str]], dict[str, str], str]:
    """Compare the encoding of every claim judged against results (`judged`: by id) with its last
    recorded one. With `write` (only `run` and `report`, which execute the design), a claim met for
    the first time (or under a profile not recorded yet), or whose encoding changed, is recorded;
    without it the file is left as it is, and what the next run or report would record is returned
    as pending. Returns, by claim, the revisions recorded after results existed and the lines
    saying what is pending, and what happened to the ledger itself ("" where nothing did)."""
    event, trouble = problem(path, context.state)
    ledger = read(path)
    pending: dict[str, str] = {}
    for claim_id, encoded in judged.items():
        history = ledger.get(claim_id, [])
        entry = _entry(encoded, history, context, event)
        if entry is None:
            continue
        pending[claim_id] = _pending_line(entry, context.profile)
        if write:
            ledger[claim_id] = [*history, entry]
    if write:
        if pending:
            atomic_write_json(path, ledger)
        pending, trouble = {}, ""
        _keep_digest(path, context.state, len(ledger))
    revisions = {claim_id: _revisions(ledger.get(claim_id, [])) for claim_id in judged}
    return revisions, pending, trouble


def _keep_digest(path: Path, state: Path, claims: int) -> None:
    digest = _digest(path)
    if digest is None:
        return
    try:
        kept = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        kept = {}
    if kept.get("sha256") != digest:
        state.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(state, {"sha256": digest, "written": now_iso(), "claims": claims})


def _revisions(history: list[dict[str, Any]]) -> list[str]:
    """The revisions recorded after results existed, in words (labjournal.claims.revision_words)."""
    from labjournal.claims.revision_words import revision_words

    lines = []
    for i, entry in enumerate(history):
        day = str(entry.get("recorded", ""))[:10]
        if entry.get("ledger_event"):
            lines.append(f"recorded again on {day} because {entry['ledger_event']} while results existed")
        if entry.get("revised_after_results"):
            lines.append(f"revised after seeing results on {day}: {revision_words(history, i)}")
    return lines


def _pending_line(entry: dict[str, Any], profile: str) -> str:
    """What the next run or report will record, as `check` and the Claims page say it."""
    if entry.get("ledger_event"):
        return (
            f"Encoding pending: {entry['ledger_event']}; the next labjournal run or report records "
            "the encoding again, with the loss"
        )
    if entry.get("revised_after_results"):
        return (
            f"Encoding pending: it differs from the one recorded ({entry['changes']}); the next "
            "labjournal run or report records it as revised after seeing results"
        )
    return "Encoding pending: not in the ledger yet; the next labjournal run or report records it"
