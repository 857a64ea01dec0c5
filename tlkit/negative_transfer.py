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
  (:func:`run_gap_grid`), with a scratch baseline on validation *and* test data;
* draws the grid as a heatmap and as an interactive slider view.

Transfer strategies are those of :mod:`tlkit.experiments`.  ``"frozen"`` and
``"partial"`` are trained on cached outputs of the frozen layers (computed once
per base), which gives the same models as training end to end, much faster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Iterable, Mapping, Sequence

import numpy as np

from tlkit import data, experiments, models
from tlkit.compiling import compile_classifier
from tlkit.errors import FewShotError, TlkitError, UnknownNameError, describe_name_choice
from tlkit.evaluation import accuracy, accuracy_of_outputs, predict_eagerly

#: Source corruption rate epsilon -> shipped weights name of the base pre-trained with it.
CORRUPTED_SOURCES = {
    0.0: "fashion_source",
    0.5: "fashion_source_shuffled_50",
    1.0: "fashion_source_shuffled_100",
}

#: Strategies this module can measure (``scratch`` is always run as the baseline).
TRANSFER_STRATEGIES = ("frozen", "partial", "fine_tune")
CACHED_STRATEGIES = ("frozen", "partial")


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
        if self.low > VERDICT_MARGIN:
            return "negative transfer"
        if self.high < -VERDICT_MARGIN:
            return "positive transfer"
        if self.low < -VERDICT_MARGIN and self.high > VERDICT_MARGIN:
            return "no clear difference"
        return "too close to call"

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
    import scipy.stats

    if not 0 < confidence < 1:
        raise NegativeTransferError(f"gap_with_interval: confidence must be between 0 and 1, got {confidence}")
    differences = np.atleast_1d(negative_transfer_gap(errors_with_source, errors_without_source))
    if differences.size < 2:
        raise NegativeTransferError(
            f"gap_with_interval: a confidence interval needs at least 2 seeds, got {differences.size}"
        )
    mean = float(differences.mean())
    standard_error = float(differences.std(ddof=1) / np.sqrt(differences.size))
    half_width = float(scipy.stats.t.ppf(0.5 + confidence / 2, df=differences.size - 1) * standard_error)
    return GapEstimate(mean, mean - half_width, mean + half_width, confidence, tuple(float(d) for d in differences))


# ---------------------------------------------------------------------------
# Sampling


