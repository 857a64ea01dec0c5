"""Model-aware predicates that exercise questions compose.

Every predicate returns ``None`` when all is well, or a
:class:`~tlkit.exercises.core.Failure` whose message says exactly what is
wrong, with the numbers involved ("your head has 10 units; the target has 5
classes"), and whose hint key points at the hint that helps. Predicates
never raise for a predictable mistake: a wrong type, a wrong shape or an
unbuilt model is itself a failure.

``name`` parameters are the notebook names shown in messages (``"base"``).
"""

from __future__ import annotations

import numbers

import numpy as np

from tlkit import keras_internals
from tlkit.exercises.behaviour import input_shape_of, output_shape_of, training_step_effects
from tlkit.exercises.compile_state import find_stale_compile
from tlkit.exercises.core import Failure

__all__ = [
    "accuracy_at_least",
    "activation_matches_loss",
    "all_but_top_frozen",
    "all_frozen",
    "array_shape_is",
    "arrays_close",
    "batchnorm_frozen",
    "compile_not_stale",
    "contains_layer",
    "frozen_layers_match",
    "has_trainable_weights",
    "head_matches_classes",
    "history_continues_from",
    "is_batchnorm",
    "is_bool",
    "is_built",
    "is_built_keras_model",
    "is_compiled",
    "is_keras_model",
    "is_live_snapshot",
    "is_whole_number",
    "live_snapshot_failure",
    "layer_trains",
    "learning_rate_of",
    "learning_rate_within",
    "output_activation",
    "remember_weights",
    "steps_moving",
    "loss_expectation",
    "weight_snapshot",
    "weights_unchanged",
]


def _keras():
    import keras

    return keras


def _type_name(value) -> str:
    return type(value).__name__


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# -- types and state ------------------------------------------------------------------------------
def is_keras_model(value, name: str, hint_key: str = "type") -> Failure | None:
    """Fail unless ``value`` is a Keras model."""
    if isinstance(value, _keras().Model):
        return None
    return Failure(f"`{name}` should be a Keras model, but it is a {_type_name(value)}.", hint_key)


def is_built(model, name: str, hint_key: str = "build") -> Failure | None:
    """Fail if the model has no weights yet (no ``Input`` and never called)."""
    if getattr(model, "built", False) and model.weights:
        return None
    return Failure(
        f"`{name}` is not built yet, so it has no weights: start it with keras.Input(shape=...) "
        "or call it on a batch of data.",
        hint_key,
    )


def is_built_keras_model(value, name: str) -> Failure | None:
    """Fail unless ``value`` is a Keras model that has weights.

    The first failure of :func:`is_keras_model` (hint ``"type"``) and
    :func:`is_built` (hint ``"build"``), in that order.
    """
    failure = is_keras_model(value, name)
    return failure if failure is not None else is_built(value, name)


