"""The grading pipeline: each step one small object, the pipeline one list, :data:`AUTOGRADE_STEPS`.

A step declares what it reads of a submission's state (``needs``) and what
it adds to it (``gives``); :func:`check_steps` refuses a pipeline in which a
step needs something no earlier step gives. The first names of the state are
``student_id``, ``path`` (the submitted notebook) and ``folder`` (its run
folder). A step returns the values it gives, or None when the submission is
graded already (a missing or refused notebook scores 0 with a reason) and
later steps must skip it.

Consecutive steps marked ``concurrent`` run one submission after another in a
worker of their own (a thread: the sandboxes are processes), as many workers
at a time as the batch allows; the other steps run in the batch's order. The
steps reach the grader's parts through the grader they are given:
``grader.setup`` (:class:`~tlkit.instructor.grading_setup.GradingSetup`),
``grader.preparation``, ``grader.processes`` and ``grader.intake``.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

from tlkit.errors import CorruptFileError, MissingFileError
from tlkit.instructor.intake import read_submission
from tlkit.instructor.processes import clean_run_folder
from tlkit.instructor.scoring import QuestionGrade, score_questions
from tlkit.instructor.sqlite_files import count_rows

__all__ = [
    "AUTOGRADE_STEPS",
    "INITIAL_STATE",
    "CheckEvidence",
    "CleanRunFolder",
    "ExecuteNotebook",
    "ExtractEvidence",
    "InspectDecoy",
    "NoteExecution",
    "PrepareNotebook",
    "ReadSubmission",
    "ScoreQuestions",
    "Step",
    "StoreExecutedNotebook",
    "check_steps",
    "run_steps",
    "zero_grade",
]

#: What a submission's state holds before the first step.
INITIAL_STATE = ("student_id", "path", "folder")


class Step:
    """One step of the grading pipeline.

    Attributes
    ----------
    needs : tuple of str
        The names of the submission's state the step reads, passed to :meth:`run` as keywords.
    gives : tuple of str
        The names :meth:`run` returns values for.
    concurrent : bool
        Whether the step may run at the same time as other submissions' steps.
    """

    needs: tuple = ()
    gives: tuple = ()
    concurrent = False

    @property
    def name(self) -> str:
        """The step's name (its class's)."""
        return type(self).__name__

    def run(self, grader, grade, **inputs) -> dict | None:
        """Do the step for one submission.

        Parameters
        ----------
        grader : tlkit.instructor.grade.Grader
            The grader whose parts the step uses.
        grade : SubmissionGrade
            The submission's grade; steps add flags, notes and question grades to it.
        **inputs
            The values of :attr:`needs`.

        Returns
        -------
        dict or None
            The values of :attr:`gives`; None when the submission is graded
            already and later steps skip it.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.name}()"


def zero_grade(grade, points: dict, reason: str) -> None:
    """Grade every question 0 with ``reason`` (a submission that could not be run).

    Parameters
    ----------
    grade : SubmissionGrade
        The submission's grade; its ``problem`` and ``questions`` are set.
    points : dict
        Question -> points it is worth.
    reason : str
        Why, for the feedback.
    """
    grade.problem = reason
    grade.questions = [QuestionGrade(question, 0.0, worth, "not_graded", reason) for question, worth in points.items()]


class ReadSubmission(Step):
    """Read the submitted notebook (regular files only, size-capped); a missing or malformed one scores 0."""

    needs = ("path",)
    gives = ("submission",)

    def run(self, grader, grade, path):
        try:
            return {"submission": read_submission(path, grader.setup.max_submission_bytes)}
        except MissingFileError:
            zero_grade(grade, grader.setup.points, f"no submission: {path.name} was not found")
        except CorruptFileError as error:
            zero_grade(grade, grader.setup.points, f"the submission was refused: {error}")
        return None


class PrepareNotebook(Step):
    """Rebuild the notebook to run from the release, the student's code and the grader's cells, in a fresh folder."""

    needs = ("submission", "folder")
    gives = ("prepared",)

    def run(self, grader, grade, submission, folder):
        if folder.exists():
            shutil.rmtree(folder)
        return {"prepared": grader.preparation.prepare(submission, grade)}


class ExecuteNotebook(Step):
    """Run the prepared notebook in its sandbox; flag a watched gradebook that changed meanwhile."""

    needs = ("prepared", "folder")
    gives = ("status", "executed")
    concurrent = True

    def run(self, grader, grade, prepared, folder):
        books = grader.setup.watch_gradebooks
        before = [count_rows(book) for book in books]
        status, executed = grader.processes.run(prepared.notebook, folder, grade.student_id, prepared.grader_cells)
        for book, counts in zip(books, before):
            if count_rows(book) != counts:
                grade.flags.append(f"the gradebook {book.name} changed while this notebook ran")
        return {"status": status, "executed": executed}


