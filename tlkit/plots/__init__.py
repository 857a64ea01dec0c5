"""Every figure of the kit.

Every function returns a :class:`matplotlib.figure.Figure` and shows nothing
by itself, so a notebook cell that ends with the call shows the figure exactly
once; ``show=True`` shows it as well (for scripts).  All figures share one
style, :mod:`tlkit.plots.style`.

Where each figure lives:

====================================  ==========================================================
:mod:`~.style`                        :data:`STYLE`, :func:`new_figure`, the strategies' labels and colours
:mod:`~.curves`                       :func:`plot_learning_curves`, :func:`plot_accuracy_vs_labels`
:mod:`~.images`                       :func:`show_image_grid`, :func:`show_filters`, :func:`show_activations`
:mod:`~.evaluation`                   augmented and varied samples, predictions, the confusion matrix,
                                      mistakes (formerly ``tlkit.plots_evaluation``)
:mod:`~.steps`                        accuracy against optimizer steps, labels to match
                                      (formerly ``tlkit.plots_steps``)
:mod:`~.negative_transfer`            :func:`plot_gap_heatmap`, :func:`plot_setting`
:mod:`~.layer_transfer`               :func:`plot_layer_transfer`
====================================  ==========================================================

Every public name is available from ``tlkit.plots`` itself.
"""

from __future__ import annotations

from tlkit.plots import curves, evaluation, images, layer_transfer, negative_transfer, steps, style
from tlkit.plots.curves import plot_accuracy_vs_labels, plot_learning_curves
from tlkit.plots.evaluation import (
    confusion_matrix,
    plot_confusion_matrix,
    show_augmented,
    show_misclassified,
    show_predictions,
    show_varied,
)
from tlkit.plots.images import show_activations, show_filters, show_image_grid
from tlkit.plots.layer_transfer import plot_layer_transfer
from tlkit.plots.negative_transfer import plot_gap_heatmap, plot_setting
from tlkit.plots.steps import plot_accuracy_vs_steps, plot_labels_to_match, plot_recorded_labels_to_match
from tlkit.plots.style import STRATEGY_COLORS, STRATEGY_LABELS, STYLE, PlotArgumentError, finish, new_figure, style_context

__all__ = [
    # style
    "PlotArgumentError", "STRATEGY_COLORS", "STRATEGY_LABELS", "STYLE", "finish", "new_figure", "style_context",
    # curves and images
    "plot_accuracy_vs_labels", "plot_learning_curves", "show_activations", "show_filters", "show_image_grid",
    # putting a model to work
    "confusion_matrix", "plot_confusion_matrix", "show_augmented", "show_misclassified", "show_predictions", "show_varied",
    # compute and labels
    "plot_accuracy_vs_steps", "plot_labels_to_match", "plot_recorded_labels_to_match",
    # the experiments' figures
    "plot_gap_heatmap", "plot_layer_transfer", "plot_setting",
    # submodules
    "curves", "evaluation", "images", "layer_transfer", "negative_transfer", "steps", "style",
]
