"""A checkbox per layer to freeze and unfreeze a Keras model by hand in a notebook.

:func:`freeze_widget` lists every layer that holds weights (its name, type and
number of parameters) with a checkbox: checked means trainable. Ticking or
clearing a box sets ``layer.trainable`` at once, and a line under the list
says how many parameters will train, counted the same way Keras counts them.

The widget cannot recompile the model for you. Keras builds its training
step from the ``trainable`` flags when the model is compiled (more exactly,
at the first ``fit`` after a compile), so a model that already trained keeps
its old choice until ``model.compile(...)`` runs again. The widget says so
under the counts, and marks the reminder once a box was changed.

Stable CSS classes, for styling and browser tests:
``tlkit-freeze`` (the whole widget), ``tlkit-freeze-toggle`` (each checkbox),
``tlkit-freeze-status`` (each "trainable"/"frozen" label),
``tlkit-freeze-count`` (the parameter counts), ``tlkit-freeze-reminder``
(plus ``tlkit-freeze-reminder-pending`` after a change),
``tlkit-freeze-all`` and ``tlkit-unfreeze-all`` (the two buttons).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets

from tlkit.errors import UnknownNameError
from tlkit.freezing import LayerSelectionError, ModelNotBuiltError, make_container_trainable, trainable_report
from tlkit.model_structure import parameter_count, sublayers
from tlkit.widget_display import ContainerDisplay, static_note

__all__ = ["FreezeWidget", "LayerEntry", "freeze_widget"]

REMINDER = (
    "Compile the model again after changing these boxes: Keras reads <code>trainable</code> "
    "when it builds the training step, so without <code>model.compile(...)</code> the next "
    "<code>fit</code> may still train the old set of layers."
)
PENDING_REMINDER = "&#9888; You changed which layers train. " + REMINDER

# Let the layer list line up as a table and keep long names readable.
_STYLE = """<style>
.tlkit-freeze .tlkit-freeze-grid { grid-template-columns: minmax(12em, max-content) max-content max-content max-content;
  grid-column-gap: 1.5em; align-items: center; }
