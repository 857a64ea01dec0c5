"""Exercises for notebook 02: choosing what to freeze, and proving it stayed frozen.

Usage in the notebook::

    from tlkit.exercises import nb02_freezing as ex
    ex.bind(globals())

Variables the questions read: ``model`` and ``k`` (q3: every layer but the
last ``k`` frozen; q4: compiled after that change), ``base`` (q1: its
BatchNormalization layers frozen), ``weights_unchanged``, ``base`` and
``base_weights_before`` (q2: the student's True/False against the truth).

When grading, q2's reference is the base as the kit ships it, loaded by the
grader's checker (:func:`grader_data`), never the ``base_weights_before`` a
submission hands over.
"""

from __future__ import annotations

from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

__all__ = [
    "BatchNormInInferenceMode", "FreezeAllButLast", "ProveWeightsUnchanged", "RecompileAfterFreezing", "bind",
    "exercise", "grader_data",
]


class FreezeAllButLast(Question):
    variable = "model"
    context = ("k",)
    hints = [
        ("too_few_frozen", "Loop over model.layers[:-k] and set each layer's trainable to False."),
        ("too_many_frozen", "Negative slices count from the end: model.layers[:-k] leaves exactly the last k out."),
        ("parent_frozen", "A layer only trains if the model containing it is trainable too: keep "
                          "model.trainable = True and freeze layer by layer."),
        ("type", "`model` should be the Keras model built above."),
    ]
    solution = """
    for layer in model.layers[:-k]:
        layer.trainable = False
    for layer in model.layers[-k:]:
        layer.trainable = True
    """
    correct_message = "every layer but the last k is frozen."

    def check_value(self, model, k) -> Failure | None:
        return check.all_but_top_frozen(
            model, k, "model",
            lambda layer_count: f"`k` should be a whole number between 1 and the number of layers, got {k!r}.",
        )


class RecompileAfterFreezing(Question):
    variable = "model"
    hints = [
        ("recompile", "Keras builds the training step at the first fit after compile; changing `trainable` "
                      "later is ignored until you call model.compile(...) again."),
        ("compile", "Compile the model with an optimizer, a loss and metrics before training it."),
        ("type", "`model` should be the Keras model built above."),
    ]
    solution = """
    # after changing any layer's trainable flag:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    correct_message = "the compiled training step matches the current trainable flags."

    def check_value(self, model) -> Failure | None:
        return first_failure(
            lambda: check.is_keras_model(model, "model"),
            lambda: check.is_compiled(model, "model"),
            lambda: check.compile_not_stale(model, "model"),
        )


class BatchNormInInferenceMode(Question):
    variable = "base"
    hints = [
        ("batchnorm", "In Keras 3 a BatchNormalization layer with trainable=False runs in inference mode; "
                      "freezing the whole base (base.trainable = False) freezes its BN layers too."),
        ("type", "`base` should be the pre-trained base model."),
    ]
    solution = """
    base.trainable = False   # also puts every BatchNormalization layer in inference mode
    """
    correct_message = "every BatchNormalization layer of the base runs in inference mode."

    def check_value(self, base) -> Failure | None:
        failure = first_failure(
            lambda: check.is_built_keras_model(base, "base"),
            lambda: check.batchnorm_frozen(base, "base"),
            lambda: check.all_frozen(base, "base", hint_key="batchnorm"),
        )
        if failure is None:  # q2's own trustworthy reference, should the student's snapshot be unusable
            check.remember_weights(self.exercise.memory, "base_weights", base)
        return failure


class ProveWeightsUnchanged(Question):
    variable = "weights_unchanged"
    context = ("base", "base_weights_before")
    #: When grading, the checker passes the shipped base's weights as ``base_weights_before``: see :func:`grader_data`.
    grader_data = "grader_data"
    hints = [
        ("compare", "Compare every array of base.get_weights() with the copy taken before training, e.g. "
                    "all(np.array_equal(a, b) for a, b in zip(...)). Do not type the answer you expect."),
        ("type", "The answer is one True or False for the whole base, not one per array."),
        ("snapshot", "Take base_weights_before = base.get_weights() before calling fit: arrays, not base.weights "
                     "(the variables themselves, which change with training)."),
    ]
    solution = """
    weights_unchanged = all(
        np.array_equal(before, after)
        for before, after in zip(base_weights_before, base.get_weights())
    )
    """
    correct_message = "your comparison agrees with the base's actual weights."

    def check_value(self, weights_unchanged, base, base_weights_before) -> Failure | None:
        failure = first_failure(
            lambda: check.is_bool(weights_unchanged, "weights_unchanged"),
            lambda: check.is_keras_model(base, "base"),
        )
        if failure is not None:
            return failure
        truth = check.weights_unchanged(base, base_weights_before, "base", "base_weights_before")
        if truth is not None and truth.hint_key == "snapshot":
            return self._with_own_verdict(truth, base)
        actually_unchanged = truth is None
        if bool(weights_unchanged) == actually_unchanged:
            return None
        if weights_unchanged:
            return Failure(f"`weights_unchanged` is True, but {truth.message.split(';')[0]}.", "compare")
        return Failure("`weights_unchanged` is False, but every weight of `base` is exactly as before training.",
                       "compare")


    def _with_own_verdict(self, failure: Failure, base) -> Failure:
        """Add what the copy this exercise took when q1 passed says (a reference the student cannot alias)."""
        own = self.exercise.memory.get("base_weights")
        if own is None or not check.is_live_snapshot(self.namespace.get("base_weights_before")):
            return failure
        verdict = check.weights_unchanged(base, own, "base", "the copy taken when q1 passed")
        truth = "did not move" if verdict is None else "moved: " + verdict.message.split(";")[0]
        return Failure(f"{failure.message} (Compared with the copy this check took when q1 passed, the base {truth}.)",
                       failure.hint_key)


def grader_data() -> dict:
    """The pre-trained base's weights as the kit ships them, loaded by the grader itself.

    The grader's checker (a fresh process) passes these to q2 in place of the
    notebook's ``base_weights_before``: the notebook loads ``base`` from the
    shipped ``fashion_cnn`` and takes its copy before any training, so in the
    grader's top-to-bottom run an honest copy equals these weights, while a
    copy taken after training (which would make a trained base look
    unchanged) does not count.
    """
    from tlkit import models

    return {"base_weights_before": models.load_base("fashion_cnn", include_top=False).get_weights()}


exercise = Exercise(
    "nb02_freezing", q1=BatchNormInInferenceMode, q2=ProveWeightsUnchanged, q3=FreezeAllButLast,
    q4=RecompileAfterFreezing,
)
q1, q2, q3, q4 = (exercise[name] for name in ("q1", "q2", "q3", "q4"))
bind = exercise.bind
