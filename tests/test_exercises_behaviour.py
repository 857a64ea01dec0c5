"""Checks judge behaviour, not flags (issue 17, item 3).

Each class of answer a hostile-student review found wrongly accepted is
rejected here with a specific hint, and each class wrongly rejected is
accepted: freezing by variables, BatchNormalization re-enabled inside a
frozen parent, snapshots of live references, subclassed and functional
models, sparse labels of shape (n, 1) and one-hot labels.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from exercise_helpers import CLASSES, assert_incorrect, tiny_base, tiny_images
from tlkit import layer_transfer
from tlkit.exercises import nb01_feature_extraction as nb01
from tlkit.exercises import nb02_freezing as nb02
from tlkit.exercises import nb03_fine_tuning as nb03
from tlkit.exercises import nb05_layer_choice as nb05
from tlkit.exercises import predicates as check
from tlkit.exercises.behaviour import input_shape_of, output_shape_of, training_step_effects

warnings.filterwarnings("ignore", message=".*trainable.*")


def freeze_variables_only(model):
    """The hostile answer: mark every variable non-trainable, leave every layer's own flag True."""
    for variable in model.weights:
        variable.trainable = False


def bound(exercise):
    namespace = {}
    exercise.bind(namespace)
    return namespace


class SubclassedClassifier(keras.Model):
    """A classifier in the subclassing style: no keras.Input, no output_shape."""

    def __init__(self, base, softmax_in_call=False):
        super().__init__()
        self.base = base
        self.head = keras.layers.Dense(CLASSES, activation=None if softmax_in_call else "softmax")
        self.softmax_in_call = softmax_in_call

    def call(self, images, training=False):
        outputs = self.head(self.base(images, training=training))
        return keras.ops.softmax(outputs) if self.softmax_in_call else outputs


