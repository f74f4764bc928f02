"""When a profile's claims may be judged: the looks (numbers of paired seeds), the overall alpha and
the boundary's shape, as the plan fixes them before any run. A plain record: the statistics that
turn it into nominal levels and intervals live with the claims (`labjournal.claims.sequential`),
so loading a plan imports neither scipy nor numpy."""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

ALPHA = 0.05
BOUNDARIES = ("obrien-fleming", "pocock")
BOUNDARY = "obrien-fleming"

S = TypeVar("S", bound="Schedule")


@dataclass(frozen=True)
class Schedule:
    """The looks (numbers of paired seeds) at which a verdict may be taken, the overall alpha and
    the boundary's shape."""

    looks: tuple[int, ...] = ()
    alpha: float = ALPHA
    boundary: str = BOUNDARY

    @classmethod
    def fixed(cls: type[S], alpha: float = ALPHA) -> S:
        """One look, whatever its size: the plain fixed-sample t interval."""
        return cls((), alpha)

    @classmethod
    def schedule(
        cls: type[S], first: int, batch: int, most: int, alpha: float = ALPHA, boundary: str = BOUNDARY
    ) -> S:
        """Looks at `first`, `first + batch`, ... up to `most` seeds."""
        looks = list(range(max(first, 2), most + 1, max(batch, 1)))
        if not looks or looks[-1] != most:
            looks.append(most)
        return cls(tuple(looks), alpha, boundary)

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    def at(self: S, alpha: float) -> S:
        """The same looks and boundary spending `alpha` (a Holm level within a claim or family)."""
        return self if alpha == self.alpha else dataclasses.replace(self, alpha=alpha)

    def look(self, n: int) -> int:
        """The index of the look n seeds are judged as: the last look at or below n (fewer seeds
        than a look, where a run has no value, get the look before it: stricter)."""
        return max(0, bisect.bisect_right(self.looks, n) - 1)

    def to_json(self) -> dict[str, Any]:
        return {"looks": list(self.looks), "alpha": self.alpha, "boundary": self.boundary}

    @classmethod
    def from_json(cls: type[S], data: dict[str, Any] | None) -> S:
        """A saved design; one saved before boundaries had a name was Pocock's."""
        if not data:
            return cls.fixed()
        looks = tuple(int(n) for n in data.get("looks", ()))
        return cls(looks, float(data.get("alpha", ALPHA)), str(data.get("boundary", "pocock")))
