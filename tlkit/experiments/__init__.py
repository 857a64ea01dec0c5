"""Transfer experiments: train target models by each strategy and compare them.

Where each concept lives:

=============================  ===========================================================
:mod:`~.strategies`            the strategy names and what each one freezes (:func:`freeze_for`)
:mod:`~.protocol`              the fair protocol: :class:`FairProtocol`, :func:`fair_comparison`,
                               :func:`fair_summary`, :func:`tune_strategy`, :func:`tune_on_arrays`
:mod:`~.validation`            labelled examples with their validation split: :func:`few_shot_with_validation`
                               (the carve-out itself is :func:`tlkit.data.validation_split`)
:mod:`~.cached_inputs`         training frozen and partial arms on cached inputs: :class:`CachedBase`
:mod:`~.statistics`            the paired confidence interval: :func:`paired_interval`, read by :func:`read_interval`
:mod:`~.recorded`              the recorded fair-protocol benchmark and runs at its validated budget
                               (formerly ``tlkit.fair_benchmark``, which now warns)
:mod:`~.fixed_budget`          the first, fixed-budget experiments (:class:`TrainingBudget`,
                               :func:`train_on_target`, :func:`transfer_grid`), kept for their record
=============================  ===========================================================

Every public name is available from ``tlkit.experiments`` itself, e.g.
``experiments.fair_comparison``. Measuring a model is :mod:`tlkit.evaluation`'s
(``evaluation.accuracy``); ``experiments.accuracy`` warns.
"""

from __future__ import annotations

import warnings

from tlkit.experiments import cached_inputs, fixed_budget, grid, protocol, recorded, statistics, strategies, validation
from tlkit.experiments.cached_inputs import CACHED_STRATEGIES, CachedBase
from tlkit.experiments.fixed_budget import HEAD_OUTPUT_NAME, TrainingBudget, build_target_model, summarise, train_on_target, transfer_grid
from tlkit.experiments.grid import grid_axes, with_progress
from tlkit.experiments.protocol import (
    CURVE_EVERY,
    TEST_CONDITIONS,
    FairProtocol,
    best_transfer_by_validation,
    build_fair_model,
    fair_comparison,
    fair_summary,
    in_condition,
    tune_on_arrays,
    tune_strategy,
)
from tlkit.experiments.statistics import VERDICT_MARGIN_POINTS, paired_interval, read_interval
from tlkit.experiments.strategies import (
    FAIR_STRATEGIES,
    PARTIAL_TRAINABLE,
    RANDOM_WEIGHT_STRATEGIES,
    STRATEGIES,
    TRANSFER_STRATEGIES,
    check_strategies,
    freeze_for,
)
from tlkit.experiments.validation import few_shot_with_validation

__all__ = [
    # strategies
    "FAIR_STRATEGIES", "PARTIAL_TRAINABLE", "RANDOM_WEIGHT_STRATEGIES", "STRATEGIES", "TRANSFER_STRATEGIES",
    "check_strategies", "freeze_for",
    # the fair protocol
    "CURVE_EVERY", "FairProtocol", "TEST_CONDITIONS", "best_transfer_by_validation", "build_fair_model",
    "fair_comparison", "fair_summary", "in_condition", "tune_on_arrays", "tune_strategy",
    # cached inputs, validation carve-out, statistics, grid helpers
    "CACHED_STRATEGIES", "CachedBase", "few_shot_with_validation", "VERDICT_MARGIN_POINTS", "paired_interval", "read_interval",
    "grid_axes", "with_progress",
    # the fixed-budget experiments
    "HEAD_OUTPUT_NAME", "TrainingBudget", "build_target_model", "summarise", "train_on_target", "transfer_grid",
    # submodules
    "cached_inputs", "fixed_budget", "grid", "protocol", "recorded", "statistics", "strategies", "validation",
]


def __getattr__(name: str):
    if name in ("accuracy", "predict_eagerly"):
        from tlkit import evaluation

        warnings.warn(f"tlkit.experiments.{name} is deprecated; use tlkit.evaluation.{name}", DeprecationWarning, stacklevel=2)
        return getattr(evaluation, name)
    if name == "TargetTrainingBudget":
        warnings.warn("tlkit.experiments.TargetTrainingBudget is deprecated; use TrainingBudget, its one name",
                      DeprecationWarning, stacklevel=2)
        return TrainingBudget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
