"""What a notebook brought into a journal lacks, said when it runs rather than when the journal
renders: a run that records nothing, a notebook whose results do not depend on its seed, and files
a run wrote beside its notebook (outside the evidence the store keeps)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from labjournal.files import canonical_json
from labjournal.records import IndexRow

RECORD_HINT = (
    'add `from labjournal.kit import record` and `record.scalar("accuracy", accuracy)` (or '
    "record.series / record.table / record.figure) to it"
)


def recorded_nothing(notebook: str, labels: list[str]) -> str:
    """One warning for a notebook, however many of its runs recorded nothing."""
    runs = labels[0] if len(labels) == 1 else f"{len(labels)} runs: {labels[0]}, … {labels[-1]}"
    return f"{notebook} ran but recorded nothing ({runs}): {RECORD_HINT}"


def written_beside(label: str, notebook: str, files: list[str]) -> str:
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return (
        f"{label}: the run wrote {shown} beside {notebook}: such files are outside the run's evidence "
        "(not kept with the run, not in the journal); record results with labjournal.kit.record"
    )


def seed_unused(rows: list[IndexRow]) -> dict[str, str]:
    """Notebooks whose every scalar is identical on every seed at every grid point with two or
    more seeds: the seed probably never reaches the computation. By `lab/notebook`."""
    by_point: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.status == "ok" and row.seed is not None and row.metrics:
            by_point[(row.lab, row.notebook, canonical_json(row.params))].append(row.metrics)
    verdict: dict[str, bool] = {}
    for (lab, notebook, _), metrics in by_point.items():
        if len(metrics) < 2:
            continue
        same = all(canonical_json(m) == canonical_json(metrics[0]) for m in metrics[1:])
        verdict[f"{lab}/{notebook}"] = verdict.get(f"{lab}/{notebook}", True) and same
    return {
        name: (
            "every metric is identical on every seed: does the notebook use `seed`? Pass it to "
            "labjournal.kit.runtime.setup(seed), or seed your generators with it"
        )
        for name, same in verdict.items()
        if same
    }
