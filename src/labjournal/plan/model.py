"""The plan: which notebooks run, over which parameter grids and seeds, in which profile.

`journal.yml` is validated completely before anything runs. Every problem is reported with the
file, the line and the key it is about: a YAML syntax error, an unknown or misspelt key, a value
of the wrong type, a notebook that does not exist, or a parameter that the notebook's `parameters`
cell does not declare (papermill only warns, and the notebook would never read the value).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from labjournal.errors import NoParametersCell, PlanError
from labjournal.files import canonical_json, expand
from labjournal.plan.notebooks import declared_parameters
from labjournal.plan.schedule import Schedule
from labjournal.plan.schema import Experiment, Lab, Notebook, Override, PlanFile, Profile, allowed_keys
from labjournal.project import REPORT_DIR
from labjournal.yamlfile import compose_and_load, index_lines, line_of, yaml_error

SEED_PARAMETER = "seed"


@dataclass(frozen=True)
class RunSpec:
    """One execution of one notebook with one set of parameters and one seed."""

    lab: str
    notebook: str
    experiment: str
    notebook_path: Path
    params: dict[str, Any]
    seed: int | None
    data: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()  # files the notebook reads that its imports do not show (see Notebook.deps)
    inputs: tuple[str, ...] = ()
    grid_names: tuple[str, ...] = ()  # the parameters that vary in this run's grid
    device: str = "auto"  # the notebook's device policy (see Notebook.device)

    @property
    def is_summary(self) -> bool:
        return bool(self.inputs)

    @property
    def parameters(self) -> dict[str, Any]:
        """What papermill injects: the grid point plus the seed."""
        injected = dict(self.params)
        if self.seed is not None:
            injected[SEED_PARAMETER] = self.seed
        return injected

    @property
    def label(self) -> str:
        shown = " ".join(f"{name}={self.params[name]}" for name in self.grid_names)
        seed = f" seed={self.seed}" if self.seed is not None else ""
        return f"{self.lab}/{self.experiment} {shown}{seed}".replace("  ", " ").strip()


@dataclass
class Plan:
    path: Path
    spec: PlanFile
    root: Path

    @property
    def labs(self) -> dict[str, Lab]:
        return self.spec.labs

    @property
    def pythonpath(self) -> list[Path]:
        """The folders every notebook imports from after its own (absolute)."""
        return [(self.root / folder).resolve() for folder in self.spec.pythonpath]

    def profile(self, name: str | None) -> tuple[str, Profile]:
        chosen = name or self.spec.default_profile
        if chosen not in self.spec.profiles:
            known = ", ".join(sorted(self.spec.profiles))
            raise PlanError(
                str(self.path), [f"profiles: unknown profile '{chosen}' (the plan defines: {known})"]
            )
        return chosen, self.spec.profiles[chosen]

    def schedule(self, profile: str | None = None) -> Schedule:
        """The schedule a profile's claims are judged by: looks at the profile's seeds, then after
        every batch of added seeds up to the cap; one look without `decide`."""
        _, spec = self.profile(profile)
        if spec.decide is None:
            return Schedule.fixed()
        decide = spec.decide
        return Schedule.schedule(len(spec.seeds), decide.batch, decide.max_seeds, boundary=decide.boundary)

    def runs(
        self, profile: str | None = None, lab: str | None = None, extra: list[dict[str, Any]] | None = None
    ) -> list[RunSpec]:
        """Expand the grids of one profile into runs; grid runs first, summaries after them.

        `extra` adds seeds to chosen grid points (`labjournal run --until-decided`): each entry
        names a lab, an experiment, a (partial) grid point and the seeds to add to every run
        of the profile that matches it."""
        profile_name, profile_spec = self.profile(profile)
        if lab is not None and lab not in self.spec.labs:
            known = ", ".join(self.spec.labs)
            raise PlanError(str(self.path), [f"labs: unknown lab '{lab}' (the plan defines: {known})"])
        grid_runs: list[RunSpec] = []
        summary_runs: list[RunSpec] = []
        for lab_name, lab_spec in self.spec.labs.items():
            if lab is not None and lab_name != lab:
                continue
            for nb_name, nb in lab_spec.notebooks.items():
                target = summary_runs if nb.inputs else grid_runs
                target.extend(self._expand_notebook(lab_name, nb_name, nb, profile_name, profile_spec))
        return _with_extra_seeds(grid_runs, extra or []) + summary_runs

    def _expand_notebook(
        self, lab: str, nb_name: str, nb: Notebook, profile_name: str, profile: Profile
    ) -> list[RunSpec]:
        path = (self.root / nb.path).resolve()
        experiments = nb.experiments or {nb_name: Experiment()}
        nb_override = nb.profiles.get(profile_name, Override())
        runs = []
        for exp_name, exp in experiments.items():
            exp_override = exp.profiles.get(profile_name, Override())
            params = {**nb.params, **nb_override.params, **exp.params, **exp_override.params}
            grid = {**exp.grid, **exp_override.grid}
            if nb.inputs:
                seeds: list[int | None] = [None]
            else:
                seeds = list(
                    exp_override.seeds or exp.seeds or nb_override.seeds or nb.seeds or profile.seeds
                )
            names = list(grid)
            for values in itertools.product(*(grid[name] for name in names)):
                point = {**params, **dict(zip(names, values, strict=True))}
                for seed in seeds:
                    runs.append(
                        RunSpec(
                            lab=lab,
                            notebook=nb_name,
                            experiment=exp_name,
                            notebook_path=path,
                            params=dict(sorted(point.items())),
                            seed=seed,
                            data=tuple(nb.data),
                            deps=tuple(nb.deps),
                            inputs=tuple(nb.inputs),
                            grid_names=tuple(name for name in names if len(grid[name]) > 1),
                            device=nb.device,
                        )
                    )
        return runs


def _with_extra_seeds(runs: list[RunSpec], extra: list[dict[str, Any]]) -> list[RunSpec]:
    added: list[RunSpec] = []
    present = {(r.lab, r.experiment, canonical_json(r.params), r.seed) for r in runs}
    for entry in extra:
        matching = [
            r
            for r in runs
            if r.lab == entry["lab"]
            and r.experiment == entry["experiment"]
            and all(name in r.params and r.params[name] == value for name, value in entry["point"].items())
        ]
        by_params = {canonical_json(r.params): r for r in matching}
        for key, base in by_params.items():
            for seed in entry["seeds"]:
                if (base.lab, base.experiment, key, seed) not in present:
                    present.add((base.lab, base.experiment, key, seed))
                    added.append(dataclasses.replace(base, seed=seed))
    return runs + added


# --------------------------------------------------------------------------------------------
# Loading and validation


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; raise PlanError listing every problem found."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(shown, [f"cannot read the plan: {exc.strerror}"]) from exc
    try:
        node, raw = compose_and_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(shown, [yaml_error(shown, exc)]) from exc
    if node is None:
        raise PlanError(shown, [f"{shown}:1: the plan is empty"])

    lines: dict[tuple, int] = {}
    problems: list[str] = []
    index_lines(node, (), lines, problems, shown)
    if problems:
        raise PlanError(shown, problems)
    try:
        spec = PlanFile.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(shown, [_pydantic_problem(shown, err, lines) for err in exc.errors()]) from exc

    plan = Plan(path=path, spec=spec, root=path.parent.resolve())
    problems = _check_references(plan, lines)
    if problems:
        raise PlanError(shown, problems)
    return plan


def _pydantic_problem(shown: str, err: ErrorDetails, lines: dict[tuple, int]) -> str:
    # pydantic appends the union member or the type tried ("list[int]", "int") to the location.
    loc = tuple(
        part for part in err["loc"] if not (isinstance(part, str) and ("[" in part or part in _TYPE_TAGS))
    )
    key = ".".join(str(part) for part in loc) or "(top level)"
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        allowed = allowed_keys(loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1) if loc else []
        message = "unknown key" + (f": did you mean '{close[0]}'?" if close else "")
        message += f" (allowed here: {', '.join(allowed)})" if allowed else ""
    elif err["type"] == "missing":
        message = "required key is missing"
    return f"{shown}:{line_of(lines, loc)}: {key}: {message}"


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _type_mismatch(value: Any, default: Any) -> str | None:
    if default is None or value is None:
        return None
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float)
    elif isinstance(default, int):
        ok = isinstance(value, int)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list)
    else:
        ok = True
    if ok:
        return None
    return f"expects {type(default).__name__} (the notebook's default is {default!r}), got {value!r}"


Report = Callable[[tuple, str], None]


def _check_references(plan: Plan, lines: dict[tuple, int]) -> list[str]:
    spec, shown = plan.spec, str(plan.path)
    problems: list[str] = []

    def report(loc: tuple, message: str) -> None:
        key = ".".join(str(part) for part in loc)
        problems.append(f"{shown}:{line_of(lines, loc)}: {key}: {message}")

    if spec.default_profile not in spec.profiles:
        report(("default_profile",), f"no profile named '{spec.default_profile}'")
    _check_files(plan, report)
    owners: dict[tuple[str, str], str] = {}  # (lab, experiment) -> the notebook that defines it
    for lab_name, lab in spec.labs.items():
        if not (plan.root / REPORT_DIR / lab.page).is_file():
            report(("labs", lab_name, "page"), f"{REPORT_DIR}/{lab.page} does not exist")
        for nb_name in lab.notebooks:
            _check_notebook(plan, lab_name, nb_name, owners, report)
    return problems


def _check_notebook(
    plan: Plan, lab_name: str, nb_name: str, owners: dict[tuple[str, str], str], report: Report
) -> None:
    spec, lab = plan.spec, plan.spec.labs[lab_name]
    nb, loc = lab.notebooks[nb_name], ("labs", lab_name, "notebooks", nb_name)
    declared = _declared_parameters(plan, nb, loc, report)
    if declared is None:
        return
    _check_seed_and_files(plan, nb, declared, loc, report)
    _check_inputs(lab_name, lab, nb_name, loc, report)
    check = functools.partial(_check_values, nb, declared, report)
    check(loc + ("params",), nb.params, False)
    for prof, override in nb.profiles.items():
        _check_profile_name(spec, prof, loc + ("profiles", prof), report)
        check(loc + ("profiles", prof, "params"), override.params, False)
        if override.grid:
            report(loc + ("profiles", prof, "grid"), "grids belong to experiments")
    if nb.inputs and nb.experiments:
        report(loc + ("experiments",), "a summary notebook (with inputs) runs once: no experiments")
    for exp_name, exp in (nb.experiments or {nb_name: Experiment()}).items():
        exp_loc = loc + ("experiments", exp_name)
        if (lab_name, exp_name) in owners:
            report(
                exp_loc,
                f"experiment name already used in lab '{lab_name}' by "
                f"notebook '{owners[(lab_name, exp_name)]}'",
            )
        owners[(lab_name, exp_name)] = nb_name
        _check_experiment(spec, exp, exp_loc, check, report)


def _declared_parameters(plan: Plan, nb: Notebook, loc: tuple, report: Report) -> dict[str, Any] | None:
    """The parameters the notebook's `parameters` cell declares; None (reported) when unreadable."""
    if not (plan.root / nb.path).is_file():
        report(loc + ("path",), f"notebook not found: {nb.path}")
        return None
    try:
        return declared_parameters(plan.root / nb.path)
    except NoParametersCell as exc:
        report(loc + ("path",), str(exc))
    except Exception as exc:  # not JSON, not a notebook, an unreadable file
        report(loc + ("path",), f"cannot read the notebook {nb.path}: {exc}")
    return None


