"""Exercises for notebook 05: which layers to copy and freeze (Yosinski et al. 2014).

Usage in the notebook::

    from tlkit.exercises import nb05_layer_choice as ex
    ex.bind(globals())

Variables the questions read:

* q1: ``anb``, a fresh network of ``base_a``'s architecture whose first ``n``
  weight layers carry ``base_a``'s weights and whose other layers are newly
  initialised;
* q2: ``anb`` again, with exactly its first ``n`` weight layers frozen;
* q3: ``safe_depth``, the largest ``n`` such that frozen AnB stays within
  ``tolerance`` of baseB at every depth up to ``n`` (0 if none), from the
  notebook's ``results`` (a :class:`tlkit.layer_transfer.LayerTransferResults`)
  and ``tolerance``.

The notebook's default run reads ``results`` from the recorded benchmark
(:func:`tlkit.layer_transfer.load_recorded`). When grading, the checker loads
them itself (:func:`grader_data`): q3 is judged on the recorded results and the
notebook's tolerance, q1 and q2 on the notebook's ``n``, never on context the
submission's kernel passed.
"""

from __future__ import annotations

import numpy as np

from tlkit import keras_internals
from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

__all__ = [
    "COPIED_LAYERS", "CopyFirstLayers", "FreezeFirstLayers", "SAFE_DEPTH_TOLERANCE", "SafeDepth", "bind", "exercise",
    "grader_data",
]

#: The notebook's ``n`` for q1 and q2: how many weight layers of baseA are copied (and then frozen).
COPIED_LAYERS = 2
#: The notebook's ``tolerance`` for q3: how far below baseB a frozen depth may fall and still count as safe.
SAFE_DEPTH_TOLERANCE = 0.05


def _weight_layers(model) -> list:
    return [layer for layer in model.layers if layer.weights]


def _same_weights(first, second) -> bool:
    a, b = first.get_weights(), second.get_weights()
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def _check_n(n, model) -> Failure | None:
    limit = len(_weight_layers(model)) - 1
    if not check.is_whole_number(n) or not 1 <= n <= limit:
        return Failure(f"`n` should be a whole number from 1 to {limit}, got {n!r}; run the cell that sets it.", "context")
    return None


class CopyFirstLayers(Question):
    variable = "anb"
    context = ("base_a", "n")
    grader_data = "grader_data"
    hints = [
        ("clone", "Start from keras.models.clone_model(base_a): the same architecture with fresh weights. "
                  "Do not modify base_a itself."),
        ("too_few_copied", "Copy with target_layer.set_weights(source_layer.get_weights()) for each of the first n "
                           "weight layers: layer_transfer.weight_layers(base_a)[:n]."),
        ("too_many_copied", "Only the first n weight layers come from base_a; everything above them, the classifier "
                            "included, keeps its fresh initialisation."),
        ("architecture", "`anb` must have the same layers as base_a, so that weights can be copied layer by layer."),
        ("type", "`anb` should be a Keras model."),
    ]
    solution = """
    anb = keras.models.clone_model(base_a)
    for source_layer, target_layer in zip(layer_transfer.weight_layers(base_a)[:n], layer_transfer.weight_layers(anb)[:n]):
        target_layer.set_weights(source_layer.get_weights())
    """
    correct_message = "the first n layers come from baseA, the rest start afresh."

    def check_value(self, anb, base_a, n) -> Failure | None:
        failure = first_failure(
            lambda: check.is_built_keras_model(anb, "anb"),
            lambda: _check_n(n, base_a),
        )
        if failure is not None:
            return failure
        if anb is base_a:
            return Failure("`anb` is `base_a` itself; make a new network with keras.models.clone_model(base_a).", "clone")
        source, target = _weight_layers(base_a), _weight_layers(anb)
        shapes = [[w.shape for w in layer.get_weights()] for layer in source]
        if [[w.shape for w in layer.get_weights()] for layer in target] != shapes:
            return Failure(f"`anb` does not have base_a's architecture ({len(target)} weight layers against "
                           f"{len(source)}, or different shapes).", "architecture")
        shared = [layer for layer in anb.layers if any(layer is other for other in base_a.layers)]
        if shared:
            return Failure(f"`anb` shares the layer '{shared[0].name}' with base_a instead of holding a copy; "
                           "build it with keras.models.clone_model(base_a).", "clone")
        not_copied = [f"'{layer.name}' (weight layer {i + 1})" for i, (src, layer) in enumerate(zip(source[:n], target[:n]))
                      if not _same_weights(src, layer)]
        if not_copied:
            return Failure(f"with n = {n}, these layers should carry base_a's weights but do not: "
                           f"{', '.join(not_copied)}.", "too_few_copied")
        copied_too = [f"'{layer.name}'" for src, layer in zip(source[n:], target[n:]) if _same_weights(src, layer)]
        if copied_too:
            return Failure(f"with n = {n}, only the first {n} weight layers come from base_a, but "
                           f"{', '.join(copied_too)} also hold base_a's weights.", "too_many_copied")
        return None


