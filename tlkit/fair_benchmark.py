"""Deprecated: the recorded fair-protocol benchmark lives in :mod:`tlkit.experiments.recorded`.

Importing this module warns; its names are those of ``tlkit.experiments.recorded``
(and ``plot_labels_to_match``, now ``tlkit.plots.plot_recorded_labels_to_match``).
"""

from __future__ import annotations

import warnings

from tlkit.experiments.recorded import (
    LABELS_TO_MATCH_RESAMPLES,
    REQUIRED_KEYS,
    RESULTS_FILE,
    gain_lines,
    labels_to_match,
    labels_to_match_curves,
    labels_to_match_line,
    load_results,
    run_at_validated_budget,
    run_panels,
    scratch_by_labels,
    steps_panels,
    validated_protocol,
)
from tlkit.plots.steps import plot_recorded_labels_to_match as plot_labels_to_match

__all__ = [
    "LABELS_TO_MATCH_RESAMPLES", "REQUIRED_KEYS", "RESULTS_FILE", "gain_lines", "labels_to_match", "labels_to_match_curves",
    "labels_to_match_line", "load_results", "plot_labels_to_match", "run_at_validated_budget", "run_panels",
    "scratch_by_labels", "steps_panels", "validated_protocol",
]

warnings.warn("tlkit.fair_benchmark is deprecated; use tlkit.experiments.recorded (figures: tlkit.plots)", DeprecationWarning, stacklevel=2)
