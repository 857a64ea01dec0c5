"""Pre-train the kit's base model on the source task and write its model card.

Run ``python -m tlkit.pretrain`` to rebuild ``data/models/fashion_cnn_source.keras``
from the full Fashion-MNIST files (classes 0-4, 30,000 training images).  The
run is seeded; on two CPU cores it takes under three minutes.  Every
training image is turned by a random multiple of 90 degrees, and besides the
class a second head predicts the pair (class, rotation): 20 joint labels
instead of 5.  The features must then describe shape and orientation, not
only what separates the five source classes, so they transfer better.

``--shuffle-fraction EPS`` trains a deliberately corrupted base: a fraction
EPS of the training labels is shuffled among themselves, which the negative
transfer notebook uses to show when transfer hurts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import sys
import time
from typing import Callable, Sequence

import numpy as np

from tlkit import data, models, paths
from tlkit import variation as variation_module
from tlkit.errors import TlkitError

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "DEFAULT_LEARNING_RATE", "DEFAULT_SEED", "MODEL_NOTES_FILES", "RECIPES",
    "RECIPE_NOTES_FILE", "ROTATIONS", "SPLIT_NOTES_FILES", "VARIED_EPOCHS", "VARIED_NOTES_FILE", "card_markdown", "card_notes",
    "fit_epoch_by_epoch", "joint_labels", "library_versions", "pretrain", "read_recipe_notes", "rotated_copies",
    "rotated_with_joint_labels", "shuffle_labels", "train_with_auxiliary_task", "train_with_variation",
    "with_auxiliary_head",
]

#: The recipe that produced the shipped base (see the model card's "tried" notes).
DEFAULT_EPOCHS = 4
DEFAULT_BATCH_SIZE = 128
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_SEED = 0

#: What was tried while choosing the recipe (a lab log), copied into every model card.
RECIPE_NOTES_FILE = paths.MODELS_DIR / "recipe_notes.md"


def read_recipe_notes(path=RECIPE_NOTES_FILE) -> list[str]:
    """The notes of the recipe lab log: every line of ``path`` that starts with ``"- "``, without it.

    Parameters
    ----------
    path : path-like, default :data:`RECIPE_NOTES_FILE`
        A Markdown file with one note per bullet line.

    Returns
    -------
    list of str
        The notes, in file order.
    """
    text = pathlib.Path(path).read_text(encoding="utf-8")
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def shuffle_labels(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Return a copy of ``labels`` where a ``fraction`` of them is permuted.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer labels.
    fraction : float
        Between 0 (labels untouched) and 1 (every label shuffled, so the labels
        carry no information about the images).
    seed : int
        Seed of the choice and the permutation.
    """
    if not 0.0 <= fraction <= 1.0:
        raise TlkitError(f"shuffle_labels: fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    corrupted = labels.copy()
    chosen = rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False)
    corrupted[chosen] = rng.permutation(labels[chosen])
    return corrupted


