"""Negative transfer gap over source corruption and labels per class, on full Fashion-MNIST.

For each source base (pre-trained with a fraction epsilon = 0, 0.5, 1.0 of its labels
shuffled), each k labels per target class and each seed, tune scratch, frozen and
partial target models under the fair protocol (every arm, scratch included, chooses
its learning rate and training length on validation images drawn from the target
training pool: ``negative_transfer.GRID_PROTOCOL``), and fine-tuning at one k for the
fully corrupted source.  Reports the negative transfer gap (NTG = error with the
source - error without) with 95 % t-intervals over seeds, what each arm chose, how the
gap moves with k at every epsilon (with a margin), and the expected shapes.

Usage::

    python benchmarks/negative_transfer.py                      # the recorded run
    python benchmarks/negative_transfer.py --seeds 3 --ks 5 50  # a quick look

Writes ``benchmarks/results/negative_transfer.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time


from tlkit import data, models, negative_transfer  # noqa: E402

RESULTS = negative_transfer.RECORDED_RESULTS  # the file the course reads (negative_transfer.load_recorded)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--max-steps", type=int, default=negative_transfer.GRID_PROTOCOL.max_steps,
                        help="longest training of every arm, in optimizer steps (early stopping on validation within it)")
    parser.add_argument("--fine-tune-k", type=int, default=50,
                        help="the k at which fine-tuning the shuffled base is measured (0: not measured)")
    parser.add_argument("--test-per-class", type=int, default=None, help="default: the whole target test split")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    dataset, dataset_name = data.load_largest_available()
    target = data.target_task(dataset)
    protocol = dataclasses.replace(negative_transfer.GRID_PROTOCOL, max_steps=args.max_steps)
    seeds = list(range(args.seeds))
    sources = negative_transfer.CORRUPTED_SOURCES
    missing = [w for w in sources.values() if not models.model_path(w).is_file()]
    if missing:
        print(f"error: missing pre-trained bases {missing}; build them with "
              "`python -m tlkit.pretrain --shuffle-fraction 0.5` and `--shuffle-fraction 1.0`", file=sys.stderr)
        return 1
    common = dict(seeds=seeds, protocol=protocol, test_per_class=args.test_per_class)

    started = time.perf_counter()
    grid = negative_transfer.run_gap_grid(target, sources, labels_per_class=args.ks, strategies=("frozen", "partial"),
                                          progress=True, **common)
    # keep the grid (the long part) even if a later step fails
    partial_file = args.out.with_name(args.out.stem + ".partial.json")
    partial_file.write_text(json.dumps(grid.to_dict()) + "\n")
    k_check = args.fine_tune_k if args.fine_tune_k in args.ks else max(args.ks)
    fine_tuned = None
    if args.fine_tune_k:
        fine_tuned = negative_transfer.run_gap_grid(target, {1.0: sources[1.0]}, labels_per_class=[k_check],
                                                    strategies=("fine_tune",), baseline=grid, progress=True, **common)
    seconds = time.perf_counter() - started

    gaps = {}
    for strategy in grid.strategies:
        gaps[strategy] = {
            f"{epsilon:g}": {str(k): dataclasses.asdict(grid.gap(strategy, epsilon, k)) for k in grid.labels_per_class}
            for epsilon in grid.corruptions
        }
    shapes = negative_transfer.expected_shapes(grid, "frozen", k_check)
    if fine_tuned is not None:
        gaps["fine_tune"] = {"1": {str(k_check): dataclasses.asdict(fine_tuned.gap("fine_tune", 1.0, k_check))}}
        shapes["fine_tune_gap_below_frozen_at_full_corruption"] = bool(
            fine_tuned.gap("fine_tune", 1.0, k_check).high < grid.gap("frozen", 1.0, k_check).low
        )
    shapes["partial_gap_below_frozen_at_full_corruption"] = bool(  # the two intervals apart
        grid.gap("partial", 1.0, k_check).high < grid.gap("frozen", 1.0, k_check).low
    )
    report = {
        "command": "python benchmarks/negative_transfer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "dataset": dataset_name,
        "target_test_images": len(target.test) if args.test_per_class is None else args.test_per_class * 5,
        "seeds": seeds,
        "labels_per_class": args.ks,
        "k_checked": k_check,
        "protocol": protocol.describe().replace("'transfer' is the pre-trained strategy (frozen, partial, fine_tune) "
                                                "with the best validation accuracy on that seed; ", ""),
        "protocol_settings": dataclasses.asdict(protocol),
        "sources": {f"{e:g}": {"weights": w, "source_test_accuracy": models.model_card(w).get("source_test_accuracy")}
                    for e, w in sources.items()},
        "gaps": gaps,
        "grid": grid.to_dict(),
        "fine_tune_grid": None if fine_tuned is None else fine_tuned.to_dict(),
        "expected_shapes": shapes,
        "labels_trend": {strategy: {f"{epsilon:g}": negative_transfer.labels_trend(grid, strategy, epsilon)
                                    for epsilon in grid.corruptions} for strategy in grid.strategies},
        "seconds": round(seconds, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    partial_file.unlink(missing_ok=True)
    for strategy in grid.strategies:
        print(strategy)
        print(grid.gap_table(strategy).round(3))
    print(json.dumps({"expected_shapes": shapes, "labels_trend": report["labels_trend"]}, indent=2))
    print(f"wrote {args.out} after {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
