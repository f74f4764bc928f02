"""Values the prose reads from the results: `metric`, `best`, `has_results`, `lab`, `pending`.
Every lookup fails loudly with what exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from labjournal.errors import ResultLookupError
from labjournal.render.failed import at_point, failed_error, failures, where
from labjournal.render.formatting import NotRun
from labjournal.render.prose import RenderState, prose
from labjournal.results.lookup import Aggregate, split_ref


@dataclass(frozen=True)
class BestPoint:
    params: dict[str, Any]
    value: Aggregate
    ref: str

    def __getattr__(self, name: str) -> Any:  # best(...).lr reads a parameter of the point
        try:
            return self.params[name]
        except KeyError:
            raise ResultLookupError(
                f"the grid point has no parameter '{name}' (it has: {', '.join(self.params)})"
            ) from None


class Values:
    def __init__(self, state: RenderState) -> None:
        self.state = state
        self.results = state.results

    @prose(failed_runs="value")
    def metric(self, ref: str, name: str, over: list[str] | None = None, **params: Any) -> Aggregate | NotRun:
        """A metric at one grid point over its seeds; `over` adds replicate parameters (folds).
        Only a failed run of this point makes it a note (labjournal.render.failed)."""
        if note := self.state.not_run(ref):
            return note
        lab, experiment = split_ref(ref)
        planned = at_point(self.results.rows(lab, experiment, ok_only=False), params)
        if failed := failures(self.results, self.state.inputs, planned):
            raise failed_error(self.results, failed)
        return self.state.usable.metric(lab, experiment, name, over=over or (), **params)

    @prose(failed_runs="value")
    def best(self, ref: str | list[str], name: str, highest: bool = True) -> BestPoint | NotRun:
        """The grid point with the highest (or, `highest=False`, lowest) mean of a metric, in one
        experiment or across several (`ref` a list); `.ref` says which experiment it came from."""
        if note := self.state.not_run(ref):
            return note
        scored = []
        for one in [ref] if isinstance(ref, str) else ref:
            lab, experiment = split_ref(one)
            for point in self.results.grid_points(lab, experiment):
                agg = self.results.metric(lab, experiment, name, **point)
                if agg.n:
                    scored.append((agg.mean, one, point, agg))
        if not scored:
            raise ResultLookupError(f"{ref}: no run has a value for '{name}'")
        _, where, point, agg = (max if highest else min)(scored, key=lambda item: item[0])
        return BestPoint(point, agg, where)

    @prose()
    def has_results(self, lab: str) -> bool:
        """Whether the lab has run: results, or runs that failed (what needs them says so)."""
        return self.results.has_run(lab)

    @prose()
    def lab(self, name: str) -> Any:
        if name not in self.state.labs:
            raise ResultLookupError(f"no lab '{name}' in journal.yml (it has: {', '.join(self.state.labs)})")
        return self.state.labs[name]

    @prose()
    def pending(self, lab: str) -> Markup:
        """A note for a lab of the plan whose experiments have no results yet (or whose runs all
        failed: the render records them); nothing once they have. A lab the plan does not have is
        an error naming the labs it has."""
        info = self.lab(lab)
        if self.results.has_lab(lab):
            return Markup("")
        failed = [row for row in self.results.runs if row.lab == lab and row.status == "failed"]
        if not failed:
            return Markup(self.state.env.get_template("pending.md.j2").render(lab=lab, info=info))
        self.state.failed += [where(self.results, row) for row in failed]
        template = self.state.env.get_template("failed-lab.md.j2")
        shown = where(self.results, failed[0])
        return Markup(template.render(lab=lab, info=info, failed=len(failed), where=shown))
