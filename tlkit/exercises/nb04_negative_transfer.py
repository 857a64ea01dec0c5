"""Exercises for notebook 04: measuring, detecting and avoiding negative transfer.

Usage in the notebook::

    from tlkit.exercises import nb04_negative_transfer as ex
    ex.bind(globals())

Variables the questions read:

* q1: ``ntg`` (a number) and ``is_negative_transfer`` (a bool), from the
  notebook's ``frozen_error`` and ``scratch_error``;
* q2: ``gap_estimate`` (a :class:`tlkit.negative_transfer.GapEstimate`), from
  the per-seed ``frozen_accuracies`` and ``scratch_accuracies``;
* q3: ``chosen_strategy`` (a name), from the dicts ``validation_accuracy`` and
  ``test_accuracy`` (strategy name -> accuracy, scratch included);
* q4: ``base`` (the transferred base with only its Dense ``features`` layer trainable).

The notebook's default run reads those numbers from the recorded benchmark grid
(:func:`tlkit.negative_transfer.load_recorded`), at the fully shuffled source and
the largest k. When grading, the checker loads them itself (:func:`grader_data`):
q1 to q3 are judged on the recorded numbers, never on context the submission's
kernel passed.
"""

from __future__ import annotations

import numbers

import numpy as np

from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

__all__ = [
    "ChooseByValidation", "FreezeConvolutionsOnly", "GapFromErrors", "GapOverSeeds", "TOLERANCE", "bind",
    "exercise", "grader_data",
]

TOLERANCE = 1e-6


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    )


class GapFromErrors(Question):
    variable = ("ntg", "is_negative_transfer")
    context = ("frozen_error", "scratch_error")
    grader_data = "grader_data"
    hints = [
        ("sign", "NTG = error WITH the source minus error WITHOUT it: frozen_error - scratch_error."),
        ("definition", "The gap is a difference of two error rates, both measured on the same target test data."),
        ("verdict", "A positive gap means the source made the target error larger: that is negative transfer."),
        ("type", "`ntg` should be one number (a float) and `is_negative_transfer` True or False."),
    ]
    solution = """
    ntg = frozen_error - scratch_error
    is_negative_transfer = ntg > 0
    """
    correct_message = "that is the negative transfer gap, and its sign says whether the source hurt."

    def check_value(self, ntg, is_negative_transfer, frozen_error, scratch_error) -> Failure | None:
        expected = float(frozen_error) - float(scratch_error)
        if not _is_number(ntg):
            return Failure(f"`ntg` should be one number, but it is a {type(ntg).__name__}.", "type")
        ntg = float(ntg)
        if abs(ntg - expected) > TOLERANCE:
            if abs(ntg + expected) <= TOLERANCE:
                return Failure(
                    f"`ntg` is {ntg:+.4f}, the opposite sign of the gap: subtract the error without the source "
                    "from the error with it (with accuracies instead of errors the sign flips too).",
                    "sign",
                )
            if min(abs(ntg - value) for value in (frozen_error, scratch_error, 1 - frozen_error, 1 - scratch_error)) <= TOLERANCE:
                return Failure(f"`ntg` is {ntg:.4f}, a single error or accuracy; the gap compares two errors.", "definition")
            return Failure(f"`ntg` is {ntg:+.4f}, which is not the difference of the two error rates.", "definition")
        return first_failure(
            lambda: check.is_bool(is_negative_transfer, "is_negative_transfer"),
            lambda: None if bool(is_negative_transfer) == (expected > 0) else Failure(
                f"the gap is {expected:+.4f}, so `is_negative_transfer` should be {expected > 0}.", "verdict"
            ),
        )


class GapOverSeeds(Question):
    variable = "gap_estimate"
    context = ("frozen_accuracies", "scratch_accuracies")
    grader_data = "grader_data"
    hints = [
        ("errors", "The gap is defined on errors: pass 1 - accuracies, e.g. 1 - np.array(frozen_accuracies)."),
        ("order", "The first argument is the error WITH the source (frozen), the second WITHOUT it (scratch)."),
        ("type", "Use negative_transfer.gap_with_interval(errors_with_source, errors_without_source); it returns a "
                 "GapEstimate."),
        ("pairing", "Keep the seeds in the same order in both lists: seed i of one is compared with seed i of the other."),
    ]
    solution = """
    gap_estimate = negative_transfer.gap_with_interval(
        1 - np.array(frozen_accuracies), 1 - np.array(scratch_accuracies)
    )
    """
    correct_message = "the mean gap over seeds, with a confidence interval from the paired differences."

    def check_value(self, gap_estimate, frozen_accuracies, scratch_accuracies) -> Failure | None:
        from tlkit.negative_transfer import GapEstimate

        if not isinstance(gap_estimate, GapEstimate):
            return Failure(f"`gap_estimate` should be a GapEstimate, but it is a {type(gap_estimate).__name__}.", "type")
        frozen, scratch = np.asarray(frozen_accuracies, float), np.asarray(scratch_accuracies, float)
        expected = scratch - frozen  # (1 - frozen) - (1 - scratch)
        differences = np.asarray(gap_estimate.differences)
        if differences.shape != expected.shape:
            return Failure(
                f"`gap_estimate` was computed from {differences.size} seeds; the notebook has {expected.size}.", "pairing"
            )
        if np.allclose(differences, expected, atol=TOLERANCE):
            return None
        if np.allclose(differences, -expected, atol=TOLERANCE):
            return Failure(
                f"your mean gap is {gap_estimate.mean:+.4f}, the opposite sign: either you passed accuracies instead "
                "of errors, or the two arguments are swapped.",
                "errors",
            )
        if np.isclose(differences.mean(), expected.mean(), atol=TOLERANCE):
            return Failure("the mean is right but the per-seed differences are not: the seeds are not paired.", "pairing")
        return Failure(f"your mean gap is {gap_estimate.mean:+.4f}; from these accuracies it is {expected.mean():+.4f}.",
                       "order")


