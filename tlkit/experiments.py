"""Transfer experiments: train a target model by one strategy and measure it.

Four strategies, each given the same target examples and the same number of
training epochs, so their test accuracies can be compared fairly:

``"scratch"``
    The base architecture with fresh random weights plus a new head, all
    trained on the target examples.  The baseline every transfer result must
    beat.
``"frozen"``
    Feature extraction: the whole pre-trained base frozen, only a new head trained.
``"partial"``
    The convolution blocks frozen; the base's Dense ``features`` layer and the
    new head trained.
``"fine_tune"``
    Two phases: train the head on the frozen base, then unfreeze the base
    (BatchNormalization stays frozen), recompile with a 10x smaller learning
    rate and continue for the remaining epochs.

:func:`transfer_grid` runs strategies over labels-per-class values and seeds
and returns ``{strategy: {k: [accuracy, ...]}}``, the format
:func:`tlkit.plots.plot_accuracy_vs_labels` draws.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

from tlkit import data, models
from tlkit.errors import TlkitError, UnknownNameError, describe_name_choice

STRATEGIES = ("scratch", "frozen", "partial", "fine_tune")


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


def _new_head(base, num_classes: int, dropout: float, translation: float = 0.0):
    import keras

    inputs = keras.Input(models.INPUT_SHAPE, name="image")
    images = inputs
    if translation:
        # active only while training; "constant" fills the uncovered border with black, like the background
        images = keras.layers.RandomTranslation(translation, translation, fill_mode="constant", name="random_shift")(inputs)
    # training=False keeps BatchNormalization in inference mode when the model is called directly
    # (model(x), predict). Inside fit, Keras 3 overrides it with training=True; what keeps the
    # moving statistics fixed there is trainable=False on the BatchNormalization layers, which every
    # transfer strategy keeps (see unfreeze_for_fine_tuning); tests/test_keras_behaviour.py measures both.
    features = base(images, training=False)
    features = keras.layers.Dropout(dropout, name="head_dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(features)
    return keras.Model(inputs, outputs, name="target_model")


def _compile(model, learning_rate: float):
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def build_target_model(strategy: str, num_classes: int = 5, weights: str = models.DEFAULT_WEIGHTS, budget: TrainingBudget = TrainingBudget()):
    """Return ``(model, base)`` prepared for ``strategy``, compiled for its first phase."""
    if strategy not in STRATEGIES:
        raise UnknownNameError(describe_name_choice("strategy", strategy, STRATEGIES))
    base = models.load_base(include_top=False, weights=None if strategy == "scratch" else weights)
    if strategy in ("frozen", "fine_tune"):
        base.trainable = False
    elif strategy == "partial":
        for layer in base.layers:
            layer.trainable = layer.name == models.FEATURE_LAYER
    model = _new_head(base, num_classes, budget.dropout, budget.translation)
    _compile(model, budget.learning_rate)
    return model, base


def unfreeze_for_fine_tuning(base) -> None:
    """Unfreeze every layer of ``base`` except BatchNormalization layers."""
    import keras

    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


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
        See the module description.
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
    from tlkit.training import set_seed

    set_seed(seed)
    model, base = build_target_model(strategy, examples.num_classes, weights, budget)
    fit_arguments = dict(x=examples.images, y=examples.labels, batch_size=budget.batch_size, verbose=0)
    if strategy != "fine_tune":
        history = model.fit(epochs=budget.epochs, **fit_arguments).history
        return model, {**history, "fine_tune_start": None}
    head_epochs = budget.epochs // 2
    first = model.fit(epochs=head_epochs, **fit_arguments).history
    unfreeze_for_fine_tuning(base)
    _compile(model, budget.learning_rate * budget.fine_tune_factor)  # recompile: trainable changed
    second = model.fit(epochs=budget.epochs, initial_epoch=head_epochs, **fit_arguments).history
    merged = {key: list(first[key]) + list(second.get(key, [])) for key in first}
    return model, {**merged, "fine_tune_start": head_epochs}


def predict_eagerly(model, inputs: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Outputs of ``model`` in inference mode, batch by batch, without building a predict function.

    A grid builds dozens of small models; calling each one directly avoids tracing a new
    ``predict`` function per model (and TensorFlow's retracing warnings).
    """
    batches = [np.asarray(model(inputs[start : start + batch_size], training=False)) for start in range(0, len(inputs), batch_size)]
    return np.concatenate(batches)


def accuracy(model, split: data.LabelledImages) -> float:
    """Classification accuracy of ``model`` on ``split``, evaluated quietly with :func:`predict_eagerly`."""
    return float(np.mean(np.argmax(predict_eagerly(model, split.images), axis=1) == split.labels))


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
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise UnknownNameError(describe_name_choice("strategy", strategy, STRATEGIES))
    labels_per_class, seeds = list(labels_per_class), list(seeds)
    if not labels_per_class or not seeds:
        raise TlkitError("transfer_grid: give at least one labels-per-class value and one seed")
    runs = [(k, seed, strategy) for k in labels_per_class for seed in seeds for strategy in strategies]
    results = {strategy: {k: [] for k in labels_per_class} for strategy in strategies}
    iterator = runs
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(runs, desc="training target models", unit="model")
    for k, seed, strategy in iterator:
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
