"""Tests of tlkit.heads.add_head."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit.errors import InputShapeError, UnknownNameError  # noqa: E402
from tlkit.heads import HeadArgumentError, add_head  # noqa: E402


def map_base():
    """A base whose output is feature maps (batch, 3, 3, 4)."""
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv"), keras.layers.MaxPooling2D(2, name="pool")],
        name="map_base",
    )


def vector_base():
    """A base whose output is a feature vector (batch, 6), with BatchNormalization."""
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(6, name="features"),
        ],
        name="vector_base",
    )


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_feature_maps_get_global_average_pooling_and_the_full_head():
    base = map_base()
    model = add_head(base, 5, hidden_units=(16, 8), dropout=0.25)
    assert layer_types(model) == [
        "InputLayer", "Sequential", "GlobalAveragePooling2D", "Dense", "Dense", "Dropout", "Dense",
    ]
    assert model.name == "map_base_classifier"
    assert model.get_layer("head_dropout").rate == 0.25
    assert model.get_layer("head_dense_1").activation is keras.activations.relu
    assert model.output_shape == (None, 5)
    assert model.get_layer("map_base") is base, "the base is shared, not copied"
    probabilities = model.predict(np.zeros((2, 8, 8, 1), "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_feature_vector_base_gets_no_pooling_and_no_dropout_by_default():
    model = add_head(vector_base(), 3, name="target")
    assert layer_types(model) == ["InputLayer", "Sequential", "Dense"]
    assert model.name == "target"
    assert model.get_layer("head_output").count_params() == 6 * 3 + 3


@pytest.mark.parametrize("activation", [None, "linear"])
def test_no_activation_means_logits(activation):
    model = add_head(vector_base(), 4, activation=activation)
    assert model.get_layer("head_output").activation is keras.activations.linear


def fit_once(model):
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(0).random((8, 8, 8, 1), dtype=np.float32) * 10
    model.fit(images, np.arange(8) % 3, epochs=1, verbose=0)


def test_base_call_records_training_false():
    base = vector_base()
    model = add_head(base, 3)
    node_arguments = model.get_layer("vector_base")._inbound_nodes[0].arguments.kwargs
    assert node_arguments.get("training") is False
    assert "training" not in add_head(vector_base(), 3, base_training=None).get_layer(
        "vector_base"
    )._inbound_nodes[0].arguments.kwargs


def test_frozen_batchnorm_keeps_its_statistics_after_unfreezing_the_base():
    from tlkit.freezing import unfreeze

    base = vector_base()
    model = add_head(base, 3)
    unfreeze(model)  # keep_batchnorm_frozen=True by default
    moving_mean = base.get_layer("bn").moving_mean.numpy().copy()
    fit_once(model)
    np.testing.assert_array_equal(base.get_layer("bn").moving_mean.numpy(), moving_mean)


def test_keras_fit_overrides_training_false_when_batchnorm_is_trainable():
    # Documents the Keras 3 behaviour the add_head docstring warns about:
    # the recorded training=False does not survive fit, trainable=False does.
    base = vector_base()
    model = add_head(base, 3, base_training=False)
    moving_mean = base.get_layer("bn").moving_mean.numpy().copy()
    fit_once(model)
    assert not np.array_equal(base.get_layer("bn").moving_mean.numpy(), moving_mean)


def test_input_shape_is_needed_for_a_base_without_one():
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3)], name="unbuilt")
    with pytest.raises(InputShapeError, match="input_shape"):
        add_head(unbuilt, 2)
    model = add_head(unbuilt, 2, input_shape=(8, 8, 1))
    assert model.input_shape == (None, 8, 8, 1)
    with pytest.raises(InputShapeError, match=r"\(8, 8, 1\)"):
        add_head(map_base(), 2, input_shape=(9, 9, 1))


def test_a_sequence_output_is_rejected():
    base = keras.Sequential([keras.Input((5, 4)), keras.layers.Dense(3)], name="sequence")
    with pytest.raises(InputShapeError, match="sequence"):
        add_head(base, 2)


@pytest.mark.parametrize(
    "arguments",
    [
        {"num_classes": 1},
        {"num_classes": 2.0},
        {"num_classes": True},
        {"num_classes": 3, "dropout": 1.0},
        {"num_classes": 3, "dropout": -0.1},
        {"num_classes": 3, "dropout": "0.5"},
        {"num_classes": 3, "hidden_units": (16, 0)},
        {"num_classes": 3, "hidden_units": "16"},
        {"num_classes": 3, "activation": 3},
        {"num_classes": 3, "base_training": "no"},
        {"num_classes": 3, "name": 5},
    ],
)
def test_bad_arguments_raise_head_argument_error(arguments):
    with pytest.raises(HeadArgumentError):
        add_head(map_base(), **arguments)


def test_unknown_activation_and_non_model_base():
    with pytest.raises(UnknownNameError, match="softmaxx"):
        add_head(map_base(), 3, activation="softmaxx")
    with pytest.raises(HeadArgumentError, match="Keras model"):
        add_head("mobilenet", 3)


def test_a_single_int_is_one_hidden_layer():
    model = add_head(vector_base(), 3, hidden_units=10)
    assert model.get_layer("head_dense_1").units == 10


def test_output_name_preprocessing_and_a_kept_dropout_layer():
    shift = keras.layers.RandomTranslation(0.1, 0.1, name="shift")
    model = add_head(vector_base(), 3, output_name="head", preprocessing=shift, keep_dropout_layer=True)
    assert [layer.name for layer in model.layers] == ["image", "shift", "vector_base", "head_dropout", "head"]
    assert model.get_layer("head_dropout").rate == 0.0
    assert [layer.name for layer in add_head(vector_base(), 3).layers][-1] == "head_output"


@pytest.mark.parametrize("arguments, words", [({"output_name": ""}, "output_name"), ({"preprocessing": "shift"}, "preprocessing")])
def test_bad_output_name_or_preprocessing(arguments, words):
    with pytest.raises(HeadArgumentError, match=words):
        add_head(vector_base(), 3, **arguments)
