"""Notebook 02 exercises: freezing all but the last k layers, recompiling, BatchNorm, proof of freezing."""

from __future__ import annotations

import warnings

import keras
import numpy as np

from exercise_helpers import assert_incorrect, tiny_base, tiny_images
from tlkit.exercises import nb02_freezing as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*trainable.*")


def classifier():
    """conv, bn, flatten, features (from the tiny base) + a 5-unit head: 5 layers, 4 with weights."""
    base = tiny_base()
    return keras.Sequential([keras.Input((28, 28, 1))] + base.layers + [keras.layers.Dense(5, activation="softmax", name="head")])


# -- q3 ------------------------------------------------------------------------------------------
def test_q1_all_but_last_k(namespace):
    namespace["k"] = 2
    namespace["model"] = PLACEHOLDER
    assert ex.q3.check().status == "not_attempted"
    model = classifier()
    namespace["model"] = model
    for layer in model.layers[:-2]:
        layer.trainable = False
    assert ex.q3.check().status == "correct"


def test_q1_off_by_one_and_forgotten_layers(namespace):
    namespace["k"] = 2
    model = classifier()
    namespace["model"] = model
    for layer in model.layers[:-1]:  # froze one layer too many
        layer.trainable = False
    assert_incorrect(ex.q3, ex.q3.check(), "'features' (index 3)", "are frozen", hint="too_many_frozen")
    model = classifier()
    namespace["model"] = model
    model.layers[0].trainable = False  # forgot the BatchNormalization layer
    assert_incorrect(ex.q3, ex.q3.check(), "still train: 'bn' (index 1)", hint="too_few_frozen")


def test_q1_parent_frozen_and_wrong_types(namespace):
    namespace["k"] = 2
    model = classifier()
    model.trainable = False
    for layer in model.layers[-2:]:
        layer.trainable = True
    namespace["model"] = model
    assert_incorrect(ex.q3, ex.q3.check(), "`model.trainable` is False", hint="parent_frozen")
    namespace["model"] = model.layers
    assert_incorrect(ex.q3, ex.q3.check(), "should be a Keras model", hint="type")
    namespace["model"] = classifier()
    namespace["k"] = "2"
    result = ex.q3.check()
    assert result.status == "incorrect" and "`k` should be a whole number" in result.message


# -- q4 ------------------------------------------------------------------------------------------
def test_q2_recompile_after_changing_trainable(namespace):
    images, labels = tiny_images(10)
    model = classifier()
    namespace["model"] = model
    assert_incorrect(ex.q4, ex.q4.check(), "is not compiled", hint="compile")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images, labels, verbose=0)
    for layer in model.layers[:-2]:
        layer.trainable = False
    assert_incorrect(ex.q4, ex.q4.check(), "was not compiled again", "would still be trained", hint="recompile")
    model.compile("adam", "sparse_categorical_crossentropy")
    assert ex.q4.check().status == "correct"
    namespace["model"] = "____"
    assert ex.q4.check().status == "not_attempted"


# -- q1 ------------------------------------------------------------------------------------------
def test_q3_batchnorm_in_inference_mode(namespace):
    base = tiny_base()
    namespace["base"] = base
    for layer in base.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    assert_incorrect(ex.q1, ex.q1.check(), "BatchNormalization layer", "(bn)", "moving mean", hint="batchnorm")
    base.trainable = False
    assert ex.q1.check().status == "correct"
    namespace["base"] = PLACEHOLDER
    assert ex.q1.check().status == "not_attempted"
    namespace["base"] = 3
    assert_incorrect(ex.q1, ex.q1.check(), "should be a Keras model, but it is a int", hint="type")


# -- q2 ------------------------------------------------------------------------------------------
def test_q4_the_students_comparison_must_match_the_truth(namespace):
    base = tiny_base()
    before = base.get_weights()
    namespace.update(base=base, base_weights_before=before, weights_unchanged=PLACEHOLDER)
    assert ex.q2.check().status == "not_attempted"
    namespace["weights_unchanged"] = all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    assert ex.q2.check().status == "correct"
    base.get_layer("conv").kernel.assign(base.get_layer("conv").kernel + 1.0)
    namespace["weights_unchanged"] = True  # typed what they expected instead of comparing
    assert_incorrect(ex.q2, ex.q2.check(), "is True, but 1 of 8 weight tensors of `base` changed", hint="compare")
    namespace["weights_unchanged"] = [np.array_equal(a, b) for a, b in zip(before, base.get_weights())]
    assert_incorrect(ex.q2, ex.q2.check(), "single True or False, but it is a list", hint="type")
    namespace["weights_unchanged"] = False
    assert ex.q2.check().status == "correct"
    namespace["base_weights_before"] = before[:2]
    assert_incorrect(ex.q2, ex.q2.check(), "base.get_weights() taken before training", hint="snapshot")
