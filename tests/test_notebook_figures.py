"""Every figure a notebook draws reaches the student as an image.

IPython shows a bare ``matplotlib.figure.Figure`` as the text
``<Figure size ... with N Axes>`` unless pyplot's inline backend is active, so a
notebook can "plot" without ever showing a picture. These tests fail on that.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tlkit import plots

#: Calls that draw a figure in the course notebooks.
PLOTTING_CALL = re.compile(r"\b(plot_\w+|show_image_grid|show_filters|show_activations|show_augmented\w*)\s*\(")


def _course_notebooks(repo_root):
    return sorted((repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _is_plotting_cell(cell) -> bool:
    code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("#"))
    if PLOTTING_CALL.search(code):
        return True
    return any(
        re.match(r"<(Figure size|figure \d+x\d+)", str(output.get("data", {}).get("text/plain", "")))
        for output in cell.get("outputs", [])
    )


def _has_png(cell) -> bool:
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def test_every_plotting_cell_of_every_executed_notebook_saved_a_png(repo_root):
    notebooks = _course_notebooks(repo_root)
    assert notebooks, "no course notebooks found"
    missing, plotting_cells = [], 0
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            if _is_plotting_cell(cell):
                plotting_cells += 1
                if not _has_png(cell):
                    missing.append(f"{path.name} code cell {number}: {cell.source.splitlines()[0]}")
    assert plotting_cells >= 10, f"expected the course's plotting cells, found only {plotting_cells}"
    assert not missing, "plotting cells without an image/png output:\n" + "\n".join(missing)


def test_the_rule_flags_a_figure_shown_as_text():
    cell = nbformat.v4.new_code_cell("plots.plot_learning_curves(history)")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "<Figure size 1000x360 with 2 Axes>"})]
    assert _is_plotting_cell(cell) and not _has_png(cell)


def test_a_tlkit_figure_renders_itself_as_png():
    figure = plots.new_figure(figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 500


def test_ipython_displays_a_tlkit_figure_as_an_image():
    pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter

    figure = plots.plot_learning_curves({"loss": [1.0, 0.5, 0.25], "accuracy": [0.2, 0.6, 0.8]})
    formatted, _ = DisplayFormatter().format(figure)
    assert "image/png" in formatted
    # its text form says it is a picture, unlike a bare Figure's "<Figure size ...>"
    assert re.fullmatch(r"<figure \d+x\d+ with 2 Axes, shown as a PNG image>", formatted["text/plain"])
