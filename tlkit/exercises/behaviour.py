"""Judge freezing by what a training step does, not by the ``trainable`` flags.

"Frozen" is a promise about training: after a step of gradient descent, the
frozen weights are where they were, and BatchNormalization layers kept their
moving mean and variance. Flags can lie about that promise:

* ``variable.trainable = False`` on every weight of a layer removes the
  weights from ``model.trainable_weights``, but the *layer* is still
  trainable, so a BatchNormalization layer runs in training mode during
  ``fit`` and overwrites its moving statistics;
* a layer whose own flag is True inside a model whose flag is False is frozen
  (the parent wins), whatever the layer says.

:func:`training_step_effects` therefore runs one training step and reports
which variables it changed. The step is taken on the model's own variables
with a throw-away optimizer (same type and learning rate as the compiled one,
or plain SGD), on a random batch of the model's input shape; every variable
is restored bit for bit afterwards, so the student's model, its optimizer
state and its compiled training step are untouched: in effect the step runs
on a copy, but one that keeps everything a copy could lose (per-variable
flags, subclassed models, shared layers).

Like ``fit``, the step computes gradients for ``model.trainable_variables``
and calls the model with ``training=True``. A variable counts as *moved* when
its value changed or when the step applied a non-zero gradient to it (so a
tiny learning rate cannot hide a trainable weight).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["StepEffects", "input_shape_of", "output_shape_of", "training_step_effects"]

BATCH_SIZE = 4
DEFAULT_LEARNING_RATE = 0.01


def _keras():
    import keras

    return keras


def _known_shape(shape) -> tuple | None:
    try:
        shape = tuple(None if dimension is None else int(dimension) for dimension in shape)
    except (TypeError, ValueError):
        return None
    return shape if len(shape) >= 2 and all(d is not None for d in shape[1:]) else None


def input_shape_of(model, sample=None) -> tuple | None:
    """The input shape ``(None, ...)`` of a model in any Keras style, or None if it cannot be known.

    Sequential and functional models declare it (``model.inputs``); a
    subclassed ``keras.Model`` remembers the shape it was built or first
    called with. ``sample`` (an array the model takes, e.g. ``x_val``) is the
    last resort.
    """
    inputs = getattr(model, "inputs", None)
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        shape = _known_shape(getattr(inputs[0], "shape", ()))
        if shape is not None:
            return (None,) + shape[1:]
    build_shapes = getattr(model, "_build_shapes_dict", None)
    if isinstance(build_shapes, dict) and len(build_shapes) == 1:
        shape = _known_shape(next(iter(build_shapes.values())))
        if shape is not None:
            return (None,) + shape[1:]
    if sample is not None:
        shape = np.shape(sample)
        if len(shape) >= 2:
            return (None,) + tuple(int(d) for d in shape[1:])
    return None


def output_shape_of(model, sample=None) -> tuple | None:
    """The output shape ``(None, ...)`` of a model in any Keras style, or None if it cannot be known.

    Uses ``model.output_shape`` when Keras knows it (Sequential, functional),
    otherwise runs the model on two zero inputs of :func:`input_shape_of`.
    """
    try:
        shape = model.output_shape
        if isinstance(shape, tuple):
            return tuple(shape)
    except (AttributeError, ValueError, RuntimeError):
        pass
    input_shape = input_shape_of(model, sample)
    if input_shape is None:
        return None
    outputs = model(np.zeros((2,) + input_shape[1:], dtype="float32"), training=False)
    if isinstance(outputs, (list, tuple, dict)):
        return None
    return (None,) + tuple(int(d) for d in outputs.shape[1:])


@dataclass
class StepEffects:
    """What one training step did to a model's variables.

    Attributes
    ----------
    moved : set of int
        ``id()`` of every variable the step changed (value changed, or a
        non-zero gradient was applied to it).
    updated : set of int
        ``id()`` of the variables the step computed gradients for (what
        ``fit`` would hand to the optimizer).
    problem : str or None
        Why no step could be run (the shape of the input unknown, the
        forward pass failed...); then ``moved`` is empty.
    """

    moved: set = field(default_factory=set)
    updated: set = field(default_factory=set)
    problem: str | None = None

    def moved_in(self, layer) -> list:
        """The variables of ``layer`` (all of them, BatchNormalization statistics included) that moved."""
        return [variable for variable in layer.weights if id(variable) in self.moved]

    def layer_moved(self, layer) -> bool:
        return bool(self.moved_in(layer))


def _scratch_optimizer(model):
    keras = _keras()
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if optimizer is not None:
        try:
            config = optimizer.get_config()
            rate = config.get("learning_rate")
            if not isinstance(rate, (int, float)):  # a schedule: take the current rate
                config["learning_rate"] = float(np.asarray(optimizer.learning_rate))
            return type(optimizer).from_config(config)
        except Exception:  # an exotic optimizer: a plain SGD step shows the same thing
            pass
    return keras.optimizers.SGD(DEFAULT_LEARNING_RATE)


def _random_batch(input_shape, seed: int = 0):
    generator = np.random.default_rng(seed)
    return generator.uniform(0.0, 1.0, size=(BATCH_SIZE,) + tuple(input_shape[1:])).astype("float32")


def _random_targets(outputs, seed: int = 1):
    """Valid labels for the output: one-hot rows of random classes, or random numbers for other outputs."""
    generator = np.random.default_rng(seed)
    shape = tuple(int(d) for d in outputs.shape)
    if len(shape) == 2 and shape[1] > 1:
        return np.eye(shape[1], dtype="float32")[generator.integers(0, shape[1], size=shape[0])]
    return generator.uniform(0.0, 1.0, size=shape).astype("float32")


def training_step_effects(model, sample=None, seed: int = 0) -> StepEffects:
    """Run one training step on ``model`` (then undo it) and report which variables it moved.

    Parameters
    ----------
    model : keras.Model
        The model that will be trained (a whole classifier, or a base on its own).
    sample : array, optional
        Data the model takes, used only for its shape when the model does not
        declare one (some subclassed models).
    seed : int
        Seed of the random batch and labels.
    """
    keras = _keras()
    input_shape = input_shape_of(model, sample)
    if input_shape is None:
        return StepEffects(problem="the shape of its input is unknown (call it once on a batch of data)")
    import tensorflow as tf

    variables = list(model.variables)
    saved = [np.array(variable.numpy(), copy=True) for variable in variables]
    trainable = list(model.trainable_variables)
    effects = StepEffects(updated={id(variable) for variable in trainable})
    try:
        batch = _random_batch(input_shape, seed)
        with tf.GradientTape() as tape, warnings.catch_warnings():
            # a model built as Model([image], ...) expects a list; the lone array it gets here is
            # equivalent, and the warning would only show students a path inside Keras
            warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match", category=UserWarning)
            outputs = model(batch, training=True)
            if isinstance(outputs, (list, tuple)):
                outputs = outputs[0]
            if isinstance(outputs, dict):
                outputs = next(iter(outputs.values()))
            outputs = tf.cast(outputs, "float32")
            loss = tf.reduce_mean(tf.square(outputs - _random_targets(outputs, seed + 1)))
        gradients = tape.gradient(loss, trainable) if trainable else []
        pairs = [(g, v) for g, v in zip(gradients, trainable) if g is not None]
        for gradient, variable in pairs:
            if bool(tf.reduce_any(tf.not_equal(gradient, 0))):
                effects.moved.add(id(variable))
        if pairs:
            _scratch_optimizer(model).apply([g for g, _ in pairs], [v for _, v in pairs])
        for variable, before in zip(variables, saved):
            after = np.asarray(variable.numpy())
            if after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
                effects.moved.add(id(variable))
    except Exception as error:  # a model the step cannot run on: say so instead of guessing
        effects.moved.clear()
        effects.problem = f"a training step on it failed ({type(error).__name__}: {error})"
    finally:
        for variable, before in zip(variables, saved):
            variable.assign(before)
    return effects
