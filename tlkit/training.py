"""Reproducible training: seeding and small helpers around ``model.fit``."""

from __future__ import annotations

import os
import random

import numpy as np


def set_seed(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow so that a run can be repeated exactly.

    Parameters
    ----------
    seed : int, default 0
        The seed for every random number generator involved in training.
    deterministic : bool, default True
        Also ask TensorFlow for deterministic kernels
        (``tf.config.experimental.enable_op_determinism``), so the same seed
        gives the same weights on the same machine, not just similar ones.

    Notes
    -----
    Call it before building a model: Keras draws initial weights when the
    layers are built.
    """
    import keras
    import tensorflow as tf

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        from tlkit.errors import InputShapeError

        raise InputShapeError(f"set_seed: seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
