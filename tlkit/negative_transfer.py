"""Negative transfer: when reusing a source model makes the target model worse.

Wang, Dai, Póczos and Carbonell (2019) define the **negative transfer gap**
of a learning algorithm ``A`` on target data ``T`` with source data ``S``::

    NTG = error(A(S, T)) - error(A(no source, T))

the target error with the source minus the target error of the same
algorithm without it.  A positive gap is negative transfer.

This module

* computes the gap and a confidence interval over seeds
  (:func:`negative_transfer_gap`, :func:`gap_with_interval`);
* measures it over a grid of source corruption rates (bases pre-trained with a
  fraction ``epsilon`` of their labels shuffled) and labels per target class
  (:func:`run_gap_grid`), every arm (scratch included) tuned by the fair
  protocol of :mod:`tlkit.experiments` on validation data from the target
  training pool;
* says what the grid shows about the two factors Wang et al. name
  (:func:`labels_trend`, :func:`expected_shapes`);
* draws the grid as a heatmap and a bar chart (:func:`tlkit.plots.plot_gap_heatmap`,
  :func:`tlkit.plots.plot_setting`) and
  as an interactive slider view (:func:`explore`).

Transfer strategies are those of :mod:`tlkit.experiments.strategies`, the
validation split is :func:`tlkit.experiments.few_shot_with_validation`'s and
the interval :func:`tlkit.experiments.paired_interval`'s.  ``"frozen"`` and
``"partial"`` are trained on cached outputs of the frozen layers (computed once
per base), which gives the same models as training end to end, much faster.
"""

from __future__ import annotations

import warnings

import contextlib
import dataclasses
import logging
from typing import Iterable, Mapping, Sequence

import numpy as np

from tlkit import data, experiments, paths
from tlkit.errors import TlkitError, UnknownNameError, describe_name_choice
from tlkit.evaluation import accuracy, accuracy_of_outputs, predict_eagerly
from tlkit.plots.negative_transfer import plot_setting as _plot_setting
from tlkit.widget_display import ContainerDisplay, static_note

__all__ = [
    "CACHED_STRATEGIES", "CORRUPTED_SOURCES", "GRID_PROTOCOL", "GapEstimate", "GapGrid", "MIN_SEEDS_FOR_VERDICT",
    "GapExplorer", "NegativeTransferError", "TRANSFER_STRATEGIES", "VERDICT_MARGIN", "error_rate", "expected_shapes", "explore",
    "RECORDED_RESULTS", "gap_with_interval", "labels_trend", "load_recorded", "negative_transfer_gap", "run_gap_grid",
]

#: Source corruption rate epsilon -> shipped weights name of the base pre-trained with it.
CORRUPTED_SOURCES = {
    0.0: "fashion_source",
    0.5: "fashion_source_shuffled_50",
    1.0: "fashion_source_shuffled_100",
}

#: Strategies this module can measure, those of the fair protocol (``scratch`` is always run as the baseline).
TRANSFER_STRATEGIES = experiments.TRANSFER_STRATEGIES
#: The strategies trained on cached outputs of their frozen layers.
CACHED_STRATEGIES = experiments.CACHED_STRATEGIES


class NegativeTransferError(TlkitError, ValueError):
    """Numbers or settings handed to the negative-transfer tools do not fit."""


# ---------------------------------------------------------------------------
# The gap and its confidence interval


