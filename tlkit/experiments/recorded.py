"""Read the fair-protocol benchmark, and repeat one of its runs at the budget it validated.

``benchmarks/transfer_gain.py`` tunes every strategy (scratch included) on
validation data over several seeds and records, per number of labels ``k``, what
each strategy chose and the paired gain of transfer over scratch with its
confidence interval.  That takes a quarter of an hour; a notebook has a minute.
So a notebook does two honest things instead of re-running the search:

* it reads the recorded evidence with :func:`load_results` and
  :func:`gain_lines`, and draws it with :func:`tlkit.plots.plot_accuracy_vs_steps`
  (panels from :func:`steps_panels`);
* it trains each strategy once, on one seed, **at the budget the benchmark chose
  for it on validation data** (:func:`validated_protocol`,
  :func:`run_at_validated_budget`), so the live run is tuned the same way as the
  evidence, never starved by a budget shared with a slower strategy.

Examples
--------
>>> report = load_results()                                  # doctest: +SKIP
>>> validated_protocol(report, 5, "scratch").learning_rates  # doctest: +SKIP
(0.001,)
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import os
import pathlib

import numpy as np

from tlkit import data, paths
from tlkit.errors import CorruptFileError, MissingFileError, TlkitError, UnknownNameError, describe_name_choice
from tlkit.experiments.grid import with_progress
from tlkit.experiments.protocol import FairProtocol, fair_comparison

__all__ = [
    "COURSE_SPLIT_RESULTS_FILE", "LABELS_TO_MATCH_RESAMPLES", "REQUIRED_KEYS", "RESULTS_FILE", "gain_lines", "labels_to_match", "labels_to_match_curves",
    "labels_to_match_line", "load_result_file", "load_results", "recorded_seed", "run_at_validated_budget", "run_panels",
    "scratch_by_labels", "steps_panels", "validated_protocol",
]

#: The benchmark's result file for the related class split (the README's evidence).
RESULTS_FILE = paths.BENCHMARK_RESULTS_DIR / "transfer_gain.json"
#: The same benchmark on the notebooks' class split (``--split course``), where transfer does not pay.
COURSE_SPLIT_RESULTS_FILE = paths.BENCHMARK_RESULTS_DIR / "transfer_gain_course_split.json"

#: Keys every result file must have (written by ``benchmarks/transfer_gain.py``).
REQUIRED_KEYS = ("split", "protocol", "protocol_settings", "seeds", "base", "results")


def load_results(path: os.PathLike | None = None) -> dict:
    """Load a fair-protocol result file written by ``benchmarks/transfer_gain.py``.

    Parameters
    ----------
    path : path-like, optional
        Default :data:`RESULTS_FILE`.

    Returns
    -------
    dict
        The report; ``report["results"]`` is keyed by ``k`` as a string.

    Raises
    ------
    MissingFileError, CorruptFileError
        When the file is absent, not JSON, or lacks the benchmark's keys.
    """
    return load_result_file(path if path is not None else RESULTS_FILE, "fair-protocol results", "benchmarks/transfer_gain.py",
                            REQUIRED_KEYS)


def load_result_file(path: os.PathLike, what: str, script: str, required_keys=()) -> dict:
    """Read one JSON result file a benchmark script wrote, with a clear error when it is unusable.

    Parameters
    ----------
    path : path-like
    what : str
        What the file holds, for the error message (e.g. ``"negative transfer grid"``).
    script : str
        The script that writes it, named in the message as the way to rewrite it.
    required_keys : sequence of str
        Top-level keys the file must have.

    Raises
    ------
    MissingFileError, CorruptFileError
        When the file is absent, not JSON, or lacks one of ``required_keys``.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} {path} not found; run python {script} to write them")
    try:
        report = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{what} {path} are not valid JSON ({error})") from None
    missing = [key for key in required_keys if not isinstance(report, dict) or key not in report]
    if missing:
        raise CorruptFileError(f"{what} {path} lack {', '.join(missing)}; rewrite them with {script}")
    return report


def _entry(report: dict, k: int) -> dict:
    results = report["results"]
    if str(k) not in results:
        raise UnknownNameError(describe_name_choice("labels per class k", str(k), list(results)))
    return results[str(k)]


