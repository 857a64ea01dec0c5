"""The validation carve-out of the experiments: labelled examples and a disjoint validation split.

Every tuned experiment of the kit (the fair protocol, the negative-transfer
grid, the layer-transfer experiment) draws its labelled examples and the
validation images that choose its budget with :func:`few_shot_with_validation`,
so every arm of a seed sees the same images.
"""

from __future__ import annotations

import numpy as np

from tlkit import data
from tlkit.errors import TlkitError

__all__ = ["few_shot_with_validation"]


def few_shot_with_validation(pool: data.LabelledImages, k: int, seed: int, validation_per_class: int):
    """The labelled examples of :func:`tlkit.data.few_shot` (same seed, same images) and a disjoint validation split.

    The validation images are drawn, ``validation_per_class`` per class, from
    the rest of ``pool`` with their own generator (``seed + 7919``).

    Returns
    -------
    examples, validation : LabelledImages
    used : numpy.ndarray
        The positions in ``pool`` of the labelled examples.
    """
    data.refuse_test_split(pool, "few_shot_with_validation (the validation images choose every arm's budget)")
    # the positions data.few_shot draws for this seed (it takes exactly these, in this order)
    used = data.few_shot_indices(pool.labels, k, seed, classes=range(pool.num_classes), class_names=pool.class_names)
    examples = pool.take(used)
    remaining = np.setdiff1d(np.arange(len(pool)), used)
    rng = np.random.default_rng(seed + 7919)
    chosen = []
    for label in range(pool.num_classes):
        candidates = remaining[pool.labels[remaining] == label]
        if len(candidates) < validation_per_class:
            raise TlkitError(
                f"few_shot_with_validation: class {label} has only {len(candidates)} images left for "
                f"{validation_per_class} validation images"
            )
        chosen.append(rng.choice(candidates, size=validation_per_class, replace=False))
    validation = pool.take(np.sort(np.concatenate(chosen)))
    validation = data.LabelledImages(validation.images, validation.labels, validation.class_names, "validation")
    return examples, validation, used