def _as_array(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise NegativeTransferError(f"{name} must be numbers, got {values!r}") from None
    if np.any(np.isnan(array)) or np.any(array < 0) or np.any(array > 1):
        raise NegativeTransferError(f"{name} must be error rates or accuracies between 0 and 1, got {values!r}")
    return array


def error_rate(accuracy):
    """``1 - accuracy``, checked to be between 0 and 1 (works on arrays)."""
    return 1.0 - _as_array(accuracy, "accuracy")


def negative_transfer_gap(error_with_source, error_without_source):
    """Target error with the source minus target error without it (same algorithm).

    Positive means negative transfer. Works on numbers and on arrays (one
    entry per seed).

    Examples
    --------
    >>> round(negative_transfer_gap(0.18, 0.15), 3)
    0.03
    """
    with_source = _as_array(error_with_source, "error_with_source")
    without_source = _as_array(error_without_source, "error_without_source")
    if with_source.shape != without_source.shape:
        raise NegativeTransferError(
            f"negative_transfer_gap: {with_source.size} errors with the source but "
            f"{without_source.size} without; pair them seed by seed"
        )
    gap = with_source - without_source
    return float(gap) if gap.ndim == 0 else gap


#: How far (in error rate) an interval must clear 0 before a verdict is printed: 0.01 is one point.
VERDICT_MARGIN = 0.01
#: Fewest seeds whose interval earns a verdict (:attr:`GapEstimate.verdict`).
MIN_SEEDS_FOR_VERDICT = 3


@dataclasses.dataclass(frozen=True)
class GapEstimate:
    """A negative transfer gap measured over seeds, with its confidence interval.

    Attributes
    ----------
    mean : float
        Mean of the per-seed gaps.
    low, high : float
        Bounds of the two-sided t-interval of the mean.
    confidence : float
        Its level, e.g. 0.95.
    differences : tuple of float
        The per-seed gaps (error with source minus error without, same seed).
    """

    mean: float
    low: float
    high: float
    confidence: float
    differences: tuple

    @property
    def verdict(self) -> str:
        """What the interval allows us to say, with a margin of :data:`VERDICT_MARGIN`.

        ``"negative transfer"`` when the whole interval lies above
        ``+VERDICT_MARGIN``, ``"positive transfer"`` when it lies below
        ``-VERDICT_MARGIN``, ``"no clear difference"`` when it reaches beyond
        the margin on both sides of 0, and ``"too close to call"`` when an end
        of the interval falls inside the margin around 0. The margin keeps a
        verdict from flipping with the last digits of a measurement, which
        change from one CPU to another.

        With fewer than :data:`MIN_SEEDS_FOR_VERDICT` seeds there is no verdict
        at all: a t-interval from two seeds multiplies the standard error by
        12.7 and rests on a spread estimated from two numbers, so it says
        ``"evidence too thin (a verdict needs at least 3 seeds)"``.
        """
        if self.seeds < MIN_SEEDS_FOR_VERDICT:
            return f"evidence too thin (a verdict needs at least {MIN_SEEDS_FOR_VERDICT} seeds)"
        return experiments.read_interval({"ci_low": self.low, "ci_high": self.high}, above="negative transfer",
                                         below="positive transfer", no_difference="no clear difference", margin=VERDICT_MARGIN)

    @property
    def seeds(self) -> int:
        """How many seeds the gap was measured over."""
        return len(self.differences)

    def to_dict(self, digits: int | None = None) -> dict:
        """JSON-friendly form; ``digits`` rounds the numbers (None: exact)."""

        def number(value):
            return float(value) if digits is None else round(float(value), digits)

        return {"mean": number(self.mean), "low": number(self.low), "high": number(self.high),
                "confidence": float(self.confidence), "differences": [number(d) for d in self.differences]}

    @classmethod
    def from_dict(cls, values: dict) -> "GapEstimate":
        return cls(float(values["mean"]), float(values["low"]), float(values["high"]),
                   float(values["confidence"]), tuple(float(d) for d in values["differences"]))

    def __str__(self) -> str:
        return (
            f"NTG {self.mean:+.3f} ({self.confidence:.0%} CI {self.low:+.3f} to {self.high:+.3f}, "
            f"{self.seeds} seeds): {self.verdict}"
        )


def gap_with_interval(errors_with_source, errors_without_source, confidence: float = 0.95) -> GapEstimate:
    """Mean negative transfer gap over seeds with a paired t confidence interval.

    The gaps are paired seed by seed and their interval is
    :func:`tlkit.experiments.paired_interval`'s, the one every comparison of the
    course uses.

    Parameters
    ----------
    errors_with_source, errors_without_source : sequence of float
        Target error rates, one per seed; entry ``i`` of both comes from the
        same seed (same target examples), so they are compared pairwise.
    confidence : float, default 0.95

    Returns
    -------
    GapEstimate
    """
    if not 0 < confidence < 1:
        raise NegativeTransferError(f"gap_with_interval: confidence must be between 0 and 1, got {confidence}")
    differences = np.atleast_1d(negative_transfer_gap(errors_with_source, errors_without_source))
    if differences.size < 2:
        raise NegativeTransferError(
            f"gap_with_interval: a confidence interval needs at least 2 seeds, got {differences.size}"
        )
    interval = experiments.paired_interval(differences, confidence)
    return GapEstimate(interval["mean"], interval["ci_low"], interval["ci_high"], confidence, tuple(float(d) for d in differences))


# ---------------------------------------------------------------------------
# Training the strategies


#: The selection budget every arm of the grid gets, scratch included (:class:`tlkit.experiments.FairProtocol`):
#: Adam learning rate from two values a decade apart and the length by early stopping, both on validation images
#: drawn from the target training pool. No augmentation: frozen and partial train on cached features,
#: which cannot be varied, so no arm gets it.
GRID_PROTOCOL = experiments.FairProtocol(
    learning_rates=(1e-3, 1e-2), augmentation=(False,), max_steps=600, check_every_steps=100,
    validation_per_class=50, condition="plain",
)


@contextlib.contextmanager
def _quiet_tensorflow_warnings():
    """Hide TensorFlow's Python-logger warnings (e.g. tf.function retracing) while a grid trains."""
    logger = logging.getLogger("tensorflow")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


# ---------------------------------------------------------------------------
# The grid


@dataclasses.dataclass
class GapGrid:
    """Validation and test accuracies of scratch and transfer strategies over (epsilon, k, seed).

    Attributes
    ----------
    corruptions : list of float
        Source label-shuffle fractions epsilon.
    labels_per_class : list of int
    seeds : list of int
    scratch : dict
        ``{"validation"|"test": {k: [accuracy per seed]}}``.
    transfer : dict
        ``{"validation"|"test": {strategy: {epsilon: {k: [accuracy per seed]}}}}``.
    choices : dict
        What each arm chose on validation data: ``{"scratch": {k: [choice per seed]},
        strategy: {epsilon: {k: [choice per seed]}}}``, each choice a dict with
        ``learning_rate`` and ``steps`` (empty for grids recorded without it).
    """

    corruptions: list
    labels_per_class: list
    seeds: list
    scratch: dict
    transfer: dict
    choices: dict = dataclasses.field(default_factory=dict)

    @property
    def strategies(self) -> list:
        return list(self.transfer["test"])

    def _check(self, strategy, epsilon, k):
        if strategy not in self.transfer["test"]:
            raise UnknownNameError(describe_name_choice("strategy in this grid", strategy, self.strategies))
        if epsilon not in self.transfer["test"][strategy]:
            raise NegativeTransferError(f"epsilon {epsilon} is not in this grid ({self.corruptions})")
        if k not in self.transfer["test"][strategy][epsilon]:
            available = sorted(self.transfer["test"][strategy][epsilon])
            raise NegativeTransferError(f"{strategy} was not run at k = {k} (runs at {available})")

    def accuracies(self, strategy: str, epsilon: float, k: int, split: str = "test") -> list:
        """Per-seed accuracies; ``strategy="scratch"`` ignores ``epsilon``."""
        if strategy == "scratch":
            return list(self.scratch[split][k])
        self._check(strategy, epsilon, k)
        return list(self.transfer[split][strategy][epsilon][k])

    def chosen(self, strategy: str, epsilon: float, k: int) -> list:
        """Per-seed choices (learning rate, steps) the arm made on validation data."""
        if strategy == "scratch":
            return list(self.choices.get("scratch", {}).get(k, []))
        self._check(strategy, epsilon, k)
        return list(self.choices.get(strategy, {}).get(epsilon, {}).get(k, []))

    def gap(self, strategy: str, epsilon: float, k: int, split: str = "test", confidence: float = 0.95) -> GapEstimate:
        """The negative transfer gap of ``strategy`` against scratch at (epsilon, k)."""
        return gap_with_interval(
            error_rate(self.accuracies(strategy, epsilon, k, split)),
            error_rate(self.accuracies("scratch", epsilon, k, split)),
            confidence,
        )

    def gap_table(self, strategy: str, split: str = "test") -> np.ndarray:
        """Mean gaps, rows = corruptions, columns = labels per class (NaN where not run)."""
        table = np.full((len(self.corruptions), len(self.labels_per_class)), np.nan)
        for row, epsilon in enumerate(self.corruptions):
            for column, k in enumerate(self.labels_per_class):
                runs = self.transfer[split].get(strategy, {}).get(epsilon, {})
                if k in runs:
                    table[row, column] = self.gap(strategy, epsilon, k, split).mean
        return table

    def best_by_validation(self, epsilon: float, k: int) -> str:
        """The strategy (scratch included) with the best mean validation accuracy at (epsilon, k)."""
        scores = {"scratch": float(np.mean(self.scratch["validation"][k]))}
        for strategy in self.strategies:
            runs = self.transfer["validation"][strategy].get(epsilon, {})
            if k in runs:
                scores[strategy] = float(np.mean(runs[k]))
        return max(scores, key=scores.get)

    def to_dict(self, digits: int | None = 4) -> dict:
        """JSON-friendly form (numeric keys become strings), accuracies rounded to ``digits`` (None: exact)."""

        def by_k(per_k):
            return {str(k): [float(a) if digits is None else round(a, digits) for a in v] for k, v in per_k.items()}

        def choices_by_k(per_k):
            return {str(k): [{key: (round(value, 4) if isinstance(value, float) and digits is not None else value)
                              for key, value in choice.items()} for choice in v] for k, v in per_k.items()}

        choices = {}
        for name, per in self.choices.items():
            choices[name] = choices_by_k(per) if name == "scratch" else {str(e): choices_by_k(per_k) for e, per_k in per.items()}
        return {
            "corruptions": self.corruptions,
            "labels_per_class": self.labels_per_class,
            "seeds": self.seeds,
            "scratch": {split: by_k(per_k) for split, per_k in self.scratch.items()},
            "transfer": {
                split: {s: {str(e): by_k(per_k) for e, per_k in per_e.items()} for s, per_e in per_s.items()}
                for split, per_s in self.transfer.items()
            },
            "choices": choices,
        }

    @classmethod
    def from_dict(cls, values: dict) -> "GapGrid":
        def by_k(per_k):
            return {int(k): list(v) for k, v in per_k.items()}

        choices = {}
        for name, per in values.get("choices", {}).items():
            choices[name] = by_k(per) if name == "scratch" else {float(e): by_k(per_k) for e, per_k in per.items()}
        return cls(
            list(values["corruptions"]),
            list(values["labels_per_class"]),
            list(values["seeds"]),
            {split: by_k(per_k) for split, per_k in values["scratch"].items()},
            {
                split: {s: {float(e): by_k(per_k) for e, per_k in per_e.items()} for s, per_e in per_s.items()}
                for split, per_s in values["transfer"].items()
            },
            choices,
        )


def _public_choice(choice: dict) -> dict:
    return {"learning_rate": float(choice["learning_rate"]), "steps": int(choice["steps"])}


@_quiet_tensorflow_warnings()
def run_gap_grid(
    target: data.Dataset,
    sources: Mapping[float, str],
    labels_per_class: Sequence[int] = (5, 20, 50),
    seeds: Iterable[int] = (0, 1, 2),
    strategies: Sequence[str] = CACHED_STRATEGIES,
    only_at: Mapping[str, Sequence[int]] | None = None,
    protocol: experiments.FairProtocol = GRID_PROTOCOL,
    test_per_class: int | None = None,
    baseline: GapGrid | None = None,
    progress: bool = False,
) -> GapGrid:
    """Measure every strategy against scratch over corruption rates, labels per class and seeds.

    Every arm, scratch included, gets the same selection budget, ``protocol``
    (:class:`tlkit.experiments.FairProtocol`): its own learning rate and
    training length, chosen on a validation split drawn from the target
    *training* pool by :func:`tlkit.experiments.few_shot_with_validation`
    (disjoint from the labelled examples, the same for every arm of a seed).
    Test images are read only after the choices are made.

    Parameters
    ----------
    target : Dataset
        The target task (``data.target_task(...)``).
    sources : mapping
        ``{epsilon: weights}``, a shipped weights name or a ``.keras`` path per
        corruption rate, e.g. :data:`CORRUPTED_SOURCES`.
    labels_per_class : sequence of int
    seeds : iterable of int
        A seed fixes the labelled examples, the validation split and the
        initialisation; all arms share them, so gaps are paired per seed.
        One seed gives accuracies to look at; :meth:`GapGrid.gap` needs at least 2.
    strategies : sequence of str
        Among :data:`TRANSFER_STRATEGIES`; scratch always runs. ``"frozen"``
        and ``"partial"`` train on cached outputs of the frozen layers (the
        same models, much faster); ``"fine_tune"`` trains end to end
        (:func:`tlkit.experiments.tune_strategy`).
    only_at : mapping, optional
        ``{strategy: [k, ...]}`` to run a slow strategy (``"fine_tune"``) at a few ``k`` only.
    protocol : FairProtocol
        The selection budget of every arm; ``condition`` must be ``"plain"`` and
        ``augmentation`` ``(False,)`` (cached features cannot be varied).
    test_per_class : int, optional
        Test images per class (default: all).
    baseline : GapGrid, optional
        A grid run earlier with the same seeds, protocol and ``test_per_class``:
        its scratch results are reused instead of tuning scratch again.
    progress : bool
        Show a progress bar.

    Returns
    -------
    GapGrid
    """
    experiments.check_strategies(strategies, TRANSFER_STRATEGIES)
    labels_per_class, seeds = [int(k) for k in labels_per_class], list(seeds)
    corruptions = sorted(float(e) for e in sources)
    _check_grid_settings(labels_per_class, seeds, corruptions, protocol)
    runs_at = _RunsAt(labels_per_class, only_at)
    test = target.test
    if test_per_class is not None:
        test = test.take(np.sort(data.few_shot_indices(test.labels, test_per_class, 0)))
    cells = [(k, seed) for k in labels_per_class for seed in seeds]
    total = len(cells) * (baseline is None) + sum(len(runs_at(s)) for s in strategies) * len(corruptions) * len(seeds)
    bar = _progress_bar(total) if progress else None

    def tick():
        if bar is not None:
            bar.update()

    samples = {}
    for k, seed in cells:
        examples, validation, _ = experiments.few_shot_with_validation(target.train, k, seed, protocol.validation_per_class)
        samples[(k, seed)] = (examples, validation)
    evaluation = {"validation": None, "test": test}
    choices = {}
    if baseline is None:
        scratch, choices["scratch"] = _tune_scratch(samples, labels_per_class, seeds, test, protocol, tick)
    else:
        scratch, choices["scratch"] = _scratch_from_baseline(baseline, labels_per_class, seeds)
    transfer = {split: {s: {e: {k: [] for k in runs_at(s)} for e in corruptions} for s in strategies} for split in evaluation}
    for strategy in strategies:
        choices[strategy] = {e: {k: [] for k in runs_at(strategy)} for e in corruptions}
    trainers = {}
    for epsilon in corruptions:
        cached = experiments.CachedBase(sources[epsilon]) if any(s in CACHED_STRATEGIES for s in strategies) else None
        test_features = cached.conv_features(test.images) if cached is not None else None
        for k, seed in cells:
            examples, validation = samples[(k, seed)]
            if cached is not None:
                features = {"train": cached.conv_features(examples.images), "validation": cached.conv_features(validation.images),
                            "test": test_features}
            for strategy in strategies:
                if k not in runs_at(strategy):
                    continue
                if strategy in CACHED_STRATEGIES:
                    prepare = (lambda x: x) if strategy == "partial" else cached.dense_features
                    model, choice = experiments.tune_on_arrays(
                        lambda: cached.head_model(strategy, examples.num_classes, protocol.dropout),
                        prepare(features["train"]), examples.labels, prepare(features["validation"]), validation.labels,
                        seed, protocol, trainers.setdefault(strategy, {}),
                    )
                    test_accuracy = accuracy_of_outputs(predict_eagerly(model, prepare(features["test"])), test.labels)
                else:
                    model, choice, _ = experiments.tune_strategy(strategy, examples, validation, seed, sources[epsilon], protocol)
                    test_accuracy = accuracy(model, test)
                transfer["validation"][strategy][epsilon][k].append(float(choice["validation_accuracy"]))
                transfer["test"][strategy][epsilon][k].append(float(test_accuracy))
                choices[strategy][epsilon][k].append(_public_choice(choice))
                tick()
    if bar is not None:
        bar.close()
    return GapGrid(corruptions, labels_per_class, seeds, scratch, transfer, choices)


#: The grid ``benchmarks/negative_transfer.py`` recorded: the full Fashion-MNIST files, every arm tuned.
RECORDED_RESULTS = paths.BENCHMARK_RESULTS_DIR / "negative_transfer.json"


def load_recorded(path=None) -> tuple[dict, GapGrid]:
    """The report ``benchmarks/negative_transfer.py`` wrote, and its grid.

    Parameters
    ----------
    path : path-like, optional
        Default :data:`RECORDED_RESULTS`.

    Returns
    -------
    report : dict
        Settings, protocol and command of the run (``report["grid"]`` is the grid's dict form).
    grid : GapGrid

    Raises
    ------
    MissingFileError, CorruptFileError
        When the file is absent, not JSON, or lacks the benchmark's keys.
    """
    report = experiments.recorded.load_result_file(
        path if path is not None else RECORDED_RESULTS, "negative transfer results", "benchmarks/negative_transfer.py",
        ("command", "dataset", "protocol", "grid"))
    return report, GapGrid.from_dict(report["grid"])


def _check_grid_settings(labels_per_class, seeds, corruptions, protocol) -> None:
    if not seeds:
        raise NegativeTransferError("run_gap_grid: give at least one seed (a gap's confidence interval needs 2)")
    if not isinstance(protocol, experiments.FairProtocol):
        raise NegativeTransferError(
            f"run_gap_grid: protocol must be an experiments.FairProtocol (every arm's selection budget), got {type(protocol).__name__}"
        )
    if any(protocol.augmentation) or protocol.condition != "plain":
        raise NegativeTransferError(
            "run_gap_grid: the protocol must use augmentation=(False,) and condition='plain' - frozen and partial "
            "train on cached features, which cannot be varied, so no arm may vary its images"
        )
    if not labels_per_class or not corruptions:
        raise NegativeTransferError("run_gap_grid: give at least one labels-per-class value and one source")


class _RunsAt:
    """The labels-per-class values a strategy runs at (all, unless ``only_at`` names a few)."""

    def __init__(self, labels_per_class, only_at):
        self.labels_per_class, self.only_at = labels_per_class, dict(only_at or {})

    def __call__(self, strategy) -> list:
        return [k for k in self.labels_per_class if strategy not in self.only_at or k in self.only_at[strategy]]


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=int(round(total)), desc="tuning target models", unit="model")


