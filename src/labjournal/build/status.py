"""`labjournal status`: what is stale and why, stage by stage, without running anything.

As `dvc status` does, each stage is compared with its own record:
- run: every planned run's key against the store, and a stored run's reads against the project
  now (labjournal.run.reads); a changed key is explained by comparing what it is made of with the
  record of the run it replaces ("experiments/lab01/helpers.py changed", "lr: 0.1 → 0.2");
- render: the render record's sources (labjournal.render.freshness), the results index included;
- build: the site's record of the render and engine it was built from, against the last render
  and the engine `auto` picks now ("engine: quarto → pandoc").
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from labjournal.build.outputs import choose_engine
from labjournal.names import BUILT, RUN_RECORD
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.freshness import digest, read_render, sources
from labjournal.results.store import ResultsStore
from labjournal.run.cache import KeyedRun, plan_keys, resolve_sources
from labjournal.run.reads import ReadCheck, ReadScope


@dataclass
class StageStatus:
    stage: str  # run, render or build
    reasons: list[str] = field(default_factory=list)  # empty: up to date
    runs: dict[str, list[str]] = field(default_factory=dict)  # run label -> why (the run stage)

    @property
    def fresh(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "fresh": self.fresh}


def _changed(kind: str, old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    why = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            why.append(f"{prefix}{name} no longer in the key")
        elif name not in old:
            why.append(f"{prefix}{name} added")
        elif old[name] != new[name]:
            shown = f"{old[name]} → {new[name]}" if kind == "value" else "changed"
            why.append(f"{prefix}{name}{': ' if kind == 'value' else ' '}{shown}")
    return why


def key_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between the inputs of two keys (labjournal.run.cache.key_inputs)."""
    why = []
    if old.get("format") != new.get("format"):
        why.append("labjournal's key format changed")
    if old.get("notebook_code") != new.get("notebook_code"):
        why.append("the notebook's code cells changed")
    why += _changed("value", old.get("parameters", {}), new.get("parameters", {}))
    why += _changed("content", old.get("data", {}), new.get("data", {}), prefix="dataset ")
    why += _changed("content", old.get("code", {}), new.get("code", {}))
    why += _changed("content", old.get("deps", {}), new.get("deps", {}))
    why += _changed("value", old.get("environment", {}), new.get("environment", {}))
    if sorted(old.get("inputs", [])) != sorted(new.get("inputs", [])):
        why.append("the runs it reads changed")
    return why or ["its key changed"]


def _previous_rows(project: Project) -> dict[tuple[Any, ...], dict[str, Any]]:
    try:
        rows = json.loads(project.index_path.read_text()).get("runs", [])
    except (OSError, json.JSONDecodeError):
        return {}
    return {
        _place(row["lab"], row["notebook"], row.get("experiment"), row.get("params"), row["seed"]): row
        for row in rows
    }


def _place(lab: str, notebook: str, experiment: Any, params: Any, seed: Any) -> tuple[Any, ...]:
    return (lab, notebook, experiment, json.dumps(params, sort_keys=True, default=str), seed)


def _why_not_cached(item: KeyedRun, reason: str, previous: dict, store: ResultsStore) -> list[str]:
    if reason.startswith("stale: "):
        return reason.removeprefix("stale: ").split("; ")
    spec = item.spec
    row = previous.get(_place(spec.lab, spec.notebook, spec.experiment, spec.params, spec.seed))
    if row is None or not row.get("run_dir"):
        return [reason]
    try:
        old = json.loads((store.root / row["run_dir"] / RUN_RECORD).read_text())["key_inputs"]
    except (OSError, json.JSONDecodeError, KeyError):
        return [reason]
    return key_changes(old, item.inputs) if row["key"] != item.key else [reason]


def run_status(project: Project, data_dir: str | None = None) -> StageStatus:
    plan = load_plan(project.plan_file)
    profile, spec = plan.profile(project.profile)
    specs = plan.runs(profile)
    keyed = plan_keys(plan, specs, resolve_sources(plan, specs, [], spec.data, data_dir))
    store = ResultsStore(project.results_dir, project.index_path.name)
    check, previous = ReadCheck(ReadScope.of(plan.root, store.root)), _previous_rows(project)
    status = StageStatus("run")
    for item in keyed:
        record, reason = check.lookup(store, item)
        if record is None:
            status.runs[item.spec.label] = _why_not_cached(item, reason, previous, store)
    check.files.save()
    by_notebook: dict[str, Counter[str]] = {}
    for item in keyed:
        for why in status.runs.get(item.spec.label, []):
            by_notebook.setdefault(f"{item.spec.lab}/{item.spec.notebook}", Counter())[why] += 1
    for notebook, reasons in by_notebook.items():
        status.reasons += [f"{notebook} ({n} run{'s' if n > 1 else ''}): {why}" for why, n in reasons.items()]
    return status


def render_status(project: Project) -> StageStatus:
    status = StageStatus("render")
    record = read_render(project)
    if record is None:
        status.reasons.append("never rendered")
    elif not record["ok"]:
        status.reasons.append(f"the last render failed: {record['error']}")
    else:
        now, then = sources(project), record["sources"]
        for name in sorted(set(now) | set(then)):
            if now.get(name) != then.get(name):
                status.reasons.append(
                    f"{name} {'added' if name not in then else 'removed' if name not in now else 'changed'}"
                )
    return status


def build_status(project: Project, engine: str = "auto") -> StageStatus:
    status = StageStatus("build")
    try:
        built = json.loads((project.site_dir / BUILT).read_text())
    except (OSError, json.JSONDecodeError):
        return StageStatus("build", [f"{project.site_dir.name}/ was never built"])
    record = read_render(project)
    if record is not None and built.get("render") != digest(record):
        status.reasons.append("built from an earlier render")
    now = choose_engine(engine)
    if built.get("engine", now) != now:
        status.reasons.append(f"engine: {built['engine']} → {now}")
    return status


def journal_status(project: Project, data_dir: str | None = None) -> list[StageStatus]:
    """Each stage's status; a stage after a stale one is stale too (it will be redone)."""
    stages = [run_status(project, data_dir), render_status(project), build_status(project)]
    for earlier, later in zip(stages, stages[1:], strict=False):
        if not earlier.fresh and later.fresh:
            later.reasons.append(f"follows the {earlier.stage} stage, which is stale")
    return stages