def _check_seed_and_files(plan: Plan, nb: Notebook, declared: dict, loc: tuple, report: Report) -> None:
    spec = plan.spec
    if not nb.inputs and SEED_PARAMETER not in declared:
        report(
            loc + ("path",),
            f"{nb.path} declares no '{SEED_PARAMETER}' parameter: add `{SEED_PARAMETER} = 0` to its cell "
            f"tagged 'parameters' and seed the run with it (labjournal.kit.runtime.setup(seed), "
            f"or np.random.seed(seed) / torch.manual_seed(seed))",
        )
    for index, dataset in enumerate(nb.data):
        if dataset not in spec.data:
            known = ", ".join(spec.data) or "none declared"
            report(
                loc + ("data", index),
                f"unknown dataset '{dataset}': declare it under `data:` at the top of journal.yml "
                f"(path:, url: + sha256:, or loader:); declared: {known}",
            )
    for index, pattern in enumerate(nb.deps):
        if not expand(plan.root, pattern):
            report(loc + ("deps", index), f"'{pattern}' matches no file or folder of the project")


def _check_inputs(lab_name: str, lab: Lab, nb_name: str, loc: tuple, report: Report) -> None:
    for source in lab.notebooks[nb_name].inputs:
        if source not in lab.notebooks or source == nb_name:
            report(loc + ("inputs",), f"'{source}' is not another notebook of lab '{lab_name}'")
        elif lab.notebooks[source].inputs:
            report(loc + ("inputs",), f"'{source}' is itself a summary notebook")