# -- the training step itself -----------------------------------------------------------------------
def test_the_step_leaves_the_model_and_its_optimizer_exactly_as_they_were():
    base = tiny_base()
    model = keras.Sequential([base, keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    before = [weight.copy() for weight in model.get_weights()]
    effects = training_step_effects(model)
    assert effects.problem is None and effects.moved  # everything trains here
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert int(np.asarray(model.optimizer.iterations)) == 0 and not model.optimizer.built


def test_variable_level_freezing_still_moves_batchnorm_statistics_and_layer_freezing_does_not():
    variables_only = tiny_base()
    freeze_variables_only(variables_only)
    assert not variables_only.trainable_weights  # the flags say "frozen"...
    moved = [layer.name for layer in check.steps_moving(variables_only)]
    assert moved == ["bn"]  # ...but fit would overwrite the moving mean and variance
    frozen = tiny_base()
    frozen.trainable = False
    assert check.steps_moving(frozen) == []


def test_a_tiny_learning_rate_cannot_hide_a_trainable_weight():
    model = keras.Sequential([tiny_base(), keras.layers.Dense(CLASSES)])
    model.compile(keras.optimizers.SGD(1e-30), "mse")
    assert {layer.name for layer in check.steps_moving(model)} >= {"conv", "features"}


# -- wrongly accepted, now rejected ---------------------------------------------------------------------
def test_nb01_q1_rejects_a_base_frozen_by_its_variables():
    namespace = bound(nb01)
    base = tiny_base()
    freeze_variables_only(base)
    namespace["base"] = base
    assert_incorrect(nb01.q1, nb01.q1.check(), "no trainable weights", "moving mean and variance of bn",
                     "not on their variables", hint="freeze")


def test_nb01_q2_rejects_a_base_frozen_by_its_variables_inside_the_classifier():
    namespace = bound(nb01)
    base = tiny_base()
    freeze_variables_only(base)
    namespace["base"] = base
    namespace["model"] = keras.Sequential([base, keras.layers.Dense(CLASSES, activation="softmax")])
    assert_incorrect(nb01.q2, nb01.q2.check(), "moving mean and variance of bn", hint="freeze")


def test_nb02_q1_rejects_batchnorm_frozen_by_its_variables_or_re_enabled_inside_a_frozen_base():
    namespace = bound(nb02)
    base = tiny_base()
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            freeze_variables_only(layer)
        else:
            layer.trainable = False
    namespace["base"] = base
    assert_incorrect(nb02.q1, nb02.q1.check(), "of bn", "no trainable weights", "moving mean", hint="batchnorm")
    nested = tiny_base()
    nested.trainable = False
    nested.get_layer("bn").trainable = True  # the parent's False does not stop BN's training mode
    namespace["base"] = nested
    assert_incorrect(nb02.q1, nb02.q1.check(), "moving mean and variance of bn", hint="batchnorm")


def test_nb02_q3_rejects_all_but_last_k_frozen_by_variables():
    namespace = bound(nb02)
    base = tiny_base()
    model = keras.Sequential([keras.Input((28, 28, 1))] + base.layers
                             + [keras.layers.Dense(CLASSES, activation="softmax", name="head")])
    namespace.update(model=model, k=2)
    for layer in model.layers[:-2]:
        freeze_variables_only(layer)
    assert_incorrect(nb02.q3, nb02.q3.check(), "no flag says", "'bn' (index 1)", "moving mean",
                     hint="too_few_frozen")


def test_nb02_q2_rejects_a_snapshot_of_live_variables_and_says_what_the_checks_own_copy_shows():
    namespace = bound(nb02)
    base = tiny_base()
    base.trainable = False
    namespace["base"] = base
    assert nb02.q1.check().status == "correct"  # the exercise keeps its own copy here
    live = base.weights
    base.get_layer("conv").kernel.assign(base.get_layer("conv").kernel + 1.0)  # "training" moved the base
    namespace.update(base_weights_before=live,
                     weights_unchanged=all(np.array_equal(np.asarray(a), np.asarray(b))
                                           for a, b in zip(live, base.get_weights())))
    assert namespace["weights_unchanged"] is True  # the live snapshot "proves" nothing moved
    result = nb02.q2.check()
    assert_incorrect(nb02.q2, result, "holds the variables themselves", "get_weights()",
                     "the base moved", hint="snapshot")
    for snapshot in ({v.path: v for v in base.weights}, list(base.weights[:2]) + base.get_weights()[2:]):
        namespace["base_weights_before"] = snapshot
        assert nb02.q2.check().hint_key == "snapshot"


def test_nb01_q3_judges_from_its_own_copy_when_the_students_snapshot_is_live():
    namespace = bound(nb01)
    images, labels = tiny_images(100)
    namespace["x_val"], namespace["y_val"] = tiny_images(50, seed=1)
    base = tiny_base()
    base.trainable = False
    namespace["base"] = base
    model = keras.Sequential([base, keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    namespace["model"] = model
    nb01.q3.threshold = 0.0
    try:
        namespace["base_weights_before"] = base.weights  # live references and no copy of the check's own yet
        model.fit(images[:10], labels[:10], verbose=0)
        assert_incorrect(nb01.q3, nb01.q3.check(), "holds the variables themselves", hint="snapshot")
        assert nb01.q1.check().status == "correct"  # now the exercise has its own copy
        model.fit(images[:10], labels[:10], verbose=0)
        result = nb01.q3.check()
        assert result.status == "correct" and "holds the variables themselves" in result.message
        assert "the base did not move" in result.message
        base.get_layer("conv").kernel.assign(base.get_layer("conv").kernel + 1.0)
        assert_incorrect(nb01.q3, nb01.q3.check(), "changed during training", "holds the variables themselves",
                         hint="frozen_changed")
    finally:
        nb01.q3.threshold = nb01.ACCURACY_THRESHOLD


def test_predicate_refuses_live_snapshots_of_every_form():
    base = tiny_base()
    for snapshot in (base.weights, tuple(base.weights), {v.path: v for v in base.weights},
                     [keras.ops.convert_to_tensor(v) for v in base.weights]):
        failure = check.weights_unchanged(base, snapshot, "base", "base_weights_before")
        assert failure is not None and failure.hint_key == "snapshot", snapshot
    assert check.weights_unchanged(base, base.get_weights(), "base") is None
    assert check.weights_unchanged(base, [np.array(v) for v in base.weights], "base") is None


# -- wrongly rejected, now accepted ---------------------------------------------------------------------
def test_nb02_q1_and_nb03_q1_accept_layer_freezing_inside_nested_models():
    namespace = bound(nb03)
    base = tiny_base()
    base.trainable = True
    for layer in base.layers[:-1]:
        layer.trainable = False
    namespace.update(base=base, n_unfrozen=1)
    assert nb03.q1.check().status == "correct"
    namespace = bound(nb02)
    outer = keras.Sequential([keras.Input((28, 28, 1)), tiny_base()])
    outer.trainable = False  # the parent freezes the nested base, BatchNormalization included
    namespace["base"] = outer
    assert nb02.q1.check().status == "correct"


def test_nb05_q2_accepts_weight_layers_frozen_by_their_variables_when_nothing_moves():
    keras.utils.set_random_seed(0)
    anb = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="conv1"),
                            keras.layers.Flatten(), keras.layers.Dense(4, name="dense1"),
                            keras.layers.Dense(3, name="dense2"), keras.layers.Dense(2, activation="softmax")])
    namespace = bound(nb05)
    namespace.update(anb=anb, n=2)
    for layer in layer_transfer.weight_layers(anb)[:2]:
        freeze_variables_only(layer)  # no BatchNormalization: a training step leaves them exactly as they were
    assert nb05.q2.check().status == "correct"


@pytest.mark.parametrize("style", ["functional", "subclassed", "subclassed-softmax-in-call"])
def test_nb01_q2_accepts_every_keras_style(style):
    namespace = bound(nb01)
    base = tiny_base()
    base.trainable = False
    namespace["base"] = base
    if style == "functional":
        inputs = keras.Input((28, 28, 1))
        model = keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(base(inputs)))
    else:
        model = SubclassedClassifier(base, softmax_in_call=style.endswith("in-call"))
        model(np.zeros((1, 28, 28, 1), "float32"))
    namespace["model"] = model
    result = nb01.q2.check()
    assert result.status == "correct", result.message
    assert output_shape_of(model) == (None, CLASSES) and input_shape_of(model) == (None, 28, 28, 1)


