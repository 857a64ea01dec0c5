"""Run a Jupyter notebook top to bottom in a fresh kernel and time it (for the notebook build and benchmark)."""

from __future__ import annotations

import pathlib
import time

__all__ = ["execute_timed"]


def execute_timed(notebook, working_dir: str | pathlib.Path, timeout: int, kernel_name: str = "python3") -> float:
    """Execute every cell of ``notebook`` in place (outputs included) and return the wall time.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The notebook; its cells receive their outputs.
    working_dir : path-like
        The kernel's working directory, where relative paths in the notebook start.
    timeout : int
        Seconds any one cell may take.
    kernel_name : str, default "python3"
        The Jupyter kernel to start.

    Returns
    -------
    float
        Seconds from the first cell to the end of the last.
    """
    from nbclient import NotebookClient

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(working_dir)}},
    )
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started
