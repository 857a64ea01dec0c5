"""Figures for the notebooks: learning curves, accuracy against labels, images, filters, activations.

Every function returns a :class:`matplotlib.figure.Figure` and shows
nothing by itself, so a notebook cell that ends with the call shows the
figure exactly once. Pass ``show=True`` to call ``plt.show()`` as well (in a
script, for example). All figures share one small style (:data:`STYLE`).
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Mapping

import numpy as np

from tlkit.errors import InputShapeError, TlkitError, UnknownNameError
from tlkit.model_structure import declared_inputs

__all__ = [
    "STYLE",
    "new_figure",
    "PlotArgumentError",
    "plot_learning_curves",
    "plot_accuracy_vs_labels",
    "show_image_grid",
    "show_filters",
    "show_activations",
]

#: Matplotlib settings used by every figure of this module.
STYLE = {
    "figure.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}
_FINE_TUNE_COLOUR = "#7f7f7f"


class PlotArgumentError(TlkitError, ValueError):
    """Data handed to a plotting function is not in the documented format."""


def _notebook_figure_class():
    """The :class:`NotebookFigure` class, built on first use so importing tlkit stays light."""
    global _NOTEBOOK_FIGURE_CLASS
    if _NOTEBOOK_FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            """A free-standing Figure that Jupyter displays as a PNG image.

            IPython shows a plain :class:`matplotlib.figure.Figure` as the text
            ``<Figure size ... with N Axes>`` unless pyplot's inline backend has
            been switched on. This subclass renders itself, so a cell that ends
            with a tlkit plotting call shows the picture in JupyterLab, in
            nbclient and in a saved notebook alike.
            """

            def __repr__(self):
                # a plain Figure says "<Figure size 640x480 with 1 Axes>", which in a saved
                # notebook reads like a plot that never rendered; this one says it is a picture
                width, height = (round(value) for value in self.get_size_inches() * self.dpi)
                return f"<figure {width}x{height} with {len(self.axes)} Axes, shown as a PNG image>"

            def _repr_png_(self):
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
                return buffer.getvalue()

        _NOTEBOOK_FIGURE_CLASS = NotebookFigure
    return _NOTEBOOK_FIGURE_CLASS


_NOTEBOOK_FIGURE_CLASS = None


def new_figure(show: bool = False, **figure_arguments):
    """A figure that notebooks display as an image.

    Parameters
    ----------
    show : bool, default False
        Make the figure pyplot-managed so that ``plt.show()`` draws it (for
        scripts). By default the figure is free-standing: pyplot does not
        keep it, so the notebook shows it exactly once and loops do not pile
        figures up.
    **figure_arguments
        Passed on to :class:`matplotlib.figure.Figure` (``figsize``,
        ``layout``...).

    Returns
    -------
    matplotlib.figure.Figure
        An instance of a Figure subclass with a ``_repr_png_`` method, which
        Jupyter uses to show the figure as a PNG image.
    """
    figure_class = _notebook_figure_class()
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(FigureClass=figure_class, **figure_arguments)
    return figure_class(**figure_arguments)


_new_figure = new_figure


def _finish(figure, show: bool):
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return figure


def _style():
    import matplotlib

    return matplotlib.rc_context(STYLE)


# ---------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------


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
    with _style():
        figure = _new_figure(show, figsize=(5 * len(present), 3.6), layout="constrained")
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
    return _finish(figure, show)


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
    with _style():
        figure = _new_figure(show, figsize=(6.5, 4.6), layout="constrained")
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
    return _finish(figure, show)


def _plot_accuracy_at_one_label_count(checked: dict, labels: int, chance, title: str, spread_text: str, show: bool):
    """One row per strategy: each seed's accuracy as a dot and the mean as a bar.

    A line plot over a single x value would show isolated points with
    zero-width error bars; this shows the same numbers readably.
    """
    strategies = list(checked)
    with _style():
        figure = _new_figure(show, figsize=(7.5, 0.6 * len(strategies) + 1.6), layout="constrained")
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
    return _finish(figure, show)


# ---------------------------------------------------------------------------
# Images, filters, activations
# ---------------------------------------------------------------------------


def _displayable(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Drop a single channel axis; return the image and the colour map to use."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image, "gray"
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        if image.dtype.kind == "f" and image.max(initial=0) > 1:
            image = image / 255.0
        return image, None
    raise InputShapeError(f"cannot draw an image of shape {image.shape}; expected (h, w), (h, w, 1) or (h, w, 3)")


def show_image_grid(images, labels, class_names, per_class: int = 5, seed: int = 0, show: bool = False):
    """Show a few randomly chosen example images of every class, one row per class.

    Parameters
    ----------
    images : numpy.ndarray
        Images of shape (n, height, width) or (n, height, width, 1 or 3).
    labels : numpy.ndarray
        Integer class of each image, shape (n,).
    class_names : sequence of str
        Name of each class; ``class_names[c]`` labels row ``c``.
    per_class : int, default 5
        Examples per row. A class with fewer images leaves the rest empty.
    seed : int, default 0
        Seed of the random choice, so the same call shows the same images.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(class_names)`` rows times ``per_class`` columns of axes.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim not in (3, 4) or labels.ndim != 1 or len(images) != len(labels):
        raise InputShapeError(
            f"show_image_grid: expected images (n, h, w[, c]) and labels (n,), "
            f"got {images.shape} and {labels.shape}"
        )
    if not isinstance(per_class, numbers.Integral) or per_class < 1:
        raise PlotArgumentError(f"show_image_grid: per_class must be a positive int, got {per_class!r}")
    class_names = list(class_names)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise InputShapeError(
            f"show_image_grid: labels run from {labels.min()} to {labels.max()} but there are "
            f"{len(class_names)} class names"
        )
    generator = np.random.default_rng(seed)
    with _style():
        figure = _new_figure(
            show, figsize=(1.3 * per_class + 1.2, 1.3 * len(class_names)), layout="constrained"
        )
        grid = figure.subplots(len(class_names), per_class, squeeze=False)
        for row, name in enumerate(class_names):
            members = np.flatnonzero(labels == row)
            chosen = generator.choice(members, size=min(per_class, members.size), replace=False)
            for column, ax in enumerate(grid[row]):
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if column < chosen.size:
                    picture, colour_map = _displayable(images[chosen[column]])
                    ax.imshow(picture, cmap=colour_map)
            grid[row][0].set_ylabel(name, rotation=0, ha="right", va="center")
        figure.suptitle(f"{per_class} random examples per class (seed {seed})")
    return _finish(figure, show)


