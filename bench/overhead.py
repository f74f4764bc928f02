"""Orchestration overhead per run: a run's wall time (as `labjournal run` measured it, from the
worker taking the job to the executed notebook written) minus the time its cells ran (papermill's
per-cell durations in the executed notebook). What is left is labjournal and papermill around the
notebook: starting or resetting the kernel, injecting parameters, saving the notebook, capturing
the kernel's log. Reads the runs of `results/index.json`; prints medians per lab and overall, and
how many runs paid a cold kernel start.

    python bench/overhead.py [results]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def overheads(results: Path) -> list[dict]:
    index = json.loads((results / "index.json").read_text())
    rows = {row["key"]: row for row in index["runs"] if row["status"] == "ok"}
    measured = []
    for row in rows.values():
        run_dir = results / row["run_dir"]
        record = json.loads((run_dir / "run.json").read_text())
        notebook = json.loads((run_dir / "notebook.ipynb").read_text())
        cells = sum(
            (cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
            for cell in notebook["cells"]
        )
        measured.append(
            {
                "lab": row["lab"],
                "wall": record["duration_s"],
                "cells": cells,
                "overhead": record["duration_s"] - cells,
                "cold": record.get("cold_start"),
            }
        )
    return measured


def main(results: str = "results") -> dict[str, float]:
    measured = overheads(Path(results))
    print(
        f"{'lab':<8}{'runs':>6}{'median wall s':>15}{'median cells s':>16}{'median overhead s':>19}{'cold starts':>13}"
    )
    for lab in sorted({m["lab"] for m in measured}) + ["all"]:
        rows = [m for m in measured if lab in ("all", m["lab"])]
        cold = sum(bool(m["cold"]) for m in rows)
        print(
            f"{lab:<8}{len(rows):>6}{statistics.median(m['wall'] for m in rows):>15.2f}"
            f"{statistics.median(m['cells'] for m in rows):>16.2f}"
            f"{statistics.median(m['overhead'] for m in rows):>19.3f}{cold:>13}"
        )
    return {
        "median_overhead_s": statistics.median(m["overhead"] for m in measured),
        "cold_starts": sum(bool(m["cold"]) for m in measured),
        "runs": len(measured),
    }


if __name__ == "__main__":
    main(*sys.argv[1:])
