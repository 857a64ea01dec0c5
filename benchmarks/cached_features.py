"""Benchmark: training a head on cached features vs. through the frozen base.

Both runs train the same head (one Dense softmax layer on the base's
feature vector) on the same target images for the same number of epochs.

* end to end: ``add_head(frozen base)``; every epoch runs the images
  through the base again;
* cached: one ``extract_features`` pass (timed on its own), then the head
  alone trains on the stored feature vectors.

The script prints a table and writes ``benchmarks/results/cached_features.json``.
Run it from the repository root::

    .venv/bin/python benchmarks/cached_features.py [--images N] [--epochs 5] [--batch-size 64]

By default it uses every target-task training image of the largest data
available (30,000 with the full Fashion-MNIST files, 4,000 with the course
subset): with a few thousand images the fixed cost Keras pays at the start
of every epoch, not the base, dominates both runs.

Per-epoch times are medians over the epochs after the first (the first
includes building the training function); the first-epoch times are
reported as well. Both runs compile with ``steps_per_execution=8``. If the
pre-trained weights file is missing, the base gets random weights: the
timing does not depend on the weight values, and the JSON says which.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tlkit import data, models  # noqa: E402
from tlkit.errors import TlkitError  # noqa: E402
from tlkit.features import extract_features  # noqa: E402
from tlkit.freezing import freeze  # noqa: E402
from tlkit.heads import add_head  # noqa: E402
from tlkit.training import EpochTimer, set_seed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cached_features.json"


def target_images(count: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``count`` target-task training images (balanced), or all of them when ``count`` is None."""
    dataset, which = data.load_largest_available()
    target = data.target_task(dataset)
    if count is None:
        return target.train.images, target.train.labels, which
    per_class = count // target.train.num_classes
    sample = data.few_shot(target.train, per_class, seed=0)
    return sample.images, sample.labels, which


def frozen_base() -> tuple[keras.Model, str]:
    """The kit's pre-trained base, or the same architecture with random weights if absent."""
    try:
        base, weights = models.load_base(include_top=False), "fashion_source"
    except TlkitError as error:  # weights not trained yet: the timing does not depend on them
        print(f"note: {error}; timing with random weights instead", file=sys.stderr)
        base, weights = models.load_base(include_top=False, weights=None), "random (pre-trained file missing)"
    freeze(base)
    return base, weights


def fit_timed(model, x, y, epochs: int, batch_size: int) -> list[float]:
    # steps_per_execution runs several batches per call into TensorFlow for both
    # runs alike, so Python overhead per batch does not hide the cost of the base.
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=8
    )
    timer = EpochTimer()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=[timer])
    return timer.seconds


def steady(seconds: list[float]) -> float:
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None, help="default: every target training image")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    arguments = parser.parse_args(argv)

    images, labels, which = target_images(arguments.images)
    num_classes = int(labels.max()) + 1

    set_seed(0)
    base, weights = frozen_base()
    end_to_end = fit_timed(add_head(base, num_classes), images, labels, arguments.epochs, arguments.batch_size)

    start = time.perf_counter()
    features = extract_features(base, images, batch_size=256, use_cache=False)
    extraction_seconds = time.perf_counter() - start

    set_seed(0)
    head = keras.Sequential(
        [keras.Input(features.shape[1:]), keras.layers.Dense(num_classes, activation="softmax", name="head_output")],
        name="head_on_features",
    )
    cached = fit_timed(head, features, labels, arguments.epochs, arguments.batch_size)

    speed_up = steady(end_to_end) / steady(cached)
    result = {
        "images": int(len(images)),
        "data": which,
        "epochs": arguments.epochs,
        "batch_size": arguments.batch_size,
        "base_weights": weights,
        "feature_shape": list(features.shape[1:]),
        "end_to_end_epoch_seconds": [round(s, 4) for s in end_to_end],
        "cached_epoch_seconds": [round(s, 4) for s in cached],
        "end_to_end_seconds_per_epoch": round(steady(end_to_end), 4),
        "cached_seconds_per_epoch": round(steady(cached), 4),
        "extraction_seconds": round(extraction_seconds, 4),
        "speed_up_per_epoch": round(speed_up, 1),
        "goal_speed_up": 20,
        "end_to_end_total_seconds": round(sum(end_to_end), 3),
        "cached_total_seconds_including_extraction": round(sum(cached) + extraction_seconds, 3),
        "environment": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
    }

    rows = [
        ("end to end (frozen base)", result["end_to_end_seconds_per_epoch"], result["end_to_end_total_seconds"]),
        ("cached features (head only)", result["cached_seconds_per_epoch"], round(sum(cached), 3)),
        ("one extraction pass", None, result["extraction_seconds"]),
    ]
    print(f"{len(images)} {which} images, {arguments.epochs} epochs, batch {arguments.batch_size}, weights: {weights}")
    print(f"{'':30}  {'s / epoch':>10}  {'total s':>8}")
    for name, per_epoch, total in rows:
        print(f"{name:30}  {'' if per_epoch is None else f'{per_epoch:10.4f}':>10}  {total:8.3f}")
    verdict = "meets" if speed_up >= 20 else "misses"
    print(f"speed-up per epoch: {speed_up:.1f}x ({verdict} the 20x goal)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
