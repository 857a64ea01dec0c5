"""Which layers to transfer: Yosinski, Clune, Bengio and Lipson (2014) at small scale.

The ten Fashion-MNIST classes are split in two halves, task A (classes 0-4)
and task B (classes 5-9).  One network of the same architecture is trained on
each half (``baseA`` and ``baseB``).  Then, for every depth ``n``, a new
network for task B is made by copying the first ``n`` weight layers of a base
and re-initialising the layers above them:

``BnB``   first ``n`` layers from baseB, frozen; the rest trained on B.
``BnB+``  the same, but the copied layers are fine-tuned too.
``AnB``   first ``n`` layers from baseA, frozen; the rest trained on B.
``AnB+``  the same, fine-tuned.

AnB against baseB shows how *specific* to task A the first ``n`` layers are;
BnB shows what is lost by merely cutting a network between co-adapted layers.
As in the paper, the classifier (the last weight layer) is never copied, so
``n`` runs from 1 to ``L``, the number of weight layers below the classifier.

:func:`run_layer_transfer` runs the whole experiment and returns a
:class:`LayerTransferResults`; :func:`tlkit.plots.plot_layer_transfer` draws it beside the
paper's ImageNet numbers (:data:`PAPER`).
"""

from __future__ import annotations

import warnings

import dataclasses
from typing import Callable, Iterable, Sequence

import numpy as np

from tlkit import data, experiments, paths
from tlkit.compiling import compile_classifier
from tlkit.errors import FreezeRangeError, InputShapeError, TlkitError, UnknownNameError, describe_name_choice
from tlkit.evaluation import accuracy

__all__ = [
    "BASE_PROTOCOL", "LAYER_PROTOCOL", "LayerTransferBudget", "LayerTransferError", "LayerTransferResults", "PAPER",
    "RECORDED_RESULTS", "VARIANTS", "build_small_cnn", "expected_shapes", "freezing_advice", "load_recorded",
    "run_layer_transfer", "train",
    "transfer_first_layers", "transferable_layer_count", "weight_layers",
]

#: The four kinds of transferred network, in the paper's notation.
VARIANTS = ("BnB", "BnB+", "AnB", "AnB+")

#: Yosinski et al. (2014), top-1 accuracy on ImageNet half B, recomputed from the authors' logs.
PAPER = {
    "baseB": 0.625,
    "AnB": {1: 0.628, 2: 0.624, 3: 0.619, 4: 0.600, 5: 0.578, 6: 0.581, 7: 0.543},
    "BnB_dip": {5: 0.594},
    "AnB+_range": (0.637, 0.647),
    "transferable_layers": 7,
}


class LayerTransferError(TlkitError, ValueError):
    """The layer-transfer experiment was given settings it cannot run."""


# ---------------------------------------------------------------------------
# The architecture and the copying of layers


