"""Notebook 03 exercises: partial unfreezing, recompiling with a small learning rate, initial_epoch."""

from __future__ import annotations

import warnings

import keras
import pytest

from exercise_helpers import assert_incorrect, tiny_base, tiny_images
from tlkit.exercises import nb03_fine_tuning as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*trainable.*")


def unfreeze_top(base, count):
    base.trainable = True
    for layer in base.layers[:-count]:
        layer.trainable = False
    for layer in base.layers[-count:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


# -- q1 ------------------------------------------------------------------------------------------
def test_q1_unfreeze_only_the_top(namespace):
    base = tiny_base()  # conv, bn, flatten, features
    namespace.update(base=PLACEHOLDER, n_unfrozen=3)
    assert ex.q1.check().status == "not_attempted"
    namespace["base"] = base
    unfreeze_top(base, 3)
    assert ex.q1.check().status == "correct"


def test_q1_batchnorm_unfrozen_with_the_top(namespace):
    base = tiny_base()
    namespace.update(base=base, n_unfrozen=3)
    base.trainable = True
    base.get_layer("conv").trainable = False
    assert_incorrect(ex.q1, ex.q1.check(), "(bn)", "still trainable", hint="batchnorm")


def test_q1_forgot_to_make_the_base_trainable_or_unfroze_everything(namespace):
    base = tiny_base()
    namespace.update(base=base, n_unfrozen=1)
    base.trainable = False
    base.get_layer("features").trainable = True  # no effect while base.trainable is False
    assert_incorrect(ex.q1, ex.q1.check(), "`base.trainable` is False", hint="parent_frozen")
    base.trainable = True  # now everything trains, the lower layers too
    base.get_layer("bn").trainable = False
    assert_incorrect(ex.q1, ex.q1.check(), "base.layers[:-1]", "'conv' (index 0)", hint="too_few_frozen")
    namespace["base"] = "base"
    assert_incorrect(ex.q1, ex.q1.check(), "should be a Keras model, but it is a str", hint="type")


# -- q2 and q3 share a trained phase-1 model -------------------------------------------------------
@pytest.fixture
def phase1(namespace):
    images, labels = tiny_images(20)
    base = tiny_base()
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(5, activation="softmax", name="head")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    history = model.fit(images, labels, epochs=2, verbose=0)
    namespace.update(base=base, model=model, history=history)
    return base, model, images, labels


def test_q2_correct_recompile(namespace, phase1):
    base, model, _, _ = phase1
    unfreeze_top(base, 1)
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
    assert ex.q2.check().status == "correct"
    namespace["phase1_learning_rate"] = 1e-1
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    assert ex.q2.check().status == "correct"  # 100x below a phase-1 rate of 0.1


def test_q2_forgot_to_unfreeze(namespace, phase1):
    _, model, _, _ = phase1
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "no layer of `base` is trainable", "would only train the head", hint="unfreeze")


def test_q2_unfroze_without_recompiling(namespace, phase1):
    base, _, _, _ = phase1
    unfreeze_top(base, 1)
    assert_incorrect(ex.q2, ex.q2.check(), "was not compiled again", "would never be trained", hint="recompile")


def test_q2_learning_rate_too_large_or_too_small(namespace, phase1):
    base, model, _, _ = phase1
    unfreeze_top(base, 1)
    model.compile("adam", "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "learning rate of `model` is 0.001; keep it at most 0.0001",
                     hint="lr_too_large")
    model.compile(keras.optimizers.Adam(1e-8), "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "is 1e-08; below 1e-05", hint="lr_too_small")
    namespace["model"] = PLACEHOLDER
    assert ex.q2.check().status == "not_attempted"


def test_q3_initial_epoch(namespace, phase1):
    base, model, images, labels = phase1
    namespace["history_fine"] = PLACEHOLDER
    assert ex.q3.check().status == "not_attempted"
    unfreeze_top(base, 1)
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
    namespace["history_fine"] = model.fit(images, labels, epochs=3, initial_epoch=2, verbose=0)
    assert ex.q3.check().status == "correct"
    namespace["history_fine"] = model.fit(images, labels, epochs=1, verbose=0)
    assert_incorrect(ex.q3, ex.q3.check(), "starts at epoch 0", "initial_epoch=2", hint="initial_epoch")
    namespace["history_fine"] = model.fit(images, labels, epochs=2, initial_epoch=2, verbose=0)
    assert_incorrect(ex.q3, ex.q3.check(), "trained no epoch", "epochs=2", hint="epochs_total")
    namespace["history_fine"] = {"loss": [0.5]}
    assert_incorrect(ex.q3, ex.q3.check(), "should be the History returned by model.fit", hint="type")


@pytest.mark.parametrize("reduction", [10, 100])
def test_q2_accepts_10_to_100_times_less_than_phase1(namespace, phase1, reduction):
    """Notebook 03 asks for a rate 10 to 100 times smaller than phase 1's 1e-2."""
    base, model, _, _ = phase1
    namespace["phase1_learning_rate"] = 1e-2
    unfreeze_top(base, 1)
    model.compile(keras.optimizers.Adam(1e-2 / reduction), "sparse_categorical_crossentropy")
    result = ex.q2.check()
    assert result.status == "correct", result.message


def test_q2_rejects_1000_times_less_than_phase1(namespace, phase1):
    base, model, _, _ = phase1
    namespace["phase1_learning_rate"] = 1e-2
    unfreeze_top(base, 1)
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "is 1e-05; below 0.0001", "phase 1 used 0.01", "10 to 100 times less",
                     hint="lr_too_small")
    model.compile(keras.optimizers.Adam(5e-3), "sparse_categorical_crossentropy")
    assert_incorrect(ex.q2, ex.q2.check(), "is 0.005; keep it at most 0.001", hint="lr_too_large")


def test_q2_hints_and_solution_stay_within_10_to_100_times_less():
    """The hints and the solution must not suggest a rate outside the range the check accepts."""
    import re

    phase1 = 1e-2
    for text in [ex.q2.solution_code()] + [text for _, text in ex.q2.hints]:
        assert "1e-5" not in text and "1000" not in text, text
        for divisor in re.findall(r"phase1_learning_rate\s*/\s*(\d+)", text):
            assert 10 <= int(divisor) <= 100, text
    namespace = {"phase1_learning_rate": phase1}
    code = ex.q2.solution_code().replace("model.compile(", "compiled = dict(").replace("keras.optimizers.Adam(", "dict(")
    exec(code, namespace)
    assert phase1 / 100 <= namespace["compiled"]["optimizer"]["learning_rate"] <= phase1 / 10
