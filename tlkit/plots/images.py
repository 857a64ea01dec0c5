"""Images, convolution filters and activations."""

from __future__ import annotations

import math
import numbers

import numpy as np

from tlkit.errors import InputShapeError, UnknownNameError
from tlkit.model_structure import declared_inputs
from tlkit.plots.style import PlotArgumentError, finish, new_figure, style_context

__all__ = ["show_activations", "show_filters", "show_image_grid"]


def _displayable(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Drop a single channel axis; return the image and the colour map to use."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image, "gray"
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        if image.dtype.kind == "f" and image.max(initial=0) > 1:
            image = image / 255.0
        return image, None
    raise InputShapeError(f"cannot draw an image of shape {image.shape}; expected (h, w), (h, w, 1) or (h, w, 3)")


def show_image_grid(images, labels, class_names, per_class: int = 5, seed: int = 0, show: bool = False):
    """Show a few randomly chosen example images of every class, one row per class.

    Parameters
    ----------
    images : numpy.ndarray
        Images of shape (n, height, width) or (n, height, width, 1 or 3).
    labels : numpy.ndarray
        Integer class of each image, shape (n,).
    class_names : sequence of str
        Name of each class; ``class_names[c]`` labels row ``c``.
    per_class : int, default 5
        Examples per row. A class with fewer images leaves the rest empty.
    seed : int, default 0
        Seed of the random choice, so the same call shows the same images.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(class_names)`` rows times ``per_class`` columns of axes.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim not in (3, 4) or labels.ndim != 1 or len(images) != len(labels):
        raise InputShapeError(
            f"show_image_grid: expected images (n, h, w[, c]) and labels (n,), "
            f"got {images.shape} and {labels.shape}"
        )
    if not isinstance(per_class, numbers.Integral) or per_class < 1:
        raise PlotArgumentError(f"show_image_grid: per_class must be a positive int, got {per_class!r}")
    class_names = list(class_names)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise InputShapeError(
            f"show_image_grid: labels run from {labels.min()} to {labels.max()} but there are "
            f"{len(class_names)} class names"
        )
    generator = np.random.default_rng(seed)
    with style_context():
        figure = new_figure(
            show, figsize=(1.3 * per_class + 1.2, 1.3 * len(class_names)), layout="constrained"
        )
        grid = figure.subplots(len(class_names), per_class, squeeze=False)
        for row, name in enumerate(class_names):
            members = np.flatnonzero(labels == row)
            chosen = generator.choice(members, size=min(per_class, members.size), replace=False)
            for column, ax in enumerate(grid[row]):
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if column < chosen.size:
                    picture, colour_map = _displayable(images[chosen[column]])
                    ax.imshow(picture, cmap=colour_map)
            grid[row][0].set_ylabel(name, rotation=0, ha="right", va="center")
        figure.suptitle(f"{per_class} random examples per class (seed {seed})")
    return finish(figure, show)


def show_filters(conv_layer, max_filters: int = 32, columns: int = 8, show: bool = False):
    """Show the kernels of a (first) convolution layer as small images.

    Parameters
    ----------
    conv_layer : keras.layers.Conv2D
        A built convolution layer, e.g. ``model.get_layer("conv1")``.
        Each filter is drawn from its kernel: as a colour image when the
        layer reads 3 channels, otherwise averaged over input channels.
    max_filters : int, default 32
        Draw at most this many filters (the first ones).
    columns : int, default 8
        Filters per row.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per drawn filter, light = positive weights, dark = negative.
    """
    import keras

    if not isinstance(conv_layer, keras.layers.Conv2D):
        raise PlotArgumentError(
            f"show_filters: expected a Conv2D layer, got {type(conv_layer).__name__}"
            + (f" {conv_layer.name!r}" if hasattr(conv_layer, "name") else "")
        )
    if not conv_layer.built:
        raise PlotArgumentError(f"show_filters: layer {conv_layer.name!r} is not built yet, so it has no kernel")
    kernel = np.asarray(conv_layer.kernel.numpy())  # (height, width, in channels, filters)
    count = min(int(max_filters), kernel.shape[-1])
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    with style_context():
        figure = new_figure(show, figsize=(1.1 * columns, 1.1 * rows + 0.5), layout="constrained")
        grid = figure.subplots(rows, columns, squeeze=False)
        for position, ax in enumerate(grid.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if position >= count:
                ax.set_visible(False)
                continue
            weights = kernel[..., position]
            if weights.shape[-1] == 3:
                low, high = weights.min(), weights.max()
                ax.imshow((weights - low) / (high - low or 1.0))
            else:
                ax.imshow(weights.mean(axis=-1), cmap="gray")
            ax.set_title(str(position), fontsize=8)
        figure.suptitle(f"Filters of {conv_layer.name!r} ({count} of {kernel.shape[-1]})")
    return finish(figure, show)


def show_activations(model, image, layer_names, max_channels: int = 8, show: bool = False):
    """Show what some layers of a model output for one image (their feature maps).

    Parameters
    ----------
    model : keras.Model
        A built functional or Sequential model (for a base nested inside a
        bigger model, pass the base itself).
    image : numpy.ndarray
        One image, shaped like one input of the model, with or without the
        batch axis of size 1.
    layer_names : str or sequence of str
        Layers of ``model`` whose outputs are drawn, one row each.
    max_channels : int, default 8
        Feature maps (channels) drawn per layer; a Dense layer's output is
        drawn as one strip of its values instead.
    show : bool, default False
        Also call ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(layer_names)`` rows of axes, as many columns as the widest
        layer has channels, up to ``max_channels``.
    """
    import keras

    if isinstance(layer_names, str):
        layer_names = [layer_names]
    layer_names = list(layer_names)
    if not layer_names:
        raise PlotArgumentError("show_activations: give at least one layer name")
    known = [layer.name for layer in model.layers]
    unknown = [name for name in layer_names if name not in known]
    if unknown:
        raise UnknownNameError(
            f"show_activations: model {model.name!r} has no layer named "
            f"{', '.join(map(repr, unknown))}; its layers are: {', '.join(map(repr, known))}"
        )
    inputs = declared_inputs(model)
    if not inputs:
        raise PlotArgumentError(
            f"show_activations: model {model.name!r} has no defined input; build it with a keras.Input"
        )
    expected = tuple(inputs[0].shape[1:])
    batch = np.asarray(image)
    if batch.shape == expected:
        batch = batch[None]
    if batch.shape[1:] != expected or batch.shape[0] != 1:
        raise InputShapeError(
            f"show_activations: model {model.name!r} expects one image of shape {expected}, got {np.shape(image)}"
        )
    probe = keras.Model(inputs[0], [model.get_layer(name).output for name in layer_names])
    outputs = probe(batch, training=False)
    if len(layer_names) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    widest = max(np.shape(output)[-1] if len(np.shape(output)) == 4 else 1 for output in outputs)
    max_channels = max(1, min(int(max_channels), widest))
    with style_context():
        figure = new_figure(
            show, figsize=(1.3 * max_channels + 1.5, 1.5 * len(layer_names) + 0.5), layout="constrained"
        )
        grid = figure.subplots(len(layer_names), max_channels, squeeze=False)
        for row, (name, output) in enumerate(zip(layer_names, outputs)):
            values = np.asarray(output)[0]
            for ax in grid[row]:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            if values.ndim == 3:
                for channel, ax in enumerate(grid[row]):
                    if channel < values.shape[-1]:
                        ax.imshow(values[..., channel], cmap="viridis")
                    else:
                        ax.set_visible(False)
                grid[row][0].set_ylabel(f"{name}\n{values.shape[-1]} maps", rotation=0, ha="right", va="center")
            else:
                flat = values.reshape(1, -1)
                strip = grid[row][0]
                strip.imshow(flat, cmap="viridis", aspect="auto")
                strip.set_ylabel(f"{name}\n{flat.shape[1]} values", rotation=0, ha="right", va="center")
                for ax in grid[row][1:]:
                    ax.set_visible(False)
        figure.suptitle("Layer outputs for one image")
    return finish(figure, show)
