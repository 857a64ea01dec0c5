"""The validation carve-out of the experiments: labelled examples and a disjoint validation split.

Every tuned experiment of the kit (the fair protocol, the negative-transfer
grid, the layer-transfer experiment) draws its labelled examples and the
validation images that choose its budget with :func:`few_shot_with_validation`,
so every arm of a seed sees the same images.
"""

from __future__ import annotations

from tlkit import data

__all__ = ["few_shot_with_validation"]


def few_shot_with_validation(pool: data.LabelledImages, k: int, seed: int, validation_per_class: int):
    """The labelled examples of :func:`tlkit.data.few_shot` (same seed, same images) and a disjoint validation split.

    The validation images are :func:`tlkit.data.validation_split`'s (the
    kit's one carve-out), drawn ``validation_per_class`` per class from the
    rest of ``pool``.

    Returns
    -------
    examples, validation : LabelledImages
    used : numpy.ndarray
        The positions in ``pool`` of the labelled examples.
    """
    data.refuse_test_split(pool, "few_shot_with_validation (the validation images choose every arm's budget)")
    # the positions data.few_shot draws for this seed (it takes exactly these, in this order)
    used = data.few_shot_indices(pool.labels, k, seed, classes=range(pool.num_classes), class_names=pool.class_names)
    validation = data.validation_split(pool, validation_per_class, seed, exclude=used)
    return pool.take(used), validation, used
