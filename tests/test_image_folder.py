"""data.write_image_folder writes what keras.utils.image_dataset_from_directory reads; the evaluation plots."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, plots
from tlkit.errors import InputShapeError


def _split(per_class=3, classes=("Sandal", "Bag", "T-shirt/top")):
    generator = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(classes)), per_class)
    images = generator.integers(0, 256, size=(len(labels), 28, 28, 1), dtype=np.uint8)
    return data.LabelledImages(images, labels.astype(np.int64), tuple(classes))


def test_writes_one_png_per_image_in_one_folder_per_class(tmp_path):
    split = _split()
    counts = data.write_image_folder(split, tmp_path / "photos")
    assert counts == {"Sandal": 3, "Bag": 3, "T-shirt-top": 3}
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["Bag", "Sandal", "T-shirt-top"]
    assert sorted(p.name for p in (tmp_path / "photos" / "Bag").iterdir()) == ["bag_0000.png", "bag_0001.png", "bag_0002.png"]


def test_pixels_survive_the_round_trip_through_keras(tmp_path):
    import keras

    split = _split()
    data.write_image_folder(split, tmp_path)
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path, image_size=(28, 28), color_mode="grayscale", shuffle=False, batch_size=100, verbose=False
    )
    images, labels = next(iter(dataset))
    # folders are read alphabetically: Bag, Sandal, T-shirt-top
    assert dataset.class_names == ["Bag", "Sandal", "T-shirt-top"]
    renamed = {1: 0, 0: 1, 2: 2}  # our label -> alphabetical label
    expected_labels = np.array([renamed[int(label)] for label in split.labels])
    order = np.argsort(expected_labels, kind="stable")
    np.testing.assert_array_equal(labels.numpy(), expected_labels[order])
    np.testing.assert_array_equal(images.numpy().astype(np.uint8), split.images[order])


def test_rgb_reading_gives_three_equal_channels(tmp_path):
    import keras

    data.write_image_folder(_split(per_class=1), tmp_path)
    images, _ = next(iter(keras.utils.image_dataset_from_directory(tmp_path, image_size=(32, 32), verbose=False)))
    assert images.shape[1:] == (32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_custom_names_and_their_mistakes(tmp_path):
    split = _split(classes=("a", "b", "c"))
    assert data.write_image_folder(split, tmp_path, ["x", "y", "z"]) == {"x": 3, "y": 3, "z": 3}
    with pytest.raises(InputShapeError, match="2 class names"):
        data.write_image_folder(split, tmp_path / "short", ["x", "y"])
    with pytest.raises(InputShapeError, match="share a folder"):
        data.write_image_folder(split, tmp_path / "same", ["a/b", "a-b", "c"])


def test_confusion_matrix_counts():
    matrix = plots.evaluation.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(InputShapeError):
        plots.evaluation.confusion_matrix([0, 1], [0], 2)


def test_evaluation_figures_render_as_png():
    import keras

    images = np.random.default_rng(0).uniform(0, 255, size=(6, 32, 32, 3)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    probabilities = np.eye(3)[[0, 2, 2, 1, 1, 2]] * 0.8 + 0.2 / 3
    names = ["a", "b", "c"]
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal")])
    figures = [
        plots.show_augmented(images[:2], augmentation, copies=3),
        plots.show_predictions(images, labels, probabilities, names),
        plots.plot_confusion_matrix(labels, probabilities.argmax(1), names),
        plots.show_misclassified(images, labels, probabilities, names),
        plots.show_misclassified(images, probabilities.argmax(1), probabilities, names),
    ]
    for figure in figures:
        assert figure._repr_png_().startswith(b"\x89PNG")
    assert "2 most confident mistakes" in figures[3]._suptitle.get_text()
