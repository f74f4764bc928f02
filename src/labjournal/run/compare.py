"""One run's values against the same run executed again (`labjournal verify`): every scalar the
journal's index holds, every scalar, series and table cell of its `metrics.json`, and every
figure, pixel by pixel. Equal means bit for bit (NaN equals NaN, a value never reached equals
one never reached). Where the platform differs, a value that moved within its declared tolerance
(labjournal.plan.tolerance) is "within tolerance"; anything else differs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labjournal.plan.tolerance import Verify


@dataclass(frozen=True)
class Difference:
    """One value that is not what the journal holds."""

    what: str  # "metric val_accuracy", "series loss[3]", "table confusion[1][2]", "figure plot"
    recorded: Any
    now: Any
    within: bool  # within the declared tolerance (only where the platform differs)
    measure: str = ""  # how far: "Δ 1.2e-07 (rel 3e-07)", "4.1% of pixels"

    def describe(self) -> str:
        far = f", {self.measure}" if self.measure else ""
        return f"{self.what}: {_shown(self.recorded)} in the journal, {_shown(self.now)} now{far}"

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "recorded": self.recorded,
            "now": self.now,
            "within_tolerance": self.within,
            "measure": self.measure,
        }


def _shown(value: Any) -> str:
    return format(value, ".10g") if isinstance(value, float) else repr(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b if isinstance(a, float | int) else a == b


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Comparison:
    """Compares under one `verify:` section; `tolerant` where the platform differs."""

    settings: Verify
    tolerant: bool

    def value(self, what: str, metric: str, recorded: Any, now: Any) -> Difference | None:
        if _same(recorded, now):
            return None
        if not (_number(recorded) and _number(now)):
            return Difference(what, recorded, now, within=False)
        gap = abs(float(now) - float(recorded))
        rel = gap / abs(float(recorded)) if recorded else math.inf
        measure = f"Δ {gap:.3g} (rel {rel:.3g})"
        within = self.tolerant and self.settings.of(metric).allows(float(recorded), float(now))
        return Difference(what, recorded, now, within=within, measure=measure)

    def values(self, what: str, metric: str, recorded: list, now: list) -> list[Difference]:
        if len(recorded) != len(now):
            return [Difference(what, f"{len(recorded)} values", f"{len(now)} values", within=False)]
        found = (
            self.value(f"{what}[{i}]", metric, a, b)
            for i, (a, b) in enumerate(zip(recorded, now, strict=True))
        )
        return [d for d in found if d is not None]

    def metrics(
        self, recorded: dict[str, Any], now: dict[str, Any], prefix: str = "metric"
    ) -> list[Difference]:
        """Scalars by name; a measured one (a wall-clock time) is never compared."""
        found = []
        for name in sorted(set(recorded) | set(now)):
            if self.settings.is_measured(name):
                continue
            if name not in now or name not in recorded:
                found.append(Difference(f"{prefix} {name}", recorded.get(name), now.get(name), within=False))
            elif (difference := self.value(f"{prefix} {name}", name, recorded[name], now[name])) is not None:
                found.append(difference)
        return found

    def run_files(self, recorded: dict[str, Any], now: dict[str, Any]) -> list[Difference]:
        """Two runs' `metrics.json`: scalars, series and tables (figures: `figures`)."""
        found = self.metrics(recorded.get("scalars", {}), now.get("scalars", {}), "metrics.json")
        for kind in ("series", "tables"):
            old, new = recorded.get(kind, {}), now.get(kind, {})
            for name in sorted(set(old) | set(new)):
                if self.settings.is_measured(name):
                    continue
                if name not in old or name not in new:
                    found.append(Difference(f"{kind} {name}", name in old, name in new, within=False))
                elif kind == "series":
                    found += self.values(f"series {name}", name, old[name]["values"], new[name]["values"])
                else:
                    found += self.table(name, old[name], new[name])
        return found

    def table(self, name: str, recorded: dict[str, Any], now: dict[str, Any]) -> list[Difference]:
        if recorded.get("columns") != now.get("columns") or len(recorded["rows"]) != len(now["rows"]):
            shape = lambda t: f"{len(t['rows'])} rows of {t.get('columns')}"  # noqa: E731
            return [Difference(f"table {name}", shape(recorded), shape(now), within=False)]
        found = []
        for i, (old, new) in enumerate(zip(recorded["rows"], now["rows"], strict=True)):
            for column, a, b in zip(recorded["columns"], old, new, strict=False):
                if self.settings.is_measured(str(column)):
                    continue
                if (difference := self.value(f"table {name}[{i}][{column}]", str(column), a, b)) is not None:
                    found.append(difference)
        return found

    def figures(self, names: dict[str, Any], recorded_dir: Path, now_dir: Path) -> list[Difference]:
        found = []
        for name, entry in sorted(names.items()):
            if self.settings.is_measured(name):
                continue
            difference = self.figure(name, recorded_dir / entry["path"], now_dir / entry["path"])
            if difference is not None:
                found.append(difference)
        return found

    def figure(self, name: str, recorded: Path, now: Path) -> Difference | None:
        """Pixel by pixel: the same size and every pixel equal, or the share of pixels that differ."""
        import numpy as np
        from PIL import Image

        if not recorded.exists() or not now.exists():
            return Difference(
                f"figure {name}", recorded.exists(), now.exists(), within=False, measure="missing"
            )
        old = np.asarray(Image.open(recorded).convert("RGBA"))
        new = np.asarray(Image.open(now).convert("RGBA"))
        if old.shape != new.shape:
            size = lambda a: f"{a.shape[1]}x{a.shape[0]} px"  # noqa: E731
            return Difference(f"figure {name}", size(old), size(new), within=False, measure="another size")
        share = float(np.any(old != new, axis=-1).mean())
        if share == 0:
            return None
        within = self.tolerant and share <= self.settings.figures
        return Difference(f"figure {name}", "", "", within=within, measure=f"{share:.2%} of pixels differ")
