"""How tlkit's interactive widgets display themselves in a notebook.

A tlkit widget (the quiz, the freeze widget) keeps its ipywidgets in one
``container`` box. Jupyter shows the box; the plain-text form, used where
widgets cannot be shown (a terminal, a notebook saved without widget state),
is one short, stable line instead of the box's default repr, which lists
every child widget.
"""

from __future__ import annotations

__all__ = ["ContainerDisplay"]


class ContainerDisplay:
    """Mixin: display ``self.container``, with :meth:`plain_text` as the text form.

    A subclass sets ``self.container`` (an ipywidgets box) and implements
    :meth:`plain_text`.
    """

    container = None

    def plain_text(self) -> str:
        """The one-line text shown where the widget cannot be."""
        raise NotImplementedError(f"{type(self).__name__} must implement plain_text")

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.container._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.plain_text()
        return bundle
