"""Model-aware predicates, including the stale-compile detection proved on real training."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from tlkit.exercises import predicates as check
from tlkit.exercises.compile_state import find_stale_compile, variables_trained_by_fit

warnings.filterwarnings("ignore", message=".*trainable.*")

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = np.random.default_rng(1).random((16, 1)).astype("float32")


def two_dense():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(1, name="b")])


def layer_a_moves_during_fit(model) -> bool:
    before = model.get_layer("a").kernel.numpy().copy()
    model.fit(X, Y, epochs=1, verbose=0)
    return not np.allclose(before, model.get_layer("a").kernel.numpy())


# -- the four sequences of research.md, each checked against what fit really does ------------------
def test_compile_then_freeze_then_first_fit_is_not_stale():
    model = two_dense()
    model.compile("adam", "mse")
    model.get_layer("a").trainable = False
    assert check.compile_not_stale(model, "model") is None
    assert not layer_a_moves_during_fit(model)
    assert check.compile_not_stale(model, "model") is None


def test_fit_then_freeze_without_recompiling_is_stale_and_the_frozen_layer_still_trains():
    model = two_dense()
    model.compile("adam", "mse")
    model.fit(X, Y, verbose=0)
    model.get_layer("a").trainable = False
    failure = check.compile_not_stale(model, "model")
    assert failure is not None and failure.hint_key == "recompile"
    assert "frozen after the model was compiled and trained (in a) would still be trained" in failure.message
    assert layer_a_moves_during_fit(model)  # the detection is right: Keras ignores the new flag


def test_fit_then_unfreeze_without_recompiling_is_stale_and_the_layer_never_trains():
    model = two_dense()
    model.get_layer("a").trainable = False
    model.compile("adam", "mse")
    model.fit(X, Y, verbose=0)
    model.get_layer("a").trainable = True
    failure = check.compile_not_stale(model, "model")
    assert failure is not None and "unfrozen after the model was compiled and trained (in a) would never be trained" in failure.message
    assert not layer_a_moves_during_fit(model)


def test_recompiling_after_the_change_clears_the_staleness():
    model = two_dense()
    model.get_layer("a").trainable = False
    model.compile("adam", "mse")
    model.fit(X, Y, verbose=0)
    model.get_layer("a").trainable = True
    model.compile("adam", "mse")
    assert check.compile_not_stale(model, "model") is None
    assert layer_a_moves_during_fit(model)
    assert check.compile_not_stale(model, "model") is None
    assert variables_trained_by_fit(model).source == "graph"


def test_a_reused_optimizer_after_freezing_and_recompiling_is_not_flagged():
    model = two_dense()
    optimizer = keras.optimizers.Adam()
    model.compile(optimizer, "mse")
    model.fit(X, Y, verbose=0)
    model.get_layer("a").trainable = False
    model.compile(optimizer, "mse")
    assert not layer_a_moves_during_fit(model)
    assert find_stale_compile(model) is None


# -- trainable / frozen -------------------------------------------------------------------------
def test_frozen_layers_match_names_the_wrong_layers():
    model = two_dense()
    assert check.frozen_layers_match(model, slice(None, -1), "model", "model.layers[:-1]").hint_key == "too_few_frozen"
    model.get_layer("a").trainable = False
    assert check.frozen_layers_match(model, slice(None, -1), "model", "model.layers[:-1]") is None
    model.get_layer("b").trainable = False
    failure = check.frozen_layers_match(model, slice(None, -1), "model", "model.layers[:-1]")
    assert failure.hint_key == "too_many_frozen" and "'b' (index 1)" in failure.message
    model.trainable = False  # freezes every layer inside; b is then switched back on, which has no effect
    model.get_layer("b").trainable = True
    assert check.frozen_layers_match(model, slice(None, -1), "model", "model.layers[:-1]").hint_key == "parent_frozen"


def test_batchnorm_left_trainable_is_named():
    base = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                             keras.layers.BatchNormalization(name="bn")])
    base.get_layer("conv").trainable = False
    failure = check.batchnorm_frozen(base, "base")
    assert failure.hint_key == "batchnorm" and "1 BatchNormalization layer of the 1 in `base` is still trainable (bn)" in failure.message
    base.trainable = False
    assert check.batchnorm_frozen(base, "base") is None


# -- head, activation and loss --------------------------------------------------------------------
def head(units, activation=None):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])


def test_head_units_against_classes():
    assert check.head_matches_classes(head(5), 5, "model") is None
    failure = check.head_matches_classes(head(10), 5, "model")
    assert "your head has 10 units; the target has 5 classes" in failure.message


@pytest.mark.parametrize(
    "activation, loss, problem",
    [
        ("softmax", "sparse_categorical_crossentropy", None),
        (None, keras.losses.SparseCategoricalCrossentropy(from_logits=True), None),
        ("softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True), "softmax a second time"),
        (None, "sparse_categorical_crossentropy", "outputs logits"),
        ("sigmoid", "sparse_categorical_crossentropy", "sigmoid, but the loss is a 5-class"),
        ("relu", "categorical_crossentropy", "uses relu"),
        ("sigmoid", "binary_crossentropy", "binary cross-entropy with 5 output units"),
    ],
)
def test_output_activation_against_from_logits(activation, loss, problem):
    model = head(5, activation)
    model.compile("adam", loss)
    failure = check.activation_matches_loss(model, "model")
    if problem is None:
        assert failure is None
    else:
        assert failure.hint_key == "from_logits" and problem in failure.message


def test_learning_rate_bounds_and_schedules():
    model = head(5, "softmax")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    failure = check.learning_rate_within(model, "model", at_most=1e-4)
    assert failure.hint_key == "lr_too_large" and "is 0.001; keep it at most 0.0001" in failure.message
    schedule = keras.optimizers.schedules.ExponentialDecay(5e-5, decay_steps=10, decay_rate=0.5)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy")
    assert check.learning_rate_of(model) == pytest.approx(5e-5)
    assert check.learning_rate_within(model, "model", at_most=1e-4, at_least=1e-6) is None
    assert check.learning_rate_within(model, "model", at_least=1e-4).hint_key == "lr_too_small"


def test_accuracy_with_a_wrong_input_shape_says_so():
    model = head(5, "softmax")
    failure = check.accuracy_at_least(model, np.zeros((3, 7)), np.zeros(3), 0.5, "model")
    assert failure.hint_key == "input_shape" and "has shape (3, 7)" in failure.message


def test_accuracy_reports_the_measured_value():
    model = head(2, "softmax")
    model.layers[-1].set_weights([np.array([[1, -1]] * 4, "float32"), np.zeros(2, "float32")])
    images = np.array([[1, 1, 1, 1], [-1, -1, -1, -1]], "float32")
    assert check.accuracy_at_least(model, images, np.array([0, 1]), 1.0, "model") is None
    failure = check.accuracy_at_least(model, images, np.array([1, 1]), 0.9, "model")
    assert "reaches 0.500 accuracy" in failure.message


def test_weights_unchanged_counts_the_changed_tensors():
    model = two_dense()
    before = model.get_weights()
    assert check.weights_unchanged(model, before, "model") is None
    model.get_layer("a").kernel.assign(model.get_layer("a").kernel + 0.5)
    failure = check.weights_unchanged(model, before, "model")
    assert "1 of 4 weight tensors of `model` changed" in failure.message and "a/kernel" in failure.message
    assert check.weights_unchanged(model, before[:2], "model").hint_key == "snapshot"


def test_wrong_types_are_failures_not_exceptions():
    assert "should be a Keras model, but it is a str" in check.is_keras_model("base", "base").message
    assert check.array_shape_is(None, (2, 3), "features").hint_key == "type"
    assert check.is_bool(np.array([True, False]), "flag").hint_key == "type"
    assert check.history_continues_from([1, 2], 5, "history_fine").hint_key == "type"
    assert check.is_built(keras.Sequential([keras.layers.Dense(2)]), "model").hint_key == "build"
