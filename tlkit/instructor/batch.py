"""One ``python -m tlkit grade`` run: which submissions, which shard, how many workers, which gradebook.

:class:`GradingBatch` owns what the command line decides: it collects the
submissions (each named by its student id), plans the shard
(:class:`tlkit.instructor.parallel.GradingRun`), checks that the workers fit
in memory, grades with a :class:`tlkit.instructor.grade.Grader`, and records
the grades: in the instructor's gradebook for a whole batch, or in a
gradebook of the shard's own, written aside and renamed into place, for
``--shard``. It then writes the feedback and the CSV file.
"""

from __future__ import annotations

import os
import pathlib
import sys
import warnings
from dataclasses import dataclass

from tlkit.errors import TlkitError
from tlkit.gradebook import Gradebook
from tlkit.instructor.grade import Grader, SubmissionGrade, collect_submissions
from tlkit.instructor.manifest import load_manifest
from tlkit.instructor.parallel import WORKER_MEMORY_BYTES, GradingRun, Shard, check_worker_memory, parse_shard
from tlkit.instructor.report import record_grades, write_feedback, write_grades_csv
from tlkit.instructor.sandbox import NO_SANDBOX_WARNING
from tlkit.instructor.sqlite_files import journal_files, partial_path, remove_existing

__all__ = ["BatchResult", "GradingBatch", "check_shard_gradebook", "write_shard_gradebook"]


@dataclass
class BatchResult:
    """What a :class:`GradingBatch` graded and wrote.

    Attributes
    ----------
    grades : list of SubmissionGrade
        One per student of the shard, sorted by student id.
    run : GradingRun
        The shard's plan: manifest, roster and students.
    csv_path, feedback_folder, gradebook_path : pathlib.Path
        Where the grades, the feedback files and the gradebook went.
    """

    grades: list
    run: GradingRun
    csv_path: pathlib.Path
    feedback_folder: pathlib.Path
    gradebook_path: pathlib.Path


def check_shard_gradebook(path: pathlib.Path, assignment: str, shard: Shard) -> None:
    """A shard writes its own gradebook: refuse an existing file unless it is an earlier attempt at this shard.

    Raises
    ------
    TlkitError
        If ``path`` exists and holds anything but this shard's grades of ``assignment``.
    """
    if not path.exists():
        return
    book = Gradebook(path)
    runs = book.grading_runs()
    same = runs and all(run["assignment"] == assignment and (run["shard_index"], run["shard_count"]) ==
                        (shard.index, shard.count) for run in runs)
    if not same or book.check_results() or book.quiz_answers() or any(
            row["assignment"] != assignment for row in book.grades()):
        raise TlkitError(f"{path} already exists and is not an earlier run of shard {shard} of {assignment}: with "
                         "--shard, give each shard a gradebook of its own (e.g. grading/shard-$I.sqlite3), "
                         "then combine them with `python -m tlkit gradebook merge`")


