"""Learning curves and accuracy against the number of labels."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from tlkit.errors import UnknownNameError
from tlkit.plots.style import PlotArgumentError, finish, new_figure, style_context

__all__ = ["plot_accuracy_vs_labels", "plot_learning_curves"]

_FINE_TUNE_COLOUR = "#7f7f7f"


def _history_dict(history) -> dict:
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        return dict(history.history)
    if isinstance(history, Mapping):
        return dict(history)
    raise PlotArgumentError(
        f"plot_learning_curves: history must be a keras History, a dict of lists or "
        f"merge_histories(...), got {type(history).__name__}"
    )


def plot_learning_curves(
    history,
    fine_tune_start: int | None = None,
    metrics=("accuracy", "loss"),
    title: str | None = None,
    show: bool = False,
):
    """Plot training (and validation) curves, one panel per metric.

    Parameters
    ----------
    history : keras.callbacks.History or dict
        What ``fit`` returned, a dict of lists (``{"loss": [...], ...}``), or
        the result of :func:`tlkit.training.merge_histories`.
    fine_tune_start : int, optional
        Number of epochs before fine-tuning began (the list index where
        phase 2 starts). A dashed vertical line labelled "fine-tuning
        starts" is drawn between that epoch and the next. Taken from the
        ``"fine_tune_start"`` key of a merged history when not given.
    metrics : sequence of str, default ("accuracy", "loss")
        The metrics to draw; each panel shows ``metric`` and, if recorded,
        ``val_<metric>``. Metrics the history does not hold are skipped, but
        at least one must be present.
    title : str, optional
        A title over all panels.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per metric drawn. Each has a "training" line, a
        "validation" line when validation data was used, and the vertical
        fine-tuning line when there is one. Epochs on the x axis are counted
        from 1, as Keras prints them.
    """
    data = _history_dict(history)
    if fine_tune_start is None:
        fine_tune_start = data.get("fine_tune_start")
    if isinstance(metrics, str):
        metrics = (metrics,)
    present = [m for m in metrics if m in data]
    available = sorted(k for k in data if k not in ("epoch", "fine_tune_start") and not k.startswith("val_"))
    if not present:
        raise UnknownNameError(
            f"plot_learning_curves: the history holds none of {', '.join(map(repr, metrics))}; "
            f"it holds: {', '.join(map(repr, available))}"
        )
    count = len(data[present[0]])
    epochs = list(data.get("epoch") or range(1, count + 1))
    if fine_tune_start is not None and (
        not isinstance(fine_tune_start, numbers.Integral) or not 0 < fine_tune_start < count
    ):
        raise PlotArgumentError(
            f"plot_learning_curves: fine_tune_start must be an int between 1 and {count - 1} "
            f"(the number of epochs before fine-tuning), got {fine_tune_start!r}"
        )
    with style_context():
        figure = new_figure(show, figsize=(5 * len(present), 3.6), layout="constrained")
        axes = figure.subplots(1, len(present), squeeze=False)[0]
        for ax, metric in zip(axes, present):
            ax.plot(epochs, data[metric], marker="o", markersize=3, label="training")
            if f"val_{metric}" in data:
                ax.plot(epochs, data[f"val_{metric}"], marker="o", markersize=3, label="validation")
            if fine_tune_start is not None:
                boundary = (epochs[fine_tune_start - 1] + epochs[fine_tune_start]) / 2
                ax.axvline(boundary, color=_FINE_TUNE_COLOUR, linestyle="--", label="fine-tuning starts")
            readable = metric.replace("_", " ")
            ax.set_title(readable.capitalize())
            ax.set_xlabel("epoch")
            ax.set_ylabel(readable)
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend()
        if title:
            figure.suptitle(title)
    return finish(figure, show)


# ---------------------------------------------------------------------------
# Accuracy against the number of labels
# ---------------------------------------------------------------------------


def _check_results(results) -> dict:
    if not isinstance(results, Mapping) or not results:
        raise PlotArgumentError(
            "plot_accuracy_vs_labels: results must be a non-empty dict "
            "{strategy: {labels_per_class: [accuracy, ...]}}"
        )
    checked = {}
    for strategy, by_labels in results.items():
        if not isinstance(by_labels, Mapping) or not by_labels:
            raise PlotArgumentError(
                f"plot_accuracy_vs_labels: results[{strategy!r}] must be a non-empty dict "
                f"{{labels_per_class: [accuracy, ...]}}, got {type(by_labels).__name__}"
            )
        points = {}
        for labels, accuracies in by_labels.items():
            if not isinstance(labels, numbers.Integral) or isinstance(labels, bool) or labels < 1:
                raise PlotArgumentError(
                    f"plot_accuracy_vs_labels: results[{strategy!r}] has key {labels!r}; "
                    "keys are numbers of labels per class (positive ints)"
                )
            values = np.atleast_1d(np.asarray(accuracies, dtype=float))
            if values.ndim != 1 or values.size == 0 or np.any((values < 0) | (values > 1)):
                raise PlotArgumentError(
                    f"plot_accuracy_vs_labels: results[{strategy!r}][{labels}] must be a list of "
                    f"accuracies between 0 and 1 (one per seed), got {accuracies!r}"
                )
            points[int(labels)] = values
        checked[str(strategy)] = dict(sorted(points.items()))
    return checked


def plot_accuracy_vs_labels(
    results,
    chance: float | None = None,
    log_x: bool | None = None,
    title: str = "Test accuracy against labelled examples",
    show: bool = False,
):
    """Plot accuracy against the number of labels per class, one line per strategy.

    Parameters
    ----------
    results : dict
        ``{strategy: {labels_per_class: [accuracy, accuracy, ...]}}``: for
        each strategy name (``"scratch"``, ``"frozen base"``, ...) a dict
        from the number of labelled examples per class (a positive int) to
        the test accuracies (0 to 1) of the runs with different seeds, e.g.
        ``{"scratch": {5: [0.81, 0.84], 50: [0.92, 0.93]}}``.
    chance : float, optional
        Draw a dotted horizontal line at this accuracy (for example
        ``1 / num_classes``) labelled "chance".
    log_x : bool, optional
        Logarithmic x axis; by default used when the largest number of
        labels is at least 10 times the smallest.
    title : str
        Title of the axes.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one error-bar line per strategy (in ``ax.containers``)
        at the mean accuracy, with bars of one standard deviation over seeds
        (sample standard deviation; 0 when there is a single seed).
    """
    checked = _check_results(results)
    all_labels = sorted({k for points in checked.values() for k in points})
    seed_counts = {len(values) for points in checked.values() for values in points.values()}
    spread_text = "one seed" if seed_counts == {1} else "mean ± std over seeds"
    if len(all_labels) == 1:
        return _plot_accuracy_at_one_label_count(checked, all_labels[0], chance, title, spread_text, show)
    if log_x is None:
        log_x = all_labels[-1] >= 10 * all_labels[0]
    with style_context():
        figure = new_figure(show, figsize=(6.5, 4.6), layout="constrained")
        ax = figure.subplots()
        for strategy, points in checked.items():
            labels = list(points)
            means = [float(np.mean(v)) for v in points.values()]
            spreads = [float(np.std(v, ddof=1)) if v.size > 1 else 0.0 for v in points.values()]
            ax.errorbar(labels, means, yerr=spreads, marker="o", capsize=3, label=strategy)
        if chance is not None:
            ax.axhline(chance, color=_FINE_TUNE_COLOUR, linestyle=":", label="chance")
        if log_x:
            ax.set_xscale("log")
        ax.set_xticks(all_labels)
        ax.set_xticklabels([str(k) for k in all_labels])
        ax.minorticks_off()
        ax.set_xlabel("labelled examples per class")
        ax.set_ylabel(f"test accuracy ({spread_text})")
        ax.set_title(title)
        # below the axes, so that it never hides a curve and long names keep the plot wide
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=9)
    return finish(figure, show)


def _plot_accuracy_at_one_label_count(checked: dict, labels: int, chance, title: str, spread_text: str, show: bool):
    """One row per strategy: each seed's accuracy as a dot and the mean as a bar.

    A line plot over a single x value would show isolated points with
    zero-width error bars; this shows the same numbers readably.
    """
    strategies = list(checked)
    with style_context():
        figure = new_figure(show, figsize=(7.5, 0.6 * len(strategies) + 1.6), layout="constrained")
        ax = figure.subplots()
        for row, strategy in enumerate(strategies):
            values = checked[strategy][labels]
            ax.barh(row, float(np.mean(values)), color=f"C{row}", alpha=0.35, height=0.6)
            ax.plot(values, [row] * len(values), "o", color=f"C{row}", markersize=6)
            ax.text(float(np.mean(values)) + 0.01, row, f"{float(np.mean(values)):.3f}", va="center", fontsize=9)
        if chance is not None:
            ax.axvline(chance, color=_FINE_TUNE_COLOUR, linestyle=":", label="chance")
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_yticks(range(len(strategies)), strategies)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.08)
        ax.set_xlabel(f"test accuracy ({spread_text}; bar = mean, dots = seeds)")
        ax.set_title(f"{title}\n{labels} labelled examples per class")
    return finish(figure, show)
