"""Figures for putting a model to work: augmented samples, predictions, a confusion matrix, mistakes.

Like every figure of :mod:`tlkit.plots`, each function returns a figure made with
:func:`tlkit.plots.style.new_figure`, which a notebook shows as a PNG image
exactly once, and shows nothing by itself (``show=True`` calls
``plt.show()`` as well, for scripts).
"""

from __future__ import annotations

import numpy as np

from tlkit import variation
from tlkit.errors import InputShapeError
from tlkit.plots.style import finish, new_figure, style_context

__all__ = ["confusion_matrix", "plot_confusion_matrix", "show_augmented", "show_misclassified", "show_predictions", "show_varied"]


def _picture(image):
    """An image as matplotlib draws it: grey for one channel or three equal ones, 0-1 floats for colour."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 3 and np.allclose(image[..., 0], image[..., 1]) and np.allclose(
        image[..., 0], image[..., 2]
    ):
        image = image[..., :1]
    if image.ndim == 3 and image.shape[-1] == 1:
        return np.clip(image[..., 0], 0, 255), "gray"
    if image.ndim == 3 and image.shape[-1] == 3:
        return np.clip(image / 255.0, 0.0, 1.0), None
    raise InputShapeError(f"cannot draw an image of shape {image.shape}; expected (h, w, 1) or (h, w, 3)")


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_augmented(images, augmentation, copies: int = 6, seed: int = 0, show: bool = False):
    """Each image in the first column, then ``copies`` randomly augmented versions of it.

    Parameters
    ----------
    images : array-like
        A few images, shape (n, h, w, c), pixel values 0-255.
    augmentation : callable
        A Keras layer or model of random augmentation layers; it is called with
        ``training=True`` so that it really transforms.
    copies : int, default 6
        Augmented versions per image.
    seed : int, default 0
        Seeds Keras' random generator, so the same call draws the same picture.
    """
    import keras

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise InputShapeError(f"show_augmented: expected images of shape (n, h, w, c), got {images.shape}")
    keras.utils.set_random_seed(seed)
    rows = [
        [image] + [keras.ops.convert_to_numpy(augmentation(image[None], training=True))[0] for _ in range(copies)]
        for image in images
    ]
    return _versions_grid(rows, ["original"] + [""] * (len(images) - 1),
                          "Data augmentation: every epoch sees a different random version",
                          figsize=(1.2 * (copies + 1), 1.25 * len(images)), show=show)


def _versions_grid(rows, row_titles, title, figsize, show):
    """One row per image: the image itself, then its versions; ``row_titles`` go above the first column."""
    with style_context():
        figure = new_figure(show, figsize=figsize, layout="constrained")
        grid = figure.subplots(len(rows), len(rows[0]), squeeze=False)
        for row, (versions, row_title) in enumerate(zip(rows, row_titles)):
            for column, version in enumerate(versions):
                picture, colour_map = _picture(version)
                grid[row][column].imshow(picture, cmap=colour_map, vmin=0 if colour_map else None,
                                         vmax=255 if colour_map else None)
                _bare(grid[row][column])
            grid[row][0].set_title(row_title, fontsize=9)
        figure.suptitle(title)
    return finish(figure, show)


def show_varied(images, class_names=None, copies: int = 5, seed: int = 0, show: bool = False):
    """Each centred image in the first column, then ``copies`` customer-photo versions of it (:func:`tlkit.variation.vary`).

    Parameters
    ----------
    images : array-like
        A few images, shape (n, h, w, 1), pixel values 0-255.
    class_names : sequence of str, optional
        One name per image, written above its row's first picture.
    copies : int, default 5
        Varied versions per image; version ``i`` uses seed ``seed + i``.
    seed : int, default 0
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise InputShapeError(f"show_varied: expected grey images of shape (n, h, w, 1), got {images.shape}")
    if class_names is not None and len(class_names) != len(images):
        raise InputShapeError(f"show_varied: {len(class_names)} class names for {len(images)} images")
    batches = [images] + [variation.vary(images, seed=seed + copy) for copy in range(copies)]
    rows = [[batch[row] for batch in batches] for row in range(len(images))]
    return _versions_grid(rows, list(class_names) if class_names is not None else [""] * len(images),
                          "Catalogue shot (left) and the same item as customers photograph it",
                          figsize=(1.2 * (copies + 1), 1.3 * len(images) + 0.4), show=show)