class FreezeFirstLayers(Question):
    variable = "anb"
    context = ("n",)
    grader_data = "grader_data"
    hints = [
        ("weight_layers", "Count only layers that hold weights: layer_transfer.weight_layers(anb)[:n]. "
                          "anb.layers[:n] also counts Rescaling and pooling layers."),
        ("too_few_frozen", "Set trainable = False on each of the first n weight layers."),
        ("too_many_frozen", "Only the first n weight layers are frozen (AnB); the layers above them must train."),
        ("parent_frozen", "Leave anb.trainable = True; freeze the layers one by one."),
        ("type", "`anb` should be the Keras model from q1."),
    ]
    solution = """
    for layer in layer_transfer.weight_layers(anb)[:n]:
        layer.trainable = False
    """
    correct_message = "exactly the first n weight layers are frozen."

    def check_value(self, anb, n) -> Failure | None:
        failure = first_failure(
            lambda: check.is_built_keras_model(anb, "anb"),
            lambda: _check_n(n, anb),
        )
        if failure is not None:
            return failure
        layers = _weight_layers(anb)
        if not anb.trainable:
            return Failure("`anb.trainable` is False, so nothing in it trains; set it back to True and freeze the "
                           "first n weight layers one by one.", "parent_frozen")
        # behaviour decides: a layer trains if fit would hand its weights to the optimizer, or if one training
        # step changes any of its variables (BatchNormalization statistics included)
        moving = {id(layer) for layer in check.steps_moving(anb)}
        frozen = [not (check.layer_trains(anb, layer) or id(layer) in moving
                       or any(id(leaf) in moving for leaf in keras_internals.flattened_layers(layer, include_self=False)))
                  for layer in layers]
        expected = [index < n for index in range(len(layers))]
        if frozen == expected:
            return None
        first_n_of_all = {id(layer) for layer in anb.layers[:n]}
        if frozen == [id(layer) in first_n_of_all for layer in layers]:
            return Failure(f"you froze anb.layers[:{n}], which counts layers without weights; "
                           f"{sum(frozen)} weight layers are frozen instead of {n}.", "weight_layers")
        training = [f"'{layer.name}'" for layer, f, e in zip(layers, frozen, expected) if e and not f]
        if training:
            return Failure(f"the first {n} weight layers should be frozen, but {', '.join(training)} still train.",
                           "too_few_frozen")
        extra = [f"'{layer.name}'" for layer, f, e in zip(layers, frozen, expected) if f and not e]
        return Failure(f"only the first {n} weight layers should be frozen, but {', '.join(extra)} are frozen too.",
                       "too_many_frozen")


class SafeDepth(Question):
    variable = "safe_depth"
    context = ("results", "tolerance")
    grader_data = "grader_data"
    hints = [
        ("prefix", "Walk n = 1, 2, ... and stop at the first depth where AnB falls more than `tolerance` below "
                   "baseB; the safe depth is the last n before that."),
        ("frozen", "Use the frozen curve, results.mean('AnB', n); fine-tuned AnB+ is a different choice."),
        ("baseline", "Compare with baseB (results.base_b_mean), the network trained on B alone."),
        ("type", "`safe_depth` should be a whole number: 0 if even n = 1 costs accuracy."),
    ]
    solution = """
    safe_depth = 0
    for depth in results.depths:
        if results.mean("AnB", depth) < results.base_b_mean - tolerance:
            break
        safe_depth = depth
    """
    correct_message = "that many early layers can be copied and frozen at (almost) no cost on task B."

    def check_value(self, safe_depth, results, tolerance) -> Failure | None:
        from tlkit.layer_transfer import freezing_advice

        if not check.is_whole_number(safe_depth):
            return Failure(f"`safe_depth` should be a whole number, but it is a {type(safe_depth).__name__}.", "type")
        expected = freezing_advice(results, tolerance)["deepest_safe_frozen_n"]
        if safe_depth == expected:
            return None
        base_b = results.base_b_mean
        if safe_depth in results.depths:
            if results.mean("AnB", safe_depth) < base_b - tolerance:
                return Failure(f"at n = {safe_depth}, AnB ({results.mean('AnB', safe_depth):.3f}) is more than "
                               f"{tolerance} below baseB ({base_b:.3f}).", "prefix")
            plus_ok = all(results.mean("AnB+", d) >= base_b - tolerance for d in results.depths if d <= safe_depth)
            if plus_ok and safe_depth > expected:
                return Failure(f"n = {safe_depth} is safe only if an earlier depth is too: AnB at n = {expected + 1} "
                               f"is already more than {tolerance} below baseB.", "prefix")
        return Failure(f"`safe_depth` is {safe_depth}; count the depths from n = 1 where frozen AnB stays within "
                       f"{tolerance} of baseB.", "frozen")


def grader_data() -> dict:
    """The notebook's constants and the recorded results, as the grader's own context.

    q1 and q2 get ``n`` (:data:`COPIED_LAYERS`); q3 gets the recorded
    ``results`` and ``tolerance`` (:data:`SAFE_DEPTH_TOLERANCE`).
    """
    from tlkit import layer_transfer

    return {"n": COPIED_LAYERS, "results": layer_transfer.load_recorded()[1], "tolerance": SAFE_DEPTH_TOLERANCE}


exercise = Exercise("nb05_layer_choice", q1=CopyFirstLayers, q2=FreezeFirstLayers, q3=SafeDepth)
q1, q2, q3 = (exercise[name] for name in ("q1", "q2", "q3"))
bind = exercise.bind
