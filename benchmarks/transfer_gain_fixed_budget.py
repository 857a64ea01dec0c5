"""The first, fixed-budget transfer benchmark: target accuracy by strategy and labels per class.

For k = 5, 10 and 50 labels per class and several seeds, train a target model
(Fashion-MNIST classes 5-9) by each strategy of :mod:`tlkit.experiments` with the
same architecture and training budget, evaluate on the target test split, and
report mean, standard deviation and the gain of the best transfer strategy over
training from scratch (``gain_pts``, accuracy points).

Kept as a record: every strategy shares one learning rate and epoch budget, which
issue 13 showed to be unfair (it starves feature extraction and, with few labels,
scratch).  The fair comparison is ``benchmarks/transfer_gain.py``.

Usage::

    python benchmarks/transfer_gain_fixed_budget.py            # 5 seeds, k = 5 10 50 (about 15 min on 2 cores)
    python benchmarks/transfer_gain_fixed_budget.py --seeds 2 --ks 5   # a quick look
    python benchmarks/transfer_gain_fixed_budget.py --ks 5 10 --translation 0.1 --out benchmarks/results/transfer_gain_fixed_budget_shifted.json
                                                  # every strategy, scratch included, trained on shifted images

Writes ``benchmarks/results/transfer_gain_fixed_budget.json`` and prints a Markdown table,
which ``python benchmarks/render_readme.py`` copies into README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time


from tlkit import data, experiments, models  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "transfer_gain_fixed_budget.json"


def markdown_table(summary: dict) -> str:
    """Render the summary as a Markdown table (one row per k)."""
    strategies = list(next(iter(summary.values()))["strategies"])
    header = "| labels per class | " + " | ".join(strategies) + " | gain (points) |"
    rule = "|---" * (len(strategies) + 2) + "|"
    rows = []
    for k, entry in summary.items():
        cells = [f"{entry['strategies'][name]['mean']:.3f} ± {entry['strategies'][name]['std']:.3f}" for name in strategies]
        rows.append(f"| {k} | " + " | ".join(cells) + f" | {entry['gain_pts']:+.1f} ({entry['best_transfer']}) |")
    return "\n".join([header, rule, *rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 10, 50])
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--translation", type=float, default=0.0,
                        help="shift training images at random by up to this fraction (all strategies; default 0)")
    args = parser.parse_args(argv)

    dataset, dataset_name = data.load_largest_available()
    target = data.target_task(dataset)
    budget = experiments.TrainingBudget(translation=args.translation)
    started = time.perf_counter()
    results = experiments.transfer_grid(target, labels_per_class=args.ks, seeds=range(args.seeds), budget=budget)
    summary = experiments.summarise(results)
    seconds = time.perf_counter() - started

    card = models.model_card()
    report = {
        "what": "target-task test accuracy by transfer strategy (Fashion-MNIST classes 5-9)",
        "dataset": dataset_name,
        "target_test_images": len(target.test),
        "seeds": list(range(args.seeds)),
        "budget": dataclasses.asdict(budget),
        "base": {"weights": card["name"], "source_test_accuracy": card["source_test_accuracy"], "sha256": card["sha256"]},
        "seconds": round(seconds, 1),
        "results": {str(k): entry for k, entry in summary.items()},
        "command": "python benchmarks/transfer_gain_fixed_budget.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(summary))
    print(f"\n{len(args.ks) * args.seeds * len(experiments.STRATEGIES)} target models in {seconds:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
