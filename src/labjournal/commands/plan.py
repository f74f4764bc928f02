"""`labjournal plan`: the runs of a profile, whether each is cached (and why not), and what each
notebook's cache key covers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labjournal.commands.options import PlanOptions
from labjournal.data.datasets import DataSource
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.results.store import ResultsStore
from labjournal.run.cache import KeyedRun, plan_keys, resolve_sources
from labjournal.run.reads import ReadCheck, ReadScope


def main(project: Project, options: PlanOptions, console: Console) -> None:
    plan = load_plan(project.plan_file)
    profile_name, profile_spec = plan.profile(options.profile)
    specs = plan.runs(profile_name)
    sources = resolve_sources(plan, specs, specs, profile_spec.data, options.data_dir)
    store = ResultsStore(project.results_dir, project.index_path.name)
    keyed = plan_keys(plan, specs, sources)
    distinct = len({item.key for item in keyed})
    table = Table(title=f"profile '{profile_name}': {len(specs)} runs ({distinct} distinct)")
    for column in ("run", "key", "status"):
        table.add_column(column, overflow="fold")  # a reason is read whole, never cut
    check = ReadCheck(ReadScope.of(plan.root, store.root))
    for item in keyed:
        _record, reason = check.lookup(store, item)
        table.add_row(escape(item.spec.label), item.key[:12], escape(reason))
    out = Console(soft_wrap=False, highlight=False)  # a listing: stdout, so that `plan | grep` works
    out.print(table)
    out.print(what_keys_cover(keyed, sources))


def what_keys_cover(keyed: list[KeyedRun], sources: dict[str, DataSource]) -> str:
    """Per notebook, the files and datasets its runs' keys cover (besides its code and parameters)."""
    lines = ["What each notebook's cache key covers besides its cells and parameters:"]
    seen: set[tuple[str, str]] = set()
    for item in keyed:
        if (item.spec.lab, item.spec.notebook) in seen:
            continue
        seen.add((item.spec.lab, item.spec.notebook))
        lines.append(f"  {item.spec.lab}/{item.spec.notebook} ({item.inputs['notebook_code'][:8]})")
        code = ", ".join(item.inputs["code"]) or "none"
        lines.append(f"    code: {escape(code)}")
        for name in item.spec.data:
            found = sources.get(name)
            shown = f"{found.description}, {found.fingerprint[:12]}" if found else "unavailable"
            lines.append(f"    data: {name} ({escape(shown)})")
        for name, fingerprint in item.inputs["deps"].items():
            lines.append(f"    deps: {escape(name)} ({fingerprint[:12]})")
        if item.spec.inputs:
            lines.append(f"    reads the runs of: {', '.join(item.spec.inputs)}")
    return "\n".join(lines)
