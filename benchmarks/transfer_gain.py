"""Does pre-training pay when every arm gets the same, generous tuning budget? (issue 13)

Every strategy, scratch included, is tuned by :class:`tlkit.experiments.FairProtocol`
(learning rate, augmentation and training length in optimizer steps, chosen on a
validation split from the target training pool; the test split is read only
afterwards), on the target task of a class split (:data:`tlkit.data.CLASS_SPLITS`) in
the "customer photos" test condition: a fixed, seeded varied copy of the target test
split (off-centre, turned, scaled, mirrored, differently lit; :mod:`tlkit.variation`).
The plain centred test split is reported beside it.

Two scenarios, one result file each:

* ``--split related`` (default; ``transfer_gain.json``): the target is coat, shirt and
  ankle boot; the base ``fashion_related_varied`` was pre-trained on the seven other
  classes, which include each target class's close relatives.
* ``--split course`` (``transfer_gain_course_split.json``): the notebooks' split,
  target classes 5-9, base ``fashion_source_varied`` pre-trained on classes 0-4.

Arms: ``scratch``; ``partial`` from the split's varied base (``python -m tlkit.pretrain
--recipe varied [--split related]``); ``random_partial`` (same architecture, random
weights, frozen like partial); on the related split also ``fine_tune``, which competes
with partial for "transfer" seed by seed (:data:`HEADLINE_TRANSFER`).  Feature extraction
(``frozen``: the whole base frozen, a new head) is an arm of its own, added with the same
protocol by ``--add-arms frozen``; so is scratch at more labels per class (``--add-arms
scratch --ks 20 40 80``), from which ``labels_to_match`` says how many labels per class
scratch needs to reach transfer's accuracy at k = 5 and 10 (:func:`tlkit.experiments.recorded.labels_to_match`).
Relatedness: partial transfer from other bases, paired with the same tuned scratch
(related split: the base pre-trained on shuffled labels and the distant base;
``--add-relatedness WEIGHTS`` adds more bases to an existing result file).  Seeds, the
longest training and the validation split have per-split defaults (``SCENARIOS``).

Usage::

    python benchmarks/transfer_gain.py            # related split, 10 seeds, k = 5 10 (about an hour on 2 cores)
    python benchmarks/transfer_gain.py --split course   # the notebooks' split (about 35 min on 2 cores)
    python benchmarks/transfer_gain.py --split course --add-relatedness fashion_source   # about 8 min more
    python benchmarks/transfer_gain.py --seeds 10 11 12 13 14 --out /tmp/recheck.json   # re-measure on new seeds
    python benchmarks/transfer_gain.py --figure-only   # redraw the split's accuracy-against-steps figure
    python benchmarks/transfer_gain.py --split course --figure-only   # the same for the notebooks' split
    python benchmarks/transfer_gain.py --rescore-relatedness   # recompute relatedness from the recorded runs
    python benchmarks/transfer_gain.py --add-arms frozen --ks 5 10   # feature extraction beside the recorded arms
    python benchmarks/transfer_gain.py --add-arms scratch --ks 20 40 80   # scratch with more labels, then labels_to_match

Writes the split's result file, draws accuracy against steps, and prints a Markdown
table.  The runs are spread over ``--jobs`` processes with one
TensorFlow thread each (one (k, seed) per job; the numbers depend on that setting in
the last decimals; keep it for reproduction).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import multiprocessing
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# this checkout's tlkit, whichever one the interpreter would find first (the job processes inherit the path)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tlkit.experiments import recorded  # noqa: E402  (no TensorFlow: the job processes import it lazily)

#: Per class split: result file, main base, other bases for the relatedness comparison, figure.
SCENARIOS = {
    "related": {
        "results": recorded.RESULTS_FILE,
        "weights": "fashion_related_varied",
        "relatedness": ("fashion_related_varied_shuffled_100", "fashion_distant_varied"),
        "figure": ROOT / "docs" / "images" / "transfer_gain_steps.png",
        "labels_figure": ROOT / "docs" / "images" / "labels_to_match.png",
        "defaults": {"seeds": list(range(10)), "max_steps": 2400, "validation_per_class": 100,
                     "strategies": ["scratch", "partial", "fine_tune", "random_partial"]},
    },
    "course": {
        "results": recorded.COURSE_SPLIT_RESULTS_FILE,
        "weights": "fashion_source_varied",
        "relatedness": ("fashion_source_shuffled_100",),
        "figure": ROOT / "docs" / "images" / "transfer_gain_steps_course_split.png",
        "defaults": {"seeds": [0, 1, 2, 3, 4], "max_steps": 1600, "validation_per_class": 50,
                     "strategies": ["scratch", "partial", "random_partial"]},
    },
}
#: The pre-trained arms the headline "transfer" is chosen among, seed by seed on validation data.
#: ``frozen`` (feature extraction) is reported beside it as an arm of its own (``--add-arms frozen``).
HEADLINE_TRANSFER = ("partial", "fine_tune")
#: The k whose transfer accuracy ``labels_to_match`` asks scratch to reach with more labels.
LABELS_TO_MATCH_KS = (5, 10)
#: Why the defaults are what they are (written into the result file).
PROTOCOL_CHOICES = (
    "Training length is counted in optimizer steps (up to --max-steps, checked every 100): with 25 images an "
    "epoch is 2 steps, and an earlier run capped at 80 epochs (128 steps at k = 5) starved scratch, which chose "
    "the cap and gained about 5 points more when given 160-300 epochs. On the related split scratch still chose "
    "1,400-1,600 of 1,600 steps in most seeds and gained a point at k = 10 with 2,400, so its default is 2,400. "
    "Augmentation is on for every arm: in the first fair run every arm chose it on validation data in all 20 "
    "(k, seed) cases; learning rates 1e-3 and 3e-3 are the only ones any arm chose there. The validation split "
    "has 100 images per class (50 left a visible selection cost on flat curves). frozen lost to partial on "
    "validation in every earlier run and is left out of the default arms (--strategies adds it); fine_tune "
    "competes with partial for 'transfer' seed by seed."
)


def _protocol(settings: dict):
    from tlkit import experiments

    return experiments.FairProtocol(**settings)


def _job(k: int, seed: int, weights: str, strategies: list, settings: dict, split: str) -> tuple:
    """One (k, seed) of one base, in a process of its own with one TensorFlow thread."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from tlkit import data, experiments

    dataset, _ = data.load_largest_available()
    target = data.target_task(dataset, split)
    started = time.perf_counter()
    comparison = experiments.fair_comparison(target, [k], [seed], weights=weights, strategies=strategies, protocol=_protocol(settings), progress=False)
    return k, seed, weights, comparison, time.perf_counter() - started