def write_shard_gradebook(grades, path: pathlib.Path, run: GradingRun) -> None:
    """Record a shard's grades in a new file beside ``path``, then rename it into place (a retry replaces it).

    The file is compacted (:meth:`Gradebook.compact`) into one self-contained
    file before the rename, safe to copy to the machine that merges the shards.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    try:
        book = record_grades(grades, Gradebook(partial, spool_path=partial.with_name(partial.name + ".spool")), run)
        book.compact()
        remove_existing(journal_files(path))
        os.replace(partial, path)
    finally:
        remove_existing([partial, *journal_files(partial)])


class GradingBatch:
    """Grade the collected submissions of one notebook (or one shard of them) and record the grades.

    Parameters
    ----------
    source : path
        The source notebook, with solutions.
    submissions : path
        The folder of ``<student>/<notebook>.ipynb`` or ``<student>.ipynb`` files.
    out : path
        The folder for feedback, CSV and the grader's working files.
    gradebook : path, optional
        The gradebook to record in (default: ``$TLKIT_GRADEBOOK`` or the user's data folder).
    manifest : path, optional
        The release's ``MANIFEST.json`` (default: rebuilt from the source).
    shard : str, optional
        ``"I/N"``: grade only shard I of N; needs a ``gradebook`` of its own.
    workers : int, default 1
        Submissions graded at the same time.
    memory_per_worker : float, optional
        Gigabytes one worker needs (default :data:`~tlkit.instructor.parallel.WORKER_MEMORY_BYTES`).
    cell_timeout, timeout : float
        Seconds per cell and per submission.
    threads : int, optional
        Compute threads per kernel (default: cores // workers).
    sandbox : bool, default True
        False runs submissions without the bubblewrap sandbox (unsafe).

    Raises
    ------
    TlkitError
        When the options do not fit together (a shard without a gradebook, too
        many workers for the memory, a manifest without this notebook).
    """

    def __init__(self, source, submissions, out, gradebook=None, manifest=None, shard: str | None = None,
                 workers: int = 1, memory_per_worker: float | None = None, cell_timeout: float = 120.0,
                 timeout: float = 1800.0, threads: int | None = None, sandbox: bool = True):
        self.shard = parse_shard(shard) if shard else None
        if self.shard is not None and not gradebook:
            raise TlkitError("--shard needs --gradebook: each shard writes a gradebook of its own "
                             "(e.g. --gradebook grading/shard-$I.sqlite3)")
        per_worker = int(memory_per_worker * 1024 ** 3) if memory_per_worker else WORKER_MEMORY_BYTES
        check_worker_memory(workers, per_worker)
        self.workers = workers
        self.source = pathlib.Path(source)
        self.manifest = None
        if manifest:
            whole = load_manifest(manifest)
            self.manifest = whole.get("notebooks", {}).get(self.source.name) if "notebooks" in whole else whole
            if self.manifest is None:
                raise TlkitError(f"manifest {manifest} has no entry for {self.source.name}")
        self.gradebook = Gradebook(gradebook)
        self.submissions = submissions
        self.out = pathlib.Path(out)
        self.cell_timeout, self.timeout, self.threads, self.sandbox = cell_timeout, timeout, threads, sandbox

    def grader(self) -> Grader:
        """The grader of the source notebook (it keeps submissions away from the instructor's gradebook)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return Grader(self.source, self.out, cell_timeout=self.cell_timeout, timeout=self.timeout,
                          manifest=self.manifest, watch_gradebooks=[self.gradebook.path], sandbox=self.sandbox,
                          threads=self.threads)

    def run(self, say=print) -> BatchResult | None:
        """Grade, record the grades, write feedback and the CSV file.

        Parameters
        ----------
        say : callable, default print
            Called with each progress line (the shard graded).

        Returns
        -------
        BatchResult or None
            None when the folder holds no submission of this notebook.
        """
        if not self.sandbox:
            print(f"WARNING: {NO_SANDBOX_WARNING}", file=sys.stderr)
        grader = self.grader()
        submissions = collect_submissions(self.submissions, self.source.name)  # keyed by student id
        if not submissions:
            return None
        run = GradingRun.plan(grader.assignment, grader.manifest, submissions, self.shard or Shard())
        if self.shard is not None:
            check_shard_gradebook(self.gradebook.path, grader.assignment, self.shard)
            say(f"shard {self.shard}: {len(run.students)} of {len(run.roster)} submission(s)")
        grades: list[SubmissionGrade] = grader.grade(
            {student: submissions[student] for student in run.students}, workers=self.workers,
            also_hide=list(submissions.values()))  # other shards' students stay hidden too
        grades.sort(key=lambda grade: grade.student_id)  # the same order whatever the workers and shards
        if self.shard is not None:
            write_shard_gradebook(grades, self.gradebook.path, run)
        else:
            record_grades(grades, self.gradebook, run)
        feedback = self.out / "feedback"
        write_feedback(grades, feedback)
        csv_path = write_grades_csv(grades, self.out / f"grades-{grader.assignment}.csv", run)
        return BatchResult(grades, run, csv_path, feedback, self.gradebook.path)
