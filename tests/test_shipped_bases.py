"""Every pre-trained base the kit ships is a working network: its features are alive and carry information.

A network whose ``features`` units are all zero on every image (dead ReLUs)
hands every head the same input: any head on it predicts one class, and a
comparison that uses it measures a training failure, not transfer.  Two checks
per shipped base, on the course's own images:

* the share of ``features`` units that are zero on every one of 600 course test
  images stays below 90% (healthy bases measure about 42-53%; a base trained on
  fully shuffled labels keeps fewer units alive but still far from none);
* a linear probe on the features (logistic regression, trained on target
  training images, tested on the target test images) beats chance by a clear margin.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, models

#: Fail when this share of the ``features`` units or more is zero on every test image.
DEAD_SHARE_LIMIT = 0.90
#: How many course test images the dead-unit share is measured on (a fixed draw).
DEAD_SHARE_IMAGES = 600
#: Target training images per class the probe learns from.
PROBE_TRAIN_PER_CLASS = 100
#: The probe must beat chance (1 / classes) by this many accuracy points.
PROBE_MARGIN = 0.15


def _split_of(weights: str) -> str:
    """The class split a shipped base was pre-trained for (its card's task), whose target the probe uses."""
    task = models.model_card(weights)["data"]["task"]
    for split in data.CLASS_SPLITS:
        if task.startswith(f"source ({split} split)"):
            # the distant base is pre-trained for the related split's target (data.CLASS_SPLITS)
            return "related" if split == "distant" else split
    assert task.startswith("source: classes"), f"{weights}: unexpected task text {task!r}"
    return "course"


@pytest.fixture(scope="module")
def course():
    return data.load_fashion_mnist("course")


def _features(weights: str, images: np.ndarray) -> np.ndarray:
    extractor = models.load_base(models.KIT_ARCHITECTURE, weights=weights, include_top=False)
    return np.asarray(extractor.predict(images, batch_size=500, verbose=0))


@pytest.mark.parametrize("weights", sorted(models.KIT_WEIGHTS))
def test_the_features_of_every_shipped_base_are_alive(weights, course):
    chosen = np.random.default_rng(0).choice(len(course.test), size=DEAD_SHARE_IMAGES, replace=False)
    features = _features(weights, course.test.images[chosen])
    assert features.shape == (DEAD_SHARE_IMAGES, 128)
    dead_share = float(np.mean(np.all(features == 0, axis=0)))
    assert dead_share < DEAD_SHARE_LIMIT, (
        f"{weights}: {100 * dead_share:.0f}% of the 'features' units are zero on all {DEAD_SHARE_IMAGES} test images "
        f"(limit {100 * DEAD_SHARE_LIMIT:.0f}%): a collapsed network; rebuild it (its model card has the command)"
    )


@pytest.mark.parametrize("weights", sorted(models.KIT_WEIGHTS))
def test_a_linear_probe_on_every_shipped_base_beats_chance(weights, course):
    from sklearn.linear_model import LogisticRegression

    target = data.target_task(course, _split_of(weights))
    train = data.few_shot(target.train, PROBE_TRAIN_PER_CLASS, seed=0)
    probe = LogisticRegression(max_iter=2000)
    probe.fit(_features(weights, train.images), train.labels)
    accuracy = float(probe.score(_features(weights, target.test.images), target.test.labels))
    chance = 1 / target.train.num_classes
    assert accuracy > chance + PROBE_MARGIN, (
        f"{weights}: a linear probe on its features scores {100 * accuracy:.1f}% on the target "
        f"({target.train.num_classes} classes, chance {100 * chance:.1f}%): its features carry no information"
    )
