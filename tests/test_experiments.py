"""tlkit.experiments: the transfer strategies do what their names promise."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, experiments, models
from tlkit.errors import TlkitError, UnknownNameError
from tlkit.freezing import changed_layers, snapshot_weights

QUICK = experiments.TrainingBudget(epochs=2, batch_size=16)


@pytest.fixture(scope="module")
def target():
    return data.target_task(data.load_fashion_mnist())


@pytest.fixture(scope="module")
def examples(target):
    return data.few_shot(target.train, k=3, seed=0)


def _base_of(model):
    return next(layer for layer in model.layers if layer.name.endswith("_base"))


def _trained(strategy, examples):
    model, history = experiments.train_on_target(strategy, examples, seed=0, budget=QUICK)
    return model, history


def test_frozen_strategy_changes_nothing_in_the_base(examples):
    pretrained = models.load_base()
    before = snapshot_weights(pretrained)
    model, _ = _trained("frozen", examples)
    assert changed_layers(before, _base_of(model)) == []


def test_partial_strategy_trains_only_the_features_layer(examples):
    before = snapshot_weights(models.load_base())
    model, _ = _trained("partial", examples)
    assert changed_layers(before, _base_of(model)) == ["features"]


def test_fine_tune_trains_convolutions_but_not_batchnorm_statistics(examples):
    before = snapshot_weights(models.load_base())
    model, history = _trained("fine_tune", examples)
    moved = changed_layers(before, _base_of(model))
    assert "block1_conv" in moved and "features" in moved
    assert not any(name.endswith("_bn") for name in moved)
    assert history["fine_tune_start"] == 1
    assert len(history["loss"]) == 2


def test_scratch_does_not_start_from_the_pretrained_weights(examples):
    model, _ = _trained("scratch", examples)
    pretrained = models.load_base()
    assert not np.allclose(_base_of(model).get_layer("block1_conv").get_weights()[0], pretrained.get_layer("block1_conv").get_weights()[0])


def test_same_seed_same_accuracy(examples, target):
    test_split = target.test.take(range(200))
    first = experiments.accuracy(_trained("partial", examples)[0], test_split)
    second = experiments.accuracy(_trained("partial", examples)[0], test_split)
    assert first == second


def test_unknown_strategy():
    with pytest.raises(UnknownNameError, match="unknown strategy 'unfreeze_everything'"):
        experiments.build_target_model("unfreeze_everything")


def test_grid_refuses_empty_requests(target):
    with pytest.raises(TlkitError, match="at least one"):
        experiments.transfer_grid(target, labels_per_class=[], seeds=[0])


def test_summarise_computes_mean_std_and_gain():
    results = {"scratch": {5: [0.70, 0.80]}, "frozen": {5: [0.80, 0.90]}, "partial": {5: [0.70, 0.70]}}
    summary = experiments.summarise(results)
    assert summary[5]["strategies"]["scratch"]["mean"] == pytest.approx(0.75)
    assert summary[5]["strategies"]["frozen"]["std"] == pytest.approx(0.05)
    assert summary[5]["best_transfer"] == "frozen"
    assert summary[5]["gain_pts"] == pytest.approx(10.0)


def test_transfer_gain_results_are_complete_and_transfer_beats_scratch(repo_root):
    """The committed benchmark result: 5 seeds, every strategy, and the best transfer above scratch.

    The issue's bar was a gain of at least 6 points at k=5 and k=10; the shipped base does not
    reach it yet (see README), so this test guards what the results do show.
    """
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    assert len(report["seeds"]) >= 5
    assert set(report["results"]) == {"5", "10", "50"}
    for k, entry in report["results"].items():
        assert set(entry["strategies"]) == set(experiments.STRATEGIES), k
        assert all(len(stats["runs"]) == len(report["seeds"]) for stats in entry["strategies"].values())
        assert entry["gain_pts"] > 0, (k, entry["gain_pts"])
