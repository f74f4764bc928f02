"""labjournal's benchmarks, measured in one run on a copy of this project (`make bench`).

1. Pipeline overhead: `labjournal run --force` on a profile, divided by the time the same notebook
   code takes executed directly, run after run, in this one Python process (no kernels, no
   papermill, no store): the work itself. Also with `--fresh-kernels`, to show what warm kernels
   save.
2. No-op rebuild: `labjournal report` with nothing changed (median of 3).
3. Prose-only rebuild: one sentence of report/ changed, site and PDF rebuilt with the built-in
   engine, nothing executed (median of 3).
4. Parallel scaling: `labjournal run --force --jobs 1` against `--jobs 2`.
5. Cold kernel starts and orchestration overhead per run (a run's wall time minus its cells'
   papermill durations; median over the runs of 1.), target at most 0.3 s.
6. Interleaved notebooks: three copies of the Lab 01 notebook (three notebooks to the scheduler,
   the same work) against one notebook with the same number of runs; target ratio at most 1.25.

The runs of `labjournal run` here take the profile's seeds only (`--max-seeds` = the profile's
seed count), so that adding seeds until claims are decided does not blur the timings.

    python bench/bench.py [--profile default] [--skip-fresh] [--only 5,6]

Prints a table of the figures with their targets. Timings are wall-clock seconds on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from labjournal.names import INPUTS_ENV
from labjournal.plan.model import load_plan
from labjournal.run.cache import plan_keys, resolve_sources
from labjournal.run.placement import run_environment
from labjournal.run.provenance import available_cores
from labjournal.run.summaries import summary_inputs

sys.path.insert(0, str(Path(__file__).parent))
from overhead import main as overhead_main  # noqa: E402

PROJECT_FILES = ("journal.yml", "_quarto.yml", "experiments", "report", "templates")
REPO = Path(__file__).resolve().parents[1]


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / name)
    return target


def labjournal(project: Path, *args: str) -> float:
    """Wall time of one `labjournal` command; its output goes to bench.log in the project."""
    started = time.perf_counter()
    with open(project / "bench.log", "a") as log:
        completed = subprocess.run(
            [sys.executable, "-m", "labjournal.cli", *args], cwd=project, stdout=log, stderr=log
        )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(
            f"`labjournal {' '.join(args)}` failed (exit {completed.returncode}); see {project / 'bench.log'}"
        )
    return elapsed


def direct_execution(project: Path, profile: str, workdir: Path) -> float:
    """Every run's code cells executed in this process, in plan order, parameters injected after
    the `parameters` cell as papermill would, each run in a fresh namespace."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labjournal.kit import record

    plan = load_plan(project / "journal.yml")
    _, profile_spec = plan.profile(profile)
    specs = plan.runs(profile)
    sources = resolve_sources(plan, specs, specs, profile_spec.data, None)
    keyed = plan_keys(plan, specs, sources)
    done: dict[str, Path] = {}
    cells: dict[Path, list[tuple[bool, str]]] = {}
    started = time.perf_counter()
    for item in keyed:
        if item.key in done:
            continue
        spec = item.spec
        run_dir = workdir / item.key[:16]
        run_dir.mkdir(parents=True)
        os.environ.update(run_environment(item, run_dir, sources, available_cores()))
        if spec.is_summary:
            inputs = summary_inputs(item, keyed, lambda other: done[other.key])
            (run_dir / "inputs.json").write_text(json.dumps(inputs))
            os.environ[INPUTS_ENV] = str(run_dir / "inputs.json")
        if spec.notebook_path not in cells:
            notebook = nbformat.read(str(spec.notebook_path), as_version=4)
            cells[spec.notebook_path] = [
                ("parameters" in cell.metadata.get("tags", []), cell.source)
                for cell in notebook.cells
                if cell.cell_type == "code"
            ]
        namespace: dict = {"__name__": "__main__"}
        cwd = os.getcwd()
        os.chdir(run_dir)
        output = run_dir / "output.txt"  # what the notebook prints, kept out of the table
        try:
            with open(output, "w") as printed, contextlib.redirect_stdout(printed):
                for is_parameters, source in cells[spec.notebook_path]:
                    exec(compile(source, str(spec.notebook_path), "exec"), namespace)
                    if is_parameters:
                        namespace.update(spec.parameters)
        finally:
            os.chdir(cwd)
            record.reset()
            plt.close("all")
        done[item.key] = run_dir
    return time.perf_counter() - started


INTERLEAVE_PLAN = """\
default_profile: bench
profiles:
  bench: {{seeds: [0, 1, 2, 3, 4, 5, 6, 7], data: sample}}
labs:
  bench:
    title: Interleaving
    page: bench.qmd
    notebooks:
{notebooks}
"""


