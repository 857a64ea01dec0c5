"""Fashion-MNIST, offline: the course subset shipped in ``data/`` and the full set.

The course runs on a compact subset committed to the repository, so nothing
is ever downloaded.  The full dataset (60,000 training and 10,000 test images)
is read from the original IDX files when they are on disk: in the Keras cache,
in the folder of Debian's ``dataset-fashion-mnist`` package, or in a folder
you name.

Transfer learning needs two related tasks.  tlkit splits the ten classes in
two halves:

* the **source task**: classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat),
  on which the kit's base model was pre-trained;
* the **target task**: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot),
  relabelled 0-4, on which students transfer that base with few labels.

Every split carries its **role**: ``"train"`` (the pool labelled examples and
validation images are drawn from), ``"validation"`` or ``"test"``.  Choices made
while training (the learning rate, when to stop, which checkpoint to keep) are
made on validation images only; the helpers that make such choices pass their
data through :func:`refuse_test_split`, which raises
:class:`TestDataInSelectionError` when it is given test images, whether as a
split or as bare arrays.  Draw validation images with :func:`validation_split`.

Run ``python -m tlkit.data build`` to rebuild the committed subset, byte for
byte, from the full files, and ``python -m tlkit.data verify`` to check it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import os
import pathlib
import sys
import warnings
from typing import Iterable, Sequence

import numpy as np

from tlkit import paths
from tlkit.errors import (
    CorruptFileError,
    TlkitError,
    FewShotError,
    InputShapeError,
    MissingFileError,
    UnknownNameError,
    describe_name_choice,
)

__all__ = [
    "CLASS_NAMES", "CLASS_SPLITS", "DEBIAN_DIR", "FULL_FILES", "HOW_TO_GET_FULL", "ROLES",
    "SOURCE_CLASS_LABELS", "SUBSETS", "SUBSET_DIR", "SUBSET_PER_CLASS", "TARGET_CLASS_LABELS", "ClassTooSmallError",
    "Dataset", "LabelledImages", "TestDataInSelectionError", "build_subset", "candidate_full_dirs", "class_split",
    "few_shot", "few_shot_indices", "find_full_dir", "first_per_class", "folder_name_for_class",
    "load_fashion_mnist", "load_largest_available", "refuse_test_split", "select_classes", "sha256_of_file",
    "source_task", "target_task", "validation_split", "verify_subset", "write_image_folder",
]

#: The ten Fashion-MNIST class names, in label order.
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: The labels (indices into CLASS_NAMES) of the source task's classes, and of the target task's.
SOURCE_CLASS_LABELS = (0, 1, 2, 3, 4)
TARGET_CLASS_LABELS = (5, 6, 7, 8, 9)
#: Their first names, deprecated (module ``__getattr__`` below warns and answers with the new one).
_RENAMED = {"SOURCE_CLASSES": "SOURCE_CLASS_LABELS", "TARGET_CLASSES": "TARGET_CLASS_LABELS"}

#: Class splits the kit knows, by name: (source labels, target labels), disjoint.
#: ``"course"`` is the notebooks' split (clothes worn on the body / shoes, shirts,
#: bags).  ``"related"`` keeps for the target three classes whose close relatives
#: are all in the source (coat ~ pullover, shirt ~ T-shirt, ankle boot ~ sneaker
#: and sandal): the scenario in which the fair benchmark measures how much a *related*
#: source pays (benchmarks/transfer_gain.py --split related).  ``"distant"`` has the
#: same target but a source without those relatives (trouser, dress, bag), for the
#: relatedness comparison.
CLASS_SPLITS = {
    "course": (SOURCE_CLASS_LABELS, TARGET_CLASS_LABELS),
    "related": ((0, 1, 2, 3, 5, 7, 8), (4, 6, 9)),
    "distant": ((1, 3, 8), (4, 6, 9)),
}

#: The small Fashion-MNIST subset shipped with the kit.
SUBSET_DIR = paths.DATA_DIR / "fashion-mnist-subset"

#: How many images of each class the course subset keeps from each split.
SUBSET_PER_CLASS = {"train": 800, "test": 400}

#: The four original IDX files, with the SHA-256 of their *decompressed* bytes
#: (the .gz wrappers differ between mirrors, the content does not).
FULL_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}

DEBIAN_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

HOW_TO_GET_FULL = (
    "install Debian's package (sudo apt-get install dataset-fashion-mnist), copy the four "
    "*-ubyte.gz files into ~/.keras/datasets/fashion-mnist/, or pass path=<folder holding them>"
)


#: What a split is for.  Only ``"train"`` and ``"validation"`` images may inform a choice.
ROLES = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class LabelledImages:
    """Images with their integer labels, the names of the label values, and the split's role.

    Attributes
    ----------
    images : numpy.ndarray
        ``uint8`` array of shape ``(n, 28, 28, 1)``, pixel values 0-255.
    labels : numpy.ndarray
        ``int64`` array of shape ``(n,)``; label ``i`` names ``class_names[i]``.
    class_names : tuple of str
        The name of each label value.
    role : {"train", "validation", "test"}, default "train"
        What the split is for (:data:`ROLES`).  Images taken from a split
        (:meth:`take`, :func:`few_shot`, :func:`select_classes`) keep its role, so
        images drawn from a test split stay test images.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    role: str = "train"

    def __post_init__(self):
        if self.role not in ROLES:
            raise UnknownNameError(describe_name_choice("split role", self.role, ROLES))
        if self.images.ndim != 4 or self.images.shape[1:] != (28, 28, 1):
            raise InputShapeError(
                f"LabelledImages: images must have shape (n, 28, 28, 1), got {self.images.shape}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise InputShapeError(
                f"LabelledImages: {self.images.shape[0]} images but labels have shape {self.labels.shape}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        per_class = ", ".join(f"{name}: {count}" for name, count in zip(self.class_names, counts))
        return f"LabelledImages({len(self)} {self.role} images; {per_class})"

    @property
    def num_classes(self) -> int:
        """How many classes the labels can name."""
        return len(self.class_names)

    def take(self, indices: Sequence[int]) -> "LabelledImages":
        """Return the examples at ``indices`` as a new :class:`LabelledImages`."""
        indices = np.asarray(indices, dtype=np.int64)
        return LabelledImages(self.images[indices], self.labels[indices], self.class_names, self.role)

    def with_images(self, images: np.ndarray) -> "LabelledImages":
        """The same labels, class names and role with other images (for example a varied copy)."""
        return LabelledImages(images, self.labels.copy(), self.class_names, self.role)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A training split and a test split of the same classes."""

    train: LabelledImages
    test: LabelledImages

    @property
    def class_names(self) -> tuple:
        """The class names shared by both splits."""
        return self.train.class_names

    def __repr__(self) -> str:
        return (
            f"Dataset({len(self.train)} training and {len(self.test)} test images, "
            f"classes: {', '.join(self.class_names)})"
        )


# ---------------------------------------------------------------------------
# Files and checksums


def sha256_of_file(path: os.PathLike) -> str:
    """Return the SHA-256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_idx(path: pathlib.Path, expected_sha256: str) -> np.ndarray:
    """Read one gzip-compressed IDX file and verify its decompressed bytes."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise CorruptFileError(f"{path}: cannot be decompressed ({error}); replace the file") from None
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected_sha256:
        raise CorruptFileError(
            f"{path}: checksum mismatch (SHA-256 {actual[:12]}..., expected {expected_sha256[:12]}...); "
            "the file is damaged or is not the original Fashion-MNIST file"
        )
    dimensions = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    offset = 4 + 4 * dimensions
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def candidate_full_dirs(path: os.PathLike | None = None) -> list[pathlib.Path]:
    """Folders searched, in order, for the four original Fashion-MNIST files.

    Parameters
    ----------
    path : path-like, optional
        A folder to try first.
    """
    folders = []
    if path is not None:
        folders.append(pathlib.Path(path))
    if os.environ.get("TLKIT_FASHION_MNIST_DIR"):
        folders.append(pathlib.Path(os.environ["TLKIT_FASHION_MNIST_DIR"]))
    keras_home = pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras"))
    folders.append(keras_home / "datasets" / "fashion-mnist")
    folders.append(DEBIAN_DIR)
    return folders


def find_full_dir(path: os.PathLike | None = None) -> pathlib.Path:
    """Return the first folder holding all four original files.

    Raises
    ------
    MissingFileError
        When no candidate folder holds them, with instructions to get them.
    """
    names = [name for name, _ in FULL_FILES.values()]
    searched = candidate_full_dirs(path)
    if path is not None and not all((pathlib.Path(path) / name).is_file() for name in names):
        missing = [name for name in names if not (pathlib.Path(path) / name).is_file()]
        raise MissingFileError(f"{path}: missing Fashion-MNIST file(s) {', '.join(missing)}")
    for folder in searched:
        if all((folder / name).is_file() for name in names):
            return folder
    raise MissingFileError(
        "the full Fashion-MNIST files were not found in "
        + ", ".join(str(folder) for folder in searched)
        + "; to get them, "
        + HOW_TO_GET_FULL
    )


def _as_images(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array.reshape(-1, 28, 28, 1))


def _load_full(path: os.PathLike | None) -> Dataset:
    folder = find_full_dir(path)
    arrays = {key: _read_idx(folder / name, digest) for key, (name, digest) in FULL_FILES.items()}
    train = LabelledImages(_as_images(arrays["train_images"]), arrays["train_labels"].astype(np.int64), CLASS_NAMES, "train")
    test = LabelledImages(_as_images(arrays["test_images"]), arrays["test_labels"].astype(np.int64), CLASS_NAMES, "test")
    return _registered(Dataset(train, test))


def _subset_manifest(folder: pathlib.Path) -> dict:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise MissingFileError(
            f"{manifest_path}: the course subset's manifest is missing; "
            "restore it with git or rebuild with `python -m tlkit.data build`"
        )
    try:
        return json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise CorruptFileError(f"{manifest_path}: not valid JSON ({error})") from None


def _load_subset(folder: pathlib.Path) -> Dataset:
    manifest = _subset_manifest(folder)
    arrays = {}
    for name, expected in manifest["files"].items():
        file_path = folder / name
        if not file_path.is_file():
            raise MissingFileError(
                f"{file_path}: missing from the course subset; restore it with git or rebuild with "
                "`python -m tlkit.data build`"
            )
        actual = sha256_of_file(file_path)
        if actual != expected:
            raise CorruptFileError(
                f"{file_path}: checksum mismatch (SHA-256 {actual[:12]}..., manifest says {expected[:12]}...); "
                "restore it with git or rebuild with `python -m tlkit.data build`"
            )
        try:
            arrays[name] = np.load(file_path, allow_pickle=False)
        except ValueError as error:
            raise CorruptFileError(f"{file_path}: not a readable .npy file ({error})") from None
    train = LabelledImages(arrays["train_images.npy"], arrays["train_labels.npy"].astype(np.int64), CLASS_NAMES, "train")
    test = LabelledImages(arrays["test_images.npy"], arrays["test_labels.npy"].astype(np.int64), CLASS_NAMES, "test")
    return _registered(Dataset(train, test))


SUBSETS = ("course", "full")


def load_fashion_mnist(subset: str = "course", path: os.PathLike | None = None) -> Dataset:
    """Load Fashion-MNIST from disk, never from the network.

    Parameters
    ----------
    subset : {"course", "full"}, default "course"
        ``"course"`` loads the compact subset shipped in ``data/`` (800 training
        and 400 test images per class).  ``"full"`` loads all 70,000 images from
        the original files.
    path : path-like, optional
        For ``"course"``: a folder holding a subset (default: the repository's).
        For ``"full"``: a folder holding the four original ``*-ubyte.gz`` files,
        searched before the Keras cache and Debian's package folder.

    Returns
    -------
    Dataset
        ``.train`` and ``.test`` splits with images of shape ``(n, 28, 28, 1)``.

    Raises
    ------
    UnknownNameError
        For a ``subset`` other than the two above.
    MissingFileError, CorruptFileError
        When a file is absent or its checksum does not match.
    """
    if subset == "course":
        return _load_subset(pathlib.Path(path) if path is not None else SUBSET_DIR)
    if subset == "full":
        return _load_full(path)
    raise UnknownNameError(describe_name_choice("Fashion-MNIST subset", subset, SUBSETS))


def load_largest_available() -> tuple[Dataset, str]:
    """Load the full dataset when its files are on disk, else the course subset.

    For benchmarks, which should measure on as much data as the machine has.

    Returns
    -------
    dataset : Dataset
    description : str
        Which of the two was loaded, for the benchmark's report.
    """
    try:
        return load_fashion_mnist("full"), "full Fashion-MNIST"
    except MissingFileError:
        return load_fashion_mnist("course"), "course subset (full files not installed)"


# ---------------------------------------------------------------------------
# Tasks and few-shot sampling


def select_classes(split: LabelledImages, classes: Iterable[int]) -> LabelledImages:
    """Keep the examples of ``classes`` and relabel them 0, 1, 2, ... in that order.

    Parameters
    ----------
    split : LabelledImages
        The examples to filter.
    classes : iterable of int
        Original label values to keep; their order defines the new labels.
    """
    classes = tuple(int(c) for c in classes)
    for value in classes:
        if not 0 <= value < split.num_classes:
            raise InputShapeError(
                f"select_classes: class {value} does not exist; labels run from 0 to {split.num_classes - 1}"
            )
    keep = np.isin(split.labels, classes)
    relabel = np.full(split.num_classes, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    names = tuple(split.class_names[c] for c in classes)
    return LabelledImages(split.images[keep], relabel[split.labels[keep]], names, split.role)


def _task(dataset: Dataset, classes: Sequence[int]) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise InputShapeError(
            f"expected a tlkit.data.Dataset (from load_fashion_mnist), got {type(dataset).__name__}"
        )
    return Dataset(select_classes(dataset.train, classes), select_classes(dataset.test, classes))


def class_split(name: str = "course") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (source labels, target labels) of a class split in :data:`CLASS_SPLITS`.

    Raises
    ------
    UnknownNameError
        For a name the kit does not know.
    """
    if name not in CLASS_SPLITS:
        raise UnknownNameError(describe_name_choice("class split", name, CLASS_SPLITS))
    return CLASS_SPLITS[name]


def source_task(dataset: Dataset, split: str = "course") -> Dataset:
    """The source task of a class split, relabelled 0, 1, ...

    With the default ``"course"`` split: classes 0-4 (clothes worn on the body).
    """
    return _task(dataset, class_split(split)[0])


def target_task(dataset: Dataset, split: str = "course") -> Dataset:
    """The target task of a class split, relabelled 0, 1, ...

    With the default ``"course"`` split: classes 5-9 (shoes, shirts, bags).
    Class names are kept, so ``target_task(ds).class_names[0] == "Sandal"``.
    """
    return _task(dataset, class_split(split)[1])


class ClassTooSmallError(FewShotError):
    """A class has fewer examples than the labels per class asked for.

    Attributes
    ----------
    label : int
        The class.
    available : int
        How many examples it has.
    k : int
        How many were asked for.
    """

    def __init__(self, message: str, label: int, available: int, k: int):
        super().__init__(message)
        self.label, self.available, self.k = label, available, k


def few_shot_indices(labels: np.ndarray, k: int, seed: int = 0, classes: Iterable[int] | None = None, class_names: Sequence[str] | None = None) -> np.ndarray:
    """Positions of ``k`` examples of every class in ``labels``, drawn reproducibly.

    Parameters
    ----------
    labels : numpy.ndarray
        One integer label per example.
    k : int
        Labels per class, at least 1.
    seed : int, default 0
        The same seed always draws the same positions.
    classes : iterable of int, optional
        The classes to draw from, in drawing order; default every label
        present in ``labels``, ascending.
    class_names : sequence of str, optional
        Names of the classes by label, used in the error message only.

    Returns
    -------
    numpy.ndarray
        ``k * len(classes)`` positions into ``labels``, in a seeded random order.

    Raises
    ------
    FewShotError
        When ``k`` is not a positive integer.
    ClassTooSmallError
        When a class has fewer than ``k`` examples.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise FewShotError(f"few_shot: k must be a positive integer (labels per class), got {k!r}")
    classes = np.unique(labels) if classes is None else classes
    rng = np.random.default_rng(seed)
    chosen = []
    for label in classes:
        pool = np.flatnonzero(labels == label)
        if len(pool) < k:
            named = f" ({class_names[label]})" if class_names is not None else ""
            raise ClassTooSmallError(
                f"few_shot: asked for {k} labels per class but class {label}{named} has only {len(pool)} examples",
                label, len(pool), k,
            )
        chosen.append(rng.choice(pool, size=int(k), replace=False))
    indices = np.concatenate(chosen)
    rng.shuffle(indices)
    return indices


def few_shot(split: LabelledImages, k: int, seed: int = 0) -> LabelledImages:
    """Draw ``k`` labelled examples of every class, reproducibly.

    Parameters
    ----------
    split : LabelledImages
        Where to draw from, usually a task's training split.
    k : int
        Labels per class, at least 1.
    seed : int, default 0
        The same seed always draws the same examples.

    Returns
    -------
    LabelledImages
        ``k * num_classes`` examples, in a seeded random order.

    Raises
    ------
    FewShotError
        When ``k`` is not a positive integer or a class has fewer than ``k`` examples.
    """
    return split.take(few_shot_indices(split.labels, k, seed, classes=range(split.num_classes), class_names=split.class_names))


# ---------------------------------------------------------------------------
# Selection never sees test images


class TestDataInSelectionError(TlkitError, ValueError):
    """Test images were given to a step that makes a choice (learning rate, stopping point, checkpoint)."""

    __test__ = False  # not a pytest test class, despite its name


# Fingerprints of every test image loaded in this process (minus any image that is also a training image),
# so that test images are recognised even as bare arrays, after ``.images``.
_TEST_FINGERPRINTS: set = set()


def _fingerprints(images: np.ndarray) -> list:
    rows = np.ascontiguousarray(images).reshape(len(images), -1)
    return [hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in rows]


def _registered(dataset: "Dataset") -> "Dataset":
    """Remember the fingerprints of ``dataset``'s test images; return the dataset."""
    training = set(_fingerprints(dataset.train.images))
    _TEST_FINGERPRINTS.update(f for f in _fingerprints(dataset.test.images) if f not in training)
    return dataset


def refuse_test_split(data, used_for: str):
    """Return ``data`` unchanged, or raise if it holds test images: the guard of every selection step.

    Parameters
    ----------
    data : LabelledImages, numpy.ndarray or tuple
        What the step would choose on: a split, an array of images, or an
        ``(images, labels)`` pair as ``fit(validation_data=...)`` takes it.
    used_for : str
        The step and where it runs, for the message (``"early stopping in fit"``).

    Raises
    ------
    TestDataInSelectionError
        When ``data`` is a split whose role is ``"test"``, or contains an image
        of a test split loaded by :func:`load_fashion_mnist`.
    """
    images = data
    if isinstance(data, LabelledImages):
        if data.role == "test":
            raise TestDataInSelectionError(
                f"{used_for}: refused a test split ({len(data)} images). Choices made on test images leak them into "
                "the model and make the final test score optimistic; draw validation images from the training pool "
                "with data.validation_split(target.train, ...)"
            )
        images = data.images
    elif isinstance(data, (tuple, list)) and data:
        images = data[0]
    images = np.asarray(images)
    if images.ndim == 4 and _TEST_FINGERPRINTS:
        leaked = sum(f in _TEST_FINGERPRINTS for f in _fingerprints(images))
        if leaked:
            raise TestDataInSelectionError(
                f"{used_for}: {leaked} of the {len(images)} images are test images. Choices made on test images leak "
                "them into the model and make the final test score optimistic; draw validation images from the "
                "training pool with data.validation_split(target.train, ...)"
            )
    return data


def validation_split(pool: LabelledImages, per_class: int, seed: int = 0, exclude: LabelledImages | np.ndarray | None = None) -> LabelledImages:
    """Draw ``per_class`` validation images of every class from a training pool, apart from ``exclude``.

    Parameters
    ----------
    pool : LabelledImages
        The target task's training split (``target.train``); never its test split.
    per_class : int
        Validation images per class.
    seed : int, default 0
        The same seed always draws the same images.
    exclude : LabelledImages or numpy.ndarray, optional
        What must not be drawn, usually the labelled training examples: the
        images themselves (matched by content), or their positions in ``pool``.

    Notes
    -----
    This is the kit's one validation carve-out: the fair protocol's
    :func:`tlkit.experiments.few_shot_with_validation` calls it with the
    positions of its labelled examples. The images are drawn class by class
    with :func:`few_shot_indices` from what is left of ``pool``, with the
    generator seeded ``seed + 7919``, so they never depend on the labelled
    examples' own draw.

    Returns
    -------
    LabelledImages
        ``per_class * num_classes`` images with role ``"validation"``.

    Raises
    ------
    TestDataInSelectionError
        When ``pool`` is a test split.
    FewShotError
        When a class has fewer than ``per_class`` images left.
    """
    refuse_test_split(pool, "data.validation_split (validation images are for choosing)")
    keep = np.arange(len(pool))
    if isinstance(exclude, LabelledImages):
        excluded = set(_fingerprints(exclude.images))
        keep = np.array([i for i, f in enumerate(_fingerprints(pool.images)) if f not in excluded], dtype=np.int64)
    elif exclude is not None:
        keep = np.setdiff1d(keep, np.asarray(exclude, dtype=np.int64))
    remaining = pool.take(keep)
    chosen = few_shot_indices(remaining.labels, per_class, seed + 7919, classes=range(pool.num_classes), class_names=pool.class_names)
    drawn = remaining.take(np.sort(chosen))
    return LabelledImages(drawn.images, drawn.labels, drawn.class_names, "validation")


# ---------------------------------------------------------------------------
# Building the course subset


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of every label, in file order."""
    picked = [np.flatnonzero(labels == label)[:per_class] for label in range(len(CLASS_NAMES))]
    return np.sort(np.concatenate(picked))


def build_subset(full_path: os.PathLike | None = None, out_dir: os.PathLike | None = None) -> dict:
    """Rebuild the course subset from the full files; return its manifest.

    The subset keeps, from each split, the first :data:`SUBSET_PER_CLASS`
    images of every class in the original file order, so the result is the
    same bytes on every machine.
    """
    full = _load_full(full_path)
    out = pathlib.Path(out_dir) if out_dir is not None else SUBSET_DIR
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for split_name, split in (("train", full.train), ("test", full.test)):
        indices = first_per_class(split.labels, SUBSET_PER_CLASS[split_name])
        for kind, array in (("images", split.images[indices]), ("labels", split.labels[indices].astype(np.uint8))):
            name = f"{split_name}_{kind}.npy"
            np.save(out / name, np.ascontiguousarray(array), allow_pickle=False)
            files[name] = sha256_of_file(out / name)
    manifest = {
        "dataset": "Fashion-MNIST",
        "licence": "Expat (MIT), Copyright 2017 Zalando SE",
        "selection": {split: f"first {n} images of each class, original file order" for split, n in SUBSET_PER_CLASS.items()},
        "source_files_sha256_decompressed": {name: digest for name, digest in FULL_FILES.values()},
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_subset(folder: os.PathLike | None = None) -> dict:
    """Load the subset (which verifies every checksum) and return its manifest."""
    folder = pathlib.Path(folder) if folder is not None else SUBSET_DIR
    _load_subset(folder)
    return _subset_manifest(folder)


# ---------------------------------------------------------------------------
# A folder of images, as a student's own photos would be


def folder_name_for_class(name: str) -> str:
    """A class name made safe as a folder name (``"T-shirt/top"`` becomes ``"T-shirt-top"``)."""
    safe = "".join("-" if character in '/\\:*?"<>|' else character for character in str(name)).strip()
    if not safe or safe in (".", ".."):
        raise UnknownNameError(f"write_image_folder: {name!r} cannot be used as a folder name")
    return safe


def write_image_folder(split: LabelledImages, folder: os.PathLike, class_names: Sequence[str] | None = None) -> dict:
    """Write images as PNG files, one sub-folder per class, like a folder of your own photos.

    The layout is what ``keras.utils.image_dataset_from_directory`` reads::

        folder/
            Ankle boot/  ankle-boot_0000.png  ankle-boot_0001.png ...
            Bag/         bag_0000.png ...

    Parameters
    ----------
    split : LabelledImages
        The images (uint8, 0-255) and their labels.
    folder : path-like
        Where to write; created if needed. Files of the same names are overwritten.
    class_names : sequence of str, optional
        The folder name of each label value; default ``split.class_names``.
        Characters a folder name cannot hold (``/``...) become ``-``.

    Returns
    -------
    dict
        ``{class folder name: number of files written}``, in label order.

    Raises
    ------
    InputShapeError
        When there are fewer class names than label values, or two classes would share a folder.
    """
    from PIL import Image

    names = list(split.class_names if class_names is None else class_names)
    if len(split) and int(split.labels.max()) >= len(names):
        raise InputShapeError(
            f"write_image_folder: labels run up to {int(split.labels.max())} but there are {len(names)} class names"
        )
    folders = [folder_name_for_class(name) for name in names]
    if len(set(folders)) != len(folders):
        raise InputShapeError(f"write_image_folder: two classes would share a folder: {folders}")
    root = pathlib.Path(folder)
    counts = {}
    for label, name in enumerate(folders):
        indices = np.flatnonzero(split.labels == label)
        class_folder = root / name
        class_folder.mkdir(parents=True, exist_ok=True)
        stem = name.lower().replace(" ", "-")
        for number, index in enumerate(indices):
            Image.fromarray(np.ascontiguousarray(split.images[index, :, :, 0])).save(
                class_folder / f"{stem}_{number:04d}.png"
            )
        counts[name] = int(indices.size)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tlkit.data {build,verify}``."""
    parser = argparse.ArgumentParser(prog="python -m tlkit.data", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="rebuild the committed course subset from the full files")
    build.add_argument("--from", dest="full_path", help="folder holding the four *-ubyte.gz files")
    build.add_argument("--out", help="where to write the subset (default: data/fashion-mnist-subset)")
    verify = commands.add_parser("verify", help="check the course subset's checksums")
    verify.add_argument("--dir", help="subset folder (default: data/fashion-mnist-subset)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            manifest = build_subset(args.full_path, args.out)
            for name, digest in sorted(manifest["files"].items()):
                print(f"{digest}  {name}")
        else:
            manifest = verify_subset(args.dir)
            print(f"course subset OK: {len(manifest['files'])} files, all checksums match")
    except (MissingFileError, CorruptFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def __getattr__(name: str):
    if name in _RENAMED:
        warnings.warn(f"tlkit.data.{name} is deprecated; use data.{_RENAMED[name]}", DeprecationWarning, stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
