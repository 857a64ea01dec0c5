"""Tests of tlkit.plots (Agg backend, nothing shown)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tlkit.errors import InputShapeError, UnknownNameError  # noqa: E402
from tlkit.plots import (  # noqa: E402
    PlotArgumentError,
    plot_accuracy_vs_labels,
    plot_learning_curves,
    show_activations,
    show_filters,
    show_image_grid,
)
from tlkit.training import merge_histories  # noqa: E402

HISTORY = {"loss": [1.0, 0.8, 0.7], "accuracy": [0.5, 0.6, 0.65], "val_loss": [1.1, 0.9, 0.85], "val_accuracy": [0.4, 0.5, 0.55]}


def test_learning_curves_one_panel_per_metric_with_validation():
    figure = plot_learning_curves(HISTORY)
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2
    assert [len(ax.lines) for ax in figure.axes] == [2, 2]
    assert figure.axes[0].get_xlabel() == "epoch"
    assert figure.axes[0].get_title() == "Accuracy"
    assert list(figure.axes[0].lines[0].get_xdata()) == [1, 2, 3]


def test_merged_history_draws_the_fine_tuning_marker():
    merged = merge_histories(HISTORY, {k: v[:2] for k, v in HISTORY.items()})
    figure = plot_learning_curves(merged)
    for ax in figure.axes:
        assert len(ax.lines) == 3
        marker = ax.lines[-1]
        assert marker.get_label() == "fine-tuning starts"
        assert list(marker.get_xdata()) == [3.5, 3.5]


def test_explicit_marker_and_single_metric_and_history_object():
    class FakeHistory:
        history = {"loss": [1.0, 0.5, 0.4, 0.3]}

    figure = plot_learning_curves(FakeHistory(), fine_tune_start=1, metrics="loss", title="Run")
    assert len(figure.axes) == 1 and len(figure.axes[0].lines) == 2
    assert figure._suptitle.get_text() == "Run"


def test_learning_curve_errors():
    with pytest.raises(UnknownNameError, match="'loss'"):
        plot_learning_curves({"loss": [1.0]}, metrics=("auc",))
    with pytest.raises(PlotArgumentError, match="fine_tune_start"):
        plot_learning_curves(HISTORY, fine_tune_start=3)
    with pytest.raises(PlotArgumentError):
        plot_learning_curves([1, 2, 3])


def test_accuracy_vs_labels_one_error_bar_line_per_strategy():
    results = {
        "scratch": {5: [0.80, 0.84, 0.82], 10: [0.85, 0.86], 50: [0.92]},
        "frozen base": {5: [0.45, 0.47], 50: [0.85, 0.84]},
    }
    figure = plot_accuracy_vs_labels(results, chance=0.2)
    ax = figure.axes[0]
    assert len(figure.axes) == 1
    assert len(ax.containers) == 2
    scratch = ax.containers[0]
    np.testing.assert_allclose(np.asarray(scratch.lines[0].get_ydata(), dtype=float), [0.82, 0.855, 0.92])
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["chance", "scratch", "frozen base"]
    assert "labelled examples per class" in ax.get_xlabel()


@pytest.mark.parametrize(
    "results",
    [{}, {"a": {0: [0.5]}}, {"a": {5: [1.5]}}, {"a": {5: []}}, {"a": [0.5]}, {"a": {"5": [0.5]}}],
)
def test_accuracy_vs_labels_rejects_other_formats(results):
    with pytest.raises(PlotArgumentError):
        plot_accuracy_vs_labels(results)


def test_image_grid_has_a_row_per_class_and_is_reproducible():
    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, (30, 8, 8, 1), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 10)
    labels[:8] = 1  # class 0 keeps only 2 images
    figure = show_image_grid(images, labels, ["a", "b", "c"], per_class=4, seed=3)
    assert len(figure.axes) == 12
    assert [len(ax.images) for ax in figure.axes[:4]] == [1, 1, 0, 0]
    assert figure.axes[4].get_ylabel() == "b"
    again = show_image_grid(images, labels, ["a", "b", "c"], per_class=4, seed=3)
    np.testing.assert_array_equal(figure.axes[5].images[0].get_array(), again.axes[5].images[0].get_array())
    with pytest.raises(InputShapeError):
        show_image_grid(images, labels[:5], ["a", "b", "c"])
    with pytest.raises(InputShapeError, match="class names"):
        show_image_grid(images, labels, ["a", "b"])


keras = pytest.importorskip("keras")


def small_cnn():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(5, 3, name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(4, name="dense")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def test_filters_one_axes_per_filter():
    model = small_cnn()
    figure = show_filters(model.get_layer("conv1"), columns=3)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 5 and len(figure.axes) == 6
    with pytest.raises(PlotArgumentError, match="Conv2D"):
        show_filters(model.get_layer("dense"))


def test_activations_one_row_per_layer():
    model = small_cnn()
    image = np.ones((8, 8, 1), np.float32)
    figure = show_activations(model, image, ["conv1", "pool", "dense"], max_channels=4)
    assert len(figure.axes) == 3 * 4
    assert sum(len(ax.images) for ax in figure.axes) == 4 + 4 + 1
    with pytest.raises(UnknownNameError, match="'conv9'"):
        show_activations(model, image, ["conv9"])
    with pytest.raises(InputShapeError, match=r"\(8, 8, 1\)"):
        show_activations(model, np.ones((9, 9, 1)), "conv1")
