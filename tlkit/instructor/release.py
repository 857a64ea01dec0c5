"""Make the student release of source notebooks: solutions out, hidden tests out, quizzes sealed."""

from __future__ import annotations

import json
import pathlib

from tlkit.errors import MissingFileError, UnknownNameError, describe_name_choice
from tlkit.instructor.manifest import build_manifest, student_version
from tlkit.instructor.notebooks import read_notebook, write_notebook
from tlkit.quiz.exam import EXAM_SUFFIX, QUIZ_MODES, exam_yaml
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


def _write_exam_quiz(quiz_id: str, folder: pathlib.Path) -> pathlib.Path:
    quiz = resolve_quiz(quiz_id)
    target = folder / f"{quiz.id}{EXAM_SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    stale = folder / f"{quiz.id}{SEALED_SUFFIX}"  # a sealed copy from an earlier release still holds the key
    if stale.exists():
        stale.unlink()
    target.write_text(exam_yaml(quiz), encoding="utf-8")
    return target


def release_notebooks(sources, destination, quiz_mode: str = "self-check") -> dict:
    """Write the student version of each source notebook into ``destination``.

    Also writes every quiz the notebooks show (``show_quiz("id")``) into
    ``destination/quizzes/``: with ``quiz_mode="self-check"`` (the default)
    as ``<id>.tlkq``, sealed so that the answer key is not plain text (but
    still recoverable by a determined student); with ``quiz_mode="exam"`` as
    ``<id>.exam.yaml`` without any key (see :mod:`tlkit.quiz.exam`): answers
    are only recorded, and the instructor grades them with
    ``python -m tlkit quiz grade``. Then ``MANIFEST.json`` with the SHA-256 of
    every locked cell (and ``"quiz_mode": "exam"`` for an exam release).

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
    if quiz_mode not in QUIZ_MODES:
        raise UnknownNameError(describe_name_choice("quiz mode", quiz_mode, QUIZ_MODES))
    write_quiz = _write_exam_quiz if quiz_mode == "exam" else _seal_quiz
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
                write_quiz(quiz_id, destination / QUIZ_FOLDER_NAME)
                sealed.add(quiz_id)
    manifest = {"format": 1, "notebooks": entries}
    if quiz_mode == "exam":
        manifest["quiz_mode"] = "exam"
    (destination / MANIFEST_FILE_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