def show_filters(conv_layer, max_filters: int = 32, columns: int = 8, show: bool = False):
    """Show the kernels of a (first) convolution layer as small images.

    Parameters
    ----------
    conv_layer : keras.layers.Conv2D
        A built convolution layer, e.g. ``model.get_layer("conv1")``.
        Each filter is drawn from its kernel: as a colour image when the
        layer reads 3 channels, otherwise averaged over input channels.
    max_filters : int, default 32
        Draw at most this many filters (the first ones).
    columns : int, default 8
        Filters per row.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per drawn filter, light = positive weights, dark = negative.
    """
    import keras

    if not isinstance(conv_layer, keras.layers.Conv2D):
        raise PlotArgumentError(
            f"show_filters: expected a Conv2D layer, got {type(conv_layer).__name__}"
            + (f" {conv_layer.name!r}" if hasattr(conv_layer, "name") else "")
        )
    if not conv_layer.built:
        raise PlotArgumentError(f"show_filters: layer {conv_layer.name!r} is not built yet, so it has no kernel")
    kernel = np.asarray(conv_layer.kernel.numpy())  # (height, width, in channels, filters)
    count = min(int(max_filters), kernel.shape[-1])
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    with _style():
        figure = _new_figure(show, figsize=(1.1 * columns, 1.1 * rows + 0.5), layout="constrained")
        grid = figure.subplots(rows, columns, squeeze=False)
        for position, ax in enumerate(grid.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if position >= count:
                ax.set_visible(False)
                continue
            weights = kernel[..., position]
            if weights.shape[-1] == 3:
                low, high = weights.min(), weights.max()
                ax.imshow((weights - low) / (high - low or 1.0))
            else:
                ax.imshow(weights.mean(axis=-1), cmap="gray")
            ax.set_title(str(position), fontsize=8)
        figure.suptitle(f"Filters of {conv_layer.name!r} ({count} of {kernel.shape[-1]})")
    return _finish(figure, show)


def show_activations(model, image, layer_names, max_channels: int = 8, show: bool = False):
    """Show what some layers of a model output for one image (their feature maps).

    Parameters
    ----------
    model : keras.Model
        A built functional or Sequential model (for a base nested inside a
        bigger model, pass the base itself).
    image : numpy.ndarray
        One image, shaped like one input of the model, with or without the
        batch axis of size 1.
    layer_names : str or sequence of str
        Layers of ``model`` whose outputs are drawn, one row each.
    max_channels : int, default 8
        Feature maps (channels) drawn per layer; a Dense layer's output is
        drawn as one strip of its values instead.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(layer_names)`` rows of axes, as many columns as the widest
        layer has channels, up to ``max_channels``.
    """
    import keras

    if isinstance(layer_names, str):
        layer_names = [layer_names]
    layer_names = list(layer_names)
    if not layer_names:
        raise PlotArgumentError("show_activations: give at least one layer name")
    known = [layer.name for layer in model.layers]
    unknown = [name for name in layer_names if name not in known]
    if unknown:
        raise UnknownNameError(
            f"show_activations: model {model.name!r} has no layer named "
            f"{', '.join(map(repr, unknown))}; its layers are: {', '.join(map(repr, known))}"
        )
    inputs = declared_inputs(model)
    if not inputs:
        raise PlotArgumentError(
            f"show_activations: model {model.name!r} has no defined input; build it with a keras.Input"
        )
    expected = tuple(inputs[0].shape[1:])
    batch = np.asarray(image)
    if batch.shape == expected:
        batch = batch[None]
    if batch.shape[1:] != expected or batch.shape[0] != 1:
        raise InputShapeError(
            f"show_activations: model {model.name!r} expects one image of shape {expected}, got {np.shape(image)}"
        )
    probe = keras.Model(inputs[0], [model.get_layer(name).output for name in layer_names])
    outputs = probe(batch, training=False)
    if len(layer_names) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    widest = max(np.shape(output)[-1] if len(np.shape(output)) == 4 else 1 for output in outputs)
    max_channels = max(1, min(int(max_channels), widest))
    with _style():
        figure = _new_figure(
            show, figsize=(1.3 * max_channels + 1.5, 1.5 * len(layer_names) + 0.5), layout="constrained"
        )
        grid = figure.subplots(len(layer_names), max_channels, squeeze=False)
        for row, (name, output) in enumerate(zip(layer_names, outputs)):
            values = np.asarray(output)[0]
            for ax in grid[row]:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            if values.ndim == 3:
                for channel, ax in enumerate(grid[row]):
                    if channel < values.shape[-1]:
                        ax.imshow(values[..., channel], cmap="viridis")
                    else:
                        ax.set_visible(False)
                grid[row][0].set_ylabel(f"{name}\n{values.shape[-1]} maps", rotation=0, ha="right", va="center")
            else:
                flat = values.reshape(1, -1)
                strip = grid[row][0]
                strip.imshow(flat, cmap="viridis", aspect="auto")
                strip.set_ylabel(f"{name}\n{flat.shape[1]} values", rotation=0, ha="right", va="center")
                for ax in grid[row][1:]:
                    ax.set_visible(False)
        figure.suptitle("Layer outputs for one image")
    return _finish(figure, show)
