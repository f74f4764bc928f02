"""What one `labjournal run` (or `report`, or `preview`) asks for, resolved once by the command and
passed down unchanged: the plan and its profile, which runs (`--lab`, `--force`), how they execute
(workers, executor, timeout) and whether seeds are added until the claims are decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from labjournal.errors import LabjournalError
from labjournal.plan.model import Plan
from labjournal.plan.schema import Decide, Profile
from labjournal.run.cache import KeyedRun


@dataclass(frozen=True)
class RunRequest:
    plan: Plan
    profile: str  # the profile's name, resolved once (the plan's default where none was named)
    settings: Profile  # that profile's seeds, data variant and `decide:` settings
    console: Console = field(default_factory=lambda: Console(stderr=True))
    lab: str | None = None  # --lab: execute only this lab's runs
    force: str | None = None  # --force: all, a lab, lab/notebook, lab/experiment or a key prefix
    jobs: int | None = None  # worker processes (default: labjournal.run.executors.default_workers)
    data_dir: str | None = None  # the offline data folder
    timeout_s: int | None = None  # seconds a single cell may run
    wait_s: float = 0  # seconds to wait for another process holding the store
    fresh_kernels: bool = False  # a new kernel for every run instead of a worker's warm one
    executor: str = "local"  # local worker processes, or a Dask cluster ("dask")
    scheduler: str | None = None  # the Dask scheduler's address
    decide: Decide | None = None  # how to add seeds until the claims are decided; None: one pass

    def __post_init__(self) -> None:
        if self.jobs is not None and self.jobs < 1:
            raise LabjournalError(f"--jobs {self.jobs}: the number of worker processes must be at least 1")

    @classmethod
    def for_plan(
        cls,
        plan: Plan,
        profile: str | None = None,
        *,
        until_decided: bool = False,
        max_seeds: int | None = None,
        budget: float | None = None,
        **options: Any,
    ) -> RunRequest:
        """The request of a command's options (those of `RunRequest`, and `--until-decided`,
        `--max-seeds`, `--budget`). Seeds are added until decided when asked, when the profile
        has `decide:` settings, or when a cap or budget is given; the profile's settings (the
        defaults where it has none) with the command line's overrides. No budget unless one is
        given here or in `decide:` (its clock starts after the first pass: labjournal.claims.decide)."""
        name, settings = plan.profile(profile)
        decide = None
        if until_decided or settings.decide is not None or max_seeds is not None or budget is not None:
            update = {"max_seeds": max_seeds, "budget_minutes": budget}
            decide = (settings.decide or Decide()).model_copy(
                update={key: value for key, value in update.items() if value is not None}
            )
        if options.get("console") is None:
            options.pop("console", None)
        return cls(plan=plan, profile=name, settings=settings, decide=decide, **options)

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
