"""Notebook 05 exercises: right answers pass, placeholders are not attempted, typical mistakes fail."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from exercise_helpers import assert_incorrect
from tlkit import layer_transfer
from tlkit.exercises import nb05_layer_choice as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*trainable.*")


def tiny_network(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Rescaling(1 / 255, name="rescale"),
            keras.layers.Conv2D(2, 3, name="conv1"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(4, name="dense1"),
            keras.layers.Dense(3, name="dense2"),
            keras.layers.Dense(2, activation="softmax", name="predictions"),
        ]
    )


@pytest.fixture
def namespace():
    variables = {"base_a": tiny_network(), "n": 2}
    ex.bind(variables)
    return variables


def copy_first(base_a, n, count=None):
    anb = keras.models.clone_model(base_a)
    pairs = zip(layer_transfer.weight_layers(base_a)[: count or n], layer_transfer.weight_layers(anb)[: count or n])
    for source, target in pairs:
        target.set_weights(source.get_weights())
    return anb


# -- q1: copy the first n weight layers -----------------------------------------------------------------
def test_q1_copy(namespace):
    base_a = namespace["base_a"]
    namespace["anb"] = PLACEHOLDER
    assert ex.q1.check().status == "not_attempted"
    namespace["anb"] = copy_first(base_a, 2)
    assert ex.q1.check().status == "correct"
    namespace["anb"] = copy_first(base_a, 2, count=1)
    assert_incorrect(ex.q1, ex.q1.check(), "'dense1' (weight layer 2)", hint="too_few_copied")
    namespace["anb"] = copy_first(base_a, 2, count=4)  # everything, classifier included
    assert_incorrect(ex.q1, ex.q1.check(), "'dense2', 'predictions' also hold base_a's weights", hint="too_many_copied")
    namespace["anb"] = base_a
    assert_incorrect(ex.q1, ex.q1.check(), "is `base_a` itself", hint="clone")
    namespace["anb"] = keras.Sequential([keras.Input((6, 6, 1)), *base_a.layers])
    assert_incorrect(ex.q1, ex.q1.check(), "shares the layer", hint="clone")
    namespace["anb"] = layer_transfer.build_small_cnn()
    assert_incorrect(ex.q1, ex.q1.check(), "does not have base_a's architecture", hint="architecture")
    namespace["anb"] = "AnB"
    assert_incorrect(ex.q1, ex.q1.check(), "should be a Keras model", hint="type")


# -- q2: freeze exactly the first n weight layers -------------------------------------------------------
def test_q2_freeze(namespace):
    anb = copy_first(namespace["base_a"], 2)
    namespace["anb"] = anb
    assert_incorrect(ex.q2, ex.q2.check(), "'conv1', 'dense1' still train", hint="too_few_frozen")
    for layer in layer_transfer.weight_layers(anb)[:2]:
        layer.trainable = False
    assert ex.q2.check().status == "correct"
    layer_transfer.weight_layers(anb)[2].trainable = False
    assert_incorrect(ex.q2, ex.q2.check(), "'dense2' are frozen too", hint="too_many_frozen")
    wrong = copy_first(namespace["base_a"], 2)
    for layer in wrong.layers[:2]:  # Rescaling and conv1: only one weight layer
        layer.trainable = False
    namespace["anb"] = wrong
    assert_incorrect(ex.q2, ex.q2.check(), "froze anb.layers[:2]", "1 weight layers are frozen instead of 2",
                     hint="weight_layers")
    wrong.trainable = False
    assert_incorrect(ex.q2, ex.q2.check(), "`anb.trainable` is False", hint="parent_frozen")
    namespace["n"] = 9
    namespace["anb"] = copy_first(namespace["base_a"], 2)
    result = ex.q2.check()
    assert result.status == "incorrect" and "from 1 to 3, got 9" in result.message


# -- q3: the deepest safe frozen depth --------------------------------------------------------------------
def results():
    runs = {
        "AnB": {1: [0.91, 0.91], 2: [0.905, 0.905], 3: [0.80, 0.80], 4: [0.91, 0.91]},
        "AnB+": {n: [0.92, 0.92] for n in range(1, 5)},
    }
    return layer_transfer.LayerTransferResults([1, 2, 3, 4], [0, 1], [0.91, 0.91], [0.9, 0.9], runs)


def test_q3_safe_depth(namespace):
    namespace.update(results=results(), tolerance=0.01, safe_depth=PLACEHOLDER)
    assert ex.q3.check().status == "not_attempted"
    namespace["safe_depth"] = 2
    assert ex.q3.check().status == "correct"
    namespace["safe_depth"] = 3
    assert_incorrect(ex.q3, ex.q3.check(), "at n = 3, AnB (0.800)", hint="prefix")
    namespace["safe_depth"] = 4  # AnB is fine at 4 again, but n = 3 already failed
    assert_incorrect(ex.q3, ex.q3.check(), "AnB at n = 3 is already", hint="prefix")
    namespace["safe_depth"] = 0
    assert_incorrect(ex.q3, ex.q3.check(), "`safe_depth` is 0", hint="frozen")
    namespace["safe_depth"] = 2.0
    assert_incorrect(ex.q3, ex.q3.check(), "should be a whole number, but it is a float", hint="type")
