"""Cached feature extraction: run a frozen base over the images once, then reuse the result.

Training a head on a frozen base repeats the same expensive forward pass
through the base in every epoch. :func:`extract_features` runs it once and
stores the features on disk as a ``.npy`` file. The file name is a SHA-256
digest of everything the result depends on: the base's architecture, every
one of its weights (in order), and the images' bytes, shape and dtype. So
the same base on the same images is never run twice, and any change of a
weight or a pixel gives a new file instead of stale features.

The cache lives in ``$TLKIT_CACHE_DIR/features`` if that environment
variable is set, else in ``features/`` under the user's cache folder
(``platformdirs.user_cache_dir("tlkit")``), never inside the repository.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import pathlib
import tempfile
import warnings

import numpy as np

from tlkit.errors import InputShapeError, TlkitError
from tlkit.model_structure import declared_inputs, nested_layers

__all__ = [
    "CACHE_ENVIRONMENT_VARIABLE",
    "CorruptCacheWarning",
    "FeatureCache",
    "default_cache_dir",
    "extract_features",
    "model_fingerprint",
    "images_fingerprint",
]

#: Environment variable naming tlkit's cache folder (features go in its ``features/``).
CACHE_ENVIRONMENT_VARIABLE = "TLKIT_CACHE_DIR"
#: Changes whenever the way keys are computed changes, so old files are not reused.
_KEY_VERSION = b"tlkit-feature-cache-v1"


class CorruptCacheWarning(UserWarning):
    """A cached feature file could not be used and the features were recomputed."""


def default_cache_dir() -> pathlib.Path:
    """Return the folder cached features go to when no folder is given.

    Returns
    -------
    pathlib.Path
        ``$TLKIT_CACHE_DIR/features`` when the variable is set, else
        ``<user cache folder>/tlkit/features`` (``platformdirs``).
    """
    root = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("tlkit", appauthor=False)
    return pathlib.Path(root).expanduser() / "features"


# ---------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------


def _input_layer_names(config) -> list[str]:
    """Names of the InputLayer entries of a config (Sequential hides them from ``.layers``)."""
    found = []
    if isinstance(config, dict):
        if config.get("class_name") == "InputLayer" and isinstance(config.get("config"), dict):
            name = config["config"].get("name")
            if isinstance(name, str):
                found.append(name)
        for value in config.values():
            found.extend(_input_layer_names(value))
    elif isinstance(config, (list, tuple)):
        for value in config:
            found.extend(_input_layer_names(value))
    return found


def _canonical_config(config, names: dict):
    """Replace layer names by their position and drop ``trainable`` flags, everywhere.

    Keras numbers automatic names (``dense_3``), so the same architecture
    built twice in one session would otherwise get a different key; and
    freezing a layer does not change what it computes.
    """
    if isinstance(config, dict):
        return {
            key: _canonical_config(value, names)
            for key, value in config.items()
            if key != "trainable"
        }
    if isinstance(config, (list, tuple)):
        return [_canonical_config(value, names) for value in config]
    if isinstance(config, str) and config in names:
        return names[config]
    return config


def _architecture_description(model) -> bytes:
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError, ValueError):
        config = None
    layers = list(nested_layers(model))
    names = {model.name: "<model>"}
    for position, name in enumerate([layer.name for layer in layers] + _input_layer_names(config)):
        names.setdefault(name, f"<layer {position}>")
    description = {
        "class": type(model).__name__,
        "layers": [type(layer).__name__ for layer in layers],
        "config": _canonical_config(config, names),
    }
    return json.dumps(description, sort_keys=True, default=repr).encode()


def model_fingerprint(model) -> str:
    """Return a SHA-256 hex digest of a model's architecture and all of its weights.

    Parameters
    ----------
    model : keras.Model
        A built model.

    Returns
    -------
    str
        64 hexadecimal characters. Changing any weight value (trainable or
        not, for example a BatchNormalization moving mean) changes it; the
        layers' automatic names and their ``trainable`` flags do not.
    """
    digest = hashlib.sha256(_KEY_VERSION)
    digest.update(_architecture_description(model))
    for variable in model.weights:
        values = np.ascontiguousarray(np.asarray(variable.numpy()))
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def images_fingerprint(images: np.ndarray) -> str:
    """Return a SHA-256 hex digest of an image array's shape, dtype and bytes.

    Parameters
    ----------
    images : numpy.ndarray
        The images.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    values = np.ascontiguousarray(images)
    digest = hashlib.sha256(_KEY_VERSION)
    digest.update(f"{values.dtype.str}{values.shape}".encode())
    digest.update(memoryview(values).cast("B"))
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _expected_input_shape(base) -> tuple:
    inputs = declared_inputs(base)
    if not inputs:
        raise InputShapeError(
            f"extract_features: base {getattr(base, 'name', base)!r} has no known input shape; "
            "build it with a keras.Input first"
        )
    if len(inputs) != 1:
        raise InputShapeError(
            f"extract_features: base {base.name!r} has {len(inputs)} inputs; it needs exactly one"
        )
    return (None,) + tuple(inputs[0].shape[1:])


