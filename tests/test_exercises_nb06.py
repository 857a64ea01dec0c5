"""Notebook 06 exercises: right answers pass, placeholders are not attempted, typical mistakes fail
with the hint that fits."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from exercise_helpers import assert_incorrect
from tlkit import data
from tlkit.exercises import nb06_put_it_to_work as ex
from tlkit.exercises.core import PLACEHOLDER

warnings.filterwarnings("ignore", message=".*(trainable|structure of `inputs`).*")

IMAGE_SIZE = (32, 32)
PER_CLASS = 10


# -- q1: read the folder -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    generator = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), PER_CLASS).astype(np.int64)
    images = generator.integers(0, 256, size=(len(labels), 28, 28, 1), dtype=np.uint8)
    data.write_image_folder(data.LabelledImages(images, labels, tuple("abcde")), folder)
    return folder


def read(folder, **overrides):
    arguments = dict(validation_split=0.3, subset="both", seed=0, image_size=IMAGE_SIZE, batch_size=8, verbose=False)
    arguments.update(overrides)
    return keras.utils.image_dataset_from_directory(folder, **arguments)


def take(namespace, datasets):
    """What the notebook's cells after the answer take from the datasets."""
    train_ds, val_ds = datasets
    images, _ = next(iter(train_ds))
    namespace.update(
        class_names=train_ds.class_names,
        batch_shape=tuple(images.shape),
        x_val=np.concatenate([batch.numpy() for batch, _ in val_ds]),
        y_val=np.concatenate([labels.numpy() for _, labels in val_ds]),
    )


@pytest.fixture
def q1_namespace(namespace):
    namespace.update(IMAGE_SIZE=IMAGE_SIZE, BATCH_SIZE=8, IMAGES_PER_CLASS=PER_CLASS)
    return namespace


def test_q1_correct_and_placeholder(q1_namespace, photo_folder):
    q1_namespace["class_names"] = PLACEHOLDER
    assert ex.q1.check().status == "not_attempted"
    take(q1_namespace, read(photo_folder))
    assert ex.q1.check().status == "correct"


@pytest.mark.parametrize(
    "overrides, words, hint",
    [
        ({"image_size": (28, 28)}, ["28x28", "32x32"], "image_size"),
        ({"color_mode": "grayscale"}, ["1 channel", "VGG16 needs 3"], "color_mode"),
        ({"label_mode": "categorical"}, ["labels of shape (5,)"], "label_mode"),
        ({"batch_size": 16}, ["holds 16 images", "batches of 8"], "batch_size"),
        ({"validation_split": 0.5}, ["holds 25 images", "are 15"], "split"),
    ],
)
def test_q1_mistakes_get_their_hint(q1_namespace, photo_folder, overrides, words, hint):
    take(q1_namespace, read(photo_folder, **overrides))
    assert_incorrect(ex.q1, ex.q1.check(), *words, hint=hint)


def test_q1_class_names_missing_from_the_dataset(q1_namespace, photo_folder):
    take(q1_namespace, read(photo_folder))
    q1_namespace["class_names"] = "abcde"
    assert_incorrect(ex.q1, ex.q1.check(), "sub-folder names", hint="function")


# -- q2: the model ----------------------------------------------------------------------------------
def tiny_vgg_like(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        # the Rescaling keeps the features small, so that a trained head is not saturated
        [keras.Input((32, 32, 3)), keras.layers.Rescaling(0.01), keras.layers.Conv2D(8, 3, activation="relu"),
         keras.layers.MaxPooling2D(4)],
        name="base",
    )


def new_head():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, activation="softmax")], name="head")


def build(base, head, preprocess="vgg16", pooling="average", compile_it=True):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    if preprocess == "vgg16":
        x = keras.applications.vgg16.preprocess_input(x)
    elif preprocess == "rescale":
        x = keras.layers.Rescaling(1 / 255)(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x) if pooling == "average" else keras.layers.Flatten()(x)
    if pooling != "average":
        x = keras.layers.Dense(8)(x)
    model = keras.Model(inputs, head(x))
    if compile_it:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def q2_namespace(namespace):
    base = tiny_vgg_like()
    base.trainable = False
    head = new_head()
    x_val = np.random.default_rng(1).uniform(0, 255, size=(20, 32, 32, 3)).astype("float32")
    namespace.update(base=base, head=head, x_val=x_val, y_val=np.zeros(20, dtype=np.int64))
    return namespace


def test_q2_correct(q2_namespace):
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"])
    assert ex.q2.check().status == "correct"


