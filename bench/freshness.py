"""Benchmarks of observed freshness (docs/BENCHMARKS.md): the no-op report of a journal with
`pythonpath: [.]` and a virtual environment inside the project, and what recording a run's reads
costs.

    python bench/freshness.py [--files 20000]

1. A new journal (`labjournal new`), `pythonpath: [.]`, a `.venv/` inside it holding `--files`
   files; one complete `report --profile quick`, then five no-op reports, each timed as a whole
   command: the median.
2. The audit hook: a run-like workload (imports, 200 reads of a CSV, a figure saved) executed in
   fresh processes with and without `labjournal.run.readlog` recording, alternated five times:
   the ratio of the medians. And the engine's side per run: `finish` (listings, modules,
   distributions) plus `take_reads` (fingerprints), median of 20.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOAD = """
import sys, time
record = sys.argv[1] == "on"
if record:
    import labjournal.run.readlog as readlog
    readlog.begin()
started = time.perf_counter()
import numpy, pandas, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
for _ in range(200):
    pandas.read_csv(sys.argv[2])
fig, ax = plt.subplots()
ax.plot(numpy.arange(100))
fig.savefig(sys.argv[3])
print(time.perf_counter() - started)
"""


def _labjournal(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "labjournal.cli", *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def no_op(files: int, root: Path) -> dict[str, object]:
    subprocess.run(
        [sys.executable, "-m", "labjournal.cli", "new", "journal"], cwd=root, check=True, capture_output=True
    )
    project = root / "journal"
    plan = project / "journal.yml"
    plan.write_text(plan.read_text().replace("# pythonpath: [shared]", "pythonpath: [.]"))
    packages = project / ".venv" / "lib" / "python3.11" / "site-packages" / "filler"
    packages.mkdir(parents=True)
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for number in range(files):
        (packages / f"m{number}.py").write_text("x = 1\n")
    _labjournal("report", "--profile", "quick", "--engine", "pandoc", cwd=project)
    times = [_labjournal("report", "--profile", "quick", "--engine", "pandoc", cwd=project) for _ in range(5)]
    record = json.loads((project / ".labjournal" / "report-quick.json").read_text())
    return {
        "venv_files": files,
        "no_op_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "files_stamped": len(record["files"]),
        "folders_listed": len(record["folders"]),
    }


def hook_cost(root: Path) -> dict[str, object]:
    csv = root / "points.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(1000)))
    script = root / "workload.py"
    script.write_text(WORKLOAD)
    timings: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(5):
        for mode in ("off", "on"):
            out = subprocess.run(
                [sys.executable, str(script), mode, str(csv), str(root / "f.png")],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            timings[mode].append(float(out))
    off, on = statistics.median(timings["off"]), statistics.median(timings["on"])
    return {
        "off_s": round(off, 4),
        "on_s": round(on, 4),
        "ratio": round(on / off, 3),
        **_engine_side(root, csv),
    }


def _engine_side(root: Path, csv: Path) -> dict[str, object]:
    from labjournal.data.fingerprint import FingerprintCache
    from labjournal.run import readlog
    from labjournal.run.reads import ReadScope, take_reads

    scope = ReadScope.of(root, root / "results")
    times = []
    for number in range(20):
        readlog.begin()
        csv.read_text()
        os.listdir(root)
        started = time.perf_counter()
        staging = root / f"staging{number}"
        staging.mkdir()
        readlog.finish(str(staging / "reads.json"))
        take_reads(staging, scope, FingerprintCache(root / "fingerprints.json"))
        times.append(time.perf_counter() - started)
    return {"finish_and_take_reads_ms": round(1000 * statistics.median(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ.setdefault("LABJOURNAL_CACHE", str(root / "cache"))
        print(json.dumps({"no_op": no_op(args.files, root), "hook": hook_cost(root)}, indent=1))


if __name__ == "__main__":
    main()