def _tune_scratch(samples, labels_per_class, seeds, test, protocol, tick) -> tuple[dict, dict]:
    """``({split: {k: [accuracy per seed]}}, {k: [choice per seed]})`` of scratch tuned on every sample."""
    scratch = {split: {k: [] for k in labels_per_class} for split in ("validation", "test")}
    choices = {k: [] for k in labels_per_class}
    for k in labels_per_class:
        for seed in seeds:
            examples, validation = samples[(k, seed)]
            model, choice, _ = experiments.tune_strategy("scratch", examples, validation, seed, protocol=protocol)
            scratch["validation"][k].append(float(choice["validation_accuracy"]))
            scratch["test"][k].append(accuracy(model, test))
            choices[k].append(_public_choice(choice))
            tick()
    return scratch, choices


def _scratch_from_baseline(baseline: GapGrid, labels_per_class, seeds) -> tuple[dict, dict]:
    """The scratch results of an earlier grid with the same seeds and samples."""
    missing = [k for k in labels_per_class if k not in baseline.scratch["test"]]
    if missing or list(baseline.seeds) != seeds:
        raise NegativeTransferError(
            f"run_gap_grid: the baseline grid has seeds {baseline.seeds} and k {sorted(baseline.scratch['test'])}; "
            f"this run needs seeds {seeds} and k {labels_per_class}"
        )
    scratch = {split: {k: list(baseline.scratch[split][k]) for k in labels_per_class} for split in ("validation", "test")}
    return scratch, {k: list(baseline.choices.get("scratch", {}).get(k, [])) for k in labels_per_class}


