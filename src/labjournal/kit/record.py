"""Record a run's results: scalars, per-epoch series, tables and figures.

    from labjournal.kit import record
    record.scalar("test_accuracy", 0.912)
    record.series("train_loss", history.train_loss)          # one value per epoch
    record.table("gradient_errors", frame)                   # a pandas DataFrame or a list of dicts
    record.figure("loss_curve", fig, caption="Training loss per epoch")

Under `labjournal run` everything goes to the run's folder (`LABJOURNAL_RUN_DIR`); opened by hand,
to `.labjournal-scratch/` beside the notebook. `metrics.json` is validated against
`metrics.schema.json` and rewritten atomically on every call, so it is never half-written.
Non-finite numbers (a diverged loss) are stored as null.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from labjournal.errors import RecordError
from labjournal.files import atomic_write_bytes, atomic_write_json
from labjournal.names import METRICS, RUN_DIR_ENV, RUN_KEY_ENV

FIGURE_DPI = 144
SCHEMA_PATH = Path(__file__).with_name("metrics.schema.json")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def _number(value: Any, where: str) -> float | None:
    if hasattr(value, "item"):  # numpy and torch scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
    return float(value) if math.isfinite(value) else None


class Recorder:
    def __init__(self, run_dir: str | Path | None = None):
        chosen = run_dir or os.environ.get(RUN_DIR_ENV) or Path.cwd() / ".labjournal-scratch"
        self.run_dir = Path(chosen)
        self.path = self.run_dir / METRICS
        if self.path.exists():
            self.state = json.loads(self.path.read_text())
        else:
            self.state = {"format": 1, "scalars": {}, "series": {}, "tables": {}, "figures": {}, "data": {}}
        self._saved = copy.deepcopy(self.state)

    def _save(self, changed: str) -> None:
        errors = sorted(_validator().iter_errors(self.state), key=lambda e: list(e.path))
        if errors:
            self.state = copy.deepcopy(self._saved)  # a rejected value must not linger in memory
            first = errors[0]
            place = "/".join(str(p) for p in first.path) or "metrics"
            raise RecordError(f"cannot record {changed}: {place}: {first.message}")
        atomic_write_json(self.path, self.state)
        self._saved = copy.deepcopy(self.state)

    def scalar(self, name: str, value: Any) -> None:
        number = _number(value, f"scalar '{name}'")
        self.state["scalars"][name] = number
        self._save(f"scalar '{name}'")

    def scalars(self, **values: Any) -> None:
        numbers = {name: _number(value, f"scalar '{name}'") for name, value in values.items()}
        self.state["scalars"].update(numbers)
        self._save("scalars " + ", ".join(values))

    def series(self, name: str, values: Any, x: str = "epoch") -> None:
        numbers = [_number(v, f"series '{name}'[{i}]") for i, v in enumerate(list(values))]
        self.state["series"][name] = {"x": x, "values": numbers}
        self._save(f"series '{name}'")

    def table(self, name: str, data: Any, caption: str = "") -> None:
        if hasattr(data, "to_dict"):  # a pandas DataFrame
            columns = [str(c) for c in data.columns]
            rows = data.astype(object).where(data.notna(), None).values.tolist()
        else:
            records = list(data)
            columns = list(records[0]) if records else []
            rows = [[record.get(c) for c in columns] for record in records]
        rows = [[_plain(cell) for cell in row] for row in rows]
        self.state["tables"][name] = {"columns": columns, "rows": rows, "caption": caption}
        self._save(f"table '{name}'")

    def figure(
        self, name: str, fig: Any, caption: str, alt: str | None = None, experiments: list[str] | None = None
    ) -> Path:
        """Save a matplotlib figure as PNG. A summary notebook names the `experiments` it draws
        from, so the figure's caption can state their grids and seeds. Returns the file's path
        relative to the run's folder (a notebook that shows it shows no path of this machine)."""
        relative = f"figures/{name}.png"
        self.state["figures"][name] = {"path": relative, "caption": caption, "alt": alt or caption}
        if experiments:
            self.state["figures"][name]["experiments"] = list(experiments)
        errors = list(_validator().iter_errors(self.state))
        if errors:
            self.state = copy.deepcopy(self._saved)
            raise RecordError(f"cannot record figure '{name}': {errors[0].message}")
        buffer = io.BytesIO()
        metadata = {
            "Title": caption,
            "Software": "labjournal",
            "Source": os.environ.get(RUN_KEY_ENV, "interactive"),
        }
        fig.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight", metadata=metadata)
        atomic_write_bytes(self.run_dir / relative, buffer.getvalue())
        self._save(f"figure '{name}'")
        return Path(relative)

    def data(self, name: str, source: dict[str, Any]) -> None:
        self.state["data"][name] = source
        self._save(f"data source '{name}'")

    def device(self, device: str) -> None:
        self.state["device"] = device
        self._save("device")


def _plain(cell: Any) -> Any:
    if hasattr(cell, "item"):
        cell = cell.item()
    if isinstance(cell, float) and not math.isfinite(cell):
        return None
    return cell


@cache
def _default() -> Recorder:
    return Recorder()


def reset() -> None:
    """Forget the last run's recorder: the next `record.*` call opens the folder that
    `LABJOURNAL_RUN_DIR` names then (a warm kernel's next run, labjournal.kit.reset)."""
    _default.cache_clear()


def scalar(name: str, value: Any) -> None:
    """Record one number the journal quotes (`{{ metric(...) }}`, tables, claims): a Python, NumPy
    or torch scalar; a non-finite value (a diverged loss) is stored as null. Raises `RecordError`
    for a value that is not a number."""
    _default().scalar(name, value)


def scalars(**values: Any) -> None:
    """Record several numbers at once: `record.scalars(test_accuracy=acc, final_loss=loss)`."""
    _default().scalars(**values)


def series(name: str, values: Any, x: str = "epoch") -> None:
    """Record a sequence of numbers, one per step of `x` (an epoch by default): a loss curve that
    summary notebooks read back with `inputs.series` and draw with `plots.mean_band`."""
    _default().series(name, values, x)


def table(name: str, data: Any, caption: str = "") -> None:
    """Record a table, a pandas DataFrame or a list of dicts (missing and non-finite cells become
    null), that a page places with `{{ run_table(...) }}` and a summary reads with `inputs.table`."""
    _default().table(name, data, caption)


def figure(
    name: str, fig: Any, caption: str, alt: str | None = None, experiments: list[str] | None = None
) -> Path:
    """Save a matplotlib figure as `figures/<name>.png` of the run (the run's key in its PNG
    metadata), for `{{ figure(...) }}`; its caption is completed with the parameters, seeds, data
    and run it came from. `alt` is the text for screen readers (the caption by default); a summary
    notebook names the `experiments` it draws from. Returns the path relative to the run."""
    return _default().figure(name, fig, caption, alt, experiments)


def data(name: str, source: dict[str, Any]) -> None:
    """Record the dataset a run used (called by `kit.data.source`; notebooks need not)."""
    _default().data(name, source)


def device(name: str) -> None:
    """Record the device the run trained on (called by `runtime.setup`; notebooks need not)."""
    _default().device(name)
