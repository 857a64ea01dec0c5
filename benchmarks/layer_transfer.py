"""Yosinski et al.'s AnB/BnB experiment on full Fashion-MNIST halves (classes 0-4 and 5-9).

Tunes baseA and baseB (tlkit.layer_transfer.build_small_cnn) for every seed, then
BnB, BnB+, AnB and AnB+ for n = 1..L: every network chooses its learning rate and
training length on validation images drawn from its task's training pool (the fair
protocol of tlkit.experiments). Reports test accuracy on task B, what each network
chose, and the expected-shape checks (AnB falls with n; AnB+ at or above baseB; BnB dips
in the middle).

Usage::

    python benchmarks/layer_transfer.py                         # the recorded run
    python benchmarks/layer_transfer.py --per-class 300 --seeds 3 6

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

RESULTS = layer_transfer.RECORDED_RESULTS  # the file the course reads (layer_transfer.load_recorded)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-class", type=int, default=1000, help="labelled training images per class of each half")
    parser.add_argument("--max-steps", type=int, default=800, help="longest training of a transferred network (optimizer steps)")
    parser.add_argument("--base-max-steps", type=int, default=1600, help="longest training of baseA and baseB")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    dataset, dataset_name = data.load_largest_available()
    protocol = dataclasses.replace(layer_transfer.LAYER_PROTOCOL, max_steps=args.max_steps, check_every_steps=args.max_steps // 5,
                                   fine_tune_head_steps=args.max_steps // 5, validation_per_class=100)
    base_protocol = dataclasses.replace(protocol, max_steps=args.base_max_steps, check_every_steps=args.base_max_steps // 10,
                                        fine_tune_head_steps=args.base_max_steps // 10)
    budget = layer_transfer.LayerTransferBudget(train_per_class=args.per_class, test_per_class=None, protocol=protocol,
                                                base_protocol=base_protocol)
    seeds = list(args.seeds)
    started = time.perf_counter()
    results = layer_transfer.run_layer_transfer(dataset, seeds=seeds, budget=budget, progress=True)
    seconds = time.perf_counter() - started
    base_b = results.base_b_mean
    report = {
        "command": "python benchmarks/layer_transfer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "dataset": dataset_name,
        "architecture": "small_cnn: conv1(8) pool conv2(16) pool dense1(64) dense2(32) predictions(5)",
        "seeds": seeds,
        "budget": {"train_per_class": budget.train_per_class, "test_per_class": budget.test_per_class,
                   "protocol": dataclasses.asdict(budget.protocol), "base_protocol": dataclasses.asdict(budget.base_protocol)},
        "protocol": "Every network (baseA, baseB, every variant at every n) chooses its Adam learning rate from "
                    f"{list(protocol.learning_rates)} and its length by early stopping (checked every {protocol.check_every_steps} "
                    f"steps up to {protocol.max_steps}; bases every {base_protocol.check_every_steps} up to {base_protocol.max_steps}) "
                    f"on {protocol.validation_per_class} validation images per class drawn from its task's training pool, "
                    "disjoint from the labelled images; test images are read afterwards.",
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
