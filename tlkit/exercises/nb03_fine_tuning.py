"""Exercises for notebook 03: fine-tuning the top of the base.

Usage in the notebook::

    from tlkit.exercises import nb03_fine_tuning as ex
    ex.bind(globals())

Variables the questions read: ``base`` and ``n_unfrozen`` (q1: only the top
``n_unfrozen`` layers of the base train, BatchNormalization stays frozen),
``model``, ``base`` and optionally ``phase1_learning_rate`` (q2: recompiled,
with the base unfrozen and a learning rate 10-100 times smaller than phase
1's, default 1e-3), ``history_fine`` and ``history`` (q3: phase 2 continues
the epoch count of phase 1).

When grading, the checker passes q1 the notebook's own ``n_unfrozen``
(:func:`grader_data`), so a submission cannot make its answer fit by changing it.
"""

from __future__ import annotations

from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

__all__ = [
    "ContinueTraining", "DEFAULT_PHASE1_LEARNING_RATE", "LARGEST_REDUCTION", "NOTEBOOK_CONSTANTS",
    "RecompileWithSmallLearningRate", "SMALLEST_REDUCTION", "UnfreezeTop", "bind", "exercise", "grader_data",
]

DEFAULT_PHASE1_LEARNING_RATE = 1e-3
SMALLEST_REDUCTION = 10
LARGEST_REDUCTION = 100
#: The values notebook 03 sets for the questions' context (its cells assign exactly these).
NOTEBOOK_CONSTANTS = {"n_unfrozen": 6}


class UnfreezeTop(Question):
    variable = "base"
    context = ("n_unfrozen",)
    grader_data = "grader_data"
    hints = [
        ("parent_frozen", "First make the base trainable again (base.trainable = True), then freeze the lower "
                          "layers one by one."),
        ("too_few_frozen", "Everything below the top n_unfrozen layers stays frozen: loop over "
                           "base.layers[:-n_unfrozen]."),
        ("too_many_frozen", "The top n_unfrozen layers, base.layers[-n_unfrozen:], should be trainable."),
        ("batchnorm", "Keep BatchNormalization layers frozen even in the unfrozen top: their statistics came "
                      "from the source data, and trainable=False keeps them in inference mode."),
        ("type", "`base` should be the pre-trained base model inside your classifier."),
    ]
    solution = """
    base.trainable = True
    for layer in base.layers[:-n_unfrozen]:
        layer.trainable = False
    for layer in base.layers[-n_unfrozen:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    """
    correct_message = "only the top layers of the base will be fine-tuned, and BatchNormalization stays frozen."

    def check_value(self, base, n_unfrozen) -> Failure | None:
        return first_failure(
            lambda: check.all_but_top_frozen(
                base, n_unfrozen, "base",
                lambda layer_count: f"`n_unfrozen` should be a whole number between 1 and {layer_count}, "
                                    f"got {n_unfrozen!r}.",
                skip=check.is_batchnorm,
            ),
            lambda: check.batchnorm_frozen(base, "base"),
        )


class RecompileWithSmallLearningRate(Question):
    variable = "model"
    context = ("base",)
    optional_context = ("phase1_learning_rate",)
    hints = [
        ("unfreeze", "Fine-tuning without unfreezing only repeats feature extraction: unfreeze the top of the "
                     "base (q1) before compiling."),
        ("recompile", "Call model.compile(...) after changing trainable flags, otherwise the old training step "
                      "(with the base frozen) is reused."),
        ("lr_too_large", "A large learning rate destroys the pre-trained features in a few steps: use 10 to 100 "
                         "times less than in phase 1, e.g. keras.optimizers.Adam(phase1_learning_rate / 100)."),
        ("lr_too_small", "More than 100 times below phase 1 the weights barely move in a few epochs: use 10 to 100 "
                         "times less than in phase 1, e.g. keras.optimizers.Adam(phase1_learning_rate / 100)."),
        ("compile", "Compile with an optimizer object so you can choose its learning rate."),
        ("reuse_base", "`model` should be the classifier that contains `base`."),
        ("type", "`model` should be the Keras classifier from phase 1."),
    ]
    solution = """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=phase1_learning_rate / 100),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    """
    correct_message = "recompiled with the base's top unfrozen and a small learning rate."

    def check_value(self, model, base, phase1_learning_rate) -> Failure | None:
        phase1 = DEFAULT_PHASE1_LEARNING_RATE if phase1_learning_rate is None else float(phase1_learning_rate)
        return first_failure(
            lambda: check.is_keras_model(model, "model"),
            lambda: check.is_compiled(model, "model"),
            lambda: check.contains_layer(model, base, "model", "base"),
            lambda: self._base_unfrozen(model, base),
            lambda: check.compile_not_stale(model, "model"),
            lambda: check.learning_rate_within(
                model, "model",
                at_most=phase1 / SMALLEST_REDUCTION,
                at_least=phase1 / LARGEST_REDUCTION,
                reason=f"phase 1 used {phase1:g}; fine-tune with {SMALLEST_REDUCTION} to {LARGEST_REDUCTION} times less",
            ),
        )

    @staticmethod
    def _base_unfrozen(model, base) -> Failure | None:
        if check.layer_trains(model, base):
            return None
        return Failure(
            "no layer of `base` is trainable, so this \"fine-tuning\" would only train the head again: "
            "unfreeze the top of the base before compiling.",
            "unfreeze",
        )


class ContinueTraining(Question):
    variable = "history_fine"
    context = ("history",)
    hints = [
        ("initial_epoch", "Pass initial_epoch=<number of phase-1 epochs> so the epoch count continues."),
        ("epochs_total", "`epochs` is the number of the last epoch, not how many more to run: "
                         "epochs = phase-1 epochs + fine-tuning epochs."),
        ("type", "`history_fine` is what model.fit(...) returns in phase 2."),
    ]
    solution = """
    initial_epochs = len(history.epoch)
    history_fine = model.fit(
        x_train, y_train,
        epochs=initial_epochs + FINE_TUNE_EPOCHS,
        initial_epoch=initial_epochs,
        batch_size=16,
        validation_data=(x_val, y_val),
        verbose=0,
    )
    """
    correct_message = "phase 2 continues where phase 1 stopped."

    def check_value(self, history_fine, history) -> Failure | None:
        phase1_epochs = getattr(history, "epoch", None)
        if not phase1_epochs:
            return Failure("`history` should be the History of phase 1 (model.fit(...) before fine-tuning).", "context")
        return check.history_continues_from(history_fine, phase1_epochs[-1] + 1, "history_fine")


def grader_data() -> dict:
    """The notebook's constants (:data:`NOTEBOOK_CONSTANTS`), passed by the grader in place of the kernel's."""
    return dict(NOTEBOOK_CONSTANTS)


exercise = Exercise("nb03_fine_tuning", q1=UnfreezeTop, q2=RecompileWithSmallLearningRate, q3=ContinueTraining)
q1, q2, q3 = (exercise[name] for name in ("q1", "q2", "q3"))
bind = exercise.bind