class ExtractEvidence(Step):
    """Write the evidence the grader's cells emitted to a folder only the grader can write."""

    needs = ("executed", "folder", "prepared")
    gives = ("evidence_root", "findings")
    concurrent = True

    def run(self, grader, grade, executed, folder, prepared):
        evidence_root, findings = grader.intake.extract_evidence(executed, folder, prepared.grader_cells)
        return {"evidence_root": evidence_root, "findings": findings}


class StoreExecutedNotebook(Step):
    """Keep ``executed.ipynb`` for the instructor, the evidence summarised."""

    needs = ("executed", "folder", "prepared")
    concurrent = True

    def run(self, grader, grade, executed, folder, prepared):
        grader.processes.store_executed(executed, folder, prepared.grader_cells)
        return {}


class CheckEvidence(Step):
    """Run the checker, in a sandbox of its own, on this submission's evidence and decoy gradebook."""

    needs = ("evidence_root", "folder")
    gives = ("results",)
    concurrent = True

    def run(self, grader, grade, evidence_root, folder):
        return {"results": grader.processes.check(grade, evidence_root, folder / "box" / "decoy" / "gradebook.sqlite3")}


class CleanRunFolder(Step):
    """Remove what the submission wrote and the evidence; keep the executed notebook."""

    needs = ("folder",)
    concurrent = True

    def run(self, grader, grade, folder):
        clean_run_folder(folder)
        return {}


class InspectDecoy(Step):
    """Flag writes to the decoy gradebook the notebook's own check calls do not account for."""

    needs = ("results", "executed", "prepared")

    def run(self, grader, grade, results, executed, prepared):
        grade.flags.extend(grader.intake.inspect_decoy(results.pop("__decoy_rows__", {}), executed, prepared))
        return {}


class NoteExecution(Step):
    """Note how the run went (timeouts, a dead kernel, cells that raised) for the feedback."""

    needs = ("status", "executed", "prepared")

    def run(self, grader, grade, status, executed, prepared):
        grade.notes.extend(grader.intake.execution_notes(status, executed, prepared))
        return {}


class ScoreQuestions(Step):
    """Decide each question's grade from the checker's result, the run and the flags."""

    needs = ("results", "prepared", "findings", "executed")

    def run(self, grader, grade, results, prepared, findings, executed):
        score_questions(grade, grader.setup.points, results, prepared.per_question, findings,
                        grader.intake.executed_findings(executed, prepared))
        return {}


#: The pipeline every submission goes through, in order.
AUTOGRADE_STEPS = (
    ReadSubmission(),
    PrepareNotebook(),
    ExecuteNotebook(),
    ExtractEvidence(),
    StoreExecutedNotebook(),
    CheckEvidence(),
    CleanRunFolder(),
    InspectDecoy(),
    NoteExecution(),
    ScoreQuestions(),
)


def check_steps(steps) -> tuple:
    """Return ``steps`` as a tuple, or raise ValueError when a step needs what no earlier step gives.

    Parameters
    ----------
    steps : sequence of Step

    Returns
    -------
    tuple of Step
    """
    steps = tuple(steps)
    given = set(INITIAL_STATE)
    for step in steps:
        missing = [name for name in step.needs if name not in given]
        if missing:
            raise ValueError(f"grading step {step.name} needs {', '.join(missing)}, which no earlier step gives")
        given.update(step.gives)
    return steps


def _phases(steps: tuple) -> list[tuple[bool, tuple]]:
    """Consecutive steps grouped by whether they run concurrently."""
    phases: list[tuple[bool, list]] = []
    for step in steps:
        if phases and phases[-1][0] == step.concurrent:
            phases[-1][1].append(step)
        else:
            phases.append((step.concurrent, [step]))
    return [(concurrent, tuple(group)) for concurrent, group in phases]


def run_steps(grader, steps, states: list[tuple], workers: int = 1) -> None:
    """Take every submission through ``steps``.

    Parameters
    ----------
    grader : tlkit.instructor.grade.Grader
    steps : sequence of Step
        Checked with :func:`check_steps`.
    states : list of (SubmissionGrade, dict)
        Each submission's grade and state (at least :data:`INITIAL_STATE`);
        the states grow as the steps give values.
    workers : int, default 1
        Submissions whose concurrent steps run at the same time.
    """
    active = list(states)

    def through(phase_steps, item) -> bool:
        grade, state = item
        for step in phase_steps:
            given = step.run(grader, grade, **{name: state[name] for name in step.needs})
            if given is None:
                return False
            state.update(given)
        return True

    for concurrent, phase_steps in _phases(check_steps(steps)):
        if concurrent:
            with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
                going_on = list(pool.map(lambda item: through(phase_steps, item), active))
        else:
            going_on = [through(phase_steps, item) for item in active]
        active = [item for item, keep in zip(active, going_on) if keep]
