"""The recording API notebooks use: schema-checked, atomic, PNG figures."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from labjournal.errors import RecordError
from labjournal.kit.record import Recorder  # noqa: E402


def test_records_scalars_series_tables_and_figures(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    recorder.scalar("accuracy", 0.9)
    recorder.scalars(loss=0.25, epochs=3)
    recorder.series("train_loss", [1.0, 0.5, float("nan")])
    recorder.table("errors", pd.DataFrame({"name": ["a", "b"], "error": [1e-16, None]}), caption="Errors")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = recorder.figure("curve", fig, caption="A curve", experiments=["grid"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["scalars"] == {"accuracy": 0.9, "loss": 0.25, "epochs": 3.0}
    assert metrics["series"]["train_loss"] == {"x": "epoch", "values": [1.0, 0.5, None]}  # NaN: diverged
    assert metrics["tables"]["errors"]["rows"] == [["a", 1e-16], ["b", None]]
    assert metrics["figures"]["curve"] == {
        "path": "figures/curve.png",
        "caption": "A curve",
        "alt": "A curve",
        "experiments": ["grid"],
    }
    assert path == Path("figures/curve.png")  # relative: shown in a notebook, it names no machine path
    with Image.open(tmp_path / path) as image:
        image.verify()
        assert image.format == "PNG"
    assert Image.open(tmp_path / path).info.get("Title") == "A curve"


def test_a_second_recorder_continues_the_same_file(tmp_path: Path) -> None:
    Recorder(tmp_path).scalar("a", 1)
    Recorder(tmp_path).scalar("b", 2)
    assert json.loads((tmp_path / "metrics.json").read_text())["scalars"] == {"a": 1.0, "b": 2.0}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.scalar("Bad Name", 1.0), "does not match"),
        (lambda r: r.scalar("accuracy", "high"), "expected a number"),
        (lambda r: r.scalar("flag", True), "expected a number"),
        (lambda r: r.series("curve", [1.0, "x"]), r"series 'curve'\[1\]"),
    ],
)
def test_invalid_values_are_rejected_and_the_file_keeps_its_last_good_state(
    tmp_path: Path, call, message
) -> None:
    recorder = Recorder(tmp_path)
    recorder.scalar("good", 1.0)
    before = (tmp_path / "metrics.json").read_text()
    with pytest.raises(RecordError, match=message):
        call(recorder)
    assert (tmp_path / "metrics.json").read_text() == before
    recorder.scalar("later", 2.0)  # the rejected value did not linger in memory either
    assert "Bad Name" not in (tmp_path / "metrics.json").read_text()
