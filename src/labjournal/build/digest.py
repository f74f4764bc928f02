"""The journal digest: one hash that ties a PDF or a site to the results it was built from.

It is the SHA-256 over three parts, each a SHA-256 of its own: the results index (what it says,
not when it was written), the rendered pages (`_build/`, in the site's order) and the claims'
verdicts. The build prints it on the PDF's title page and writes it, with its parts, into the
site as `journal-digest.json`. `labjournal verify --pdf FILE` (or a published folder) reads it
back and recomputes it from the repository: the same results, rendered and judged here, give the
same digest. Where only the pages part differs, the results and verdicts are the same and the
pages say something else (another machine's provenance page, say); the message says which part.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labjournal.claims.judge import CLAIMS_FILE, ClaimError, judge_journal, load_claims_file
from labjournal.errors import LabjournalError
from labjournal.files import atomic_write_json, canonical_json, sha256_bytes, sha256_file
from labjournal.project import PDF_NAME, Project
from labjournal.results.lookup import Results

DIGEST_FILE = "journal-digest.json"  # in the site folder
SHOWN = 32  # hex digits of the digest the PDF prints
PART_SHOWN = 12  # hex digits of each part's
PARTS = ("results", "pages", "verdicts")
LABEL = "Journal digest"


@dataclass(frozen=True)
class Digest:
    results: str
    pages: str
    verdicts: str

    @property
    def value(self) -> str:
        return sha256_bytes(canonical_json([self.results, self.pages, self.verdicts]).encode())

    @property
    def shown(self) -> str:
        return self.value[:SHOWN]

    def line(self) -> str:
        """What the PDF's title page says: the digest, and the start of each part's."""
        parts = ", ".join(f"{name} {getattr(self, name)[:PART_SHOWN]}" for name in PARTS)
        return f"{LABEL} {self.shown} ({parts})"

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.value, "results": self.results, "pages": self.pages, "verdicts": self.verdicts}


def journal_digest(project: Project) -> Digest:
    """The digest of the journal as `_build/` and `results/` hold it now."""
    try:
        index = json.loads(project.index_path.read_text())
    except FileNotFoundError:
        index = {}  # a journal built before any run: its pages say so
    except (OSError, json.JSONDecodeError) as exc:
        raise LabjournalError(f"the results index {project.index_path} is unreadable: {exc}") from exc
    index.pop("generated", None)
    pages = [
        [page.source, sha256_file(project.build_dir / page.source)]
        for page in project.site_config().pages
        if (project.build_dir / page.source).exists()
    ]
    return Digest(
        results=sha256_bytes(canonical_json(index).encode()),
        pages=sha256_bytes(canonical_json(pages).encode()),
        verdicts=sha256_bytes(canonical_json(verdicts(project)).encode()),
    )


def verdicts(project: Project) -> list[list[str]]:
    """Every claim's verdict and those of its parts, judged against the results (never recorded)."""
    claims_file = project.report_dir / CLAIMS_FILE
    if not claims_file.exists():
        return []
    results = Results.load(project.results_dir, project.index_path.name)
    try:
        judged = judge_journal(results, load_claims_file(claims_file), project.report_dir)
    except ClaimError as exc:
        return [["error", str(exc)]]
    return [[v.claim_id, str(v.verdict)] + [str(e.verdict) for e in v.evidence] for v in judged]


def write_site_digest(site_dir: Path, digest: Digest) -> None:
    atomic_write_json(site_dir / DIGEST_FILE, digest.to_json())


def read_document(path: Path) -> dict[str, str]:
    """The digest a reader's document carries: a site folder's `journal-digest.json` (or, without
    it, its PDF's), or what a PDF's title page prints ({"digest": first SHOWN hex digits})."""
    if path.is_dir():
        if (path / DIGEST_FILE).exists():
            return json.loads((path / DIGEST_FILE).read_text())
        if (path / PDF_NAME).exists():
            return read_document(path / PDF_NAME)
        raise LabjournalError(f"{path} holds neither {DIGEST_FILE} nor {PDF_NAME}: not a built journal")
    if shutil.which("pdftotext") is None:
        raise LabjournalError("reading a PDF's digest needs pdftotext (apt-get install poppler-utils)")
    text = subprocess.run(["pdftotext", "-l", "3", str(path), "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text).lower()
    found = re.search(rf"journaldigest([0-9a-f]{{{SHOWN}}})", flat)
    if not found:
        raise LabjournalError(
            f"{path}: no journal digest on its title page (built before digests, or not a journal)"
        )
    held = {"digest": found.group(1)}
    for name in PARTS:
        part = re.search(rf"{name}([0-9a-f]{{{PART_SHOWN}}})", flat[found.end() :])
        if part:
            held[name] = part.group(1)
    return held


def matches(held: dict[str, str], now: Digest) -> tuple[bool, str]:
    """Whether the document a reader holds is the one these results build, and the sentence saying so."""
    if now.value.startswith(held.get("digest", "-")):
        return True, f"the document matches these results: {LABEL.lower()} {now.shown}"
    parts = [name for name in PARTS if name in held and not getattr(now, name).startswith(held[name])]
    which = f" (these differ: {', '.join(parts)})" if parts else ""
    return False, (
        f"the document does NOT match these results{which}: it carries {held.get('digest', '?')[:SHOWN]}, "
        f"the repository's results build {now.shown}"
    )
