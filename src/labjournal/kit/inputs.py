"""What a summary notebook reads: the runs it summarises, as a DataFrame, plus their series.

The engine writes the list of input runs to `LABJOURNAL_INPUTS` before the summary starts, so a
summary sees exactly the runs its cache key was computed from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from labjournal.names import INPUTS_ENV, METRICS


def runs(experiment: str | None = None) -> pd.DataFrame:
    """One row per input run: lab, notebook, experiment, seed, key, run_dir, the parameters as
    columns, and every scalar metric as a `metric.<name>` column."""
    listing = os.environ.get(INPUTS_ENV)
    if not listing:
        raise RuntimeError(f"{INPUTS_ENV} is not set: summary notebooks run under `labjournal run`.")
    rows = []
    for run in json.loads(Path(listing).read_text()):
        if experiment is not None and run["experiment"] != experiment:
            continue
        metrics = json.loads((Path(run["run_dir"]) / METRICS).read_text())
        row = {k: run[k] for k in ("lab", "notebook", "experiment", "seed", "key", "run_dir")}
        row.update(run["params"])
        row.update({f"metric.{name}": value for name, value in metrics["scalars"].items()})
        rows.append(row)
    if not rows:
        raise LookupError(f"no input runs for experiment '{experiment}'")
    return pd.DataFrame(rows)


def series(run_dir: str, name: str) -> list[float | None]:
    """A series a run recorded with `record.series`, one value per step (None where it was not
    finite); `run_dir` is a row's `run_dir` from `runs()`."""
    metrics = json.loads((Path(run_dir) / METRICS).read_text())
    return metrics["series"][name]["values"]


def table(run_dir: str, name: str) -> pd.DataFrame:
    """A table a run recorded with `record.table`, as a DataFrame; `run_dir` as for `series`."""
    recorded = json.loads((Path(run_dir) / METRICS).read_text())["tables"][name]
    return pd.DataFrame(recorded["rows"], columns=recorded["columns"])


def data_descriptions(frame: pd.DataFrame) -> str:
    """The data variants behind a set of runs (`runs()` or part of it), in words for a caption:
    each dataset's description once, joined by "; " ("no external data" where none)."""
    seen = []
    for run_dir in frame["run_dir"]:
        data = json.loads((Path(run_dir) / METRICS).read_text()).get("data", {})
        seen += [source["description"] for source in data.values() if source["description"] not in seen]
    return "; ".join(seen) or "no external data"
