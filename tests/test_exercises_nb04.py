"""Notebook 04 exercises: right answers pass, placeholders are not attempted, typical mistakes fail."""

from __future__ import annotations

import warnings

import keras
import numpy as np

from exercise_helpers import assert_incorrect
from tlkit import negative_transfer
from tlkit.exercises import nb04_negative_transfer as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*trainable.*")


# -- q1: the gap from two error rates --------------------------------------------------------------
def test_q1_gap_and_verdict(namespace):
    namespace.update(frozen_error=0.30, scratch_error=0.20, ntg=PLACEHOLDER, is_negative_transfer=PLACEHOLDER)
    assert ex.q1.check().status == "not_attempted"
    namespace.update(ntg=0.30 - 0.20, is_negative_transfer=True)
    assert ex.q1.check().status == "correct"
    namespace.update(ntg=0.20 - 0.30)
    assert_incorrect(ex.q1, ex.q1.check(), "opposite sign", hint="sign")
    namespace.update(ntg=0.70 - 0.80)  # accuracies subtracted: the same wrong sign
    assert_incorrect(ex.q1, ex.q1.check(), "opposite sign", hint="sign")
    namespace.update(ntg=0.30)
    assert_incorrect(ex.q1, ex.q1.check(), "a single error or accuracy", hint="definition")
    namespace.update(ntg=0.1, is_negative_transfer=False)
    assert_incorrect(ex.q1, ex.q1.check(), "should be True", hint="verdict")
    namespace.update(is_negative_transfer="yes")
    assert_incorrect(ex.q1, ex.q1.check(), "single True or False", hint="type")
    namespace.update(ntg=[0.1])
    assert_incorrect(ex.q1, ex.q1.check(), "should be one number, but it is a list", hint="type")


def test_q1_positive_transfer_is_not_negative(namespace):
    namespace.update(frozen_error=0.10, scratch_error=0.20, ntg=-0.1, is_negative_transfer=False)
    assert ex.q1.check().status == "correct"


# -- q2: the gap over seeds --------------------------------------------------------------------------
def test_q2_interval_from_paired_errors(namespace):
    frozen, scratch = [0.60, 0.55, 0.62], [0.80, 0.82, 0.79]
    namespace.update(frozen_accuracies=frozen, scratch_accuracies=scratch, gap_estimate=PLACEHOLDER)
    assert ex.q2.check().status == "not_attempted"
    namespace["gap_estimate"] = negative_transfer.gap_with_interval(1 - np.array(frozen), 1 - np.array(scratch))
    assert ex.q2.check().status == "correct"
    namespace["gap_estimate"] = negative_transfer.gap_with_interval(frozen, scratch)
    assert_incorrect(ex.q2, ex.q2.check(), "opposite sign", "accuracies instead of errors", hint="errors")
    namespace["gap_estimate"] = negative_transfer.gap_with_interval(1 - np.array(frozen), 1 - np.array(scratch[::-1]))
    assert_incorrect(ex.q2, ex.q2.check(), "not paired", hint="pairing")
    namespace["gap_estimate"] = negative_transfer.gap_with_interval([0.4, 0.45], [0.2, 0.18])
    assert_incorrect(ex.q2, ex.q2.check(), "computed from 2 seeds; the notebook has 3", hint="pairing")
    namespace["gap_estimate"] = 0.21
    assert_incorrect(ex.q2, ex.q2.check(), "should be a GapEstimate, but it is a float", hint="type")


# -- q3: choose on validation data, against scratch ---------------------------------------------------
def test_q3_choice(namespace):
    namespace.update(
        validation_accuracy={"scratch": 0.80, "frozen": 0.60, "partial": 0.78},
        test_accuracy={"scratch": 0.79, "frozen": 0.58, "partial": 0.81},
        chosen_strategy=PLACEHOLDER,
    )
    assert ex.q3.check().status == "not_attempted"
    namespace["chosen_strategy"] = "scratch"
    assert ex.q3.check().status == "correct"
    namespace["chosen_strategy"] = "partial"
    assert_incorrect(ex.q3, ex.q3.check(), "best *test* accuracy", hint="validation")
    namespace["test_accuracy"] = {"scratch": 0.82, "frozen": 0.58, "partial": 0.81}
    assert_incorrect(ex.q3, ex.q3.check(), "scratch scores higher on validation", hint="baseline")
    namespace["chosen_strategy"] = "frozen"
    assert_incorrect(ex.q3, ex.q3.check(), "'frozen' scores 0.600", hint="validation")
    namespace["chosen_strategy"] = "fine-tune"
    assert_incorrect(ex.q3, ex.q3.check(), "should be one of ['scratch', 'frozen', 'partial']", hint="type")


# -- q4: freeze the convolutions only -----------------------------------------------------------------
def tiny_kit_base():
    """A miniature of the kit's base: conv, BatchNormalization, flatten and the Dense 'features' layer last."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, use_bias=False, name="block1_conv1")(inputs)
    x = keras.layers.BatchNormalization(name="block1_conv1_bn")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(4, activation="relu", name="features")(x)
    return keras.Model(inputs, outputs, name="fashion_cnn_base")


def test_q4_only_features_trains(namespace):
    namespace["base"] = PLACEHOLDER
    assert ex.q4.check().status == "not_attempted"
    base = tiny_kit_base()
    for layer in base.layers:
        layer.trainable = layer.name == "features"
    namespace["base"] = base
    assert ex.q4.check().status == "correct"
    base.trainable = False  # the whole base frozen: the setting that transferred negatively
    assert_incorrect(ex.q4, ex.q4.check(), "only the layers below 'features' should be frozen", "'features'",
                     hint="too_many_frozen")
    fresh = tiny_kit_base()  # nothing frozen
    namespace["base"] = fresh
    assert_incorrect(ex.q4, ex.q4.check(), "should all be frozen", "'block1_conv1'", hint="too_few_frozen")
    namespace["base"] = "fashion_cnn"
    assert_incorrect(ex.q4, ex.q4.check(), "should be a Keras model", hint="type")
