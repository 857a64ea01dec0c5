"""Compile a classifier the way every tlkit experiment does: Adam and sparse cross-entropy."""

from __future__ import annotations

__all__ = ["compile_classifier"]


def compile_classifier(model, learning_rate: float, metrics=("accuracy",), steps_per_execution: int = 1) -> None:
    """Compile ``model`` for integer class labels with a fresh Adam optimizer.

    Compile again after changing ``trainable`` flags: Keras reads them when it
    builds the training step.

    Parameters
    ----------
    model : keras.Model
        A classifier with a softmax output.
    learning_rate : float
        Adam's learning rate.
    metrics : sequence of str or None, default ("accuracy",)
        Metrics ``fit`` reports; ``None`` or ``()`` reports only the loss, which
        saves time when accuracy is measured afterwards anyway.
    steps_per_execution : int, default 1
        Batches per call of the training step; more saves Keras' per-call cost
        for tiny models without changing the updates.
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=list(metrics) if metrics else None,
        steps_per_execution=steps_per_execution,
    )
