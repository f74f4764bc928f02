"""The records of the results store's files, as pydantic models: what a run leaves (its record,
its error, what it read), a row of the index and the index itself, the verdict kinds, the seeds
added and why each claim stopped getting seeds. Each of these files' shape is written here and
nowhere else (the render manifest and a run key's inputs are still plain JSON, written and read in
labjournal.render.journal and labjournal.run.cache). Every stage may import this module; it
imports none of them."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labjournal.errors import ResultLookupError
from labjournal.names import (  # noqa: F401  (re-exported: the records and their files together)
    BUILT,
    DECISIONS,
    EXECUTED_NOTEBOOK,
    EXTRA_SEEDS,
    INDEX,
    KEY_SHORT,
    KEY_SHOWN,
    METRICS,
    PARAMS,
    READS,
    RUN_RECORD,
    index_file,
    render_record,
    short_key,
)


class StrictModel(BaseModel):
    """The one base of every model read from a file the author writes or labjournal keeps: an
    unknown field is an error, and values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- results: index rows, verdicts ----------------------------------------------------------------

RunStatus = Literal["ok", "failed", "missing"]


class IndexRow(BaseModel):
    """One planned run in `results/index.json`: where it sits in the plan (lab, notebook,
    experiment, parameters, seed, key), whether it ran (`status`), and what it recorded. The store
    writes the rows (labjournal.run.index); everything downstream reads them as these records."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lab: str
    notebook: str
    experiment: str
    params: dict[str, Any]
    seed: int | None
    key: str
    status: RunStatus
    notebook_path: str = ""
    profile: str | None = None
    data: list[str] = Field(default_factory=list)  # descriptions of the datasets it read
    run_dir: str | None = None  # its folder in the store (runs/… or failed/…)
    metrics: dict[str, Any] = Field(default_factory=dict)  # scalars; None where never reached
    series: list[str] = Field(default_factory=list)
    tables: list[str] = Field(default_factory=list)
    figures: dict[str, dict[str, Any]] = Field(default_factory=dict)
    device: str | None = None
    duration_s: float | None = None
    error: RunError | None = None  # a failed run's error (labjournal.run.execute)
    reason: str | None = None  # why a run is missing

    @property
    def folder(self) -> str:
        """Its folder in the store (`run_dir`), which only a run that ran, ok or failed, has."""
        if self.run_dir is None:
            raise ResultLookupError(
                f"{self.lab}/{self.experiment}: run {self.key[:16]} is {self.status}: it has no folder in the store"
            )
        return self.run_dir

    def to_json(self) -> dict[str, Any]:
        """The row as the index file holds it: only the fields its status has."""
        data = self.model_dump(mode="json", exclude_unset=True)
        if self.error is not None:
            data["error"] = self.error.to_json()
        return data


class Index(BaseModel):
    """`results/index.json` (`index.NAME.json` for another profile), written after every
    `labjournal run` (labjournal.run.index) and read once by labjournal.results.lookup.Results: the
    profile, when and at which commit, the sequential design claims are judged by, the datasets,
    one row per planned run, and the notebooks whose results never change with the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = 1
    profile: str | None = None
    generated: str = ""
    project_commit: str | None = None
    # labjournal.plan.schedule.Schedule.to_json(); {} in an index written before designs were kept
    design: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, dict[str, Any]] = Field(default_factory=dict)  # name -> its DataSource.to_json()
    runs: list[IndexRow] = Field(default_factory=list)
    seed_unused: dict[str, str] = Field(default_factory=dict)  # lab/notebook -> the warning

    def to_json(self) -> dict[str, Any]:
        """As the file holds it: the rows each with only the fields its status has."""
        data = self.model_dump(mode="json", exclude_unset=True, exclude={"runs"})
        shown = {**data, "runs": [row.to_json() for row in self.runs]}
        return {name: shown[name] for name in type(self).model_fields if name in shown}


class VerdictKind(str, Enum):
    """What a claim, or one of its parts, comes to."""

    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    NEGLIGIBLE = "negligible"  # the difference is smaller than the declared margin
    INCONCLUSIVE = "inconclusive"
    PARTLY = "partly-supported"  # a claim whose parts disagree (labjournal.claims.verdicts)
    NOT_RUN = "not-run"  # the claim's lab has no results yet: nothing to judge

    def __str__(self) -> str:  # "supported" in pages, messages and JSON alike
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


