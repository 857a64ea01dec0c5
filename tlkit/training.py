"""Reproducible training: seeding, two-phase histories and progress bars around ``model.fit``."""

from __future__ import annotations

import math
import os
import random
import time
import warnings
from collections.abc import Mapping

import keras
import numpy as np

from tlkit.data import refuse_test_split
from tlkit.errors import InputShapeError, TlkitError
from tlkit.keras_internals import learning_rate_variable

__all__ = [
    "BOOKKEEPING_KEYS", "CompiledTrainers", "EpochTimer", "HistoryMismatchError", "KeepBestOnValidation",
    "ProgressBar", "merge_histories", "set_seed", "validation_data",
]


def validation_data(split, used_for: str = "fit(validation_data=...)") -> tuple:
    """``(images, labels)`` of a validation split for ``fit(validation_data=...)``, refusing test images.

    What ``fit`` reports on its validation data is what you choose by: how
    many epochs, which learning rate, when to stop.  So it must never be test
    data; :func:`tlkit.data.refuse_test_split` checks the split's role and every
    image.

    Parameters
    ----------
    split : tlkit.data.LabelledImages or tuple
        A validation split (:func:`tlkit.data.validation_split`), or an
        ``(images, labels)`` pair.
    used_for : str
        Where it is used, for the error message.

    Raises
    ------
    tlkit.data.TestDataInSelectionError
        When ``split`` is or contains test images.
    """
    refuse_test_split(split, used_for)
    if isinstance(split, (tuple, list)):
        return tuple(split)
    return split.images, split.labels


