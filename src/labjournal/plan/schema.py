"""`journal.yml` as data: the pydantic models the plan file is validated against (unknown keys
and wrong types refused). Loading, line numbers and the checks against the notebooks are in
`labjournal.plan.model`."""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, JsonValue, model_validator

from labjournal.plan.tolerance import Verify
from labjournal.records import StrictModel

_Strict = StrictModel  # unknown keys are errors; no coercion


class Decide(_Strict):
    """Seeds added where a claim needs them (`labjournal run --until-decided`), by a design fixed
    here: looks at the profile's seeds, then every `batch` more, up to `max_seeds` (the cap, always
    a look), with `boundary` the shape of the looks' levels; `Plan.schedule` spells it out.
    `budget_minutes` is an explicit time limit on adding seeds, counted after the first pass;
    without it the design runs to its end."""

    max_seeds: int = Field(default=10, ge=2)
    batch: int = Field(default=2, ge=1)
    boundary: Literal["obrien-fleming", "pocock"] = Field(
        default="obrien-fleming",
        description="The shape of the looks' levels: O'Brien-Fleming (strict early, close to the "
        "fixed-sample level at the cap) or Pocock (one level at every look). Fixed before any run: "
        "changing it after results is shown in the ledger.",
    )
    budget_minutes: float | None = Field(default=None, gt=0)


class Profile(_Strict):
    description: str = ""
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    data: Literal["sample", "full"] = "sample"
    decide: Decide | None = None

    @model_validator(mode="after")
    def _cap_covers_the_seeds(self) -> Profile:
        if self.decide is not None and self.decide.max_seeds < len(self.seeds):
            raise ValueError(
                f"decide: max_seeds {self.decide.max_seeds} is below the {len(self.seeds)} seeds the "
                "profile runs (the cap is the design's last look)"
            )
        return self


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


class Dataset(_Strict):
    """One dataset of the journal (`data:` at the top of journal.yml): exactly one of a file or
    folder (`path`), a download checked by its checksum (`url` + `sha256`), or code that finds it
    (`loader: "module:function"`, called with the profile's data variant)."""

    path: str | None = None
    url: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    file: str | None = None  # the name a `url` download is saved (and looked for offline) under
    loader: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> Dataset:
        given = [name for name in ("path", "url", "loader") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, url or loader (got {', '.join(given) or 'none'})")
        if self.url is not None and self.sha256 is None:
            raise ValueError(
                "a url dataset needs its sha256 (`sha256sum FILE` prints it), so its content is pinned"
            )
        if self.url is None and (self.sha256 is not None or self.file is not None):
            raise ValueError("sha256 and file belong to a url dataset")
        return self


class Notebook(_Strict):
    path: str
    description: str = ""
    data: list[str] = Field(default_factory=list)
    # Files the notebook reads that its imports do not show (a CSV opened by name, a config):
    # paths or glob patterns relative to the project; their content is part of every run's key.
    deps: list[str] = Field(default_factory=list)
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
    # Folders (relative to the project) every notebook can import from, after its own folder:
    # code shared by several labs. Their modules a notebook imports are part of its runs' keys.
    pythonpath: list[str] = Field(default_factory=list)
    data: dict[str, Dataset] = Field(default_factory=dict)
    labs: dict[str, Lab]
    verify: Verify = Field(default_factory=Verify)  # `labjournal verify`'s tolerances


def read_plan_file(path: Path) -> PlanFile:
    """journal.yml as models, without the checks against the notebooks (see `labjournal.plan.model`)."""
    import yaml

    return PlanFile.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def allowed_keys(loc: tuple) -> list[str]:
    """The keys the plan allows where `loc` (the unknown key's place) stands."""
    model: type[BaseModel] = PlanFile
    parts = list(loc[:-1])
    while parts:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        annotation = field.annotation
        if get_origin(annotation) in (Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if get_origin(annotation) is dict:
            if not parts:
                return []
            parts.pop(0)  # the author's own name: a lab, a notebook, a profile
            annotation = get_args(annotation)[1]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)
