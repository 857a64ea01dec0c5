"""Exercises for notebook 06: put it to work (your own folder of images, VGG16, saving).

Usage in the notebook::

    from tlkit.exercises import nb06_put_it_to_work as ex
    ex.bind(globals())
    ex.q1.check()   # ex.q1.hint(), ex.q1.solution()

Variables the questions read (all of them values the grader can save:
models, arrays, strings): ``class_names``, ``batch_shape``, ``x_val`` and
``y_val``, which the notebook takes from the student's ``train_ds`` and
``val_ds``, with ``IMAGE_SIZE``, ``BATCH_SIZE`` and ``IMAGES_PER_CLASS``
(q1); ``model`` built on ``base`` and ``head`` (q2, q3); ``x_val`` /
``y_val`` (q3); ``model_file`` (a string) and ``reloaded`` (q4).

When grading, q2-q4 are judged on images the grader's checker loads itself
(:func:`grader_data`), never on the ``x_val``/``y_val`` a submission hands over.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np

from tlkit import keras_internals
from tlkit.exercises import predicates as check
from tlkit.exercises.core import Exercise, Failure, Question, first_failure

__all__ = [
    "ACCURACY_THRESHOLD", "BuildModel", "COMPARED_IMAGES", "LoadFolder", "NUM_CLASSES", "SaveAndReload",
    "GRADER_IMAGES_PER_CLASS", "GRADER_IMAGE_SIZE", "TrainHead", "VALIDATION_SPLIT", "bind", "exercise", "grader_data",
]

NUM_CLASSES = 5
VALIDATION_SPLIT = 0.3
ACCURACY_THRESHOLD = 0.70
#: images compared between the student's model and the reference computation
COMPARED_IMAGES = 8
#: The images the grader judges q2-q4 on: the notebook's "new photos" (test images, never trained on), per class...
GRADER_IMAGES_PER_CLASS = 40
#: ...read at the notebook's image size.
GRADER_IMAGE_SIZE = (32, 32)


class LoadFolder(Question):
    # The datasets themselves cannot be saved for the grader; the check reads what the cells after the
    # answer take from them: the class names, the shape of one training batch, the validation arrays.
    variable = ("class_names", "batch_shape", "x_val", "y_val")
    context = ("IMAGE_SIZE", "BATCH_SIZE", "IMAGES_PER_CLASS")
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

    def check_value(self, class_names, batch_shape, x_val, y_val, IMAGE_SIZE, BATCH_SIZE, IMAGES_PER_CLASS) -> Failure | None:
        names = list(class_names) if isinstance(class_names, (list, tuple)) else None
        if names is None or len(names) != NUM_CLASSES or not all(isinstance(name, str) for name in names):
            return Failure(f"`class_names` should list the {NUM_CLASSES} sub-folder names (train_ds.class_names).",
                           "function")
        x_val, y_val = np.asarray(x_val), np.asarray(y_val)
        size = tuple(IMAGE_SIZE)
        if x_val.ndim != 4:
            return Failure(f"the validation images have shape {x_val.shape}; expected (images, height, width, 3).",
                           "function")
        if tuple(x_val.shape[1:3]) != size:
            return Failure(f"your datasets yield {x_val.shape[1]}x{x_val.shape[2]} images; the model takes "
                           f"{size[0]}x{size[1]}.", "image_size")
        if x_val.shape[3] != 3:
            return Failure(f"your datasets yield images with {x_val.shape[3]} channel(s); VGG16 needs 3.", "color_mode")
        if y_val.ndim != 1 or y_val.dtype.kind not in "iu":
            return Failure(f"your datasets yield labels of shape {tuple(y_val.shape[1:]) or '()'} per image and type "
                           f"{y_val.dtype.name}; expected one integer per image.", "label_mode")
        total = NUM_CLASSES * int(IMAGES_PER_CLASS)
        expected_val = int(VALIDATION_SPLIT * total)
        if len(y_val) != expected_val:
            return Failure(f"`val_ds` holds {len(y_val)} images; 30% of the folder's {total} images are {expected_val}.",
                           "split")
        shape = list(batch_shape) if isinstance(batch_shape, (list, tuple)) else []
        if not shape or int(shape[0]) != int(BATCH_SIZE):
            return Failure(f"a training batch holds {shape[0] if shape else '?'} images; expected batches of "
                           f"{BATCH_SIZE}.", "batch_size")
        return None


def _pooling_layers(model):
    import keras

    return [layer for layer in keras_internals.flattened_layers(model, include_self=False)
            if isinstance(layer, keras.layers.GlobalAveragePooling2D)]


class BuildModel(Question):
    variable = "model"
    context = ("base", "head", "x_val")
    #: When grading, the checker passes its own images as ``x_val`` (and ``y_val``): see :func:`grader_data`.
    grader_data = "grader_data"
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
            lambda: check.is_built_keras_model(model, "model"),
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
            check.remember_weights(self.exercise.memory, "base_weights", base)
            check.remember_weights(self.exercise.memory, "head_weights", head)
        return failure

    @staticmethod
    def _has_bottleneck(model) -> Failure | None:
        import keras

        if _pooling_layers(model):
            return None
        flattens = [layer for layer in keras_internals.flattened_layers(model, include_self=False) if isinstance(layer, keras.layers.Flatten)]
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
    #: When grading, the checker passes its own images as ``x_val`` (and ``y_val``): see :func:`grader_data`.
    grader_data = "grader_data"
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
            lambda: check.is_keras_model(head, "head"),
            lambda: check.contains_layer(model, head, "model", "head", hint_key="not_trained"),
            lambda: self._head_trained(head),
            lambda: check.accuracy_at_least(model, x_val, y_val, self.threshold, "model"),
            lambda: self._base_unchanged(base),
        )

    def _head_trained(self, head) -> Failure | None:
        before = self.exercise.memory.get("head_weights")
        if before is None:
            return Failure("check q2 first: it keeps a copy of the head's weights to compare with.", "not_trained")
        now = [np.asarray(variable.numpy()) for variable in head.weights]
        earlier = [before[variable.path] for variable in head.weights if variable.path in before]
        if len(earlier) != len(now):  # the paths differ: compare in order
            earlier = list(before.values())
        if len(earlier) == len(now) and all(np.array_equal(a, b) for a, b in zip(now, earlier)):
            return Failure("`head` has not been trained on the cached features yet: compile it and call head.fit(...).",
                           "not_trained")
        return None

    def _base_unchanged(self, base) -> Failure | None:
        snapshot = self.exercise.memory.get("base_weights")
        if snapshot is None:
            return Failure("check q2 first: it keeps a copy of the body's weights to compare with.", "not_trained")
        return check.weights_unchanged(base, snapshot, "base", "the weights q2 saw")


class SaveAndReload(Question):
    variable = ("model_file", "reloaded")
    context = ("model", "x_val")
    #: When grading, the checker passes its own images as ``x_val`` (and ``y_val``): see :func:`grader_data`.
    grader_data = "grader_data"
    hints = [
        ("suffix", "Save in Keras' own format: a file name ending in .keras, e.g. model.save(model_file)."),
        ("saved", "Call model.save(model_file) before loading it."),
        ("load", "reloaded = keras.models.load_model(model_file) reads the file back into a new model."),
        ("same", "Save the model after training (q3), and load that file: the reloaded model must predict exactly "
                 "what `model` predicts."),
    ]
    solution = """
    model_file = f"{save_folder}/my_classifier.keras"
    model.save(model_file)
    reloaded = keras.models.load_model(model_file)
    """
    correct_message = "the .keras file holds the whole model: the reloaded copy predicts exactly the same classes."

    def check_value(self, model_file, reloaded, model, x_val) -> Failure | None:
        if not isinstance(model_file, str):
            return Failure(f"`model_file` should be the file's name as a string (it is a {type(model_file).__name__}); "
                           "build it with an f-string or os.path.join.", "suffix")
        path = pathlib.Path(model_file)
        if path.suffix != ".keras":
            return Failure(f"`model_file` is {path.name!r}; save in the .keras format (a name ending in .keras).",
                           "suffix")
        failure = check.is_keras_model(reloaded, "reloaded", hint_key="load")
        if failure is not None:
            return failure
        if reloaded is model:
            return Failure("`reloaded` is the very same object as `model`; load a new one from the file with "
                           "keras.models.load_model(model_file).", "load")
        images = np.asarray(x_val[: 4 * COMPARED_IMAGES])
        mine = np.asarray(model.predict(images, verbose=0))
        theirs = np.asarray(reloaded.predict(images, verbose=0))
        if mine.shape == theirs.shape and np.array_equal(mine.argmax(axis=1), theirs.argmax(axis=1)) and np.allclose(
            mine, theirs, atol=1e-5
        ):
            return None
        if not path.is_file():
            return Failure(f"there is no file {path.name!r}: call model.save(model_file), then load it.", "saved")
        return Failure("`reloaded` predicts differently from `model`: was the file saved before the last "
                       "training? Save again and reload.", "same")


def grader_data() -> dict:
    """The notebook's "new photos", read by the grader itself the way the notebook reads a folder.

    The grader's checker (a fresh process) passes these to q2-q4 in place of
    the notebook's ``x_val`` and ``y_val``, which a submission controls (an
    empty ``x_val`` would make every comparison vacuous, validation labels set
    to the model's own predictions would make any model accurate). They are
    the :data:`GRADER_IMAGES_PER_CLASS` test images per class the notebook
    writes to its ``new_photos`` folder (never trained on), written to a
    temporary folder and read back with
    ``keras.utils.image_dataset_from_directory`` at :data:`GRADER_IMAGE_SIZE`
    in RGB, so the labels follow the same alphabetical class order as the
    student's datasets.
    """
    import tempfile

    import keras

    from tlkit import data

    target = data.target_task(data.load_fashion_mnist())
    with tempfile.TemporaryDirectory(prefix="tlkit-06-grader-") as folder:
        data.write_image_folder(data.few_shot(target.test, k=GRADER_IMAGES_PER_CLASS, seed=0), folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            images = keras.utils.image_dataset_from_directory(
                folder, image_size=GRADER_IMAGE_SIZE, batch_size=64, shuffle=False, color_mode="rgb",
                label_mode="int", verbose=False,
            )
        x_val = np.concatenate([np.asarray(batch) for batch, _ in images])
        y_val = np.concatenate([np.asarray(labels) for _, labels in images])
    return {"x_val": x_val, "y_val": y_val}


exercise = Exercise("nb06_put_it_to_work", q1=LoadFolder, q2=BuildModel, q3=TrainHead, q4=SaveAndReload)
q1, q2, q3, q4 = (exercise[name] for name in ("q1", "q2", "q3", "q4"))
bind = exercise.bind
