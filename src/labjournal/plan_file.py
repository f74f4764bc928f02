"""`journal.yml` as data: the pydantic models the plan file is validated against (unknown keys
and wrong types refused). Loading, line numbers and the checks against the notebooks are in
`labjournal.plan`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Decide(_Strict):
    """Seeds added where a claim needs them (`labjournal run --until-decided`)."""

    max_seeds: int = Field(default=10, ge=2)
    batch: int = Field(default=2, ge=1)
    budget_minutes: float | None = Field(default=None, gt=0)


class Profile(_Strict):
    description: str = ""
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    data: Literal["sample", "full"] = "sample"
    decide: Decide | None = None


class Override(_Strict):
    """What one profile changes for a notebook or an experiment."""

    params: dict[str, JsonValue] = Field(default_factory=dict)
    grid: dict[str, list[JsonValue]] = Field(default_factory=dict)
    seeds: list[int] | None = None


class Experiment(_Strict):
    description: str = ""
    params: dict[str, JsonValue] = Field(default_factory=dict)
    grid: dict[str, list[JsonValue]] = Field(default_factory=dict)
    seeds: list[int] | None = None
    profiles: dict[str, Override] = Field(default_factory=dict)


class Notebook(_Strict):
    path: str
    description: str = ""
    data: list[str] = Field(default_factory=list)
    params: dict[str, JsonValue] = Field(default_factory=dict)
    seeds: list[int] | None = None
    profiles: dict[str, Override] = Field(default_factory=dict)
    experiments: dict[str, Experiment] = Field(default_factory=dict)
    # A notebook with inputs summarises the runs of other notebooks of its lab: it runs once,
    # after them, and its cache key includes theirs.
    inputs: list[str] = Field(default_factory=list)
    # Where its runs train: `auto` takes CUDA when it is present and only one worker runs (many
    # workers on one GPU are slower than on the cores for small models); `cpu` or `cuda` insist.
    device: Literal["auto", "cpu", "cuda"] = "auto"


class Lab(_Strict):
    title: str
    page: str
    notebooks: dict[str, Notebook] = Field(default_factory=dict)


class PlanFile(_Strict):
    profiles: dict[str, Profile]
    default_profile: str = "default"
    labs: dict[str, Lab]
