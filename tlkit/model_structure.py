"""Read the structure of a Keras model: nested layers, their kinds, sizes and inputs.

Small public helpers that several modules need (freezing, the freeze widget,
the feature cache, the plots, the experiments), written once.
"""

from __future__ import annotations

import math

__all__ = ["declared_inputs", "is_batchnorm", "nested_layers", "parameter_count", "sublayers"]


def sublayers(layer) -> list:
    """The layers directly inside ``layer`` (its ``.layers``), or ``[]`` for a plain layer."""
    return list(getattr(layer, "layers", None) or [])


def nested_layers(layer):
    """Yield every layer nested inside ``layer`` (not ``layer`` itself), depth first.

    Parameters
    ----------
    layer : keras.layers.Layer
        A model (its ``.layers`` are walked, and theirs) or a plain layer
        (nothing is yielded).

    Yields
    ------
    keras.layers.Layer
        Each layer before the layers nested inside it.
    """
    for inner in sublayers(layer):
        yield inner
        yield from nested_layers(inner)


def is_batchnorm(layer) -> bool:
    """True when ``layer`` is a ``keras.layers.BatchNormalization`` layer."""
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def parameter_count(weights) -> int:
    """Number of values in ``weights`` (a list of variables or arrays), as Keras counts parameters."""
    return int(sum(math.prod(tuple(weight.shape)) for weight in weights))


def declared_inputs(model) -> list | None:
    """The symbolic inputs ``model`` was built with, or None when it has none yet.

    A model built from a ``keras.Input`` knows them; a Sequential model
    without one, or a plain layer, does not (Keras then raises, or has no
    ``inputs`` at all).
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return list(inputs) if inputs else None