def validated_protocol(report: dict, k: int, strategy: str) -> FairProtocol:
    """The budget the benchmark validated for ``strategy`` at ``k``, as a :class:`~tlkit.experiments.FairProtocol`.

    The learning rate is the one ``strategy`` chose most often over the seeds (ties:
    the smaller); augmentation is the choice of most seeds; the length is the median
    chosen number of steps, rounded up to whole validation checks (at least one check past
    the fine-tuning head phase, the protocol's shortest run).  Everything else
    (batch size, dropout, validation split, condition) is the benchmark's.  Early
    stopping on the validation split still runs within that length.
    """
    entry = _entry(report, k)
    if strategy not in entry["strategies"]:
        raise UnknownNameError(describe_name_choice(f"strategy at k = {k}", strategy, list(entry["strategies"])))
    chosen = entry["strategies"][strategy]["chosen"]
    benchmark_protocol = FairProtocol.from_settings(report["protocol_settings"])
    rates = collections.Counter(choice["learning_rate"] for choice in chosen)
    rate = min(rates, key=lambda value: (-rates[value], value))
    augment = sum(bool(choice["augmentation"]) for choice in chosen) * 2 >= len(chosen)
    check = benchmark_protocol.check_every_steps
    steps = check * max(1, math.ceil(float(np.median([choice["steps"] for choice in chosen])) / check))
    # the protocol's shortest length: past fine_tune's head phase by one check (early stopping still applies)
    steps = max(steps, benchmark_protocol.fine_tune_head_steps + check)
    return dataclasses.replace(benchmark_protocol, learning_rates=(rate,), augmentation=(augment,), max_steps=steps)


def run_at_validated_budget(target: data.Dataset, report: dict, k: int, seed: int = 0, strategies=None, progress: bool = False) -> dict:
    """Train each strategy once on one seed at its validated budget, then test it.

    Parameters
    ----------
    target : Dataset
        The target task of the report's class split (``data.target_task(dataset, report["split"]["name"])``).
    report : dict
        From :func:`load_results`.
    k, seed : int
        Labelled images per class, and the seed choosing them and the initial weights.
    strategies : sequence of str, optional
        Default: every strategy the report has at ``k``.
    progress : bool
        Show a progress bar over the strategies.

    Returns
    -------
    dict
        ``{strategy: {"choice": ..., "test": {condition: accuracy}, "curve": [...], "budget": {...}}}``
        in the format of :func:`tlkit.experiments.fair_comparison`'s runs.
    """
    if target.train.num_classes != len(report["split"]["target_classes"]):
        raise TlkitError(
            f"run_at_validated_budget: the target has {target.train.num_classes} classes but the report's "
            f"{report['split']['name']!r} split has {len(report['split']['target_classes'])}; "
            f"use data.target_task(dataset, {report['split']['name']!r})"
        )
    strategies = list(strategies) if strategies is not None else list(_entry(report, k)["strategies"])
    runs = {}
    for strategy in with_progress(strategies, progress, "validated budget", "strategy"):
        protocol = validated_protocol(report, k, strategy)
        comparison = fair_comparison(target, [k], [seed], weights=report["base"]["weights"],
                                     strategies=(strategy,), protocol=protocol, progress=False)
        run = comparison["runs"][k][seed][strategy]
        run["budget"] = {"learning_rate": protocol.learning_rates[0], "augmentation": protocol.augmentation[0], "max_steps": protocol.max_steps}
        runs[strategy] = run
    return runs


def recorded_seed(report: dict, k: int, seed: int = 0, strategies=None) -> dict:
    """One seed of the benchmark as it was recorded: what each strategy chose, and its test accuracy.

    The cheap counterpart of :func:`run_at_validated_budget`: the same keys
    (``choice``, ``test``), read from the report instead of trained.  The
    benchmark keeps per-seed accuracies on the customer photos only (centred
    images and curves as means over seeds), so ``test`` has that one condition
    and there is no ``curve``.

    Parameters
    ----------
    report : dict
        From :func:`load_results`.
    k, seed : int
    strategies : sequence of str, optional
        Default: every strategy the report has at ``k``.

    Returns
    -------
    dict
        ``{strategy: {"choice": {...}, "test": {"customer_photos": accuracy}}}``.
    """
    entry = _entry(report, k)
    if seed not in entry["seeds"]:
        raise UnknownNameError(describe_name_choice(f"seed at k = {k}", str(seed), [str(value) for value in entry["seeds"]]))
    position = entry["seeds"].index(seed)
    strategies = list(strategies) if strategies is not None else list(entry["strategies"])
    runs = {}
    for strategy in strategies:
        if strategy not in entry["strategies"]:
            raise UnknownNameError(describe_name_choice(f"strategy at k = {k}", strategy, list(entry["strategies"])))
        stats = entry["strategies"][strategy]
        runs[strategy] = {"choice": stats["chosen"][position], "test": {"customer_photos": stats["runs"][position]}}
    return runs


