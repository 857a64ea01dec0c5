"""The fair protocol: every strategy, scratch included, tuned with the same selection budget.

Each strategy has its own best learning rate and training length, so a budget
shared by all of them (:mod:`tlkit.experiments.fixed_budget`) can starve one
arm or flatter another.  The fair protocol tunes every arm with the same
selection budget (:class:`FairProtocol`) on a validation split drawn from the
target *training pool* (:func:`tlkit.experiments.validation.few_shot_with_validation`);
the test split is read only after every choice is made.

:func:`fair_comparison` runs it over labels-per-class values and seeds,
:func:`fair_summary` turns the runs into paired gains over scratch
(:func:`tlkit.experiments.statistics.paired_interval`), and
:func:`tune_on_arrays` applies the same selection rule to models trained on
plain arrays (cached features, small networks).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

from tlkit import data, freezing, heads, models, variation
from tlkit.compiling import compile_classifier
from tlkit.errors import TlkitError, UnknownNameError, describe_name_choice
from tlkit.evaluation import accuracy, accuracy_of_outputs, predict_eagerly
from tlkit.experiments.grid import grid_axes, with_progress
from tlkit.experiments.statistics import paired_interval
from tlkit.experiments.strategies import FAIR_STRATEGIES, RANDOM_WEIGHT_STRATEGIES, TRANSFER_STRATEGIES, check_strategies, freeze_for
from tlkit.experiments.validation import few_shot_with_validation
from tlkit.keras_internals import learning_rate_variable
from tlkit.model_structure import nested_layers

__all__ = [
    "CURVE_EVERY", "FairProtocol", "TEST_CONDITIONS", "best_transfer_by_validation", "build_fair_model", "fair_comparison",
    "fair_summary", "in_condition", "tune_on_arrays", "tune_strategy",
]

#: Test conditions: the plain centred test split, and a fixed varied copy of it (tlkit.variation).
TEST_CONDITIONS = ("customer_photos", "plain")
#: Accuracy-against-steps curves are measured on every CURVE_EVERY-th test image (the final figures on all).
CURVE_EVERY = 5


@dataclasses.dataclass(frozen=True)
class FairProtocol:
    """The selection budget every strategy of :func:`fair_comparison` gets, scratch included.

    Training length is counted in **optimizer steps**, not epochs: with 25
    labelled images and mini-batches of 16, an epoch is only 2 steps, so a cap
    in epochs starves whichever strategy learns slowest (usually scratch).  For
    every strategy and seed, every combination of ``learning_rates`` and
    ``augmentation`` is trained for ``max_steps``; the model is checked on the
    validation split every ``check_every_steps`` steps (rounded to whole
    epochs), and the combination *and* the checkpoint with the best validation
    accuracy are kept (early stopping on validation).  Ties go to the earlier
    entry (smaller learning rate, no augmentation, fewer steps).

    Attributes
    ----------
    learning_rates : tuple of float
        Adam learning rates to choose from.
    augmentation : tuple of bool
        Whether training may vary the images (a fresh :func:`tlkit.variation.vary`
        every epoch, the same pictures for every strategy of a seed);
        ``(False, True)`` lets every strategy choose.
    max_steps, check_every_steps : int
        Longest training in optimizer steps, and how often the validation split
        is checked.
    batch_size : int
        Mini-batch size.
    dropout : float
        Dropout before the new head's output layer (``heads.add_head``).
    fine_tune_head_steps : int
        ``"fine_tune"`` trains the head on the frozen base this long, then
        unfreezes the base (``freezing.unfreeze``, BatchNormalization stays
        frozen) at ``learning rate * fine_tune_factor`` up to ``max_steps``;
        checkpoints of both phases are candidates.
    fine_tune_factor : float
        How much smaller the fine-tuning learning rate is.
    validation_per_class : int
        Size of the validation split, drawn from the target training pool,
        disjoint from the labelled examples.
    condition : {"customer_photos", "plain"}
        The test condition the model is meant for; the validation images are
        put in the same condition (their own fixed variation, never the test's).
    """

    learning_rates: tuple = (1e-3, 3e-3, 1e-2)
    augmentation: tuple = (False, True)
    max_steps: int = 1600
    check_every_steps: int = 100
    batch_size: int = 16
    dropout: float = 0.3
    fine_tune_head_steps: int = 200
    fine_tune_factor: float = 0.1
    validation_per_class: int = 50
    condition: str = "customer_photos"

    def __post_init__(self):
        if not self.learning_rates or not self.augmentation:
            raise TlkitError("FairProtocol: give at least one learning rate and one augmentation choice")
        if self.check_every_steps < 1 or self.max_steps < self.check_every_steps or self.max_steps % self.check_every_steps:
            raise TlkitError("FairProtocol: max_steps must be a positive multiple of check_every_steps")
        if not 0 < self.fine_tune_head_steps < self.max_steps or self.fine_tune_head_steps % self.check_every_steps:
            raise TlkitError("FairProtocol: fine_tune_head_steps must be a multiple of check_every_steps below max_steps")
        if self.condition not in TEST_CONDITIONS:
            raise UnknownNameError(describe_name_choice("condition", self.condition, TEST_CONDITIONS))
        if self.validation_per_class < 1:
            raise TlkitError("FairProtocol: validation_per_class must be at least 1")

    @classmethod
    def from_settings(cls, settings: dict) -> "FairProtocol":
        """The protocol a result file recorded as its fields (JSON turned the tuples into lists).

        >>> FairProtocol.from_settings({"learning_rates": [1e-3], "max_steps": 400}).learning_rates
        (0.001,)
        """
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()})

    def epochs_per_check(self, num_examples: int) -> int:
        """Whole epochs between two validation checks for ``num_examples`` labelled images (at least 1).

        The epochs of one check are trained as one stream of mini-batches, so
        ``check_every_steps`` steps hold ``check_every_steps * batch_size`` images.

        >>> FairProtocol().epochs_per_check(25), FairProtocol().epochs_per_check(50)
        (64, 32)
        """
        return max(1, round(self.check_every_steps * self.batch_size / int(num_examples)))

    def last_check_steps(self, num_examples: int) -> int:
        """Optimizer steps at the last validation check of a run on ``num_examples`` labelled images.

        A run whose chosen checkpoint is this one stopped at the end of its budget:
        it may have been cut short (starved), and a longer budget could change it.

        >>> FairProtocol(max_steps=2400).last_check_steps(15), FairProtocol(max_steps=2400).last_check_steps(30)
        (2424, 2400)
        """
        per_check = self.epochs_per_check(num_examples) * int(num_examples)
        return self.checks * -(-per_check // self.batch_size)

    @property
    def checks(self) -> int:
        """How many validation checks one run makes."""
        return self.max_steps // self.check_every_steps

    def describe(self) -> str:
        """One paragraph saying how the hyperparameters are chosen (written into result files)."""
        return (
            f"Every strategy, scratch included, gets the same selection budget: Adam learning rate from "
            f"{list(self.learning_rates)}, augmentation {list(self.augmentation)} (a fresh random variation of the "
            f"labelled images every epoch, tlkit.variation), and training length by early stopping: up to "
            f"{self.max_steps} optimizer steps (batches of {self.batch_size}), checked every {self.check_every_steps} "
            f"steps rounded to whole epochs (fine_tune: {self.fine_tune_head_steps} head steps, then the base "
            f"unfrozen at lr x {self.fine_tune_factor}). The combination and checkpoint with the best accuracy on a "
            f"validation split of {self.validation_per_class} images per class, drawn from the target training pool "
            f"(disjoint from the labelled examples) and shown in the '{self.condition}' condition with its own "
            f"seed, are kept; the test split is read only afterwards. 'transfer' is the pre-trained strategy "
            f"(frozen, partial, fine_tune) with the best validation accuracy on that seed; gains are paired "
            f"differences on the same seed and examples with a 95% t-interval over seeds."
        )


def in_condition(split: data.LabelledImages, condition: str, seed: int) -> data.LabelledImages:
    """``split`` as it looks in ``condition``: as is (``"plain"``) or as fixed customer photos (``seed``)."""
    if condition not in TEST_CONDITIONS:
        raise UnknownNameError(describe_name_choice("condition", condition, TEST_CONDITIONS))
    return split if condition == "plain" else variation.customer_photos(split, seed=seed)


def build_fair_model(strategy: str, num_classes: int, weights=models.DEFAULT_WEIGHTS, dropout: float = 0.3):
    """Return ``(model, base)`` for a fair-protocol strategy, built with the public helpers students use.

    ``heads.add_head`` puts the head on the base; ``freezing.freeze`` /
    ``freezing.unfreeze`` choose what trains.  ``"scratch"`` and
    ``"random_partial"`` start from random weights, the others from ``weights``.
    Not compiled.  The pre-trained weights are loaded once per process; the
    first load draws from the global random generators, so call it once
    before :func:`tlkit.training.set_seed` when runs must repeat exactly
    (:func:`tune_strategy` does).
    """
    check_strategies([strategy], FAIR_STRATEGIES)
    base = models.load_base(include_top=False, weights=None)
    if strategy not in RANDOM_WEIGHT_STRATEGIES:
        base.set_weights(_pretrained_weights(weights))
    freeze_for(strategy, base)
    model = heads.add_head(base, num_classes, dropout=dropout, name="target_model")
    return model, base


_PRETRAINED = {}


def _pretrained_weights(weights) -> list:
    """The feature extractor's weights from ``models.load_base(weights=weights)``, loaded (and checked) once per process."""
    key = str(weights)
    if key not in _PRETRAINED:
        _PRETRAINED[key] = models.load_base(include_top=False, weights=weights).get_weights()
    return _PRETRAINED[key]


class _Trainers:
    """One compiled trainer per trainable pattern (nested layers included), reused across runs.

    Like :class:`tlkit.training.CompiledTrainers`, but the pattern looks inside
    the nested base, where the strategies differ.
    """

    def __init__(self):
        self._trainers = {}

    def get(self, model, learning_rate: float):
        import keras

        layers = list(nested_layers(model))
        pattern = tuple((layer.name, type(layer).__name__, layer.trainable, tuple(tuple(w.shape) for w in layer.weights)) for layer in layers)
        trainer = self._trainers.get(pattern)
        if trainer is None:
            trainer = keras.models.clone_model(model)
            for source, copy in zip(layers, nested_layers(trainer)):
                copy.trainable = source.trainable
            compile_classifier(trainer, learning_rate)
            self._trainers[pattern] = trainer
        elif trainer.optimizer.built:
            for variable in trainer.optimizer.variables:
                if variable is not learning_rate_variable(trainer.optimizer):
                    variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        trainer.optimizer.learning_rate.assign(learning_rate)
        for target, source in zip(trainer.variables, model.variables):
            target.assign(source)
        return trainer


def _epoch_images(examples: data.LabelledImages, augment: bool, seed: int, epochs: range):
    """Shuffled passes over the examples (varied afresh each epoch when ``augment``), end to end."""
    images, labels = [], []
    for epoch in epochs:
        order = np.random.default_rng([seed, epoch]).permutation(len(examples))
        epoch_images = variation.vary(examples.images, variation.CUSTOMER_PHOTOS, seed=seed * 100_003 + epoch) if augment else examples.images
        images.append(epoch_images[order])
        labels.append(examples.labels[order])
    return np.concatenate(images), np.concatenate(labels)


def _checkpoints(strategy, examples, validation, learning_rate, augment, seed, weights, protocol, trainers):
    """Train one (strategy, learning rate, augmentation) run; return its validation checkpoints."""
    import keras

    from tlkit.training import set_seed

    if strategy not in RANDOM_WEIGHT_STRATEGIES:
        _pretrained_weights(weights)  # load (once) before seeding: loading draws from the global random generators
    set_seed(seed)
    model, base = build_fair_model(strategy, examples.num_classes, weights, protocol.dropout)
    per_check = protocol.epochs_per_check(len(examples))
    head_checks = protocol.fine_tune_head_steps // protocol.check_every_steps
    phases = [(0, protocol.checks, learning_rate)]
    if strategy == "fine_tune":
        phases = [(0, head_checks, learning_rate), (head_checks, protocol.checks, learning_rate * protocol.fine_tune_factor)]
    checkpoints, steps = [], 0
    for phase, (start, stop, rate) in enumerate(phases):
        if phase == 1:
            freezing.unfreeze(base)
        trainer = trainers.get(model, rate)
        keras.utils.set_random_seed(seed * 1000 + phase)
        for check in range(start, stop):
            first = check * per_check
            x, y = _epoch_images(examples, augment, seed, range(first, first + per_check))
            trainer.fit(x, y, epochs=1, batch_size=protocol.batch_size, shuffle=False, verbose=0)
            steps += -(-len(x) // protocol.batch_size)
            checkpoints.append({
                "epochs": first + per_check,
                "steps": steps,
                "validation_accuracy": accuracy(trainer, validation),
                "weights": [np.array(variable) for variable in trainer.variables],
            })
        for target, source in zip(model.variables, trainer.variables):
            target.assign(source)
    return model, checkpoints


def tune_strategy(strategy, examples, validation, seed=0, weights=models.DEFAULT_WEIGHTS, protocol=FairProtocol(), trainers=None):
    """Choose ``strategy``'s learning rate, augmentation and length on ``validation`` alone.

    Returns
    -------
    model : keras.Model
        The chosen checkpoint's model (the last run's model, loaded with the chosen weights).
    choice : dict
        ``learning_rate``, ``augmentation``, ``epochs``, ``steps``, ``validation_accuracy``.
    curve : list of dict
        The chosen run's checkpoints (``epochs``, ``steps``, ``weights``) for accuracy-against-steps curves.
    """
    data.refuse_test_split(validation, f"tune_strategy({strategy!r}): learning-rate, augmentation and checkpoint choice")
    trainers = trainers if trainers is not None else _Trainers()
    best = None
    for augment in protocol.augmentation:
        for rate in protocol.learning_rates:
            model, checkpoints = _checkpoints(strategy, examples, validation, rate, augment, seed, weights, protocol, trainers)
            for point in checkpoints:
                if best is None or point["validation_accuracy"] > best[0]["validation_accuracy"]:
                    best = (point, rate, augment, checkpoints, model)
    point, rate, augment, checkpoints, model = best
    for variable, value in zip(model.variables, point["weights"]):
        variable.assign(value)
    choice = {
        "learning_rate": rate,
        "augmentation": augment,
        "epochs": point["epochs"],
        "steps": point["steps"],
        "validation_accuracy": point["validation_accuracy"],
    }
    return model, choice, checkpoints


def fair_comparison(
    target: data.Dataset,
    labels_per_class: Iterable[int] = (5, 10),
    seeds: Iterable[int] = range(5),
    weights=models.DEFAULT_WEIGHTS,
    strategies: Sequence[str] = FAIR_STRATEGIES,
    protocol: FairProtocol = FairProtocol(),
    test_conditions: Sequence[str] = TEST_CONDITIONS,
    test_seed: int | None = None,
    progress: bool = True,
) -> dict:
    """Tune every strategy by ``protocol`` on validation data, then test each once.

    For every ``k`` and seed the labelled examples are ``data.few_shot(target.train, k, seed)``
    (the same for every strategy) and the validation split is drawn from the
    rest of ``target.train``.  Test images are read only after all choices for
    that ``(k, seed)`` are made.

    Parameters
    ----------
    target : Dataset
        Target task (``data.target_task(...)``).
    labels_per_class, seeds : iterables of int
    weights : str or path
        Pre-trained weights of the transfer strategies.
    strategies : sequence of str
        From :data:`FAIR_STRATEGIES`.
    protocol : FairProtocol
    test_conditions : sequence of str
        Test conditions to report (``"customer_photos"``: a fixed varied copy of
        ``target.test``, seed ``test_seed``; ``"plain"``: the test split as is).
    test_seed : int, optional
        Seed of the customer-photo test copy; default
        :data:`tlkit.variation.CUSTOMER_PHOTOS_SEED`.

    Returns
    -------
    dict
        ``{"protocol": text, "runs": {k: {seed: {strategy: {"choice": {...},
        "test": {condition: accuracy}, "curve": [{"epochs", "steps", "test": {condition: acc}}]}}}}}``
        (curve accuracies on every :data:`CURVE_EVERY`-th test image).
        Summarise with :func:`fair_summary`.
    """
    check_strategies(strategies, FAIR_STRATEGIES)
    labels_per_class, seeds = grid_axes("fair_comparison", labels_per_class, seeds)
    test_seed = variation.CUSTOMER_PHOTOS_SEED if test_seed is None else test_seed
    tests = None  # built only when first needed, after the first selection
    trainers = _Trainers()
    runs = {k: {seed: {} for seed in seeds} for k in labels_per_class}
    jobs = [(k, seed) for k in labels_per_class for seed in seeds]
    for k, seed in with_progress(jobs, progress, "fair protocol", "(k, seed)"):
        examples, validation, _ = few_shot_with_validation(target.train, k, seed, protocol.validation_per_class)
        # the validation images' own variation: never the test copy's seed
        validation = in_condition(validation, protocol.condition, seed=variation.CUSTOMER_PHOTOS_SEED + 1 + seed)
        chosen = {}
        for strategy in strategies:
            model, choice, checkpoints = tune_strategy(strategy, examples, validation, seed, weights, protocol, trainers)
            chosen[strategy] = (model, choice, checkpoints)
        # every choice for this (k, seed) is made; now, and only now, the test images
        if tests is None:
            tests = {condition: in_condition(target.test, condition, seed=test_seed) for condition in test_conditions}
            curve_tests = {name: split.take(np.arange(0, len(split), CURVE_EVERY)) for name, split in tests.items()}
        for strategy, (model, choice, checkpoints) in chosen.items():
            chosen_weights = [np.array(variable) for variable in model.variables]
            curve = []
            for point in checkpoints:
                for variable, value in zip(model.variables, point["weights"]):
                    variable.assign(value)
                curve.append({"epochs": point["epochs"], "steps": point["steps"],
                              "test": {name: accuracy(model, split) for name, split in curve_tests.items()}})
            for variable, value in zip(model.variables, chosen_weights):
                variable.assign(value)
            runs[k][seed][strategy] = {
                "choice": choice,
                "test": {name: accuracy(model, split) for name, split in tests.items()},
                "curve": curve,
            }
    return {"protocol": protocol.describe(), "settings": dataclasses.asdict(protocol), "runs": runs}


def best_transfer_by_validation(per_seed: dict, candidates: Sequence[str] = TRANSFER_STRATEGIES) -> str:
    """The transfer strategy with the best *validation* accuracy on one seed (ties: the earlier in ``candidates``)."""
    present = [name for name in candidates if name in per_seed]
    if not present:
        raise TlkitError("best_transfer_by_validation: no transfer strategy in this run")
    return max(present, key=lambda name: (per_seed[name]["choice"]["validation_accuracy"], -present.index(name)))


def fair_summary(comparison: dict, condition: str = "customer_photos", confidence: float = 0.95,
                 transfer_candidates: Sequence[str] = TRANSFER_STRATEGIES) -> dict:
    """Per ``k``: each strategy's tuned test accuracy and the paired gains over tuned scratch.

    ``gain_pts`` is "transfer" (per seed, the strategy of ``transfer_candidates``
    with the best validation accuracy) minus scratch, in points, with
    ``ci_low``/``ci_high``; ``per_strategy_gain_pts`` gives the same for every
    strategy, and ``pretraining_pts`` compares partial with its random-weights twin.

    Parameters
    ----------
    comparison : dict
        :func:`fair_comparison`'s result (its ``"runs"``).
    condition : str
        Which test condition to summarise.
    confidence : float
        Of the paired t-intervals.
    transfer_candidates : sequence of str, default :data:`TRANSFER_STRATEGIES`
        The pre-trained strategies "transfer" is chosen among.  A benchmark that
        reports one arm beside its headline (say ``"frozen"``) passes the
        headline's candidates, so adding that arm does not change the headline.
    """
    summary = {}
    for k, per_seed in comparison["runs"].items():
        seeds = list(per_seed)
        strategies = list(next(iter(per_seed.values())))
        table = {s: [per_seed[seed][s]["test"][condition] for seed in seeds] for s in strategies}
        entry = {
            "seeds": seeds,
            "strategies": {
                s: {
                    "mean": float(np.mean(values)),
                    "std": float(np.std(values)),
                    "runs": values,
                    "chosen": [per_seed[seed][s]["choice"] for seed in seeds],
                }
                for s, values in table.items()
            },
        }
        if "scratch" in table and any(s in table for s in transfer_candidates):
            picked = [best_transfer_by_validation(per_seed[seed], transfer_candidates) for seed in seeds]
            transfer = [per_seed[seed][name]["test"][condition] for seed, name in zip(seeds, picked)]
            differences = 100 * (np.array(transfer) - np.array(table["scratch"]))
            interval = paired_interval(differences, confidence) if len(seeds) > 1 else {"mean": float(differences[0]), "ci_low": None, "ci_high": None}
            entry.update({
                "transfer_picked": picked,
                "transfer_runs": transfer,
                "gain_pts": round(interval["mean"], 2),
                "ci_low": None if interval["ci_low"] is None else round(interval["ci_low"], 2),
                "ci_high": None if interval["ci_high"] is None else round(interval["ci_high"], 2),
                "gain_per_seed_pts": [round(float(d), 2) for d in differences],
            })
            entry["per_strategy_gain_pts"] = {}
            for s in strategies:
                if s == "scratch":
                    continue
                diffs = 100 * (np.array(table[s]) - np.array(table["scratch"]))
                stats = paired_interval(diffs, confidence) if len(seeds) > 1 else {"mean": float(diffs[0]), "ci_low": None, "ci_high": None}
                entry["per_strategy_gain_pts"][s] = {key: (None if value is None else round(value, 2)) for key, value in stats.items() if key != "n"}
        if "partial" in table and "random_partial" in table and len(seeds) > 1:
            diffs = 100 * (np.array(table["partial"]) - np.array(table["random_partial"]))
            entry["pretraining_pts"] = {key: round(value, 2) for key, value in paired_interval(diffs, confidence).items() if key != "n"}
        summary[k] = entry
    return summary


def tune_on_arrays(build_model, x, y, validation_x, validation_y, seed: int = 0, protocol: FairProtocol = FairProtocol(), trainers=None,
                   steps_per_execution: int = 1):
    """The fair protocol's selection for a model trained on plain arrays (cached features, small networks).

    The same rule as :func:`tune_strategy`: for every learning rate of
    ``protocol``, train up to ``protocol.max_steps`` optimizer steps, check the
    validation accuracy every ``protocol.check_every_steps`` steps (rounded to
    whole epochs, :meth:`FairProtocol.epochs_per_check`) and keep the learning
    rate *and* checkpoint with the best validation accuracy (ties: the earlier).
    Arrays cannot be varied, so ``protocol.augmentation`` must be ``(False,)``.

    Parameters
    ----------
    build_model : callable
        ``build_model() -> keras.Model``, uncompiled, its trainable flags set;
        called once per learning rate, after the seed is set.
    x, y : numpy.ndarray
        Training inputs and integer labels.
    validation_x, validation_y : numpy.ndarray
        The validation split, drawn from the training pool (never test data).
    seed : int
    protocol : FairProtocol
    trainers : dict, optional
        ``{learning_rate: tlkit.training.CompiledTrainers}`` reused across calls
        (one compiled trainer per model pattern and rate).
    steps_per_execution : int
        Mini-batches per call into the compiled step (Keras' ``steps_per_execution``):
        the same updates, less overhead for tiny models.

    Returns
    -------
    model : keras.Model
        Loaded with the chosen checkpoint's weights.
    choice : dict
        ``learning_rate``, ``augmentation`` (False), ``epochs``, ``steps``, ``validation_accuracy``.
    """
    from tlkit.training import CompiledTrainers, set_seed

    if any(protocol.augmentation):
        raise TlkitError("tune_on_arrays: arrays cannot be varied; use a protocol with augmentation=(False,)")
    data.refuse_test_split((validation_x, validation_y), "tune_on_arrays (validation data for the learning rate and length)")
    trainers = trainers if trainers is not None else {}
    per_check = protocol.epochs_per_check(len(x))
    best = None
    for rate in protocol.learning_rates:
        if rate not in trainers:
            trainers[rate] = CompiledTrainers(
                lambda model, rate=rate: compile_classifier(model, rate, metrics=None, steps_per_execution=steps_per_execution))
        set_seed(seed, deterministic=False)
        model = build_model()
        steps = 0
        for check in range(protocol.checks):
            trainers[rate].fit(model, x, y, per_check, protocol.batch_size, seed * 1000 + check, one_pass=True)
            steps += -(-per_check * len(x) // protocol.batch_size)
            score = accuracy_of_outputs(predict_eagerly(model, validation_x), validation_y)
            if best is None or score > best["validation_accuracy"]:
                best = {"learning_rate": rate, "augmentation": False, "epochs": (check + 1) * per_check, "steps": steps,
                        "validation_accuracy": score, "weights": [np.array(v) for v in model.variables], "model": model}
    model = best.pop("model")
    for variable, value in zip(model.variables, best.pop("weights")):
        variable.assign(value)
    return model, best
