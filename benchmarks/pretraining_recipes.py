"""Benchmark: which pre-training recipe gives the most transferable features?

A quick proxy for choosing how ``python -m tlkit.pretrain`` trains the base,
much cheaper than ``benchmarks/transfer_gain_fixed_budget.py``: pre-train ``fashion_cnn``
on the full source split with each recipe, then fit a logistic regression on
the L2-normalised ``flatten`` features of k labelled target images per class
and measure it on the whole target test split (mean over seeds).

Recipes (every one rotates each training image by a random multiple of 90
degrees every epoch and keeps the 5-way class head):

``rotation``    a second head predicts the rotation (4 classes);
``joint``       a second head predicts the pair (class, rotation) (20 classes),
                the shipped recipe;
``joint_flip``  as ``joint``, with random horizontal flips too (40 classes).

Needs the full Fashion-MNIST files. Prints a table and writes
``benchmarks/results/pretraining_recipes.json``::

    .venv/bin/python benchmarks/pretraining_recipes.py [--epochs 5] [--recipes joint rotation]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

from tlkit import data, pretrain  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "pretraining_recipes.json"
RECIPES = ("rotation", "joint", "joint_flip")


def auxiliary_task(recipe: str):
    """The recipe's ``auxiliary_task(images, labels, epoch_seed)`` for :func:`tlkit.pretrain.train_with_auxiliary_task`."""
    if recipe == "joint":
        return pretrain.rotated_with_joint_labels

    def rotate_and_label(images: np.ndarray, labels: np.ndarray, epoch_seed: int):
        rotated, turns = pretrain.rotated_copies(images, epoch_seed)
        if recipe == "rotation":
            return rotated, turns
        flipped = np.random.default_rng(epoch_seed + 100).integers(0, 2, size=len(images))
        rotated[flipped == 1] = rotated[flipped == 1][:, :, ::-1]
        return rotated, pretrain.joint_labels(labels, turns) * 2 + flipped

    return rotate_and_label


def pretrain_with(recipe: str, source: data.Dataset, epochs: int, seed: int):
    """Train ``fashion_cnn`` with ``recipe``; return the model and the seconds it took."""
    units = {"rotation": pretrain.ROTATIONS, "joint": 20, "joint_flip": 40}[recipe]
    model, _, seconds = pretrain.train_with_auxiliary_task(
        source.train.images, source.train.labels, source.train.num_classes, epochs, seed,
        auxiliary_task(recipe), units, "auxiliary",
    )
    return model, seconds


def linear_probe(model, target: data.Dataset, labels_per_class, seeds) -> dict:
    """Mean test accuracy of a logistic regression on normalised flatten features, per k."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    extractor = keras.Model(model.inputs, model.get_layer("flatten").output)
    test_features = normalize(extractor.predict(target.test.images, batch_size=1000, verbose=0))
    scores = {}
    for k in labels_per_class:
        accuracies = []
        for seed in seeds:
            examples = data.few_shot(target.train, k, seed=seed)
            features = normalize(extractor.predict(examples.images, verbose=0))
            classifier = LogisticRegression(C=10, max_iter=3000).fit(features, examples.labels)
            accuracies.append(float(np.mean(classifier.predict(test_features) == target.test.labels)))
        scores[str(k)] = round(float(np.mean(accuracies)), 4)
    return scores


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--probe-seeds", type=int, default=5)
    options = parser.parse_args(argv)

    full = data.load_fashion_mnist("full")
    source, target = data.source_task(full), data.target_task(full)
    rows = {}
    for recipe in options.recipes:
        model, seconds = pretrain_with(recipe, source, options.epochs, options.seed)
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        _, source_accuracy = model.evaluate(source.test.images, source.test.labels, batch_size=1000, verbose=0)
        rows[recipe] = {
            "seconds": round(seconds, 1),
            "source_test_accuracy": round(float(source_accuracy), 4),
            "probe_accuracy": linear_probe(model, target, options.ks, range(options.probe_seeds)),
        }
        probe = "  ".join(f"k={k} {value:.3f}" for k, value in rows[recipe]["probe_accuracy"].items())
        print(f"{recipe:11} source {source_accuracy:.3f}  probe {probe}  ({seconds:.0f} s)", flush=True)
    result = {"epochs": options.epochs, "seed": options.seed, "probe_seeds": options.probe_seeds,
              "recipes": rows, "command": "python benchmarks/pretraining_recipes.py " + " ".join(argv or sys.argv[1:])}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