def few_shot_indices(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of ``k`` examples of every label, drawn by :func:`tlkit.data.few_shot_indices`."""
    try:
        return data.few_shot_indices(labels, k, seed)
    except data.ClassTooSmallError as error:
        raise NegativeTransferError(f"class {error.label} has only {error.available} examples, fewer than k = {k}") from None
    except FewShotError:
        raise NegativeTransferError(f"labels per class must be a positive integer, got {k!r}") from None


def split_validation(split: data.LabelledImages, per_class: int, seed: int = 0):
    """Set aside ``per_class`` images of every class for validation.

    Returns
    -------
    pool, validation : LabelledImages
        Disjoint: few-shot training samples are drawn from ``pool``.
    """
    held_out = few_shot_indices(split.labels, per_class, seed)
    keep = np.setdiff1d(np.arange(len(split)), held_out)
    return split.take(keep), split.take(np.sort(held_out))


# ---------------------------------------------------------------------------
# Training the strategies


def _load_full_base(weights):
    return models.load_base(include_top=True, weights=weights)


class _CachedBase:
    """The frozen convolutions' outputs (and the source Dense layer) of one base."""

    def __init__(self, weights):
        import keras

        model = _load_full_base(weights)
        self.convolutions = keras.Model(model.inputs[0], model.get_layer("flatten").output)
        self.dense_weights = model.get_layer(models.FEATURE_LAYER).get_weights()
        self._cache = {}

    def conv_features(self, name: str, images: np.ndarray) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = predict_eagerly(self.convolutions, images, batch_size=500)
        return self._cache[name]

    def dense_features(self, conv_features: np.ndarray) -> np.ndarray:
        kernel, bias = self.dense_weights
        return np.maximum(conv_features @ kernel + bias, 0.0).astype("float32")


def _train_cached_head(strategy, cached: _CachedBase, features, labels, num_classes, seed, budget, trainers):
    import keras

    from tlkit.training import set_seed

    set_seed(seed, deterministic=False)
    inputs = keras.Input(features.shape[1:])
    x = inputs
    if strategy == "partial":
        dense = keras.layers.Dense(cached.dense_weights[0].shape[1], activation="relu", name=models.FEATURE_LAYER)
        x = dense(x)
        dense.set_weights(cached.dense_weights)
    x = keras.layers.Dropout(budget.dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    head = keras.Model(inputs, outputs)
    return trainers.fit(head, features, labels, budget.epochs, budget.batch_size, seed, one_pass=True)


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
    """

    corruptions: list
    labels_per_class: list
    seeds: list
    scratch: dict
    transfer: dict

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

        return {
            "corruptions": self.corruptions,
            "labels_per_class": self.labels_per_class,
            "seeds": self.seeds,
            "scratch": {split: by_k(per_k) for split, per_k in self.scratch.items()},
            "transfer": {
                split: {s: {str(e): by_k(per_k) for e, per_k in per_e.items()} for s, per_e in per_s.items()}
                for split, per_s in self.transfer.items()
            },
        }

    @classmethod
    def from_dict(cls, values: dict) -> "GapGrid":
        def by_k(per_k):
            return {int(k): list(v) for k, v in per_k.items()}

        return cls(
            list(values["corruptions"]),
            list(values["labels_per_class"]),
            list(values["seeds"]),
            {split: by_k(per_k) for split, per_k in values["scratch"].items()},
            {
                split: {s: {float(e): by_k(per_k) for e, per_k in per_e.items()} for s, per_e in per_s.items()}
                for split, per_s in values["transfer"].items()
            },
        )


@_quiet_tensorflow_warnings()
def run_gap_grid(
    target: data.Dataset,
    sources: Mapping[float, str],
    labels_per_class: Sequence[int] = (5, 20, 50),
    seeds: Iterable[int] = (0, 1, 2),
    strategies: Sequence[str] = CACHED_STRATEGIES,
    only_at: Mapping[str, Sequence[int]] | None = None,
    budget: experiments.TargetTrainingBudget = experiments.TargetTrainingBudget(epochs=30, batch_size=16),
    validation_per_class: int = 50,
    test_per_class: int | None = None,
    baseline: GapGrid | None = None,
    progress: bool = False,
) -> GapGrid:
    """Measure every strategy against scratch over corruption rates, labels per class and seeds.

    Parameters
    ----------
    target : Dataset
        The target task (``data.target_task(...)``).
    sources : mapping
        ``{epsilon: weights}``, a shipped weights name or a ``.keras`` path per
        corruption rate, e.g. :data:`CORRUPTED_SOURCES`.
    labels_per_class : sequence of int
    seeds : iterable of int
        A seed fixes the target examples drawn and the initialisation; all
        strategies share them, so gaps are paired per seed.
    strategies : sequence of str
        Among :data:`TRANSFER_STRATEGIES`; scratch always runs.
    only_at : mapping, optional
        ``{strategy: [k, ...]}`` to run a slow strategy (``"fine_tune"``) at a few ``k`` only.
    budget : TargetTrainingBudget
        Shared by every strategy (the same algorithm with and without the source).
    validation_per_class : int
        Images per class set aside from the training split for validation.
    test_per_class : int, optional
        Test images per class (default: all).
    baseline : GapGrid, optional
        A grid run earlier with the same seeds, ``validation_per_class`` and
        ``test_per_class``: its scratch accuracies are reused instead of
        training scratch models again (the samples are the same, so gaps stay paired).
    progress : bool
        Show a progress bar.

    Returns
    -------
    GapGrid
    """
    from tlkit.training import CompiledTrainers

    experiments.check_strategies(strategies, TRANSFER_STRATEGIES)
    labels_per_class, seeds = [int(k) for k in labels_per_class], list(seeds)
    corruptions = sorted(float(e) for e in sources)
    _check_grid_settings(labels_per_class, seeds, corruptions, budget)
    samples = _GridSamples(target, labels_per_class, seeds, validation_per_class, test_per_class)
    runs_at = _RunsAt(labels_per_class, only_at)
    total = len(samples.indices) * ((baseline is None) + sum(len(runs_at(s)) for s in strategies) * len(corruptions) / len(labels_per_class))
    bar = _progress_bar(total) if progress else None

    def tick():
        if bar is not None:
            bar.update()

    if baseline is None:
        scratch = _train_scratch(samples, budget, tick)
    else:
        scratch = _scratch_from_baseline(baseline, samples)
    transfer = {
        split: {s: {e: {k: [] for k in runs_at(s)} for e in corruptions} for s in strategies} for split in samples.evaluation
    }
    # the heads of a strategy all have the same shape: compile each shape once
    trainers = CompiledTrainers(lambda head: compile_classifier(head, budget.learning_rate, metrics=None))
    for epsilon in corruptions:
        _train_transfer_at(epsilon, sources[epsilon], strategies, runs_at, samples, budget, trainers, transfer, tick)
    if bar is not None:
        bar.close()
    return GapGrid(corruptions, labels_per_class, seeds, scratch, transfer)


def _check_grid_settings(labels_per_class, seeds, corruptions, budget) -> None:
    if len(seeds) < 2:
        raise NegativeTransferError("run_gap_grid: use at least 2 seeds, so the gap gets a confidence interval")
    if budget.translation:
        raise NegativeTransferError(
            "run_gap_grid: budget.translation must be 0 - the frozen strategies train heads on cached "
            "features, which cannot be shifted, so shifted scratch models would not be the same algorithm"
        )
    if not labels_per_class or not corruptions:
        raise NegativeTransferError("run_gap_grid: give at least one labels-per-class value and one source")


class _GridSamples:
    """The images a gap grid trains and measures on, drawn once and shared by every strategy.

    Attributes
    ----------
    pool : LabelledImages
        The target training split without the validation images.
    evaluation : dict
        ``{"validation": LabelledImages, "test": LabelledImages}``.
    indices : dict
        ``{(k, seed): positions in pool}`` of the labelled examples.
    used : numpy.ndarray
        Every position of ``pool`` some sample uses, ascending; ``row_of`` maps a position to its row.
    """

    def __init__(self, target, labels_per_class, seeds, validation_per_class, test_per_class):
        self.labels_per_class, self.seeds = labels_per_class, seeds
        self.num_classes = target.train.num_classes
        self.pool, validation = split_validation(target.train, validation_per_class, seed=0)
        test = target.test if test_per_class is None else target.test.take(few_shot_indices(target.test.labels, test_per_class, 0))
        self.indices = {(k, seed): few_shot_indices(self.pool.labels, k, seed) for k in labels_per_class for seed in seeds}
        self.used = np.unique(np.concatenate(list(self.indices.values())))
        self.row_of = {index: row for row, index in enumerate(self.used)}
        self.evaluation = {"validation": validation, "test": test}


class _RunsAt:
    """The labels-per-class values a strategy runs at (all, unless ``only_at`` names a few)."""

    def __init__(self, labels_per_class, only_at):
        self.labels_per_class, self.only_at = labels_per_class, dict(only_at or {})

    def __call__(self, strategy) -> list:
        return [k for k in self.labels_per_class if strategy not in self.only_at or k in self.only_at[strategy]]


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=int(round(total)), desc="training target models", unit="model")


def _train_scratch(samples: _GridSamples, budget, tick) -> dict:
    """``{split: {k: [accuracy per seed]}}`` of scratch models trained on every sample."""
    scratch = {split: {k: [] for k in samples.labels_per_class} for split in samples.evaluation}
    for k in samples.labels_per_class:
        for seed in samples.seeds:
            examples = samples.pool.take(samples.indices[(k, seed)])
            model, _ = experiments.train_on_target("scratch", examples, seed=seed, budget=budget)
            for split, images in samples.evaluation.items():
                scratch[split][k].append(accuracy(model, images))
            tick()
    return scratch


def _scratch_from_baseline(baseline: GapGrid, samples: _GridSamples) -> dict:
    """The scratch accuracies of an earlier grid with the same seeds and samples."""
    labels_per_class, seeds = samples.labels_per_class, samples.seeds
    missing = [k for k in labels_per_class if k not in baseline.scratch["test"]]
    if missing or list(baseline.seeds) != seeds:
        raise NegativeTransferError(
            f"run_gap_grid: the baseline grid has seeds {baseline.seeds} and k {sorted(baseline.scratch['test'])}; "
            f"this run needs seeds {seeds} and k {labels_per_class}"
        )
    return {split: {k: list(baseline.scratch[split][k]) for k in labels_per_class} for split in samples.evaluation}


def _train_transfer_at(epsilon, weights, strategies, runs_at, samples: _GridSamples, budget, trainers, transfer, tick) -> None:
    """Train every strategy from the source with corruption ``epsilon``; append accuracies to ``transfer``."""
    cached = _CachedBase(weights) if any(s in CACHED_STRATEGIES for s in strategies) else None
    if cached is not None:
        pool_features = cached.conv_features("pool", samples.pool.images[samples.used])
        split_features = {split: cached.conv_features(split, images.images) for split, images in samples.evaluation.items()}
    for strategy in strategies:
        for k in runs_at(strategy):
            for seed in samples.seeds:
                indices = samples.indices[(k, seed)]
                if strategy in CACHED_STRATEGIES:
                    features = pool_features[[samples.row_of[i] for i in indices]]
                    # partial trains the Dense layer on the conv outputs; frozen uses that layer's outputs
                    prepare = (lambda x: x) if strategy == "partial" else cached.dense_features
                    head = _train_cached_head(
                        strategy, cached, prepare(features), samples.pool.labels[indices], samples.num_classes, seed, budget,
                        trainers,
                    )
                    for split, images in samples.evaluation.items():
                        probabilities = predict_eagerly(head, prepare(split_features[split]))
                        transfer[split][strategy][epsilon][k].append(accuracy_of_outputs(probabilities, images.labels))
                else:
                    model, _ = experiments.train_on_target(strategy, samples.pool.take(indices), seed=seed, weights=weights, budget=budget)
                    for split, images in samples.evaluation.items():
                        transfer[split][strategy][epsilon][k].append(accuracy(model, images))
                tick()


def expected_shapes(grid: GapGrid, strategy: str = "frozen", k: int = 50) -> dict:
    """The shapes Wang et al. predict, checked on ``grid`` (each value a bool).

    ``gap_positive_at_full_corruption``: mean NTG > 0 at the largest epsilon and ``k``.
    ``gap_rises_with_corruption``: at ``k``, the mean NTG never falls as epsilon grows.
    ``gap_rises_with_labels``: at the largest epsilon, the mean NTG at the largest k
    is above the one at the smallest k.
    """
    table = grid.gap_table(strategy)
    column = grid.labels_per_class.index(k)
    return {
        "gap_positive_at_full_corruption": bool(table[-1, column] > 0),
        "gap_rises_with_corruption": bool(np.all(np.diff(table[:, column]) > 0)),
        "gap_rises_with_labels": bool(table[-1, -1] > table[-1, 0]),
    }


# ---------------------------------------------------------------------------
# Pictures


def plot_gap_heatmap(grid: GapGrid, strategies: Sequence[str] = ("frozen", "partial"), show: bool = False):
    """One heatmap per strategy: mean NTG (red = negative transfer) with its CI half-width.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from tlkit.plots import new_figure

    strategies = [s for s in strategies if s in grid.strategies]
    figure = new_figure(figsize=(4.6 * len(strategies), 3.6))
    axes = np.atleast_1d(figure.subplots(1, len(strategies)))
    tables = [grid.gap_table(s) for s in strategies]
    limit = max(0.05, float(np.nanmax(np.abs(np.concatenate([t.ravel() for t in tables])))))
    for axis, strategy, table in zip(axes, strategies, tables):
        image = axis.imshow(table, cmap="RdBu_r", vmin=-limit, vmax=limit, origin="lower", aspect="auto")
        for row, epsilon in enumerate(grid.corruptions):
            for column, k in enumerate(grid.labels_per_class):
                if np.isnan(table[row, column]):
                    continue
                estimate = grid.gap(strategy, epsilon, k)
                # white text on the dark ends of the colour map, black on the pale middle
                darkness = abs(table[row, column]) / limit
                axis.text(column, row, f"{estimate.mean:+.3f}\n±{estimate.high - estimate.mean:.3f}",
                          ha="center", va="center", fontsize=8,
                          color="white" if darkness > 0.55 else "black")
        axis.set_xticks(range(len(grid.labels_per_class)), [str(k) for k in grid.labels_per_class])
        axis.set_yticks(range(len(grid.corruptions)), [f"{e:g}" for e in grid.corruptions])
        axis.set(xlabel="labels per target class, k", ylabel="source labels shuffled, ε",
                 title=f"NTG, strategy '{strategy}'")
    figure.colorbar(image, ax=list(axes), label="NTG (> 0: negative transfer)")
    if show:
        from IPython.display import display

        display(figure)
    return figure


def plot_setting(grid: GapGrid, epsilon: float, k: int, show: bool = False):
    """Bar chart of test accuracy (mean and seeds) for scratch and each strategy at one setting."""
    from tlkit.plots import new_figure

    names = ["scratch"] + [s for s in grid.strategies if k in grid.transfer["test"][s].get(epsilon, {})]
    figure = new_figure(figsize=(6, 3.4))
    axis = figure.subplots()
    for position, name in enumerate(names):
        values = grid.accuracies(name, epsilon, k)
        axis.bar(position, np.mean(values), color="#7f7f7f" if name == "scratch" else "#1f77b4", alpha=0.7)
        axis.plot([position] * len(values), values, "k.", markersize=6)
        if name != "scratch":
            gap = grid.gap(name, epsilon, k)
            axis.text(position, np.mean(values) + 0.02, f"NTG {gap.mean:+.3f}", ha="center", fontsize=8)
    axis.set_xticks(range(len(names)), names)
    axis.set(ylim=(0, 1.05), ylabel="target test accuracy", title=f"ε = {epsilon:g}, k = {k} labels per class")
    if show:
        from IPython.display import display

        display(figure)
    return figure


def explore(grid: GapGrid):
    """Sliders for epsilon and labels per class over the grid's results; redraws the bar chart.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets
    from IPython.display import display

    corruption = ipywidgets.SelectionSlider(options=grid.corruptions, value=grid.corruptions[-1], description="ε")
    labels = ipywidgets.SelectionSlider(
        options=grid.labels_per_class, value=grid.labels_per_class[-1], description="k per class"
    )
    output = ipywidgets.Output()

    def redraw(_=None):
        output.clear_output(wait=True)
        with output:
            display(plot_setting(grid, corruption.value, labels.value))
            for strategy in grid.strategies:
                if labels.value in grid.transfer["test"][strategy].get(corruption.value, {}):
                    print(f"{strategy:>9}: {grid.gap(strategy, corruption.value, labels.value)}")

    corruption.observe(redraw, names="value")
    labels.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([ipywidgets.HBox([corruption, labels]), output])
