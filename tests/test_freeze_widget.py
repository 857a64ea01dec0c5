"""Tests of tlkit.freeze_widget: boxes set layer.trainable, counts match Keras' own."""

from __future__ import annotations

import re

import pytest

keras = pytest.importorskip("keras")

from tlkit.errors import TlkitError, UnknownNameError  # noqa: E402
from tlkit.freeze_widget import FreezeWidget, freeze_widget  # noqa: E402
from tlkit.freezing import LayerSelectionError, ModelNotBuiltError  # noqa: E402


def keras_counts(model):
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    frozen = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    return trainable, frozen


def shown_counts(widget):
    """Read (trainable, total, non-trainable) back from the text the student sees."""
    match = re.search(
        r"trainable parameters: ([\d,]+) of ([\d,]+) \(non-trainable: ([\d,]+)\)", widget.count.value
    )
    assert match, widget.count.value
    return tuple(int(group.replace(",", "")) for group in match.groups())


def tiny_base():
    """Conv (40) + BN (16, half of it moving statistics) + pool + flatten + Dense."""
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(4, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(5, name="features"),
        ],
        name="base",
    )


def tiny_classifier():
    base = tiny_base()
    inputs = keras.Input((6, 6, 1))
    outputs = keras.layers.Dense(3, name="head")(base(inputs))
    return keras.Model(inputs, outputs, name="classifier"), base


@pytest.fixture
def base():
    return tiny_base()


def test_one_box_per_layer_with_weights_and_classes(base):
    widget = freeze_widget(base)
    assert isinstance(widget, FreezeWidget)
    assert list(widget.toggles) == ["conv", "bn", "features"]  # pool and flatten have no weights
    assert all(box.value for box in widget.toggles.values())
    assert "tlkit-freeze" in widget.container._dom_classes
    assert all("tlkit-freeze-toggle" in box._dom_classes for box in widget.toggles.values())
    assert "tlkit-freeze-count" in widget.count._dom_classes
    assert "compile" in widget.reminder.value


def test_rows_show_type_and_parameter_count(base):
    widget = freeze_widget(base)
    grid = widget.container.children[1]
    shown = [child.description if child in widget.toggles.values() else child.value for child in grid.children]
    conv_row = shown[shown.index("conv"): shown.index("conv") + 4]
    assert conv_row[1:3] == ["Conv2D", f"{3 * 3 * 1 * 4 + 4:,}"]
    assert conv_row[3] == "trainable"


def test_counts_equal_keras_counts_at_start(base):
    widget = freeze_widget(base)
    trainable, frozen = keras_counts(base)
    assert shown_counts(widget) == (trainable, base.count_params(), frozen)
    assert frozen == 8  # BatchNormalization's moving mean and variance never train


def test_clicking_a_box_freezes_the_layer_and_updates_the_count(base):
    widget = freeze_widget(base)
    before = shown_counts(widget)
    widget.toggles["conv"].value = False  # what a click in the browser does
    assert base.get_layer("conv").trainable is False
    assert shown_counts(widget) == (*keras_counts(base)[:1], base.count_params(), keras_counts(base)[1])
    assert shown_counts(widget)[0] == before[0] - 40
    assert "frozen" in widget._status_labels["conv"].value
    widget.toggles["conv"].value = True
    assert base.get_layer("conv").trainable is True
    assert shown_counts(widget) == before


def test_reminder_is_marked_after_a_change(base):
    widget = freeze_widget(base)
    assert "tlkit-freeze-reminder-pending" not in widget.reminder._dom_classes
    widget.toggles["features"].value = False
    assert widget.changes == 1
    assert "tlkit-freeze-reminder-pending" in widget.reminder._dom_classes
    assert "changed" in widget.reminder.value and "compile" in widget.reminder.value


def test_freeze_all_and_unfreeze_all_buttons(base):
    widget = freeze_widget(base)
    widget.freeze_all_button.click()
    assert not any(layer.trainable for layer in base.layers if layer.weights)
    assert shown_counts(widget) == (0, base.count_params(), base.count_params())
    assert not any(box.value for box in widget.toggles.values())
    widget.unfreeze_all_button.click()
    assert all(layer.trainable for layer in base.layers if layer.weights)
    assert all(box.value for box in widget.toggles.values())
    assert shown_counts(widget)[0] == keras_counts(base)[0]


def test_nested_base_is_listed_layer_by_layer_and_matches_keras():
    model, base = tiny_classifier()
    base.trainable = False
    widget = freeze_widget(model)
    assert list(widget.toggles) == ["base / conv", "base / bn", "base / features", "head"]
    assert [box.value for box in widget.toggles.values()] == [False, False, False, True]
    assert shown_counts(widget)[0] == keras_counts(model)[0] == 5 * 3 + 3

    widget.toggles["base / features"].value = True  # the top of the base, for fine-tuning
    assert base.trainable and base.get_layer("features").trainable
    assert not base.get_layer("conv").trainable and not base.get_layer("bn").trainable
    trainable, frozen = keras_counts(model)
    assert shown_counts(widget) == (trainable, model.count_params(), frozen)
    assert trainable == (16 * 5 + 5) + (5 * 3 + 3)


def test_nested_model_as_one_box():
    model, base = tiny_classifier()
    widget = freeze_widget(model, expand_nested=False)
    assert list(widget.toggles) == ["base", "head"]
    widget.toggles["base"].value = False
    assert base.trainable is False and not base.get_layer("conv").trainable
    assert shown_counts(widget)[0] == keras_counts(model)[0] == 5 * 3 + 3


def test_set_trainable_by_name_and_refresh_after_code_changes(base):
    widget = freeze_widget(base)
    widget.set_trainable("bn", False)
    assert base.get_layer("bn").trainable is False
    assert widget.toggles["bn"].value is False
    base.get_layer("bn").trainable = True  # changed in code, outside the widget
    widget.refresh()
    assert widget.toggles["bn"].value is True
    with pytest.raises(UnknownNameError, match="'nope'.*'conv'"):
        widget.set_trainable("nope", True)


def test_misuse_raises_tlkit_errors():
    with pytest.raises(ModelNotBuiltError, match="not built"):
        freeze_widget(keras.Sequential([keras.layers.Dense(2)], name="unbuilt"))
    with pytest.raises(LayerSelectionError, match="Keras model"):
        freeze_widget("my model")
    assert issubclass(ModelNotBuiltError, TlkitError)


def test_text_form_is_short(base):
    widget = freeze_widget(base)
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<tlkit freeze widget for 'base': trainable parameters:")