class ChooseByValidation(Question):
    variable = "chosen_strategy"
    context = ("validation_accuracy", "test_accuracy")
    grader_data = "grader_data"
    hints = [
        ("validation", "Decide on validation data only; the test set is for the final, unbiased report."),
        ("baseline", "Keep 'scratch' among the candidates: if no transfer beats it, do not transfer."),
        ("type", "`chosen_strategy` should be one of the keys of `validation_accuracy`, e.g. 'partial'."),
    ]
    solution = """
    chosen_strategy = max(validation_accuracy, key=validation_accuracy.get)
    """
    correct_message = "chosen on validation data, against the scratch baseline."

    def check_value(self, chosen_strategy, validation_accuracy, test_accuracy) -> Failure | None:
        names = list(validation_accuracy)
        if not isinstance(chosen_strategy, str) or chosen_strategy not in validation_accuracy:
            return Failure(f"`chosen_strategy` should be one of {names}, got {chosen_strategy!r}.", "type")
        best = max(validation_accuracy, key=validation_accuracy.get)
        if validation_accuracy[chosen_strategy] >= validation_accuracy[best] - TOLERANCE:
            return None
        if chosen_strategy == max(test_accuracy, key=test_accuracy.get):
            return Failure(
                f"'{chosen_strategy}' has the best *test* accuracy; choosing with the test set makes its score "
                f"optimistic. On validation data '{best}' is best.",
                "validation",
            )
        transfers = {name: value for name, value in validation_accuracy.items() if name != "scratch"}
        if best == "scratch" and chosen_strategy == max(transfers, key=transfers.get):
            return Failure(
                f"'{chosen_strategy}' is the best transfer strategy, but scratch scores higher on validation "
                f"({validation_accuracy['scratch']:.3f} against {validation_accuracy[chosen_strategy]:.3f}): "
                "here transfer is negative.",
                "baseline",
            )
        return Failure(
            f"'{chosen_strategy}' scores {validation_accuracy[chosen_strategy]:.3f} on validation; "
            f"'{best}' scores {validation_accuracy[best]:.3f}.",
            "validation",
        )


class FreezeConvolutionsOnly(Question):
    variable = "base"
    hints = [
        ("too_many_frozen", "Keep the Dense 'features' layer (the last layer of the base) trainable: it is the most "
                            "source-specific layer, and freezing it caused the negative transfer."),
        ("too_few_frozen", "Every layer below 'features' (the convolutions and their BatchNormalization) stays frozen."),
        ("parent_frozen", "Set base.trainable = True first, then freeze the layers one by one."),
        ("batchnorm", "BatchNormalization layers stay frozen."),
        ("type", "`base` should be the Keras model loaded by models.load_base(...)."),
    ]
    solution = """
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name == "features"
    """
    correct_message = "only the Dense 'features' layer will adapt to the target; the convolutions keep their features."

    def check_value(self, base) -> Failure | None:
        return first_failure(
            lambda: check.is_built_keras_model(base, "base"),
            lambda: check.frozen_layers_match(base, slice(None, -1), "base", "the layers below 'features'"),
            lambda: check.batchnorm_frozen(base, "base"),
        )


def grader_data() -> dict:
    """The context of q1 to q3, computed by the grader from the recorded grid.

    The same expressions as the notebook's cells, on
    :func:`tlkit.negative_transfer.load_recorded`'s grid at the fully shuffled
    source (epsilon = 1.0) and the grid's largest number of labels per class.
    """
    from tlkit import negative_transfer

    _, grid = negative_transfer.load_recorded()
    k = max(grid.labels_per_class)
    frozen_accuracies = grid.accuracies("frozen", 1.0, k)
    scratch_accuracies = grid.accuracies("scratch", 1.0, k)
    names = ["scratch", *grid.strategies]
    return {
        "frozen_accuracies": frozen_accuracies,
        "scratch_accuracies": scratch_accuracies,
        "frozen_error": 1 - float(np.mean(frozen_accuracies)),
        "scratch_error": 1 - float(np.mean(scratch_accuracies)),
        "validation_accuracy": {name: round(float(np.mean(grid.accuracies(name, 1.0, k, split="validation"))), 4)
                                for name in names},
        "test_accuracy": {name: round(float(np.mean(grid.accuracies(name, 1.0, k))), 4) for name in names},
    }


exercise = Exercise(
    "nb04_negative_transfer", q1=GapFromErrors, q2=GapOverSeeds, q3=ChooseByValidation, q4=FreezeConvolutionsOnly
)
q1, q2, q3, q4 = (exercise[name] for name in ("q1", "q2", "q3", "q4"))
bind = exercise.bind
