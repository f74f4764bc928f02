"""Plot helpers shared by the summary notebooks: one look for every figure of the journal."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

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
