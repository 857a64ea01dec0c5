"""Build the course notebooks from their sources and execute them.

Each notebook is written as a readable Python file in jupytext's "percent"
format (``tools/notebooks/NN_name.py``: ``# %% [markdown]`` and ``# %%`` cells).
This script turns each source into ``notebooks/NN_name.ipynb`` with the
kernelspec set, executes it top to bottom in ``notebooks/`` with nbclient, and
saves the outputs, which the test suite then re-checks with nbval.

Usage::

    python tools/build_notebooks.py                 # every notebook
    python tools/build_notebooks.py 02_freezing     # only the ones named
    python tools/build_notebooks.py --no-execute    # convert only

``tests/test_notebook_sources.py`` fails when a committed notebook's cells and
its source disagree.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import tempfile

import jupytext
import nbformat

from tlkit.notebook_timing import execute_timed

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tools" / "notebooks"
NOTEBOOKS = ROOT / "notebooks"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def source_paths(names=None) -> list[pathlib.Path]:
    """The notebook sources, optionally filtered by name stem."""
    paths = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if names:
        paths = [path for path in paths if path.stem in names]
    return paths


def to_notebook(source: pathlib.Path) -> nbformat.NotebookNode:
    """Read a percent-format source into a notebook with clean metadata."""
    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    }
    for cell in notebook.cells:
        cell.metadata.pop("lines_to_next_cell", None)
    return notebook


def execute(notebook: nbformat.NotebookNode, timeout: int = 900) -> float:
    """Run every cell in ``notebooks/``; return the wall time in seconds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # a throw-away gradebook and student id: building must not touch a real gradebook
    # nor prompt for an id
    os.environ.setdefault("TLKIT_STUDENT_ID", "notebook-build")
    os.environ.setdefault("TLKIT_GRADEBOOK", os.path.join(tempfile.mkdtemp(prefix="tlkit-build-"), "gradebook.sqlite3"))
    seconds = execute_timed(notebook, NOTEBOOKS, timeout, KERNELSPEC["name"])
    drop_tensorflow_notices(notebook)
    return seconds


#: stderr lines TensorFlow and absl print at start-up, whatever the notebook does.
TENSORFLOW_NOTICE = re.compile(r"(tensorflow|absl|cuda|oneDNN|cpu_feature_guard|TF_ENABLE_ONEDNN_OPTS)")


def drop_tensorflow_notices(notebook: nbformat.NotebookNode) -> None:
    """Remove stderr outputs made only of TensorFlow's start-up notices (machine-specific noise)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            output
            for output in cell.outputs
            if not (
                output.get("output_type") == "stream"
                and output.get("name") == "stderr"
                and all(TENSORFLOW_NOTICE.search(line) for line in output.get("text", "").splitlines() if line.strip())
            )
        ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook stems, e.g. 01_feature_extraction")
    parser.add_argument("--no-execute", action="store_true")
    args = parser.parse_args(argv)
    paths = source_paths(args.names)
    if not paths:
        print(f"no notebook sources match {args.names} in {SOURCES}", file=sys.stderr)
        return 1
    for source in paths:
        notebook = to_notebook(source)
        target = NOTEBOOKS / f"{source.stem}.ipynb"
        if not args.no_execute:
            seconds = execute(notebook)
            print(f"{target.relative_to(ROOT)}: executed in {seconds:.0f} s")
        nbformat.write(notebook, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