def labels_trend(grid: GapGrid, strategy: str, epsilon: float, margin: float = VERDICT_MARGIN) -> str:
    """How the gap of ``strategy`` at ``epsilon`` moves from the smallest to the largest ``k``, with a margin.

    ``"rises"`` when the interval at the largest ``k`` lies wholly above the
    one at the smallest ``k`` by more than ``margin``, ``"falls"`` when it lies
    wholly below it by more than ``margin``, else ``"no clear change"``
    (overlapping intervals, or separated by less than the margin, which the last
    digits of another CPU could cross).
    """
    first, last = grid.gap(strategy, epsilon, grid.labels_per_class[0]), grid.gap(strategy, epsilon, grid.labels_per_class[-1])
    if last.low > first.high + margin:
        return "rises"
    if last.high < first.low - margin:
        return "falls"
    return "no clear change"


def expected_shapes(grid: GapGrid, strategy: str = "frozen", k: int = 50, margin: float = VERDICT_MARGIN) -> dict:
    """The shapes Wang et al. predict, checked on ``grid`` with the seeds' intervals (each value a bool).

    ``gap_positive_at_full_corruption``: at the largest epsilon and ``k``, the
    whole 95% interval of the gap lies above 0.
    ``gap_rises_with_corruption``: at ``k``, the mean gap rises by more than
    ``margin`` at every step up in epsilon.
    ``gap_rises_with_labels``: at the largest epsilon, :func:`labels_trend`
    says ``"rises"`` (the intervals at the smallest and largest ``k`` apart by
    more than ``margin``). A difference the intervals cannot separate counts as
    not shown, so another CPU's rounding cannot flip a value.
    """
    table = grid.gap_table(strategy)
    column = grid.labels_per_class.index(k)
    largest = grid.corruptions[-1]
    return {
        "gap_positive_at_full_corruption": bool(grid.gap(strategy, largest, k).low > 0),
        "gap_rises_with_corruption": bool(np.all(np.diff(table[:, column]) > margin)),
        "gap_rises_with_labels": labels_trend(grid, strategy, largest, margin) == "rises",
    }


