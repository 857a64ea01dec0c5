"""Every private Keras and TensorFlow attribute tlkit relies on, in one place.

Keras and TensorFlow offer no public way to do the few things below, so tlkit
reads private attributes.  A Keras upgrade may rename or remove any of them;
keeping them here (each used through one small function, each measured by
``tests/test_keras_internals.py``) makes such an upgrade fail in one place,
loudly, instead of quietly changing what the kit computes.
"""

from __future__ import annotations

__all__ = [
    "concrete_functions",
    "flattened_layers",
    "is_traced_function",
    "learning_rate_variable",
    "optimizer_tracked_variables",
    "own_trainable_kind_variables",
    "wrapped_python_function",
]


def flattened_layers(layer, include_self: bool = True) -> list:
    """Every layer tracked inside ``layer``, at any depth (Keras' ``_flatten_layers``).

    Unlike walking ``.layers``, this also finds layers held as attributes of a
    custom layer.

    Parameters
    ----------
    layer : keras.layers.Layer
        A layer or model.
    include_self : bool, default True
        Put ``layer`` itself first.

    Returns
    -------
    list of keras.layers.Layer
    """
    return list(layer._flatten_layers(include_self=include_self))


def own_trainable_kind_variables(layer) -> list:
    """The variables ``layer`` itself created as trainable (kernels, biases, gamma, beta).

    These are the variables an optimizer may update, whatever the layer's
    current ``trainable`` flag says; a BatchNormalization layer's moving
    statistics are not among them.  Variables of nested layers are not included.
    """
    return list(getattr(layer, "_trainable_variables", []))


def is_traced_function(value) -> bool:
    """True for a ``tf.function`` object (it can list the graphs it traced)."""
    return hasattr(value, "_list_all_concrete_functions")


def concrete_functions(traced) -> list:
    """The concrete functions (one graph per input signature) a ``tf.function`` traced so far."""
    return list(traced._list_all_concrete_functions())


def wrapped_python_function(traced):
    """The Python function a ``tf.function`` wraps, or None."""
    return getattr(traced, "_python_function", None)


def learning_rate_variable(optimizer):
    """The variable holding a Keras optimizer's learning rate (one of ``optimizer.variables``)."""
    return optimizer._learning_rate


def optimizer_tracked_variables(optimizer):
    """The variables a built Keras optimizer was built for (what it updates), or None when unknown."""
    return getattr(optimizer, "_trainable_variables", None)
