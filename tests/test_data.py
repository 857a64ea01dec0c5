"""tlkit.data: the shipped subset, the full files, task splits and few-shot sampling."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest

from tlkit import data
from tlkit.errors import CorruptFileError, FewShotError, InputShapeError, MissingFileError, TlkitError, UnknownNameError


@pytest.fixture(scope="module")
def course():
    return data.load_fashion_mnist()


def test_course_subset_shapes_and_balance(course):
    assert course.train.images.shape == (8000, 28, 28, 1)
    assert course.test.images.shape == (4000, 28, 28, 1)
    assert course.train.images.dtype == np.uint8
    assert np.bincount(course.train.labels).tolist() == [800] * 10
    assert np.bincount(course.test.labels).tolist() == [400] * 10
    assert course.class_names[0] == "T-shirt/top" and course.class_names[9] == "Ankle boot"


def test_subset_is_under_ten_megabytes(repo_root):
    total = sum(path.stat().st_size for path in (repo_root / "data" / "fashion-mnist-subset").iterdir())
    assert total <= 10_000_000


def test_subset_readme_lists_the_manifest_checksums(repo_root):
    manifest = json.loads((repo_root / "data/fashion-mnist-subset/manifest.json").read_text())
    readme = (repo_root / "data" / "README.md").read_text()
    for digest in manifest["files"].values():
        assert digest in readme


def test_target_task_relabels_and_keeps_names(course):
    target = data.target_task(course)
    assert target.class_names == ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert sorted(set(target.train.labels.tolist())) == [0, 1, 2, 3, 4]
    assert len(target.train) == 4000
    # the first sandal of the target split is the first label-5 image of the full split
    first_sandal = course.train.images[course.train.labels == 5][0]
    np.testing.assert_array_equal(target.train.images[target.train.labels == 0][0], first_sandal)


def test_source_task_is_classes_zero_to_four(course):
    source = data.source_task(course)
    assert source.class_names == data.CLASS_NAMES[:5]
    assert len(source.test) == 2000


def test_every_class_split_is_disjoint_and_uses_real_classes():
    for name, (source, target) in data.CLASS_SPLITS.items():
        assert not set(source) & set(target), name
        assert set(source) | set(target) <= set(range(len(data.CLASS_NAMES))), name
    assert data.class_split() == (data.SOURCE_CLASS_LABELS, data.TARGET_CLASS_LABELS)


def test_the_related_split_gives_each_target_class_a_relative_in_the_source(course):
    source = data.source_task(course, "related")
    target = data.target_task(course, "related")
    assert target.class_names == ("Coat", "Shirt", "Ankle boot")
    assert {"Pullover", "T-shirt/top", "Sneaker", "Sandal"} <= set(source.class_names)
    assert sorted(set(target.test.labels.tolist())) == [0, 1, 2]
    assert len(source.train) == 7 * 800


def test_an_unknown_class_split_is_named_with_the_choices(course):
    with pytest.raises(UnknownNameError, match="class split 'relatd'.*related"):
        data.target_task(course, "relatd")


def test_few_shot_is_seeded_and_balanced(course):
    target = data.target_task(course)
    first = data.few_shot(target.train, k=5, seed=3)
    again = data.few_shot(target.train, k=5, seed=3)
    other = data.few_shot(target.train, k=5, seed=4)
    assert len(first) == 25
    assert np.bincount(first.labels).tolist() == [5] * 5
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)


@pytest.mark.parametrize("k", [0, -2, 2.5, "5", True])
def test_few_shot_refuses_nonsense_k(course, k):
    with pytest.raises(FewShotError, match="positive integer"):
        data.few_shot(data.target_task(course).train, k=k)


def test_few_shot_refuses_more_than_exists(course):
    with pytest.raises(FewShotError, match=r"asked for 801 labels per class but class 0 \(Sandal\) has only 800"):
        data.few_shot(data.target_task(course).train, k=801)


def test_unknown_subset_name():
    with pytest.raises(UnknownNameError, match="unknown Fashion-MNIST subset 'mini'"):
        data.load_fashion_mnist("mini")


def test_task_of_wrong_type_is_explained():
    with pytest.raises(InputShapeError, match="expected a tlkit.data.Dataset"):
        data.target_task(np.zeros((3, 28, 28)))


def _copy_subset(tmp_path):
    copy = tmp_path / "subset"
    shutil.copytree(data.SUBSET_DIR, copy)
    return copy


def test_corrupt_subset_file_is_reported(tmp_path):
    copy = _copy_subset(tmp_path)
    raw = bytearray((copy / "train_labels.npy").read_bytes())
    raw[-1] ^= 0xFF
    (copy / "train_labels.npy").write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match=r"train_labels\.npy: checksum mismatch"):
        data.load_fashion_mnist(path=copy)


def test_missing_subset_file_is_reported(tmp_path):
    copy = _copy_subset(tmp_path)
    (copy / "test_images.npy").unlink()
    with pytest.raises(MissingFileError, match=r"test_images\.npy: missing from the course subset"):
        data.load_fashion_mnist(path=copy)


def test_missing_manifest_is_reported(tmp_path):
    with pytest.raises(MissingFileError, match="manifest is missing"):
        data.load_fashion_mnist(path=tmp_path)


def test_full_dataset_absent_gives_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("TLKIT_FASHION_MNIST_DIR", raising=False)
    with pytest.raises(MissingFileError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist("full")


def _fake_full_files(folder, subset):
    """Write IDX files holding the course subset, the way the originals are laid out."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": subset.train.images.reshape(-1, 28, 28),
        "train_labels": subset.train.labels.astype(np.uint8),
        "test_images": subset.test.images.reshape(-1, 28, 28),
        "test_labels": subset.test.labels.astype(np.uint8),
    }
    for key, array in arrays.items():
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        with gzip.open(folder / data.FULL_FILES[key][0], "wb") as handle:
            handle.write(header + array.tobytes())


