"""Tiny models, synthetic images and assertions shared by the exercise tests."""

from __future__ import annotations

import numpy as np

CLASSES = 5


def tiny_base(seed: int = 0):
    """Input(28, 28, 1) -> Conv2D(4) -> BatchNormalization -> Flatten -> Dense(8): a stand-in pre-trained base."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(8, activation="relu", name="features"),
        ],
        name="base",
    )


def tiny_images(count: int = 100, seed: int = 0):
    """Images whose class (0-4) is where a bright 8x8 square sits: easy to learn from frozen features."""
    generator = np.random.default_rng(seed)
    labels = np.arange(count) % CLASSES
    images = generator.uniform(0, 0.1, size=(count, 28, 28, 1)).astype("float32")
    for index, label in enumerate(labels):
        row, column = divmod(int(label), 3)
        images[index, row * 10 + 2 : row * 10 + 10, column * 9 + 1 : column * 9 + 9, 0] = 1.0
    return images, labels.astype("int64")


def hint_text(question, key: str) -> str:
    return dict(question.hints)[key]


def assert_incorrect(question, result, *words, hint: str):
    """The check failed, its message names the problem, and the first hint is the one for ``hint``."""
    assert result.status == "incorrect", result.message
    for word in words:
        assert word in result.message, (word, result.message)
    assert result.hint_key == hint, (result.hint_key, result.message)
    assert question.hint().message == hint_text(question, hint)