def gain_lines(report: dict) -> list[str]:
    """One line per ``k``: each strategy's mean tuned test accuracy and transfer's paired gain with its interval."""
    lines = []
    for k, entry in report["results"].items():
        accuracies = ", ".join(f"{name} {100 * stats['mean']:.1f}%" for name, stats in entry["strategies"].items())
        lines.append(
            f"k = {k}: {accuracies}; transfer - scratch {entry['gain_pts']:+.1f} points "
            f"(95% CI {entry['ci_low']:+.1f} to {entry['ci_high']:+.1f}, {len(entry['seeds'])} seeds)"
        )
    return lines


def steps_panels(report: dict, condition_note: str = "mean over seeds") -> tuple[dict, dict]:
    """The report's accuracy-against-steps curves as panels for :func:`tlkit.plots.plot_accuracy_vs_steps`.

    Returns
    -------
    panels : dict
        ``{"k labelled images per class": {strategy: mean curve over seeds}}``.
    stopped : dict
        Per panel and strategy, the median number of steps validation chose.
    """
    panels, stopped = {}, {}
    for k, entry in report["results"].items():
        title = f"{k} labelled images per class ({condition_note})"
        panels[title] = dict(entry["accuracy_vs_steps"])
        stopped[title] = {strategy: float(np.median([choice["steps"] for choice in stats["chosen"]]))
                          for strategy, stats in entry["strategies"].items()}
    return panels, stopped


def run_panels(runs: dict, title: str, condition: str = "customer_photos") -> tuple[dict, dict]:
    """The curves of :func:`run_at_validated_budget`'s runs as one panel, and where validation stopped each."""
    panel = {strategy: [{"steps": point["steps"], "test_accuracy": point["test"][condition]} for point in run["curve"]]
             for strategy, run in runs.items()}
    return {title: panel}, {title: {strategy: run["choice"]["steps"] for strategy, run in runs.items()}}


# ---------------------------------------------------------------------------
# Labels to match: how many labels per class scratch needs to reach transfer
# ---------------------------------------------------------------------------

#: Bootstrap resamples of :func:`labels_to_match`'s interval (seeded, so the interval repeats exactly).
LABELS_TO_MATCH_RESAMPLES = 2000


def scratch_by_labels(report: dict, strategy: str = "scratch") -> dict:
    """Per-seed test accuracies (customer photos) of ``strategy`` at every labels-per-class value the report has.

    The recorded comparison's ``k`` (``report["results"]``) and the extra ones
    (``report["labels_curve"]``, written by ``transfer_gain.py --add-arms scratch --ks ...``).

    Returns
    -------
    dict
        ``{k: {seed: accuracy}}`` with ``k`` ascending.
    """
    curve = {}
    for section in ("results", "labels_curve"):
        for k, entry in report.get(section, {}).items():
            if strategy in entry["strategies"]:
                curve[int(k)] = dict(zip(entry["seeds"], entry["strategies"][strategy]["runs"]))
    if not curve:
        raise UnknownNameError(f"the fair-protocol results have no {strategy!r} runs")
    return dict(sorted(curve.items()))


def _labels_reaching(ks: np.ndarray, means: np.ndarray, goal: float) -> float:
    """Labels per class where the curve ``means`` (at ``ks``) first reaches ``goal``, interpolated on log k; inf if never."""
    reached = np.flatnonzero(means >= goal)
    if reached.size == 0:
        return math.inf
    i = int(reached[0])
    if i == 0:
        return float(ks[0])
    low, high = math.log(ks[i - 1]), math.log(ks[i])
    fraction = (goal - means[i - 1]) / (means[i] - means[i - 1])
    return float(math.exp(low + fraction * (high - low)))