def show_predictions(images, true_labels, probabilities, class_names, columns: int = 5, show: bool = False):
    """Images with the predicted class (and its probability) over the true one; mistakes in red."""
    images = np.asarray(images)
    true_labels = np.asarray(true_labels)
    probabilities = np.asarray(probabilities)
    if len(images) != len(true_labels) or probabilities.shape != (len(images), len(class_names)):
        raise InputShapeError(
            f"show_predictions: {len(images)} images, {len(true_labels)} labels and probabilities of shape "
            f"{probabilities.shape} for {len(class_names)} classes do not fit together"
        )
    predicted = probabilities.argmax(axis=1)
    rows = max(1, -(-len(images) // columns))
    with style_context():
        figure = new_figure(show, figsize=(2.0 * columns, 2.2 * rows), layout="constrained")
        grid = figure.subplots(rows, columns, squeeze=False)
        for position, ax in enumerate(grid.flat):
            _bare(ax)
            if position >= len(images):
                ax.set_visible(False)
                continue
            picture, colour_map = _picture(images[position])
            ax.imshow(picture, cmap=colour_map, vmin=0 if colour_map else None, vmax=255 if colour_map else None)
            guess, truth = predicted[position], true_labels[position]
            ax.set_title(
                f"{class_names[guess]} ({probabilities[position, guess]:.0%})\ntrue: {class_names[truth]}",
                fontsize=8,
                color="#1a7f37" if guess == truth else "#cf222e",
            )
        figure.suptitle("Predicted class (probability) and true class")
    return finish(figure, show)


def confusion_matrix(true_labels, predicted_labels, num_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    true_labels = np.asarray(true_labels, dtype=np.int64)
    predicted_labels = np.asarray(predicted_labels, dtype=np.int64)
    if true_labels.shape != predicted_labels.shape:
        raise InputShapeError(
            f"confusion_matrix: {true_labels.shape} true labels but {predicted_labels.shape} predictions"
        )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true_labels, predicted_labels), 1)
    return matrix


def plot_confusion_matrix(true_labels, predicted_labels, class_names, title: str = "Confusion matrix", show: bool = False):
    """The confusion matrix as a grid of counts: rows are true classes, columns predicted ones."""
    matrix = confusion_matrix(true_labels, predicted_labels, len(class_names))
    with style_context():
        figure = new_figure(show, figsize=(5.2, 4.4), layout="constrained")
        ax = figure.subplots()
        ax.imshow(matrix, cmap="Blues")
        ax.grid(False)
        ticks = np.arange(len(class_names))
        ax.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
        ax.set_yticks(ticks, labels=class_names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            ax.text(column, row, str(count), ha="center", va="center",
                    color="white" if count > threshold else "black", fontsize=9)
        accuracy = np.trace(matrix) / max(matrix.sum(), 1)
        ax.set_title(f"{title} ({matrix.sum()} images, accuracy {accuracy:.0%})")
    return finish(figure, show)


def show_misclassified(images, true_labels, probabilities, class_names, limit: int = 10, columns: int = 5,
                       show: bool = False):
    """The misclassified images, most confident mistakes first (at most ``limit``)."""
    probabilities = np.asarray(probabilities)
    true_labels = np.asarray(true_labels)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != true_labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:limit]
    if wrong.size == 0:
        with style_context():
            figure = new_figure(show, figsize=(4, 1))
            figure.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return finish(figure, show)
    figure = show_predictions(np.asarray(images)[wrong], true_labels[wrong], probabilities[wrong], class_names,
                              columns=min(columns, wrong.size), show=False)
    figure.suptitle(f"The {wrong.size} most confident mistakes")
    return finish(figure, show)
