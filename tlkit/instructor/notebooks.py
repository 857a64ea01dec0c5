"""Reading and writing notebooks for the instructor tools, with clear errors."""

from __future__ import annotations

import hashlib
import pathlib

import nbformat

from tlkit.errors import CorruptFileError, MissingFileError

__all__ = ["cell_source", "ensure_cell_ids", "read_notebook", "source_checksum", "write_notebook"]


def read_notebook(path) -> nbformat.NotebookNode:
    """Read a ``.ipynb`` file (any nbformat 4 version).

    Raises
    ------
    MissingFileError
        If there is no file at ``path``.
    CorruptFileError
        If the file is not a readable notebook (bad JSON, wrong structure).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingFileError(f"notebook {path} does not exist")
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and encoding errors alike
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CorruptFileError(f"notebook {path} cannot be read: {message}") from None
    if not isinstance(notebook.get("cells"), list):
        raise CorruptFileError(f"notebook {path} has no list of cells")
    return notebook


def write_notebook(notebook, path) -> pathlib.Path:
    """Write ``notebook`` to ``path`` (folders created); return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def cell_source(cell) -> str:
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def source_checksum(source: str) -> str:
    """SHA-256 of a cell's source, ignoring line-ending style and trailing blank space."""
    normalised = "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").split("\n")).strip("\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def ensure_cell_ids(notebook) -> None:
    """Give every cell a stable id (nbformat 4.5): kept when present, else derived from position and source."""
    notebook.nbformat = 4
    notebook.nbformat_minor = max(int(notebook.get("nbformat_minor", 0)), 5)
    seen = set()
    for index, cell in enumerate(notebook.cells):
        identifier = cell.get("id")
        if not identifier or identifier in seen:
            digest = hashlib.sha256(f"{index}\n{cell_source(cell)}".encode("utf-8")).hexdigest()[:16]
            identifier = f"tlkit-{digest}"
            cell["id"] = identifier
        seen.add(identifier)
