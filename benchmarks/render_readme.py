"""Copy the benchmark results into README.md, between marker comments.

README.md holds blocks like::

    <!-- results:transfer_gain -->
    ...generated table...
    <!-- /results:transfer_gain -->

This script regenerates each block from ``benchmarks/results/<name>.json``, so
every number the README shows comes from a committed result file.
``tests/test_readme.py`` fails when README and the results disagree.

Usage: ``python benchmarks/render_readme.py`` (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def render_fair_protocol(report: dict) -> str:
    """Fair protocol: tuned accuracy (percent) per strategy and k, paired gain of transfer over scratch with its CI."""
    import statistics

    results = report["results"]
    strategies = list(next(iter(results.values()))["strategies"])
    max_steps = report["protocol_settings"].get("max_steps")
    # the arms "transfer" is chosen among, when the file records them (a file without frozen had no other)
    candidates = report.get("transfer_candidates")
    transfer = f"transfer ({' or '.join(candidates)})" if candidates and "frozen" in strategies else "transfer"
    lines = [
        "| labels per class | " + " | ".join(strategies)
        + f" | {transfer} − scratch (95% CI) | plain test: transfer − scratch | steps chosen: scratch / transfer (median) |",
        "|---" * (len(strategies) + 4) + "|",
    ]
    for k, entry in results.items():
        cells = [f"{_pct(entry['strategies'][name]['mean'])}" for name in strategies]
        plain = entry["plain_test"]
        scratch_steps = statistics.median(choice["steps"] for choice in entry["strategies"]["scratch"]["chosen"])
        picked_steps = statistics.median(
            entry["strategies"][name]["chosen"][i]["steps"] for i, name in enumerate(entry["transfer_picked"])
        )
        lines.append(
            f"| {k} | " + " | ".join(cells)
            + f" | **{entry['gain_pts']:+.1f}** ({entry['ci_low']:+.1f} to {entry['ci_high']:+.1f})"
            + f" | {plain['gain_pts']:+.1f} ({plain['ci_low']:+.1f} to {plain['ci_high']:+.1f})"
            + f" | {scratch_steps:.0f} / {picked_steps:.0f} of {max_steps} |"
        )
    lines.append("")
    lines.append("Compute: " + "; ".join(_steps_to_match(k, entry) for k, entry in results.items()) + ".")
    if sum(name in (candidates or ("frozen", "partial", "fine_tune")) for name in strategies) > 1:  # transfer is chosen among several
        import collections

        lines.append("")
        lines.append("Transfer, the pre-trained strategy chosen on validation data seed by seed: " + "; ".join(
            f"k = {k}: " + ", ".join(f"{name} {count}" for name, count in collections.Counter(e["transfer_picked"]).most_common())
            for k, e in results.items()) + f" (of {len(report['seeds'])} seeds).")
    if all("frozen" in entry["strategies"] for entry in results.values()):
        lines.append("")
        lines.append(_frozen_line(report))
    if report.get("labels_to_match"):
        from tlkit.experiments import recorded

        curve = report["labels_curve"]
        lines.append("")
        lines.append("Scratch with more labels, same protocol: " + "; ".join(
            f"k = {k}: {_pct(entry['strategies']['scratch']['mean'])} ({len(entry['seeds'])} seeds)" for k, entry in curve.items())
            + ". " + recorded.labels_to_match_line(report))
    if all("pretraining_pts" in entry for entry in results.values()):
        lines.append("")
        lines.append("Pre-trained against random frozen convolutions (partial − random_partial): " + "; ".join(
            f"k = {k}: {e['pretraining_pts']['mean']:+.1f} ({e['pretraining_pts']['ci_low']:+.1f} to {e['pretraining_pts']['ci_high']:+.1f})"
            for k, e in results.items()) + ".")
    for weights, per_k in report.get("relatedness", {}).items():
        accuracy = report["relatedness_bases"][weights]["source_test_accuracy"]
        cells = "; ".join(
            f"k = {k}: {100 * e['strategies'][e['transfer_picked'][0]]['mean']:.1f}, "
            f"{e['gain_pts']:+.1f} ({e['ci_low']:+.1f} to {e['ci_high']:+.1f}) against scratch, "
            f"{e['minus_main_base_pts']['mean']:+.1f} ({e['minus_main_base_pts']['ci_low']:+.1f} to "
            f"{e['minus_main_base_pts']['ci_high']:+.1f}) against `{report['base']['weights']}` "
            f"with the same arms ({', '.join(e.get('main_base_arms', e['strategies']))})"
            for k, e in per_k.items()
        )
        lines.append("")
        lines.append(f"Same protocol, partial transfer from `{weights}` (source accuracy {100 * accuracy:.1f}%): {cells}.")
    related = report.get("relatedness", {})
    if {"fashion_source", "fashion_source_shuffled_100"} <= set(related):
        from tlkit.experiments import paired_interval

        cells = []
        for k in related["fashion_source"]:
            clean, shuffled = related["fashion_source"][k], related["fashion_source_shuffled_100"][k]
            clean_runs = clean["strategies"][clean["transfer_picked"][0]]["runs"]
            shuffled_runs = shuffled["strategies"][shuffled["transfer_picked"][0]]["runs"]
            interval = paired_interval([100 * (a - b) for a, b in zip(clean_runs, shuffled_runs)])
            cells.append(f"k = {k}: {interval['mean']:+.1f} ({interval['ci_low']:+.1f} to {interval['ci_high']:+.1f})")
        lines.append("")
        lines.append("Same recipe, only the source labels differ (`fashion_source` − `fashion_source_shuffled_100`, paired by seed): "
                     + "; ".join(cells) + ".")
    lines.append("")
    split = report["split"]
    lines.append(
        f"{split['name'].capitalize()} class split: source classes {', '.join(map(str, split['source_classes']))}, "
        f"target classes {', '.join(map(str, split['target_classes']))}. "
        f"Customer-photo test condition (a fixed varied copy of the {report['target_test_images']} target test images), "
        f"percent, mean over {len(report['seeds'])} seeds; every arm tuned on validation data only "
        f"({report['dataset']}; base `{report['base']['weights']}`). Produced by `{' '.join(report['command'].split())}`."
    )
    return "\n".join(lines)


def _frozen_line(report: dict) -> str:
    """Feature extraction (the whole base frozen, a new head) against scratch and against partial, paired by seed."""
    from tlkit.experiments import paired_interval

    cells = []
    for k, entry in report["results"].items():
        against_scratch = entry["per_strategy_gain_pts"]["frozen"]
        frozen = entry["strategies"]["frozen"]["runs"]
        text = (f"k = {k}: {_pct(entry['strategies']['frozen']['mean'])}, {against_scratch['mean']:+.1f} "
                f"({against_scratch['ci_low']:+.1f} to {against_scratch['ci_high']:+.1f}) against scratch")
        if "partial" in entry["strategies"]:
            interval = paired_interval([100 * (a - b) for a, b in zip(frozen, entry["strategies"]["partial"]["runs"])])
            text += f", {interval['mean']:+.1f} ({interval['ci_low']:+.1f} to {interval['ci_high']:+.1f}) against partial"
        cells.append(text)
    return ("Feature extraction (`frozen`: the whole base frozen, a new head, tuned by the same protocol; not a "
            "candidate for the headline's transfer): " + "; ".join(cells) + ".")


def _steps_to_match(k: str, entry: dict, early_steps: int = 200) -> str:
    """How many steps scratch needs to reach what partial transfer reaches after ``early_steps`` (mean curves)."""
    curves = entry["accuracy_vs_steps"]
    partial = next(point for point in curves["partial"] if point["steps"] >= early_steps)
    reached = next((point["steps"] for point in curves["scratch"] if point["test_accuracy"] >= partial["test_accuracy"]), None)
    scratch_text = f"scratch first gets there after {reached} steps" if reached else "scratch never gets there within the budget"
    return f"k = {k}: partial reaches {100 * partial['test_accuracy']:.1f}% after {partial['steps']} steps, {scratch_text}"


def render_transfer_ceiling(report: dict) -> str:
    """Linear-probe accuracy (percent) of the random, shipped and oracle bases against the 6-point goal."""
    ks = list(report["needed_for_goal"])
    lines = [
        "| frozen base, linear probe | " + " | ".join(f"k = {k}" for k in ks) + " |",
        "|---" * (len(ks) + 1) + "|",
    ]
    for name, row in report["bases"].items():
        lines.append(f"| {name} | " + " | ".join(_pct(row["probe_accuracy"][k]) for k in ks) + " |")
    lines.append("| *needed for a 6-point gain (scratch + 6)* | " + " | ".join(f"*{_pct(report['needed_for_goal'][k])}*" for k in ks) + " |")
    lines.append("")
    lines.append(
        f"Target test accuracy in percent of {report['probe']}, mean over {report['probe_seeds']} seeds. "
        f"Produced by `{report['command'].strip()}`."
    )
    return "\n".join(lines)


def render_cached_features(report: dict) -> str:
    """One-line summary of the cached-features benchmark."""
    return (
        f"Training a head on cached features took {report['cached_seconds_per_epoch']:.3f} s per epoch against "
        f"{report['end_to_end_seconds_per_epoch']:.2f} s when the frozen base runs every epoch: "
        f"**{report['speed_up_per_epoch']:.1f}x faster per epoch** after one extraction pass of "
        f"{report['extraction_seconds']:.1f} s ({report['images']} images, {report['epochs']} epochs, "
        f"`python benchmarks/cached_features.py`)."
    )


def render_negative_transfer(report: dict) -> str:
    """Mean negative transfer gap (points, 95 % CI) per source corruption and k, every arm tuned; the trend with k."""
    gaps = report["gaps"]
    ks = [str(k) for k in report["labels_per_class"]]
    lines = [
        "| strategy | source labels shuffled | " + " | ".join(f"k = {k}" for k in ks) + " |",
        "|---|---" + "|---" * len(ks) + "|",
    ]
    for strategy in ("frozen", "partial"):
        for epsilon, per_k in gaps.get(strategy, {}).items():
            cells = [
                f"{100 * per_k[k]['mean']:+.1f} ({100 * max(per_k[k]['low'], -1):+.1f} to {100 * min(per_k[k]['high'], 1):+.1f})"
                for k in ks
            ]
            lines.append(f"| {strategy} | {100 * float(epsilon):.0f}% | " + " | ".join(cells) + " |")
    scratch = report["grid"]["scratch"]["test"]
    lines.append("| *scratch test accuracy* | | " + " | ".join(f"*{_pct(sum(scratch[k]) / len(scratch[k]))}*" for k in ks) + " |")
    k_check = str(report["k_checked"])
    fine_tune = gaps.get("fine_tune", {}).get("1", {}).get(k_check)
    lines.append("")
    if fine_tune is not None:
        lines.append(
            f"Fine-tuning the fully shuffled base at k = {k_check}: NTG {100 * fine_tune['mean']:+.1f} points "
            f"({100 * fine_tune['low']:+.1f} to {100 * fine_tune['high']:+.1f}; frozen: {100 * gaps['frozen']['1'][k_check]['mean']:+.1f})."
        )
    trend = report.get("labels_trend", {})
    if trend:
        parts = "; ".join(
            f"{strategy}: " + ", ".join(f"ε = {epsilon} {verdict}" for epsilon, verdict in per_epsilon.items())
            for strategy, per_epsilon in trend.items()
        )
        lines.append(
            f"How the gap moves from k = {ks[0]} to k = {ks[-1]} (\"rises\"/\"falls\" only when the two intervals are "
            f"apart by more than a point) — {parts}."
        )
    if "protocol_settings" in report:
        how = ("every arm, scratch included, chose its learning rate and length on validation images from the target "
               "training pool")
    else:
        budget = report.get("budget", {})
        how = (f"**not a fair comparison**: every arm got one fixed budget ({budget.get('epochs')} epochs of batches of "
               f"{budget.get('batch_size')} at learning rate {budget.get('learning_rate')}), which starves scratch at small k; "
               "re-measure with the fair protocol before reading a trend")
    lines.append(
        f"NTG = target error with the source − error from scratch, in points (positive = negative transfer), "
        f"mean and 95 % CI over {len(report['seeds'])} seeds (clipped to ±100), {report['target_test_images']} test images "
        f"({report['dataset']}); {how}. Produced by `{report['command'].strip()}`."
    )
    return "\n".join(lines)


def render_layer_transfer(report: dict) -> str:
    """Mean task-B test accuracy (percent) of BnB, BnB+, AnB, AnB+ per number of copied layers n."""
    means = report["means"]
    depths = [str(n) for n in report["results"]["depths"]]
    variants = ("BnB", "BnB+", "AnB", "AnB+")
    lines = [
        "| n | " + " | ".join(variants) + " |",
        "|---" * (len(variants) + 1) + "|",
    ]
    for n in depths:
        lines.append(f"| {n} | " + " | ".join(_pct(means[variant][n]) for variant in variants) + " |")
    checks = ", ".join(f"{name.replace('_', ' ')}: {'yes' if held else 'no'}" for name, held in report["expected_shapes"].items())
    lines.append("")
    lines.append(
        f"Task B (classes 5-9) test accuracy in percent, mean over {len(report['seeds'])} seeds; baseB "
        f"{_pct(means['baseB'])}% (the paper, ImageNet: {_pct(report['paper']['baseB'])}%). {report['dataset']}. "
        f"Paper's shapes reproduced — {checks}. {_layer_budget_note(report)}Produced by `{report['command'].strip()}`."
    )
    return "\n".join(lines)


def render_grading(report: dict) -> str:
    """Cost of one sandboxed submission of each course notebook (1 and 2 workers) and a class of 200 projected.

    The projection is given twice: from the CPU seconds a submission used (what two *free* cores deliver:
    two workers keep both busy, so a submission costs its CPU seconds / 2 of wall clock) and from the wall
    clock measured on the benchmark's machine at the 2-worker rate (as loaded as that machine was).
    """
    import math

    course = report["course"]
    notebooks = course["notebooks"]
    cores = course["cores"]
    lines = [
        "| notebook | questions | CPU s per submission | wall s per submission, 1 worker | wall s per submission, 2 workers "
        "| submissions with full marks | peak memory, 2 workers (GB) | load average (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in notebooks.items():
        one, two = entry["runs"]["1"], entry["runs"]["2"]
        cpu = (one["cpu_seconds_per_submission"] + two["cpu_seconds_per_submission"]) / 2
        loads = [run[key][0] for run in (one, two) for key in ("load_average_before", "load_average_after")]
        marks = f"{one['graded_full_marks'] + two['graded_full_marks']}/{one['submissions'] + two['submissions']}"
        lines.append(f"| {name} | {one['questions_per_submission']} | {cpu:.0f} | {one['seconds_per_submission']:.0f} | "
                     f"{two['seconds_per_submission']:.0f} | {marks} | {two['peak_memory_gb']:.2f} | "
                     f"{min(loads):.1f} to {max(loads):.1f} |")
    cpu_per_student = sum((entry["runs"]["1"]["cpu_seconds_per_submission"]
                           + entry["runs"]["2"]["cpu_seconds_per_submission"]) / 2 for entry in notebooks.values())
    wall_per_student = sum(entry["runs"]["2"]["seconds_per_submission"] for entry in notebooks.values())
    students = course.get("class_size", 200)
    names = ", ".join(name[:2] for name in notebooks)
    lines += ["", f"| machines of {cores} cores, 2 workers each | students per machine | hours for {students} students × "
                  f"notebooks {names}: free cores (from CPU seconds) | as measured here (shared machine's wall clock) |",
              "|---|---|---|---|"]
    for machines in course.get("project_machines", [1, 2, 4, 16]):
        share = math.ceil(students / machines)
        lines.append(f"| {machines} | {share} | {share * cpu_per_student / cores / 3600:.1f} | "
                     f"{share * wall_per_student / 3600:.1f} |")
    missing = [number for number in ("01", "02", "03", "04", "05", "06") if not any(n.startswith(number) for n in notebooks)]
    lines.append("")
    if missing:
        lines.append(f"**Not measured yet: notebook(s) {', '.join(missing)}; the projection covers the measured notebooks "
                     f"only** (run `python benchmarks/grading.py --course --notebooks {' '.join(missing)}`).")
        lines.append("")
    lines.append(
        f"Measured: each notebook's student release filled with the exercises' own solutions, "
        f"{next(iter(notebooks.values()))['runs']['1']['submissions']} copies graded per worker count, each in a fresh "
        f"sandboxed kernel with its own sandboxed checker; CPU seconds are the user + system time of every process "
        f"the grading started. Projected, not measured: each machine grades its shard (`--shard I/N`, at most "
        f"⌈{students}/N⌉ students) with 2 workers; on free cores a student's {len(notebooks)} notebooks cost "
        f"{cpu_per_student:.0f} CPU seconds, {cpu_per_student / cores:.0f} s of wall clock on {cores} cores; "
        f"queueing, start-up and the merge are left out. {course['note']}. Produced by `{course['command'].strip()}`."
    )
    return "\n".join(lines)


def _layer_budget_note(report: dict) -> str:
    """How the networks were trained: tuned on validation data, or (older files) one fixed budget for all."""
    if "protocol" in report:
        return report["protocol"] + " "
    budget = report.get("budget", {})
    return (f"**Not tuned**: every network got one fixed budget ({budget.get('transfer_epochs')} epochs at learning rate "
            f"{budget.get('learning_rate')}); re-measure with the fair protocol before reading small differences. ")


RENDERERS = {
    "transfer_gain": render_fair_protocol,
    "transfer_gain_course_split": render_fair_protocol,
    "transfer_ceiling": render_transfer_ceiling,
    "cached_features": render_cached_features,
    "negative_transfer": render_negative_transfer,
    "layer_transfer": render_layer_transfer,
    "grading": render_grading,
}

BLOCK = re.compile(r"(<!-- results:(?P<name>[\w-]+) -->\n)(?P<body>.*?)\n?(<!-- /results:(?P=name) -->)", re.S)


def rendered_readme(text: str) -> str:
    """Return README text with every known results block regenerated."""

    def replace(match):
        name = match.group("name")
        path = RESULTS / f"{name}.json"
        if name not in RENDERERS or not path.is_file():
            return match.group(0)
        body = RENDERERS[name](json.loads(path.read_text()))
        return match.group(1) + body + "\n" + match.group(4)

    return BLOCK.sub(replace, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether README is up to date")
    args = parser.parse_args(argv)
    text = README.read_text()
    new = rendered_readme(text)
    if args.check:
        if new != text:
            print("README.md is out of date with benchmarks/results; run python benchmarks/render_readme.py")
            return 1
        print("README.md matches benchmarks/results")
        return 0
    README.write_text(new)
    print("README.md updated from benchmarks/results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
