"""Every committed notebook is built from its readable source and carries its outputs."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest


def _builder(repo_root):
    spec = importlib.util.spec_from_file_location("build_notebooks", repo_root / "tools" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sources(repo_root):
    return sorted((repo_root / "tools" / "notebooks").glob("[0-9][0-9]_*.py"))


def test_every_source_has_a_committed_notebook_with_the_same_cells(repo_root):
    builder = _builder(repo_root)
    sources = _sources(repo_root)
    assert sources, "no notebook sources found"
    for source in sources:
        committed = repo_root / "notebooks" / f"{source.stem}.ipynb"
        assert committed.is_file(), f"{committed.name} missing: run python tools/build_notebooks.py {source.stem}"
        expected = [(cell.cell_type, cell.source) for cell in builder.to_notebook(source).cells]
        actual = [(cell.cell_type, cell.source) for cell in nbformat.read(committed, as_version=4).cells]
        assert actual == expected, f"{committed.name} differs from {source.name}: rebuild it"


@pytest.mark.parametrize("name", ["00_welcome", "01_feature_extraction", "02_freezing", "03_fine_tuning", "04_negative_transfer", "05_layer_choice", "06_put_it_to_work"])
def test_course_notebook_is_executed_and_has_a_kernelspec(repo_root, name):
    path = repo_root / "notebooks" / f"{name}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path.name} is missing")
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells), "every code cell must be executed"
    assert not any(output.get("output_type") == "error" for cell in code_cells for output in cell.outputs)
