"""Live progress of a running notebook (e.g. "epoch 12/30"), shown by `labjournal run`.

The notebook writes a tiny `.progress` file in its run folder; the scheduler polls it while the
run executes. It is removed before the run is sealed, so it is never part of the results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labjournal.files import atomic_write_text
from labjournal.names import PROGRESS_FILE, RUN_DIR_ENV


def report(done: int, total: int, unit: str = "epoch") -> None:
    """Say how far the run is (`progress.report(epoch + 1, epochs)` shows "epoch 12/30" beside
    the run in `labjournal run`'s progress). Does nothing in a notebook opened by hand."""
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:  # opened by hand in Jupyter: nobody is polling
        atomic_write_text(
            Path(run_dir) / PROGRESS_FILE, json.dumps({"done": done, "total": total, "unit": unit})
        )


def read(run_dir: Path) -> str:
    """The engine's side: a running run's progress as shown ("epoch 12/30"), or "" when it has
    reported none."""
    try:
        state = json.loads((run_dir / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return ""
    return f"{state['unit']} {state['done']}/{state['total']}"
