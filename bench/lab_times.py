"""Where each lab's execution time goes: per lab, the number of distinct runs, their summed
execution time (kernel start-up, imports, data loading, training, recording), the summed training
time the notebooks record (`train_time_s`), and the median per-run overhead (execution minus
training). Reads `results/index.json` of the last `labjournal run`.

    python bench/lab_times.py [results/index.json]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from labjournal.results.lookup import read_json


def main(index_path: str = "results/index.json") -> None:
    index = read_json(Path(index_path))
    runs = {row["key"]: row for row in index["runs"] if row["status"] == "ok"}  # one row per distinct run
    print(f"profile {index['profile']}: {len(runs)} distinct runs")
    print(
        f"{'lab':<8}{'runs':>6}{'executed s':>12}{'training s':>12}{'training %':>12}{'median overhead s':>19}"
    )
    for lab in sorted({row["lab"] for row in runs.values()}):
        rows = [row for row in runs.values() if row["lab"] == lab]
        executed = sum(row["duration_s"] or 0.0 for row in rows)
        training = sum(row["metrics"].get("train_time_s") or 0.0 for row in rows)
        overhead = statistics.median(
            (row["duration_s"] or 0.0) - (row["metrics"].get("train_time_s") or 0.0) for row in rows
        )
        share = 100 * training / executed if executed else 0.0
        print(f"{lab:<8}{len(rows):>6}{executed:>12.1f}{training:>12.1f}{share:>11.1f}%{overhead:>19.2f}")
    print("executed s = sum over runs of each run's wall time (runs overlap across workers)")


if __name__ == "__main__":
    main(*sys.argv[1:])
