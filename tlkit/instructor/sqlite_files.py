"""SQLite gradebook files as files: their journals, a new file written aside, row counts.

The grader, the checker, ``grade --shard`` and ``gradebook merge`` all handle
gradebooks as files on disk besides using them as databases; the file-level
steps they share live here.
"""

from __future__ import annotations

import pathlib
import sqlite3
import uuid

__all__ = ["count_rows", "journal_files", "partial_path", "remove_existing"]


def journal_files(path) -> tuple[pathlib.Path, pathlib.Path]:
    """The write-ahead log and shared-memory files SQLite keeps beside ``path`` in WAL mode.

    Returns
    -------
    tuple of pathlib.Path
        ``<path>-wal`` and ``<path>-shm`` (whether they exist or not).
    """
    path = pathlib.Path(path)
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def partial_path(path) -> pathlib.Path:
    """A fresh hidden name beside ``path`` to write a new gradebook under before renaming it into place.

    Returns
    -------
    pathlib.Path
        ``.<name>.<8 random hex digits>.partial`` in ``path``'s folder.
    """
    path = pathlib.Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")


def remove_existing(paths) -> None:
    """Delete each of ``paths`` that exists."""
    for path in paths:
        if path.exists():
            path.unlink()


def count_rows(path, immutable: bool = False) -> dict:
    """Rows per table of an SQLite gradebook, read-only.

    Parameters
    ----------
    path : path
        The SQLite file.
    immutable : bool, default False
        Open it with SQLite's ``immutable=1``: no locks and no journal files,
        for a file nothing writes any more and that may sit in a read-only
        folder (the checker reads a finished submission's decoy gradebook this
        way). Leave it False for a gradebook that may be written meanwhile
        (the grader watching the instructor's gradebooks).

    Returns
    -------
    dict
        Table name -> row count (SQLite's own tables left out); empty when
        there is no file, ``{"unreadable": 1}`` when SQLite cannot read it.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return {}
    mode = "ro&immutable=1" if immutable else "ro"
    try:
        connection = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=5)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                    for table in tables if not table.startswith("sqlite_")}
        finally:
            connection.close()
    except sqlite3.Error:
        return {"unreadable": 1}