def _check_values(
    nb: Notebook, declared: dict, report: Report, loc: tuple, values: dict[str, Any], is_grid: bool
) -> None:
    """Parameters set in the plan: declared by the notebook, of its defaults' types, never the seed."""
    for name, value in values.items():
        if name == SEED_PARAMETER:
            report(loc + (name,), "seeds come from 'seeds', not from parameters")
        elif name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            report(loc + (name,), f"{nb.path} declares no parameter '{name}' (it declares: {known})")
        else:
            for item in value if is_grid else [value]:
                mismatch = _type_mismatch(item, declared[name])
                if mismatch:
                    report(loc + (name,), mismatch)
                    break


def _check_experiment(spec: PlanFile, exp: Experiment, loc: tuple, check: Callable, report: Report) -> None:
    check(loc + ("params",), exp.params, False)
    check(loc + ("grid",), exp.grid, True)
    for name, values in exp.grid.items():
        if not values:
            report(loc + ("grid", name), "a grid needs at least one value")
    for prof, override in exp.profiles.items():
        _check_profile_name(spec, prof, loc + ("profiles", prof), report)
        check(loc + ("profiles", prof, "params"), override.params, False)
        check(loc + ("profiles", prof, "grid"), override.grid, True)


def _check_files(plan: Plan, report: Report) -> None:
    """Folders to import from and datasets given by path exist (downloads and loaders are
    resolved when the runs that need them are planned)."""
    for index, folder in enumerate(plan.spec.pythonpath):
        if not (plan.root / folder).is_dir():
            report(("pythonpath", index), f"{folder} is not a folder of the project")
    for name, dataset in plan.spec.data.items():
        if dataset.path is not None and not (plan.root / dataset.path).exists():
            report(("data", name, "path"), f"{dataset.path} does not exist")


def _check_profile_name(spec: PlanFile, name: str, loc: tuple, report: Report) -> None:
    if name not in spec.profiles:
        report(loc, f"no profile named '{name}' (the plan defines: {', '.join(spec.profiles)})")
