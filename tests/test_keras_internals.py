"""tlkit.keras_internals: every private Keras/TensorFlow attribute tlkit reads, measured on the installed versions.

If one of these fails after a Keras or TensorFlow upgrade, the private
attribute it wraps changed: fix tlkit/keras_internals.py, nowhere else.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from tlkit import keras_internals  # noqa: E402


class _Wrapper(keras.layers.Layer):
    """A custom layer that holds another layer as an attribute (not in ``.layers``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(2, name="held_dense")

    def call(self, inputs):
        return self.inner(inputs)


def test_flattened_layers_finds_layers_held_as_attributes():
    model = keras.Sequential([keras.Input((3,)), _Wrapper(name="wrapper")], name="outer")
    names = [layer.name for layer in keras_internals.flattened_layers(model, include_self=False)]
    assert "wrapper" in names and "held_dense" in names and "outer" not in names
    assert keras_internals.flattened_layers(model)[0] is model


def test_own_trainable_kind_variables_are_weights_not_statistics_whatever_the_flag():
    batchnorm = keras.layers.BatchNormalization(name="bn")
    batchnorm.build((None, 4))
    batchnorm.trainable = False
    names = sorted(variable.name for variable in keras_internals.own_trainable_kind_variables(batchnorm))
    assert names == ["beta", "gamma"]
    assert keras_internals.own_trainable_kind_variables(keras.layers.ReLU()) == []


def test_traced_functions_list_their_graphs_and_python_function():
    def double(x):
        return 2 * x

    traced = tf.function(double)
    assert keras_internals.is_traced_function(traced) and not keras_internals.is_traced_function(double)
    assert keras_internals.concrete_functions(traced) == []
    traced(tf.constant(1.0))
    graphs = keras_internals.concrete_functions(traced)
    assert len(graphs) == 1 and hasattr(graphs[0], "graph")
    assert keras_internals.wrapped_python_function(traced) is double


def test_the_training_step_keras_traces_is_found_through_its_closure():
    from tlkit.exercises.compile_state import variables_trained_by_fit

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    assert variables_trained_by_fit(model).source == "graph"


def test_learning_rate_variable_is_the_optimizers_learning_rate():
    optimizer = keras.optimizers.Adam(0.25)
    optimizer.build([keras.Variable(np.zeros(2, "float32"))])
    variable = keras_internals.learning_rate_variable(optimizer)
    assert any(variable is tracked for tracked in optimizer.variables)
    optimizer.learning_rate.assign(0.5)
    assert float(np.asarray(variable)) == 0.5


def test_optimizer_tracked_variables_are_the_variables_it_was_built_for():
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    assert keras_internals.optimizer_tracked_variables(model.optimizer) in (None, []) or not model.optimizer.built
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    tracked = keras_internals.optimizer_tracked_variables(model.optimizer)
    assert {variable.path for variable in tracked} == {variable.path for variable in model.trainable_variables}


def test_no_module_outside_keras_internals_reads_private_keras_attributes():
    import pathlib
    import re

    package = pathlib.Path(keras_internals.__file__).parent
    private = re.compile(r"\._flatten_layers|_trainable_variables\"|\._list_all_concrete_functions|_python_function\"|\._learning_rate\b")
    # kernel_side.py is pasted into the student's kernel as source and may import nothing of tlkit
    # (a student could patch it); its one private call is mirrored by the checker through keras_internals.
    allowed = {"keras_internals.py", "instructor/kernel_side.py"}
    offenders = [str(path.relative_to(package)) for path in package.rglob("*.py")
                 if str(path.relative_to(package)) not in allowed and private.search(path.read_text())]
    assert offenders == []


def test_a_recorded_training_step_is_read_from_the_model_it_was_attached_to_only():
    from tlkit.exercises import compile_state

    loaded = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    compile_state.record_trained_variables(loaded, ["sequential/dense/kernel"])
    assert compile_state.variables_trained_by_fit(loaded) == compile_state.TrainedVariables(
        frozenset({"sequential/dense/kernel"}), "recorded")
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.compile("sgd", "mse")
    assert compile_state.variables_trained_by_fit(other).source == "not traced"