def _mean_curve(runs: dict, strategy: str, condition: str) -> list:
    import numpy as np

    seeds = list(runs)
    points = runs[seeds[0]][strategy]["curve"]
    return [
        {"epochs": point["epochs"], "steps": point["steps"],
         "test_accuracy": round(float(np.mean([runs[s][strategy]["curve"][i]["test"][condition] for s in seeds])), 4)}
        for i, point in enumerate(points)
    ]


def figure_path(report: dict, results_file: pathlib.Path) -> pathlib.Path:
    """Where the figure of ``report`` goes: the split's figure in docs/images/ for the split's own result
    file, otherwise a PNG beside ``results_file`` (a re-measurement must not replace the README's figure)."""
    scenario = SCENARIOS[report["split"]["name"]]
    if results_file.resolve() == scenario["results"].resolve():
        return scenario["figure"]
    return results_file.with_suffix(".png")


def labels_figure_path(report: dict, results_file: pathlib.Path) -> pathlib.Path:
    """Where the labels-to-match figure of ``report`` goes (like :func:`figure_path`)."""
    scenario = SCENARIOS[report["split"]["name"]]
    if results_file.resolve() == scenario["results"].resolve() and "labels_figure" in scenario:
        return scenario["labels_figure"]
    return results_file.with_name(results_file.stem + "_labels_to_match.png")


