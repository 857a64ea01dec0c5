"""Tests of tlkit.freezing: choosing layers, the trainable report, weight snapshots."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit.errors import FreezeRangeError, TlkitError, UnknownNameError  # noqa: E402
from tlkit.freezing import (  # noqa: E402
    LayerSelectionError,
    ModelNotBuiltError,
    changed_layers,
    freeze,
    snapshot_weights,
    trainable_report,
    unfreeze,
    weights_unchanged,
)


def tiny_base(name="base"):
    """Eight layers: Conv, BN, ReLU, Pool, Conv, BN, Flatten, Dense."""
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, name="conv1"),
            keras.layers.BatchNormalization(name="bn1"),
            keras.layers.ReLU(name="relu1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(4, 2, name="conv2"),
            keras.layers.BatchNormalization(name="bn2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(6, name="features"),
        ],
        name="base",
    )


def tiny_classifier():
    base = tiny_base()
    inputs = keras.Input((8, 8, 1), name="image")
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs, name="classifier"), base


def trainable_flags(model):
    return [layer.trainable for layer in model.layers]


def test_freeze_whole_model_and_unfreeze_whole_model():
    base = tiny_base()
    assert freeze(base) == [layer.name for layer in base.layers]
    assert base.trainable_weights == []
    names = unfreeze(base, keep_batchnorm_frozen=False)
    assert names == [layer.name for layer in base.layers]
    assert all(trainable_flags(base))


def test_freeze_by_negative_index_and_slice_mirrors_model_layers():
    base = tiny_base()
    assert freeze(base, -1) == ["features"]
    unfreeze(base, keep_batchnorm_frozen=False)
    frozen = freeze(base, slice(None, -3))
    assert frozen == [layer.name for layer in base.layers[:-3]]
    assert trainable_flags(base) == [False] * 5 + [True] * 3


def test_freeze_by_names_and_indices_in_order_without_duplicates():
    base = tiny_base()
    assert freeze(base, ["conv2", 0, "conv1"]) == ["conv2", "conv1"]
    assert freeze(base, "features") == ["features"]
    assert [layer.name for layer in base.layers if not layer.trainable] == ["conv1", "conv2", "features"]


def test_fraction_counts_from_the_input_for_freeze_and_from_the_output_for_unfreeze():
    base = tiny_base()
    assert freeze(base, 0.5) == ["conv1", "bn1", "relu1", "pool1"]
    freeze(base)
    assert unfreeze(base, 0.25, keep_batchnorm_frozen=False) == ["flatten", "features"]
    assert freeze(tiny_base(), 0.01) == ["conv1"]  # at least one layer
    assert len(freeze(tiny_base(), 1.0)) == 8


def test_index_past_the_end_gives_a_one_line_freeze_range_error():
    base = tiny_base()
    with pytest.raises(FreezeRangeError) as caught:
        freeze(base, 12)
    message = str(caught.value)
    assert "model 'base' has 8 layers; index 12 is out of range" in message
    assert "\n" not in message
    with pytest.raises(FreezeRangeError):
        unfreeze(base, -9)
    with pytest.raises(FreezeRangeError):
        freeze(base, [0, 8])
    with pytest.raises(FreezeRangeError):
        freeze(base, slice(0, 20))
    with pytest.raises(FreezeRangeError):
        freeze(base, 1.5)
    with pytest.raises(IndexError):  # FreezeRangeError is also an IndexError
        freeze(base, 100)
    assert all(trainable_flags(base)), "a failed call must not change anything"


def test_unknown_names_are_listed_with_the_known_ones():
    base = tiny_base()
    with pytest.raises(UnknownNameError) as caught:
        freeze(base, ["conv1", "conv9", "dense"])
    message = str(caught.value)
    assert "'conv9', 'dense'" in message
    assert "'conv1', 'bn1'" in message
    assert base.get_layer("conv1").trainable, "nothing is frozen when a name is unknown"


@pytest.mark.parametrize("wrong", [True, {"conv1": 1}, 2 + 0j, ["conv1", 2.5], slice("a", None), object()])
def test_wrong_types_raise_a_clear_error(wrong):
    with pytest.raises(TlkitError) as caught:
        freeze(tiny_base(), wrong)
    assert isinstance(caught.value, (LayerSelectionError, FreezeRangeError))


def test_freeze_rejects_something_that_is_not_a_model():
    with pytest.raises(LayerSelectionError, match="Keras model"):
        freeze([1, 2, 3])


def test_unfreeze_keeps_batchnorm_frozen_by_default_even_inside_nested_models():
    model, base = tiny_classifier()
    base.trainable = False
    assert unfreeze(model, "base") == ["base"]
    assert model.trainable and base.trainable
    assert not base.get_layer("bn1").trainable and not base.get_layer("bn2").trainable
    assert base.get_layer("conv1").trainable

    base = tiny_base()
    freeze(base)
    assert unfreeze(base, slice(4, None)) == ["conv2", "flatten", "features"]  # bn2 stays frozen
    assert not base.get_layer("bn2").trainable


def test_unfreeze_on_a_frozen_container_keeps_the_other_layers_frozen():
    base = tiny_base()
    base.trainable = False
    unfreeze(base, -1)
    assert base.trainable
    assert trainable_flags(base) == [False] * 7 + [True]
    assert [w.path for w in base.trainable_weights] == [w.path for w in base.get_layer("features").weights]


def test_report_counts_match_count_params():
    model, base = tiny_classifier()
    freeze(model, "base")
    report = trainable_report(model)
    assert [row.name for row in report.rows] == ["image", "base", "head"]
    base_row = report.rows[1]
    assert base_row.status == "frozen" and not base_row.trainable
    assert base_row.trainable_params == 0
    assert base_row.non_trainable_params == base.count_params()
    head = model.get_layer("head")
    assert report.rows[2].trainable_params == head.count_params()
    assert report.total_params == model.count_params()
    assert report.trainable_params == head.count_params()
    totals = report.to_dict()["totals"]
    assert totals == {
        "trainable_params": head.count_params(),
        "non_trainable_params": base.count_params(),
        "total_params": model.count_params(),
    }


def test_report_separates_batchnorm_statistics_and_expands_nested_models():
    model, base = tiny_classifier()
    unfreeze(model)  # BatchNormalization stays frozen
    report = trainable_report(model, expand_nested=True)
    names = [row.name for row in report.rows]
    assert names == ["image", "base"] + [layer.name for layer in base.layers] + ["head"]
    by_name = {row.name: row for row in report.rows}
    assert by_name["base"].status == "partly frozen"
    assert by_name["conv1"].depth == 1 and by_name["conv1"].index == 0
    assert by_name["bn1"].status == "frozen" and by_name["bn1"].non_trainable_params == 4 * 4
    conv1 = base.get_layer("conv1")
    assert by_name["conv1"].trainable_params == conv1.count_params() == 3 * 3 * 1 * 4 + 4
    assert report.trainable_params + report.non_trainable_params == model.count_params()
    assert report.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_report_text_and_html_show_the_counts():
    model, base = tiny_classifier()
    freeze(model, "base")
    report = trainable_report(model)
    text = str(report)
    head_params = model.get_layer("head").count_params()
    assert f"Trainable params: {head_params:,}" in text
    assert f"Non-trainable params: {base.count_params():,}" in text
    assert f"Total params: {model.count_params():,}" in text
    assert "frozen" in text and "Sequential" in text
    page = report._repr_html_()
    assert page.startswith("<div") and "<table" in page
    assert f"<b>{model.count_params():,}</b>" in page
    frozen_rows = [part for part in page.split("<tr")[1:] if 'class="tlkit-frozen"' in part]
    assert len(frozen_rows) == 1 and ">base<" in frozen_rows[0]
    assert "background" in frozen_rows[0]


def test_report_needs_a_built_model():
    with pytest.raises(ModelNotBuiltError, match="not built"):
        trainable_report(keras.Sequential([keras.layers.Dense(2)], name="unbuilt"))


def test_snapshot_proves_frozen_layers_did_not_change_during_fit():
    keras.utils.set_random_seed(1)
    model, base = tiny_classifier()
    freeze(model, "base")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = snapshot_weights(model)
    images = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    labels = np.arange(16) % 3
    model.fit(images, labels, epochs=2, batch_size=8, verbose=0)
    assert weights_unchanged(before, model, "base")
    assert not weights_unchanged(before, model)
    assert changed_layers(before, model) == ["head"]
    assert before.changed_layers() == ["head"]  # compares the very layer objects
    assert changed_layers(before, model, layers=[-1]) == ["head"]
    assert before.unchanged(layers="base")


def test_snapshot_is_a_copy_and_atol_allows_small_moves():
    base = tiny_base()
    layer = base.get_layer("features")
    before = snapshot_weights(layer)
    layer.kernel.assign(layer.kernel + 1e-4)
    assert changed_layers(before) == ["features"]
    assert weights_unchanged(before, atol=1e-3)
    assert not weights_unchanged(before, atol=1e-5)


def test_snapshot_errors_are_clear():
    base = tiny_base()
    before = snapshot_weights([base.get_layer("conv1")])
    with pytest.raises(UnknownNameError, match="'conv2'"):
        changed_layers(before, base, layers="conv2")
    with pytest.raises(UnknownNameError, match="'nope'"):
        changed_layers(before, layers="nope")
    with pytest.raises(LayerSelectionError):
        snapshot_weights("conv1")
    with pytest.raises(LayerSelectionError):
        weights_unchanged({"conv1": []}, base)
    with pytest.raises(LayerSelectionError):
        changed_layers(before, atol=-1)
    other = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(4, 3, name="conv1")])
    with pytest.raises(TlkitError, match="shape"):
        changed_layers(before, other)
