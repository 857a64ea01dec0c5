"""Tests of tlkit.features: cached feature extraction."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tlkit.errors import InputShapeError  # noqa: E402
from tlkit.features import (  # noqa: E402
    CorruptCacheWarning,
    FeatureCache,
    default_cache_dir,
    extract_features,
    images_fingerprint,
    model_fingerprint,
)


def tiny_base(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(name="flatten"),
        ],
        name="tiny_base",
    )


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(20, 6, 6, 1), dtype=np.uint8)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "features"


class CountingBase:
    """Wraps a model and counts calls of predict."""

    def __init__(self, model):
        self.model = model
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def predict(self, *args, **kwargs):
        self.calls += 1
        return self.model.predict(*args, **kwargs)


def test_features_match_predict_and_the_second_call_reads_the_cache(images, cache_dir):
    base = CountingBase(tiny_base())
    first = extract_features(base, images, batch_size=8, cache_dir=cache_dir)
    np.testing.assert_allclose(first, base.model.predict(images, verbose=0), rtol=1e-6)
    assert first.shape == (20, 4 * 4 * 3)
    assert base.calls == 1
    second = extract_features(base, images, batch_size=5, cache_dir=cache_dir)
    assert base.calls == 1, "the same model and images must not run twice"
    np.testing.assert_array_equal(first, second)
    assert len(FeatureCache(cache_dir).files()) == 1


def auto_named_base(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3), keras.layers.Flatten()])


def test_the_same_architecture_built_twice_shares_a_key(images):
    first, second = auto_named_base(), auto_named_base()
    assert first.layers[0].name != second.layers[0].name  # Keras numbered the names
    assert model_fingerprint(first) == model_fingerprint(second)
    second.trainable = False  # freezing does not change what the base computes
    assert model_fingerprint(first) == model_fingerprint(second)


def test_key_changes_when_any_weight_changes(images, cache_dir):
    base = tiny_base()
    cache = FeatureCache(cache_dir)
    before = cache.path_for(base, images)
    conv = base.get_layer("conv")
    conv.kernel.assign(conv.kernel + 1e-6)
    assert cache.path_for(base, images) != before
    after_kernel = cache.path_for(base, images)
    bn = base.get_layer("bn")
    bn.moving_mean.assign(bn.moving_mean + 1.0)  # a non-trainable weight
    assert cache.path_for(base, images) != after_kernel
    assert cache.path_for(tiny_base(seed=1), images) != before


def test_key_changes_with_the_images_bytes_shape_and_dtype(images):
    cache = FeatureCache("unused")
    base = tiny_base()
    changed = images.copy()
    changed[3, 2, 2, 0] ^= 1
    keys = {
        cache.key_for(base, images),
        cache.key_for(base, changed),
        cache.key_for(base, images[:10]),
        cache.key_for(base, images.astype(np.float32)),
    }
    assert len(keys) == 4
    assert images_fingerprint(images) == images_fingerprint(images.copy())


def test_features_are_recomputed_after_fine_tuning(images, cache_dir):
    base = tiny_base()
    before = extract_features(base, images, cache_dir=cache_dir)
    conv = base.get_layer("conv")
    conv.bias.assign(conv.bias + 1.0)
    after = extract_features(base, images, cache_dir=cache_dir)
    assert not np.allclose(before, after)
    assert len(FeatureCache(cache_dir).files()) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[:90]),  # truncated
        lambda path: path.write_bytes(b"not a numpy file at all"),
        lambda path: np.save(path, np.zeros((20, 5), np.float32)),  # wrong feature size
        lambda path: np.save(path, np.zeros((7, 48), np.float32)),  # wrong count
        lambda path: np.save(path, np.zeros((20, 48), np.int64)),  # wrong dtype
    ],
    ids=["truncated", "garbage", "wrong-width", "wrong-count", "wrong-dtype"],
)
def test_corrupt_cache_file_is_reported_and_recomputed(images, cache_dir, damage):
    base = CountingBase(tiny_base())
    good = extract_features(base, images, cache_dir=cache_dir)
    path = FeatureCache(cache_dir).path_for(base, images)
    damage(path)
    with pytest.warns(CorruptCacheWarning, match="corrupt"):
        again = extract_features(base, images, cache_dir=cache_dir)
    assert base.calls == 2
    np.testing.assert_array_equal(again, good)
    np.testing.assert_array_equal(np.load(path), good), "the file is rewritten"


def test_wrong_shape_and_dtype_name_expected_and_actual(images, cache_dir):
    base = tiny_base()
    with pytest.raises(InputShapeError, match=r"\(None, 6, 6, 1\).*\(20, 6, 6\)"):
        extract_features(base, images[..., 0], cache_dir=cache_dir)
    with pytest.raises(InputShapeError, match=r"images\[None\]"):
        extract_features(base, images[0], cache_dir=cache_dir)
    with pytest.raises(InputShapeError, match=r"\(20, 7, 7, 1\)"):
        extract_features(base, np.zeros((20, 7, 7, 1), np.uint8), cache_dir=cache_dir)
    with pytest.raises(InputShapeError, match="dtype"):
        extract_features(base, images.astype(str), cache_dir=cache_dir)
    with pytest.raises(InputShapeError, match="empty"):
        extract_features(base, images[:0], cache_dir=cache_dir)
    with pytest.raises(InputShapeError, match="batch_size"):
        extract_features(base, images, batch_size=0, cache_dir=cache_dir)
    assert not cache_dir.exists(), "nothing is written for a rejected call"


def test_use_cache_false_writes_nothing(images, cache_dir):
    features = extract_features(tiny_base(), images, cache_dir=cache_dir, use_cache=False)
    assert features.shape == (20, 48)
    assert not cache_dir.exists()


def test_default_cache_dir_follows_the_environment_variable(tmp_path, monkeypatch, images):
    monkeypatch.setenv("TLKIT_CACHE_DIR", str(tmp_path / "root"))
    assert default_cache_dir() == tmp_path / "root" / "features"
    extract_features(tiny_base(), images)
    assert len(list((tmp_path / "root" / "features").glob("*.npy"))) == 1
    monkeypatch.delenv("TLKIT_CACHE_DIR")
    assert default_cache_dir().name == "features"
    assert "tlkit" in str(default_cache_dir())


def test_clear_removes_the_files(images, cache_dir):
    extract_features(tiny_base(), images, cache_dir=cache_dir)
    extract_features(tiny_base(), images[:5], cache_dir=cache_dir)
    cache = FeatureCache(cache_dir)
    assert cache.clear() == 2
    assert cache.files() == []
    assert FeatureCache(cache_dir / "never-made").clear() == 0