def plot_labels_to_match(report: dict, path: pathlib.Path) -> pathlib.Path:
    """Draw scratch's accuracy against labels per class with transfer's points (:func:`tlkit.plots.plot_recorded_labels_to_match`)."""
    from tlkit import plots

    figure = plots.plot_recorded_labels_to_match(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def plot_accuracy_vs_steps(report: dict, path: pathlib.Path) -> pathlib.Path:
    """Draw customer-photo test accuracy against optimizer steps, one panel per k, and save it as a PNG.

    Each line is the mean over seeds of the run each strategy chose on validation
    data; the dot shows where validation stopped it (median over seeds).
    """
    from tlkit import plots

    panels, stopped = recorded.steps_panels(report)
    figure = plots.plot_accuracy_vs_steps(panels, stopped, chance=1 / len(report["split"]["target_classes"]),
                                                title="Accuracy against training steps")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


#: Finished jobs are kept here (one JSON file per job) so that an interrupted run resumes where it stopped.
JOB_CACHE = ROOT / "benchmarks" / "results" / ".job_cache"


def job_key(k: int, seed: int, weights: str, strategies: list, settings: dict, split: str) -> str:
    """A name for one job that changes with anything its result depends on (the base's weights file included)."""
    import hashlib

    from tlkit import data, models

    weights_sha = data.sha256_of_file(models.model_path(weights).with_suffix(".keras"))
    described = json.dumps([k, seed, weights, weights_sha, list(strategies), {key: list(value) if isinstance(value, tuple) else value
                            for key, value in sorted(settings.items())}, split], sort_keys=True)
    return f"{split}_k{k}_seed{seed}_{weights}_{'+'.join(strategies)}_{hashlib.sha256(described.encode()).hexdigest()[:12]}"


def run_jobs(work: list, jobs: int, cache: pathlib.Path | None = JOB_CACHE) -> tuple[dict, dict]:
    """Run ``_job`` over ``work`` in ``jobs`` processes: ``{(k, weights): {seed: run}}`` and seconds per job.

    Each finished job is written to ``cache`` at once (``None``: no cache); a job found
    there is not run again, so an interrupted run, started again with the same
    arguments, only runs what is missing.  Its recorded seconds are those of the run that made it.
    """
    done, seconds_by_job, todo = {}, {}, []

    def record(k, seed, weights, run, seconds, source):
        done.setdefault((k, weights), {})[seed] = run
        seconds_by_job[f"{k}/{seed}/{weights}"] = round(seconds, 1)
        print(f"k={k} seed={seed} {weights}: {seconds:.0f} s{source}", flush=True)

    keys = {}
    for index, item in enumerate(work):
        keys[index] = key = job_key(*item) if cache is not None else None
        cached = cache / f"{key}.json" if cache is not None else None
        if cached is not None and cached.is_file():
            saved = json.loads(cached.read_text())
            record(item[0], item[1], item[2], saved["run"], saved["seconds"], " (from the job cache)")
        else:
            todo.append((index, item))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / ".gitignore").write_text("*\n")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_job, *item): index for index, item in todo}
        for future in concurrent.futures.as_completed(futures):
            k, seed, weights, comparison, seconds = future.result()
            run = comparison["runs"][k][seed]
            if cache is not None:
                target = cache / f"{keys[futures[future]]}.json"
                target.with_suffix(".tmp").write_text(json.dumps({"run": run, "seconds": round(seconds, 1)}))
                target.with_suffix(".tmp").replace(target)
            record(k, seed, weights, run, seconds, "")
    # in the order of ``work`` (jobs finish in any order; summaries list seeds as they come)
    order = {(item[0], item[2], item[1]): index for index, item in enumerate(work)}
    done = {key: dict(sorted(runs.items(), key=lambda pair: order[(key[0], key[1], pair[0])])) for key, runs in done.items()}
    return done, seconds_by_job