def set_seed(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow so that a run can be repeated exactly.

    Parameters
    ----------
    seed : int, default 0
        The seed for every random number generator involved in training.
    deterministic : bool, default True
        Also ask TensorFlow for deterministic kernels
        (``tf.config.experimental.enable_op_determinism``), so the same seed
        gives the same weights on the same machine, not just similar ones.

    Notes
    -----
    Call it before building a model: Keras draws initial weights when the
    layers are built.
    """
    import keras
    import tensorflow as tf

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InputShapeError(f"set_seed: seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


class CompiledTrainers:
    """Train many same-shaped models while Keras builds each training function only once.

    Keras traces a new training function for every compiled model, and for
    the small models of an experiment grid that costs more than the training.
    Grids train dozens of models but only a few distinct *patterns* (the same
    layers with the same trainable flags).  For each pattern this keeps one
    compiled *trainer*.  To train a model, its variables (weights, and the
    random-generator state of its Dropout layers) are copied into the trainer,
    the optimizer's state is reset to zero as a new optimizer would start,
    the seed is set, the trainer is fitted, and the trained variables are
    copied back.  The updates are those of a freshly compiled copy of the model.

    Parameters
    ----------
    compile_model : callable
        ``compile_model(model)`` compiles a trainer (optimizer, loss, metrics).

    Examples
    --------
    >>> trainers = CompiledTrainers(lambda m: m.compile("adam", "sparse_categorical_crossentropy"))
    >>> trainers.fit(model, x, y, epochs=5, batch_size=32, seed=0)  # doctest: +SKIP
    """

    def __init__(self, compile_model):
        self._compile_model = compile_model
        self._trainers = {}

    @staticmethod
    def _pattern(model) -> tuple:
        return tuple(
            (type(layer).__name__, layer.trainable, tuple(tuple(weight.shape) for weight in layer.weights))
            for layer in model.layers
        )

    def trainer_for(self, model):
        """The compiled trainer for ``model``'s pattern (built and compiled on first use)."""
        import keras

        pattern = self._pattern(model)
        trainer = self._trainers.get(pattern)
        if trainer is None:
            trainer = keras.models.clone_model(model)
            for source_layer, trainer_layer in zip(model.layers, trainer.layers):
                trainer_layer.trainable = source_layer.trainable
            self._compile_model(trainer)
            self._trainers[pattern] = trainer
        elif trainer.optimizer is not None and trainer.optimizer.built:
            for variable in trainer.optimizer.variables:
                if variable is not learning_rate_variable(trainer.optimizer):
                    variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        return trainer

    def fit(self, model, x, y, epochs: int, batch_size: int, seed: int, one_pass: bool = False):
        """Fit ``model`` on ``(x, y)`` through its pattern's trainer; return ``model``.

        With ``one_pass=True`` the ``epochs`` shuffled passes over the data are
        laid end to end and fitted as one long epoch: the same number of
        examples in the same kind of random order, without the fixed cost Keras
        pays at the start of every epoch (which dominates for a tiny model).
        Mini-batches may then straddle two passes.
        """
        import keras

        trainer = self.trainer_for(model)
        for target, source in zip(trainer.variables, model.variables):
            target.assign(source)
        keras.utils.set_random_seed(seed)
        if one_pass:
            generator = np.random.default_rng(seed)
            order = np.concatenate([generator.permutation(len(x)) for _ in range(epochs)])
            trainer.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
        else:
            trainer.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        for target, source in zip(model.variables, trainer.variables):
            target.assign(source)
        return model

    def __len__(self) -> int:
        return len(self._trainers)


# ---------------------------------------------------------------------------
# Two-phase histories
# ---------------------------------------------------------------------------


#: Keys of a merged history that are bookkeeping, not metrics.
BOOKKEEPING_KEYS = ("epoch", "fine_tune_start")


class HistoryMismatchError(TlkitError, ValueError):
    """Two training histories cannot be merged as they are."""


def _history_parts(history, which: str) -> tuple[dict, list | None]:
    """Return the metric lists of a History or dict, and the 0-based epochs if known."""
    if hasattr(history, "history") and isinstance(getattr(history, "history"), Mapping):
        metrics = history.history
        epochs = list(getattr(history, "epoch", []) or []) or None
    elif isinstance(history, Mapping):
        metrics = {k: v for k, v in history.items() if k not in BOOKKEEPING_KEYS}
        epochs = None
    else:
        raise HistoryMismatchError(
            f"merge_histories: the {which} history must be a keras History (what fit returns) "
            f"or a dict of lists, got {type(history).__name__}"
        )
    lists = {}
    for key, values in metrics.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise HistoryMismatchError(
                f"merge_histories: {which} history entry {key!r} must be a list of numbers, "
                f"got {type(values).__name__}"
            )
        lists[str(key)] = [float(v) for v in values]
    lengths = {len(v) for v in lists.values()}
    if len(lengths) > 1:
        detail = ", ".join(f"{k}: {len(v)}" for k, v in lists.items())
        raise HistoryMismatchError(
            f"merge_histories: the {which} history has lists of different lengths ({detail})"
        )
    return lists, epochs


def _epochs_run(lists: dict) -> int:
    return len(next(iter(lists.values()))) if lists else 0


def merge_histories(first, second, *, missing: str = "nan") -> dict:
    """Join the histories of a two-phase run (feature extraction, then fine-tuning).

    Parameters
    ----------
    first : keras.callbacks.History or dict of lists
        Phase 1, for example the fit that trained only the new head.
    second : keras.callbacks.History or dict of lists
        Phase 2, the fit after unfreezing. Whether it was run with
        ``initial_epoch`` or started again from epoch 0 does not matter:
        the merged epochs are always numbered one after the other.
    missing : {"nan", "raise"}, default "nan"
        What to do with a metric only one phase recorded (for example
        ``val_accuracy`` when only phase 2 had validation data, or a metric
        renamed by a new ``compile``). ``"nan"`` keeps it and fills the
        other phase with NaN, with a warning naming the keys; ``"raise"``
        raises :class:`HistoryMismatchError`.

    Returns
    -------
    dict
        One list per metric, phase 1 values followed by phase 2 values;
        ``"epoch"``: the epoch numbers as Keras prints them (1, 2, ...); and
        ``"fine_tune_start"``: the list index where phase 2 begins (also the
        number of phase-1 epochs). :func:`tlkit.plots.plot_learning_curves`
        reads that key to mark where fine-tuning started.

    Raises
    ------
    HistoryMismatchError
        A history is empty, has lists of different lengths, or (with
        ``missing="raise"``) the two phases recorded different metrics.

    Examples
    --------
    >>> history = merge_histories({"loss": [0.9, 0.5]}, {"loss": [0.4]})
    >>> history["epoch"], history["loss"], history["fine_tune_start"]
    ([1, 2, 3], [0.9, 0.5, 0.4], 2)
    """
    if missing not in ("nan", "raise"):
        raise HistoryMismatchError(f"merge_histories: missing must be 'nan' or 'raise', got {missing!r}")
    first_lists, first_epochs = _history_parts(first, "first")
    second_lists, second_epochs = _history_parts(second, "second")
    first_count, second_count = _epochs_run(first_lists), _epochs_run(second_lists)
    if first_count == 0:
        raise HistoryMismatchError("merge_histories: the first history has no epochs")
    if second_count == 0:
        hint = ""
        if first_epochs:
            start = first_epochs[-1] + 1
            hint = (
                f"; if phase 2 used initial_epoch={start}, its epochs= must be larger "
                f"(for 5 more epochs: epochs={start + 5}), because epochs is where fit stops"
            )
        raise HistoryMismatchError(f"merge_histories: the second history has no epochs{hint}")
    only_first = [k for k in first_lists if k not in second_lists]
    only_second = [k for k in second_lists if k not in first_lists]
    if only_first or only_second:
        detail = "; ".join(
            part
            for part in (
                f"only in the first: {', '.join(map(repr, only_first))}" if only_first else "",
                f"only in the second: {', '.join(map(repr, only_second))}" if only_second else "",
            )
            if part
        )
        if missing == "raise":
            raise HistoryMismatchError(f"merge_histories: the phases recorded different metrics ({detail})")
        warnings.warn(
            f"merge_histories: the phases recorded different metrics ({detail}); "
            "the missing epochs are filled with NaN",
            stacklevel=2,
        )
    merged: dict = {"epoch": list(range(1, first_count + second_count + 1))}
    for key in list(first_lists) + only_second:
        merged[key] = first_lists.get(key, [math.nan] * first_count) + second_lists.get(
            key, [math.nan] * second_count
        )
    merged["fine_tune_start"] = first_count
    return merged


# ---------------------------------------------------------------------------
# Progress bars
# ---------------------------------------------------------------------------

class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of every training epoch in ``seconds``.

    Pass it to ``fit(..., callbacks=[timer])``; afterwards ``timer.seconds``
    holds one duration per epoch (the first usually includes tracing, so
    compare medians of the later ones).
    """

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)


class KeepBestOnValidation(keras.callbacks.Callback):
    """Checkpoint choice on validation data: at the end of ``fit``, keep the weights of the best epoch.

    After every epoch it reads ``monitor`` (default ``"val_accuracy"``, which
    ``fit`` computes on its ``validation_data``); when training ends the model
    gets back the weights of the epoch where it was highest (ties: the
    earlier).  Give ``fit`` its validation data through
    :func:`validation_data`, which refuses test images, so the choice never
    sees a test image.

    Attributes
    ----------
    best_epoch : int
        The chosen epoch, counted from 1 like Keras prints it.
    best : float
        The monitored value at that epoch.

    Examples
    --------
    >>> keep = KeepBestOnValidation()
    >>> model.fit(x, y, epochs=10, validation_data=validation_data(validation), callbacks=[keep])  # doctest: +SKIP
    >>> keep.best_epoch  # doctest: +SKIP
    """

    def __init__(self, monitor: str = "val_accuracy"):
        super().__init__()
        self.monitor = monitor

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self._weights = -math.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise TlkitError(
                f"KeepBestOnValidation: fit reported no {self.monitor!r}; pass "
                "validation_data=training.validation_data(validation_split) to fit"
            )
        if float(logs[self.monitor]) > self.best:
            self.best, self.best_epoch = float(logs[self.monitor]), epoch + 1
            self._weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self._weights is not None:
            self.model.set_weights(self._weights)


class ProgressBar(keras.callbacks.Callback):
    """A tqdm progress bar for ``fit`` (one step per epoch) and ``predict`` (per batch).

    In a notebook ``tqdm.auto`` draws a widget bar, in a terminal a text
    bar. Use it with ``verbose=0`` so that Keras prints nothing of its own
    and the cell output stays short.

    Parameters
    ----------
    per_batch : bool, default False
        During ``fit``, advance after every batch instead of every epoch;
        useful when one epoch takes long.
    show_metrics : bool, default True
        Show the latest epoch's metrics next to the bar.
    leave : bool, default True
        Keep the finished bar on screen.
    description : str, optional
        Text in front of the bar; default ``"training"`` or ``"predicting"``.
    disable : bool, optional
        Draw nothing; ``None`` lets tqdm decide (the ``TQDM_DISABLE``
        environment variable also turns every bar off).

    Examples
    --------
    >>> model.fit(x, y, epochs=20, verbose=0, callbacks=[ProgressBar()])  # doctest: +SKIP
    """

    def __init__(self, per_batch=False, show_metrics=True, leave=True, description=None, disable=None):
        super().__init__()
        self.per_batch = bool(per_batch)
        self.show_metrics = bool(show_metrics)
        self.leave = bool(leave)
        self.description = description
        self.disable = disable
        self.bar = None

    def _open(self, total, default_description, unit):
        from tqdm.auto import tqdm

        self._close()
        self.bar = tqdm(
            total=total,
            desc=self.description or default_description,
            unit=unit,
            leave=self.leave,
            disable=self.disable,
        )

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # fit -----------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._started:
            return
        # The first epoch's index is fit's initial_epoch, so the bar counts
        # only the epochs this call will actually run.
        self._started = True
        epochs_left = max(int(self.params.get("epochs") or 0) - epoch, 0)
        steps = self.params.get("steps")
        if self.per_batch and steps:
            self._open(epochs_left * steps, "training", "batch")
        else:
            self.per_batch = self.per_batch and bool(steps)
            self._open(epochs_left or None, "training", "epoch")

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch and self.bar is not None:
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is None:
            return
        if not self.per_batch:
            self.bar.update(1)
        if self.show_metrics and logs:
            self.bar.set_postfix(
                {"epoch": epoch + 1, **{k: f"{float(v):.4f}" for k, v in logs.items()}}, refresh=True
            )

    def on_train_end(self, logs=None):
        self._close()

    # predict ---------------------------------------------------------------
    def on_predict_begin(self, logs=None):
        self._open(self.params.get("steps"), "predicting", "batch")

    def on_predict_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)

    def on_predict_end(self, logs=None):
        self._close()