def labels_to_match(report: dict, k: int, confidence: float = 0.95, resamples: int = LABELS_TO_MATCH_RESAMPLES) -> dict:
    """How many labels per class scratch needs to reach what transfer reaches with ``k``.

    Transfer's accuracy is its mean customer-photo test accuracy at ``k`` (the
    headline arm, chosen on validation data seed by seed); scratch's curve is its
    mean accuracy at every labels-per-class value the report has, every point
    tuned by the same protocol.  The crossing is interpolated linearly in
    log(labels per class) between the two measured points around it; a curve
    that never reaches transfer's accuracy gives ``None`` ("not reached within"
    the largest k measured).  The interval resamples seeds (bootstrap, seeded):
    at every k the seeds are drawn with replacement, transfer and scratch at the
    transfer's own k on the same draw (they are paired).

    Parameters
    ----------
    report : dict
        From :func:`load_results`.
    k : int
        Labels per class of the transfer accuracy to match (a ``k`` of ``report["results"]``).
    confidence : float
        Of the percentile interval.
    resamples : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``k``, ``transfer_accuracy``, ``scratch_accuracy`` (``{k: mean}``), ``labels_per_class``
        (``None`` when not reached), ``ratio`` (``labels_per_class / k``), ``ci_low`` / ``ci_high``
        (``None`` for a bound beyond the largest k), ``not_reached_share`` (of the resamples),
        ``largest_k``, ``seeds`` (``{k: n}``), ``resamples``, ``method``.
    """
    entry = _entry(report, k)
    curve = scratch_by_labels(report)
    ks = np.array(list(curve), dtype=float)
    transfer = dict(zip(entry["seeds"], entry["transfer_runs"]))
    goal = float(np.mean(list(transfer.values())))
    means = np.array([np.mean(list(per_seed.values())) for per_seed in curve.values()])
    estimate = _labels_reaching(ks, means, goal)

    rng = np.random.default_rng(0)
    estimates = np.empty(resamples)
    for r in range(resamples):
        draws = {size: rng.choice(list(per_seed), size=len(per_seed)) for size, per_seed in curve.items()}
        boot_goal = float(np.mean([transfer[seed] for seed in draws[k]]))
        boot_means = np.array([np.mean([curve[size][seed] for seed in draws[size]]) for size in curve])
        estimates[r] = _labels_reaching(ks, boot_means, boot_goal)
    tail = 100 * (1 - confidence) / 2
    beyond = 10 * ks[-1]  # stands for "not reached" in the percentiles (inf - inf would be undefined)
    low, high = (float(np.percentile(np.where(np.isfinite(estimates), estimates, beyond), q)) for q in (tail, 100 - tail))
    reached = math.isfinite(estimate)

    def rounded(value):
        return round(value, 1) if value <= ks[-1] else None

    return {
        "k": int(k),
        "transfer_accuracy": round(goal, 4),
        "scratch_accuracy": {str(size): round(float(mean), 4) for size, mean in zip(curve, means)},
        "labels_per_class": rounded(estimate),
        "ratio": round(estimate / k, 1) if reached else None,
        "ci_low": rounded(low),
        "ci_high": rounded(high),
        "not_reached_share": round(float(np.mean(~np.isfinite(estimates))), 3),
        "largest_k": int(ks[-1]),
        "seeds": {str(size): len(per_seed) for size, per_seed in curve.items()},
        "resamples": int(resamples),
        "confidence": confidence,
        "method": "first crossing of scratch's mean curve, linear in log(labels per class); percentile bootstrap "
                  "over seeds (seeded), transfer and scratch at the same k paired",
    }


def labels_to_match_line(report: dict) -> str:
    """One sentence: labels per class scratch needs to match transfer at each recorded ``k``, with intervals."""
    parts = []
    for k, match in report["labels_to_match"].items():
        start = f"transfer's {100 * match['transfer_accuracy']:.1f}% with {k} labels per class"
        if match["labels_per_class"] is None:
            parts.append(f"{start} is not reached by scratch within {match['largest_k']}")
            continue
        high = f"{match['ci_high']:.0f}" if match["ci_high"] is not None else f"more than {match['largest_k']}"
        parts.append(f"{start} takes scratch about {match['labels_per_class']:.0f} "
                     f"({match['ratio']:.1f}x; 95% bootstrap interval {match['ci_low']:.0f} to {high})")
    return "Labels to match: " + "; ".join(parts) + "."


def labels_to_match_curves(report: dict) -> tuple[dict, dict, dict]:
    """What :func:`tlkit.plots.plot_labels_to_match` draws for ``report``.

    Returns
    -------
    scratch : dict
        ``{k: [accuracy per seed]}`` of scratch at every labels-per-class value recorded.
    transfer : dict
        ``{k: [accuracy per seed]}`` of transfer at the ``k`` the report matched.
    matches : dict
        ``{k: labels per class scratch needs}`` (``None`` when not reached).
    """
    scratch = {k: list(per_seed.values()) for k, per_seed in scratch_by_labels(report).items()}
    transfer = {int(k): entry["transfer_runs"] for k, entry in report["results"].items() if int(k) in
                {int(key) for key in report.get("labels_to_match", {})}}
    matches = {int(k): match["labels_per_class"] for k, match in report.get("labels_to_match", {}).items()}
    return scratch, transfer, matches
