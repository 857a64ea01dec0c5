"""The one style of the kit's figures, and the figure every plotting function draws on.

Every plotting function of :mod:`tlkit.plots` draws inside :func:`style_context`
on a :func:`new_figure`, returns the figure and shows nothing by itself, so a
notebook cell that ends with the call shows the figure exactly once; with
``show=True`` it calls ``plt.show()`` as well (:func:`finish`, for scripts).
A strategy has one label and one colour in every figure of the course
(:data:`STRATEGY_LABELS`, :data:`STRATEGY_COLORS`).
"""

from __future__ import annotations

import io

from tlkit.errors import TlkitError

__all__ = ["PlotArgumentError", "STRATEGY_COLORS", "STRATEGY_LABELS", "STYLE", "finish", "new_figure", "style_context"]

#: Matplotlib settings used by every figure of the kit drawn in :func:`style_context`.
STYLE = {
    "figure.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}

#: Readable names of the fair protocol's strategies, for legends.
STRATEGY_LABELS = {
    "scratch": "from scratch",
    "frozen": "pre-trained, whole base frozen",
    "partial": "pre-trained, convolutions frozen (partial)",
    "fine_tune": "pre-trained, fine-tuned",
    "random_partial": "random weights, convolutions frozen",
}
#: One colour per strategy, so that a strategy looks the same in every figure of the course.
STRATEGY_COLORS = {
    "scratch": "tab:blue",
    "partial": "tab:orange",
    "fine_tune": "tab:green",
    "random_partial": "tab:red",
    "frozen": "tab:purple",
}


class PlotArgumentError(TlkitError, ValueError):
    """Data handed to a plotting function is not in the documented format."""


def _notebook_figure_class():
    """The :class:`NotebookFigure` class, built on first use so importing tlkit stays light."""
    global _NOTEBOOK_FIGURE_CLASS
    if _NOTEBOOK_FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            """A free-standing Figure that Jupyter displays as a PNG image.

            IPython shows a plain :class:`matplotlib.figure.Figure` as the text
            ``<Figure size ... with N Axes>`` unless pyplot's inline backend has
            been switched on. This subclass renders itself, so a cell that ends
            with a tlkit plotting call shows the picture in JupyterLab, in
            nbclient and in a saved notebook alike.
            """

            def __repr__(self):
                # a plain Figure says "<Figure size 640x480 with 1 Axes>", which in a saved
                # notebook reads like a plot that never rendered; this one says it is a picture
                width, height = (round(value) for value in self.get_size_inches() * self.dpi)
                return f"<figure {width}x{height} with {len(self.axes)} Axes, shown as a PNG image>"

            def _repr_png_(self):
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
                return buffer.getvalue()

        _NOTEBOOK_FIGURE_CLASS = NotebookFigure
    return _NOTEBOOK_FIGURE_CLASS


_NOTEBOOK_FIGURE_CLASS = None


def new_figure(show: bool = False, **figure_arguments):
    """A figure that notebooks display as an image.

    Parameters
    ----------
    show : bool, default False
        Make the figure pyplot-managed so that ``plt.show()`` draws it (for
        scripts). By default the figure is free-standing: pyplot does not
        keep it, so the notebook shows it exactly once and loops do not pile
        figures up.
    **figure_arguments
        Passed on to :class:`matplotlib.figure.Figure` (``figsize``,
        ``layout``...).

    Returns
    -------
    matplotlib.figure.Figure
        An instance of a Figure subclass with a ``_repr_png_`` method, which
        Jupyter uses to show the figure as a PNG image.
    """
    figure_class = _notebook_figure_class()
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(FigureClass=figure_class, **figure_arguments)
    return figure_class(**figure_arguments)



def finish(figure, show: bool):
    """Return ``figure``, after ``plt.show()`` when ``show`` is true."""
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return figure


def style_context():
    """A context in which matplotlib draws with :data:`STYLE`."""
    import matplotlib

    return matplotlib.rc_context(STYLE)
