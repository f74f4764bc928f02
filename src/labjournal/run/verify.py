"""`labjournal verify`: re-execute runs of the journal and compare what they record with what the
journal holds, so that a reader can check the numbers without trusting the author.

The runs execute as `labjournal run` executes them (labjournal.run.scheduler.Execution: the same
parameters, seed, code and data, warm kernels), into a scratch store in `.labjournal/verify/`:
`results/` is never written. A journal whose results are stale against the sources now (a key
changed, or something a run read) is refused, with the reason: it would verify a changed project,
not the journal. A file of `results/` edited after its run is no staleness: it is what verify is
for, and shows as a value that differs.

`--sample K` picks K runs at random with a stated seed, one from every notebook before any
notebook gets a second, the notebooks whose values the prose quotes or the claims use first.
`--twice` executes each picked run twice: outputs that differ between two executions of one key
come from randomness the seed does not control (labjournal.run.reproducible records them).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from labjournal.errors import LabjournalError, StaleResultsError
from labjournal.files import sha256_file
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.records import RUN_RECORD, IndexRow, RunRecord
from labjournal.results.store import ResultsStore
from labjournal.run import reproducible
from labjournal.run.cache import KeyedRun, plan_keys, resolve_sources
from labjournal.run.compare import Comparison
from labjournal.run.options import VerifyOptions
from labjournal.run.provenance import machine, project_commit
from labjournal.run.reads import ReadCheck, ReadScope
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import Execution, PlannedRuns, RunSummary, read_extra_seeds
from labjournal.run.verify_report import NOT_REPRODUCIBLE, RunCheck, VerifyReport

SCRATCH = Path(".labjournal") / "verify"


@dataclass
class Journal:
    """The journal's runs as its index holds them, keyed as the sources say now."""

    project: Project
    request: RunRequest
    store: ResultsStore
    planned: PlannedRuns
    rows: dict[str, IndexRow]  # by key, the completed runs of the index


def open_journal(project: Project, options: VerifyOptions, console: Console) -> Journal:
    plan = load_plan(project.plan_file)
    request = RunRequest.for_plan(
        plan,
        console=console,
        profile=project.profile,
        jobs=options.jobs,
        data_dir=options.data_dir,
        timeout_s=options.timeout_s,
    )
    store = ResultsStore(project.results_dir, project.index_path.name)
    index = store.read_index()
    if index is None or not index.runs:
        raise LabjournalError(
            f"no results to verify: {project.index_path.relative_to(project.root)} is missing or empty"
        )
    extra = [entry.model_dump() for entry in read_extra_seeds(store, request.profile).points]
    specs = plan.runs(request.profile, extra=extra)
    sources = resolve_sources(plan, specs, specs, request.settings.data, request.options.data_dir)
    keyed = plan_keys(plan, specs, sources)
    planned = PlannedRuns(
        keyed=keyed,
        selected=[],
        sources=sources,
        design=plan.schedule(request.profile).to_json(),
        commit=project_commit(plan.root),
        scope=ReadScope.of(plan.root, project.root / SCRATCH),
    )
    return Journal(
        project, request, store, planned, {row.key: row for row in index.runs if row.status == "ok"}
    )


def stale_reasons(journal: Journal, index_keys: set[str]) -> list[str]:
    """Why the results are not those of the sources now: a run whose key changed (or that never
    ran), a stored run whose reads changed."""
    check = ReadCheck(ReadScope.of(journal.project.root, journal.store.root))
    why: list[str] = []
    for item in journal.planned.keyed:
        name = f"{item.spec.lab}/{item.spec.notebook}"
        if item.key not in index_keys:
            why.append(f"{name}: {item.spec.label} is not in the results as the sources now key it")
            continue
        row = journal.rows.get(item.key)
        if row is None or row.run_dir is None:
            continue  # a failed run: not verified, but not stale
        try:
            record = RunRecord.model_validate_json(
                (journal.store.root / row.run_dir / RUN_RECORD).read_bytes()
            )
        except (OSError, ValidationError):
            why.append(f"{name}: {item.spec.label} has no readable {RUN_RECORD} in results/{row.run_dir}")
            continue
        why += [f"{name}: {item.spec.label}: {reason}" for reason in check.stale(record)]
    return list(dict.fromkeys(why))


def refuse_stale(journal: Journal) -> None:
    index = journal.store.read_index()
    why = stale_reasons(journal, {row.key for row in index.runs} if index is not None else set())
    if why:
        shown = "\n".join(f"  {reason}" for reason in why[:8])
        more = f"\n  and {len(why) - 8} more" if len(why) > 8 else ""
        raise StaleResultsError(
            "will not verify: the results are stale against the sources now, so re-executing would "
            f"verify a changed project, not the journal:\n{shown}{more}\n"
            "Run `labjournal status` for the whole picture; `labjournal report` brings the results up to date."
        )


