"""The fixed-budget experiments: every strategy trained with one shared budget.

Each strategy of :mod:`tlkit.experiments.strategies` is given the same target
examples, the same learning rate and the same number of epochs.  That is
simple but not fair: each strategy has its own best learning rate and length,
and a shared budget can starve one arm (a frozen head at 1e-3) or flatter
another.  The course's comparisons use the fair protocol
(:mod:`tlkit.experiments.protocol`) instead; these functions stay for the
first benchmark (``benchmarks/transfer_gain_fixed_budget.py``) and its record.

``"fine_tune"`` spends half the epochs on the head and half fine-tuning, after
recompiling with a 10x smaller learning rate.

:func:`transfer_grid` runs strategies over labels-per-class values and seeds
and returns ``{strategy: {k: [accuracy, ...]}}``, the format
:func:`tlkit.plots.plot_accuracy_vs_labels` draws.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Iterable, Sequence

import numpy as np

from tlkit import data, freezing, heads, models
from tlkit.compiling import compile_classifier
from tlkit.errors import TlkitError, UnknownNameError, describe_name_choice
from tlkit.evaluation import accuracy
from tlkit.experiments.grid import grid_axes, with_progress
from tlkit.experiments.strategies import STRATEGIES, check_strategies, freeze_for

__all__ = ["HEAD_OUTPUT_NAME", "TrainingBudget", "build_target_model", "summarise", "train_on_target", "transfer_grid"]


@dataclasses.dataclass(frozen=True)
class TrainingBudget:
    """How long and how fast every strategy trains on the target examples.

    Attributes
    ----------
    epochs : int
        Total epochs; ``fine_tune`` spends half on the head and half fine-tuning.
    batch_size : int
        Mini-batch size.
    learning_rate : float
        Adam's learning rate; fine-tuning uses ``learning_rate * fine_tune_factor``.
    fine_tune_factor : float
        How much smaller the fine-tuning learning rate is.
    dropout : float
        Dropout before the new head's output layer.
    translation : float
        Data augmentation: during training, shift every image at random by up to
        this fraction of its height and width (``keras.layers.RandomTranslation``;
        0, the default, trains on the images as they are).  Shifts change
        nothing at inference time.
    """

    epochs: int = 80
    batch_size: int = 16
    learning_rate: float = 1e-3
    fine_tune_factor: float = 0.1
    dropout: float = 0.3
    translation: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.translation < 1.0:
            raise TlkitError(f"TrainingBudget: translation must be a fraction in [0, 1), got {self.translation}")


#: Keras name of the old path's output layer (``heads.add_head`` calls it ``"head_output"`` by default).
HEAD_OUTPUT_NAME = "head"


def _shifted_images(translation: float):
    """The augmentation layer put before the base when ``translation`` is set, else None."""
    import keras

    if not translation:
        return None
    # active only while training; "constant" fills the uncovered border with black, like the background
    return keras.layers.RandomTranslation(translation, translation, fill_mode="constant", name="random_shift")


def build_target_model(strategy: str, num_classes: int = 5, weights: str = models.DEFAULT_WEIGHTS, budget: TrainingBudget = TrainingBudget()):
    """Return ``(model, base)`` prepared for ``strategy``, compiled for its first phase.

    The model is :func:`tlkit.heads.add_head` on the base (output layer
    ``"head"``), the same helper the notebooks use.  ``training=False`` keeps
    BatchNormalization in inference mode when the model is called directly
    (``model(x)``, ``predict``); inside ``fit``, Keras 3 overrides it with
    ``training=True``, and what keeps the moving statistics fixed there is
    ``trainable=False`` on the BatchNormalization layers, which every transfer
    strategy keeps (``tests/test_keras_behaviour.py`` measures both).
    """
    if strategy not in STRATEGIES:
        raise UnknownNameError(describe_name_choice("strategy", strategy, STRATEGIES))
    base = models.load_base(include_top=False, weights=None if strategy == "scratch" else weights)
    freeze_for(strategy, base)
    if strategy in ("frozen", "fine_tune"):
        base.trainable = False  # the fixed-budget record froze the base with its own switch
    model = heads.add_head(
        base, num_classes, dropout=budget.dropout, name="target_model", output_name=HEAD_OUTPUT_NAME,
        preprocessing=_shifted_images(budget.translation), keep_dropout_layer=True,
    )
    compile_classifier(model, budget.learning_rate)
    return model, base


def train_on_target(
    strategy: str,
    examples: data.LabelledImages,
    seed: int = 0,
    weights: str = models.DEFAULT_WEIGHTS,
    budget: TrainingBudget = TrainingBudget(),
):
    """Train a target model by ``strategy`` on ``examples``.

    Parameters
    ----------
    strategy : {"scratch", "frozen", "partial", "fine_tune"}
        See :mod:`tlkit.experiments.strategies`.
    examples : LabelledImages
        The labelled target examples (e.g. from :func:`tlkit.data.few_shot`).
    seed : int
        Seeds weight initialisation, dropout and shuffling.
    weights : str
        Which shipped pre-trained weights the transfer strategies start from.
    budget : TrainingBudget
        Epochs, batch size and learning rates, shared by all strategies.

    Returns
    -------
    model : keras.Model
        The trained target model.
    history : dict
        Per-epoch metrics of both phases; ``history["fine_tune_start"]`` is the
        epoch where fine-tuning began (``None`` for one-phase strategies).
    """
    from tlkit.training import set_seed  # imports keras: only when a model trains

    set_seed(seed)
    model, base = build_target_model(strategy, examples.num_classes, weights, budget)
    fit_arguments = dict(x=examples.images, y=examples.labels, batch_size=budget.batch_size, verbose=0)
    if strategy != "fine_tune":
        history = model.fit(epochs=budget.epochs, **fit_arguments).history
        return model, {**history, "fine_tune_start": None}
    head_epochs = budget.epochs // 2
    first = model.fit(epochs=head_epochs, **fit_arguments).history
    freezing.unfreeze(base)  # BatchNormalization stays frozen
    compile_classifier(model, budget.learning_rate * budget.fine_tune_factor)  # recompile: trainable changed
    second = model.fit(epochs=budget.epochs, initial_epoch=head_epochs, **fit_arguments).history
    merged = {key: list(first[key]) + list(second.get(key, [])) for key in first}
    return model, {**merged, "fine_tune_start": head_epochs}

def transfer_grid(
    target: data.Dataset,
    strategies: Sequence[str] = STRATEGIES,
    labels_per_class: Iterable[int] = (5, 10, 50),
    seeds: Iterable[int] = range(5),
    weights: str = models.DEFAULT_WEIGHTS,
    budget: TrainingBudget = TrainingBudget(),
    progress: bool = True,
) -> dict:
    """Test accuracy of every strategy at every ``k`` for every seed.

    The seed chooses both the few-shot sample and the initialisation, so all
    strategies see the same examples for a given ``(k, seed)``.

    Returns
    -------
    dict
        ``{strategy: {k: [accuracy for each seed]}}``.
    """
    check_strategies(strategies, STRATEGIES)
    labels_per_class, seeds = grid_axes("transfer_grid", labels_per_class, seeds)
    runs = [(k, seed, strategy) for k in labels_per_class for seed in seeds for strategy in strategies]
    results = {strategy: {k: [] for k in labels_per_class} for strategy in strategies}
    for k, seed, strategy in with_progress(runs, progress, "training target models", "model"):
        examples = data.few_shot(target.train, k, seed=seed)
        model, _ = train_on_target(strategy, examples, seed=seed, weights=weights, budget=budget)
        results[strategy][k].append(accuracy(model, target.test))
    return results


def summarise(results: dict) -> dict:
    """Mean and standard deviation per strategy and ``k``, plus the transfer gain.

    Returns
    -------
    dict
        ``{k: {"strategies": {strategy: {"mean": .., "std": .., "runs": [..]}},
        "best_transfer": name, "gain_pts": points}}`` where ``gain_pts`` is the
        best transfer strategy's mean minus scratch's mean, in accuracy points.
    """
    summary = {}
    ks = sorted({k for per_k in results.values() for k in per_k})
    for k in ks:
        stats = {
            strategy: {
                "mean": float(np.mean(per_k[k])),
                "std": float(np.std(per_k[k])),
                "runs": [float(value) for value in per_k[k]],
            }
            for strategy, per_k in results.items()
            if k in per_k
        }
        entry = {"strategies": stats}
        transfer = {name: value for name, value in stats.items() if name != "scratch"}
        if "scratch" in stats and transfer:
            best = max(transfer, key=lambda name: transfer[name]["mean"])
            entry["best_transfer"] = best
            entry["gain_pts"] = round(100 * (transfer[best]["mean"] - stats["scratch"]["mean"]), 2)
        summary[k] = entry
    return summary


def __getattr__(name: str):
    if name == "TargetTrainingBudget":
        warnings.warn("tlkit.experiments.TargetTrainingBudget is deprecated; use TrainingBudget, its one name",
                      DeprecationWarning, stacklevel=2)
        return TrainingBudget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