def is_whole_number(value) -> bool:
    """True for a Python or NumPy integer; False for a bool, a float or anything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_compiled(model, name: str, hint_key: str = "compile") -> Failure | None:
    """Fail if ``model.compile`` was never called."""
    if getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None:
        return None
    return Failure(f"`{name}` is not compiled; call {name}.compile(optimizer=..., loss=..., metrics=[...]).", hint_key)


def contains_layer(model, layer, model_name: str, layer_name: str, hint_key: str = "reuse_base") -> Failure | None:
    """Fail unless ``layer`` (the very object, not a copy) is inside ``model``."""
    if any(inner is layer for inner in keras_internals.flattened_layers(model, include_self=False)):
        return None
    return Failure(
        f"`{model_name}` does not contain `{layer_name}`: build it on top of that very object "
        f"(for example keras.Sequential([{layer_name}, ...]) or {layer_name}(inputs)).",
        hint_key,
    )


# -- trainable / frozen ---------------------------------------------------------------------------
def _trainable_ids(model) -> set[int]:
    return {id(variable) for variable in model.trainable_weights}


def _has_trainable_kind_weights(layer) -> bool:
    """True when the layer owns weights an optimizer could update (kernels, gamma...)."""
    return any(True for inner in keras_internals.flattened_layers(layer, include_self=True) for _ in keras_internals.own_trainable_kind_variables(inner))


def layer_trains(model, layer) -> bool:
    """True when ``fit(model)`` would update some weight of ``layer`` (all its parents are trainable)."""
    trainable = _trainable_ids(model)
    return any(id(variable) in trainable for variable in layer.weights)


def _count_parameters(variables) -> int:
    return int(sum(int(np.prod(variable.shape)) for variable in variables))


def _leaf_layers(model) -> list:
    """Every layer inside ``model`` that holds variables itself (nested models are looked through)."""
    return [layer for layer in keras_internals.flattened_layers(model, include_self=False)
            if not list(keras_internals.flattened_layers(layer, include_self=False))]


def is_batchnorm(layer) -> bool:
    """True when ``layer`` is a Keras BatchNormalization layer."""
    return isinstance(layer, _keras().layers.BatchNormalization)


def steps_moving(model, judged=None, sample=None) -> list:
    """Leaf layers of ``model`` whose variables one training step of ``judged`` (default: ``model``) changes.

    Behaviour, not flags: see :mod:`tlkit.exercises.behaviour`. Returns an
    empty list when the step cannot be run (then the flags alone decide).
    """
    effects = training_step_effects(judged if judged is not None else model, sample)
    if effects.problem is not None:
        return []
    return [layer for layer in _leaf_layers(model) if effects.layer_moved(layer)]


def _describe_moving(layers, effects_name: str) -> str:
    """Explain why layers that no flag lists as trainable still change in a training step."""
    names = ", ".join(layer.name for layer in layers)
    batchnorms = [layer for layer in layers if is_batchnorm(layer)]
    if batchnorms and len(batchnorms) == len(layers):
        return (
            f"one training step still changes the moving mean and variance of {names}: a BatchNormalization "
            "layer whose own `trainable` flag is True runs in training mode during fit, even when its variables "
            f"are marked non-trainable or a model around it is frozen. Set `trainable = False` on the layers "
            f"themselves (e.g. {effects_name}.trainable = False), not on their variables."
        )
    return (
        f"one training step still changes the weights of {names}. Set `trainable = False` on the layers "
        f"themselves (e.g. {effects_name}.trainable = False), not on their variables, and check again."
    )


def all_frozen(model, name: str, hint_key: str = "freeze", context_model=None, sample=None) -> Failure | None:
    """Fail if training would change any variable of ``model``; name the layers.

    Judged by behaviour: first the trainable flags (as ``fit`` reads them),
    then one training step (:func:`training_step_effects`) that must change no
    weight and no BatchNormalization statistic of ``model``.

    Parameters
    ----------
    context_model : keras.Model, optional
        The model that will be trained, when ``model`` is a part of it (a base
        inside a classifier): its flags and its training step decide.
    """
    judged = context_model if context_model is not None else model
    own = {id(variable) for variable in model.weights}
    trainable = [variable for variable in judged.trainable_weights if id(variable) in own]
    if trainable:
        layers = [layer.name for layer in model.layers if layer_trains(judged, layer)]
        return Failure(
            f"`{name}` still has {_plural(len(trainable), 'trainable weight tensor')} "
            f"({_count_parameters(trainable):,} parameters) in {', '.join(layers) or 'its layers'}; "
            "it should have none.",
            hint_key,
        )
    moving = steps_moving(model, judged, sample)
    if not moving:
        return None
    return Failure(f"`{name}` has no trainable weights, but {_describe_moving(moving, name)}", hint_key)


def has_trainable_weights(model, name: str, hint_key: str = "unfreeze") -> Failure | None:
    """Fail if nothing in ``model`` would train (for instance: forgot to unfreeze)."""
    if model.trainable_weights:
        return None
    return Failure(f"nothing in `{name}` is trainable, so training it would change nothing.", hint_key)


def frozen_layers_match(
    model,
    frozen: slice,
    name: str,
    description: str,
    too_few_key: str = "too_few_frozen",
    too_many_key: str = "too_many_frozen",
    parent_key: str = "parent_frozen",
    skip=None,
) -> Failure | None:
    """Fail unless exactly the layers ``model.layers[frozen]`` are frozen and the rest train.

    Only layers with weights are judged (a Flatten layer has nothing to
    freeze). ``skip`` is an optional predicate on layers to leave out of the
    comparison (for example BatchNormalization layers judged elsewhere).

    Parameters
    ----------
    description : str
        How the student would write the frozen part, e.g. ``"model.layers[:-2]"``.
    """
    layers = list(model.layers)
    expected_frozen = set(range(len(layers))[frozen])
    weighted = [i for i, layer in enumerate(layers) if _has_trainable_kind_weights(layer) and not (skip and skip(layer))]
    trainable = _trainable_ids(model)
    trains = {i: any(id(v) in trainable for v in layers[i].weights) for i in weighted}
    should_freeze = [i for i in weighted if i in expected_frozen]
    should_train = [i for i in weighted if i not in expected_frozen]
    still_training = [i for i in should_freeze if trains[i]]
    wrongly_frozen = [i for i in should_train if not trains[i]]
    if wrongly_frozen and not model.trainable and all(layers[i].trainable for i in wrongly_frozen):
        return Failure(
            f"`{name}.trainable` is False, so no layer inside it trains, whatever their own flags; "
            f"set {name}.trainable = True and freeze {description} layer by layer.",
            parent_key,
        )
    if still_training:
        return Failure(
            f"{description} ({_plural(len(should_freeze), 'layer')} with weights) should all be frozen, "
            f"but {len(still_training)} still train: {_layers_by_index(layers, still_training)}.",
            too_few_key,
        )
    if wrongly_frozen:
        return Failure(
            f"only {description} should be frozen; the other {_plural(len(should_train), 'layer')} with weights "
            f"should train, but {len(wrongly_frozen)} of them are frozen: {_layers_by_index(layers, wrongly_frozen)}.",
            too_many_key,
        )
    # behaviour: one training step must leave every layer that should be frozen exactly as it was
    frozen_part = [layers[i] for i in should_freeze]
    if frozen_part:
        effects = training_step_effects(model)
        moving = [layer for layer in frozen_part if effects.problem is None and _layer_moved(effects, layer)]
        if moving:
            listed = ", ".join(f"'{layer.name}' (index {layers.index(layer)})" for layer in moving)
            inner = [leaf for layer in moving for leaf in ([layer] if not list(keras_internals.flattened_layers(layer, include_self=False))
                                                           else _leaf_layers(layer)) if _layer_moved(effects, leaf)]
            return Failure(
                f"{description} should all be frozen, and no flag says {listed} would train, but "
                f"{_describe_moving(inner, 'layer')}",
                too_few_key,
            )
    return None


def all_but_top_frozen(model, count, name: str, count_message, skip=None) -> Failure | None:
    """Fail unless every layer of ``model`` but the top ``count`` is frozen, and those ``count`` train.

    Checks, in order: ``model`` is a Keras model; ``count`` is a whole number
    from 1 to the number of layers (else ``Failure(count_message(layers), "context")``);
    the model is built; :func:`frozen_layers_match` on ``model.layers[:-count]``.

    Parameters
    ----------
    count_message : callable
        Called with the number of layers; returns the message for a bad ``count``.
    skip : callable, optional
        Layers to leave out of the comparison, as in :func:`frozen_layers_match`.
    """
    not_a_model = is_keras_model(model, name)
    if not_a_model is not None:
        return not_a_model
    layer_count = len(getattr(model, "layers", []))
    if not is_whole_number(count) or not 0 < count <= layer_count:
        return Failure(count_message(layer_count), "context")
    failure = is_built_keras_model(model, name)
    if failure is not None:
        return failure
    return frozen_layers_match(model, slice(None, -count), name, f"{name}.layers[:-{count}]", skip=skip)


def _layers_by_index(layers, indices) -> str:
    """``'conv1' (index 0), 'conv2' (index 1)``: the layers at ``indices``, named for a message."""
    return ", ".join(f"'{layers[i].name}' (index {i})" for i in indices)


def _layer_moved(effects, layer) -> bool:
    return effects.layer_moved(layer)


def _batchnorm_layers(model) -> list:
    keras = _keras()
    return [layer for layer in keras_internals.flattened_layers(model, include_self=False) if isinstance(layer, keras.layers.BatchNormalization)]


def batchnorm_frozen(model, name: str, hint_key: str = "batchnorm", context_model=None) -> Failure | None:
    """Fail if a BatchNormalization layer inside ``model`` would train.

    In Keras 3 a BatchNormalization layer whose ``trainable`` is False runs in
    inference mode: it uses its stored mean and variance and does not update
    them. A trainable one inside a pre-trained base overwrites those
    statistics with the new data's.

    Parameters
    ----------
    context_model : keras.Model, optional
        The model that will be trained, when ``model`` is a part of it (a base
        inside a classifier); its ``trainable`` flags decide.
    """
    judged = context_model if context_model is not None else model
    trainable = _trainable_ids(judged)
    batchnorms = _batchnorm_layers(model)
    training = [layer for layer in batchnorms if any(id(v) in trainable for v in layer.weights)]
    if not training:
        if not batchnorms:
            return None
        # behaviour: a training step must not touch any BatchNormalization statistic
        effects = training_step_effects(judged)
        moving = [layer for layer in batchnorms if effects.problem is None and effects.layer_moved(layer)]
        if not moving:
            return None
        return Failure(
            f"{_plural(len(moving), 'BatchNormalization layer')} of the {len(batchnorms)} in `{name}` "
            f"{'has' if len(moving) == 1 else 'have'} no trainable weights, but {_describe_moving(moving, 'layer')}",
            hint_key,
        )
    return Failure(
        f"{_plural(len(training), 'BatchNormalization layer')} of the {len(batchnorms)} in `{name}` "
        f"{'is' if len(training) == 1 else 'are'} still trainable ({', '.join(layer.name for layer in training)}), "
        "so training would update their moving mean and variance instead of running them in inference mode.",
        hint_key,
    )


def compile_not_stale(model, name: str, hint_key: str = "recompile") -> Failure | None:
    """Fail if ``trainable`` flags changed after the model was compiled and trained, without a new compile."""
    stale = find_stale_compile(model)
    if stale is None:
        return None
    return Failure(
        f"`{name}` was trained, then its trainable flags changed, but it was not compiled again: "
        f"{stale.describe()}. Call {name}.compile(...) again before the next fit.",
        hint_key,
    )


# -- head, activation and loss --------------------------------------------------------------------
def head_matches_classes(model, num_classes: int, name: str, hint_key: str = "head_units",
                         sample=None) -> Failure | None:
    """Fail unless the model outputs one score per class, shape (batch, num_classes).

    Works for every Keras style: Sequential and functional models declare
    their output shape; a subclassed ``keras.Model`` is run once on zeros of
    the shape it was built with (or of ``sample``).
    """
    output_shape = output_shape_of(model, sample)
    if output_shape is None:
        return Failure(
            f"the output shape of `{name}` is not known yet: start it with keras.Input(shape=...) or, for a "
            f"subclassed model, call it once on a batch of images (e.g. {name}(x_val[:1])).",
            "build",
        )
    if len(output_shape) != 2:
        return Failure(
            f"`{name}` outputs shape {output_shape}; a classifier head should output (batch, {num_classes}): "
            "flatten or pool the features before the last Dense layer.",
            hint_key,
        )
    if output_shape[-1] != num_classes:
        return Failure(
            f"your head has {output_shape[-1]} units; the target has {num_classes} classes "
            f"(use Dense({num_classes}) as the last layer).",
            hint_key,
        )
    return None


_PASS_THROUGH_LAYERS = ("Dropout", "Flatten", "Reshape", "Identity", "ActivityRegularization", "GaussianNoise")


def output_activation(model, sample=None) -> str:
    """Name of the activation applied last in ``model``: ``"softmax"``, ``"linear"``, ``"sigmoid"``...

    Read from the last layer; when that says ``"linear"`` (no activation
    layer, e.g. a subclassed model applying softmax inside ``call``), the
    model's outputs on a random batch decide: rows of probabilities summing to
    one are ``"softmax"``, a single column in (0, 1) is ``"sigmoid"``.
    """
    declared = _declared_output_activation(model)
    if declared != "linear":
        return declared
    return _observed_output_activation(model, sample) or declared


def _observed_output_activation(model, sample=None) -> str | None:
    input_shape = input_shape_of(model, sample)
    if input_shape is None:
        return None
    try:
        generator = np.random.default_rng(0)
        batch = generator.uniform(0, 1, size=(8,) + tuple(input_shape[1:])).astype("float32")
        outputs = np.asarray(model(batch, training=False), dtype="float64")
    except Exception:
        return None
    if outputs.ndim != 2:
        return None
    if outputs.shape[1] > 1 and np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4):
        return "softmax"
    if outputs.shape[1] == 1 and np.all((outputs > 0) & (outputs < 1)):
        return "sigmoid"
    return None


def _layers_in_call_order(model) -> bool:
    """True when ``model.layers`` lists the layers in the order ``call`` applies them (Sequential, functional).

    A subclassed ``keras.Model`` lists them in the order ``__init__`` assigned
    them, which says nothing about which one produces the output.
    """
    keras = _keras()
    return isinstance(model, keras.Sequential) or hasattr(model, "_operations") and hasattr(model, "_nodes_by_depth")


def _declared_output_activation(model) -> str:
    keras = _keras()
    layer = model
    while isinstance(layer, keras.Model) and layer.layers:
        if not _layers_in_call_order(layer):
            return "linear"  # unknown from the layers: output_activation observes the outputs instead
        candidates = [inner for inner in layer.layers if type(inner).__name__ not in _PASS_THROUGH_LAYERS]
        layer = candidates[-1] if candidates else layer.layers[-1]
        if not isinstance(layer, keras.Model):
            break
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return "linear"
    return getattr(activation, "__name__", str(activation))


def loss_expectation(loss) -> tuple[str | None, bool | None]:
    """Return (``"categorical"``/``"binary"``/None, from_logits) for a compiled loss."""
    if loss is None or isinstance(loss, (list, tuple, dict)):
        return None, None
    if isinstance(loss, str):
        name, from_logits = loss, False
    elif hasattr(loss, "get_config"):
        config = loss.get_config()
        name, from_logits = config.get("name") or type(loss).__name__, bool(config.get("from_logits", False))
    else:
        name, from_logits = getattr(loss, "__name__", ""), False
    name = name.lower()
    if "categorical_crossentropy" in name or "categoricalcrossentropy" in name:
        return "categorical", from_logits
    if "binary_crossentropy" in name or "binarycrossentropy" in name:
        return "binary", from_logits
    return None, None


def activation_matches_loss(model, name: str, hint_key: str = "from_logits") -> Failure | None:
    """Fail if the output activation and the compiled loss's ``from_logits`` disagree.

    Accepts softmax + ``from_logits=False`` and no activation (logits) +
    ``from_logits=True``; names every other combination.
    """
    kind, from_logits = loss_expectation(getattr(model, "loss", None))
    if kind is None:
        return None
    activation = output_activation(model)
    output_shape = output_shape_of(model)
    if output_shape is None:
        return None
    units = output_shape[-1]
    if kind == "categorical":
        if activation == "softmax" and from_logits:
            return Failure(
                "your output layer applies softmax, but the loss says from_logits=True: it would apply softmax "
                "a second time. Either remove the activation or use from_logits=False.",
                hint_key,
            )
        if activation == "linear" and not from_logits:
            return Failure(
                "your output layer has no activation, so it outputs logits, but the loss expects probabilities "
                "(from_logits=False). Add activation='softmax' or compile with from_logits=True.",
                hint_key,
            )
        if activation == "sigmoid":
            return Failure(
                f"your output layer uses sigmoid, but the loss is a {units}-class categorical cross-entropy, "
                "which needs one probability distribution over the classes: use softmax (or logits with "
                "from_logits=True).",
                hint_key,
            )
        if activation not in ("softmax", "linear"):
            return Failure(
                f"your output layer uses {activation}; a classifier's last layer should use softmax, "
                "or no activation with from_logits=True.",
                hint_key,
            )
    if kind == "binary":
        if units != 1:
            return Failure(
                f"binary cross-entropy with {units} output units: for {units} exclusive classes use "
                "sparse categorical cross-entropy with a softmax output.",
                hint_key,
            )
        if activation == "sigmoid" and from_logits:
            return Failure("sigmoid output with from_logits=True would apply sigmoid twice.", hint_key)
        if activation == "linear" and not from_logits:
            return Failure("linear output with a binary loss expecting probabilities: add sigmoid.", hint_key)
    return None


# -- learning rate --------------------------------------------------------------------------------
def learning_rate_of(model) -> float:
    """The compiled optimizer's learning rate; for a schedule, the largest of its first and current values."""
    keras = _keras()
    optimizer = model.optimizer
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        values = [float(np.asarray(rate(0))), float(np.asarray(rate(int(np.asarray(optimizer.iterations)))))]
        return max(values)
    return float(np.asarray(optimizer.learning_rate))