def build_small_cnn(num_classes: int = 5, name: str = "small_cnn"):
    """A small, fast network for the experiment: four weight layers below the classifier.

    ``conv1`` (8 filters) - ``conv2`` (16 filters) - pooling - ``dense1`` (64) -
    ``dense2`` (32) - ``predictions`` (softmax).  No BatchNormalization, as in
    the paper's network, so "frozen" simply means "weights do not change".
    Takes raw pixel values (0-255) of shape ``(28, 28, 1)``.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            keras.layers.Rescaling(1.0 / 255.0, name="rescale"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="dense1"),
            keras.layers.Dense(32, activation="relu", name="dense2"),
            keras.layers.Dense(num_classes, activation="softmax", name="predictions"),
        ],
        name=name,
    )


def weight_layers(model) -> list:
    """The layers of ``model`` that hold weights, in order (Conv2D, Dense, ...)."""
    if not hasattr(model, "layers"):
        raise InputShapeError(f"weight_layers: expected a Keras model, got {type(model).__name__}")
    return [layer for layer in model.layers if layer.weights]


def transferable_layer_count(model) -> int:
    """``L``: the number of weight layers below the classifier (which is never copied)."""
    return len(weight_layers(model)) - 1


def _check_depth(model, n) -> int:
    limit = transferable_layer_count(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise FreezeRangeError(f"n must be a whole number of layers from 1 to {limit}, got {n!r}")
    if not 1 <= n <= limit:
        raise FreezeRangeError(
            f"model {model.name!r} has {limit} weight layers below its classifier; n must be from 1 to {limit}, got {n}"
        )
    return int(n)


def transfer_first_layers(source, n: int, fine_tune: bool = False, seed: int = 0):
    """A new network whose first ``n`` weight layers are copies of ``source``'s.

    Parameters
    ----------
    source : keras.Model
        The trained base (``baseA`` or ``baseB``).
    n : int
        How many weight layers to copy, from 1 to :func:`transferable_layer_count`.
    fine_tune : bool, default False
        False freezes the copied layers (AnB, BnB); True leaves them trainable
        (AnB+, BnB+).
    seed : int
        Seeds the fresh initialisation of the layers above ``n``.

    Returns
    -------
    keras.Model
        Same architecture as ``source`` (uncompiled); layers above ``n`` freshly
        initialised.

    Raises
    ------
    FreezeRangeError
        When ``n`` is not between 1 and the number of weight layers below the classifier.
    """
    import keras

    from tlkit.training import set_seed

    n = _check_depth(source, n)
    set_seed(seed)
    target = keras.models.clone_model(source)  # same architecture, fresh weights
    copied = weight_layers(source)[:n]
    for source_layer, target_layer in zip(copied, weight_layers(target)[:n]):
        target_layer.set_weights(source_layer.get_weights())
        target_layer.trainable = bool(fine_tune)
    return target


# ---------------------------------------------------------------------------
# Training


#: The selection budget of every network of the experiment (baseA, baseB and every variant): the
#: fair protocol of :mod:`tlkit.experiments` with this network's sizes. Each network chooses its Adam
#: learning rate and its length (early stopping) on validation images drawn from its task's training pool.
LAYER_PROTOCOL = experiments.FairProtocol(
    learning_rates=(1e-3, 3e-3), augmentation=(False,), max_steps=160, check_every_steps=40, batch_size=32,
    dropout=0.0, fine_tune_head_steps=40, validation_per_class=30, condition="plain",
)
#: The selection budget of baseA and baseB in the notebook's default run: the same rule, twice as long.
BASE_PROTOCOL = dataclasses.replace(LAYER_PROTOCOL, max_steps=320)


@dataclasses.dataclass(frozen=True)
class LayerTransferBudget:
    """How much data every network of the experiment gets, and how it is tuned.

    Attributes
    ----------
    train_per_class : int
        Labelled training images per class of each half.
    test_per_class : int or None
        Test images per class used to measure accuracy (None: all).
    protocol : tlkit.experiments.FairProtocol
        The selection budget of every transferred network and of baseB: learning
        rate from ``protocol.learning_rates`` and length by early stopping, both
        on ``protocol.validation_per_class`` images per class drawn from the
        task's training pool (disjoint from the labelled images).
    base_protocol : tlkit.experiments.FairProtocol or None
        The selection budget of baseA and baseB (default :data:`BASE_PROTOCOL`);
        a base trained from random weights needs longer than a transferred network.
    """

    train_per_class: int = 300
    test_per_class: int | None = 200
    protocol: object = None
    base_protocol: object = None

    def __post_init__(self):
        if self.protocol is None:
            object.__setattr__(self, "protocol", LAYER_PROTOCOL)
        if self.base_protocol is None:
            object.__setattr__(self, "base_protocol", BASE_PROTOCOL)
        for name in ("protocol", "base_protocol"):
            if not isinstance(getattr(self, name), experiments.FairProtocol):
                raise LayerTransferError(f"LayerTransferBudget: {name} must be an experiments.FairProtocol")
        if isinstance(self.train_per_class, bool) or not isinstance(self.train_per_class, (int, np.integer)) or self.train_per_class < 1:
            raise LayerTransferError(f"LayerTransferBudget: train_per_class must be a positive whole number, got {self.train_per_class!r}")


def _limit(split: data.LabelledImages, per_class: int | None, seed: int) -> data.LabelledImages:
    return split if per_class is None else split.take(np.sort(data.few_shot_indices(split.labels, per_class, seed)))


def _compile(model, learning_rate: float):
    # Each network trains for only a few hundred steps, so Keras' per-call cost
    # matters: several batches per call, and no metrics to update (accuracy()
    # measures on the test images afterwards).  The updates are the same.
    compile_classifier(model, learning_rate, metrics=None, steps_per_execution=16)


def train(model, split: data.LabelledImages, epochs: int, learning_rate: float = 3e-3, batch_size: int = 32, seed: int = 0):
    """Compile ``model`` (so its trainable flags take effect) and fit it quietly on ``split`` for ``epochs``.

    For the hand-built example of the notebook; the experiment tunes every
    network on validation data instead (:func:`run_layer_transfer`).
    """
    import keras

    keras.utils.set_random_seed(seed)
    _compile(model, learning_rate)
    model.fit(split.images, split.labels, epochs=epochs, batch_size=batch_size, verbose=0)
    return model


def _tune(build, train_split, validation, seed, protocol, trainers):
    """Tune one network by the fair protocol; return ``(model, choice)``."""
    return experiments.tune_on_arrays(build, train_split.images, train_split.labels, validation.images, validation.labels,
                                      seed, protocol, trainers, steps_per_execution=16)


@dataclasses.dataclass
class LayerTransferResults:
    """Accuracies on task B's test images, per variant, depth and seed.

    Attributes
    ----------
    depths : list of int
        The ``n`` values, 1 to ``L``.
    seeds : list of int
    base_b : list of float
        baseB's accuracy per seed.
    base_a_on_a : list of float
        baseA's accuracy on task A per seed (shows baseA learnt its task).
    runs : dict
        ``{variant: {n: [accuracy per seed]}}``.
    choices : dict
        What each network chose on validation data: ``{"baseA"|"baseB": [choice per seed],
        variant: {n: [choice per seed]}}``, a choice being ``{"learning_rate", "steps"}``.
    """

    depths: list
    seeds: list
    base_b: list
    base_a_on_a: list
    runs: dict
    choices: dict = dataclasses.field(default_factory=dict)

    def mean(self, variant: str, n: int) -> float:
        """Mean accuracy of ``variant`` at depth ``n`` over seeds."""
        if variant not in self.runs:
            raise UnknownNameError(describe_name_choice("variant", variant, list(self.runs)))
        return float(np.mean(self.runs[variant][n]))

    def curve(self, variant: str) -> np.ndarray:
        """Mean accuracy of ``variant`` at every depth, as an array."""
        return np.array([self.mean(variant, n) for n in self.depths])

    @property
    def base_b_mean(self) -> float:
        return float(np.mean(self.base_b))

    def table(self) -> str:
        """A text table of mean accuracies (rows: depth; columns: variants)."""
        variants = [v for v in VARIANTS if v in self.runs]
        lines = ["  n  " + "  ".join(f"{v:>6}" for v in variants)]
        for n in self.depths:
            lines.append(f"{n:>3}  " + "  ".join(f"{self.mean(v, n):6.3f}" for v in variants))
        count = len(self.seeds)
        lines.append(f"baseB {self.base_b_mean:.3f} ({'one seed' if count == 1 else f'mean of {count} seeds'})")
        return "\n".join(lines)

    def to_dict(self, digits: int | None = 4) -> dict:
        """JSON-friendly form (depth keys become strings), accuracies rounded to ``digits`` (None: exact)."""

        def rounded(values):
            return [float(v) if digits is None else round(v, digits) for v in values]

        return {
            "depths": list(self.depths),
            "seeds": list(self.seeds),
            "baseB": rounded(self.base_b),
            "baseA_on_A": rounded(self.base_a_on_a),
            "runs": {v: {str(n): rounded(acc) for n, acc in per_n.items()} for v, per_n in self.runs.items()},
            "choices": {name: (per if name.startswith("base") else {str(n): c for n, c in per.items()})
                        for name, per in self.choices.items()},
        }

    @classmethod
    def from_dict(cls, values: dict) -> "LayerTransferResults":
        runs = {v: {int(n): list(acc) for n, acc in per_n.items()} for v, per_n in values["runs"].items()}
        choices = {name: (list(per) if name.startswith("base") else {int(n): list(c) for n, c in per.items()})
                   for name, per in values.get("choices", {}).items()}
        return cls(list(values["depths"]), list(values["seeds"]), list(values["baseB"]), list(values["baseA_on_A"]), runs, choices)


#: The run ``benchmarks/layer_transfer.py`` recorded: the full Fashion-MNIST files, every network tuned.
RECORDED_RESULTS = paths.BENCHMARK_RESULTS_DIR / "layer_transfer.json"


def load_recorded(path=None) -> tuple[dict, LayerTransferResults]:
    """The report ``benchmarks/layer_transfer.py`` wrote, and its results.

    Parameters
    ----------
    path : path-like, optional
        Default :data:`RECORDED_RESULTS`.

    Returns
    -------
    report : dict
        Command, dataset, budget and protocol of the run.
    results : LayerTransferResults

    Raises
    ------
    MissingFileError, CorruptFileError
        When the file is absent, not JSON, or lacks the benchmark's keys.
    """
    report = experiments.recorded.load_result_file(
        path if path is not None else RECORDED_RESULTS, "layer transfer results", "benchmarks/layer_transfer.py",
        ("command", "dataset", "budget", "protocol", "results"))
    return report, LayerTransferResults.from_dict(report["results"])


def run_layer_transfer(
    dataset: data.Dataset,
    seeds: Iterable[int] = (0, 1, 2),
    depths: Sequence[int] | None = None,
    variants: Sequence[str] = VARIANTS,
    budget: LayerTransferBudget = LayerTransferBudget(),
    build: Callable = build_small_cnn,
    progress: bool = False,
) -> LayerTransferResults:
    """Train baseA and baseB, then every variant at every depth, for every seed.

    Parameters
    ----------
    dataset : Dataset
        All ten Fashion-MNIST classes (``data.load_fashion_mnist(...)``); split
        into task A (0-4) and task B (5-9) here.
    seeds : iterable of int
        Each seed trains its own baseA/baseB pair and draws its own training images.
    depths : sequence of int, optional
        Values of ``n``; default 1 to ``L``.
    variants : sequence of str
        A subset of :data:`VARIANTS`.
    budget : LayerTransferBudget
    build : callable
        ``build(num_classes) -> keras.Model``, the architecture of both bases.
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    LayerTransferResults
    """
    seeds = list(seeds)
    if not seeds:
        raise LayerTransferError("run_layer_transfer: give at least one seed")
    for variant in variants:
        if variant not in VARIANTS:
            raise UnknownNameError(describe_name_choice("variant", variant, VARIANTS))
    task_a, task_b = data.source_task(dataset), data.target_task(dataset)
    probe = build(task_b.train.num_classes)
    limit = transferable_layer_count(probe)
    depths = list(range(1, limit + 1)) if depths is None else [_check_depth(probe, n) for n in depths]
    test_a = _limit(task_a.test, budget.test_per_class, seed=0)
    test_b = _limit(task_b.test, budget.test_per_class, seed=0)

    jobs = [(seed, variant, n) for seed in seeds for variant in variants for n in depths]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs) + 2 * len(seeds), desc="tuning networks", unit="model")
    runs = {variant: {n: [] for n in depths} for variant in variants}
    choices = {"baseA": [], "baseB": [], **{variant: {n: [] for n in depths} for variant in variants}}
    base_b_accuracy, base_a_accuracy = [], []
    # one compiled trainer per freezing pattern and learning rate: Keras traces a handful of training functions
    trainers = {}
    for seed in seeds:
        splits = {}
        for half, task in (("A", task_a), ("B", task_b)):
            # the labelled images and a disjoint validation split, both from the half's training pool
            splits[half] = experiments.few_shot_with_validation(task.train, budget.train_per_class, seed,
                                                                budget.protocol.validation_per_class)[:2]
        bases = {}
        for half in ("A", "B"):
            train_split, validation = splits[half]
            bases[half], choice = _tune(lambda: build(train_split.num_classes), train_split, validation, seed,
                                        budget.base_protocol, trainers)
            choices[f"base{half}"].append(_public_choice(choice))
            if bar is not None:
                bar.update()
        base_a_accuracy.append(accuracy(bases["A"], test_a))
        base_b_accuracy.append(accuracy(bases["B"], test_b))
        train_b, validation_b = splits["B"]
        for variant in variants:
            for n in depths:
                source = bases[variant[0]]
                network, choice = _tune(
                    lambda: transfer_first_layers(source, n, fine_tune=variant.endswith("+"), seed=seed + 1000 * n),
                    train_b, validation_b, seed, budget.protocol, trainers,
                )
                runs[variant][n].append(accuracy(network, test_b))
                choices[variant][n].append(_public_choice(choice))
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    return LayerTransferResults(depths, seeds, base_b_accuracy, base_a_accuracy, runs, choices)


def _public_choice(choice: dict) -> dict:
    return {"learning_rate": float(choice["learning_rate"]), "steps": int(choice["steps"])}


# ---------------------------------------------------------------------------
# Reading the results


def expected_shapes(results: LayerTransferResults, tolerance: float = 0.005) -> dict:
    """Check the paper's qualitative findings on our numbers; each entry is a bool.

    ``anb_falls_with_depth``: AnB at the deepest n is below AnB at n = 1.
    ``anb_plus_at_or_above_base_b``: AnB+ within ``tolerance`` of baseB or above, at every n.
    ``bnb_dips_in_the_middle``: some middle n has BnB below both ends by more than ``tolerance``.
    """
    shapes = {}
    if "AnB" in results.runs:
        curve = results.curve("AnB")
        shapes["anb_falls_with_depth"] = bool(curve[-1] < curve[0])
    if "AnB+" in results.runs:
        shapes["anb_plus_at_or_above_base_b"] = bool(np.all(results.curve("AnB+") >= results.base_b_mean - tolerance))
    if "BnB" in results.runs and len(results.depths) >= 3:
        curve = results.curve("BnB")
        middle = curve[1:-1]
        shapes["bnb_dips_in_the_middle"] = bool(middle.min() < min(curve[0], curve[-1]) - tolerance)
    return shapes


def freezing_advice(results: LayerTransferResults, tolerance: float = 0.005) -> dict:
    """The deepest frozen depth that costs less than ``tolerance`` against baseB, and the best fine-tuned depth.

    Returns
    -------
    dict
        ``{"deepest_safe_frozen_n": int or 0, "best_fine_tuned_n": int, "best_fine_tuned_gain": float}``
        where the gain is AnB+ minus baseB, in accuracy (fraction).
    """
    safe = [n for n in results.depths if results.mean("AnB", n) >= results.base_b_mean - tolerance]
    deepest = 0
    for n in results.depths:  # the prefix of depths that stay safe
        if n in safe:
            deepest = n
        else:
            break
    plus = results.curve("AnB+")
    best = int(np.argmax(plus))
    return {
        "deepest_safe_frozen_n": deepest,
        "best_fine_tuned_n": int(results.depths[best]),
        "best_fine_tuned_gain": float(plus[best] - results.base_b_mean),
    }


#: Names that moved to :mod:`tlkit.plots`; reading them here warns.
_MOVED = {'plot_layer_transfer'}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        warnings.warn(f"{__name__}.{name} is deprecated; use tlkit.plots.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("tlkit.plots"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
