"""The results index as templates and pandas see it: aggregates over seeds, lookups that fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import index_row, results_index

from labjournal.errors import FailedRunsError, ResultLookupError
from labjournal.results.lookup import Aggregate, Results, load_index


def _row(lr: float, batch: int, seed: int, accuracy: float | None, status: str = "ok") -> dict:
    return index_row(
        "lab01",
        "grid",
        {"lr": lr, "batch_size": batch},
        seed,
        {"accuracy": accuracy, "epochs": 3.0},
        notebook="logreg",
        status=status,
        data=["Fashion-MNIST sample"],
    )


@pytest.fixture
def index() -> dict:
    rows = [_row(lr, b, s, 0.8 + lr + 0.01 * s) for lr in (0.1, 0.01) for b in (16, 64) for s in (0, 1, 2)]
    return results_index(rows, "default")


def test_metric_aggregates_over_seeds(index: dict, tmp_path: Path) -> None:
    results = Results(index, tmp_path)
    agg = results.metric("lab01", "grid", "accuracy", lr=0.1, batch_size=16)
    assert agg.n == 3 and agg.values == pytest.approx((0.9, 0.91, 0.92))
    assert agg.mean == pytest.approx(0.91) and agg.std == pytest.approx(0.01)


def test_single_value_and_no_value() -> None:
    assert Aggregate("m", (2.0,)).std == 0.0
    assert Aggregate("m", ()).n == 0


def test_null_values_are_left_out_of_the_aggregate(index: dict, tmp_path: Path) -> None:
    index["runs"][0]["metrics"]["accuracy"] = None  # e.g. a threshold never reached
    agg = Results(index, tmp_path).metric("lab01", "grid", "accuracy", lr=0.1, batch_size=16)
    assert agg.n == 2


def test_partial_grid_point_is_ambiguous(index: dict, tmp_path: Path) -> None:
    with pytest.raises(ResultLookupError, match="lr=0.1 matches 2 grid points; also give batch_size"):
        Results(index, tmp_path).metric("lab01", "grid", "accuracy", lr=0.1)


def test_unusable_runs_are_not_silently_averaged(index: dict, tmp_path: Path) -> None:
    index["runs"][4]["status"] = "failed"
    index["runs"][4]["run_dir"] = "failed/lab01/logreg/abc"
    with pytest.raises(
        FailedRunsError, match="1 of 12 runs failed \\(see .*/failed/lab01/logreg/abc\\)"
    ) as caught:
        Results(index, tmp_path).metric("lab01", "grid", "accuracy", lr=0.1, batch_size=16)
    assert caught.value.lab == "lab01" and caught.value.where.endswith("failed/lab01/logreg/abc")
    index["runs"][4]["status"] = "missing"
    with pytest.raises(ResultLookupError, match="1 of 12 runs are not usable \\(missing\\)"):
        Results(index, tmp_path).metric("lab01", "grid", "accuracy", lr=0.1, batch_size=16)


def test_unknown_experiment_lists_the_known_ones(index: dict, tmp_path: Path) -> None:
    with pytest.raises(
        ResultLookupError, match="no experiment 'lab01/grd' in the results \\(lab lab01 has: grid\\)"
    ):
        Results(index, tmp_path).metric("lab01", "grd", "accuracy")


def test_table_has_one_row_per_grid_point(index: dict, tmp_path: Path) -> None:
    frame = Results(index, tmp_path).table("lab01", "grid", ["accuracy"])
    assert list(frame.columns) == ["batch_size", "lr", "accuracy"]
    assert len(frame) == 4
    assert frame.iloc[0]["accuracy"].mean == pytest.approx(0.91)


def test_load_index_gives_params_and_metrics_columns(index: dict, tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text(json.dumps(index))
    frame = load_index(path)
    assert len(frame) == 12
    assert {"params.lr", "params.batch_size", "metrics.accuracy", "seed", "status"} <= set(frame.columns)
    assert frame.groupby("params.lr")["metrics.accuracy"].mean().to_dict() == pytest.approx(
        {0.01: 0.82, 0.1: 0.91}
    )


def test_seeds_without_a_value_are_counted_not_hidden(index: dict, tmp_path: Path) -> None:
    from labjournal.render.formatting import format_aggregate

    index["runs"][0]["metrics"]["accuracy"] = None
    agg = Results(index, tmp_path).metric("lab01", "grid", "accuracy", lr=0.1, batch_size=16)
    assert (agg.n, agg.runs, agg.missing) == (2, 3, 1)
    assert format_aggregate(agg, 3) == "0.915 ± 0.007 (n = 2 of 3)"
    assert format_aggregate(agg, 3, show_n=False) == "0.915 ± 0.007 (2 of 3)"
    assert format_aggregate(Aggregate("v", (0.00025, 0.00027)), 3) == "0.00026 ± 1.4e-05 (n = 2)"


def test_a_corrupt_index_is_a_clear_error(tmp_path: Path) -> None:
    from labjournal.errors import CorruptResultsError

    (tmp_path / "index.json").write_text('{"runs": [{"lab": "lab01", ')
    with pytest.raises(
        CorruptResultsError, match=r"index.json is corrupt \(line 1, column 28.*labjournal run"
    ):
        Results.load(tmp_path)
    with pytest.raises(CorruptResultsError):
        load_index(tmp_path / "index.json")


def _fold_row(fold: int, dropout: float, accuracy: float, logreg: float) -> dict:
    return index_row(
        "lab03",
        "cv",
        {"fold": fold, "dropout": dropout},
        0,
        {"accuracy": accuracy, "logreg_accuracy": logreg},
        notebook="network",
        data=["shelter"],
    )


@pytest.fixture
def folds() -> Results:
    # Two dropout rates, three folds; the baseline depends on the fold (the split) only.
    rows = [
        _fold_row(fold, dropout, 0.80 + 0.01 * fold + dropout / 10, 0.70 + 0.02 * fold)
        for fold in range(3)
        for dropout in (0.0, 0.3)
    ]
    return Results(results_index(rows, "default"), Path("."))


def test_folds_are_aggregated_like_seeds(folds: Results) -> None:
    agg = folds.metric("lab03", "cv", "accuracy", over=["fold"], dropout=0.3)
    assert agg.n == 3 and agg.mean == pytest.approx(0.84)
    with pytest.raises(ResultLookupError, match="matches 3 grid points; also give fold"):
        folds.metric("lab03", "cv", "accuracy", dropout=0.3)
    frame = folds.table("lab03", "cv", ["accuracy"], by=["dropout"], over=["fold"])
    assert frame["dropout"].tolist() == [0.0, 0.3]
    assert [a.n for a in frame["accuracy"]] == [3, 3]
    with pytest.raises(ResultLookupError, match="mixes 3 grid points; add fold to by="):
        folds.table("lab03", "cv", ["accuracy"], by=["dropout"])


def test_a_baseline_recorded_by_every_run_of_a_split_counts_once(folds: Results) -> None:
    frame = folds.table("lab03", "cv", ["logreg_accuracy"], by=[], over=["fold"], collapse=True)
    baseline = frame.iloc[0]["logreg_accuracy"]
    assert baseline.n == 3  # three folds, not six runs
    assert baseline.values == pytest.approx((0.70, 0.72, 0.74))
