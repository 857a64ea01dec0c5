"""How far can a frozen fashion_cnn base go on the target task?  An upper bound for transfer_gain.

``benchmarks/transfer_gain_fixed_budget.py`` asked for a gain of 6 points over training from
scratch.  This benchmark asks whether the architecture and pre-training budget
allow it at all.  It fits a logistic regression on the L2-normalised
``flatten`` features of k labelled target images per class (the same probe as
``benchmarks/pretraining_recipes.py``) for three bases:

``random``   the architecture with fresh random weights (no pre-training);
``shipped``  the shipped base, pre-trained on the source classes 0-4;
``oracle``   the same recipe and the same number of training steps, but trained
             on all ten classes, the target classes 5-9 included.  The course
             must never use it (it has seen the target labels); it shows what the
             frozen features could reach if the source held the target classes.

Each probe accuracy is set beside what a 6-point gain needs: the scratch mean
from ``benchmarks/results/transfer_gain_fixed_budget.json`` plus 6 points.

Needs the full Fashion-MNIST files.  About 4 minutes on 2 cores::

    .venv/bin/python benchmarks/transfer_ceiling.py

Writes ``benchmarks/results/transfer_ceiling.json`` and prints the Markdown table README shows.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

from pretraining_recipes import linear_probe  # noqa: E402
from render_readme import render_transfer_ceiling  # noqa: E402

from tlkit import data, models, pretrain  # noqa: E402

RESULTS = HERE / "results" / "transfer_ceiling.json"
GAIN_RESULTS = HERE / "results" / "transfer_gain_fixed_budget.json"
GOAL_POINTS = 6.0


def oracle_base(full: data.Dataset, seed: int):
    """Pre-train with the shipped recipe on all ten classes, for as many steps as the shipped base took.

    Returns the model, its ten-class test accuracy, the epochs and the seconds.
    """
    shipped_epochs = models.model_card()["training"]["epochs"]
    source_images = len(data.source_task(full).train)
    epochs = max(1, round(shipped_epochs * source_images / len(full.train)))
    model, _, seconds = pretrain.train_with_auxiliary_task(full.train.images, full.train.labels, 10, epochs, seed)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, test_accuracy = model.evaluate(full.test.images, full.test.labels, batch_size=1000, verbose=0)
    return model, float(test_accuracy), epochs, seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--probe-seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random and oracle bases")
    options = parser.parse_args(argv)

    full = data.load_fashion_mnist("full")
    target = data.target_task(full)
    gain_report = json.loads(GAIN_RESULTS.read_text())
    scratch = {str(k): gain_report["results"][str(k)]["strategies"]["scratch"]["mean"] for k in options.ks}
    started = time.perf_counter()

    from tlkit.training import set_seed

    oracle, oracle_accuracy, oracle_epochs, oracle_seconds = oracle_base(full, options.seed)
    set_seed(options.seed)  # the random base's initialisation
    bases = {
        "random (no pre-training)": (models.build_fashion_cnn(), {}),
        "shipped (source classes 0-4)": (
            models.load_base(include_top=True),
            {"source_test_accuracy": models.model_card()["source_test_accuracy"]},
        ),
        "oracle (all 10 classes; not for the course)": (
            oracle,
            {"ten_class_test_accuracy": round(oracle_accuracy, 4), "epochs": oracle_epochs, "seconds": round(oracle_seconds, 1)},
        ),
    }
    rows = {}
    for name, (model, details) in bases.items():
        rows[name] = {"probe_accuracy": linear_probe(model, target, options.ks, range(options.probe_seeds)), **details}
        print(f"{name}: " + "  ".join(f"k={k} {v:.3f}" for k, v in rows[name]["probe_accuracy"].items()), flush=True)
    report = {
        "what": "linear-probe target accuracy of frozen fashion_cnn bases, against what a 6-point transfer gain needs",
        "probe": "logistic regression (C=10) on L2-normalised flatten features; full target test split",
        "probe_seeds": options.probe_seeds,
        "scratch_mean": scratch,
        "needed_for_goal": {k: round(value + GOAL_POINTS / 100, 4) for k, value in scratch.items()},
        "bases": rows,
        "seconds": round(time.perf_counter() - started, 1),
        "command": "python benchmarks/transfer_ceiling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(render_transfer_ceiling(report))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return report


if __name__ == "__main__":
    main()
