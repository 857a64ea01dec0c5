"""Grade submissions: run each in its own sandboxed kernel, re-check the evidence in a sandboxed checker, flag tampering.

For every submission the grader

1. reads the notebook (a malformed or missing file scores 0 with a reason);
2. compares its locked cells with the manifest (an edit or deletion flags the
   question concerned) and restores their pristine source, hidden tests included;
3. puts a cell of its own before every other cell (a snapshot of the kernel's
   code, :func:`kernel_side.emit_baseline`) and one after each check cell that
   emits the variables the question reads as an *output* of that cell
   (:func:`kernel_side.emit_evidence`);
4. executes the notebook in a fresh kernel inside a bubblewrap sandbox
   (:mod:`tlkit.instructor.sandbox`, :mod:`tlkit.instructor.runner`): no
   network, its own process namespace, read-only system and tlkit, write access
   to its own fresh folder only, an unprivileged user, resource limits, a
   per-cell and an overall timeout, ``TLKIT_GRADEBOOK`` pointing at a decoy;
5. after the sandbox has exited (and everything in it with it), takes the
   evidence from the outputs the runner captured as each grader cell ran,
   writes it to a folder only the grader can write, and runs one checker
   process (:mod:`tlkit.instructor.checker`), in a sandbox of its own, that
   rebuilds the evidence and runs each question's own check logic on it.

A question scores its point only when its locked check cell displayed
*Correct* when it ran, the checker's own check of the evidence emitted right
after it passes, and nothing flagged it. Only the grader writes the gradebook
and the CSV files.

:class:`Grader` runs the batch; its parts live in modules of their own:
steps 1-3 in :mod:`tlkit.instructor.preparation`, the sandboxes and the
runner and checker processes in :mod:`tlkit.instructor.processes`, reading
the executed notebook in :mod:`tlkit.instructor.evidence_intake`, and how a
question's grade is decided in :mod:`tlkit.instructor.scoring`.
"""

from __future__ import annotations

import pathlib
import shutil
import warnings

from tlkit.errors import CorruptFileError, MissingFileError
from tlkit.instructor import kernel_side
from tlkit.instructor.evidence_intake import EvidenceIntake
from tlkit.gradebook.student_id import student_id_from_name
from tlkit.instructor.intake import MAX_SUBMISSION_BYTES, collect_submissions, read_submission
from tlkit.instructor.manifest import build_manifest
from tlkit.instructor.notebooks import ensure_cell_ids, read_notebook
from tlkit.instructor.parallel import threads_per_kernel
from tlkit.instructor.preparation import GRADER_CELL_TAG, GradingError, SubmissionPreparation  # noqa: F401
from tlkit.instructor.processes import REPO_ROOT, SubmissionProcesses
from tlkit.instructor.sandbox import NO_SANDBOX_WARNING, Limits, Sandbox, SandboxUnavailableError
from tlkit.instructor.scoring import QuestionGrade, SubmissionGrade, score_questions
from tlkit.instructor.sqlite_files import count_rows

__all__ = ["GradingError", "Grader", "QuestionGrade", "SandboxUnavailableError", "SubmissionGrade",
           "collect_submissions"]

CORE_WATCHED_MODULES = (
    "tlkit.exercises", "tlkit.exercises.core", "tlkit.exercises.predicates", "tlkit.exercises.compile_state",
    "tlkit.gradebook", "tlkit.gradebook.book", "tlkit.gradebook.spool", "tlkit.gradebook.student_id",
    "tlkit.keras_internals",
)


