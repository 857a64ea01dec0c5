"""What grading one source notebook needs to know, decided once before any submission runs.

:class:`GradingSetup` holds the source notebook, its manifest, the questions
and their points, the folders, timeouts and limits, and the modules whose
code must not change while a submission runs. Every step of the grading
pipeline (:mod:`tlkit.instructor.steps`) and the parts it uses
(:class:`~tlkit.instructor.preparation.SubmissionPreparation`,
:class:`~tlkit.instructor.processes.SubmissionProcesses`,
:class:`~tlkit.instructor.evidence_intake.EvidenceIntake`) read it; none of
them changes it.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from tlkit.exercises import EXERCISE_MODULES
from tlkit.instructor import kernel_side
from tlkit.instructor.intake import MAX_SUBMISSION_BYTES
from tlkit.instructor.manifest import build_manifest
from tlkit.instructor.notebooks import ensure_cell_ids, read_notebook
from tlkit.instructor.preparation import GradingError
from tlkit.paths import REPO_ROOT
from tlkit.instructor.sandbox import Limits

__all__ = ["CORE_WATCHED_MODULES", "GradingSetup"]

#: Modules whose code a submission must not change while it runs (the exercise modules are added).
CORE_WATCHED_MODULES = (
    "tlkit.exercises", "tlkit.exercises.core", "tlkit.exercises.predicates", "tlkit.exercises.compile_state",
    "tlkit.gradebook", "tlkit.gradebook.book", "tlkit.gradebook.spool", "tlkit.gradebook.student_id",
    "tlkit.keras_internals",
)


@dataclass(frozen=True)
class GradingSetup:
    """The settings every submission of one source notebook is graded with.

    Build it with :meth:`from_source`.

    Attributes
    ----------
    source_path : pathlib.Path
        The instructor's notebook, with solutions (and hidden tests).
    source : nbformat.NotebookNode
        That notebook, read, every cell with an id.
    manifest : dict
        The notebook's entry of the release's ``MANIFEST.json``.
    assignment : str
        The assignment's name (from the manifest).
    work_folder : pathlib.Path
        Where executed notebooks, evidence, feedback and CSV files go.
    cell_timeout, timeout : float
        Seconds one cell, and one whole submission, may run.
    watch_gradebooks : list of pathlib.Path
        Gradebooks no submission may write to (hidden and checked for changes).
    module_paths : list of str
        Folders on the kernel's and the checker's ``PYTHONPATH``: the source
        notebook's folder (exercise modules) and the one holding ``tlkit``.
    use_sandbox : bool
        Whether submissions and the checker run in a bubblewrap sandbox.
    limits : Limits
        Resource limits of each sandbox.
    watched_modules : list of str
        Modules whose code is snapshotted in the kernel and compared.
    points : dict
        Question -> points it is worth, in the manifest's order.
    kernel_code : str
        The source of :mod:`tlkit.instructor.kernel_side`, pasted into the grader's cells.
    max_submission_bytes : int
        The largest submitted notebook read.
    threads : int or None
        Compute threads per kernel; None shares the cores among the workers.
    """

    source_path: pathlib.Path
    source: object
    manifest: dict
    assignment: str
    work_folder: pathlib.Path
    cell_timeout: float
    timeout: float
    watch_gradebooks: list
    module_paths: list
    use_sandbox: bool
    limits: Limits
    watched_modules: list
    points: dict
    kernel_code: str
    max_submission_bytes: int = MAX_SUBMISSION_BYTES
    threads: int | None = None

    @classmethod
    def from_source(cls, source, work_folder, cell_timeout: float = 120, timeout: float = 1800, manifest=None,
                    watch_gradebooks=(), sandbox: bool = True, limits: Limits | None = None,
                    threads: int | None = None) -> "GradingSetup":
        """Read the source notebook and decide the settings (see :class:`tlkit.instructor.grade.Grader`).

        Raises
        ------
        GradingError
            If the source notebook binds no exercises or has no questions.
        """
        source_path = pathlib.Path(source).resolve()
        notebook = read_notebook(source_path)
        ensure_cell_ids(notebook)
        manifest = manifest or build_manifest(notebook, source_path.name)
        if not manifest.get("exercise_module"):
            raise GradingError(f"{source_path.name}: no setup cell binds exercises, so there is nothing to grade")
        if not manifest["questions"]:
            raise GradingError(f"{source_path.name}: no questions found (no solution regions or checks)")
        timeout = float(timeout)
        watched = list(CORE_WATCHED_MODULES) + [f"tlkit.exercises.{name}" for name in EXERCISE_MODULES]
        if manifest["exercise_module"] not in watched:
            watched.append(manifest["exercise_module"])
        return cls(
            source_path=source_path,
            source=notebook,
            manifest=manifest,
            assignment=manifest["assignment"],
            work_folder=pathlib.Path(work_folder).resolve(),
            cell_timeout=float(cell_timeout),
            timeout=timeout,
            watch_gradebooks=[pathlib.Path(path) for path in watch_gradebooks],
            module_paths=[str(source_path.parent), str(REPO_ROOT)],
            use_sandbox=bool(sandbox),
            limits=limits or Limits(cpu_seconds=int(max(60.0, 2 * timeout))),
            watched_modules=watched,
            points={question: 1.0 for question in manifest["questions"]},
            kernel_code=pathlib.Path(kernel_side.__file__).read_text(encoding="utf-8"),
            threads=int(threads) if threads else None,
        )
