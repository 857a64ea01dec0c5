"""The negative-transfer grid's figures: the gap heatmap and one setting's bar chart.

Both take a :class:`tlkit.negative_transfer.GapGrid`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tlkit.plots.style import new_figure

__all__ = ["plot_gap_heatmap", "plot_setting"]


def _displayed(figure, show: bool):
    """Return ``figure``, after showing it with IPython's ``display`` when ``show`` is true."""
    if show:
        from IPython.display import display  # IPython is needed only to show

        display(figure)
    return figure


def plot_gap_heatmap(grid, strategies: Sequence[str] = ("frozen", "partial"), show: bool = False):
    """One heatmap per strategy: mean NTG (red = negative transfer) with its 95% interval.

    The interval is printed as ``[low, high]``, clipped to the range a gap can
    take (from ``-1`` to ``+1``): a t-interval from few seeds can reach past it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    strategies = [s for s in strategies if s in grid.strategies]
    figure = new_figure(figsize=(4.6 * len(strategies), 3.6))
    axes = np.atleast_1d(figure.subplots(1, len(strategies)))
    tables = [grid.gap_table(s) for s in strategies]
    limit = max(0.05, float(np.nanmax(np.abs(np.concatenate([t.ravel() for t in tables])))))
    for axis, strategy, table in zip(axes, strategies, tables):
        image = axis.imshow(table, cmap="RdBu_r", vmin=-limit, vmax=limit, origin="lower", aspect="auto")
        for row, epsilon in enumerate(grid.corruptions):
            for column, k in enumerate(grid.labels_per_class):
                if np.isnan(table[row, column]):
                    continue
                estimate = grid.gap(strategy, epsilon, k)
                # white text on the dark ends of the colour map, black on the pale middle
                darkness = abs(table[row, column]) / limit
                low, high = max(estimate.low, -1.0), min(estimate.high, 1.0)
                axis.text(column, row, f"{estimate.mean:+.3f}\n[{low:+.2f}, {high:+.2f}]",
                          ha="center", va="center", fontsize=8,
                          color="white" if darkness > 0.55 else "black")
        axis.set_xticks(range(len(grid.labels_per_class)), [str(k) for k in grid.labels_per_class])
        axis.set_yticks(range(len(grid.corruptions)), [f"{e:g}" for e in grid.corruptions])
        axis.set(xlabel="labels per target class, k", ylabel="source labels shuffled, ε",
                 title=f"NTG, strategy '{strategy}'")
    figure.colorbar(image, ax=list(axes), label="NTG (> 0: negative transfer)")
    return _displayed(figure, show)


def plot_setting(grid, epsilon: float, k: int, show: bool = False):
    """Bar chart of test accuracy (mean and seeds) for scratch and each strategy at one setting."""
    names = ["scratch"] + [s for s in grid.strategies if k in grid.transfer["test"][s].get(epsilon, {})]
    figure = new_figure(figsize=(6, 3.4))
    axis = figure.subplots()
    for position, name in enumerate(names):
        values = grid.accuracies(name, epsilon, k)
        axis.bar(position, np.mean(values), color="#7f7f7f" if name == "scratch" else "#1f77b4", alpha=0.7)
        axis.plot([position] * len(values), values, "k.", markersize=6)
        if name != "scratch":
            gap = grid.gap(name, epsilon, k)
            axis.text(position, np.mean(values) + 0.02, f"NTG {gap.mean:+.3f}", ha="center", fontsize=8)
    axis.set_xticks(range(len(names)), names)
    axis.set(ylim=(0, 1.05), ylabel="target test accuracy", title=f"ε = {epsilon:g}, k = {k} labels per class")
    return _displayed(figure, show)