def interleaving(work: Path) -> tuple[float, float]:
    """Wall time of 24 distinct runs spread over three notebooks (copies of Lab 01's logistic
    regression, which the scheduler sees as three notebooks) against 24 runs of one of them."""
    timings = []
    # Each copy gets its own seeds: copies of one notebook share cache keys (the path is not part
    # of a key), so with the same seeds the 24 runs would be 8 distinct ones.
    for copies, seeds in ((3, 8), (1, 24)):
        project = work / f"copies-{copies}"
        (project / "report").mkdir(parents=True)
        (project / "report" / "bench.qmd").write_text("---\ntitle: Bench\n---\n")
        shutil.copy2(REPO / "_quarto.yml", project / "_quarto.yml")
        entries = []
        for i in range(copies):
            shutil.copy2(
                REPO / "experiments" / "lab01" / "logistic_regression.ipynb", project / f"nb{i}.ipynb"
            )
            entries.append(
                f"      nb{i}:\n        path: nb{i}.ipynb\n        data: [fashion_mnist]\n"
                f"        seeds: {list(range(i * seeds, (i + 1) * seeds))}\n        params: {{epochs: 8}}"
            )
        (project / "journal.yml").write_text(INTERLEAVE_PLAN.format(notebooks="\n".join(entries)))
        timings.append(labjournal(project, "run", "--profile", "bench"))
    return timings[0], timings[1]


def median_of(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--skip-fresh", action="store_true", help="do not measure --fresh-kernels")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="which measures, e.g. 5,6")
    args = parser.parse_args()
    only = {int(part) for part in args.only.split(",")}
    if "LABJOURNAL_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():
        os.environ["LABJOURNAL_DATA"] = str(REPO.parent / "shared" / "data")

    work = Path(tempfile.mkdtemp(prefix="labjournal-bench-"))
    project = copy_project(work / "journal")
    print(
        f"Benchmarking the '{args.profile}' profile in {project} on {available_cores()} cores "
        f"({platform.processor() or platform.machine()}, Python {platform.python_version()})",
        flush=True,
    )

    rows: list[tuple[str, str, str]] = []
    seeds = str(len(load_plan(project / "journal.yml").profile(args.profile)[1].seeds))
    run = ("run", "--profile", args.profile, "--max-seeds", seeds)
    # Warm the caches of the operating system and the kernelspec once, untimed.
    labjournal(project, "run", "--profile", "quick")

    if only & {1, 5}:
        direct = direct_execution(project, args.profile, work / "direct")
        pipeline = labjournal(project, *run, "--force")
        rows.append(("direct execution of the same code, one process", f"{direct:.1f} s", "baseline"))
        rows.append(("`labjournal run --force` (warm kernels, default jobs)", f"{pipeline:.1f} s", ""))
        rows.append(("1. pipeline overhead: run --force / direct", f"{pipeline / direct:.2f}", "≤ 1.25"))
        measured = overhead_main(str(project / "results"))
        rows.append(
            (
                "5. median overhead per run (wall − cells)",
                f"{measured['median_overhead_s']:.3f} s over {measured['runs']} runs",
                "≤ 0.3 s",
            )
        )
        rows.append(("   cold kernel starts in that run", f"{measured['cold_starts']}", "one per worker"))
        if not args.skip_fresh:
            fresh = labjournal(project, *run, "--force", "--fresh-kernels")
            rows.append(("   the same with --fresh-kernels", f"{fresh / direct:.2f} ({fresh:.1f} s)", ""))

    if only & {2, 3}:
        labjournal(project, "report", *run[1:], "--engine", "pandoc")  # build once
        labjournal(project, "report", *run[1:], "--engine", "pandoc")  # the first complete report stamps
        noop = [labjournal(project, "report", *run[1:], "--engine", "pandoc") for _ in range(5)]
        rows.append(("2. no-op `labjournal report` (median of 5)", median_of(noop), "≤ 1 s"))
        page = project / "report" / "conclusion.qmd"
        original = page.read_text()
        prose = []
        for i in range(3):
            page.write_text(original + f"\nOne more sentence, edit {i} of the prose-only benchmark.\n")
            prose.append(labjournal(project, "report", *run[1:], "--engine", "pandoc"))
        page.write_text(original)
        rows.append(("3. prose-only rebuild (site + PDF)", median_of(prose), "< 15 s"))

    if 4 in only:
        one = labjournal(project, *run, "--force", "--jobs", "1")
        two = labjournal(project, *run, "--force", "--jobs", "2")
        rows.append(
            ("4. run --force --jobs 1 / --jobs 2", f"{one / two:.2f}x ({one:.1f} s / {two:.1f} s)", "report")
        )

    if 6 in only:
        interleaved, single = interleaving(work / "interleave")
        rows.append(
            (
                "6. three notebooks interleaved / one notebook",
                f"{interleaved / single:.2f} ({interleaved:.1f} s / {single:.1f} s)",
                "≤ 1.25",
            )
        )

    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'value':<40}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:<40}  {target}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