def test_nb01_q2_rejects_a_subclassed_model_with_a_wrong_head_by_its_real_output():
    namespace = bound(nb01)
    base = tiny_base()
    base.trainable = False
    model = SubclassedClassifier(base)
    model.head = keras.layers.Dense(7, activation="softmax")
    model(np.zeros((1, 28, 28, 1), "float32"))
    namespace.update(base=base, model=model)
    assert_incorrect(nb01.q2, nb01.q2.check(), "your head has 7 units", hint="head_units")


@pytest.fixture(scope="module")
def trained_subclassed():
    images, labels = tiny_images(100)
    base = tiny_base()
    base.trainable = False
    model = SubclassedClassifier(base)
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=30, verbose=0)
    return base, model


@pytest.mark.parametrize("labels", ["sparse", "sparse (n, 1)", "one-hot"])
def test_nb01_q3_accepts_a_trained_subclassed_model_and_every_valid_label_shape(trained_subclassed, labels):
    base, model = trained_subclassed
    namespace = bound(nb01)
    x_val, y_val = tiny_images(50, seed=1)
    if labels == "sparse (n, 1)":
        y_val = y_val.reshape(-1, 1)
    elif labels == "one-hot":
        y_val = np.eye(CLASSES, dtype="float32")[y_val]
    namespace.update(base=base, model=model, x_val=x_val, y_val=y_val,
                     base_weights_before=[np.array(v) for v in base.weights])
    result = nb01.q3.check()
    assert result.status == "correct", result.message


def test_one_hot_labels_with_a_categorical_loss_are_accepted():
    images, labels = tiny_images(100)
    base = tiny_base()
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "categorical_crossentropy")
    before = base.get_weights()
    model.fit(images, np.eye(CLASSES)[labels], epochs=30, verbose=0)
    namespace = bound(nb01)
    x_val, y_val = tiny_images(50, seed=1)
    namespace.update(base=base, model=model, x_val=x_val, y_val=np.eye(CLASSES)[y_val], base_weights_before=before)
    result = nb01.q3.check()
    assert result.status == "correct", result.message