def _expected_output_shape(base) -> tuple | None:
    try:
        outputs = base.outputs
    except (AttributeError, ValueError):
        return None
    if not outputs or len(outputs) != 1:
        return None
    return tuple(outputs[0].shape[1:])


def _check_images(base, images) -> np.ndarray:
    if hasattr(images, "images") and hasattr(images, "labels"):
        raise InputShapeError(
            "extract_features: pass the image array (for example split.images), not the whole split"
        )
    try:
        images = np.asarray(images)
    except (TypeError, ValueError) as error:
        raise InputShapeError(f"extract_features: images must be a numeric array ({error})") from None
    expected = _expected_input_shape(base)
    if images.dtype.kind not in "uif":
        raise InputShapeError(
            f"extract_features: images must be integers or floats, got dtype {images.dtype} "
            f"with shape {images.shape}; base {base.name!r} expects shape {expected}"
        )
    fits = images.ndim == len(expected) and all(
        want is None or want == have for want, have in zip(expected[1:], images.shape[1:])
    )
    if not fits:
        hint = (
            "; for one image use images[None]"
            if images.ndim == len(expected) - 1
            else ""
        )
        raise InputShapeError(
            f"extract_features: base {base.name!r} expects images of shape {expected}, "
            f"got {images.shape}{hint}"
        )
    if images.shape[0] == 0:
        raise InputShapeError(f"extract_features: images is empty (shape {images.shape})")
    return images


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------


