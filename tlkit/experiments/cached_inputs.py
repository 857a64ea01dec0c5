"""Training the frozen and partial arms on cached inputs instead of images.

When a strategy leaves the convolutions of a base frozen (``"frozen"`` and
``"partial"``), their outputs never change during training, so they can be
computed once per image split and every learning rate, seed and checkpoint of
the arm trains only the small part on top. :class:`CachedBase` holds those
outputs' source and builds that small part. The result is the same model the
fair protocol builds with :func:`tlkit.experiments.build_fair_model`, split at
the frozen boundary.

The cache is in memory and lives for one experiment. To keep a frozen base's
features on disk across sessions (keyed by the base's architecture and
weights and by the images), use :class:`tlkit.features.FeatureCache` instead.
"""

from __future__ import annotations

import numpy as np

from tlkit import heads, models
from tlkit.evaluation import predict_eagerly
from tlkit.experiments.strategies import PARTIAL_TRAINABLE

__all__ = ["CACHED_STRATEGIES", "CachedBase"]

#: The strategies whose trainable part sits above frozen convolutions, so they can train on cached inputs.
CACHED_STRATEGIES = ("frozen", "partial")


class CachedBase:
    """One pre-trained base split at its frozen convolutions, for training on cached inputs.

    Parameters
    ----------
    weights : str
        A shipped base with a ``flatten`` layer below its Dense ``features``
        layer (:func:`tlkit.models.load_base`).
    """

    def __init__(self, weights: str):
        import keras

        model = models.load_base(include_top=True, weights=weights)
        self.convolutions = keras.Model(model.inputs[0], model.get_layer("flatten").output)
        self.dense_weights = model.get_layer(models.FEATURE_LAYER).get_weights()

    def conv_features(self, images: np.ndarray) -> np.ndarray:
        """The frozen convolutions' flattened outputs for ``images``."""
        return predict_eagerly(self.convolutions, images, batch_size=500)

    def dense_features(self, conv_features: np.ndarray) -> np.ndarray:
        """The pre-trained ``features`` layer's outputs (ReLU) for cached convolution outputs."""
        kernel, bias = self.dense_weights
        return np.maximum(conv_features @ kernel + bias, 0.0).astype("float32")

    def head_model(self, strategy: str, num_classes: int, dropout: float):
        """The part of ``strategy``'s fair-protocol model that trains, on cached inputs.

        Built like :func:`tlkit.experiments.build_fair_model`: ``heads.add_head``
        on a base whose trainable part is what the strategy trains. For
        ``"partial"`` that base is the pre-trained Dense ``features`` layer
        (trainable) on the cached convolution outputs; for ``"frozen"`` it is
        nothing (the cached ``features`` outputs go straight to the head).
        """
        import keras

        units = self.dense_weights[0].shape[1]
        if strategy == "partial":
            inputs = keras.Input((self.dense_weights[0].shape[0],), name="conv_features")
            dense = keras.layers.Dense(units, activation="relu", name=PARTIAL_TRAINABLE)
            base = keras.Model(inputs, dense(inputs), name="features_base")
            dense.set_weights(self.dense_weights)
        else:
            inputs = keras.Input((units,), name="features")
            base = keras.Model(inputs, inputs, name="frozen_features")
        return heads.add_head(base, num_classes, dropout=dropout, name=f"{strategy}_head")
