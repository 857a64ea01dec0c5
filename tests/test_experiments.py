"""tlkit.experiments: the transfer strategies do what their names promise."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, evaluation, experiments, models
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
    first = evaluation.accuracy(_trained("partial", examples)[0], test_split)
    second = evaluation.accuracy(_trained("partial", examples)[0], test_split)
    assert first == second


def test_translation_shifts_training_images_only_and_stays_seeded(examples, target):
    shifted = experiments.TrainingBudget(epochs=2, batch_size=16, translation=0.1)
    model, _ = experiments.train_on_target("partial", examples, seed=0, budget=shifted)
    assert model.get_layer("random_shift").height_factor == 0.1
    plain, _ = experiments.train_on_target("partial", examples, seed=0, budget=QUICK)
    assert "random_shift" not in [layer.name for layer in plain.layers]
    # inference ignores the shift: the same inputs give the same outputs twice
    images = target.test.images[:20]
    assert np.array_equal(evaluation.predict_eagerly(model, images), evaluation.predict_eagerly(model, images))
    again, _ = experiments.train_on_target("partial", examples, seed=0, budget=shifted)
    for mine, theirs in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    # the shifts did change training: the weights differ from the unshifted run
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), plain.get_weights()))


@pytest.mark.parametrize("translation", [-0.1, 1.0, 2])
def test_translation_must_be_a_fraction(translation):
    with pytest.raises(TlkitError, match="translation must be a fraction"):
        experiments.TrainingBudget(translation=translation)


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

    report = json.loads((repo_root / "benchmarks/results/transfer_gain_fixed_budget.json").read_text())
    assert len(report["seeds"]) >= 5
    assert set(report["results"]) == {"5", "10", "50"}
    for k, entry in report["results"].items():
        assert set(entry["strategies"]) == set(experiments.STRATEGIES), k
        assert all(len(stats["runs"]) == len(report["seeds"]) for stats in entry["strategies"].values())
        assert entry["gain_pts"] > 0, (k, entry["gain_pts"])


def test_shifted_benchmark_trains_every_strategy_with_shifts(repo_root):
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain_fixed_budget_shifted.json").read_text())
    assert report["budget"]["translation"] > 0
    assert "--translation" in report["command"]
    for k, entry in report["results"].items():
        assert set(entry["strategies"]) == set(experiments.STRATEGIES), k
        assert all(len(stats["runs"]) == len(report["seeds"]) >= 5 for stats in entry["strategies"].values())


def test_transfer_ceiling_is_measured_against_the_committed_scratch_baseline(repo_root):
    """The ceiling's goal line is scratch + 6 points from transfer_gain_fixed_budget.json, and the bases rank as expected."""
    import json

    gain = json.loads((repo_root / "benchmarks/results/transfer_gain_fixed_budget.json").read_text())
    ceiling = json.loads((repo_root / "benchmarks/results/transfer_ceiling.json").read_text())
    for k, needed in ceiling["needed_for_goal"].items():
        assert needed == pytest.approx(gain["results"][k]["strategies"]["scratch"]["mean"] + 0.06, abs=1e-4)
    random_base, shipped, oracle = (row["probe_accuracy"] for row in ceiling["bases"].values())
    for k in ceiling["needed_for_goal"]:
        assert random_base[k] < shipped[k] < oracle[k], k
