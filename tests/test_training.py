"""Tests of tlkit.training: set_seed, merge_histories, the progress bar, compiled trainers."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit.training import (  # noqa: E402
    CompiledTrainers,
    HistoryMismatchError,
    ProgressBar,
    merge_histories,
    set_seed,
)


def tiny_model():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data():
    generator = np.random.default_rng(0)
    return generator.random((48, 4), dtype=np.float32), generator.integers(0, 3, 48)


def seeded_run(seed):
    set_seed(seed)
    model = tiny_model()
    initial = [w.copy() for w in model.get_weights()]
    x, y = tiny_data()
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=True, verbose=0)
    return initial, model.get_weights(), history.history


def test_set_seed_twice_gives_identical_weights_and_fit_metrics():
    first_initial, first_final, first_history = seeded_run(7)
    second_initial, second_final, second_history = seeded_run(7)
    for a, b in zip(first_initial, second_initial):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first_final, second_final):
        np.testing.assert_array_equal(a, b)
    assert first_history == second_history
    other_initial, _, _ = seeded_run(8)
    assert not np.array_equal(first_initial[0], other_initial[0])


def test_merge_two_fits_with_initial_epoch():
    set_seed(0)
    model = tiny_model()
    x, y = tiny_data()
    first = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    start = len(first.epoch)  # what the notebooks teach
    assert start == 2
    second = model.fit(x, y, initial_epoch=start, epochs=start + 3, validation_split=0.25, verbose=0)
    merged = merge_histories(first, second)
    assert merged["epoch"] == [1, 2, 3, 4, 5]
    assert merged["fine_tune_start"] == 2
    assert merged["loss"] == first.history["loss"] + second.history["loss"]
    assert set(merged) == {"epoch", "fine_tune_start", "loss", "accuracy", "val_loss", "val_accuracy"}


def test_merge_renumbers_a_second_phase_that_restarted_at_epoch_zero():
    class FakeHistory:
        def __init__(self, epochs, losses):
            self.epoch = epochs
            self.history = {"loss": losses}

    merged = merge_histories(FakeHistory([0, 1, 2], [3.0, 2.0, 1.5]), FakeHistory([0, 1], [1.0, 0.5]))
    assert merged["epoch"] == [1, 2, 3, 4, 5]
    assert merged["loss"] == [3.0, 2.0, 1.5, 1.0, 0.5]
    assert merged["fine_tune_start"] == 3


def test_merge_dicts_and_a_merged_dict_is_accepted_again():
    merged = merge_histories({"loss": [0.9, 0.5]}, {"loss": [0.4]})
    assert merged == {"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.4], "fine_tune_start": 2}
    again = merge_histories(merged, {"loss": [0.3]})
    assert again["loss"] == [0.9, 0.5, 0.4, 0.3] and again["fine_tune_start"] == 3


def test_mismatched_keys_are_filled_with_nan_and_named_in_a_warning():
    with pytest.warns(UserWarning, match="only in the second: 'val_loss'"):
        merged = merge_histories({"loss": [1.0, 0.8]}, {"loss": [0.6], "val_loss": [0.7]})
    assert math.isnan(merged["val_loss"][0]) and math.isnan(merged["val_loss"][1])
    assert merged["val_loss"][2] == 0.7
    with pytest.raises(HistoryMismatchError, match="only in the first: 'accuracy'"):
        merge_histories({"loss": [1.0], "accuracy": [0.5]}, {"loss": [0.6]}, missing="raise")


def test_an_empty_second_phase_explains_initial_epoch():
    set_seed(0)
    model = tiny_model()
    x, y = tiny_data()
    first = model.fit(x, y, epochs=2, verbose=0)
    # The classic mistake: epochs= is the epoch to stop at, not how many more.
    second = model.fit(x, y, initial_epoch=2, epochs=2, verbose=0)
    with pytest.raises(HistoryMismatchError, match=r"initial_epoch=2.*epochs=7"):
        merge_histories(first, second)


@pytest.mark.parametrize(
    "first, second",
    [
        ([1, 2], {"loss": [1.0]}),
        ({"loss": [1.0]}, "history"),
        ({}, {"loss": [1.0]}),
        ({"loss": [1.0, 2.0], "accuracy": [0.5]}, {"loss": [1.0]}),
        ({"loss": 1.0}, {"loss": [1.0]}),
    ],
)
def test_bad_histories_raise_history_mismatch_error(first, second):
    with pytest.raises(HistoryMismatchError):
        merge_histories(first, second)


def test_unknown_missing_policy():
    with pytest.raises(HistoryMismatchError, match="missing"):
        merge_histories({"loss": [1.0]}, {"loss": [1.0]}, missing="drop")


def test_progress_bar_counts_the_epochs_of_this_fit(monkeypatch):
    set_seed(0)
    model = tiny_model()
    x, y = tiny_data()
    bar = ProgressBar(disable=False)
    seen = {}
    original_close = ProgressBar._close

    def remember_and_close(self):
        if self.bar is not None:
            seen["total"], seen["n"] = self.bar.total, self.bar.n
        original_close(self)

    monkeypatch.setattr(ProgressBar, "_close", remember_and_close)
    model.fit(x, y, initial_epoch=2, epochs=5, verbose=0, callbacks=[bar])
    assert seen == {"total": 3, "n": 3}
    per_batch = ProgressBar(per_batch=True, disable=False)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[per_batch])
    assert seen == {"total": 6, "n": 6}
    model.predict(x, batch_size=16, verbose=0, callbacks=[ProgressBar(disable=False)])
    assert seen == {"total": 3, "n": 3}


# ---------------------------------------------------------------------------
# CompiledTrainers: one compiled training function per pattern


def _tiny_model(frozen_first: bool = False):
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(4, activation="relu", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    model.layers[0].trainable = not frozen_first
    return model


def _compile_tiny(model):
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")


def _tiny_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, size=40)


def test_a_reused_trainer_gives_the_weights_of_a_fresh_compile():
    x, y = _tiny_data()
    trainers = CompiledTrainers(_compile_tiny)
    pooled = []
    for seed in (1, 2):  # the second model reuses the first one's trainer
        set_seed(seed)
        pooled.append(trainers.fit(_tiny_model(), x, y, epochs=3, batch_size=8, seed=seed).get_weights())
    assert len(trainers) == 1
    set_seed(2)
    fresh = _tiny_model()
    _compile_tiny(fresh)
    keras.utils.set_random_seed(2)
    fresh.fit(x, y, epochs=3, batch_size=8, verbose=0)
    for reused, expected in zip(pooled[1], fresh.get_weights()):
        np.testing.assert_array_equal(reused, expected)


def test_a_different_trainable_pattern_gets_its_own_trainer_and_frozen_layers_stay_put():
    x, y = _tiny_data()
    trainers = CompiledTrainers(_compile_tiny)
    trainers.fit(_tiny_model(), x, y, epochs=1, batch_size=8, seed=0)
    set_seed(0)
    frozen = _tiny_model(frozen_first=True)
    before = frozen.get_layer("hidden").get_weights()
    trainers.fit(frozen, x, y, epochs=2, batch_size=8, seed=0)
    assert len(trainers) == 2
    for kept, now in zip(before, frozen.get_layer("hidden").get_weights()):
        np.testing.assert_array_equal(kept, now)


def test_one_pass_training_learns_and_is_reproducible():
    x, y = _tiny_data()
    results = []
    for _ in range(2):
        set_seed(3)
        model = _tiny_model()
        start = [weights.copy() for weights in model.get_weights()]
        CompiledTrainers(_compile_tiny).fit(model, x, y, epochs=4, batch_size=8, seed=3, one_pass=True)
        results.append(model.get_weights())
    assert any(not np.array_equal(a, b) for a, b in zip(start, results[0]))
    for first, second in zip(*results):
        np.testing.assert_array_equal(first, second)


def test_epoch_timer_records_one_duration_per_epoch():
    import keras

    from tlkit.training import EpochTimer, set_seed

    set_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    timer = EpochTimer()
    model.fit(np.zeros((8, 3), "float32"), np.zeros(8, "int64"), epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 3 and all(seconds >= 0 for seconds in timer.seconds)
