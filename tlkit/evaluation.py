"""Measure a trained classifier: its outputs in inference mode, and its accuracy."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "accuracy_of_outputs", "predict_eagerly"]


def predict_eagerly(model, inputs: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Outputs of ``model`` in inference mode, batch by batch, without building a predict function.

    A grid builds dozens of small models; calling each one directly avoids tracing a new
    ``predict`` function per model (and TensorFlow's retracing warnings).
    """
    batches = [np.asarray(model(inputs[start : start + batch_size], training=False)) for start in range(0, len(inputs), batch_size)]
    return np.concatenate(batches)


def accuracy_of_outputs(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows of ``outputs`` (class scores) whose largest score is at the row's label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def accuracy(model, split) -> float:
    """Classification accuracy of ``model`` on ``split`` (a ``LabelledImages``), evaluated quietly with :func:`predict_eagerly`."""
    return accuracy_of_outputs(predict_eagerly(model, split.images), split.labels)
