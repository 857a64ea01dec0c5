"""tlkit.evaluation, tlkit.compiling and tlkit.arguments: the small shared helpers of the experiments."""

from __future__ import annotations

import types

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit import arguments, compiling, evaluation, experiments  # noqa: E402


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])


def test_accuracy_of_outputs_counts_rows_whose_top_score_is_the_label():
    outputs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert evaluation.accuracy_of_outputs(outputs, np.array([1, 0, 0, 1])) == 0.5


def test_predict_eagerly_batches_give_the_same_outputs_as_one_call():
    model = _model()
    inputs = np.random.default_rng(0).normal(size=(7, 2)).astype("float32")
    np.testing.assert_allclose(evaluation.predict_eagerly(model, inputs, batch_size=3), np.asarray(model(inputs)), rtol=1e-6)


def test_accuracy_of_a_model_on_a_split_and_the_old_names():
    model = _model()
    images = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")
    labels = np.argmax(np.asarray(model(images)), axis=1)
    split = types.SimpleNamespace(images=images, labels=labels)  # what accuracy reads of a LabelledImages
    assert evaluation.accuracy(model, split) == 1.0
    for name in ("accuracy", "predict_eagerly"):
        with pytest.warns(DeprecationWarning, match=f"tlkit.evaluation.{name}"):
            assert getattr(experiments, name) is getattr(evaluation, name)


def test_compile_classifier():
    model = _model()
    compiling.compile_classifier(model, 0.125)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(np.asarray(model.optimizer.learning_rate)) == 0.125
    assert model.loss == "sparse_categorical_crossentropy"
    quiet = _model()
    compiling.compile_classifier(quiet, 1e-3, metrics=None, steps_per_execution=4)
    assert quiet.steps_per_execution == 4


@pytest.mark.parametrize("value, expected", [(3, True), (np.int64(3), True), (True, False), (3.0, False), ("3", False)])
def test_is_integer(value, expected):
    assert arguments.is_integer(value) is expected
