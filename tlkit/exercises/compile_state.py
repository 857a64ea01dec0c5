"""Which variables will ``model.fit`` really train? Detecting a stale compile.

In Keras 3 (TensorFlow backend) the training step is traced into a graph at
the first ``fit`` after ``compile``. That graph updates exactly the variables
that were trainable *at that moment*: changing ``layer.trainable`` later has
no effect until ``compile`` is called again, in both directions (a "frozen"
layer keeps training; an "unfrozen" one never trains). Changing ``trainable``
between ``compile`` and the first ``fit`` is fine, because nothing is traced
yet (``compile`` resets ``model.train_function`` to ``None``).

:func:`variables_trained_by_fit` answers the question from the traced graph
itself: it lists the model variables the graph assigns to, keeping those of
the "trainable kind" (kernels, biases, BN gamma/beta, not BN moving
statistics). When the graph cannot be read (another backend, a future Keras),
it falls back to the variables the built optimizer tracks, which Keras builds
from ``model.trainable_variables`` at that same first ``fit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlkit import keras_internals

__all__ = [
    "StaleCompile", "TrainedVariables", "find_stale_compile", "record_trained_variables", "recorded_trained_variables",
    "variables_trained_by_fit",
]

_ASSIGNING_OPERATIONS = ("AssignVariableOp", "AssignSubVariableOp", "AssignAddVariableOp")
#: Attribute holding the variable paths another process saw the model's training step update.
_RECORDED_ATTRIBUTE = "_tlkit_recorded_trained_paths"


@dataclass(frozen=True)
class TrainedVariables:
    """What the next ``fit`` will update, and how tlkit found out.

    Attributes
    ----------
    paths : frozenset of str or None
        Paths of the variables the compiled training step updates; None when
        nothing is traced yet (the next ``fit`` will use the current state).
    source : str
        ``"graph"`` (read from the traced step), ``"optimizer"`` (the
        optimizer's tracked variables), ``"recorded"`` (set with
        :func:`record_trained_variables` by the process that traced it) or
        ``"not traced"``.
    """

    paths: frozenset | None
    source: str


def _trainable_kind_variables(model) -> list:
    """Variables that an optimizer may update (whatever their current trainable flag)."""
    found = []
    for layer in keras_internals.flattened_layers(model, include_self=True):
        found.extend(keras_internals.own_trainable_kind_variables(layer))
    return found


def _traced_functions(function, depth: int = 0) -> list:
    """``tf.function`` objects reachable from the closure of ``function``."""
    if depth > 4:
        return []
    found = []
    for cell in getattr(function, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if keras_internals.is_traced_function(value):
            found.append(value)
            found.extend(_traced_functions(keras_internals.wrapped_python_function(value), depth + 1))
        elif callable(value) and getattr(value, "__closure__", None):
            found.extend(_traced_functions(value, depth + 1))
    return found


def _paths_assigned_in_graphs(model) -> frozenset | None:
    """Paths of trainable-kind variables assigned by the traced training step, or None."""
    candidates = _trainable_kind_variables(model)
    variable_by_handle = {}
    for variable in candidates:
        handle = getattr(getattr(variable, "value", None), "handle", None)
        if handle is not None:
            variable_by_handle[id(handle)] = variable
    if not variable_by_handle:
        return None
    assigned = set()
    graphs_read = 0
    for traced in _traced_functions(model.train_function):
        for concrete in keras_internals.concrete_functions(traced):
            graph = concrete.graph
            graphs_read += 1
            external_by_internal = {id(internal): external for external, internal in graph.captures}
            for operation in graph.get_operations():
                if operation.type in _ASSIGNING_OPERATIONS or operation.type.startswith("ResourceApply"):
                    external = external_by_internal.get(id(operation.inputs[0]))
                    variable = variable_by_handle.get(id(external)) if external is not None else None
                    if variable is not None:
                        assigned.add(variable.path)
    if graphs_read == 0 or not assigned:
        return None
    return frozenset(assigned)


def variables_trained_by_fit(model) -> TrainedVariables:
    """Return the variables the model's compiled training step updates.

    Parameters
    ----------
    model : keras.Model
        A compiled model.

    Returns
    -------
    TrainedVariables
        ``paths`` is None when ``fit`` has not run since the last ``compile``
        (or the model runs eagerly): then the next ``fit`` reads the current
        ``trainable`` flags, so there is nothing stale.
    """
    recorded = recorded_trained_variables(model)
    if recorded is not None:
        return TrainedVariables(recorded, "recorded")
    if getattr(model, "train_function", None) is None or getattr(model, "run_eagerly", False):
        return TrainedVariables(None, "not traced")
    try:
        from_graph = _paths_assigned_in_graphs(model)
    except Exception:  # reading private graph structures must never break a check
        from_graph = None
    if from_graph is not None:
        return TrainedVariables(from_graph, "graph")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        tracked = keras_internals.optimizer_tracked_variables(optimizer)
        if tracked is not None:
            return TrainedVariables(frozenset(v.path for v in tracked), "optimizer")
    return TrainedVariables(None, "not traced")


def record_trained_variables(model, paths) -> None:
    """Attach the variable paths a training step traced elsewhere updates, for :func:`variables_trained_by_fit`.

    A model saved in one process and loaded in another has no traced training
    step; the grader's checker records what the student's kernel traced so
    that stale-compile checks judge the loaded model as they would the live one.

    Parameters
    ----------
    model : keras.Model or keras.layers.Layer
        The loaded model.
    paths : iterable of str
        Variable paths the traced step updates.
    """
    setattr(model, _RECORDED_ATTRIBUTE, frozenset(paths))


def recorded_trained_variables(model) -> frozenset | None:
    """The paths attached by :func:`record_trained_variables`, or None."""
    return getattr(model, _RECORDED_ATTRIBUTE, None)


@dataclass(frozen=True)
class StaleCompile:
    """How the compiled training step disagrees with the current ``trainable`` flags.

    Attributes
    ----------
    still_trained : tuple of str
        Variable paths that are frozen now but the compiled step still updates.
    never_trained : tuple of str
        Variable paths that are trainable now but the compiled step ignores.
    """

    still_trained: tuple
    never_trained: tuple

    @staticmethod
    def _layers(paths) -> list[str]:
        layers = []
        for path in paths:
            parts = path.split("/")
            name = parts[-2] if len(parts) > 1 else path
            if name not in layers:
                layers.append(name)
        return layers

    def describe(self) -> str:
        """One sentence naming the layers concerned, with counts."""
        parts = []
        if self.still_trained:
            layers = self._layers(self.still_trained)
            parts.append(
                f"{len(self.still_trained)} weight tensor(s) frozen after the model was compiled and trained (in {', '.join(layers)}) "
                "would still be trained"
            )
        if self.never_trained:
            layers = self._layers(self.never_trained)
            parts.append(
                f"{len(self.never_trained)} weight tensor(s) unfrozen after the model was compiled and trained (in {', '.join(layers)}) "
                "would never be trained"
            )
        return "; ".join(parts)


def find_stale_compile(model) -> StaleCompile | None:
    """Return how ``model``'s compiled step is stale, or None if it matches the current flags.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    """
    trained = variables_trained_by_fit(model)
    if trained.paths is None:
        return None
    current = {v.path for v in model.trainable_variables}
    still_trained = sorted(trained.paths - current)
    never_trained = sorted(current - trained.paths)
    if trained.source == "optimizer":
        # a re-used optimizer instance may track more variables than the step trains
        still_trained = []
    if not still_trained and not never_trained:
        return None
    return StaleCompile(tuple(still_trained), tuple(never_trained))