# -- runs: run record, run error, extra seeds, decisions ------------------------------------------


class RunError(StrictModel):
    """Why a run failed, as its record (`failed/…/run.json`) and the index keep it: the notebook,
    the cell (counted in the source notebook, as a reader sees it) and the exception. Built in the
    worker (labjournal.run.execute) and, for a worker that died, in the scheduler."""

    notebook: str
    cell: int | None = None
    cell_source: str = ""  # the cell's first line
    exception: str
    message: str
    raised_in: str | None = None  # a raising cell: the module of the notebook's folder it came from
    traceback: str | None = None  # execution that stopped (a dead kernel, a timeout): where

    @classmethod
    def worker_died(cls, notebook: str) -> RunError:
        return cls(
            notebook=notebook,
            exception="WorkerDied",
            message="the worker process running this notebook died (killed, or out of memory)",
        )

    def describe(self) -> str:
        """`notebooks/x.ipynb, cell 3 (import os), raised in helpers.py:4: ValueError: …`"""
        where = self.notebook
        if self.cell:
            where += f", cell {self.cell}"
            if self.cell_source:
                where += f" ({self.cell_source.strip()[:60]})"
        if self.raised_in:
            where += f", raised in {self.raised_in}"
        return f"{where}: {self.exception}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """As the files hold it: `raised_in` and `traceback` only where they were found."""
        absent = {name for name in ("raised_in", "traceback") if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=absent)


class Reads(StrictModel):
    """What a run actually read while it executed (labjournal.run.readlog, kept by
    labjournal.run.reads): the files and folder listings of the project, by content; the modules
    outside the installed distributions (the project's, `pythonpath`'s, editable installs'), by
    content; the distributions it imported, by version. A cached run whose reads changed is run
    again, like one whose key changed."""

    files: dict[str, str] = Field(default_factory=dict)  # project-relative name -> SHA-256
    listings: dict[str, str] = Field(default_factory=dict)  # folder -> SHA-256 of the names in it
    modules: dict[str, str] = Field(default_factory=dict)  # shown name -> SHA-256
    distributions: dict[str, str] = Field(default_factory=dict)  # name -> version


class RunRecord(StrictModel):
    """A run's provenance, `run.json` in its folder: what ran (notebook, parameters, seed, the
    inputs of its key, its data), where and when (device, threads, machine, commit, versions,
    times), and the checksums of its files (a completed run) or its error (a failed one). The
    scheduler builds it; the store writes it, adding `artifacts` as it seals a completed run."""

    key: str
    status: Literal["ok", "failed"]
    lab: str
    notebook: str
    notebook_path: str
    parameters: dict[str, Any]
    seed: int | None
    key_inputs: dict[str, Any]
    data: dict[str, Any]
    device: str | None  # what the notebook recorded (labjournal.kit.record.device)
    threads: int
    machine: dict[str, Any]
    project_commit: str
    labjournal: str
    started: str
    duration_s: float
    cold_start: bool = True  # records from before warm kernels lack it: every run started its own
    recorded: str
    inputs_content: str | None = None  # a summary: the checksum of what it read
    error: RunError | None = None
    artifacts: dict[str, str] | None = None  # the store's: file name -> SHA-256
    reads: Reads | None = None  # what it read (records from before recording lack it)

    def to_json(self) -> dict[str, Any]:
        """As `run.json` holds it: the optional parts only where they are."""
        data = self.model_dump(mode="json", exclude={"inputs_content", "error", "artifacts", "reads"})
        if self.reads is not None:
            data["reads"] = self.reads.model_dump(mode="json")
        if self.inputs_content is not None:
            data["inputs_content"] = self.inputs_content
        if self.error is not None:
            data["error"] = self.error.to_json()
        if self.artifacts is not None:
            data["artifacts"] = dict(self.artifacts)
        return data


class SeedsAdded(StrictModel):
    """Seeds added at one (partial) grid point: every run of the profile that matches it gets them."""

    lab: str
    experiment: str
    point: dict[str, Any]
    seeds: list[int]


class ExtraSeeds(StrictModel):
    """One profile's entry of `results/extra_seeds.json`: the seeds added where claims needed them
    (`labjournal run --until-decided`), and the sequential design they were added under."""

    design: dict[str, Any] | None = None
    points: list[SeedsAdded] = Field(default_factory=list)

    def at(self, lab: str, experiment: str, point: dict[str, Any]) -> SeedsAdded | None:
        return next(
            (p for p in self.points if (p.lab, p.experiment, p.point) == (lab, experiment, point)), None
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class StopReason(str, Enum):
    """Why `--until-decided` stopped adding seeds for a claim."""

    DECIDED = "decided"
    NO_RESULTS = "no-results"  # its lab has no results
    MAX_SEEDS = "max-seeds"  # its open comparisons reached the seed cap
    FUTILITY = "futility"  # deciding it would take more than twice the cap at the spread seen
    BUDGET = "budget"  # an explicit time budget, counted after the first pass, was spent
    ADDING = "adding"  # still adding seeds when no grid point it compares could get more

    def __str__(self) -> str:
        return self.value


NO_SEEDS_ADDED = "no seeds were added for it (run --until-decided)"


class ClaimDecision(StrictModel):
    """Why adding seeds stopped for one claim, with the cap and budget its wording names. The file
    holds the reason and, as `stopped`, its wording; files written before the reason was kept
    hold only the wording, which is read back into the reason (the wording is always derived)."""

    reason: StopReason = Field(strict=False)  # the file holds its value
    max_seeds: int | None = None
    budget_minutes: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "stopped" not in data:
            return data
        data = dict(data)
        stopped = data.pop("stopped")
        return data if "reason" in data else {**data, **_earlier_wording(str(stopped))}

    @property
    def prose(self) -> str:
        """The reason as `check`, the Claims page and `decisions.json` word it."""
        return {
            StopReason.DECIDED: "decided",
            StopReason.NO_RESULTS: "its lab has no results",
            StopReason.MAX_SEEDS: f"seed cap ({self.max_seeds} seeds)",
            StopReason.FUTILITY: (
                f"futile, deciding it would take more than twice the cap of {self.max_seeds} seeds"
            ),
            StopReason.BUDGET: (
                f"stopped by the time budget ({self.budget_minutes or 0:g} minutes after the first pass); "
                "a later report continues it"
            ),
            StopReason.ADDING: "still adding seeds",
        }[self.reason]

    def shown_for_undecided(self) -> str:
        """What a claim that is not decided now says about adding seeds."""
        if self.reason is StopReason.DECIDED:  # decided at its own level, not now (Holm, or new results)
            return "adding seeds stopped when it was decided at its own level; it is not decided now"
        return self.prose

    def to_json(self) -> dict[str, Any]:
        return {"stopped": self.prose, **self.model_dump(mode="json", exclude_none=True)}


def _earlier_wording(stopped: str) -> dict[str, Any]:
    """The reason (and the numbers) of a decision written as wording only."""
    import re

    wordings = {
        StopReason.DECIDED: r"decided",
        StopReason.NO_RESULTS: r"its lab has no results",
        StopReason.MAX_SEEDS: r"seed cap \((?P<max_seeds>\d+) seeds\)",
        StopReason.FUTILITY: r"futile, .* cap of (?P<max_seeds>\d+) seeds",
        StopReason.BUDGET: r"(?:stopped by the )?time budget \((?P<budget_minutes>\S+) minutes.*",
        StopReason.ADDING: r"still adding seeds",
    }
    for reason, pattern in wordings.items():
        found = re.fullmatch(pattern, stopped)
        if found:
            numbers = {name: value for name, value in found.groupdict().items() if value is not None}
            if "max_seeds" in numbers:
                numbers["max_seeds"] = int(numbers["max_seeds"])
            if "budget_minutes" in numbers:
                numbers["budget_minutes"] = float(numbers["budget_minutes"])
            return {"reason": reason, **numbers}
    raise ValueError(f"an unknown reason adding seeds stopped: {stopped!r}")


def stop_note(decision: ClaimDecision | None) -> str:
    """Why a claim that is not decided now got no more seeds."""
    return decision.shown_for_undecided() if decision is not None else NO_SEEDS_ADDED


class Decisions(StrictModel):
    """`results/decisions.json`: why adding seeds stopped, per claim, in the last `--until-decided`
    run of a profile, and the design its claims were judged by."""

    profile: str | None = None
    design: dict[str, Any] | None = None
    claims: dict[str, ClaimDecision] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "design": self.design,
            "claims": {claim: decision.to_json() for claim, decision in self.claims.items()},
        }


IndexRow.model_rebuild()  # its error is a RunError, defined after it
Index.model_rebuild()
