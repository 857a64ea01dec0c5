"""The manifest of a released notebook: which cells are locked, and their SHA-256 checksums.

The manifest is a pure function of the source notebook, so the grader can
rebuild it from the source at any time; ``release`` also writes it to disk
(``MANIFEST.json``) as a record of what students received.
"""

from __future__ import annotations

import copy
import json
import pathlib
from dataclasses import dataclass

from tlkit.errors import CorruptFileError
from tlkit.instructor.markers import (
    MarkerError,
    cell_roles,
    checked_questions,
    find_exercise_binding,
    find_quiz_ids,
    remove_hidden_tests,
    replace_solutions,
)
from tlkit.instructor.notebooks import cell_source, ensure_cell_ids, source_checksum

__all__ = ["LockedCellChange", "build_manifest", "compare_locked_cells", "load_manifest", "student_version"]

MANIFEST_FORMAT = 1


def student_version(source_notebook):
    """Return the student notebook made from a source notebook (the source is not changed).

    Solution regions become ``# YOUR CODE HERE`` + ``raise NotImplementedError()``,
    hidden-tests regions disappear, outputs and execution counts are cleared,
    and every cell gets a stable id.

    Raises
    ------
    MarkerError
        If a cell's markers are unbalanced or nested (the message names the cell).
    """
    notebook = copy.deepcopy(source_notebook)
    ensure_cell_ids(notebook)
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") == "code":
            try:
                cell["source"] = remove_hidden_tests(replace_solutions(cell_source(cell)))
            except MarkerError as error:
                raise MarkerError(f"cell {number}, {error}") from None
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)
    notebook.metadata.pop("widgets", None)
    return notebook


def build_manifest(source_notebook, notebook_name: str) -> dict:
    """Describe the locked cells of the student version of ``source_notebook``.

    Parameters
    ----------
    source_notebook : nbformat.NotebookNode
        The instructor's notebook, with solutions.
    notebook_name : str
        The file name, e.g. ``"01_feature_extraction.ipynb"``.

    Returns
    -------
    dict
        ``assignment``, ``notebook``, ``exercise_module``, ``exercise_alias``,
        ``questions`` (in order), ``quizzes``, ``locked_cells`` (each with
        ``cell_id``, ``index``, ``role``, ``question``, ``questions``, ``sha256``)
        and ``solution_cells`` (``cell_id``, ``index``, ``question``).
    """
    source = copy.deepcopy(source_notebook)
    ensure_cell_ids(source)
    released = student_version(source)
    roles = cell_roles(source)
    binding = None
    quizzes: list[str] = []
    for cell in source.cells:
        if cell.get("cell_type") == "code":
            binding = binding or find_exercise_binding(cell_source(cell))
            quizzes.extend(quiz for quiz in find_quiz_ids(cell_source(cell)) if quiz not in quizzes)
    alias = binding[1] if binding else None
    questions: list[str] = []
    locked = []
    solutions = []
    for index, (cell, role) in enumerate(zip(released.cells, roles)):
        if role.role == "solution" and role.question and role.question not in questions:
            questions.append(role.question)
        if role.role == "solution":
            solutions.append({"cell_id": cell["id"], "index": index, "question": role.question})
        if not role.locked:
            continue
        asked = checked_questions(cell_source(source.cells[index]), alias)
        if role.role == "check" and role.question and role.question not in asked:
            asked.insert(0, role.question)
        for question in asked:
            if question not in questions:
                questions.append(question)
        locked.append({
            "cell_id": cell["id"],
            "index": index,
            "role": role.role,
            "question": role.question,
            "questions": asked,
            "sha256": source_checksum(cell_source(cell)),
        })
    return {
        "format": MANIFEST_FORMAT,
        "assignment": pathlib.Path(notebook_name).stem,
        "notebook": pathlib.Path(notebook_name).name,
        "exercise_module": binding[0] if binding else None,
        "exercise_alias": alias,
        "questions": questions,
        "quizzes": quizzes,
        "locked_cells": locked,
        "solution_cells": solutions,
    }


