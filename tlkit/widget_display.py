"""How tlkit's interactive widgets display themselves in a notebook.

A tlkit widget (the quiz, the freeze widget) keeps its ipywidgets in one
``container`` box. Its display bundle carries three forms:

``application/vnd.jupyter.widget-view+json``
    the live widget, which JupyterLab shows while the kernel runs (and from
    the widget state saved in the notebook);
``text/html``
    a readable, static copy of the widget with a note to run the cell, shown
    where the live widget cannot be: a notebook opened before its kernel is
    ready, a saved notebook without widget state, a notebook viewer;
``text/plain``
    one short, stable line for terminals, instead of the box's default repr,
    which lists every child widget.
"""

from __future__ import annotations

import html

__all__ = ["ContainerDisplay", "RUN_CELL_NOTE", "static_note"]

#: The note a static copy carries: the live widget needs the running notebook.
RUN_CELL_NOTE = "Run this cell to use it: this is a static copy, the live widget needs the running notebook."


def static_note(text: str = RUN_CELL_NOTE) -> str:
    """The HTML of the "run this cell" note shown at the top of a static copy (CSS class ``tlkit-static-note``)."""
    return (
        '<p class="tlkit-static-note" style="margin:0.2em 0 0.5em 0;padding:0.3em 0.6em;'
        f'border-left:4px solid #0550ae;background:#eef4fb">&#9654; {html.escape(text)}</p>'
    )


class ContainerDisplay:
    """Mixin: display ``self.container``, with :meth:`plain_text` and :meth:`static_html` as fallbacks.

    A subclass sets ``self.container`` (an ipywidgets box) and implements
    :meth:`plain_text` and :meth:`static_html`.
    """

    container = None

    def plain_text(self) -> str:
        """The one-line text shown where the widget cannot be."""
        raise NotImplementedError(f"{type(self).__name__} must implement plain_text")

    def static_html(self) -> str:
        """A readable, static HTML copy of the widget, with a "run this cell" note."""
        raise NotImplementedError(f"{type(self).__name__} must implement static_html")

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.container._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.plain_text()
        bundle["text/html"] = self.static_html()
        return bundle