def rotated_copies(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotate every image by a random multiple of 90 degrees.

    Returns
    -------
    rotated : numpy.ndarray
        The images, each turned by ``90 * turns`` degrees counter-clockwise.
    turns : numpy.ndarray
        How many quarter turns each image got (0-3): the auxiliary task's labels.
    """
    rng = np.random.default_rng(seed)
    turns = rng.integers(0, 4, size=len(images))
    rotated = images.copy()
    for quarter_turns in (1, 2, 3):
        chosen = turns == quarter_turns
        rotated[chosen] = np.rot90(images[chosen], k=quarter_turns, axes=(1, 2))
    return rotated, turns.astype(np.int64)


ROTATIONS = 4


def joint_labels(labels: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """Combine class labels and quarter turns into one label: ``class * 4 + turns``.

    >>> joint_labels(np.array([0, 2]), np.array([3, 1])).tolist()
    [3, 9]
    """
    labels, turns = np.asarray(labels), np.asarray(turns)
    if labels.shape != turns.shape:
        raise TlkitError(f"joint_labels: {labels.shape[0]} labels but {turns.shape[0]} rotations")
    if turns.size and (turns.min() < 0 or turns.max() >= ROTATIONS):
        raise TlkitError(f"joint_labels: rotations must be 0-{ROTATIONS - 1} quarter turns")
    return (labels.astype(np.int64) * ROTATIONS + turns).astype(np.int64)


def with_auxiliary_head(model, units: int, name: str):
    """A training model that shares ``model`` and adds a second softmax classifier.

    The extra head (dropout, then ``units`` softmax units named ``name``)
    reads the ``features`` layer like the class head does; the model has two
    outputs, the class and the auxiliary label.
    """
    import keras

    features = model.get_layer(models.FEATURE_LAYER).output
    hidden = keras.layers.Dropout(0.3, name=f"{name}_dropout")(features)
    auxiliary = keras.layers.Dense(units, activation="softmax", name=name)(hidden)
    return keras.Model(model.inputs, [model.output, auxiliary], name="pretraining")


def rotated_with_joint_labels(images: np.ndarray, labels: np.ndarray, epoch_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The shipped auxiliary task: turn every image at random, label it with the pair (class, rotation)."""
    rotated, turns = rotated_copies(images, epoch_seed)
    return rotated, joint_labels(labels, turns)


def train_with_auxiliary_task(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    epochs: int,
    seed: int,
    auxiliary_task: Callable = rotated_with_joint_labels,
    auxiliary_units: int | None = None,
    auxiliary_name: str = "class_and_rotation",
    verbose: int = 0,
):
    """Train a fresh ``fashion_cnn`` with a class head and an auxiliary head, as ``python -m tlkit.pretrain`` does.

    Parameters
    ----------
    images, labels : numpy.ndarray
        Training images (``(n, 28, 28, 1)`` uint8) and their class labels (0 to ``num_classes - 1``).
    num_classes : int
        Units of the class head.
    epochs : int
        Passes over ``images``.
    seed : int
        Seed of initialisation and shuffling; epoch ``e`` calls the auxiliary task
        with ``seed * 1000 + e``, so a rerun sees the same transformed images.
    auxiliary_task : callable
        ``auxiliary_task(images, labels, epoch_seed)`` returns the images to train
        on this epoch and their auxiliary labels.  Default: the shipped
        :func:`rotated_with_joint_labels`.
    auxiliary_units : int, optional
        Units of the auxiliary head; default ``num_classes * 4`` (the joint labels).
    auxiliary_name : str
        Name of the auxiliary head (its metrics are reported under it).
    verbose : int
        Keras' ``fit`` verbosity.

    Returns
    -------
    model : keras.Model
        The trained class model (without the auxiliary head).
    history : keras.callbacks.History
        The last epoch's history.
    seconds : float
        Training time.
    """
    import keras

    from tlkit.training import set_seed

    set_seed(seed)
    model = models.build_fashion_cnn(num_classes=num_classes)
    units = num_classes * ROTATIONS if auxiliary_units is None else auxiliary_units
    trainer = with_auxiliary_head(model, units, auxiliary_name)
    trainer.compile(
        optimizer=keras.optimizers.Adam(DEFAULT_LEARNING_RATE),
        loss=["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"],
        metrics=[["accuracy"], ["accuracy"]],
    )

    def training_data(epoch):
        epoch_images, auxiliary_labels = auxiliary_task(images, labels, seed * 1000 + epoch)
        return epoch_images, (labels, auxiliary_labels)

    history, seconds = fit_epoch_by_epoch(trainer, epochs, training_data, verbose)
    return model, history, seconds


def fit_epoch_by_epoch(model, epochs: int, training_data: Callable, verbose: int = 0):
    """Fit ``model`` for ``epochs`` epochs, each on its own data, as the pre-training recipes do.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    epochs : int
        How many epochs.
    training_data : callable
        ``training_data(epoch)`` returns ``(x, y)`` for that epoch (0-based),
        for example freshly rotated or varied images.
    verbose : int
        Keras' ``fit`` verbosity.

    Returns
    -------
    history : keras.callbacks.History
        The last epoch's history.
    seconds : float
        Training time.
    """
    started = time.perf_counter()
    for epoch in range(epochs):
        x, y = training_data(epoch)
        history = model.fit(x, y, batch_size=DEFAULT_BATCH_SIZE, epochs=epoch + 1, initial_epoch=epoch, shuffle=True, verbose=verbose)
    return history, time.perf_counter() - started


#: Notes added to the cards of bases pre-trained on another class split than the course's, by split.
SPLIT_NOTES_FILES = {split: paths.MODELS_DIR / f"recipe_notes_{split}.md" for split in ("related", "distant")}
#: Notes for one shipped base only (its weights name): why its recipe differs from its family's.
MODEL_NOTES_FILES = {
    "fashion_related_varied_shuffled_100": paths.MODELS_DIR / "recipe_notes_fashion_related_varied_shuffled_100.md",
}
#: Recipes ``python -m tlkit.pretrain --recipe`` knows: the shipped one and the varied-photos one.
RECIPES = ("rotation", "varied")
#: Epochs of the varied recipe (each sees a fresh variation of every source image).
VARIED_EPOCHS = 10

#: Notes added to the cards of bases pre-trained with the varied recipe.
VARIED_NOTES_FILE = paths.MODELS_DIR / "recipe_notes_varied.md"


def card_notes(recipe: str, split: str, weights_name: str) -> list[str]:
    """The notes a new model card carries: the lab log, then the recipe's, the split's and the base's own notes.

    Parameters
    ----------
    recipe : str
        One of :data:`RECIPES`.
    split : str
        A key of :data:`tlkit.data.CLASS_SPLITS`.
    weights_name : str
        The base's weights name, such as ``"fashion_related_varied"``.

    Returns
    -------
    list of str
        :func:`read_recipe_notes` of :data:`RECIPE_NOTES_FILE`, then of :data:`VARIED_NOTES_FILE` for the varied
        recipe, of ``SPLIT_NOTES_FILES[split]`` and of ``MODEL_NOTES_FILES[weights_name]`` when listed there.
    """
    files = [RECIPE_NOTES_FILE] + ([VARIED_NOTES_FILE] if recipe == "varied" else [])
    files += [notes[key] for notes, key in ((SPLIT_NOTES_FILES, split), (MODEL_NOTES_FILES, weights_name)) if key in notes]
    return [note for file in files for note in read_recipe_notes(file)]


def train_with_variation(images: np.ndarray, labels: np.ndarray, num_classes: int, epochs: int, seed: int, variation=None,
                         verbose: int = 0, learning_rate: float = DEFAULT_LEARNING_RATE):
    """Train a fresh ``fashion_cnn`` on a new random variation of ``images`` every epoch.

    Epoch ``e`` trains on ``tlkit.variation.vary(images, variation, seed * 1000 + e)``,
    so a rerun with the same seed sees the same pictures.  ``learning_rate`` is Adam's.

    Returns
    -------
    model, history, seconds
        As :func:`train_with_auxiliary_task` (``history`` of the last epoch).
    """
    import keras

    from tlkit.training import set_seed

    variation = variation_module.CUSTOMER_PHOTOS if variation is None else variation
    set_seed(seed)
    model = models.build_fashion_cnn(num_classes=num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    for epoch in range(epochs):
        epoch_images = variation_module.vary(images, variation, seed * 1000 + epoch)
        history = model.fit(
            epoch_images,
            labels,
            batch_size=DEFAULT_BATCH_SIZE,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=True,
            verbose=verbose,
        )
    return model, history, time.perf_counter() - started


def library_versions() -> dict:
    """Versions of the libraries that shaped the weights."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def pretrain(
    epochs: int | None = None,
    seed: int = DEFAULT_SEED,
    shuffle_fraction: float = 0.0,
    weights_name: str | None = None,
    full_path=None,
    out_dir=None,
    progress: bool = True,
    recipe: str = "rotation",
    split: str = "course",
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> dict:
    """Train ``fashion_cnn`` on the source task and save it with its model card.

    Parameters
    ----------
    epochs : int, optional
        Passes over the 30,000 source training images; default 4 for the
        ``"rotation"`` recipe and 10 for ``"varied"``.
    seed : int
        Seed of initialisation, shuffling, rotations and label corruption.
    shuffle_fraction : float, default 0
        Fraction of source labels shuffled before training (0 = clean source).
    weights_name : str, optional
        Name to save under; default ``"fashion_source"`` for a clean run and
        ``"fashion_source_shuffled_<percent>"`` otherwise.
    full_path : path-like, optional
        Folder holding the full Fashion-MNIST files.
    out_dir : path-like, optional
        Where to write; default ``data/models/``.
    progress : bool
        Show Keras' per-epoch progress.
    recipe : {"rotation", "varied"}
        ``"rotation"`` (the shipped base): joint (class, quarter-turn) auxiliary
        head.  ``"varied"``: every epoch a fresh random variation of the source
        images (:mod:`tlkit.variation`), saved as ``"fashion_source_varied"``
        by default.
    split : str, default "course"
        Which class split's source task to train on (:data:`tlkit.data.CLASS_SPLITS`).
        Another split's weights are named ``"fashion_<split>"`` (plus
        ``"_<recipe>"`` for the varied recipe) by default.
    learning_rate : float, default 1e-3
        Adam's learning rate (the varied recipe only).  On fully shuffled labels
        the default drives every unit of the ``features`` layer to zero (there is
        nothing to learn, and a constant output is the best guess); a smaller
        rate keeps the network alive (``data/models/recipe_notes.md``).

    Returns
    -------
    dict
        The model card that was written.
    """
    if recipe not in RECIPES:
        raise TlkitError(f"pretrain: unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    if epochs is None:
        epochs = VARIED_EPOCHS if recipe == "varied" else DEFAULT_EPOCHS
    if recipe != "varied" and learning_rate != DEFAULT_LEARNING_RATE:
        raise TlkitError(f"pretrain: the {recipe!r} recipe trains at {DEFAULT_LEARNING_RATE}; --learning-rate is for the varied recipe")
    if not learning_rate > 0:
        raise TlkitError(f"pretrain: the learning rate must be positive, got {learning_rate}")
    source_labels, _ = data.class_split(split)
    if weights_name is None:
        weights_name = "fashion_source" if split == "course" else f"fashion_{split}"
        weights_name += "" if recipe == "rotation" else f"_{recipe}"
        if shuffle_fraction:
            weights_name += f"_shuffled_{round(shuffle_fraction * 100)}"
    stem = models.KIT_WEIGHTS.get(weights_name, f"fashion_cnn_{weights_name}")
    out = pathlib.Path(out_dir) if out_dir is not None else paths.MODELS_DIR
    out.mkdir(parents=True, exist_ok=True)

    source = data.source_task(data.load_fashion_mnist("full", path=full_path), split)
    train_labels = shuffle_labels(source.train.labels, shuffle_fraction, seed)

    if progress:
        print(f"pre-training fashion_cnn on {len(source.train):,} source images ({split} split) for {epochs} epochs "
              f"(labels shuffled: {100 * shuffle_fraction:.0f}%)", flush=True)
    if recipe == "varied":
        model, history, seconds = train_with_variation(
            source.train.images, train_labels, source.train.num_classes, epochs, seed, verbose=2 if progress else 0,
            learning_rate=learning_rate,
        )
    else:
        model, history, seconds = train_with_auxiliary_task(
            source.train.images, train_labels, source.train.num_classes, epochs, seed, verbose=2 if progress else 0
        )
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, test_accuracy = model.evaluate(source.test.images, source.test.labels, batch_size=1000, verbose=0)

    model_file = out / f"{stem}.keras"
    model.save(model_file)
    card = {
        "name": weights_name,
        "architecture": models.KIT_ARCHITECTURE,
        "file": model_file.name,
        "sha256": data.sha256_of_file(model_file),
        "layers": [f"{layer.name} ({type(layer).__name__})" for layer in model.layers],
        "parameters": int(model.count_params()),
        "data": {
            "dataset": "Fashion-MNIST (Expat licence, Copyright 2017 Zalando SE)",
            "task": ("source: classes 0-4" if split == "course" else f"source ({split} split): classes " + ", ".join(map(str, source_labels)))
            + " (" + ", ".join(source.class_names) + ")",
            "train_images": len(source.train),
            "test_images": len(source.test),
            "label_shuffle_fraction": shuffle_fraction,
        },
        "training": {
            "epochs": epochs,
            "batch_size": DEFAULT_BATCH_SIZE,
            "optimizer": f"Adam(learning_rate={learning_rate})",
            **(_varied_training_entry(history) if recipe == "varied" else {
                "auxiliary_task": "every training image is turned by a random multiple of 90 degrees; a second "
                "20-unit softmax head on the 'features' layer predicts the pair (class, rotation) (equal loss "
                "weights); the head is dropped from the saved model",
            }),
            "seed": seed,
            "seconds": round(seconds, 1),
            **({} if recipe == "varied" else {
                "final_train_accuracy_rotated_images": round(float(history.history["predictions_accuracy"][-1]), 4),
                "final_class_and_rotation_accuracy": round(float(history.history["class_and_rotation_accuracy"][-1]), 4),
            }),
        },
        "source_test_accuracy": round(float(test_accuracy), 4),
        "library_versions": library_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "recipe_notes": card_notes(recipe, split, weights_name),
        "command": "python -m tlkit.pretrain"
        + (f" --recipe {recipe}" if recipe != "rotation" else "")
        + (f" --split {split}" if split != "course" else "")
        + (f" --shuffle-fraction {shuffle_fraction}" if shuffle_fraction else "")
        + (f" --epochs {epochs}" if epochs != (VARIED_EPOCHS if recipe == "varied" else DEFAULT_EPOCHS) else "")
        + (f" --learning-rate {learning_rate}" if learning_rate != DEFAULT_LEARNING_RATE else "")
        + (f" --seed {seed}" if seed != DEFAULT_SEED else ""),
    }
    model_file.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    model_file.with_suffix(".md").write_text(card_markdown(card))
    return card


def _varied_training_entry(history) -> dict:
    return {
        "auxiliary_task": "none; every epoch a fresh random variation of every source image "
        f"(tlkit.variation.vary with {variation_module.CUSTOMER_PHOTOS}, seed * 1000 + epoch)",
        "recipe": "varied",
        "final_train_accuracy_varied_images": round(float(history.history["accuracy"][-1]), 4),
    }


def card_markdown(card: dict) -> str:
    """Render a model card (the JSON dict) as Markdown for people."""
    training = card["training"]
    lines = [
        f"# Model card: `{card['name']}` ({card['architecture']})",
        "",
        f"- **File**: `{card['file']}` (SHA-256 `{card['sha256']}`)",
        f"- **Data**: {card['data']['dataset']}; {card['data']['task']}; "
        f"{card['data']['train_images']} training images, labels shuffled: "
        f"{100 * card['data']['label_shuffle_fraction']:.0f}%",
        f"- **Training**: {training['epochs']} epochs, batch {training['batch_size']}, "
        f"{training['optimizer']}, seed {training['seed']}, {training['seconds']} s",
        f"- **Auxiliary task**: {training['auxiliary_task']}",
        f"- **Source test accuracy**: {card['source_test_accuracy']:.4f} "
        f"on {card['data']['test_images']} test images",
        f"- **Parameters**: {card['parameters']:,}",
        "- **Libraries**: " + ", ".join(f"{name} {version}" for name, version in card["library_versions"].items()),
        f"- **Rebuild**: `{card['command']}`",
        "",
        "## Layers",
        "",
        *[f"1. {layer}" for layer in card["layers"]],
        "",
        "## What was tried",
        "",
        *[f"- {note}" for note in card["recipe_notes"]],
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tlkit.pretrain [--shuffle-fraction EPS] ...``."""
    parser = argparse.ArgumentParser(prog="python -m tlkit.pretrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help=f"default {DEFAULT_EPOCHS} (rotation) or {VARIED_EPOCHS} (varied)")
    parser.add_argument("--recipe", choices=RECIPES, default="rotation", help="rotation: the shipped base; varied: pre-train on varied photos")
    parser.add_argument("--split", choices=sorted(data.CLASS_SPLITS), default="course", help="class split whose source task to train on")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--shuffle-fraction", type=float, default=0.0, help="fraction of source labels to shuffle (0-1)")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_LEARNING_RATE, help=f"Adam's learning rate, varied recipe only (default {DEFAULT_LEARNING_RATE})")
    parser.add_argument("--name", help="weights name to save under")
    parser.add_argument("--from", dest="full_path", help="folder holding the full Fashion-MNIST *-ubyte.gz files")
    parser.add_argument("--out", help="output folder (default data/models)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        card = pretrain(args.epochs, args.seed, args.shuffle_fraction, args.name, args.full_path, args.out, not args.quiet, args.recipe, args.split,
                        args.learning_rate)
    except TlkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {card['file']}: source test accuracy {card['source_test_accuracy']:.4f} "
        f"after {card['training']['epochs']} epochs in {card['training']['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
