"""Plot helpers shared by the summary notebooks: one look for every figure of the journal."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 9,
    }
)


def mean_band(ax: plt.Axes, curves: list[list[float | None]], label: str, **style) -> None:
    """Mean over seeds as a line, one standard deviation as a band; NaN (diverged) gaps stay gaps."""
    data = np.array([[np.nan if v is None else v for v in curve] for curve in curves], dtype=float)
    epochs = np.arange(1, data.shape[1] + 1)
    mean = np.nanmean(data, axis=0)
    std = np.nanstd(data, axis=0, ddof=1) if len(data) > 1 else np.zeros_like(mean)
    (line,) = ax.plot(epochs, mean, label=f"{label} (n={len(data)})", **style)
    lower = mean - std if ax.get_yscale() == "linear" else np.clip(mean - std, np.nanmin(data) * 0.5, None)
    ax.fill_between(epochs, lower, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)


def learning_curves(runs: pd.DataFrame, by: list[str]) -> plt.Figure:
    """Loss (top) and accuracy (bottom) per epoch for each grid point in `by`: training solid,
    validation dashed, each the mean over seeds with a one-sd band."""
    from labjournal.kit.inputs import series

    points = runs.groupby(by, sort=True)
    fig, axes = plt.subplots(
        2, points.ngroups, figsize=(2.6 * points.ngroups + 0.6, 4.6), sharey="row", squeeze=False
    )
    for column, (values, group) in enumerate(points):
        values = values if isinstance(values, tuple) else (values,)
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row][column]
            for split, style in (("train", "-"), ("val", "--")):
                curves = [series(d, f"{split}_{metric}") for d in group["run_dir"]]
                mean_band(
                    ax,
                    curves,
                    "training" if split == "train" else "validation",
                    linestyle=style,
                    color="C0" if split == "train" else "C1",
                )
            ax.set_xlabel("epoch" if row else "")
        axes[0][column].set_title(
            ", ".join(f"{name} {value}" for name, value in zip(by, values, strict=True)), fontsize=8
        )
    axes[0][0].set_ylabel("loss")
    axes[1][0].set_ylabel("accuracy")
    axes[1][-1].legend(fontsize=6)
    return fig
