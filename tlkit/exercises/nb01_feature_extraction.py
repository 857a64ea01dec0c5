"""Exercises for notebook 01: feature extraction with a frozen base.

Usage in the notebook::

    from tlkit.exercises import nb01_feature_extraction as ex
    ex.bind(globals())
    ex.q1.check()   # ex.q1.hint(), ex.q1.solution()

Variables the questions read: ``base`` (q1), ``model`` (q2, q3),
``x_val`` / ``y_val`` held-out target data (q3), ``base_weights_before``
(optional, ``base.get_weights()`` taken before training; q3 otherwise uses
the copy it took when q1 or q2 passed), ``train_features`` and ``x_train``
(q4).
"""

from __future__ import annotations

import numpy as np

from tlkit.exercises import predicates as check
from tlkit.exercises.core import Correct, Exercise, Failure, Question, first_failure

__all__ = [
    "ACCURACY_THRESHOLD", "BuildClassifier", "CachedFeatures", "FEATURE_ATOL", "FEATURE_ROWS_COMPARED",
    "FEATURE_RTOL", "FreezeBase", "TARGET_CLASSES", "TrainClassifier", "VALIDATION_PER_CLASS", "bind", "exercise",
    "grader_data",
]

TARGET_CLASSES = 5
ACCURACY_THRESHOLD = 0.80
FEATURE_ROWS_COMPARED = 256
#: Test images per class the grader judges q3's accuracy on (``data.few_shot(target.test, k=50, seed=0)``):
#: images the notebook never trains on nor selects by.
VALIDATION_PER_CLASS = 50
# features from the frozen base in inference mode agree to float32 rounding; training=True (BatchNormalization on
# batch statistics, dropout) moves them by far more
FEATURE_RTOL = 1e-5
FEATURE_ATOL = 1e-5


class FreezeBase(Question):
    variable = "base"
    hints = [
        ("freeze", "One attribute on the model switches off training for all its layers at once."),
        ("type", "`base` should be the model returned by the loading cell, not a copy or a list of layers."),
    ]
    solution = """
    base.trainable = False
    """
    correct_message = "the base is frozen: none of its weights will change during training."

    def check_value(self, base) -> Failure | None:
        failure = first_failure(
            lambda: check.is_built_keras_model(base, "base"),
            lambda: check.all_frozen(base, "base"),
        )
        if failure is None:
            check.remember_weights(self.exercise.memory, "base_weights", base)
        return failure


class BuildClassifier(Question):
    variable = "model"
    context = ("base",)
    hints = [
        ("reuse_base", "Stack the loaded `base` itself, then a new Dense layer, e.g. keras.Sequential([base, ...])."),
        ("head_units", f"The new head needs one output unit per target class: {TARGET_CLASSES}."),
        ("from_logits", "Either end with activation='softmax' and a plain loss, or end without activation and "
                        "compile with from_logits=True. Not both, not neither."),
        ("freeze", "Freeze the base (q1) before building the model on top of it."),
        ("type", "`model` should be a Keras model, e.g. keras.Sequential([...]) or keras.Model(inputs, outputs)."),
    ]
    solution = """
    model = keras.Sequential([
        base,
        keras.layers.Dense(5, activation="softmax"),
    ])
    # a head on frozen features takes larger steps than Adam's default 1e-3
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    """
    correct_message = "frozen base + a new 5-class head, with an output that matches the loss."

    def check_value(self, model, base) -> Failure | None:
        failure = first_failure(
            lambda: check.is_built_keras_model(model, "model"),
            lambda: check.contains_layer(model, base, "model", "base"),
            lambda: check.all_frozen(base, "base", context_model=model),
            lambda: check.head_matches_classes(model, TARGET_CLASSES, "model"),
            lambda: self._activation_is_consistent(model),
        )
        if failure is None:
            self.exercise.memory.setdefault("base_weights", check.weight_snapshot(base))
        return failure

    @staticmethod
    def _activation_is_consistent(model) -> Failure | None:
        if getattr(model, "compiled", False) and getattr(model, "loss", None) is not None:
            return check.activation_matches_loss(model, "model")
        activation = check.output_activation(model)
        if activation == "softmax":
            return None
        if activation == "linear":
            return Failure(
                "your head outputs logits (no activation): compile `model` with a loss using from_logits=True, "
                "or add activation='softmax'.",
                "from_logits",
            )
        return Failure(f"your output layer uses {activation}; use softmax for {TARGET_CLASSES} exclusive classes.",
                       "from_logits")