def learning_rate_within(
    model,
    name: str,
    at_most: float | None = None,
    at_least: float | None = None,
    reason: str = "",
    too_large_key: str = "lr_too_large",
    too_small_key: str = "lr_too_small",
) -> Failure | None:
    """Fail if the compiled learning rate is outside ``[at_least, at_most]``."""
    rate = learning_rate_of(model)
    suffix = f" ({reason})" if reason else ""
    if at_most is not None and rate > at_most * (1 + 1e-6):
        return Failure(f"the learning rate of `{name}` is {rate:g}; keep it at most {at_most:g}{suffix}.", too_large_key)
    if at_least is not None and rate < at_least * (1 - 1e-6):
        return Failure(
            f"the learning rate of `{name}` is {rate:g}; below {at_least:g} training barely moves the weights{suffix}.",
            too_small_key,
        )
    return None


# -- accuracy and arrays --------------------------------------------------------------------------
def _shape_fits(expected: tuple, actual: tuple) -> bool:
    return len(expected) == len(actual) and all(e is None or e == a for e, a in zip(expected, actual))


def accuracy_at_least(model, images, labels, threshold: float, name: str, data_name: str = "x_val",
                      hint_key: str = "accuracy") -> Failure | None:
    """Fail if ``model``'s accuracy on (``images``, ``labels``) is below ``threshold``.

    Labels may be integers (n,) or one-hot (n, classes). Evaluation is quiet.
    """
    try:
        images = np.asarray(images)
        labels = np.asarray(labels)
    except (TypeError, ValueError):
        return Failure(f"`{data_name}` and its labels should be arrays.", "data")
    declared = input_shape_of(model)
    expected = tuple(declared[1:]) if declared is not None else None
    if expected is not None and not _shape_fits(expected, images.shape[1:]):
        return Failure(
            f"`{name}` expects inputs of shape (batch, {', '.join(str(d) for d in expected)}) but `{data_name}` "
            f"has shape {images.shape}.",
            "input_shape",
        )
    if images.ndim == 0 or images.shape[0] == 0:
        return Failure(f"`{data_name}` holds no images, so there is nothing to measure the accuracy on: keep the "
                       "held-out images the notebook loaded.", "data")
    labels = _class_labels(labels)
    if labels is None:
        return Failure(f"the labels of `{data_name}` should be class numbers of shape (n,) or (n, 1), or one-hot "
                       "rows of shape (n, classes).", "data")
    if labels.shape[0] != images.shape[0]:
        return Failure(f"`{data_name}` has {images.shape[0]} images but {labels.shape[0]} labels.", "data")
    predictions = np.asarray(model.predict(images, verbose=0, batch_size=256))
    if predictions.ndim != 2:
        return Failure(f"`{name}` outputs shape {predictions.shape}; expected (n, classes).", "head_units")
    accuracy = float(np.mean(predictions.argmax(axis=-1) == labels))
    if accuracy + 1e-9 < threshold:
        return Failure(
            f"`{name}` reaches {accuracy:.3f} accuracy on the held-out data; reach at least {threshold:.2f}.",
            hint_key,
        )
    return None


