"""`verify:` in journal.yml: how close a re-executed run must come to the journal's values
(`labjournal verify`, labjournal.run.verify).

On the machine and library versions a run was recorded with, a seeded run reproduces bit for bit
and nothing is tolerated. Where the platform differs (another machine, other library versions,
another thread count, a GPU), a value may move within its tolerance: `|now - recorded| <= abs +
rel * |recorded|`, the metric's own (by name, glob patterns allowed) or the default below.

    verify:
      tolerance: {abs: 1.0e-6, rel: 1.0e-4}     # the default (these are its values)
      metrics: {val_accuracy: {abs: 0.01}, "*_loss": {rel: 0.01}}
      figures: 0.01        # the fraction of a figure's pixels that may differ
      measured: ["*_s"]    # wall-clock measurements: shown, never compared
"""

from __future__ import annotations

import fnmatch

from pydantic import Field

from labjournal.records import StrictModel

DEFAULT_ABS = 1e-6
DEFAULT_REL = 1e-4
DEFAULT_FIGURE_PIXELS = 0.01


class Tolerance(StrictModel):
    abs: float = Field(default=0.0, ge=0)
    rel: float = Field(default=0.0, ge=0)

    def allows(self, recorded: float, now: float) -> bool:
        return abs(now - recorded) <= self.abs + self.rel * abs(recorded)

    def __str__(self) -> str:
        return f"abs {self.abs:g}, rel {self.rel:g}"


class Verify(StrictModel):
    """The `verify:` section; every part optional."""

    tolerance: Tolerance = Field(default_factory=lambda: Tolerance(abs=DEFAULT_ABS, rel=DEFAULT_REL))
    metrics: dict[str, Tolerance] = Field(default_factory=dict)
    figures: float = Field(default=DEFAULT_FIGURE_PIXELS, ge=0, le=1)
    measured: list[str] = Field(default_factory=list)

    def of(self, metric: str) -> Tolerance:
        """A metric's tolerance: its own (exact name first, then the first pattern), else the default."""
        if metric in self.metrics:
            return self.metrics[metric]
        found = next((t for pattern, t in self.metrics.items() if fnmatch.fnmatchcase(metric, pattern)), None)
        return found or self.tolerance

    def is_measured(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.measured)
