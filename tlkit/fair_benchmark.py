"""The recorded fair-protocol benchmark, under the name the notebooks import.

Its home is :mod:`tlkit.experiments.recorded`; this module offers the same
names (and :func:`plot_labels_to_match`, drawn by :mod:`tlkit.plots`), so
``from tlkit import fair_benchmark`` keeps working.
"""

from __future__ import annotations

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
