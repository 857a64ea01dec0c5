"""Deprecated: the figures for putting a model to work live in :mod:`tlkit.plots` (:mod:`tlkit.plots.evaluation`).

Importing this module warns.
"""

from __future__ import annotations

import warnings

from tlkit.plots.evaluation import (
    confusion_matrix,
    plot_confusion_matrix,
    show_augmented,
    show_misclassified,
    show_predictions,
    show_varied,
)

__all__ = ["confusion_matrix", "plot_confusion_matrix", "show_augmented", "show_misclassified", "show_predictions", "show_varied"]

warnings.warn("tlkit.plots_evaluation is deprecated; use tlkit.plots", DeprecationWarning, stacklevel=2)