.tlkit-freeze .tlkit-freeze-toggle, .tlkit-freeze .jupyter-widget-checkbox { width: auto; }
.tlkit-freeze .tlkit-freeze-number { text-align: right; }
.tlkit-freeze .tlkit-freeze-reminder-pending { background: #fbf4e4; }
</style>"""


@dataclass
class LayerEntry:
    """One layer with weights, as listed by the widget.

    Attributes
    ----------
    label : str
        The layer's name, prefixed by the names of the models around it
        (``"base / conv1"``) when it sits inside a nested model.
    layer : keras.layers.Layer
        The layer itself.
    containers : tuple of keras.layers.Layer
        The nested models between the widget's model and the layer,
        outermost first (empty for a top-level layer).
    """

    label: str
    layer: object
    containers: tuple = ()

    @property
    def parameter_count(self) -> int:
        """Every weight value of the layer, trainable or not."""
        return parameter_count(self.layer.weights)

    @property
    def effectively_trainable(self) -> bool:
        """True when the layer and every model around it are trainable."""
        return bool(self.layer.trainable and all(outer.trainable for outer in self.containers))


def _entries(model, expand_nested: bool) -> list[LayerEntry]:
    found = []

    def visit(parent, containers, prefix):
        for layer in parent.layers:
            if not layer.weights:
                continue
            label = f"{prefix}{layer.name}"
            if expand_nested and sublayers(layer):
                visit(layer, containers + (layer,), f"{label} / ")
            else:
                found.append(LayerEntry(label, layer, containers))

    visit(model, (), "")
    return found


class FreezeWidget(ContainerDisplay):
    """Checkboxes that set ``layer.trainable``, with live parameter counts.

    Build it with :func:`freeze_widget`; put it last in a notebook cell or
    call ``display()`` on it.

    Parameters
    ----------
    model : keras.Model
        A built model. It is changed in place when a box is toggled.
    expand_nested : bool, default True
        List the layers inside a nested model (a pre-trained base used as
        one layer) one by one. With False the nested model gets a single box.

    Attributes
    ----------
    model : keras.Model
        The model the boxes control.
    entries : list of LayerEntry
        The listed layers, in model order.
    toggles : dict of str to ipywidgets.Checkbox
        One checkbox per entry, keyed by its label; checked means trainable.
    count : ipywidgets.HTML
        "trainable parameters: N of M" (CSS class ``tlkit-freeze-count``).
    reminder : ipywidgets.HTML
        The recompile reminder (CSS class ``tlkit-freeze-reminder``).
    changes : int
        How many times a box or button changed a flag since the widget was built.
    container : ipywidgets.VBox
        The root widget (CSS class ``tlkit-freeze``).
    """

    def __init__(self, model, *, expand_nested: bool = True):
        if not hasattr(model, "layers") or not hasattr(model, "trainable_weights"):
            raise LayerSelectionError(f"freeze_widget needs a Keras model, got {type(model).__name__}")
        if not model.built:
            raise ModelNotBuiltError(
                f"model {model.name!r} is not built yet, so it has no weights to freeze; "
                "give it a keras.Input or call it on a batch first"
            )
        self.model = model
        self.entries = _entries(model, expand_nested)
        self.changes = 0
        self._updating = False
        self.toggles: dict[str, widgets.Checkbox] = {}
        self._status_labels: dict[str, widgets.HTML] = {}
        grid = self._layer_grid()
        buttons = self._buttons()
        self.count = widgets.HTML("")
        self.count.add_class("tlkit-freeze-count")
        self.reminder = widgets.HTML(f"<p>{REMINDER}</p>")
        self.reminder.add_class("tlkit-freeze-reminder")
        title = widgets.HTML(f"{_STYLE}<h4>Layers of {html.escape(model.name)}</h4>")
        children = [title, grid]
        if not self.entries:
            children.append(widgets.HTML("<p>This model has no layer with weights.</p>"))
        children += [buttons, self.count, self.reminder]
        self.container = widgets.VBox(children)
        self.container.add_class("tlkit-freeze")
        self.refresh()

    # -- building ----------------------------------------------------------------
    def _layer_grid(self) -> widgets.GridBox:
        """One row per entry: checkbox with the label, type, parameter count, status."""
        cells = [
            widgets.HTML("<b>trainable?&nbsp;layer</b>"),
            widgets.HTML("<b>type</b>"),
            widgets.HTML("<b>parameters</b>"),
            widgets.HTML("<b>status</b>"),
        ]
        for entry in self.entries:
            toggle = widgets.Checkbox(
                value=entry.effectively_trainable,
                description=entry.label,
                indent=False,
                layout=widgets.Layout(width="auto"),
            )
            toggle.add_class("tlkit-freeze-toggle")
            toggle.observe(lambda change, entry=entry: self._on_toggle(entry, change["new"]), names="value")
            status = widgets.HTML("")
            status.add_class("tlkit-freeze-status")
            number = widgets.HTML(f"{entry.parameter_count:,}")
            number.add_class("tlkit-freeze-number")
            self.toggles[entry.label] = toggle
            self._status_labels[entry.label] = status
            cells += [toggle, widgets.HTML(html.escape(type(entry.layer).__name__)), number, status]
        grid = widgets.GridBox(cells)
        grid.add_class("tlkit-freeze-grid")
        return grid

    def _buttons(self) -> widgets.HBox:
        """The "freeze all" and "unfreeze all" buttons."""
        self.freeze_all_button = widgets.Button(description="freeze all", tooltip="Make every layer frozen")
        self.freeze_all_button.add_class("tlkit-freeze-all")
        self.freeze_all_button.on_click(lambda _button: self.freeze_all())
        self.unfreeze_all_button = widgets.Button(description="unfreeze all", tooltip="Make every layer trainable")
        self.unfreeze_all_button.add_class("tlkit-unfreeze-all")
        self.unfreeze_all_button.on_click(lambda _button: self.unfreeze_all())
        return widgets.HBox([self.freeze_all_button, self.unfreeze_all_button])

    # -- counts ------------------------------------------------------------------
    @property
    def trainable_params(self) -> int:
        """Parameters the optimizer may change, as Keras counts them."""
        return trainable_report(self.model).trainable_params

    @property
    def non_trainable_params(self) -> int:
        """Frozen parameters plus statistics such as BatchNormalization's moving mean."""
        return trainable_report(self.model).non_trainable_params

    @property
    def total_params(self) -> int:
        """Every parameter of the model (``model.count_params()``)."""
        return trainable_report(self.model).total_params

    def count_text(self) -> str:
        """Return the summary line shown in the widget, as plain text."""
        counts = trainable_report(self.model)
        return (
            f"trainable parameters: {counts.trainable_params:,} of {counts.total_params:,} "
            f"(non-trainable: {counts.non_trainable_params:,})"
        )

    # -- changing flags -------------------------------------------------------------
    def _entry(self, label: str) -> LayerEntry:
        for entry in self.entries:
            if entry.label == label or entry.layer.name == label:
                return entry
        known = ", ".join(repr(entry.label) for entry in self.entries)
        raise UnknownNameError(f"the freeze widget of {self.model.name!r} lists no layer {label!r}; it lists: {known}")

    def _apply(self, entry: LayerEntry, trainable: bool) -> None:
        if trainable:
            if not self.model.trainable:
                make_container_trainable(self.model)
            for outer in entry.containers:
                make_container_trainable(outer)
        entry.layer.trainable = bool(trainable)

    def _changed(self) -> None:
        self.changes += 1
        self.refresh()

    def _on_toggle(self, entry: LayerEntry, value: bool) -> None:
        if self._updating or value == entry.effectively_trainable:
            return
        self._apply(entry, value)
        self._changed()

    def set_trainable(self, layer: str, trainable: bool) -> None:
        """Tick or clear one layer's box, exactly as a click would.

        Parameters
        ----------
        layer : str
            The entry's label (``"base / conv1"``) or the layer's own name.
        trainable : bool
            True to let the layer train, False to freeze it.
        """
        entry = self._entry(layer)
        if bool(trainable) != entry.effectively_trainable:
            self._apply(entry, trainable)
            self._changed()

    def freeze_all(self) -> None:
        """Freeze every listed layer (the "freeze all" button)."""
        for entry in self.entries:
            entry.layer.trainable = False
        self._changed()

    def unfreeze_all(self) -> None:
        """Make every listed layer trainable (the "unfreeze all" button)."""
        for entry in self.entries:
            self._apply(entry, True)
        self._changed()

    def refresh(self) -> None:
        """Read the flags from the model again, e.g. after ``layer.trainable`` was set in code."""
        self._updating = True
        try:
            for entry in self.entries:
                trainable = entry.effectively_trainable
                self.toggles[entry.label].value = trainable
                self._status_labels[entry.label].value = "trainable" if trainable else "&#10052; frozen"
        finally:
            self._updating = False
        self.count.value = f"<p><b>{html.escape(self.count_text())}</b></p>"
        if self.changes:
            self.reminder.value = f"<p>{PENDING_REMINDER}</p>"
            self.reminder.add_class("tlkit-freeze-reminder-pending")

    # -- display ----------------------------------------------------------------
    def report(self):
        """Return :func:`tlkit.freezing.trainable_report` of the model, for a printable table."""
        return trainable_report(self.model, expand_nested=True)

    def plain_text(self) -> str:
        """The widget in one line, for where widgets cannot be shown."""
        return f"<tlkit freeze widget for {self.model.name!r}: {self.count_text()}>"

    def static_html(self) -> str:
        """The layer list as a static table (as the boxes were when the cell ran), with a "run this cell" note."""
        rows = "".join(
            f"<tr><td>{'&#9745;' if entry.effectively_trainable else '&#9744;'} {html.escape(entry.label)}</td>"
            f"<td>{html.escape(type(entry.layer).__name__)}</td><td style='text-align:right'>{entry.parameter_count:,}</td>"
            f"<td>{'trainable' if entry.effectively_trainable else '&#10052; frozen'}</td></tr>"
            for entry in self.entries
        )
        return (
            f'<div class="tlkit-freeze-static">'
            f"{static_note('Run this cell to tick and clear the boxes: this is a static copy, the live widget needs the running notebook.')}"
            f"<h4>Layers of {html.escape(self.model.name)}</h4>"
            "<table><thead><tr><th>trainable? layer</th><th>type</th><th>parameters</th><th>status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><p><b>{html.escape(self.count_text())}</b></p><p>{REMINDER}</p></div>"
        )

    def __repr__(self) -> str:
        return f"FreezeWidget(model={self.model.name!r}, layers={len(self.entries)})"


def freeze_widget(model, *, expand_nested: bool = True) -> FreezeWidget:
    """Show one checkbox per layer with weights to freeze or unfreeze it by hand.

    Parameters
    ----------
    model : keras.Model
        A built model; toggling a box sets ``layer.trainable`` on it at once.
    expand_nested : bool, default True
        List the layers inside a nested model (such as a pre-trained base
        used as one layer) one by one; with False it gets a single box.

    Returns
    -------
    FreezeWidget
        Shown when it ends a cell. Its summary line reads
        "trainable parameters: N of M (non-trainable: K)".

    Raises
    ------
    ModelNotBuiltError
        The model has no weights yet.
    LayerSelectionError
        ``model`` is not a Keras model.

    Notes
    -----
    Compile the model again after changing the boxes; Keras only reads the
    flags when it builds the training step.

    Examples
    --------
    >>> from tlkit.freeze_widget import freeze_widget
    >>> freeze_widget(model)  # doctest: +SKIP
    """
    return FreezeWidget(model, expand_nested=expand_nested)
