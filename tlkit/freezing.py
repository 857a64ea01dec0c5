"""Freeze and unfreeze layers, report what is trainable, prove frozen weights stayed put.

The three jobs of this module:

* :func:`freeze` / :func:`unfreeze` set ``layer.trainable`` on a chosen part
  of a model (by index, slice, name or fraction) and say which layers they
  touched.
* :func:`trainable_report` lists every layer with its trainable and frozen
  parameter counts, as an HTML table in a notebook and a text table in a
  terminal.
* :func:`snapshot_weights`, :func:`weights_unchanged` and
  :func:`changed_layers` copy weights before training and compare them after,
  which is how a notebook shows that "frozen" really meant frozen.

Keras reads ``trainable`` when ``model.compile`` builds the training step, so
after freezing or unfreezing a model that was already compiled, compile it
again; otherwise the change has no effect on the next ``fit``.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

from tlkit.arguments import is_integer
from tlkit.errors import FreezeRangeError, InputShapeError, TlkitError, UnknownNameError
from tlkit.model_structure import is_batchnorm, nested_layers, parameter_count

__all__ = [
    "LayerSelectionError",
    "ModelNotBuiltError",
    "freeze",
    "unfreeze",
    "make_container_trainable",
    "select_layers",
    "TrainableRow",
    "TrainableReport",
    "trainable_report",
    "WeightSnapshot",
    "snapshot_weights",
    "weights_unchanged",
    "changed_layers",
]


class LayerSelectionError(TlkitError, TypeError):
    """A ``layers=`` argument of a type or value tlkit cannot turn into layers."""


class ModelNotBuiltError(TlkitError, ValueError):
    """A model has no weights yet, so there is nothing to count or copy."""


# ---------------------------------------------------------------------------
# Choosing layers
# ---------------------------------------------------------------------------


def _model_name(model) -> str:
    return getattr(model, "name", type(model).__name__)


def _check_index(model, index: int) -> int:
    count = len(model.layers)
    if not -count <= index < count:
        raise FreezeRangeError(
            f"model {_model_name(model)!r} has {count} layers; index {index} is out of range "
            f"(use 0 to {count - 1}, or -1 to -{count} from the end)"
            if count
            else f"model {_model_name(model)!r} has no layers; index {index} is out of range"
        )
    return index % count


def _check_slice(model, chosen: slice) -> list[int]:
    count = len(model.layers)
    for bound in (chosen.start, chosen.stop):
        if bound is None:
            continue
        if not is_integer(bound):
            raise LayerSelectionError(
                f"slice bounds must be integers, got {bound!r} ({type(bound).__name__})"
            )
        if not -count <= bound <= count:
            raise FreezeRangeError(
                f"model {_model_name(model)!r} has {count} layers; slice bound {bound} is out of range"
            )
    if chosen.step is not None and not is_integer(chosen.step):
        raise LayerSelectionError(f"slice step must be an integer, got {chosen.step!r}")
    return list(range(count))[chosen]


def _fraction_indices(model, fraction: float, from_end: bool) -> list[int]:
    if not (isinstance(fraction, numbers.Real) and 0.0 < fraction <= 1.0) or math.isnan(fraction):
        raise FreezeRangeError(
            f"a fraction of layers must be in (0, 1], got {fraction!r} for model {_model_name(model)!r}"
        )
    count = len(model.layers)
    # The small epsilon keeps 0.29 * 100 (= 28.999...) at 29 layers.
    how_many = max(1, math.floor(fraction * count + 1e-9))
    how_many = min(how_many, count)
    return list(range(count - how_many, count)) if from_end else list(range(how_many))


def select_layers(model, layers=None, *, fraction_from_end: bool = False) -> list:
    """Turn a ``layers=`` argument into a list of the model's top-level layers.

    Parameters
    ----------
    model : keras.Model
        The model whose ``model.layers`` are chosen from.
    layers : None, int, slice, str, float, or list of int/str
        * ``None``: every layer in ``model.layers``.
        * ``int``: one layer by position; negative counts from the end
          (``-1`` is the last layer).
        * ``slice``: positions exactly as ``model.layers[chosen]`` would give,
          for example ``slice(None, -3)`` for ``model.layers[:-3]``.
        * ``str``: one layer by name; a list of names picks several.
        * list of ``int`` (or a mix of ``int`` and ``str``): those layers, in
          the order given, without duplicates.
        * ``float`` in (0, 1]: a fraction of the layers, rounded down but at
          least one layer. It counts from the start of the model unless
          ``fraction_from_end`` is true.
    fraction_from_end : bool, default False
        Count a fractional ``layers`` from the output end instead.

    Returns
    -------
    list of keras.layers.Layer
        The chosen layers, in model order for slices and fractions and in the
        given order for lists.

    Raises
    ------
    FreezeRangeError
        An index or slice bound is past the model's layers, or a fraction is
        outside (0, 1].
    UnknownNameError
        A name is not one of the model's layer names.
    LayerSelectionError
        ``layers`` has a type that means nothing here (a bool, a dict, ...).
    """
    if not hasattr(model, "layers"):
        raise LayerSelectionError(
            f"expected a Keras model with .layers, got {type(model).__name__}"
        )
    all_layers = list(model.layers)
    if layers is None:
        return all_layers
    if isinstance(layers, bool):
        raise LayerSelectionError(
            "layers=True/False means nothing here; pass None for the whole model, "
            "an index, a slice, a name, a list or a fraction"
        )
    if is_integer(layers):
        return [all_layers[_check_index(model, int(layers))]]
    if isinstance(layers, slice):
        return [all_layers[i] for i in _check_slice(model, layers)]
    if isinstance(layers, numbers.Real):
        return [all_layers[i] for i in _fraction_indices(model, float(layers), fraction_from_end)]
    if isinstance(layers, str):
        layers = [layers]
    if isinstance(layers, (list, tuple)):
        by_name = {layer.name: layer for layer in all_layers}
        chosen, unknown = [], []
        for item in layers:
            if isinstance(item, str):
                if item in by_name:
                    chosen.append(by_name[item])
                else:
                    unknown.append(item)
            elif is_integer(item):
                chosen.append(all_layers[_check_index(model, int(item))])
            else:
                raise LayerSelectionError(
                    f"a list of layers may hold names (str) and indices (int), "
                    f"got {item!r} ({type(item).__name__})"
                )
        if unknown:
            known = ", ".join(repr(name) for name in by_name)
            raise UnknownNameError(
                f"model {_model_name(model)!r} has no layer named "
                f"{', '.join(repr(n) for n in unknown)}; its layers are: {known}"
            )
        unique = []
        for layer in chosen:
            if not any(layer is seen for seen in unique):
                unique.append(layer)
        return unique
    raise LayerSelectionError(
        f"layers must be None, an int, a slice, a name, a list of names/indices or a "
        f"fraction in (0, 1]; got {type(layers).__name__}"
    )


def make_container_trainable(model) -> None:
    """Set ``model.trainable = True`` without changing the flags of its layers.

    Keras passes a new ``trainable`` value down to every nested layer, so the
    current flags are remembered first and put back afterwards.  Use it to
    let one layer inside a frozen model train again.
    """
    if model.trainable:
        return
    remembered = [(layer, layer.trainable) for layer in nested_layers(model)]
    model.trainable = True
    for layer, flag in remembered:
        layer.trainable = flag


def freeze(model, layers=None) -> list[str]:
    """Freeze layers of a model so that training leaves their weights alone.

    Parameters
    ----------
    model : keras.Model
        The model to change in place.
    layers : None, int, slice, str, float or list, default None
        Which of ``model.layers`` to freeze; see :func:`select_layers`.
        ``None`` freezes every layer. A float in (0, 1] freezes that fraction
        of the layers counted from the input side, rounded down (at least
        one): ``freeze(model, 0.5)`` on a 9-layer model freezes layers 0-3.

    Returns
    -------
    list of str
        The names of the layers that were frozen, in model order for slices
        and fractions.

    Notes
    -----
    Freezing a nested model (a pre-trained base used as one layer) freezes
    everything inside it. Compile the model again after freezing if it was
    compiled before; Keras only reads ``trainable`` when it compiles.
    """
    chosen = select_layers(model, layers, fraction_from_end=False)
    for layer in chosen:
        layer.trainable = False
    return [layer.name for layer in chosen]


def unfreeze(model, layers=None, *, keep_batchnorm_frozen: bool = True) -> list[str]:
    """Make layers of a model trainable again, for fine-tuning.

    Parameters
    ----------
    model : keras.Model
        The model to change in place.
    layers : None, int, slice, str, float or list, default None
        Which of ``model.layers`` to unfreeze; see :func:`select_layers`.
        ``None`` unfreezes every layer. A float in (0, 1] unfreezes that
        fraction of the layers counted from the **output** side, rounded down
        (at least one), because fine-tuning usually unfreezes the top of a
        network: ``unfreeze(model, 0.25)`` on a 9-layer model unfreezes the
        last 2 layers. Use a slice to count from the input side instead.
    keep_batchnorm_frozen : bool, default True
        Leave BatchNormalization layers frozen, including the ones inside
        nested models. A frozen BatchNormalization layer keeps using the
        mean and variance it learned on the source data; letting a small
        target set move them tends to wreck the pre-trained features, so
        this is the usual practice when fine-tuning.

    Returns
    -------
    list of str
        The names of the top-level layers that are now trainable. With
        ``keep_batchnorm_frozen=True`` a chosen BatchNormalization layer is
        left out of the list, because it stayed frozen.

    Notes
    -----
    If ``model.trainable`` itself was set to False, it is set back to True
    so that the chosen layers can train; the other layers keep their flags.
    Compile the model again afterwards: Keras only reads ``trainable`` when
    it compiles, so without it the next ``fit`` still trains nothing new.
    """
    chosen = select_layers(model, layers, fraction_from_end=True)
    make_container_trainable(model)
    affected = []
    for layer in chosen:
        if keep_batchnorm_frozen and is_batchnorm(layer):
            layer.trainable = False
            continue
        layer.trainable = True
        if keep_batchnorm_frozen:
            for inner in nested_layers(layer):
                if is_batchnorm(inner):
                    inner.trainable = False
        affected.append(layer.name)
    return affected


# ---------------------------------------------------------------------------
# Trainable report
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainableRow:
    """One line of a :class:`TrainableReport`.

    Attributes
    ----------
    index : int
        Position of the layer inside its parent (``model.layers[index]``).
    name : str
        The layer's name.
    type : str
        The layer's class name, for example ``"Conv2D"``.
    trainable : bool
        Whether training can change any of the layer's weights, taking the
        flags of the enclosing models into account.
    status : str
        ``"trainable"``, ``"frozen"`` or ``"partly frozen"`` (a nested model
        with both kinds of layers inside).
    trainable_params : int
        Number of values training may change.
    non_trainable_params : int
        Number of values training leaves alone (frozen weights, and the
        moving mean and variance of BatchNormalization layers).
    depth : int
        0 for the model's own layers, 1 for layers inside a nested model...
    """

    index: int
    name: str
    type: str
    trainable: bool
    status: str
    trainable_params: int
    non_trainable_params: int
    depth: int = 0

    @property
    def total_params(self) -> int:
        """Trainable plus non-trainable parameters."""
        return self.trainable_params + self.non_trainable_params


class TrainableReport:
    """Per-layer trainable/frozen parameter counts of a model.

    Build one with :func:`trainable_report`. In a notebook it shows as an
    HTML table with frozen rows greyed out; ``print(report)`` gives a text
    table.

    Attributes
    ----------
    model_name : str
        The model the report describes.
    rows : list of TrainableRow
        One row per layer (and per nested layer with ``expand_nested``).
    trainable_params, non_trainable_params, total_params : int
        Totals for the whole model; ``total_params`` equals
        ``model.count_params()``.
    """

    def __init__(self, model_name, rows, trainable_params, non_trainable_params):
        self.model_name = model_name
        self.rows = list(rows)
        self.trainable_params = int(trainable_params)
        self.non_trainable_params = int(non_trainable_params)

    @property
    def total_params(self) -> int:
        """Every parameter of the model."""
        return self.trainable_params + self.non_trainable_params

    def to_dict(self) -> dict:
        """Return the report as plain Python data (for tests and JSON)."""
        return {
            "model": self.model_name,
            "rows": [asdict(row) for row in self.rows],
            "totals": {
                "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params,
                "total_params": self.total_params,
            },
        }

    _HEADERS = ("#", "layer", "type", "status", "trainable params", "frozen params")

    def _cells(self, row: TrainableRow) -> tuple:
        indent = "  " * row.depth
        return (
            f"{indent}{row.index}",
            f"{indent}{row.name}",
            row.type,
            row.status,
            f"{row.trainable_params:,}",
            f"{row.non_trainable_params:,}",
        )

    def __str__(self) -> str:
        body = [self._cells(row) for row in self.rows]
        widths = [max(len(str(c)) for c in column) for column in zip(self._HEADERS, *body)]
        numeric = {0, 4, 5}

        def line(cells):
            return "  ".join(
                str(c).rjust(w) if i in numeric else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "-" * len(line(self._HEADERS))
        lines = [f"Model {self.model_name!r}", line(self._HEADERS), rule]
        lines += [line(cells) for cells in body]
        lines += [
            rule,
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total params: {self.total_params:,}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<TrainableReport {self.model_name!r}: {self.trainable_params:,} trainable, "
            f"{self.non_trainable_params:,} non-trainable parameters>"
        )

    def _repr_html_(self) -> str:
        frozen_style = "color:#888;background:#eef1f6;"
        partly_style = "background:#fbf4e4;"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEADERS)
        body = []
        for row in self.rows:
            style = {"frozen": frozen_style, "partly frozen": partly_style}.get(row.status, "")
            cells = self._cells(row)
            padding = f"padding-left:{0.5 + 1.5 * row.depth}em;"
            tds = [
                f"<td>{html.escape(cells[0].strip())}</td>",
                f'<td style="{padding}text-align:left">{html.escape(row.name)}</td>',
                f'<td style="text-align:left">{html.escape(row.type)}</td>',
                f'<td style="text-align:left">{"&#10052; " if row.status == "frozen" else ""}'
                f"{html.escape(row.status)}</td>",
                f"<td>{cells[4]}</td>",
                f"<td>{cells[5]}</td>",
            ]
            body.append(
                f'<tr class="tlkit-{row.status.replace(" ", "-")}" style="{style}">{"".join(tds)}</tr>'
            )
        foot = (
            f"<p>Trainable params: <b>{self.trainable_params:,}</b> &middot; "
            f"Non-trainable params: <b>{self.non_trainable_params:,}</b> &middot; "
            f"Total params: <b>{self.total_params:,}</b></p>"
        )
        return (
            f'<div class="tlkit-trainable-report"><p>Model <b>{html.escape(self.model_name)}</b></p>'
            f'<table style="text-align:right"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{foot}</div>"
        )


def _status(layer, effective_trainable: bool) -> str:
    inner_with_weights = [inner for inner in nested_layers(layer) if inner.weights and not list(nested_layers(inner))]
    if not effective_trainable:
        return "frozen"
    if inner_with_weights:
        flags = {bool(inner.trainable_weights) for inner in inner_with_weights}
        if flags == {True, False}:
            return "partly frozen"
        return "trainable" if flags == {True} else "frozen"
    return "trainable" if layer.trainable else "frozen"


def _rows_for(parent, parent_trainable: bool, depth: int, expand_nested: bool) -> list[TrainableRow]:
    rows = []
    for index, layer in enumerate(parent.layers):
        effective = bool(parent_trainable and layer.trainable)
        trainable_count = parameter_count(layer.trainable_weights) if effective else 0
        rows.append(
            TrainableRow(
                index=index,
                name=layer.name,
                type=type(layer).__name__,
                trainable=effective,
                status=_status(layer, effective),
                trainable_params=trainable_count,
                non_trainable_params=parameter_count(layer.weights) - trainable_count,
                depth=depth,
            )
        )
        if expand_nested and getattr(layer, "layers", None):
            rows.extend(_rows_for(layer, effective, depth + 1, expand_nested))
    return rows


def trainable_report(model, *, expand_nested: bool = False) -> TrainableReport:
    """Describe which layers of a model will train and how many parameters each holds.

    Parameters
    ----------
    model : keras.Model
        A built model (it has weights: it was given an ``Input`` or called
        on data).
    expand_nested : bool, default False
        A model used as a layer (a pre-trained base inside a bigger model) is
        one row by default; with True its own layers follow it, indented.

    Returns
    -------
    TrainableReport
        Shows as an HTML table in a notebook, as text with ``print``; the
        rows are in ``report.rows`` and ``report.to_dict()``.

    Raises
    ------
    ModelNotBuiltError
        The model has no weights yet.
    """
    if not hasattr(model, "layers"):
        raise LayerSelectionError(f"expected a Keras model, got {type(model).__name__}")
    if not model.built:
        raise ModelNotBuiltError(
            f"model {_model_name(model)!r} is not built yet, so it has no weights to count; "
            "give it a keras.Input or call it on a batch first"
        )
    rows = _rows_for(model, bool(model.trainable), 0, expand_nested)
    trainable = parameter_count(model.trainable_weights)
    return TrainableReport(
        _model_name(model), rows, trainable, parameter_count(model.weights) - trainable
    )


# ---------------------------------------------------------------------------
# Weight snapshots
# ---------------------------------------------------------------------------


class WeightSnapshot:
    """Copies of some layers' weights, taken at one moment.

    Create it with :func:`snapshot_weights` before training; afterwards
    :meth:`changed_layers` names the layers whose weights moved.

    Attributes
    ----------
    weights : dict of str to list of numpy.ndarray
        Every weight of each layer (trainable or not, nested ones included),
        keyed by layer name.
    """

    def __init__(self, weights: dict, layers: dict):
        self.weights = weights
        self._layers = layers

    @property
    def layer_names(self) -> list[str]:
        """The names of the layers in the snapshot, in order."""
        return list(self.weights)

    def __repr__(self) -> str:
        count = sum(len(w) for w in self.weights.values())
        return f"<WeightSnapshot of {len(self.weights)} layers, {count} weight arrays>"

    def changed_layers(self, model=None, layers=None, atol: float = 0.0) -> list[str]:
        """Same as :func:`changed_layers` with this snapshot."""
        return changed_layers(self, model, layers=layers, atol=atol)

    def unchanged(self, model=None, layers=None, atol: float = 0.0) -> bool:
        """Same as :func:`weights_unchanged` with this snapshot."""
        return weights_unchanged(self, model, layers=layers, atol=atol)


def _layers_to_snapshot(model_or_layers) -> list:
    import keras

    if isinstance(model_or_layers, keras.Model):
        if not model_or_layers.built:
            raise ModelNotBuiltError(
                f"model {_model_name(model_or_layers)!r} is not built yet, so it has no weights to copy"
            )
        return list(model_or_layers.layers)
    if isinstance(model_or_layers, keras.layers.Layer):
        return [model_or_layers]
    if isinstance(model_or_layers, (list, tuple)) and all(
        isinstance(layer, keras.layers.Layer) for layer in model_or_layers
    ):
        return list(model_or_layers)
    raise LayerSelectionError(
        "snapshot_weights takes a Keras model, a layer or a list of layers, "
        f"got {type(model_or_layers).__name__}"
    )


def snapshot_weights(model_or_layers) -> WeightSnapshot:
    """Copy the current weights of a model's layers (or of some layers).

    Parameters
    ----------
    model_or_layers : keras.Model, keras.layers.Layer or list of layers
        A model (each of ``model.layers`` is recorded, nested models as one
        entry with all their inner weights), one layer, or several layers.

    Returns
    -------
    WeightSnapshot
        Independent NumPy copies, keyed by layer name, so later training
        cannot change them.

    Examples
    --------
    >>> before = snapshot_weights(model)            # doctest: +SKIP
    >>> model.fit(x, y, epochs=2, verbose=0)        # doctest: +SKIP
    >>> weights_unchanged(before, model, "base")    # doctest: +SKIP
    True
    """
    chosen = _layers_to_snapshot(model_or_layers)
    weights, layers = {}, {}
    for layer in chosen:
        if layer.name in weights:
            raise LayerSelectionError(f"two layers share the name {layer.name!r}; snapshot them separately")
        weights[layer.name] = [np.array(w.numpy(), copy=True) for w in layer.weights]
        layers[layer.name] = layer
    return WeightSnapshot(weights, layers)


def _layers_to_compare(snapshot: WeightSnapshot, model, layers) -> dict:
    if not isinstance(snapshot, WeightSnapshot):
        raise LayerSelectionError(
            f"expected a WeightSnapshot from snapshot_weights(), got {type(snapshot).__name__}"
        )
    if model is None:
        current = dict(snapshot._layers)
        if layers is not None:
            names = [layers] if isinstance(layers, str) else layers
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise LayerSelectionError(
                    "without a model, layers= must be a layer name or a list of names"
                )
            unknown = [n for n in names if n not in current]
            if unknown:
                raise UnknownNameError(
                    f"the snapshot has no layer named {', '.join(map(repr, unknown))}; "
                    f"it holds: {', '.join(map(repr, current))}"
                )
            current = {n: current[n] for n in names}
        return current
    if layers is None:
        current = {}
        for name in snapshot.weights:
            try:
                current[name] = model.get_layer(name)
            except ValueError:
                raise UnknownNameError(
                    f"model {_model_name(model)!r} has no layer named {name!r} from the snapshot; "
                    "compare the snapshot with the model it was taken from"
                ) from None
        return current
    chosen = select_layers(model, layers)
    missing = [layer.name for layer in chosen if layer.name not in snapshot.weights]
    if missing:
        raise UnknownNameError(
            f"the snapshot has no weights for layer {', '.join(map(repr, missing))}; "
            f"it holds: {', '.join(map(repr, snapshot.weights))}"
        )
    return {layer.name: layer for layer in chosen}


def _layer_moved(name: str, before: list, layer, atol: float) -> bool:
    now = [w.numpy() for w in layer.weights]
    if len(now) != len(before):
        raise InputShapeError(
            f"layer {name!r} has {len(now)} weight arrays now but {len(before)} in the snapshot; "
            "compare the snapshot with the model it was taken from"
        )
    for position, (old, new) in enumerate(zip(before, now)):
        if old.shape != new.shape:
            raise InputShapeError(
                f"layer {name!r} weight {position} has shape {new.shape} now but {old.shape} "
                "in the snapshot; compare the snapshot with the model it was taken from"
            )
        if old.size and not np.all(np.abs(new.astype(np.float64) - old.astype(np.float64)) <= atol):
            return True
    return False


def changed_layers(snapshot: WeightSnapshot, model=None, layers=None, atol: float = 0.0) -> list[str]:
    """Name the layers whose weights differ from a snapshot.

    Parameters
    ----------
    snapshot : WeightSnapshot
        Taken with :func:`snapshot_weights`.
    model : keras.Model, optional
        The model to compare with, looked up by layer name. By default the
        very layer objects the snapshot was taken from are compared.
    layers : optional
        Compare only these layers; with a model, any selection
        :func:`select_layers` accepts, otherwise names. Default: every layer
        in the snapshot.
    atol : float, default 0.0
        Largest absolute difference still counted as "unchanged". The
        default demands exact equality, which is what a frozen layer gives.

    Returns
    -------
    list of str
        Names of the layers with at least one weight value that moved by more
        than ``atol``, in snapshot order.
    """
    if not isinstance(atol, numbers.Real) or isinstance(atol, bool) or atol < 0:
        raise LayerSelectionError(f"atol must be a number >= 0, got {atol!r}")
    current = _layers_to_compare(snapshot, model, layers)
    return [
        name
        for name, layer in current.items()
        if _layer_moved(name, snapshot.weights[name], layer, float(atol))
    ]


def weights_unchanged(snapshot: WeightSnapshot, model=None, layers=None, atol: float = 0.0) -> bool:
    """Return True if no weight of the chosen layers moved since the snapshot.

    Parameters
    ----------
    snapshot : WeightSnapshot
        Taken with :func:`snapshot_weights` before training.
    model : keras.Model, optional
        The model to compare with; see :func:`changed_layers`.
    layers : optional
        The layers to check; default every layer in the snapshot.
    atol : float, default 0.0
        Tolerance on the absolute difference; see :func:`changed_layers`.

    Returns
    -------
    bool
        True when every chosen layer still has exactly (within ``atol``)
        the weights it had in the snapshot.
    """
    return not changed_layers(snapshot, model, layers=layers, atol=atol)
