"""tlkit.model_structure: walking nested layers, BatchNormalization, parameter counts, declared inputs."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from tlkit import model_structure  # noqa: E402


def _nested():
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.BatchNormalization(name="bn")], name="inner"
    )
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Dense(2, name="b")(inner(inputs))
    return keras.Model(inputs, outputs, name="outer")


def test_nested_layers_walks_depth_first_without_the_model_itself():
    names = [layer.name for layer in model_structure.nested_layers(_nested())]
    assert names == ["x", "inner", "a", "bn", "b"]
    assert list(model_structure.nested_layers(keras.layers.Dense(2))) == []
    assert [layer.name for layer in model_structure.sublayers(_nested())] == ["x", "inner", "b"]


def test_is_batchnorm():
    assert model_structure.is_batchnorm(keras.layers.BatchNormalization())
    assert not model_structure.is_batchnorm(keras.layers.Dense(2))


def test_parameter_count_agrees_with_keras():
    model = _nested()
    assert model_structure.parameter_count(model.weights) == model.count_params() == 15 + 12 + 8
    assert model_structure.parameter_count([]) == 0


def test_declared_inputs():
    assert [tensor.shape[1:] for tensor in model_structure.declared_inputs(_nested())] == [(4,)]
    assert model_structure.declared_inputs(keras.Sequential([keras.layers.Dense(2)])) is None
    assert model_structure.declared_inputs(keras.layers.Dense(2)) is None
