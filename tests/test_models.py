"""tlkit.models: the shipped pre-trained base and the keras.applications path."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tlkit import data, models, paths
from tlkit.errors import CorruptFileError, InputShapeError, MissingFileError, OfflineError, UnknownNameError


@pytest.fixture(scope="module")
def source_test():
    return data.source_task(data.load_fashion_mnist()).test


def test_include_top_true_is_the_source_classifier():
    model = models.load_base(include_top=True)
    assert model.output.shape[-1] == 5
    assert model.layers[-1].name == "predictions"


def test_include_top_false_is_the_feature_extractor():
    base = models.load_base(include_top=False)
    assert base.output.shape[-1] == 128
    assert "predictions" not in [layer.name for layer in base.layers]
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers)


def test_feature_extractor_shares_the_pretrained_weights():
    full = models.load_base(include_top=True)
    base = models.load_base(include_top=False)
    np.testing.assert_array_equal(
        full.get_layer("block1_conv").get_weights()[0], base.get_layer("block1_conv").get_weights()[0]
    )


def test_random_weights_differ_from_pretrained():
    random_base = models.load_base(weights=None)
    trained = models.load_base()
    assert not np.allclose(random_base.get_layer("features").get_weights()[0], trained.get_layer("features").get_weights()[0])


def test_card_accuracy_is_reproduced_on_the_full_test_split():
    """The card's source accuracy comes from the full test split (5,000 images)."""
    try:
        full = data.source_task(data.load_fashion_mnist("full"))
    except MissingFileError:
        pytest.skip("full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    model = models.load_base(include_top=True)
    predictions = model.predict(full.test.images, batch_size=1000, verbose=0)
    accuracy = float(np.mean(np.argmax(predictions, axis=1) == full.test.labels))
    assert accuracy == pytest.approx(models.model_card()["source_test_accuracy"], abs=1e-4)


def test_pretrained_base_is_far_better_than_chance_on_the_shipped_subset(source_test):
    model = models.load_base(include_top=True)
    accuracy = float(np.mean(np.argmax(model.predict(source_test.images, verbose=0), axis=1) == source_test.labels))
    assert accuracy > models.model_card()["source_test_accuracy"] - 0.03


def test_model_card_has_the_required_fields():
    card = models.model_card()
    for field in ("architecture", "data", "training", "source_test_accuracy", "sha256", "library_versions", "recipe_notes"):
        assert field in card, field
    assert card["training"]["seed"] == 0
    assert card["sha256"] == data.sha256_of_file(models.model_path())


def test_every_shipped_weights_file_matches_its_card():
    for name in models.KIT_WEIGHTS:
        path = models.model_path(name)
        if path.is_file():
            assert data.sha256_of_file(path) == models.model_card(name)["sha256"], name


def test_corrupt_model_file_is_reported(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"this is not a zip archive")
    with pytest.raises(CorruptFileError, match="broken.keras: cannot be loaded as a Keras model"):
        models.load_base(weights=broken)


def test_tampered_shipped_model_fails_its_checksum(tmp_path, monkeypatch):
    copy_dir = tmp_path / "models"
    copy_dir.mkdir()
    original = models.model_path()
    (copy_dir / original.name).write_bytes(original.read_bytes()[:-10] + b"0123456789")
    (copy_dir / original.with_suffix(".json").name).write_text(original.with_suffix(".json").read_text())
    monkeypatch.setattr(paths, "MODELS_DIR", copy_dir)
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        models.load_base()


def test_missing_model_file_is_reported(tmp_path):
    with pytest.raises(MissingFileError, match="no such model file"):
        models.load_base(weights=tmp_path / "absent.keras")


def test_unknown_names_are_listed():
    with pytest.raises(UnknownNameError, match="unknown base model 'alexnet'; choose one of"):
        models.load_base("alexnet")
    with pytest.raises(UnknownNameError, match="unknown weights for fashion_cnn 'imagenet21k'"):
        models.load_base(weights="imagenet21k")


def test_wrong_input_shape_for_the_kit_model():
    with pytest.raises(InputShapeError, match=r"takes images of shape \(28, 28, 1\)"):
        models.load_base(input_shape=(32, 32, 3))


def test_local_kit_weights_file_round_trip(tmp_path):
    model = models.load_base(include_top=True)
    path = tmp_path / "copy.weights.h5"
    model.save_weights(path)
    again = models.load_base(include_top=True, weights=path)
    np.testing.assert_array_equal(model.get_layer("predictions").get_weights()[0], again.get_layer("predictions").get_weights()[0])


# --- keras.applications, offline ------------------------------------------------


def test_application_with_random_weights():
    model = models.load_base("mobilenet_v2", include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35)
    assert model.output.shape[-1] == 1280


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_other_applications_build_offline(name):
    model = models.load_base(name, include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    assert len(model.output.shape) == 2


def test_application_from_a_local_weights_file(tmp_path):
    original = models.load_base("mobilenet_v2", weights=None, input_shape=(32, 32, 3), alpha=0.35)
    path = tmp_path / "mobilenet_v2.weights.h5"
    original.save_weights(path)
    loaded = models.load_base("mobilenet_v2", weights=path, input_shape=(32, 32, 3), alpha=0.35)
    for before, after in zip(original.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_application_weights_that_do_not_fit(tmp_path):
    path = tmp_path / "wrong.weights.h5"
    models.load_base("mobilenet_v2", weights=None, input_shape=(32, 32, 3), alpha=0.35).save_weights(path)
    with pytest.raises(CorruptFileError, match="these weights do not fit vgg16"):
        models.load_base("vgg16", weights=path, input_shape=(32, 32, 3))


def test_imagenet_offline_says_how_to_use_a_local_file():
    with pytest.raises(OfflineError, match=r"weights='/path/to/mobilenet_v2\.weights\.h5'"):
        models.load_base("mobilenet_v2", weights="imagenet", input_shape=(96, 96, 3), alpha=0.35)


def test_missing_application_weights_file(tmp_path):
    with pytest.raises(MissingFileError, match="no such weights file for resnet50"):
        models.load_base("resnet50", weights=tmp_path / "nothing.h5")


def test_card_is_json(tmp_path):
    assert json.loads(models.model_path().with_suffix(".json").read_text())["architecture"] == "fashion_cnn"
