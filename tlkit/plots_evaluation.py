"""Figures for putting a model to work, under the name the notebooks import.

Their home is :mod:`tlkit.plots.evaluation`; ``tlkit.plots`` offers them too.
"""

from __future__ import annotations

from tlkit.plots.evaluation import (
    confusion_matrix,
    plot_confusion_matrix,
    show_augmented,
    show_misclassified,
    show_predictions,
    show_varied,
)

__all__ = ["confusion_matrix", "plot_confusion_matrix", "show_augmented", "show_misclassified", "show_predictions", "show_varied"]