class TrainClassifier(Question):
    variable = "model"
    context = ("base", "x_val", "y_val")
    optional_context = ("base_weights_before",)
    threshold = ACCURACY_THRESHOLD
    #: When grading, the checker judges the model on these instead of the notebook's values (a submission
    #: controls its own ``x_val``, ``y_val`` and snapshot): see :func:`grader_data`.
    grader_data = "grader_data"
    hints = [
        ("compile", "Compile `model` with an optimizer, a loss for integer labels and metrics=['accuracy']."),
        ("not_trained", "Call model.fit(x_train, y_train, epochs=..., validation_data=(x_val, y_val))."),
        ("accuracy", "Train a few more epochs or give the head a larger learning rate (e.g. Adam(1e-2)), and check "
                     "that the head's activation matches the loss."),
        ("frozen_changed", "If the base's weights moved, it was not frozen when the training step was built: "
                           "freeze it, compile again, then fit."),
        ("snapshot", "Take a real copy before training: base_weights_before = base.get_weights() (arrays), not "
                     "base.weights (the variables themselves, which change with training)."),
        ("from_logits", "softmax output goes with from_logits=False; no activation goes with from_logits=True."),
        ("type", "`model` should be the Keras model you built in q2."),
    ]
    solution = """
    # model was compiled in q2 with Adam(1e-2); compile again only if you want another optimizer
    history = model.fit(x_train, y_train, epochs=HEAD_EPOCHS, batch_size=16,
                        validation_data=(x_val, y_val), verbose=0)
    """

    @property
    def correct_message(self) -> str:
        return f"at least {self.threshold:.0%} held-out accuracy, and the frozen base did not move."

    def check_value(self, model, base, x_val, y_val, base_weights_before) -> Failure | Correct | None:
        return first_failure(
            lambda: check.is_keras_model(model, "model"),
            lambda: check.is_compiled(model, "model"),
            lambda: check.activation_matches_loss(model, "model"),
            lambda: self._was_trained(model),
            lambda: check.accuracy_at_least(model, x_val, y_val, self.threshold, "model"),
            lambda: self._judge_base(base, base_weights_before),
        )

    @staticmethod
    def _was_trained(model) -> Failure | None:
        if int(np.asarray(model.optimizer.iterations)) > 0:
            return None
        return Failure("`model` has not been trained yet: call model.fit(...).", "not_trained")

    def _judge_base(self, base, base_weights_before) -> Failure | Correct | None:
        """Compare the base with a copy this check can trust.

        The student's ``base_weights_before`` is used when it holds arrays. A
        snapshot of live references (``base.weights``) follows training and
        proves nothing: then the copy this exercise took itself when q1 or q2
        passed decides, and the student is told why their snapshot was ignored.
        """
        own = self.exercise.memory.get("base_weights")
        if base_weights_before is None or not check.is_live_snapshot(base_weights_before):
            return self._base_unchanged(base, base_weights_before if base_weights_before is not None else own)
        live = check.live_snapshot_failure("base_weights_before", "base")
        if own is None:
            return live
        verdict = check.weights_unchanged(base, own, "base", "the copy taken when q1/q2 passed")
        if verdict is None:
            return Correct(f"{live.message} (This check compared the base with the copy it took itself when q1/q2 "
                           "passed: the base did not move.)")
        return Failure(f"{verdict.message} Also, {live.message}", "frozen_changed")

    @staticmethod
    def _base_unchanged(base, snapshot) -> Failure | None:
        if snapshot is None:
            return Failure(
                "there is no copy of the base's weights from before training: run `base_weights_before = "
                "base.get_weights()` before fitting (or check q1 before training).",
                "snapshot",
            )
        return check.weights_unchanged(base, snapshot, "base", "base_weights_before")