def _class_labels(labels):
    """Class numbers of shape (n,) from sparse labels (n,) or (n, 1) or one-hot labels (n, classes); else None."""
    if labels.ndim == 1:
        return labels
    if labels.ndim == 2 and labels.shape[1] == 1:
        return labels[:, 0]
    if labels.ndim == 2:
        return labels.argmax(axis=-1)
    return None


def array_shape_is(value, expected_shape: tuple, name: str, hint_key: str = "shape") -> Failure | None:
    """Fail unless ``value`` is array-like of exactly ``expected_shape``."""
    try:
        shape = tuple(np.shape(value))
    except (TypeError, ValueError):
        return Failure(f"`{name}` should be an array, but it is a {_type_name(value)}.", "type")
    if isinstance(value, (str, bytes, numbers.Number)) or value is None:
        return Failure(f"`{name}` should be an array, but it is a {_type_name(value)}.", "type")
    if shape != tuple(expected_shape):
        return Failure(f"`{name}` has shape {shape}; expected {tuple(expected_shape)}.", hint_key)
    return None


def arrays_close(value, expected, name: str, hint_key: str = "values", rtol: float = 1e-4, atol: float = 1e-4) -> Failure | None:
    """Fail unless ``value`` equals ``expected`` elementwise within tolerances."""
    value = np.asarray(value, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    if value.shape != expected.shape:
        return Failure(f"`{name}` has shape {value.shape}; expected {expected.shape}.", "shape")
    if np.allclose(value, expected, rtol=rtol, atol=atol):
        return None
    mismatched = int(np.sum(~np.isclose(value, expected, rtol=rtol, atol=atol)))
    largest = float(np.max(np.abs(value - expected)))
    return Failure(
        f"{mismatched:,} of {value.size:,} values of `{name}` differ from the expected ones "
        f"(largest difference {largest:.3g}).",
        hint_key,
    )


def is_bool(value, name: str, hint_key: str = "type") -> Failure | None:
    """Fail unless ``value`` is a single True/False (Python or NumPy bool)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    return Failure(f"`{name}` should be a single True or False, but it is a {_type_name(value)}.", hint_key)


# -- weights before and after training ------------------------------------------------------------
def weight_snapshot(layer) -> dict:
    """Copies of a layer's weights, by variable path, that later training cannot change.

    Parameters
    ----------
    layer : keras.layers.Layer or keras.Model
        The layer (or model) whose weights to copy.

    Returns
    -------
    dict
        Variable path -> a NumPy copy of its value.
    """
    return {variable.path: np.array(variable.numpy(), copy=True) for variable in layer.weights}


def remember_weights(memory: dict, key: str, layer) -> None:
    """Keep a copy of ``layer``'s weights in an exercise's ``memory`` under ``key``.

    A later question compares the layer with this copy, which the student
    cannot alias (unlike their own ``base_weights_before``).
    """
    memory[key] = weight_snapshot(layer)


def _as_path_dict(layer, snapshot) -> dict | None:
    if isinstance(snapshot, dict):
        return snapshot
    if isinstance(snapshot, (list, tuple)):
        if len(snapshot) != len(layer.weights):
            return None
        return {variable.path: np.asarray(saved) for variable, saved in zip(layer.weights, snapshot)}
    return None


def _is_live(value) -> bool:
    """True for a variable or tensor (a reference that follows training), False for a NumPy copy or numbers."""
    if isinstance(value, (np.ndarray, np.generic, numbers.Number)):
        return False
    if isinstance(value, (list, tuple)):
        return any(_is_live(item) for item in value)
    return hasattr(value, "assign") or hasattr(value, "numpy") or isinstance(value, _keras().Variable) or \
        _keras().ops.is_tensor(value)


def is_live_snapshot(snapshot) -> bool:
    """True when a "copy of the weights" holds the variables (or tensors) themselves instead of arrays.

    ``base.weights``, ``list(base.trainable_variables)`` or ``{v.path: v for v in base.weights}`` change with
    training, so comparing them with the model after training always says "unchanged".
    """
    if isinstance(snapshot, dict):
        return any(_is_live(value) for value in snapshot.values())
    if isinstance(snapshot, (list, tuple)):
        return any(_is_live(item) for item in snapshot)
    return snapshot is not None and _is_live(snapshot)


def live_snapshot_failure(snapshot_name: str, name: str, hint_key: str = "snapshot") -> Failure:
    """The failure for a snapshot that holds variables instead of copies."""
    return Failure(
        f"`{snapshot_name}` holds the variables themselves, which change with training, so it always equals "
        f"the weights after training and proves nothing; copy them with {name}.get_weights() (or "
        "[np.array(v) for v in ...]) before calling fit.",
        hint_key,
    )


def weights_unchanged(layer, snapshot, name: str, snapshot_name: str = "the saved weights",
                      hint_key: str = "frozen_changed", atol: float = 0.0) -> Failure | None:
    """Fail if any weight of ``layer`` differs from ``snapshot``.

    ``snapshot`` is ``layer.get_weights()`` taken before training, or a dict
    path -> array. A snapshot of live references (``layer.weights``, variables
    or tensors instead of arrays) is refused with hint key ``"snapshot"``: it
    follows training, so it cannot show that nothing moved.
    """
    if is_live_snapshot(snapshot):
        return live_snapshot_failure(snapshot_name, name)
    saved = _as_path_dict(layer, snapshot)
    if saved is None:
        return Failure(
            f"{snapshot_name} should be {name}.get_weights() taken before training "
            f"({len(layer.weights)} arrays), but it is a {_type_name(snapshot)}"
            f"{' of length ' + str(len(snapshot)) if hasattr(snapshot, '__len__') else ''}.",
            "snapshot",
        )
    changed = []
    for variable in layer.weights:
        before = saved.get(variable.path)
        if before is None or np.shape(before) != tuple(variable.shape):
            return Failure(f"{snapshot_name} does not match the weights of `{name}` ({variable.path}).", "snapshot")
        difference = float(np.max(np.abs(np.asarray(variable.numpy()) - before))) if before.size else 0.0
        if difference > atol:
            changed.append((difference, variable.path))
    if not changed:
        return None
    largest, where = max(changed)
    return Failure(
        f"{len(changed)} of {len(layer.weights)} weight tensors of `{name}` changed during training "
        f"(largest change {largest:.3g} in {where}); frozen weights should not move.",
        hint_key,
    )


# -- training history -----------------------------------------------------------------------------
def history_continues_from(history, initial_epoch: int, name: str) -> Failure | None:
    """Fail unless ``history`` (from ``fit``) starts at ``initial_epoch`` and trained at least one epoch."""
    epochs_seen = getattr(history, "epoch", None)
    params = getattr(history, "params", None)
    if epochs_seen is None or params is None:
        return Failure(f"`{name}` should be the History returned by model.fit(...), but it is a {_type_name(history)}.", "type")
    planned = params.get("epochs")
    if not epochs_seen:
        return Failure(
            f"`{name}` trained no epoch: with initial_epoch={initial_epoch} and epochs={planned}, fit stops at once; "
            f"epochs is the number of the last epoch, so use more than {initial_epoch} "
            f"(e.g. {initial_epoch} + 5 = {initial_epoch + 5}).",
            "epochs_total",
        )
    if epochs_seen[0] != initial_epoch:
        return Failure(
            f"`{name}` starts at epoch {epochs_seen[0]}, but phase 1 already ran {initial_epoch} epochs: "
            f"pass initial_epoch={initial_epoch} (and epochs={initial_epoch} + the extra epochs).",
            "initial_epoch",
        )
    return None
