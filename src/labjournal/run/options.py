"""What a person asks of `labjournal run`, `report` and `verify`, declared once: each field is
also the command-line option (labjournal.options). The run stage takes these records as they
are (`RunRequest.for_plan`, `verify_journal`)."""

from __future__ import annotations

from dataclasses import dataclass

from labjournal.options import ProfileOption, flag, switch

FORCE_HELP = "re-execute even if cached: all (default), a lab, lab/notebook, lab/experiment or a key prefix"
UNTIL_DECIDED_HELP = (
    "add seeds at the grid points of undecided claims, in batches, until each is decided "
    "(on by default for profiles with `decide:`)"
)
BUDGET_HELP = (
    "with --until-decided: stop adding seeds this many minutes after the first pass (the plan's own "
    "seeds); the claims it stops say so and a later report continues them (default: no budget, the "
    "design runs to its end)"
)


@dataclass(frozen=True)
class ExecuteOptions(ProfileOption):
    """How runs execute, for `run`, `report` and `verify` alike."""

    lab: str | None = flag("--lab", help="only this lab's runs")
    jobs: int | None = flag("--jobs", "-j", type=int, help="worker processes (default: one per core)")
    data_dir: str | None = flag("--data-dir", help="offline data folder (default: $LABJOURNAL_DATA)")
    timeout_s: int | None = flag(
        "--timeout", type=int, metavar="SECONDS", help="seconds a single cell may run"
    )


@dataclass(frozen=True)
class RunOptions(ExecuteOptions):
    """`labjournal run` (and `report`, `preview`): which runs, how, and whether seeds are added
    until the claims are decided."""

    force: str | None = flag("--force", nargs="?", const="all", metavar="WHAT", help=FORCE_HELP)
    wait_s: float = flag(
        "--wait", default=0, type=float, help="seconds to wait for another run holding the store"
    )
    executor: str = flag(
        "--executor",
        default="local",
        choices=("local", "dask"),
        help="where runs execute: local worker processes (default) or a Dask cluster",
    )
    scheduler: str | None = flag("--scheduler", help="the Dask scheduler's address, e.g. tcp://host:8786")
    until_decided: bool = switch("--until-decided", help=UNTIL_DECIDED_HELP)
    max_seeds: int | None = flag(
        "--max-seeds", type=int, help="with --until-decided: seeds per grid point at most"
    )
    budget: float | None = flag("--budget", type=float, metavar="MINUTES", help=BUDGET_HELP)
    fresh_kernels: bool = switch(
        "--fresh-kernels",
        help="start a new kernel for every run instead of reusing a worker's warm kernel",
    )


@dataclass(frozen=True)
class VerifyOptions(ExecuteOptions):
    """`labjournal verify`: which runs to re-execute in scratch, or which document to check."""

    sample: int = flag(
        "--sample", default=10, type=int, metavar="K", help="re-execute K runs picked at random (default 10)"
    )
    everything: bool = switch("--all", help="re-execute every run of the journal")
    seed: int = flag("--seed", default=0, type=int, help="the seed the sample is drawn with (default 0)")
    notebook: str | None = flag("--notebook", help="only this notebook's runs (lab/notebook or its name)")
    twice: bool = switch(
        "--twice",
        help="execute each run twice: outputs that move are not reproducible",
    )
    pdf: str | None = flag(
        "--pdf", metavar="FILE", help="check a PDF's (or published folder's) digest instead"
    )
    json: bool = switch("--json", help="the report as JSON on stdout")