def test_full_files_are_checksummed(tmp_path, course):
    _fake_full_files(tmp_path / "fake", course)
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        data.load_fashion_mnist("full", path=tmp_path / "fake")


def test_truncated_full_file_is_reported(tmp_path, course):
    _fake_full_files(tmp_path / "fake", course)
    target = tmp_path / "fake" / data.FULL_FILES["train_images"][0]
    target.write_bytes(target.read_bytes()[:20])
    with pytest.raises(CorruptFileError, match="cannot be decompressed"):
        data.load_fashion_mnist("full", path=tmp_path / "fake")


def test_folder_missing_one_full_file(tmp_path):
    (tmp_path / data.FULL_FILES["train_images"][0]).write_bytes(b"")
    with pytest.raises(MissingFileError, match="missing Fashion-MNIST file"):
        data.load_fashion_mnist("full", path=tmp_path)


def test_errors_belong_to_one_family():
    for error in (CorruptFileError, FewShotError, InputShapeError, MissingFileError, UnknownNameError):
        assert issubclass(error, TlkitError)


def _full_available():
    try:
        data.find_full_dir()
        return True
    except MissingFileError:
        return False


@pytest.mark.skipif(not _full_available(), reason="full Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
def test_build_reproduces_the_committed_subset_byte_for_byte(tmp_path):
    manifest = data.build_subset(out_dir=tmp_path)
    for name in manifest["files"]:
        assert (tmp_path / name).read_bytes() == (data.SUBSET_DIR / name).read_bytes(), name
    assert (tmp_path / "manifest.json").read_bytes() == (data.SUBSET_DIR / "manifest.json").read_bytes()


def test_verify_command_line(capsys):
    assert data.main(["verify"]) == 0
    assert "all checksums match" in capsys.readouterr().out


def test_largest_available_falls_back_to_the_course_subset(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("TLKIT_FASHION_MNIST_DIR", raising=False)
    dataset, description = data.load_largest_available()
    assert len(dataset.train) == 8000
    assert description.startswith("course subset")


@pytest.mark.skipif(not _full_available(), reason="full Fashion-MNIST files not installed")
def test_largest_available_prefers_the_full_files():
    dataset, description = data.load_largest_available()
    assert len(dataset.train) == 60000 and description == "full Fashion-MNIST"


def test_few_shot_draws_the_positions_few_shot_indices_draws(course):
    split = data.target_task(course).train
    indices = data.few_shot_indices(split.labels, 4, seed=7)
    drawn = data.few_shot(split, 4, seed=7)
    np.testing.assert_array_equal(drawn.labels, split.labels[indices])
    np.testing.assert_array_equal(drawn.images, split.images[indices])


def test_few_shot_indices_names_the_class_that_is_too_small():
    with pytest.raises(data.ClassTooSmallError, match="class 1 has only 1 examples") as raised:
        data.few_shot_indices(np.array([0, 0, 1]), 2, seed=0)
    assert (raised.value.label, raised.value.available, raised.value.k) == (1, 1, 2)
    assert isinstance(raised.value, FewShotError)


def test_old_names_of_the_class_label_tuples_warn_and_answer_with_the_new_ones():
    with pytest.warns(DeprecationWarning, match="SOURCE_CLASS_LABELS"):
        assert data.SOURCE_CLASSES == data.SOURCE_CLASS_LABELS == (0, 1, 2, 3, 4)
    with pytest.warns(DeprecationWarning, match="TARGET_CLASS_LABELS"):
        assert data.TARGET_CLASSES == data.TARGET_CLASS_LABELS == (5, 6, 7, 8, 9)
