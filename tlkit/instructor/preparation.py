"""The notebook a submission is run as: locked cells restored, grader cells added, findings per question.

:class:`SubmissionPreparation` turns a student's notebook into the one the
sandboxed kernel executes (the ``prepare`` step of :mod:`tlkit.instructor.steps`):
it compares the locked cells with the manifest, restores their pristine
source (hidden tests included), scans student cells for tampering, and adds
the grader's own cells (a code snapshot first, evidence after each check).
"""

from __future__ import annotations

import copy
import sys
from typing import TYPE_CHECKING

import nbformat

from tlkit.errors import TlkitError
from tlkit.instructor import tamper
from tlkit.instructor.manifest import compare_locked_cells
from tlkit.instructor.notebooks import cell_source

if TYPE_CHECKING:
    from tlkit.instructor.grading_setup import GradingSetup
    from tlkit.instructor.scoring import SubmissionGrade

__all__ = ["GRADER_CELL_TAG", "GradingError", "PreparedRun", "SubmissionPreparation"]

#: Tag of the cells the grader adds to a submission.
GRADER_CELL_TAG = "tlkit-grader"


class GradingError(TlkitError, RuntimeError):
    """The grading itself cannot start (bad source notebook, no exercise binding...)."""


class SubmissionPreparation:
    """Build the notebook to execute from a submission.

    Parameters
    ----------
    setup : GradingSetup
        Reads its ``manifest``, ``source`` (the instructor's notebook),
        ``module_paths``, ``watched_modules`` and ``kernel_code``.
    """

    def __init__(self, setup: GradingSetup):
        self.setup = setup
        self._declared_names: dict | None = None

    def _grader_cell(self, call: str, config: dict, kind: str, question: str | None = None):
        code = self.setup.kernel_code
        source = (
            f"exec({code!r} + '\\n{call}', "
            f"{{'__name__': 'tlkit_grader_cell', 'STUDENT_GLOBALS': globals(), 'CONFIG': {config!r}}})"
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GRADER_CELL_TAG]
        cell.metadata["tlkit_grader"] = {"kind": kind, "question": question}
        return cell

    def _baseline_cell(self):
        return self._grader_cell("emit_baseline(CONFIG)", {"modules": self.setup.watched_modules}, "baseline")

    def _evidence_cell(self, question: str, alias: str):
        config = {
            "question": question,
            "names": self.names_for(question),
            "exercise_module": self.setup.manifest["exercise_module"],
            "alias": alias,
            "watched_modules": self.setup.watched_modules,
        }
        return self._grader_cell("emit_evidence(STUDENT_GLOBALS, CONFIG)", config, "evidence", question)

    def names_for(self, question: str) -> list[str]:
        """The notebook variables ``question`` reads, as its class declares them.

        The first call imports the exercise module.

        Raises
        ------
        GradingError
            If the exercise module cannot be imported or has no ``exercise``.
        """
        if self._declared_names is None:
            self._declared_names = self._read_declared_names()
        return self._declared_names.get(question, [])

    def _read_declared_names(self) -> dict:
        """The notebook variables each question reads, from the question classes' declarations."""
        import importlib

        manifest = self.setup.manifest
        added = [path for path in self.setup.module_paths if path not in sys.path]
        sys.path[:0] = added
        try:
            module = importlib.import_module(manifest["exercise_module"])
        except ImportError as error:
            raise GradingError(f"cannot import the exercise module {manifest['exercise_module']}: {error}") from None
        finally:
            for path in added:
                sys.path.remove(path)
        exercise = getattr(module, "exercise", None)
        if exercise is None or not hasattr(exercise, "questions"):
            raise GradingError(f"the exercise module {module.__name__} has no `exercise = Exercise(...)`")
        names = {}
        for key, question in exercise.questions.items():
            declared = list(question.variable_names()) + list(question.context) + list(question.optional_context)
            names[key] = list(dict.fromkeys(declared))
        return names

    def prepare(self, submission, grade: SubmissionGrade) -> "PreparedRun":
        """Rebuild the notebook to execute from the release, keeping only the student's answer code.

        nbgrader-style: every locked cell (setup, checks, hidden tests, other
        locked cells) comes from the source notebook by cell id, in the
        source's order; of the submission only the *source* of its other code
        cells is kept, each placed after the locked cell it followed. Cell
        types, tags, metadata and outputs of the submission, and every
        Markdown or raw cell, are dropped. A locked cell deleted, turned into
        another type, moved or edited is flagged (and run as released). The
        grader's own cells are known by their position only.

        Parameters
        ----------
        submission : nbformat.NotebookNode
            The student's notebook, as read.
        grade : SubmissionGrade
            The submission's grade; flags on the whole submission are added to it.

        Returns
        -------
        PreparedRun
            The notebook to execute and what each of its cells is.
        """
        manifest = self.setup.manifest
        alias = manifest["exercise_alias"]
        locked_entries = list(manifest["locked_cells"])
        locked = {entry["cell_id"]: entry for entry in locked_entries}
        solutions = {entry["cell_id"]: entry["question"] for entry in manifest.get("solution_cells", [])}
        per_question: dict[str, list[str]] = {}
        for change in compare_locked_cells(manifest, submission):
            scope = change.questions if change.role in ("check", "hidden-tests") and change.questions else ()
            if scope:
                for question in scope:
                    per_question.setdefault(question, []).append(change.describe())
            else:
                grade.flags.append(change.describe())
        # the student's code cells, each attached to the locked cell (by rank) it came after
        following: dict[int, list] = {}
        anchor, seen_locked = -1, set()
        for index, cell in enumerate(submission.cells):
            identifier = cell.get("id")
            if identifier in locked:
                if identifier not in seen_locked:  # a retyped locked cell still marks its place
                    anchor = max(anchor, locked_entries.index(locked[identifier]))
                elif cell.get("cell_type") == "code":
                    grade.flags.append(f"cell {index + 1} is a second copy of a locked cell (dropped)")
                seen_locked.add(identifier)
                continue
            if cell.get("cell_type") != "code":
                continue  # Markdown and raw cells are never run nor read
            following.setdefault(anchor, []).append((index, cell_source(cell), solutions.get(identifier)))
        metadata = {key: value for key, value in self.setup.source.metadata.items() if key in ("kernelspec", "language_info")}
        executed = nbformat.v4.new_notebook(metadata=copy.deepcopy(dict(metadata)))
        run = PreparedRun(executed, per_question)
        run.add(self._baseline_cell(), "grader", ("baseline", None))

        def add_student_cells(rank: int) -> None:
            for index, source, question in following.get(rank, []):
                for finding in tamper.scan_code(index, source):
                    if question:
                        per_question.setdefault(question, []).append(finding.describe())
                    else:
                        grade.flags.append(finding.describe())
                run.add(nbformat.v4.new_code_cell(source), "student", {"index": index, "question": question})

        add_student_cells(-1)
        for rank, entry in enumerate(locked_entries):
            run.add(nbformat.v4.new_code_cell(cell_source(self.setup.source.cells[entry["index"]])), "locked", entry)
            if entry["role"] == "check":
                for question in entry["questions"]:
                    run.add(self._evidence_cell(question, alias), "grader", ("evidence", question))
            add_student_cells(rank)
        return run


class PreparedRun:
    """The notebook the sandbox runs, and what each of its cells is, by position.

    Attributes
    ----------
    notebook : nbformat.NotebookNode
    per_question : dict
        Question -> flags found before the run.
    grader_cells : dict
        Position -> ``(kind, question)`` of the grader's own cells (``"baseline"`` or ``"evidence"``).
    student_cells : dict
        Position -> ``{"index": cell number in the submission (0-based), "question": ...}``.
    check_cells : dict
        Position -> the manifest entry of a locked check cell.
    locked_cells : dict
        Position -> the manifest entry of every locked cell.
    """

    def __init__(self, notebook, per_question: dict):
        self.notebook = notebook
        self.per_question = per_question
        self.grader_cells: dict = {}
        self.student_cells: dict = {}
        self.check_cells: dict = {}
        self.locked_cells: dict = {}

    def add(self, cell, kind: str, about) -> None:
        position = len(self.notebook.cells)
        self.notebook.cells.append(cell)
        if kind == "grader":
            self.grader_cells[position] = about
        elif kind == "student":
            self.student_cells[position] = about
        else:
            self.locked_cells[position] = about
            if about["role"] == "check":
                self.check_cells[position] = about