class Grader(SubmissionPreparation, SubmissionProcesses, EvidenceIntake):
    """Grade submissions of one source notebook.

    Parameters
    ----------
    source : path
        The instructor's notebook, with solutions (and hidden tests).
    work_folder : path
        Where executed notebooks, evidence, feedback and CSV files go.
    cell_timeout : float, default 120
        Seconds one cell may run before the kernel is interrupted.
    timeout : float, default 1800
        Seconds a whole submission may run before its sandbox is killed.
    manifest : dict, optional
        The notebook's entry of the release's ``MANIFEST.json``; rebuilt from
        the source when not given.
    watch_gradebooks : sequence of path, optional
        Gradebooks that no submission may write to (the instructor's); hidden
        from the sandboxes and checked for changes.
    sandbox : bool, default True
        Run every submission (and the checker) in a bubblewrap sandbox. Without
        bubblewrap the grader refuses to start (:class:`SandboxUnavailableError`)
        unless this is False, which is unsafe: see ``docs/instructor.md``.
    limits : Limits, optional
        Resource limits of each sandbox; by default :class:`Limits` with the CPU
        time set to twice ``timeout``.
    threads : int, optional
        Compute threads of TensorFlow and OpenMP in each kernel and checker
        (``TF_NUM_INTRAOP_THREADS``, ``OMP_NUM_THREADS``); by default the cores
        divided by the number of workers (:func:`parallel.threads_per_kernel`).
    """

    def __init__(self, source, work_folder, cell_timeout: float = 120, timeout: float = 1800, manifest=None,
                 watch_gradebooks=(), sandbox: bool = True, limits: Limits | None = None, threads: int | None = None):
        self.source_path = pathlib.Path(source).resolve()
        self.source = read_notebook(self.source_path)
        ensure_cell_ids(self.source)
        self.manifest = manifest or build_manifest(self.source, self.source_path.name)
        if not self.manifest.get("exercise_module"):
            raise GradingError(f"{self.source_path.name}: no setup cell binds exercises, so there is nothing to grade")
        if not self.manifest["questions"]:
            raise GradingError(f"{self.source_path.name}: no questions found (no solution regions or checks)")
        self.assignment = self.manifest["assignment"]
        self.work_folder = pathlib.Path(work_folder).resolve()
        self.cell_timeout = float(cell_timeout)
        self.timeout = float(timeout)
        self.watch_gradebooks = [pathlib.Path(path) for path in watch_gradebooks]
        self.module_paths = [str(self.source_path.parent), str(REPO_ROOT)]
        self.use_sandbox = bool(sandbox)
        self.limits = limits or Limits(cpu_seconds=int(max(60.0, 2 * self.timeout)))
        if self.use_sandbox:
            Sandbox(limits=self.limits)  # fails now, with a clear message, when bubblewrap is missing
        else:
            warnings.warn(NO_SANDBOX_WARNING, stacklevel=2)
        from tlkit.exercises import EXERCISE_MODULES

        self.watched_modules = list(CORE_WATCHED_MODULES) + [f"tlkit.exercises.{name}" for name in EXERCISE_MODULES]
        if self.manifest["exercise_module"] not in self.watched_modules:
            self.watched_modules.append(self.manifest["exercise_module"])
        self._points = {question: 1.0 for question in self.manifest["questions"]}
        self._kernel_code = pathlib.Path(kernel_side.__file__).read_text(encoding="utf-8")
        self._hidden: list[str] = []
        self._quiz_folder: pathlib.Path | None = None
        self.max_submission_bytes = MAX_SUBMISSION_BYTES
        self.threads = int(threads) if threads else None
        self._threads = self.threads or threads_per_kernel(1)


    # -- the batch -------------------------------------------------------------------------------
    def _new_grade(self, student_id: str, path) -> SubmissionGrade:
        return SubmissionGrade(student_id=student_id, assignment=self.assignment, path=str(path))

    def _zero(self, grade: SubmissionGrade, reason: str) -> None:
        grade.problem = reason
        grade.questions = [QuestionGrade(question, 0.0, points, "not_graded", reason)
                           for question, points in self._points.items()]

    def grade(self, submissions: dict, workers: int = 1, also_hide=()) -> list[SubmissionGrade]:
        """Grade ``{student_id: notebook path}``; return one :class:`SubmissionGrade` per student.

        A missing, malformed, hanging or crashing submission is graded 0 with a
        reason; the others are graded as usual.

        Parameters
        ----------
        submissions : dict
            Student id -> path of the submitted notebook.
        workers : int, default 1
            Submissions graded at the same time, each in its own sandbox with its
            own limits and timeouts (threads: the sandboxes are processes). The
            grades come back in the order of ``submissions`` whatever the order
            in which they finish, and each kernel gets ``cores // workers``
            compute threads unless ``threads`` was given. With more than one, a
            change to a watched gradebook cannot be tied to one submission and
            flags every submission running at that moment.
        also_hide : sequence of path, optional
            Other submissions no sandbox may see either: with ``--shard``, the
            other shards' students (the batch's own submissions are always hidden).
        """
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, int(workers))
        self._threads = self.threads or threads_per_kernel(workers)
        self.work_folder.mkdir(parents=True, exist_ok=True)
        self._names_for(self.manifest["questions"][0])
        self._quiz_folder = self._key_free_quizzes()
        hide = dict(submissions)
        hide.update({f"also-hidden-{number}": path for number, path in enumerate(also_hide)})
        self._hidden = self._hide_paths(hide) if self.use_sandbox else []
        grades, runs = [], []
        for student_id, path in submissions.items():
            if student_id_from_name(student_id) != student_id:
                raise GradingError(f"{student_id!r} is not a student id: name submissions as collect_submissions "
                                   "does (tlkit.gradebook.student_id_from_name)")
            if isinstance(path, str):
                path = pathlib.Path(path)
            grade = self._new_grade(student_id, path)
            grades.append(grade)
            try:
                submission = read_submission(path, self.max_submission_bytes)
            except MissingFileError:
                self._zero(grade, f"no submission: {path.name} was not found")
                continue
            except CorruptFileError as error:
                self._zero(grade, f"the submission was refused: {error}")
                continue
            folder = self.work_folder / "runs" / student_id
            if folder.exists():
                shutil.rmtree(folder)
            runs.append((grade, folder, self._prepare(submission, grade)))

        def execute(run):
            grade, folder, prepared = run
            before = [count_rows(book) for book in self.watch_gradebooks]
            status, executed = self._run(prepared.notebook, folder, grade.student_id, prepared.grader_cells)
            for book, counts in zip(self.watch_gradebooks, before):
                if count_rows(book) != counts:
                    grade.flags.append(f"the gradebook {book.name} changed while this notebook ran")
            evidence_root, findings = self._extract_evidence(executed, folder, prepared.grader_cells)
            self._store_executed(executed, folder, prepared.grader_cells)
            results = self._check(grade, evidence_root, folder / "box" / "decoy" / "gradebook.sqlite3")
            self._clean_run_folder(folder)
            return status, executed, findings, results

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(execute, runs))
        for (grade, _, prepared), (status, executed, findings, results) in zip(runs, outcomes):
            grade.flags.extend(self._inspect_decoy(results.pop("__decoy_rows__", {}), executed, prepared))
            grade.notes.extend(self._execution_notes(status, executed, prepared))
            score_questions(grade, self._points, results, prepared.per_question, findings,
                            self._executed_findings(executed, prepared))
        return grades

    def _key_free_quizzes(self) -> pathlib.Path | None:
        """The notebook's quizzes as exam files (questions and options, no key) for the sandboxes to show.

        The source quizzes hold the answer key and never enter a sandbox; a
        quiz that cannot be loaded is left out (its cell then fails, as the
        quiz is not graded here).
        """
        from tlkit.quiz import QuizFileError, resolve_quiz
        from tlkit.quiz.exam import EXAM_SUFFIX, exam_yaml

        folder = self.work_folder / "quizzes"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for quiz_id in self.manifest.get("quizzes", []):
            try:
                quiz = resolve_quiz(quiz_id)
            except (QuizFileError, OSError, ValueError):
                continue
            (folder / f"{quiz.id}{EXAM_SUFFIX}").write_text(exam_yaml(quiz), encoding="utf-8")
        return folder

    @staticmethod
    def _clean_run_folder(folder: pathlib.Path) -> None:
        """Remove what the submission wrote and the evidence once checked; keep ``executed.ipynb`` (truncated)."""
        import os
        import stat

        def unlock(function, path, _):
            try:  # a folder the submission made unreadable (chmod 000): give it back to the grader
                os.chmod(os.path.dirname(path), stat.S_IRWXU)
                os.chmod(path, stat.S_IRWXU)
                function(path)
            except OSError:
                pass

        for name in ("box", "evidence"):
            if (folder / name).exists():
                shutil.rmtree(folder / name, onerror=unlock)
