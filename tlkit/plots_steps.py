"""Deprecated: accuracy against optimizer steps lives in :mod:`tlkit.plots` (:mod:`tlkit.plots.steps`).

Importing this module warns.
"""

from __future__ import annotations

import warnings

from tlkit.plots.steps import plot_accuracy_vs_steps, plot_labels_to_match
from tlkit.plots.style import STRATEGY_COLORS, STRATEGY_LABELS

__all__ = ["STRATEGY_COLORS", "STRATEGY_LABELS", "plot_accuracy_vs_steps", "plot_labels_to_match"]

warnings.warn("tlkit.plots_steps is deprecated; use tlkit.plots", DeprecationWarning, stacklevel=2)