def base_entry(weights: str) -> dict:
    """Name, checksum, source accuracy and rebuild command of a shipped base, from its model card."""
    from tlkit import models

    card = models.model_card(weights)
    return {"weights": card["name"], "sha256": card["sha256"], "source_test_accuracy": card["source_test_accuracy"], "command": card["command"]}


def recorded_runs(strategies: dict, seeds: list, condition: str = "customer_photos") -> dict:
    """Rebuild ``{seed: {strategy: {"choice", "test"}}}`` from a result file's per-strategy ``runs`` and ``chosen``."""
    return {seed: {name: {"choice": stats["chosen"][index], "test": {condition: stats["runs"][index]}}
                   for name, stats in strategies.items()}
            for index, seed in enumerate(seeds)}


def relatedness_entry(other_runs: dict, main_runs: dict) -> dict:
    """Another base's tuned transfer arms against the same tuned scratch, and against the main base's same arms.

    ``other_runs`` maps seed to that base's transfer strategies (as in ``fair_comparison``'s runs);
    ``main_runs`` maps seed to the main base's strategies, scratch included.  The other
    base is compared with the main base's transfer chosen on validation data among the
    *same* strategies (partial against partial by default), so neither base has more
    candidates to pick from.  Both comparisons are paired by seed.
    """
    import numpy as np

    from tlkit import experiments

    seeds = list(other_runs)
    # the other base's transfer arms that the main base also ran (a main base without them cannot be compared)
    arms = [name for name in next(iter(other_runs.values())) if name in main_runs[seeds[0]]]
    merged = {"runs": {0: {seed: {**other_runs[seed], "scratch": main_runs[seed]["scratch"]} for seed in seeds}}}
    summary = experiments.fair_summary(merged, "customer_photos")[0]
    main_same_arms = [main_runs[seed][experiments.best_transfer_by_validation(main_runs[seed], arms)]["test"]["customer_photos"]
                      for seed in seeds]
    difference = experiments.paired_interval(100 * (np.array(summary["transfer_runs"]) - np.array(main_same_arms))) if len(seeds) > 1 else None
    return {
        "strategies": {s: {"mean": round(v["mean"], 4), "runs": v["runs"], "chosen": v["chosen"]}
                       for s, v in summary["strategies"].items() if s != "scratch"},
        "transfer_picked": summary["transfer_picked"],
        "gain_pts": summary["gain_pts"], "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
        "gain_per_seed_pts": summary["gain_per_seed_pts"],
        "main_base_arms": arms,
        "minus_main_base_pts": None if difference is None else {key: round(value, 2) for key, value in difference.items() if key != "n"},
    }


def rescore_relatedness(report: dict) -> dict:
    """Recompute every relatedness entry of ``report`` from the runs it records (no training)."""
    seeds = report["seeds"]
    for per_k in report.get("relatedness", {}).values():
        for k, other in per_k.items():
            per_k[k] = relatedness_entry(recorded_runs(other["strategies"], seeds),
                                         recorded_runs(report["results"][k]["strategies"], seeds))
    return report


