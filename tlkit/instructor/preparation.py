"""The notebook a submission is run as: locked cells restored, grader cells added, findings per question.

:class:`SubmissionPreparation` is the part of :class:`tlkit.instructor.grade.Grader`
that turns a student's notebook into the one the sandboxed kernel executes:
it compares the locked cells with the manifest, restores their pristine
source (hidden tests included), scans student cells for tampering, and adds
the grader's own cells (a code snapshot first, evidence after each check).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import nbformat

from tlkit.errors import TlkitError
from tlkit.instructor import tamper
from tlkit.instructor.manifest import compare_locked_cells
from tlkit.instructor.notebooks import cell_source

if TYPE_CHECKING:
    from tlkit.instructor.scoring import SubmissionGrade

__all__ = ["GRADER_CELL_TAG", "GradingError", "SubmissionPreparation"]

#: Tag of the cells the grader adds to a submission.
GRADER_CELL_TAG = "tlkit-grader"


class GradingError(TlkitError, RuntimeError):
    """The grading itself cannot start (bad source notebook, no exercise binding...)."""


class SubmissionPreparation:
    """Build the notebook to execute from a submission (a part of :class:`~tlkit.instructor.grade.Grader`).

    Uses the grader's ``manifest``, ``source`` (the instructor's notebook),
    ``module_paths``, ``watched_modules`` and ``_kernel_code`` (the source of
    :mod:`tlkit.instructor.kernel_side`).
    """

    def _grader_cell(self, call: str, config: dict, kind: str, question: str | None = None):
        code = self._kernel_code
        source = (
            f"exec({code!r} + '\\n{call}', "
            f"{{'__name__': 'tlkit_grader_cell', 'STUDENT_GLOBALS': globals(), 'CONFIG': {config!r}}})"
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GRADER_CELL_TAG]
        cell.metadata["tlkit_grader"] = {"kind": kind, "question": question}
        return cell

    def _baseline_cell(self):
        return self._grader_cell("emit_baseline(CONFIG)", {"modules": self.watched_modules}, "baseline")

    def _evidence_cell(self, question: str, alias: str):
        config = {
            "question": question,
            "names": self._names_for(question),
            "exercise_module": self.manifest["exercise_module"],
            "alias": alias,
            "watched_modules": self.watched_modules,
        }
        return self._grader_cell("emit_evidence(STUDENT_GLOBALS, CONFIG)", config, "evidence", question)

    def _names_for(self, question: str) -> list[str]:
        if not hasattr(self, "_declared_names"):
            self._declared_names = self._read_declared_names()
        return self._declared_names.get(question, [])

    def _read_declared_names(self) -> dict:
        """The notebook variables each question reads, from the question classes' declarations."""
        import importlib

        added = [path for path in self.module_paths if path not in sys.path]
        sys.path[:0] = added
        try:
            module = importlib.import_module(self.manifest["exercise_module"])
        except ImportError as error:
            raise GradingError(f"cannot import the exercise module {self.manifest['exercise_module']}: {error}") from None
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

    def _prepare(self, submission, grade: SubmissionGrade):
        """Return the notebook to execute, the findings per question and the check cells by position."""
        alias = self.manifest["exercise_alias"]
        locked = {entry["cell_id"]: entry for entry in self.manifest["locked_cells"]}
        solutions = {entry["cell_id"]: entry["question"] for entry in self.manifest.get("solution_cells", [])}
        per_question: dict[str, list[str]] = {}
        for change in compare_locked_cells(self.manifest, submission):
            scope = change.questions if change.role in ("check", "hidden-tests") and change.questions else ()
            if scope:
                for question in scope:
                    per_question.setdefault(question, []).append(change.describe())
            else:
                grade.flags.append(change.describe())
        executed = nbformat.v4.new_notebook()
        executed.metadata = submission.metadata
        executed.cells.append(self._baseline_cell())
        check_cells = {}
        for index, cell in enumerate(submission.cells):
            cell = nbformat.from_dict(dict(cell))
            entry = locked.get(cell.get("id"))
            if cell.get("cell_type") != "code":
                executed.cells.append(cell)
                continue
            cell["outputs"], cell["execution_count"] = [], None
            cell.metadata.pop("tlkit_grader", None)
            if entry is not None:
                cell["source"] = cell_source(self.source.cells[entry["index"]])
                executed.cells.append(cell)
                if entry["role"] == "check":
                    check_cells[len(executed.cells) - 1] = entry
                    for question in entry["questions"]:
                        executed.cells.append(self._evidence_cell(question, alias))
                continue
            question = solutions.get(cell.get("id"))
            for finding in tamper.scan_code(index, cell_source(cell)):
                if question:
                    per_question.setdefault(question, []).append(finding.describe())
                else:
                    grade.flags.append(finding.describe())
            cell.metadata["tlkit_student_cell"] = {"index": index, "question": question}
            executed.cells.append(cell)
        return executed, per_question, check_cells
