"""The functions the prose can call, registered where they are defined (`@prose`), and the state
they share while the pages render: the project, the results, the Jinja environment, the page
being rendered and the placements (labjournal.render.placements).

Rendering takes two passes over the pages (labjournal.render.journal): the first fills the
placements (which page shows which figure, claim, notebook), the second renders the pages that
list what other pages placed (the Claims page), so no page depends on which came first."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2

from labjournal.project import Project
from labjournal.records import IndexRow
from labjournal.render.failed import failures, usable_results
from labjournal.render.formatting import NotRun
from labjournal.render.placements import Placements
from labjournal.results.lookup import Results, split_ref

PROSE_MARK = "_labjournal_prose"  # set on a method by @prose


@dataclass(frozen=True)
class ProseFunction:
    function: Callable[..., Any]
    failed_runs: str | None  # "block" or "value": what it gives when its runs failed; None: an error


def prose(failed_runs: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as a function the prose can call. Where its runs failed, a `"block"` function
    gives a note in place of the block, a `"value"` function (metric, best) a value that prints as
    that note; other functions let the error stop the render. The blocks themselves (figure, table)
    keep their labels and show only what needs a failed run as failed (labjournal.render.failed)."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, PROSE_MARK, failed_runs or "")
        return function

    return mark


def prose_functions(*providers: object) -> dict[str, ProseFunction]:
    """Every `@prose` method of the providers, bound, by name."""
    found: dict[str, ProseFunction] = {}
    for provider in providers:
        for name in dir(type(provider)):
            mark = getattr(getattr(type(provider), name), PROSE_MARK, None)
            if mark is not None:
                found[name] = ProseFunction(getattr(provider, name), mark or None)
    return found


@dataclass
class RenderState:
    """What the prose functions share: read-only inputs, the page being rendered, the placements."""

    project: Project
    results: Results
    env: jinja2.Environment
    labs: dict[str, Any]
    placements: Placements
    page: str = ""
    failed: list[str] = field(default_factory=list)  # the failed runs the pages needed (their folders)
    inputs: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # a summary's notebooks read

    @functools.cached_property
    def usable(self) -> Results:
        """The results without the failed runs (labjournal.render.failed)."""
        return usable_results(self.results)

    def not_run(self, refs: str | list[str]) -> NotRun | None:
        """A note instead of values for a lab of the plan that has no results yet, so the author's
        pages build while labs are missing. Where a run the block needs failed (a lab whose runs
        all failed has no results either), it is not "not run yet": the block shows the failure."""
        refs = [refs] if isinstance(refs, str) else refs
        labs = {split_ref(ref)[0] for ref in refs}
        missing = [lab for lab in labs if lab in self.labs and not self.results.has_lab(lab)]
        if not missing or len(missing) != len(labs) or any(self.failed_in(ref) for ref in refs):
            return None
        return NotRun(missing[0])

    def failed_in(self, ref: str) -> list[IndexRow]:
        """The failed runs of an experiment, or those its summary (skipped) reads."""
        lab, experiment = split_ref(ref)
        rows = [row for row in self.results.runs if (row.lab, row.experiment) == (lab, experiment)]
        return failures(self.results, self.inputs, rows)
