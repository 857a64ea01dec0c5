"""Notebook 01 exercises: right answers pass, placeholders are not attempted, typical mistakes fail."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from exercise_helpers import assert_incorrect, tiny_base, tiny_images
from tlkit.exercises import nb01_feature_extraction as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*trainable.*")


def softmax_model(base, units=5):
    return keras.Sequential([base, keras.layers.Dense(units, activation="softmax", name="head")])


# -- q1: freeze the base ----------------------------------------------------------------------------
def test_q1_correct_placeholder_and_mistakes(namespace):
    namespace["base"] = PLACEHOLDER
    assert ex.q1.check().status == "not_attempted"
    namespace["base"] = tiny_base()
    assert_incorrect(ex.q1, ex.q1.check(), "still has 6 trainable weight tensors", "conv, bn, features", hint="freeze")
    namespace["base"] = namespace["base"].layers
    assert_incorrect(ex.q1, ex.q1.check(), "should be a Keras model, but it is a list", hint="type")
    base = tiny_base()
    base.trainable = False
    namespace["base"] = base
    assert ex.q1.check().status == "correct"


# -- q2: build the classifier ------------------------------------------------------------------------
@pytest.fixture
def frozen_base(namespace):
    base = tiny_base()
    base.trainable = False
    namespace["base"] = base
    return base


def test_q2_accepts_softmax_and_accepts_logits_with_from_logits(namespace, frozen_base):
    namespace["model"] = softmax_model(frozen_base)
    assert ex.q2.check().status == "correct"
    logits = keras.Sequential([frozen_base, keras.layers.Dense(5)])
    logits.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    namespace["model"] = logits
    assert ex.q2.check().status == "correct"


def test_q2_placeholder_is_not_attempted(namespace, frozen_base):
    namespace["model"] = "____"
    assert ex.q2.check().status == "not_attempted"


def test_q2_wrong_head_size(namespace, frozen_base):
    namespace["model"] = softmax_model(frozen_base, units=10)
    assert_incorrect(ex.q2, ex.q2.check(), "your head has 10 units; the target has 5 classes", hint="head_units")


def test_q2_from_logits_mismatches(namespace, frozen_base):
    model = softmax_model(frozen_base)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    namespace["model"] = model
    assert_incorrect(ex.q2, ex.q2.check(), "applies softmax", "from_logits=True", hint="from_logits")
    logits = keras.Sequential([frozen_base, keras.layers.Dense(5)])
    namespace["model"] = logits
    assert_incorrect(ex.q2, ex.q2.check(), "outputs logits", hint="from_logits")
    namespace["model"] = keras.Sequential([frozen_base, keras.layers.Dense(5, activation="sigmoid")])
    namespace["model"].compile("adam", "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "sigmoid", "5-class", hint="from_logits")


def test_q2_a_copy_of_the_base_or_an_unfrozen_base_fails(namespace, frozen_base):
    namespace["model"] = softmax_model(tiny_base(seed=1))
    assert_incorrect(ex.q2, ex.q2.check(), "does not contain `base`", hint="reuse_base")
    frozen_base.trainable = True
    namespace["model"] = softmax_model(frozen_base)
    assert_incorrect(ex.q2, ex.q2.check(), "`base` still has 6 trainable weight tensors", hint="freeze")


def test_q2_wrong_type_is_a_clear_incorrect(namespace, frozen_base):
    namespace["model"] = {"layers": [frozen_base]}
    assert_incorrect(ex.q2, ex.q2.check(), "should be a Keras model, but it is a dict", hint="type")


# -- q3: train to a threshold with the base unchanged -------------------------------------------------
@pytest.fixture
def data(namespace):
    images, labels = tiny_images(100)
    namespace["x_val"], namespace["y_val"] = tiny_images(50, seed=1)
    return images, labels


def test_q3_trained_model_passes_and_a_stale_compile_that_moved_the_base_fails(namespace, frozen_base, data):
    images, labels = data
    model = softmax_model(frozen_base)
    namespace["model"] = model
    namespace["base_weights_before"] = frozen_base.get_weights()
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    assert_incorrect(ex.q3, ex.q3.check(), "has not been trained", hint="not_trained")
    model.fit(images, labels, epochs=30, verbose=0)
    ex.q3.threshold = 0.8
    assert ex.q3.check().status == "correct"
    ex.q3.threshold = 1.01
    assert_incorrect(ex.q3, ex.q3.check(), "accuracy on the held-out data; reach at least 1.01", hint="accuracy")
    ex.q3.threshold = 0.0
    # the classic bug: unfreeze after compile+fit... then the base is trained with stale flags
    moved = tiny_base()
    namespace["base"] = moved
    namespace["base_weights_before"] = moved.get_weights()
    stale = softmax_model(moved)
    stale.compile("adam", "sparse_categorical_crossentropy")
    stale.fit(images[:10], labels[:10], verbose=0)
    moved.trainable = False  # too late: no recompile, so fit still trains the base
    stale.fit(images[:10], labels[:10], verbose=0)
    namespace["model"] = stale
    assert_incorrect(ex.q3, ex.q3.check(), "weight tensors of `base` changed during training", hint="frozen_changed")


def test_q3_wrong_validation_shape_and_uncompiled_model(namespace, frozen_base, data):
    model = softmax_model(frozen_base)
    namespace["model"] = model
    assert_incorrect(ex.q3, ex.q3.check(), "is not compiled", hint="compile")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.optimizer.iterations.assign(1)
    namespace["x_val"] = np.zeros((4, 28, 28))
    result = ex.q3.check()
    assert result.status == "incorrect" and "expects inputs of shape (batch, 28, 28, 1)" in result.message


# -- q4: cached features --------------------------------------------------------------------------
def test_q4_cached_features(namespace, frozen_base, data):
    images, _ = data
    namespace["x_train"] = images
    namespace["train_features"] = PLACEHOLDER
    assert ex.q4.check().status == "not_attempted"
    namespace["train_features"] = frozen_base.predict(images, verbose=0)
    assert ex.q4.check().status == "correct"
    namespace["train_features"] = softmax_model(frozen_base).predict(images, verbose=0)
    assert_incorrect(ex.q4, ex.q4.check(), "has 5 columns, but the base outputs 8 features", hint="use_base")
    namespace["train_features"] = frozen_base.predict(images[:20], verbose=0)
    assert_incorrect(ex.q4, ex.q4.check(), "has 20 rows; x_train has 100 images", hint="all_images")
    namespace["train_features"] = frozen_base.predict(images / 255.0, verbose=0)
    assert_incorrect(ex.q4, ex.q4.check(), "values of `train_features` differ", hint="values")
    namespace["train_features"] = list(frozen_base.predict(images, verbose=0))
    assert_incorrect(ex.q4, ex.q4.check(), "should be one array, but it is a list", hint="type")