# ---------------------------------------------------------------------------
# Exploring a grid


class GapExplorer(ContainerDisplay):
    """Sliders for epsilon and labels per class over a grid's results, redrawing the bar chart.

    Before its cell runs, a saved notebook shows a static table of every
    gap (:meth:`static_html`) with a note to run the cell.

    Parameters
    ----------
    grid : GapGrid
        The results to explore; nothing is trained.
    """

    def __init__(self, grid: GapGrid):
        import ipywidgets
        from IPython.display import display

        self.grid = grid
        corruption = ipywidgets.SelectionSlider(options=grid.corruptions, value=grid.corruptions[-1], description="ε")
        labels = ipywidgets.SelectionSlider(
            options=grid.labels_per_class, value=grid.labels_per_class[-1], description="k per class"
        )
        output = ipywidgets.Output()

        def redraw(_=None):
            output.clear_output(wait=True)
            with output:
                display(_plot_setting(grid, corruption.value, labels.value))
                for strategy in grid.strategies:
                    if labels.value in grid.transfer["test"][strategy].get(corruption.value, {}):
                        print(f"{strategy:>9}: {grid.gap(strategy, corruption.value, labels.value)}")

        corruption.observe(redraw, names="value")
        labels.observe(redraw, names="value")
        redraw()
        self.container = ipywidgets.VBox([ipywidgets.HBox([corruption, labels]), output])

    def plain_text(self) -> str:
        """One line naming what the explorer shows."""
        return (f"<tlkit gap explorer: {len(self.grid.corruptions)} values of ε x "
                f"{len(self.grid.labels_per_class)} values of k, strategies {', '.join(self.grid.strategies)}>")

    def static_html(self) -> str:
        """Every gap of the grid as a table, with the "run this cell" note."""
        import html

        rows = []
        for strategy in self.grid.strategies:
            for epsilon in self.grid.corruptions:
                cells = []
                for k in self.grid.labels_per_class:
                    if k in self.grid.transfer["test"][strategy].get(epsilon, {}):
                        gap = self.grid.gap(strategy, epsilon, k)
                        cells.append(f"<td>{gap.mean:+.3f} ({gap.low:+.3f} to {gap.high:+.3f})</td>")
                    else:
                        cells.append("<td>not run</td>")
                rows.append(f"<tr><td>{html.escape(strategy)}</td><td>{epsilon:g}</td>{''.join(cells)}</tr>")
        header = "".join(f"<th>k = {k}</th>" for k in self.grid.labels_per_class)
        return (static_note() + "<table><tr><th>strategy</th><th>ε</th>" + header + "</tr>" + "".join(rows)
                + "</table>")


def explore(grid: GapGrid) -> GapExplorer:
    """Sliders for epsilon and labels per class over the grid's results; redraws the bar chart.

    Returns
    -------
    GapExplorer
        Displays as the live widget, with a static table of the gaps as its saved copy.
    """
    return GapExplorer(grid)


#: Names that moved to :mod:`tlkit.plots`; reading them here warns.
_MOVED = {'plot_gap_heatmap', 'plot_setting'}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        warnings.warn(f"{__name__}.{name} is deprecated; use tlkit.plots.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("tlkit.plots"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