def add_relatedness(path: pathlib.Path, bases: list, strategies: list, jobs: int) -> dict:
    """Run more bases under the protocol recorded in ``path`` and pair them with its scratch runs."""
    report = json.loads(path.read_text())
    seeds, ks = report["seeds"], [int(k) for k in report["results"]]
    # the recorded settings are the protocol's fields (lists were tuples before JSON)
    settings = {key: tuple(value) if isinstance(value, list) else value for key, value in report["protocol_settings"].items()}
    work = [(k, seed, weights, strategies, settings, report["split"]["name"]) for weights in bases for k in ks for seed in seeds]
    started = time.perf_counter()
    done, seconds_by_job = run_jobs(work, jobs)
    seconds = time.perf_counter() - started
    recorded_settings = report["protocol_settings"]
    report = json.loads(path.read_text())  # read again: the file may have changed during the runs
    if report["protocol_settings"] != recorded_settings:
        raise SystemExit(f"{path}: its protocol changed during the runs; the jobs stay in {JOB_CACHE}")
    report["job_seconds"].update(seconds_by_job)
    for weights in bases:
        report["relatedness_bases"][weights] = base_entry(weights)
        for k in ks:
            report["relatedness"].setdefault(weights, {})[str(k)] = relatedness_entry(
                {seed: done[(k, weights)][seed] for seed in seeds}, recorded_runs(report["results"][str(k)]["strategies"], seeds))
    command = f"python benchmarks/transfer_gain.py --split {report['split']['name']} --add-relatedness {' '.join(bases)}"
    report["command"] += f" && {command}"
    report.setdefault("additions", []).append({
        "command": command + f" --jobs {jobs}", "seconds": round(seconds, 1), "jobs": jobs, "threads_per_job": 1,
        "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    })
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def arm_entry(per_seed: dict, strategy: str) -> dict:
    """Mean, spread, per-seed test accuracies (both conditions) and choices of one arm, seeds in ``per_seed``'s order."""
    import numpy as np

    runs = [per_seed[seed][strategy]["test"]["customer_photos"] for seed in per_seed]
    return {"mean": float(np.mean(runs)), "std": float(np.std(runs)), "runs": runs,
            "chosen": [per_seed[seed][strategy]["choice"] for seed in per_seed],
            "plain_runs": [per_seed[seed][strategy]["test"]["plain"] for seed in per_seed]}


def add_arms(path: pathlib.Path, strategies: list, ks: list, seeds: list | None, jobs: int) -> dict:
    """Run more arms of the main base under the protocol recorded in ``path`` and add them, leaving recorded arms as they are.

    At a ``k`` the file already has (same seeds), each new arm joins ``results[k]``: its
    accuracies, its paired difference with the recorded scratch (``per_strategy_gain_pts``),
    its plain-test mean and its accuracy-against-steps curve; the headline "transfer" keeps
    its recorded candidates.  At another ``k`` the arms go to ``labels_curve[k]`` (more labels
    per class, for :func:`tlkit.experiments.recorded.labels_to_match`); runs on seeds already there
    are replaced, others added.  ``labels_to_match`` is recomputed from the file afterwards.
    """
    import numpy as np

    from tlkit import experiments

    report = json.loads(path.read_text())
    seeds = list(report["seeds"]) if seeds is None else list(seeds)
    settings = {key: tuple(value) if isinstance(value, list) else value for key, value in report["protocol_settings"].items()}
    candidates = tuple(report.get("transfer_candidates", HEADLINE_TRANSFER))
    work = [(k, seed, report["base"]["weights"], strategies, settings, report["split"]["name"]) for k in ks for seed in seeds]
    started = time.perf_counter()
    done, seconds_by_job = run_jobs(work, jobs)
    seconds = time.perf_counter() - started
    recorded_settings = report["protocol_settings"]
    report = json.loads(path.read_text())  # read again: the file may have changed during the runs
    if report["protocol_settings"] != recorded_settings:
        raise SystemExit(f"{path}: its protocol changed during the runs; the jobs stay in {JOB_CACHE}")
    report["job_seconds"].update({f"{key}/{'+'.join(strategies)}": value for key, value in seconds_by_job.items()})
    for k in ks:
        runs = {seed: done[(k, report["base"]["weights"])][seed] for seed in seeds}
        if str(k) in report["results"]:
            entry = report["results"][str(k)]
            if seeds != report["seeds"]:
                raise SystemExit(f"--add-arms at recorded k = {k} needs the recorded seeds {report['seeds']}")
            recorded_by_seed = recorded_runs(entry["strategies"], seeds)
            merged = {"runs": {k: {seed: {**recorded_by_seed[seed], **runs[seed]} for seed in seeds}}}
            summary = experiments.fair_summary(merged, "customer_photos", transfer_candidates=candidates)[k]
            if summary["transfer_picked"] != entry["transfer_picked"]:
                raise SystemExit(f"adding {strategies} at k = {k} would change the headline's picks; refusing")
            for strategy in strategies:
                entry["strategies"][strategy] = arm_entry(runs, strategy)
                entry["per_strategy_gain_pts"][strategy] = summary["per_strategy_gain_pts"][strategy]
                entry["plain_test"]["strategies"][strategy] = round(float(np.mean(entry["strategies"][strategy]["plain_runs"])), 4)
                entry["accuracy_vs_steps"][strategy] = _mean_curve(runs, strategy, "customer_photos")
        else:
            entry = report.setdefault("labels_curve", {}).setdefault(str(k), {"seeds": [], "strategies": {}})
            for strategy in strategies:
                old = entry["strategies"].get(strategy)
                per_seed = {}
                if old is not None:
                    per_seed = {seed: {strategy: {"test": {"customer_photos": a, "plain": b}, "choice": c}}
                                for seed, a, b, c in zip(entry["seeds"], old["runs"], old["plain_runs"], old["chosen"])}
                per_seed.update({seed: {strategy: runs[seed][strategy]} for seed in seeds})
                per_seed = dict(sorted(per_seed.items()))
                entry["strategies"][strategy] = arm_entry(per_seed, strategy)
                entry["seeds"] = list(per_seed)
        report["labels_curve"] = dict(sorted(report.get("labels_curve", {}).items(), key=lambda item: int(item[0])))
    report["transfer_candidates"] = list(candidates)
    command = "python benchmarks/transfer_gain.py " + (f"--out {path} " if path.resolve() != SCENARIOS[report["split"]["name"]]["results"].resolve() else "") \
        + f"--split {report['split']['name']} --add-arms {' '.join(strategies)} --ks {' '.join(map(str, ks))}" \
        + ("" if seeds == report["seeds"] else f" --seeds {' '.join(map(str, seeds))}") + f" --jobs {jobs}"
    report["command"] += f" && {command}"
    report.setdefault("additions", []).append({
        "command": command, "seconds": round(seconds, 1), "jobs": jobs, "threads_per_job": 1,
        "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    })
    path.write_text(json.dumps(report, indent=2) + "\n")
    if report.get("labels_curve"):  # the runs are saved first: this only reads them
        rescore_labels_to_match(report)
        path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def rescore_labels_to_match(report: dict) -> dict:
    """Recompute ``report["labels_to_match"]`` from the recorded runs (:func:`tlkit.experiments.recorded.labels_to_match`)."""
    report["labels_to_match"] = {str(k): recorded.labels_to_match(report, k) for k in LABELS_TO_MATCH_KS
                                 if str(k) in report["results"]}
    return report


def withdraw_relatedness(report: dict, weights: str, reason: str) -> dict:
    """Move a base's relatedness entry to ``report["withdrawn"]`` with the reason (a measurement of a broken base)."""
    if weights not in report.get("relatedness", {}):
        raise SystemExit(f"{weights} has no relatedness entry; it has: {', '.join(report.get('relatedness', {}))}")
    report.setdefault("withdrawn", {})[weights] = {
        "relatedness": report["relatedness"].pop(weights),
        "base": report["relatedness_bases"].pop(weights),
        "reason": reason,
        "withdrawn": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return report


def markdown_table(results: dict) -> str:
    strategies = list(next(iter(results.values()))["strategies"])
    lines = ["| k | " + " | ".join(strategies) + " | transfer − scratch (95% CI) |", "|---" * (len(strategies) + 2) + "|"]
    for k, entry in results.items():
        cells = [f"{100 * entry['strategies'][s]['mean']:.1f}" for s in strategies]
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {entry['gain_pts']:+.1f} ({entry['ci_low']:+.1f} … {entry['ci_high']:+.1f}) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the split's (10 for related, 5 for course)")
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--split", choices=sorted(SCENARIOS), default="related", help="class split (tlkit.data.CLASS_SPLITS)")
    parser.add_argument("--weights", help="main base (default: the split's varied base)")
    parser.add_argument("--relatedness", nargs="*", help="other bases to compare (transfer strategies only; default: the split's, SCENARIOS)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--max-steps", type=int, help="longest training in optimizer steps, a multiple of 100 (default: the split's)")
    parser.add_argument("--validation-per-class", type=int, help="validation images per target class (default: the split's)")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-3, 3e-3])
    parser.add_argument("--augmentation", choices=["choose", "on", "off"], default="on",
                        help="choose: each arm chooses on validation; on/off: the same for every arm")
    parser.add_argument("--strategies", nargs="+", help="arms of the main base (default: the split's)")
    parser.add_argument("--relatedness-strategies", nargs="+", default=["partial"], help="transfer arms of the other bases")
    parser.add_argument("--out", type=pathlib.Path, help="result file (default: the split's, in benchmarks/results/)")
    parser.add_argument("--no-figure", dest="figure", action="store_false",
                        help="draw no figure (by default: the split's figure in docs/images/ for its own result file, else a PNG beside --out)")
    parser.add_argument("--add-relatedness", nargs="+", metavar="WEIGHTS",
                        help="run these bases under the protocol recorded in --out, pair them with its scratch runs, and add them")
    parser.add_argument("--add-arms", nargs="+", metavar="STRATEGY",
                        help="run these arms of the main base at --ks under the protocol recorded in --out and add them "
                             "(a recorded k: beside the recorded arms, paired with their scratch; another k: labels_curve)")
    parser.add_argument("--figure-only", action="store_true", help="redraw the figures from --out and stop")
    parser.add_argument("--withdraw-relatedness", metavar="WEIGHTS",
                        help="move WEIGHTS' relatedness entry of --out to 'withdrawn' with --reason (a broken base) and stop")
    parser.add_argument("--reason", help="why a relatedness entry is withdrawn")
    parser.add_argument("--rescore-labels-to-match", action="store_true",
                        help="recompute labels_to_match of --out from the runs it records (no training) and stop")
    parser.add_argument("--rescore-relatedness", action="store_true",
                        help="recompute the relatedness entries of --out from the runs it records (no training) and stop")
    args = parser.parse_args(argv)
    args.seeds_given = args.seeds is not None
    scenario = SCENARIOS[args.split]
    args.out = args.out or scenario["results"]
    args.weights = args.weights or scenario["weights"]
    args.relatedness = list(scenario["relatedness"]) if args.relatedness is None else args.relatedness
    for name, value in scenario["defaults"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.add_arms:
        report = add_arms(args.out, args.add_arms, args.ks, args.seeds if args.seeds_given else None, args.jobs)
        for k in args.ks:
            entry = report["results"].get(str(k)) or report["labels_curve"][str(k)]
            print(f"k={k}", {s: round(100 * entry["strategies"][s]["mean"], 1) for s in args.add_arms},
                  {s: entry.get("per_strategy_gain_pts", {}).get(s) for s in args.add_arms})
        print("labels_to_match:", json.dumps(report.get("labels_to_match")))
        if args.figure:
            print("figure:", plot_accuracy_vs_steps(report, figure_path(report, args.out)))
            if report.get("labels_to_match"):
                print("figure:", plot_labels_to_match(report, labels_figure_path(report, args.out)))
        return 0
    if args.withdraw_relatedness:
        if not args.reason:
            parser.error("--withdraw-relatedness needs --reason")
        report = withdraw_relatedness(json.loads(args.out.read_text()), args.withdraw_relatedness, args.reason)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"withdrew {args.withdraw_relatedness}: {args.reason}")
        return 0
    if args.rescore_labels_to_match:
        report = rescore_labels_to_match(json.loads(args.out.read_text()))
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print("labels_to_match:", json.dumps(report["labels_to_match"]))
        return 0
    if args.add_relatedness:
        report = add_relatedness(args.out, args.add_relatedness, args.relatedness_strategies, args.jobs)
        for weights, per_k in report["relatedness"].items():
            print(weights, {k: (v["gain_pts"], v["ci_low"], v["ci_high"]) for k, v in per_k.items()})
        return 0
    if args.rescore_relatedness:
        report = rescore_relatedness(json.loads(args.out.read_text()))
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        for weights, per_k in report["relatedness"].items():
            print(weights, {k: v["minus_main_base_pts"] for k, v in per_k.items()})
        return 0
    if args.figure_only:
        report = json.loads(args.out.read_text())
        print("figure:", plot_accuracy_vs_steps(report, figure_path(report, args.out)))
        if report.get("labels_to_match"):
            print("figure:", plot_labels_to_match(report, labels_figure_path(report, args.out)))
        return 0

    from tlkit import data, experiments

    dataset, dataset_name = data.load_largest_available()
    target = data.target_task(dataset, args.split)
    source_classes, target_classes = data.class_split(args.split)
    settings = {
        "max_steps": args.max_steps,
        "validation_per_class": args.validation_per_class,
        "learning_rates": tuple(args.learning_rates),
        "augmentation": {"choose": (False, True), "on": (True,), "off": (False,)}[args.augmentation],
    }
    protocol = _protocol(settings)
    jobs = [(k, seed, args.weights, args.strategies, settings, args.split) for k in args.ks for seed in args.seeds]
    jobs += [(k, seed, weights, args.relatedness_strategies, settings, args.split) for weights in args.relatedness for k in args.ks for seed in args.seeds]
    started = time.perf_counter()
    done, seconds_by_job = run_jobs(jobs, args.jobs)
    seconds = time.perf_counter() - started

    results, relatedness = {}, {}
    for k in args.ks:
        main_run = {"runs": {k: done[(k, args.weights)]}}
        summary = experiments.fair_summary(main_run, "customer_photos", transfer_candidates=HEADLINE_TRANSFER)[k]
        plain = experiments.fair_summary(main_run, "plain", transfer_candidates=HEADLINE_TRANSFER)[k]
        runs = main_run["runs"][k]
        summary["plain_test"] = {
            "strategies": {s: round(v["mean"], 4) for s, v in plain["strategies"].items()},
            "gain_pts": plain["gain_pts"], "ci_low": plain["ci_low"], "ci_high": plain["ci_high"],
            "gain_per_seed_pts": plain["gain_per_seed_pts"],
        }
        summary["accuracy_vs_steps"] = {s: _mean_curve(runs, s, "customer_photos") for s in summary["strategies"]}
        results[str(k)] = summary
        for weights in args.relatedness:
            relatedness.setdefault(weights, {})[str(k)] = relatedness_entry(done[(k, weights)], runs)

    report = {
        "what": "fair protocol: target-task test accuracy by strategy, every arm tuned on validation data "
                f"(Fashion-MNIST, {args.split} class split: target " + ", ".join(target.class_names) + ")",
        "split": {"name": args.split, "source_classes": list(source_classes), "target_classes": list(target_classes)},
        "condition": "customer_photos: a fixed varied copy of the target test split (tlkit.variation.customer_photos, "
                     "seed tlkit.variation.CUSTOMER_PHOTOS_SEED); plain_test: the centred test split",
        "protocol": protocol.describe(),
        "protocol_choices": PROTOCOL_CHOICES,
        "protocol_settings": {key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(protocol).items()},
        "dataset": dataset_name,
        "target_test_images": len(target.test),
        "seeds": args.seeds,
        "transfer_candidates": list(HEADLINE_TRANSFER),
        "base": base_entry(args.weights),
        "relatedness_bases": {w: base_entry(w) for w in args.relatedness},
        "results": results,
        "relatedness": relatedness,
        "seconds": round(seconds, 1),
        "job_seconds": seconds_by_job,
        "threads_per_job": 1,
        "command": "python benchmarks/transfer_gain.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(results))
    if args.figure:
        print("figure:", plot_accuracy_vs_steps(report, figure_path(report, args.out)))
    for weights, per_k in relatedness.items():
        print(weights, {k: (v["gain_pts"], v["ci_low"], v["ci_high"]) for k, v in per_k.items()})
    print(f"{seconds:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
