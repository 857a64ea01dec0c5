"""Accuracy against optimizer steps, under the name the notebooks import.

Its home is :mod:`tlkit.plots.steps` (labels and colours in :mod:`tlkit.plots.style`);
``tlkit.plots`` offers the same names.
"""

from __future__ import annotations

from tlkit.plots.steps import plot_accuracy_vs_steps, plot_labels_to_match
from tlkit.plots.style import STRATEGY_COLORS, STRATEGY_LABELS

__all__ = ["STRATEGY_COLORS", "STRATEGY_LABELS", "plot_accuracy_vs_steps", "plot_labels_to_match"]