def candidates(journal: Journal, options: VerifyOptions) -> list[KeyedRun]:
    """The distinct completed runs of the journal that `--lab` / `--notebook` leave."""
    found: dict[str, KeyedRun] = {}
    for item in journal.planned.keyed:
        spec = item.spec
        if item.key not in journal.rows or item.key in found:
            continue
        if options.lab and spec.lab != options.lab:
            continue
        if options.notebook and options.notebook not in (spec.notebook, f"{spec.lab}/{spec.notebook}"):
            continue
        found[item.key] = item
    if not found:
        what = " ".join(f"--{n} {v}" for n, v in (("lab", options.lab), ("notebook", options.notebook)) if v)
        raise LabjournalError(f"no completed run of the journal to verify{' for ' + what if what else ''}")
    return list(found.values())


def quoted_notebooks(project: Project, items: list[KeyedRun]) -> set[str]:
    """The notebooks whose values the prose quotes or the claims use: named as `lab/experiment` or
    `lab/notebook` in a page or in claims.yml."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(project.report_dir.glob("*.qmd"))]
    claims = project.report_dir / "claims.yml"
    texts += [claims.read_text(encoding="utf-8")] if claims.exists() else []
    text = "\n".join(texts)
    return {
        f"{i.spec.lab}/{i.spec.notebook}"
        for i in items
        if f"{i.spec.lab}/{i.spec.experiment}" in text or f"{i.spec.lab}/{i.spec.notebook}" in text
    }


def pick(items: list[KeyedRun], count: int, seed: int, first: set[str]) -> list[KeyedRun]:
    """`count` runs at random (`seed`): one from every notebook (those in `first` before the
    others) before any notebook gets a second."""
    rng = random.Random(seed)
    groups: dict[str, list[KeyedRun]] = {}
    for item in items:
        groups.setdefault(f"{item.spec.lab}/{item.spec.notebook}", []).append(item)
    for group in groups.values():
        rng.shuffle(group)
    names = sorted(groups)
    rng.shuffle(names)
    names.sort(key=lambda name: name not in first)  # stable: the quoted ones first, each in random order
    picked: list[KeyedRun] = []
    for turn in range(max(len(g) for g in groups.values())):
        picked += [groups[name][turn] for name in names if turn < len(groups[name])]
    return picked[:count]


def execute(journal: Journal, picked: list[KeyedRun], root: Path) -> ResultsStore:
    """The picked runs executed into a scratch store at `root` (a summary reads the journal's own
    input runs, copied in); what they record is read back from there."""
    shutil.rmtree(root, ignore_errors=True)
    scratch = ResultsStore(root)
    for item in picked:
        for other in journal.planned.keyed:
            if other.key in item.inputs["inputs"] and other.key in journal.rows:
                source = journal.store.root / str(journal.rows[other.key].run_dir)
                target = scratch.run_dir(other.spec.lab, other.spec.notebook, other.key)
                if not target.exists():
                    shutil.copytree(source, target)
    planned = PlannedRuns(**{**journal.planned.__dict__, "selected": picked})
    with scratch.locked():
        Execution(journal.request, scratch, planned, RunSummary(), picked).run()
    return scratch


def _record(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / RUN_RECORD).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def platform_differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between where a run was recorded and where it ran again: library versions,
    Python, the machine, the thread count, a GPU (whose kernels need not repeat bit for bit)."""
    found = []
    check = ReadCheck(ReadScope.of(Path.cwd(), Path.cwd()))  # the versions installed here
    for name, version in sorted(((recorded.get("reads") or {}).get("distributions", {})).items()):
        if check.version(name) != version:  # what the run imported (a warm kernel had some already)
            found.append(f"{name} {version} → {check.version(name) or 'not installed'}")
    python = (recorded.get("key_inputs") or {}).get("environment", {}).get("python")
    if python and python != now.get("key_inputs", {}).get("environment", {}).get("python"):
        found.append(f"python {python} → {now['key_inputs']['environment'].get('python')}")
    for name, value in (recorded.get("machine") or {}).items():
        if value != (now.get("machine") or machine()).get(name):
            found.append(f"machine {name}: {value} → {(now.get('machine') or machine()).get(name)}")
    if recorded.get("threads") != now.get("threads"):
        found.append(f"threads {recorded.get('threads')} → {now.get('threads')}")
    device = str(now.get("device") or recorded.get("device") or "")
    if device.startswith("cuda"):
        found.append(f"device {device}")
    return found