def load_manifest(path) -> dict:
    """Read a manifest written by ``release`` (one notebook's entry or the whole ``MANIFEST.json``).

    Raises
    ------
    CorruptFileError
        If the file is not a tlkit manifest.
    """
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CorruptFileError(f"manifest {path} cannot be read ({error})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise CorruptFileError(f"manifest {path} is not a tlkit manifest (format {MANIFEST_FORMAT})")
    return data


@dataclass(frozen=True)
class LockedCellChange:
    """A locked cell that a submission changed, deleted, turned into another cell type or moved."""

    cell_id: str
    index: int
    role: str
    questions: tuple
    change: str  # "edited", "missing", "retyped" or "moved"

    def describe(self) -> str:
        about = f" ({', '.join(self.questions)})" if self.questions else ""
        if self.change == "missing":
            return f"locked {self.role} cell {self.index + 1}{about} was deleted or its id changed"
        if self.change == "retyped":
            return f"locked {self.role} cell {self.index + 1}{about} was turned into a non-code cell"
        if self.change == "moved":
            return f"locked {self.role} cell {self.index + 1}{about} was moved out of its place among the locked cells"
        return f"locked {self.role} cell {self.index + 1}{about} was edited (checksum mismatch)"


def _released_checksum(source: str) -> str | None:
    """Checksum of a cell as released: an instructor's copy (with hidden tests) matches too."""
    try:
        return source_checksum(remove_hidden_tests(source))
    except MarkerError:
        return None


def compare_locked_cells(manifest: dict, submission) -> list[LockedCellChange]:
    """Return the locked cells of ``manifest`` that ``submission`` edited, deleted, retyped or reordered.

    A locked cell is matched by id. One that is no longer a code cell is
    *retyped*; one that appears out of the manifest's order among the other
    locked cells is *moved* (the fewest cells that explain the new order).
    """
    by_id = {}
    for cell in submission.cells:
        if cell.get("id") and cell.get("id") not in by_id:
            by_id[cell.get("id")] = cell
    changes = []
    order = {entry["cell_id"]: rank for rank, entry in enumerate(manifest["locked_cells"])}
    entries = {entry["cell_id"]: entry for entry in manifest["locked_cells"]}
    for entry in manifest["locked_cells"]:
        cell = by_id.get(entry["cell_id"])
        questions = tuple(entry.get("questions") or ([entry["question"]] if entry.get("question") else []))
        if cell is None:
            changes.append(LockedCellChange(entry["cell_id"], entry["index"], entry["role"], questions, "missing"))
        elif cell.get("cell_type") != "code":
            changes.append(LockedCellChange(entry["cell_id"], entry["index"], entry["role"], questions, "retyped"))
        elif _released_checksum(cell_source(cell)) != entry["sha256"]:
            changes.append(LockedCellChange(entry["cell_id"], entry["index"], entry["role"], questions, "edited"))
    seen = [order[cell.get("id")] for cell in submission.cells
            if cell.get("cell_type") == "code" and cell.get("id") in order]
    for rank in sorted(set(seen) - set(_longest_increasing(seen))):
        entry = manifest["locked_cells"][rank]
        entry = entries[entry["cell_id"]]
        questions = tuple(entry.get("questions") or ([entry["question"]] if entry.get("question") else []))
        changes.append(LockedCellChange(entry["cell_id"], entry["index"], entry["role"], questions, "moved"))
    return changes


def _longest_increasing(values: list) -> list:
    """One longest strictly increasing subsequence of ``values`` (the locked cells still in order)."""
    import bisect

    tails, tail_positions, previous = [], [], [None] * len(values)
    for position, value in enumerate(values):
        slot = bisect.bisect_left(tails, value)
        if slot == len(tails):
            tails.append(value)
            tail_positions.append(position)
        else:
            tails[slot] = value
            tail_positions[slot] = position
        previous[position] = tail_positions[slot - 1] if slot else None
    found, position = [], tail_positions[-1] if tail_positions else None
    while position is not None:
        found.append(values[position])
        position = previous[position]
    return found[::-1]
