"""Exercises for notebook 06: put it to work (your own folder of images, VGG16, saving).

Usage in the notebook::

    from tlkit.exercises import nb06_put_it_to_work as ex
    ex.bind(globals())
    ex.q1.check()   # ex.q1.hint(), ex.q1.solution()

Variables the questions read: ``train_ds`` and ``val_ds`` with the
notebook's ``IMAGE_SIZE``, ``BATCH_SIZE``, ``photo_folder`` and
``IMAGES_PER_CLASS`` (q1); ``model`` built on ``base`` and ``head`` (q2,
q3); ``x_val`` / ``y_val`` (q3); ``model_file`` and ``reloaded`` (q4).
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np

from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

NUM_CLASSES = 5
VALIDATION_SPLIT = 0.3
ACCURACY_THRESHOLD = 0.70
#: images compared between the student's model and the reference computation
COMPARED_IMAGES = 8


def _dataset_types():
    import tensorflow as tf

    return tf.data.Dataset


def _spec_of(dataset):
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        return None
    return spec


def _count_images(dataset) -> int:
    return int(sum(int(np.shape(labels)[0]) for _, labels in dataset))


class LoadFolder(Question):
    variable = ("train_ds", "val_ds")
    context = ("photo_folder", "IMAGE_SIZE", "BATCH_SIZE", "IMAGES_PER_CLASS")
    hints = [
        ("function", "keras.utils.image_dataset_from_directory(photo_folder, validation_split=0.3, subset='both', "
                     "seed=0, ...) returns the training and the validation dataset at once."),
        ("image_size", "Pass image_size=IMAGE_SIZE: every image is resized to it as it is read."),
        ("color_mode", "VGG16 takes 3 colour channels; pass color_mode='rgb' (the default), which turns a grey "
                       "image into three equal channels."),
        ("label_mode", "Keep the labels as integers (label_mode='int', the default) for "
                       "sparse_categorical_crossentropy."),
        ("split", "Use validation_split=0.3 with subset='both' and the same seed, so the two datasets split the "
                  "folder's images between them without overlap."),
        ("batch_size", "Pass batch_size=BATCH_SIZE."),
    ]
    solution = """
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        photo_folder,
        validation_split=0.3,
        subset="both",
        seed=0,
        image_size=IMAGE_SIZE,
        batch_size=BATCH_SIZE,
        color_mode="rgb",
        label_mode="int",
    )
    """
    correct_message = "two batched datasets of (images, integer labels), split 70/30 from your folder."

    def check_value(self, train_ds, val_ds, photo_folder, IMAGE_SIZE, BATCH_SIZE, IMAGES_PER_CLASS) -> Failure | None:
        for name, dataset in (("train_ds", train_ds), ("val_ds", val_ds)):
            failure = self._one_dataset(name, dataset, tuple(IMAGE_SIZE), BATCH_SIZE)
            if failure is not None:
                return failure
        total = NUM_CLASSES * IMAGES_PER_CLASS
        expected_val = int(VALIDATION_SPLIT * total)
        train_count, val_count = _count_images(train_ds), _count_images(val_ds)
        if (train_count, val_count) != (total - expected_val, expected_val):
            return Failure(
                f"`train_ds` holds {train_count} images and `val_ds` {val_count}; a 70/30 split of the folder's "
                f"{total} images gives {total - expected_val} and {expected_val}.",
                "split",
            )
        return None

    @staticmethod
    def _one_dataset(name, dataset, image_size, batch_size) -> Failure | None:
        if not isinstance(dataset, _dataset_types()):
            return Failure(f"`{name}` should be a tf.data.Dataset, but it is a {type(dataset).__name__}.", "function")
        spec = _spec_of(dataset)
        if spec is None:
            return Failure(f"`{name}` should yield (images, labels) pairs; keep labels='inferred'.", "function")
        images, labels = spec
        shape = tuple(images.shape)
        if len(shape) != 4:
            return Failure(f"`{name}` yields images of shape {shape}; expected batches (batch, height, width, 3).",
                           "batch_size")
        if tuple(shape[1:3]) != image_size:
            return Failure(f"`{name}` yields {shape[1]}x{shape[2]} images; the model takes {image_size[0]}x"
                           f"{image_size[1]}.", "image_size")
        if shape[3] != 3:
            return Failure(f"`{name}` yields images with {shape[3]} channel(s); VGG16 needs 3.", "color_mode")
        if len(labels.shape) != 1 or not labels.dtype.is_integer:
            return Failure(f"`{name}` yields labels of shape {tuple(labels.shape)} and type {labels.dtype.name}; "
                           "expected one integer per image.", "label_mode")
        first_batch = next(iter(dataset))[1]
        if int(np.shape(first_batch)[0]) != batch_size:
            return Failure(f"the first batch of `{name}` has {int(np.shape(first_batch)[0])} images; expected "
                           f"batches of {batch_size}.", "batch_size")
        return None


def _pooling_layers(model):
    import keras

    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.GlobalAveragePooling2D)]


class BuildModel(Question):
    variable = "model"
    context = ("base", "head", "x_val")
    hints = [
        ("preprocess", "Right after the input (and the augmentation), apply "
                       "keras.applications.vgg16.preprocess_input(x): VGG16 expects its own preprocessing of 0-255 "
                       "pixels (BGR, mean subtracted), not Rescaling(1/255)."),
        ("bottleneck", "Between the base and the head, keras.layers.GlobalAveragePooling2D() turns each feature "
                       "map into one number: 512 features, whatever the image size."),
        ("reuse_base", "Call the loaded `base` itself on the preprocessed images: x = base(x, training=False)."),
        ("reuse_head", "End with the `head` defined above: outputs = head(x)."),
        ("freeze", "Freeze the base (base.trainable = False) before compiling."),
        ("compile", "Compile with an optimizer, loss='sparse_categorical_crossentropy' and metrics=['accuracy']."),
        ("from_logits", "`head` ends with a softmax: use a loss with from_logits=False (the default)."),
        ("type", "`model` should be a Keras model: keras.Model(inputs, outputs)."),
    ]
    solution = """
    inputs = keras.Input(shape=IMAGE_SIZE + (3,), name="image")
    x = augmentation(inputs)
    x = keras.applications.vgg16.preprocess_input(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="bottleneck")(x)
    outputs = head(x)
    model = keras.Model(inputs, outputs, name="vgg16_on_my_photos")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    """
    correct_message = "raw pixels in, VGG16's own preprocessing, the frozen body, a global-average bottleneck, the head."

    def check_value(self, model, base, head, x_val) -> Failure | None:
        failure = first_failure(
            lambda: check.is_keras_model(model, "model"),
            lambda: check.is_built(model, "model"),
            lambda: check.contains_layer(model, base, "model", "base"),
            lambda: check.contains_layer(model, head, "model", "head", hint_key="reuse_head"),
            lambda: check.all_frozen(base, "base"),
            lambda: self._has_bottleneck(model),
            lambda: check.head_matches_classes(model, NUM_CLASSES, "model"),
            lambda: check.is_compiled(model, "model"),
            lambda: check.activation_matches_loss(model, "model"),
            lambda: self._preprocesses_like_vgg16(model, base, x_val),
        )
        if failure is None:
            self.exercise.memory["base_weights"] = check._weight_snapshot(base)
        return failure

    @staticmethod
    def _has_bottleneck(model) -> Failure | None:
        import keras

        if _pooling_layers(model):
            return None
        flattens = [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, keras.layers.Flatten)]
        if flattens:
            return Failure("`model` flattens the base's feature maps; use keras.layers.GlobalAveragePooling2D() "
                           "instead: fewer weights in the head, and any image size works.", "bottleneck")
        return Failure("`model` has no GlobalAveragePooling2D layer between the base and the head.", "bottleneck")

    @staticmethod
    def _preprocesses_like_vgg16(model, base, x_val) -> Failure | None:
        import keras

        images = np.asarray(x_val[:COMPARED_IMAGES], dtype="float32")
        pooling = _pooling_layers(model)[0]
        try:
            student = keras.Model(model.inputs, pooling.output)
        except Exception:  # a Sequential inside a Sequential, say: fall back to the whole model
            return None
        with warnings.catch_warnings():  # Keras notes that a model built on a list of inputs got one array
            warnings.simplefilter("ignore", UserWarning)
            expected = np.asarray(base(keras.applications.vgg16.preprocess_input(images.copy()), training=False))
            actual = np.asarray(student(images, training=False))
        expected = expected.mean(axis=(1, 2))
        if actual.shape == expected.shape and np.allclose(actual, expected, rtol=1e-3, atol=1e-2 * (np.abs(expected).max() + 1e-6)):
            return None
        return Failure(
            "the features `model` gives the head are not those of VGG16 on correctly preprocessed images: "
            "apply keras.applications.vgg16.preprocess_input to the raw 0-255 pixels right before the base "
            "(and nothing else: no Rescaling(1/255)).",
            "preprocess",
        )


class TrainHead(Question):
    variable = "model"
    context = ("base", "head", "x_val", "y_val")
    threshold = ACCURACY_THRESHOLD
    hints = [
        ("not_trained", "Compile `head` and call head.fit(train_features, train_labels, epochs=HEAD_EPOCHS): "
                        "the head inside `model` is that very object, so `model` improves too."),
        ("accuracy", "Train the head for more epochs (HEAD_EPOCHS) on the cached features, with Adam(1e-3) and "
                     "sparse_categorical_crossentropy."),
        ("frozen_changed", "The base's weights moved: it must stay frozen (base.trainable = False) while you train."),
        ("compile", "`model` must be compiled (q2) for its accuracy to be measured."),
        ("type", "`model` should be the Keras model you built in q2."),
    ]
    solution = """
    head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    head_history = head.fit(
        train_features, train_labels, epochs=HEAD_EPOCHS, batch_size=BATCH_SIZE,
        validation_data=(val_features, val_labels), verbose=0,
    )
    """

    @property
    def correct_message(self) -> str:
        return f"at least {self.threshold:.0%} accuracy on the validation images, and the frozen body did not move."

    def check_value(self, model, base, head, x_val, y_val) -> Failure | None:
        return first_failure(
            lambda: check.is_keras_model(model, "model"),
            lambda: check.contains_layer(model, head, "model", "head", hint_key="not_trained"),
            lambda: self._head_trained(head),
            lambda: check.accuracy_at_least(model, x_val, y_val, self.threshold, "model"),
            lambda: self._base_unchanged(base),
        )

    @staticmethod
    def _head_trained(head) -> Failure | None:
        optimizer = getattr(head, "optimizer", None)
        if optimizer is not None and int(np.asarray(optimizer.iterations)) > 0:
            return None
        return Failure("`head` has not been trained on the cached features yet: compile it and call head.fit(...).",
                       "not_trained")

    def _base_unchanged(self, base) -> Failure | None:
        snapshot = self.exercise.memory.get("base_weights")
        if snapshot is None:
            return Failure("check q2 first: it keeps a copy of the body's weights to compare with.", "not_trained")
        return check.weights_unchanged(base, snapshot, "base", "the weights q2 saw")


class SaveAndReload(Question):
    variable = ("model_file", "reloaded")
    context = ("model", "x_val")
    hints = [
        ("suffix", "Save in Keras' own format: a file name ending in .keras, e.g. model.save(model_file)."),
        ("saved", "Call model.save(model_file) before loading it."),
        ("load", "reloaded = keras.models.load_model(model_file) reads the file back into a new model."),
        ("same", "Save the model after training (q3), and load that file: the reloaded model must predict exactly "
                 "what `model` predicts."),
    ]
    solution = """
    model_file = save_folder / "my_classifier.keras"
    model.save(model_file)
    reloaded = keras.models.load_model(model_file)
    """
    correct_message = "the .keras file holds the whole model: the reloaded copy predicts exactly the same classes."

    def check_value(self, model_file, reloaded, model, x_val) -> Failure | None:
        path = pathlib.Path(model_file)
        if path.suffix != ".keras":
            return Failure(f"`model_file` is {path.name!r}; save in the .keras format (a name ending in .keras).",
                           "suffix")
        if not path.is_file():
            return Failure(f"there is no file {path.name!r} yet: call model.save(model_file).", "saved")
        failure = check.is_keras_model(reloaded, "reloaded", hint_key="load")
        if failure is not None:
            return failure
        if reloaded is model:
            return Failure("`reloaded` is the very same object as `model`; load a new one from the file with "
                           "keras.models.load_model(model_file).", "load")
        images = np.asarray(x_val[: 4 * COMPARED_IMAGES])
        mine = np.asarray(model.predict(images, verbose=0))
        theirs = np.asarray(reloaded.predict(images, verbose=0))
        if mine.shape != theirs.shape or not np.array_equal(mine.argmax(axis=1), theirs.argmax(axis=1)) or not np.allclose(
            mine, theirs, atol=1e-5
        ):
            return Failure("`reloaded` predicts differently from `model`: was the file saved before the last "
                           "training? Save again and reload.", "same")
        return None


exercise = Exercise("nb06_put_it_to_work", q1=LoadFolder, q2=BuildModel, q3=TrainHead, q4=SaveAndReload)
q1, q2, q3, q4 = (exercise[name] for name in ("q1", "q2", "q3", "q4"))
bind = exercise.bind