class CachedFeatures(Question):
    variable = "train_features"
    context = ("base", "x_train")
    optional_context = ("base_weights_before",)
    grader_data = "grader_data"
    hints = [
        ("use_base", "Run the images through the frozen `base` only (not the whole `model`): base.predict(x_train)."),
        ("all_images", "Compute features for every training image, one row per image."),
        ("type", "base.predict returns a NumPy array; keep it as it is."),
        ("values", "Use the images exactly as the base expects them (raw values, the base rescales inside), and run "
                   "the base in inference mode: base.predict(...), not base(x, training=True)."),
    ]
    solution = """
    train_features = base.predict(x_train, verbose=0)
    """
    correct_message = "one feature row per training image, exactly what the frozen base computes."

    def check_value(self, train_features, base, x_train, base_weights_before) -> Failure | None:
        if isinstance(train_features, (list, tuple)):
            return Failure(f"`train_features` should be one array, but it is a {type(train_features).__name__}.", "type")
        width = base.output_shape[-1]
        examples = len(x_train)
        shape = tuple(np.shape(train_features))
        if len(shape) == 2 and shape[0] == examples and shape[1] != width:
            return Failure(
                f"`train_features` has {shape[1]} columns, but the base outputs {width} features per image "
                f"(did you use the whole model instead of the base?).",
                "use_base",
            )
        if len(shape) == 2 and shape[0] != examples and shape[1] == width:
            return Failure(f"`train_features` has {shape[0]} rows; x_train has {examples} images.", "all_images")
        return first_failure(
            lambda: check.array_shape_is(train_features, (examples, width), "train_features"),
            lambda: self._same_dtype_as_the_base(train_features),
            lambda: self._base_statistics_unchanged(base, base_weights_before),
            lambda: check.arrays_close(
                np.asarray(train_features)[:FEATURE_ROWS_COMPARED],
                base.predict(np.asarray(x_train)[:FEATURE_ROWS_COMPARED], verbose=0),
                "train_features",
                rtol=FEATURE_RTOL,
                atol=FEATURE_ATOL,
            ),
        )

    def _base_statistics_unchanged(self, base, base_weights_before) -> Failure | None:
        """The base must still hold the weights it had before training, BatchNormalization statistics included.

        ``base(x, training=True)`` on a base whose BatchNormalization layers are
        trainable normalises with each batch's statistics and moves the layers'
        moving averages towards them, so the features, and the base itself, stop
        being the pre-trained ones (and ``base.predict`` afterwards agrees with
        the changed base, which is why the values alone cannot show it).
        """
        snapshot = base_weights_before
        if snapshot is None or check.is_live_snapshot(snapshot):
            snapshot = self.exercise.memory.get("base_weights")
        if snapshot is None:
            return None
        failure = check.weights_unchanged(base, snapshot, "base", "the base's weights before training")
        if failure is None:
            return None
        return Failure(f"{failure.message} The base changed since it was frozen: computing features with "
                       "base(x, training=True) updates its BatchNormalization statistics. Reload the base, freeze "
                       "it and use base.predict(x_train).", "values")

    @staticmethod
    def _same_dtype_as_the_base(train_features) -> Failure | None:
        dtype = np.asarray(train_features).dtype
        if dtype == np.float32:
            return None
        return Failure(f"`train_features` holds {dtype} values; base.predict gives float32, and a cast loses "
                       "precision the head would train on: keep the array as base.predict returns it.", "type")


def grader_data() -> dict:
    """Held-out images and the pre-trained base's weights, loaded by the grader itself.

    The grader's checker (a fresh process) passes these to q3 in place of the
    notebook's ``x_val``, ``y_val`` and ``base_weights_before``: the accuracy
    is measured on 50 test images per class with their real labels (images the
    notebook neither trains on nor selects by; its validation split comes from
    the training pool), and the base is compared with the weights the kit
    ships, never with anything the submission produced.
    """
    from tlkit import data, models

    target = data.target_task(data.load_fashion_mnist())
    held_out = data.few_shot(target.test, k=VALIDATION_PER_CLASS, seed=0)
    pretrained = models.load_base("fashion_cnn", include_top=False)
    return {"x_val": held_out.images, "y_val": held_out.labels, "base_weights_before": pretrained.get_weights()}


exercise = Exercise(
    "nb01_feature_extraction", q1=FreezeBase, q2=BuildClassifier, q3=TrainClassifier, q4=CachedFeatures
)
q1, q2, q3, q4 = (exercise[name] for name in ("q1", "q2", "q3", "q4"))
bind = exercise.bind
