"""Put a new classification head on top of a pre-trained base."""

from __future__ import annotations

import numbers

from tlkit.arguments import is_integer
from tlkit.errors import InputShapeError, TlkitError, UnknownNameError
from tlkit.model_structure import declared_inputs

__all__ = ["HeadArgumentError", "add_head"]


class HeadArgumentError(TlkitError, ValueError):
    """An argument of :func:`add_head` has a value that cannot build a head."""


def _check_hidden_units(hidden_units) -> tuple[int, ...]:
    if hidden_units is None:
        return ()
    if is_integer(hidden_units):
        hidden_units = (hidden_units,)
    if not isinstance(hidden_units, (list, tuple)):
        raise HeadArgumentError(
            f"add_head: hidden_units must be a tuple of positive ints such as (128,), "
            f"got {type(hidden_units).__name__}"
        )
    for units in hidden_units:
        if not is_integer(units) or units < 1:
            raise HeadArgumentError(
                f"add_head: every entry of hidden_units must be a positive int, got {units!r}"
            )
    return tuple(int(units) for units in hidden_units)


def _check_activation(activation):
    import keras

    if activation is None:
        return None
    if not isinstance(activation, str):
        raise HeadArgumentError(
            f"add_head: activation must be a name such as 'softmax', or None for logits; "
            f"got {type(activation).__name__}"
        )
    try:
        keras.activations.get(activation)
    except ValueError:
        raise UnknownNameError(
            f"add_head: unknown activation {activation!r}; use 'softmax', 'sigmoid', "
            "or None / 'linear' for logits"
        ) from None
    return None if activation == "linear" else activation


def _base_input_shape(base, input_shape):
    known = None
    inputs = declared_inputs(base)
    if inputs:
        if len(inputs) != 1:
            raise InputShapeError(
                f"add_head: base {base.name!r} has {len(inputs)} inputs; add_head needs a base with one"
            )
        known = tuple(inputs[0].shape[1:])
    if input_shape is not None:
        if isinstance(input_shape, numbers.Integral):
            input_shape = (input_shape,)
        try:
            input_shape = tuple(None if d is None else int(d) for d in input_shape)
        except (TypeError, ValueError):
            raise InputShapeError(
                f"add_head: input_shape must be a tuple such as (28, 28, 1), got {input_shape!r}"
            ) from None
        if known is not None and (
            len(known) != len(input_shape)
            or any(k is not None and k != given for k, given in zip(known, input_shape))
        ):
            raise InputShapeError(
                f"add_head: input_shape {input_shape} does not match base {base.name!r}, "
                f"which expects {known}"
            )
        return input_shape
    if known is None:
        raise InputShapeError(
            f"add_head: base {base.name!r} has no known input shape; "
            "pass input_shape=, for example input_shape=(28, 28, 1)"
        )
    return known


