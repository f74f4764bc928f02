"""Tables honest about seeds: one rule, stated in every caption.

Seeds added where a claim needed them (labjournal.pipeline.decide) land at some grid points only. A
table that averaged each row over whatever seeds it ran would put a mean over fifteen seeds next
to means over three, and since a seed is shared by every point of the grid (the same
initialisation stream, the same batch order), rows over different seeds no longer differ only in
their parameters. So a table shows every row over the seeds all its rows ran (normally the
profile's), and its caption says so and names the seeds it leaves out: those count in the claims,
which compare grid points pair by pair on the seeds both ran. Only rows that share no seed at all
fall back to each row's own seeds, with n in every cell, and the caption says that instead.

Figures drawn by a summary notebook are the notebook's own: their captions say which seeds each
grid point had (`describe_points`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labjournal.files import canonical_json
from labjournal.records import IndexRow
from labjournal.render.failed import only_rows, point_of
from labjournal.render.formatting import describe_seeds
from labjournal.results.lookup import Results


@dataclass(frozen=True)
class RowSeeds:
    """The seeds of each row of a table (or each grid point of a figure)."""

    per_row: tuple[frozenset[int], ...]

    @classmethod
    def of(cls, rows: list[IndexRow], key: Callable[[IndexRow], str]) -> RowSeeds:
        groups: dict[str, set[int]] = {}
        for row in rows:
            seeds = groups.setdefault(key(row), set())
            if row.seed is not None:
                seeds.add(row.seed)
        return cls(tuple(frozenset(seeds) for seeds in groups.values()))

    @property
    def common(self) -> frozenset[int]:
        return frozenset.intersection(*self.per_row) if self.per_row else frozenset()

    @property
    def uneven(self) -> bool:
        return any(seeds != self.common for seeds in self.per_row)

    @property
    def own_n(self) -> bool:
        """Rows that share no seed: each row shows its own n."""
        return self.uneven and not self.common

    def left_out(self) -> str:
        """'seeds 3–14 at 2 of 12 grid points': the seeds beyond those every row ran."""
        extra = [seeds - self.common for seeds in self.per_row if seeds - self.common]
        return f"{describe_seeds(list(frozenset().union(*extra)))} at {len(extra)} of {len(self.per_row)} grid points"


@dataclass(frozen=True)
class TableSeeds:
    """The seeds a results table averages: those all its rows ran."""

    lab: str
    experiment: str
    rows: list[IndexRow]  # every run of the experiment, failed ones included
    seeds: RowSeeds

    @classmethod
    def of(cls, results: Results, lab: str, experiment: str, by: list[str]) -> TableSeeds:
        rows = results.rows(lab, experiment, ok_only=False)
        return cls(lab, experiment, rows, RowSeeds.of(rows, lambda row: point_of(row, by)))

    def _kept(self, row: IndexRow) -> bool:
        restricted = self.seeds.uneven and not self.seeds.own_n
        return not restricted or row.seed is None or row.seed in self.seeds.common

    @property
    def used(self) -> list[IndexRow]:
        """The runs the table averages."""
        return [row for row in self.rows if self._kept(row)]

    def restrict(self, results: Results) -> Results:
        """The results without this experiment's runs of the seeds the table leaves out."""
        if not self.seeds.uneven or self.seeds.own_n:
            return results
        mine = (self.lab, self.experiment)
        return only_rows(results, [r for r in results.runs if (r.lab, r.experiment) != mine or self._kept(r)])

    def replicates(self) -> str:
        """The seeds the table's values are over, as its caption says them."""
        if not self.seeds.uneven:
            return describe_seeds([row.seed for row in self.rows])
        if self.seeds.own_n:
            return "each row's own seeds"
        return f"{describe_seeds(list(self.seeds.common))}, the seeds every row ran"

    def aside(self) -> str:
        """The caption's sentence on the seeds left out (or on n per row); empty where rows are even."""
        if not self.seeds.uneven:
            return ""
        if self.seeds.own_n:
            return " The rows share no seed: each cell gives its n."
        left_out = self.seeds.left_out()
        return (
            f" {left_out[0].upper()}{left_out[1:]}, added where claims needed them, count in the "
            "claims, not in this table, so that its rows compare on the same seeds."
        )


def describe_points(rows: list[IndexRow]) -> str:
    """The seeds of a summary's inputs: 'seeds 0–2', or 'seeds 0–2 at every grid point, and
    seeds 3–14 at 2 of 12 grid points' where claims added seeds at some."""
    seeds = RowSeeds.of(rows, lambda row: canonical_json(row.params))
    if not seeds.uneven:
        return describe_seeds([row.seed for row in rows])
    every = describe_seeds(list(seeds.common)) or "no seed"
    return f"{every} at every grid point, and {seeds.left_out()}"
