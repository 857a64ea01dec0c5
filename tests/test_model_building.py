"""Every benchmark model is built with the public helpers the notebooks use.

The benchmarks (benchmarks/transfer_gain.py, negative_transfer.py and
transfer_gain_fixed_budget.py) train their target models through
``experiments.build_target_model`` / ``train_on_target`` (the fixed-budget
path) and ``experiments.build_fair_model`` (the fair protocol).  Both must be
``heads.add_head`` on a base whose flags were set by ``freezing`` (or by
``base.trainable = False``, as notebook 01 does), so that what the notebooks
teach is what the benchmarks measure.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit import data, experiments, freezing, heads, models  # noqa: E402
from tlkit.model_structure import nested_layers  # noqa: E402


def _structure(model):
    """Names, types, trainable flags and weight shapes of every layer, nested ones included, and the call graph."""
    rows = []
    for layer in [model, *nested_layers(model)]:
        rows.append((layer.name, type(layer).__name__, layer.trainable, [tuple(w.shape) for w in layer.weights]))
    return rows, [node["name"] for node in model.get_config()["layers"]]


def _as_the_notebooks_build_it(strategy, budget):
    """The same model, written with the public helpers as the notebooks write it."""
    base = models.load_base(include_top=False, weights=None if strategy == "scratch" else models.DEFAULT_WEIGHTS)
    if strategy in ("frozen", "fine_tune"):
        base.trainable = False
    elif strategy == "partial":
        freezing.freeze(base)
        freezing.unfreeze(base, models.FEATURE_LAYER)
    shift = None
    if budget.translation:
        shift = keras.layers.RandomTranslation(budget.translation, budget.translation, fill_mode="constant", name="random_shift")
    model = heads.add_head(base, 5, dropout=budget.dropout, name="target_model", output_name="head", preprocessing=shift)
    return model, base


@pytest.mark.parametrize("strategy", experiments.STRATEGIES)
@pytest.mark.parametrize("translation", [0.0, 0.1])
def test_fixed_budget_models_are_add_head_on_a_base_frozen_by_the_public_helpers(strategy, translation):
    budget = experiments.TrainingBudget(translation=translation)
    model, base = experiments.build_target_model(strategy, budget=budget)
    expected, expected_base = _as_the_notebooks_build_it(strategy, budget)
    assert _structure(model) == _structure(expected)
    if strategy == "fine_tune":  # the second phase: unfreeze as notebook 03 does
        freezing.unfreeze(base)
        freezing.unfreeze(expected_base)
        assert _structure(model) == _structure(expected)
    assert [layer.name for layer in model.layers][-2:] == ["head_dropout", "head"]


def test_fixed_budget_training_goes_through_add_head_and_unfreeze(monkeypatch):
    calls = []
    for module, name in ((heads, "add_head"), (freezing, "unfreeze")):
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    target = data.target_task(data.load_fashion_mnist())
    examples = data.few_shot(target.train, 1, seed=0)
    experiments.train_on_target("fine_tune", examples, budget=experiments.TrainingBudget(epochs=2))
    assert calls == ["add_head", "unfreeze"]


@pytest.mark.parametrize("strategy", ["scratch", "frozen", "partial", "fine_tune"])
def test_fair_protocol_models_have_the_same_layers_as_the_fixed_budget_ones(strategy):
    fixed, _ = experiments.build_target_model(strategy)
    fair, _ = experiments.build_fair_model(strategy, 5, models.DEFAULT_WEIGHTS, 0.3)
    fixed_rows, fixed_graph = _structure(fixed)
    fair_rows, fair_graph = _structure(fair)
    # the same layers and weights; only the output layer's name differs ("head" / "head_output"), and the
    # fair protocol freezes with freezing.freeze (every layer) where the fixed budget sets base.trainable
    assert [(row[1], row[3]) for row in fixed_rows] == [(row[1], row[3]) for row in fair_rows]
    assert fixed_graph[:-1] == fair_graph[:-1] and (fixed_graph[-1], fair_graph[-1]) == ("head", "head_output")
    assert fixed.count_params() == fair.count_params()
    assert sum(map(np.size, fixed.trainable_weights)) == sum(map(np.size, fair.trainable_weights))
