"""Layer transfer (Yosinski et al.): copying and freezing the first n layers, results, input validation."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import layer_transfer as lt
from tlkit.errors import CorruptFileError, FreezeRangeError, InputShapeError, MissingFileError, UnknownNameError


def tiny_network(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(2, 3, name="conv1"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(4, name="dense1"),
            keras.layers.Dense(3, name="dense2"),
            keras.layers.Dense(2, activation="softmax", name="predictions"),
        ],
        name="tiny",
    )


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_counts_weight_layers_and_the_transferable_ones():
    network = tiny_network()
    assert [layer.name for layer in lt.weight_layers(network)] == ["conv1", "dense1", "dense2", "predictions"]
    assert lt.transferable_layer_count(network) == 3
    assert lt.transferable_layer_count(lt.build_small_cnn()) == 4


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("fine_tune", [False, True])
def test_first_n_layers_copied_frozen_or_not_and_the_rest_reinitialised(n, fine_tune):
    base_a = tiny_network(seed=0)
    copy = lt.transfer_first_layers(base_a, n, fine_tune=fine_tune, seed=7)
    source_layers, copied_layers = lt.weight_layers(base_a), lt.weight_layers(copy)
    for index, (source, layer) in enumerate(zip(source_layers, copied_layers)):
        if index < n:
            assert same(source, layer), layer.name
            assert layer.trainable is fine_tune, layer.name
        else:
            assert not same(source, layer), f"{layer.name} should be re-initialised"
            assert layer.trainable, layer.name
    assert copy is not base_a and copy.layers[0] is not base_a.layers[0]


def test_reinitialisation_is_seeded():
    base_a = tiny_network()
    first = lt.transfer_first_layers(base_a, 1, seed=3)
    again = lt.transfer_first_layers(base_a, 1, seed=3)
    other = lt.transfer_first_layers(base_a, 1, seed=4)
    assert same(first, again) and not same(first, other)


def test_frozen_copies_stay_put_while_training():
    import keras

    base_a = tiny_network()
    copy = lt.transfer_first_layers(base_a, 2, seed=1)
    copy.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    images = np.random.default_rng(0).uniform(size=(16, 6, 6, 1)).astype("float32")
    copy.fit(images, np.arange(16) % 2, epochs=2, verbose=0)
    assert same(lt.weight_layers(base_a)[1], lt.weight_layers(copy)[1])
    assert not np.array_equal(lt.weight_layers(copy)[2].get_weights()[0], lt.weight_layers(base_a)[2].get_weights()[0])


@pytest.mark.parametrize("n", [0, 4, -1, 1.5, True, "2"])
def test_depth_out_of_range_is_a_freeze_range_error(n):
    with pytest.raises(FreezeRangeError, match="from 1 to 3"):
        lt.transfer_first_layers(tiny_network(), n)


def test_not_a_model_is_rejected():
    with pytest.raises(InputShapeError, match="expected a Keras model"):
        lt.weight_layers([1, 2, 3])


def _results():
    runs = {
        "BnB": {1: [0.90, 0.92], 2: [0.85, 0.86], 3: [0.91, 0.90]},
        "BnB+": {1: [0.91, 0.91], 2: [0.92, 0.92], 3: [0.91, 0.91]},
        "AnB": {1: [0.91, 0.91], 2: [0.88, 0.89], 3: [0.70, 0.72]},
        "AnB+": {1: [0.92, 0.93], 2: [0.91, 0.92], 3: [0.91, 0.90]},
    }
    return lt.LayerTransferResults([1, 2, 3], [0, 1], [0.91, 0.91], [0.85, 0.86], runs)


def test_results_means_shapes_advice_and_round_trip():
    results = _results()
    assert results.mean("AnB", 3) == pytest.approx(0.71)
    np.testing.assert_allclose(results.curve("AnB"), [0.91, 0.885, 0.71])
    assert lt.expected_shapes(results) == {
        "anb_falls_with_depth": True, "anb_plus_at_or_above_base_b": True, "bnb_dips_in_the_middle": True,
    }
    advice = lt.freezing_advice(results)
    assert advice["deepest_safe_frozen_n"] == 1 and advice["best_fine_tuned_n"] == 1
    assert advice["best_fine_tuned_gain"] == pytest.approx(0.015)
    assert "baseB 0.910" in results.table()
    again = lt.LayerTransferResults.from_dict(results.to_dict())
    assert again.runs == results.runs
    with pytest.raises(UnknownNameError, match="AnB"):
        results.mean("ANB", 1)


def test_plot_has_our_panel_and_the_papers():
    figure = lt.plot_layer_transfer(_results())
    ours, paper = figure.axes
    assert "Fashion-MNIST" in ours.get_title() and "Yosinski" in paper.get_title()
    assert len(ours.containers) == 4  # one errorbar per variant


def test_run_rejects_unknown_variants_and_no_seeds():
    from tlkit import data

    dataset = data.load_fashion_mnist()
    with pytest.raises(UnknownNameError, match="AnB"):
        lt.run_layer_transfer(dataset, variants=("AnB++",))
    with pytest.raises(lt.LayerTransferError, match="at least one seed"):
        lt.run_layer_transfer(dataset, seeds=[])


def test_every_network_is_tuned_by_the_fair_protocol_on_training_pool_validation():
    from tlkit import experiments

    budget = lt.LayerTransferBudget(train_per_class=20, test_per_class=10)
    assert budget.protocol == lt.LAYER_PROTOCOL and budget.base_protocol == lt.BASE_PROTOCOL
    assert isinstance(budget.protocol, experiments.FairProtocol) and len(budget.protocol.learning_rates) > 1
    with pytest.raises(lt.LayerTransferError, match="FairProtocol"):
        lt.LayerTransferBudget(protocol="fast")
    with pytest.raises(lt.LayerTransferError, match="train_per_class"):
        lt.LayerTransferBudget(train_per_class=None)


def test_the_array_selection_refuses_augmentation_and_test_images():
    from tlkit import data, experiments
    from tlkit.errors import TlkitError

    x, y = np.zeros((8, 3), "float32"), np.arange(8) % 2
    with pytest.raises(TlkitError, match="augmentation"):
        experiments.tune_on_arrays(lambda: None, x, y, x, y, protocol=experiments.FairProtocol())
    test = data.target_task(data.load_fashion_mnist("course")).test
    with pytest.raises(data.TestDataInSelectionError):
        experiments.tune_on_arrays(lambda: None, x, y, test.images[:10], test.labels[:10], protocol=lt.LAYER_PROTOCOL)


def test_the_recorded_run_loads_and_a_broken_file_is_named(tmp_path):
    report, results = lt.load_recorded()
    assert results.seeds == report["seeds"] and results.depths == [1, 2, 3, 4]
    assert set(results.runs) == set(lt.VARIANTS) and len(results.base_b) == len(results.seeds)
    broken = tmp_path / "layer_transfer.json"
    broken.write_text('{"command": "x"}')
    with pytest.raises(CorruptFileError, match="lack dataset"):
        lt.load_recorded(broken)
    with pytest.raises(MissingFileError, match="benchmarks/layer_transfer.py"):
        lt.load_recorded(tmp_path / "absent.json")
