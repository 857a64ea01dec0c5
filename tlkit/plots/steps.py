"""Accuracy against optimizer steps: the compute side of transfer learning.

A pre-trained base often reaches its accuracy after a few hundred optimizer
steps, where a network trained from scratch is still far below.  The figure
shows one line per strategy and a dot where validation data stopped it.
"""

from __future__ import annotations

from collections.abc import Mapping

from tlkit.experiments.recorded import labels_to_match_curves
from tlkit.plots.style import STRATEGY_COLORS, STRATEGY_LABELS, PlotArgumentError, finish, new_figure, style_context

__all__ = ["STRATEGY_COLORS", "STRATEGY_LABELS", "plot_accuracy_vs_steps", "plot_labels_to_match", "plot_recorded_labels_to_match"]


def _check_panels(panels) -> None:
    if not isinstance(panels, Mapping) or not panels:
        raise PlotArgumentError("plot_accuracy_vs_steps: panels must be a non-empty dict {panel title: {strategy: curve}}")
    for title, lines in panels.items():
        if not isinstance(lines, Mapping) or not lines:
            raise PlotArgumentError(f"plot_accuracy_vs_steps: panel {title!r} must be a non-empty dict {{strategy: curve}}")
        for strategy, curve in lines.items():
            if not curve or not all(isinstance(point, Mapping) and {"steps", "test_accuracy"} <= set(point) for point in curve):
                raise PlotArgumentError(
                    f"plot_accuracy_vs_steps: the curve of {strategy!r} in panel {title!r} must be a non-empty list "
                    "of {'steps': int, 'test_accuracy': float} points"
                )


def plot_accuracy_vs_steps(panels, stopped=None, chance: float | None = None, condition: str = "customer photos",
                           title: str = "Accuracy against training steps", show: bool = False):
    """Plot test accuracy against optimizer steps, one panel per entry of ``panels``.

    Parameters
    ----------
    panels : dict
        ``{panel title: {strategy: [{"steps": int, "test_accuracy": float}, ...]}}``.
        Strategy names of :data:`STRATEGY_LABELS` get readable legend entries.
    stopped : dict, optional
        ``{panel title: {strategy: steps}}``: where validation data stopped each
        strategy, drawn as a dot on its line.
    chance : float, optional
        Accuracy of guessing (``1 / number of classes``), a dotted line.
    condition : str
        The test images' condition, for the y label.
    title : str
        Figure title.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_panels(panels)
    stopped = stopped or {}
    with style_context():
        figure = new_figure(show, figsize=(5.2 * len(panels), 4.6), layout="constrained")
        axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for axis, (panel, lines) in zip(axes, panels.items()):
            for strategy, curve in lines.items():
                steps = [point["steps"] for point in curve]
                accuracies = [100 * point["test_accuracy"] for point in curve]
                line, = axis.plot(steps, accuracies, label=STRATEGY_LABELS.get(strategy, strategy), color=STRATEGY_COLORS.get(strategy))
                if strategy in stopped.get(panel, {}):
                    at = min(range(len(steps)), key=lambda index: abs(steps[index] - stopped[panel][strategy]))
                    axis.plot([steps[at]], [accuracies[at]], "o", color=line.get_color())
            if chance is not None:
                axis.axhline(100 * chance, color="grey", linestyle=":", linewidth=1, label="chance")
            axis.set_title(panel)
            axis.set_xlabel("optimizer steps (batches of 16)")
        axes[0].set_ylabel(f"test accuracy on {condition} (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9)
        figure.suptitle(title + ("; dot: where validation stopped it" if stopped else ""))
    return finish(figure, show)


def plot_labels_to_match(scratch, transfer, matches=None, chance: float | None = None, condition: str = "customer photos",
                         title: str = "How many labels does scratch need?", show: bool = False):
    """Plot scratch's accuracy against labels per class, transfer's accuracy at few labels, and where they meet.

    Parameters
    ----------
    scratch : dict
        ``{labels per class: [accuracy for each seed]}`` of the tuned scratch arm.
    transfer : dict
        ``{labels per class: [accuracy for each seed]}`` of the tuned transfer arm.
    matches : dict, optional
        ``{labels per class of transfer: labels per class scratch needs}`` (``None`` when scratch
        never gets there): a dashed line from each transfer point to that place on the scratch curve.
    chance : float, optional
        Accuracy of guessing, a dotted line.
    condition : str
        The test images' condition, for the y label.
    title : str
        Figure title.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (logarithmic labels-per-class axis), means with one standard deviation over seeds.
    """
    import numpy as np

    for name, points in (("scratch", scratch), ("transfer", transfer)):
        if not isinstance(points, Mapping) or not points or not all(
                isinstance(k, int) and k > 0 and len(values) > 0 for k, values in points.items()):
            raise PlotArgumentError(f"plot_labels_to_match: {name} must be a non-empty dict {{labels per class: [accuracy, ...]}}")
    matches = matches or {}
    with style_context():
        figure = new_figure(show, figsize=(6.5, 4.6), layout="constrained")
        axis = figure.subplots()
        for name, points, label in (("scratch", scratch, "from scratch"),
                                    ("partial", transfer, "transfer (partial or fine-tuned, chosen on validation)")):
            ks = sorted(points)
            means = [100 * float(np.mean(points[k])) for k in ks]
            spreads = [100 * float(np.std(points[k], ddof=1)) if len(points[k]) > 1 else 0.0 for k in ks]
            axis.errorbar(ks, means, yerr=spreads, marker="o", capsize=3, label=label, color=STRATEGY_COLORS[name],
                          linestyle="-" if name == "scratch" else "none")
        if chance is not None:
            axis.axhline(100 * chance, color="grey", linestyle=":", linewidth=1, label="chance")
        bottom, top = axis.get_ylim()
        axis.set_ylim(bottom, top)  # fixed before the guide lines reach down to the axis
        for k, needed in matches.items():
            level = 100 * float(np.mean(transfer[k]))
            end = needed if needed is not None else max(scratch)
            axis.plot([k, end], [level, level], linestyle="--", color="grey", linewidth=1)
            if needed is not None:
                axis.plot([needed, needed], [bottom, level], linestyle="--", color="grey", linewidth=1)
                axis.annotate(f"{k} → {needed:.0f}", (needed, level), textcoords="offset points", xytext=(4, -14), fontsize=9)
            else:
                axis.annotate(f"{k} → not reached", (end, level), textcoords="offset points", xytext=(-70, 4), fontsize=9)
        every_k = sorted(set(scratch) | set(transfer))
        axis.set_xscale("log")
        axis.set_xticks(every_k)
        axis.set_xticklabels([str(k) for k in every_k])
        axis.minorticks_off()
        axis.set_xlabel("labelled images per class")
        axis.set_ylabel(f"test accuracy on {condition} (%)")
        axis.set_title(title)
        axis.legend(loc="lower right", fontsize=9)
    return finish(figure, show)


def plot_recorded_labels_to_match(report: dict, show: bool = False):
    """:func:`plot_labels_to_match` for a recorded fair-protocol report (:func:`tlkit.experiments.recorded.load_results`).

    Draws scratch's accuracy against labels per class, with transfer's points
    and where scratch reaches them.

    Returns
    -------
    matplotlib.figure.Figure
    """
    # imported here so that importing tlkit.plots does not load the experiments (and their data modules)
    scratch, transfer, matches = labels_to_match_curves(report)
    return plot_labels_to_match(scratch, transfer, matches, show=show)