def add_head(
    base,
    num_classes: int,
    hidden_units=(),
    dropout: float = 0.0,
    activation: str | None = "softmax",
    name: str | None = None,
    input_shape=None,
    base_training: bool | None = False,
    output_name: str = "head_output",
    preprocessing=None,
    keep_dropout_layer: bool = False,
):
    """Build a classifier: the base, then a small new head that maps features to classes.

    The new model is ``input -> base -> [GlobalAveragePooling2D] ->
    Dense(relu) for each hidden size -> [Dropout] -> Dense(num_classes)``.
    The pooling layer is only added when the base outputs feature maps
    (batch, height, width, channels); a base that already outputs a flat
    feature vector (batch, features) is used as is. The base itself is
    shared, not copied: freezing it later freezes it in the new model too.

    Parameters
    ----------
    base : keras.Model
        The pre-trained feature extractor, for example
        ``tlkit.models.load_base(include_top=False)``.
    num_classes : int
        Number of classes of the new task; at least 2.
    hidden_units : tuple of int, default ()
        Sizes of hidden Dense layers (ReLU) between the features and the
        output. ``()`` puts the output layer straight on the features.
    dropout : float, default 0.0
        Dropout rate applied just before the output layer, in [0, 1);
        0 adds no Dropout layer.
    activation : str or None, default "softmax"
        Activation of the output layer. ``None`` or ``"linear"`` makes the
        model output logits; then compile with a loss created with
        ``from_logits=True``.
    name : str, optional
        Name of the new model; default ``"<base name>_classifier"``.
    input_shape : tuple, optional
        Shape of one input image, needed only when the base does not know
        its own input shape.
    base_training : bool or None, default False
        The ``training`` argument the base is called with when the graph is
        built. ``False`` asks for inference mode (BatchNormalization uses its
        stored source statistics, Dropout is off) and is what a direct call
        ``model(x)`` and ``predict`` use. ``None`` records no preference.

        Beware: in Keras 3 (measured with 3.15), ``fit`` passes
        ``training=True`` down to every layer and that overrides the
        recorded ``False``, so this flag alone does **not** keep
        BatchNormalization in inference mode during training. What does is
        the layer's ``trainable`` flag: a BatchNormalization layer with
        ``trainable=False`` always normalises with its stored statistics.
        :func:`tlkit.freezing.unfreeze` keeps those layers frozen by default
        (``keep_batchnorm_frozen=True``) for that reason: a few small target
        batches would otherwise replace the source statistics the base's
        weights were trained with, and fine-tuning would start by damaging
        the features it was meant to adjust.
    output_name : str, default "head_output"
        Name of the output Dense layer.
    preprocessing : keras.layers.Layer, optional
        A layer applied to the images before the base, for example
        ``keras.layers.RandomTranslation`` to shift the images while training.
    keep_dropout_layer : bool, default False
        Add the Dropout layer even when ``dropout`` is 0 (it then changes
        nothing), so that models built with any dropout have the same layers.

    Returns
    -------
    keras.Model
        A functional model, not yet compiled.

    Raises
    ------
    HeadArgumentError
        ``num_classes``, ``hidden_units`` or ``dropout`` has an unusable
        value.
    UnknownNameError
        ``activation`` is not a Keras activation name.
    InputShapeError
        The base's output is neither a feature vector nor feature maps, or
        its input shape is unknown and ``input_shape`` was not given.
    """
    import keras

    if not isinstance(base, keras.layers.Layer):
        raise HeadArgumentError(f"add_head: base must be a Keras model, got {type(base).__name__}")
    if not is_integer(num_classes) or num_classes < 2:
        raise HeadArgumentError(
            f"add_head: num_classes must be an int >= 2, got {num_classes!r}"
        )
    hidden_units = _check_hidden_units(hidden_units)
    if (
        not isinstance(dropout, numbers.Real)
        or isinstance(dropout, bool)
        or not 0.0 <= dropout < 1.0
    ):
        raise HeadArgumentError(f"add_head: dropout must be a number in [0, 1), got {dropout!r}")
    activation = _check_activation(activation)
    if base_training not in (True, False, None):
        raise HeadArgumentError(
            f"add_head: base_training must be True, False or None, got {base_training!r}"
        )
    if name is not None and not isinstance(name, str):
        raise HeadArgumentError(f"add_head: name must be a str, got {type(name).__name__}")
    if not isinstance(output_name, str) or not output_name:
        raise HeadArgumentError(f"add_head: output_name must be a non-empty str, got {output_name!r}")
    if preprocessing is not None and not isinstance(preprocessing, keras.layers.Layer):
        raise HeadArgumentError(
            f"add_head: preprocessing must be a Keras layer or None, got {type(preprocessing).__name__}"
        )

    inputs = keras.Input(shape=_base_input_shape(base, input_shape), name="image")
    images = inputs if preprocessing is None else preprocessing(inputs)
    if base_training is None:
        features = base(images)
    else:
        features = base(images, training=base_training)
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="head_pool")(features)
    elif len(features.shape) != 2:
        raise InputShapeError(
            f"add_head: base {base.name!r} outputs shape {tuple(features.shape)}; expected a "
            "feature vector (batch, features) or feature maps (batch, height, width, channels)"
        )
    for number, units in enumerate(hidden_units, start=1):
        features = keras.layers.Dense(units, activation="relu", name=f"head_dense_{number}")(features)
    if dropout > 0 or keep_dropout_layer:
        features = keras.layers.Dropout(float(dropout), name="head_dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation=activation, name=output_name)(features)
    return keras.Model(inputs, outputs, name=name or f"{base.name}_classifier")