class FeatureCache:
    """A folder of cached feature arrays, one ``.npy`` file per (base, images) pair.

    The disk cache of a frozen base's outputs, kept across sessions. Within
    one experiment, the frozen and partial arms train on in-memory cached
    inputs instead (:class:`tlkit.experiments.CachedBase`).

    Parameters
    ----------
    directory : str or path-like, optional
        Where the files go; default :func:`default_cache_dir`. It is created
        when the first file is written.
    """

    def __init__(self, directory=None):
        self.directory = pathlib.Path(directory).expanduser() if directory else default_cache_dir()

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.directory)!r})"

    def key_for(self, base, images: np.ndarray) -> str:
        """Return the cache key of ``base`` applied to ``images`` (64 hex characters)."""
        combined = hashlib.sha256(_KEY_VERSION)
        combined.update(model_fingerprint(base).encode())
        combined.update(images_fingerprint(images).encode())
        return combined.hexdigest()

    def path_for(self, base, images: np.ndarray) -> pathlib.Path:
        """Return the file the features of ``base`` on ``images`` are (or would be) stored in."""
        return self.directory / f"{self.key_for(base, images)}.npy"

    def files(self) -> list[pathlib.Path]:
        """Return the cached feature files, sorted by name."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.npy"))

    def clear(self) -> int:
        """Delete every cached feature file; return how many were deleted."""
        removed = 0
        for path in self.files():
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def load(self, path: pathlib.Path, count: int, feature_shape: tuple | None) -> np.ndarray | None:
        """Read a cached file, or return None if it is missing or unusable.

        An unusable file (truncated, not a ``.npy`` array, or of the wrong
        shape or dtype) is reported with a :class:`CorruptCacheWarning` and
        deleted, so that the caller recomputes it.

        Parameters
        ----------
        path : pathlib.Path
            The file, from :meth:`path_for`.
        count : int
            The number of images the features must cover.
        feature_shape : tuple or None
            The shape of one feature vector (None entries match anything);
            None skips that check.
        """
        if not path.exists():
            return None
        problem = None
        try:
            features = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            problem = f"it cannot be read ({error})"
        else:
            shape_ok = features.ndim >= 1 and features.shape[0] == count
            if shape_ok and feature_shape is not None:
                shape_ok = len(features.shape) == 1 + len(feature_shape) and all(
                    want is None or want == have for want, have in zip(feature_shape, features.shape[1:])
                )
            if not shape_ok:
                expected = (count,) + tuple(feature_shape or ("...",))
                problem = f"it holds shape {features.shape}, expected {expected}"
            elif features.dtype.kind != "f":
                problem = f"it holds dtype {features.dtype}, expected floats"
        if problem is None:
            return features
        warnings.warn(
            f"feature cache file {path} is corrupt: {problem}; recomputing the features",
            CorruptCacheWarning,
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return None

    def save(self, path: pathlib.Path, features: np.ndarray) -> None:
        """Write ``features`` to ``path`` atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=".npy")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, features, allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise


def extract_features(
    base,
    images,
    batch_size: int = 256,
    cache_dir=None,
    progress: bool = False,
    use_cache: bool = True,
) -> np.ndarray:
    """Run a (frozen) base over images once and return its outputs, cached on disk.

    Parameters
    ----------
    base : keras.Model
        The feature extractor, for example
        ``tlkit.models.load_base(include_top=False)``.
    images : numpy.ndarray
        A batch of images of the shape the base expects, e.g.
        ``(n, 28, 28, 1)``; integers or floats.
    batch_size : int, default 256
        Images per ``predict`` batch; it does not change the result's key.
    cache_dir : str or path-like, optional
        Folder of the cache; default :func:`default_cache_dir`.
    progress : bool, default False
        Show a progress bar while the base runs (nothing is shown when
        the features come from the cache).
    use_cache : bool, default True
        With False, always run the base and write nothing to disk.

    Returns
    -------
    numpy.ndarray
        ``base.predict(images)``: one feature vector (or feature map) per
        image, in the order of ``images``.

    Raises
    ------
    InputShapeError
        ``images`` does not have the shape or a numeric dtype the base
        expects; the message names both shapes.

    Warns
    -----
    CorruptCacheWarning
        A cached file was unreadable or of the wrong shape; it is recomputed.

    Notes
    -----
    The key covers every weight, so extracting features, then training the
    base (fine-tuning), then extracting again gives fresh features, never
    the stale ones.
    """
    if not hasattr(base, "predict"):
        raise TlkitError(f"extract_features: base must be a Keras model, got {type(base).__name__}")
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputShapeError(f"extract_features: batch_size must be a positive int, got {batch_size!r}")
    images = _check_images(base, images)
    cache = path = None
    if use_cache:
        cache = FeatureCache(cache_dir)
        path = cache.path_for(base, images)
        cached = cache.load(path, len(images), _expected_output_shape(base))
        if cached is not None:
            return cached
    callbacks = []
    if progress:
        from tlkit.training import ProgressBar

        callbacks.append(ProgressBar(description="extracting features"))
    features = np.asarray(base.predict(images, batch_size=int(batch_size), verbose=0, callbacks=callbacks))
    if cache is not None:
        cache.save(path, features)
    return features