def changed_files(journal: Journal, row: IndexRow) -> list[str]:
    """The run's files in results/ whose checksum is not the one its record sealed."""
    folder = journal.store.root / str(row.run_dir)
    artifacts = _record(folder).get("artifacts", {})
    return [
        f"{row.run_dir}/{name}"
        for name, digest in sorted(artifacts.items())
        if not (folder / name).is_file() or sha256_file(folder / name) != digest
    ]


def check_run(journal: Journal, item: KeyedRun, scratch: ResultsStore) -> RunCheck:
    """One run against what the journal holds: its index row's scalars, its metrics.json, its figures."""
    spec, row = item.spec, journal.rows[item.key]
    recorded_dir = journal.store.root / str(row.run_dir)
    now_dir = scratch.run_dir(spec.lab, spec.notebook, item.key)
    recorded, now = _record(recorded_dir), _record(now_dir)
    check = RunCheck(
        spec.label, f"{spec.lab}/{spec.notebook}", item.key, recorded_s=recorded.get("duration_s")
    )
    check.changed_files = changed_files(journal, row)
    if not now:
        failed = _record(scratch.failed_run_dir(spec.lab, spec.notebook, item.key))
        error = (failed.get("error") or {}).get("message", "it did not complete")
        check.error = (
            f"the re-execution failed: {(failed.get('error') or {}).get('exception', '')} {error}".strip()
        )
        return check
    check.verify_s = now.get("duration_s")
    check.versions = platform_differences(recorded, now)
    compare = Comparison(journal.request.plan.spec.verify, tolerant=bool(check.versions))
    old_metrics, new_metrics = scratch.read_metrics(recorded_dir), scratch.read_metrics(now_dir)
    check.differences = compare.metrics(row.metrics, new_metrics.get("scalars", {}))
    check.differences += compare.run_files(old_metrics, new_metrics)
    figures = {**old_metrics.get("figures", {}), **new_metrics.get("figures", {})}
    check.differences += compare.figures(figures, recorded_dir, now_dir)
    return check


def repeat(journal: Journal, checks: list[RunCheck], picked: list[KeyedRun], first: ResultsStore) -> None:
    """`--twice`: each run once more; values that moved between the two make it not reproducible."""
    second = execute(journal, picked, first.root.parent / "second")
    exact = Comparison(journal.request.plan.spec.verify, tolerant=False)
    for check, item in zip(checks, picked, strict=True):
        spec = item.spec
        a = first.run_dir(spec.lab, spec.notebook, item.key)
        b = second.run_dir(spec.lab, spec.notebook, item.key)
        if check.error or not (b / RUN_RECORD).exists():
            continue
        one, two = first.read_metrics(a), second.read_metrics(b)
        check.moved = exact.run_files(one, two)
        check.moved += exact.figures({**one.get("figures", {}), **two.get("figures", {})}, a, b)
    checked: dict[str, bool] = {}
    for check in checks:
        if not check.error:
            checked[check.notebook] = checked.get(check.notebook, True) and not check.moved
    moved = {
        name: {
            "keys": [c.key for c in checks if c.notebook == name and c.outcome == NOT_REPRODUCIBLE],
            "moved": [d.what for c in checks if c.notebook == name for d in c.moved][:10],
        }
        for name, repeated in checked.items()
        if not repeated
    }
    reproducible.update(journal.project.root, checked, moved)


def verify_journal(project: Project, options: VerifyOptions, console: Console) -> VerifyReport:
    """Refuse stale results, pick the runs, execute them in scratch (twice with `twice`), compare."""
    started = time.monotonic()
    journal = open_journal(project, options, console)
    refuse_stale(journal)
    items = candidates(journal, options)
    if options.everything or options.sample is None or options.sample >= len(items):
        picked, how = items, f"all {len(items)} runs"
    else:
        first = quoted_notebooks(project, items)
        picked = pick(items, options.sample, options.seed, first)
        how = f"a sample of {len(picked)} of {len(items)} runs, seed {options.seed}"
    console.print(f"Verifying {how}: executing them in {SCRATCH}/ (results/ is not written)")
    scratch = execute(journal, picked, project.root / SCRATCH / "first")
    checks = [check_run(journal, item, scratch) for item in picked]
    if options.twice:
        repeat(journal, checks, picked, scratch)
    return VerifyReport(checks, how, wall_s=time.monotonic() - started, twice=options.twice)