def test_q2_rescaling_instead_of_vgg16_preprocessing(q2_namespace):
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"], preprocess="rescale")
    assert_incorrect(ex.q2, ex.q2.check(), "preprocess_input", "no Rescaling(1/255)", hint="preprocess")
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"], preprocess=None)
    assert_incorrect(ex.q2, ex.q2.check(), "not those of VGG16", hint="preprocess")


def test_q2_flatten_instead_of_global_average_pooling(q2_namespace):
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"], pooling="flatten")
    assert_incorrect(ex.q2, ex.q2.check(), "flattens", "GlobalAveragePooling2D", hint="bottleneck")


def test_q2_unfrozen_base_other_head_and_no_compile(q2_namespace):
    q2_namespace["base"].trainable = True
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"])
    assert_incorrect(ex.q2, ex.q2.check(), "trainable", hint="freeze")
    q2_namespace["base"].trainable = False
    q2_namespace["model"] = build(q2_namespace["base"], new_head())
    assert_incorrect(ex.q2, ex.q2.check(), "does not contain `head`", hint="reuse_head")
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"], compile_it=False)
    assert_incorrect(ex.q2, ex.q2.check(), "compile", hint="compile")


# -- q3: train the head on cached features ---------------------------------------------------------
def train_head(head, features, labels, epochs=30):
    head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    head.fit(features, labels, epochs=epochs, verbose=0)


def cached_features(base, images):
    return np.asarray(base(keras.applications.vgg16.preprocess_input(images.copy()), training=False)).mean(axis=(1, 2))


def test_q3_untrained_trained_and_moved_base(q2_namespace):
    model = build(q2_namespace["base"], q2_namespace["head"])
    q2_namespace["model"] = model
    assert ex.q2.check().status == "correct"  # keeps a copy of the base's weights
    assert_incorrect(ex.q3, ex.q3.check(), "has not been trained", hint="not_trained")
    # every validation image labelled 0: a head trained to say 0 reaches 100%
    features = cached_features(q2_namespace["base"], q2_namespace["x_val"])
    train_head(q2_namespace["head"], features, q2_namespace["y_val"], epochs=10)
    assert ex.q3.check().status == "correct"
    conv = q2_namespace["base"].layers[1]
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel + 0.01, bias])
    assert_incorrect(ex.q3, ex.q3.check(), "base", hint="frozen_changed")


def test_q3_low_accuracy(q2_namespace):
    q2_namespace["model"] = build(q2_namespace["base"], q2_namespace["head"])
    assert ex.q2.check().status == "correct"
    features = cached_features(q2_namespace["base"], q2_namespace["x_val"])
    train_head(q2_namespace["head"], features, np.full(20, 3), epochs=2)
    dense = q2_namespace["head"].layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + 100.0 * (np.arange(5) == 3)])  # it says 3; the labels are 0
    assert_incorrect(ex.q3, ex.q3.check(), "reach at least 0.70", hint="accuracy")


# -- q4: save and reload ------------------------------------------------------------------------------
def test_q4_mistakes_and_correct(q2_namespace, tmp_path):
    model = build(q2_namespace["base"], q2_namespace["head"])
    q2_namespace["model"] = model
    q2_namespace["model_file"], q2_namespace["reloaded"] = PLACEHOLDER, PLACEHOLDER
    assert ex.q4.check().status == "not_attempted"

    q2_namespace["model_file"], q2_namespace["reloaded"] = tmp_path / "model.keras", model
    assert_incorrect(ex.q4, ex.q4.check(), "as a string", hint="suffix")
    q2_namespace["model_file"] = str(tmp_path / "model.h5")
    assert_incorrect(ex.q4, ex.q4.check(), "'model.h5'", ".keras", hint="suffix")
    q2_namespace["model_file"] = str(tmp_path / "model.keras")
    assert_incorrect(ex.q4, ex.q4.check(), "very same object", hint="load")
    other = build(tiny_vgg_like(seed=1), new_head())
    q2_namespace["reloaded"] = other
    dense = other.layers[-1].layers[-1]
    dense.set_weights([dense.get_weights()[0], np.arange(5) * 100.0])  # says 4, while `model` says something else
    assert_incorrect(ex.q4, ex.q4.check(), "no file 'model.keras'", hint="saved")
    model.save(q2_namespace["model_file"])

    q2_namespace["reloaded"] = keras.models.load_model(q2_namespace["model_file"])
    assert ex.q4.check().status == "correct"

    # trained after saving: the file is stale
    dense = q2_namespace["head"].layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + np.arange(5) * 10.0])
    assert_incorrect(ex.q4, ex.q4.check(), "predicts differently", hint="same")
