"""Yosinski et al.'s AnB/BnB experiment on full Fashion-MNIST halves (classes 0-4 and 5-9).

Trains baseA and baseB (tlkit.layer_transfer.build_small_cnn) for every seed, then
BnB, BnB+, AnB and AnB+ for n = 1..L, and reports test accuracy on task B with the
expected-shape checks (AnB falls with n; AnB+ at or above baseB; BnB dips in the middle).

Usage::

    python benchmarks/layer_transfer.py              # full data, 3 seeds
    python benchmarks/layer_transfer.py --per-class 500 --seeds 2

Writes ``benchmarks/results/layer_transfer.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time


from tlkit import data, layer_transfer  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "layer_transfer.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=None, help="training images per class (default: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    dataset, dataset_name = data.load_largest_available()
    budget = layer_transfer.LayerTransferBudget(
        train_per_class=args.per_class, test_per_class=None, base_epochs=args.epochs,
        transfer_epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
    )
    seeds = list(range(args.seeds))
    started = time.perf_counter()
    results = layer_transfer.run_layer_transfer(dataset, seeds=seeds, budget=budget, progress=True)
    seconds = time.perf_counter() - started
    base_b = results.base_b_mean
    report = {
        "command": "python benchmarks/layer_transfer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "dataset": dataset_name,
        "architecture": "small_cnn: conv1(8) pool conv2(16) pool dense1(64) dense2(32) predictions(5)",
        "seeds": seeds,
        "budget": dataclasses.asdict(budget),
        "results": results.to_dict(),
        "means": {
            "baseB": round(base_b, 4),
            **{variant: {str(n): round(results.mean(variant, n), 4) for n in results.depths}
               for variant in layer_transfer.VARIANTS},
        },
        "paper": {"baseB": layer_transfer.PAPER["baseB"], "AnB": {str(n): v for n, v in layer_transfer.PAPER["AnB"].items()},
                  "BnB_dip": {"5": layer_transfer.PAPER["BnB_dip"][5]}, "AnB+_range": list(layer_transfer.PAPER["AnB+_range"])},
        "expected_shapes": layer_transfer.expected_shapes(results),
        "advice": layer_transfer.freezing_advice(results, 0.01),
        "seconds": round(seconds, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(results.table())
    print(json.dumps(report["expected_shapes"], indent=2))
    print(f"wrote {args.out} after {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
