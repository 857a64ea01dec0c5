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

:class:`Grader` runs the batch through the steps listed, in order, in
:data:`tlkit.instructor.steps.AUTOGRADE_STEPS` (steps 1-3: reading and
preparing, :mod:`tlkit.instructor.preparation`; step 4: the sandboxes and the
runner, :mod:`tlkit.instructor.processes`; step 5: the evidence,
:mod:`tlkit.instructor.evidence_intake`, and the checker; then how a
question's grade is decided, :mod:`tlkit.instructor.scoring`). What every
step reads is decided once, in :class:`tlkit.instructor.grading_setup.GradingSetup`.
"""

from __future__ import annotations

import pathlib
import warnings

from tlkit.gradebook.student_id import student_id_from_name
from tlkit.instructor.evidence_intake import EvidenceIntake
from tlkit.instructor.grading_setup import GradingSetup
from tlkit.instructor.intake import collect_submissions
from tlkit.instructor.parallel import threads_per_kernel
from tlkit.instructor.preparation import GRADER_CELL_TAG, GradingError, SubmissionPreparation
from tlkit.instructor.processes import SubmissionProcesses, write_key_free_quizzes
from tlkit.instructor.sandbox import NO_SANDBOX_WARNING, Limits, Sandbox, SandboxUnavailableError
from tlkit.instructor.scoring import QuestionGrade, SubmissionGrade
from tlkit.instructor.steps import AUTOGRADE_STEPS, check_steps, run_steps

__all__ = ["GRADER_CELL_TAG", "GradingError", "Grader", "QuestionGrade", "SandboxUnavailableError",
           "SubmissionGrade", "collect_submissions"]


class Grader:
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
    steps : sequence of Step, optional
        The pipeline; :data:`~tlkit.instructor.steps.AUTOGRADE_STEPS` by default.

    Attributes
    ----------
    setup : GradingSetup
        The settings every step reads.
    preparation : SubmissionPreparation
        Builds the notebook each submission is run as.
    processes : SubmissionProcesses
        Runs the notebook and the checker in their sandboxes.
    intake : EvidenceIntake
        Reads what a run left behind.
    steps : tuple of Step
        The pipeline.
    """

    def __init__(self, source, work_folder, cell_timeout: float = 120, timeout: float = 1800, manifest=None,
                 watch_gradebooks=(), sandbox: bool = True, limits: Limits | None = None, threads: int | None = None,
                 steps=AUTOGRADE_STEPS):
        self.setup = GradingSetup.from_source(source, work_folder, cell_timeout=cell_timeout, timeout=timeout,
                                              manifest=manifest, watch_gradebooks=watch_gradebooks, sandbox=sandbox,
                                              limits=limits, threads=threads)
        if self.setup.use_sandbox:
            Sandbox(limits=self.setup.limits)  # fails now, with a clear message, when bubblewrap is missing
        else:
            warnings.warn(NO_SANDBOX_WARNING, stacklevel=2)
        self.preparation = SubmissionPreparation(self.setup)
        self.processes = SubmissionProcesses(self.setup)
        self.intake = EvidenceIntake(self.setup)
        self.steps = check_steps(steps)

    @property
    def assignment(self) -> str:
        """The assignment's name."""
        return self.setup.assignment

    @property
    def manifest(self) -> dict:
        """The source notebook's manifest entry."""
        return self.setup.manifest

    @property
    def work_folder(self) -> pathlib.Path:
        """Where executed notebooks, evidence, feedback and CSV files go."""
        return self.setup.work_folder

    @property
    def use_sandbox(self) -> bool:
        """Whether submissions and the checker run in a bubblewrap sandbox."""
        return self.setup.use_sandbox

    def grade(self, submissions: dict, workers: int = 1, also_hide=()) -> list[SubmissionGrade]:
        """Grade ``{student_id: notebook path}``; return one :class:`SubmissionGrade` per student.

        A missing, malformed, hanging or crashing submission is graded 0 with a
        reason; the others are graded as usual.

        Parameters
        ----------
        submissions : dict
            Student id -> path of the submitted notebook. The ids are those
            :func:`collect_submissions` gives (:func:`tlkit.gradebook.student_id_from_name`).
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

        Raises
        ------
        GradingError
            If a key of ``submissions`` is not a student id.
        """
        setup = self.setup
        workers = max(1, int(workers))
        self.processes.threads = setup.threads or threads_per_kernel(workers)
        setup.work_folder.mkdir(parents=True, exist_ok=True)
        self.preparation.names_for(setup.manifest["questions"][0])  # imports the exercise module: fails early
        self.processes.quiz_folder = write_key_free_quizzes(setup.manifest, setup.work_folder / "quizzes")
        hide = dict(submissions)
        hide.update({f"also-hidden-{number}": path for number, path in enumerate(also_hide)})
        self.processes.hidden = self.processes.hide_paths(hide) if setup.use_sandbox else []
        states = []
        for student_id, path in submissions.items():
            if student_id_from_name(student_id) != student_id:
                raise GradingError(f"{student_id!r} is not a student id: name submissions as collect_submissions "
                                   "does (tlkit.gradebook.student_id_from_name)")
            if isinstance(path, str):
                path = pathlib.Path(path)
            grade = SubmissionGrade(student_id=student_id, assignment=setup.assignment, path=str(path))
            states.append((grade, {"student_id": student_id, "path": path,
                                   "folder": setup.work_folder / "runs" / student_id}))
        run_steps(self, self.steps, states, workers)
        return [grade for grade, _ in states]
