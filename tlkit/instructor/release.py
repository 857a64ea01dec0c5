"""Make the student release of source notebooks: solutions out, hidden tests out, quizzes sealed."""

from __future__ import annotations

import json
import pathlib

from tlkit.errors import MissingFileError
from tlkit.instructor.manifest import build_manifest, student_version
from tlkit.instructor.notebooks import read_notebook, write_notebook
from tlkit.quiz.loader import resolve_quiz
from tlkit.quiz.sealed import SEALED_SUFFIX, seal_text

__all__ = ["MANIFEST_FILE_NAME", "release_notebooks", "source_notebooks"]

MANIFEST_FILE_NAME = "MANIFEST.json"
QUIZ_FOLDER_NAME = "quizzes"


def source_notebooks(paths) -> list[pathlib.Path]:
    """Expand files and folders into the list of ``.ipynb`` files (folders: sorted, checkpoints skipped).

    Raises
    ------
    MissingFileError
        If a path does not exist or a folder holds no notebook.
    """
    found = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                raise MissingFileError(f"folder {path} holds no .ipynb notebook")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise MissingFileError(f"source notebook {path} does not exist")
    return found


def _seal_quiz(quiz_id: str, folder: pathlib.Path) -> pathlib.Path:
    quiz = resolve_quiz(quiz_id)
    target = folder / f"{quiz.id}{SEALED_SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(seal_text(pathlib.Path(quiz.path).read_text(encoding="utf-8")), encoding="utf-8")
    return target


def release_notebooks(sources, destination) -> dict:
    """Write the student version of each source notebook into ``destination``.

    Also writes every quiz the notebooks show (``show_quiz("id")``) into
    ``destination/quizzes/<id>.tlkq``, sealed so that the answer key is not
    plain text (``tlkit.quiz`` finds them there), and ``MANIFEST.json`` with
    the SHA-256 of every locked cell.

    Parameters
    ----------
    sources : sequence of path
        Source notebooks or folders of them.
    destination : path
        The release folder (created if needed).

    Returns
    -------
    dict
        The manifest written: ``{"format": 1, "notebooks": {name: entry}}``.

    Raises
    ------
    MissingFileError, CorruptFileError
        If a source is missing or unreadable.
    MarkerError
        If a source's markers are broken (run ``validate`` for every problem).
    """
    destination = pathlib.Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    entries = {}
    sealed = set()
    for source_path in source_notebooks(sources):
        source = read_notebook(source_path)
        write_notebook(student_version(source), destination / source_path.name)
        entry = build_manifest(source, source_path.name)
        entries[source_path.name] = entry
        for quiz_id in entry["quizzes"]:
            if quiz_id not in sealed:
                _seal_quiz(quiz_id, destination / QUIZ_FOLDER_NAME)
                sealed.add(quiz_id)
    manifest = {"format": 1, "notebooks": entries}
    (destination / MANIFEST_FILE_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
