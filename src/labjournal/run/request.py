"""What one `labjournal run` (or `report`, or `preview`) asks for, resolved once by the command and
passed down unchanged: the plan and its profile, which runs (`--lab`, `--force`), how they execute
(workers, executor, timeout) and whether seeds are added until the claims are decided."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from labjournal.errors import LabjournalError
from labjournal.plan.model import Plan
from labjournal.plan.schema import Decide, Profile
from labjournal.run.cache import KeyedRun
from labjournal.run.options import RunOptions


@dataclass(frozen=True)
class RunRequest:
    plan: Plan
    profile: str  # the profile's name, resolved once (the plan's default where none was named)
    settings: Profile  # that profile's seeds, data variant and `decide:` settings
    options: RunOptions = field(default_factory=RunOptions)  # as the person asked (labjournal.run.options)
    console: Console = field(default_factory=lambda: Console(stderr=True))
    decide: Decide | None = None  # how to add seeds until the claims are decided; None: one pass
    # The summaries wait: the passes of `run --until-decided` before its last run none (a summary
    # reads every seed of its grid, so only the last pass's summary is ever read).
    defer_summaries: bool = False

    def __post_init__(self) -> None:
        if self.options.jobs is not None and self.options.jobs < 1:
            raise LabjournalError(
                f"--jobs {self.options.jobs}: the number of worker processes must be at least 1"
            )

    @classmethod
    def for_plan(
        cls, plan: Plan, options: RunOptions | None = None, console: Console | None = None, **fields: Any
    ) -> RunRequest:
        """The request of a command's options (`fields` replace some of them: `profile="quick"`,
        `jobs=2`, as a caller in Python writes them). Seeds are added until decided when asked
        (`--until-decided`), when the profile has `decide:` settings, or when a cap or budget is
        given; the profile's settings (the defaults where it has none) with the command line's
        overrides. No budget unless one is given here or in `decide:` (its clock starts after the
        first pass: labjournal.pipeline.decide)."""
        options = dataclasses.replace(options or RunOptions(), **fields)
        name, settings = plan.profile(options.profile)
        decide = None
        asked = options.until_decided or options.max_seeds is not None or options.budget is not None
        if asked or settings.decide is not None:
            update = {"max_seeds": options.max_seeds, "budget_minutes": options.budget}
            decide = (settings.decide or Decide()).model_copy(
                update={key: value for key, value in update.items() if value is not None}
            )
        request = cls(plan=plan, profile=name, settings=settings, options=options, decide=decide)
        return request if console is None else dataclasses.replace(request, console=console)

    @property
    def lab(self) -> str | None:
        return self.options.lab

    @property
    def force(self) -> str | None:
        return self.options.force

    def forces(self, item: KeyedRun) -> bool:
        """Whether `--force` selects the run: all, a lab, lab/notebook, lab/experiment, or a key
        prefix of at least 6 characters."""
        if self.force is None:
            return False
        spec = item.spec
        if self.force in ("all", spec.lab, f"{spec.lab}/{spec.notebook}", f"{spec.lab}/{spec.experiment}"):
            return True
        return len(self.force) >= 6 and item.key.startswith(self.force)

    def check_force(self, selected: list[KeyedRun]) -> None:
        """A `--force` that selects none of the runs of the request is a mistake: say what would."""
        if self.force in (None, "all") or any(self.forces(item) for item in selected):
            return
        names = sorted(
            {k.spec.lab for k in selected}
            | {f"{k.spec.lab}/{k.spec.notebook}" for k in selected}
            | {f"{k.spec.lab}/{k.spec.experiment}" for k in selected}
        )
        where = f" among the runs of --lab {self.lab}" if self.lab else ""
        raise LabjournalError(
            f"--force {self.force}: matches no run{where} (give all, a lab, lab/notebook, lab/experiment "
            f"or a run key prefix of at least 6 characters; there are: {', '.join(names)})"
        )
