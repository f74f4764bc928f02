"""What `labjournal verify` found, per run and in all: reproduced exactly, within tolerance,
differs (which values, by how much), not reproducible (`--twice`) or failed; as lines and as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labjournal.run.compare import Difference

EXACT = "reproduced exactly"
WITHIN = "within tolerance"
DIFFERS = "differs"
NOT_REPRODUCIBLE = "not reproducible"
FAILED = "failed"


@dataclass
class RunCheck:
    """One verified run."""

    label: str
    notebook: str  # lab/notebook
    key: str
    differences: list[Difference] = field(default_factory=list)
    moved: list[Difference] = field(default_factory=list)  # between two executions (--twice)
    versions: list[str] = field(default_factory=list)  # "numpy 1.26.4 → 2.0.1", platform differences
    changed_files: list[str] = field(default_factory=list)  # files of results/ edited after the run
    error: str = ""  # why the re-execution failed
    recorded_s: float | None = None  # the original run's time
    verify_s: float | None = None  # the re-execution's

    @property
    def outcome(self) -> str:
        if self.error:
            return FAILED
        if self.moved:
            return NOT_REPRODUCIBLE
        if any(not d.within for d in self.differences):
            return DIFFERS
        return WITHIN if self.differences else EXACT

    def lines(self) -> list[str]:
        shown = [f"{self.label} ({self.key[:8]}): {self.outcome}"]
        if self.error:
            shown.append(f"    {self.error}")
        for name in self.changed_files:
            shown.append(f"    results/{name} was edited after the run (its checksum differs)")
        if self.moved:
            shown.append("    two executions of the same key differ:")
            shown += [f"      {d.describe()}" for d in self.moved[:10]]
        listed = [d for d in self.differences if not d.within] or self.differences
        shown += [f"    {d.describe()}" for d in listed[:10]]
        if len(listed) > 10:
            shown.append(f"    and {len(listed) - 10} more values")
        if self.versions:
            shown.append(f"    the platform differs: {', '.join(self.versions)}")
        return shown

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.label,
            "notebook": self.notebook,
            "key": self.key,
            "outcome": self.outcome,
            "differences": [d.to_json() for d in self.differences],
            "moved": [d.to_json() for d in self.moved],
            "platform_differs": self.versions,
            "changed_files": self.changed_files,
            "error": self.error,
            "recorded_s": self.recorded_s,
            "verify_s": self.verify_s,
        }


@dataclass
class VerifyReport:
    """Every verified run, how they were picked, and the wall time."""

    checks: list[RunCheck]
    picked: str  # "a sample of 2 of 9 runs (seed 0)", "all 9 runs"
    wall_s: float = 0.0
    twice: bool = False

    @property
    def ok(self) -> bool:
        return all(check.outcome in (EXACT, WITHIN) for check in self.checks)

    def counts(self) -> dict[str, int]:
        found = {name: 0 for name in (EXACT, WITHIN, DIFFERS, NOT_REPRODUCIBLE, FAILED)}
        for check in self.checks:
            found[check.outcome] += 1
        return found

    def line(self) -> str:
        counts, total = self.counts(), len(self.checks)
        parts = [f"{counts[EXACT]} of {total} {EXACT}"]
        parts += [f"{n} {name}" for name, n in counts.items() if n and name != EXACT]
        return ", ".join(parts) + f" ({self.picked}; {self.wall_s:.1f} s)"

    def lines(self) -> list[str]:
        return [line for check in self.checks for line in check.lines()] + [self.line()]

    def to_json(self) -> dict[str, Any]:
        return {
            "picked": self.picked,
            "twice": self.twice,
            "ok": self.ok,
            "counts": self.counts(),
            "wall_s": round(self.wall_s, 3),
            "runs": [check.to_json() for check in self.checks],
        }
