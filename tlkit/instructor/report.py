"""Where grades go: the SQLite gradebook, a CSV file for any LMS, and one feedback file per student."""

from __future__ import annotations

import csv
import pathlib

from tlkit.gradebook import Gradebook

__all__ = ["feedback_markdown", "record_grades", "write_feedback", "write_grades_csv"]

_STATUS_WORDS = {"correct": "Correct", "incorrect": "Incorrect", "not_attempted": "Not attempted",
                 "not_graded": "Not graded"}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def feedback_markdown(grade) -> str:
    """The Markdown feedback report of one graded submission: per question, the score and the check's message."""
    lines = [f"# Feedback: {grade.assignment}", "", f"Student: `{grade.student_id}`  ",
             f"Score: **{grade.score:g} / {grade.max_score:g}**", ""]
    if grade.problem:
        lines += [f"**This submission could not be graded:** {grade.problem}", ""]
    lines += ["| Question | Score | Result | Feedback |", "|---|---|---|---|"]
    for question in grade.questions:
        lines.append(f"| {question.question} | {question.score:g} / {question.max_score:g} | "
                     f"{_STATUS_WORDS.get(question.status, question.status)} | {_cell(question.message)} |")
    if grade.notes:
        lines += ["", "## How your notebook ran", ""] + [f"- {note}" for note in grade.notes]
    flags = grade.all_flags()
    if flags:
        lines += ["", "## Flagged for review by the instructor", ""] + [f"- {flag}" for flag in flags]
    return "\n".join(lines) + "\n"


def write_feedback(grades, folder) -> list[pathlib.Path]:
    """Write ``<folder>/<student>/<assignment>-feedback.md`` for each grade; return the paths."""
    written = []
    for grade in grades:
        path = pathlib.Path(folder) / grade.student_id / f"{grade.assignment}-feedback.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback_markdown(grade), encoding="utf-8")
        written.append(path)
    return written


RUN_COLUMNS = ("manifest_sha256", "shard", "roster_sha256")


def write_grades_csv(grades, path, run=None) -> pathlib.Path:
    """One row per student: id, assignment, each question's score, total, maximum, flagged, flags, problem.

    With ``run`` (a :class:`tlkit.instructor.parallel.GradingRun`) every row also
    says which manifest (SHA-256) and which shard (``I/N``) of which roster
    (SHA-256 of the sorted student ids) graded it, so ``python -m tlkit
    gradebook merge`` can check shards' CSV files before combining them.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    questions = list(dict.fromkeys(q.question for grade in grades for q in grade.questions))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        extra = list(RUN_COLUMNS) if run is not None else []
        writer.writerow(["student_id", "assignment", *questions, "total", "max_total", "flagged", "flags", "problem",
                         *extra])
        provenance = [run.manifest_sha256, str(run.shard), run.roster_sha256] if run is not None else []
        for grade in grades:
            scores = {q.question: f"{q.score:g}" for q in grade.questions}
            writer.writerow([grade.student_id, grade.assignment, *[scores.get(q, "") for q in questions],
                             f"{grade.score:g}", f"{grade.max_score:g}", str(grade.flagged).lower(),
                             " | ".join(grade.all_flags()), grade.problem or "", *provenance])
    return path


def record_grades(grades, gradebook: Gradebook | None = None, run=None) -> Gradebook:
    """Record every question's grade with :meth:`Gradebook.record_grade`; return the gradebook.

    With ``run`` (a :class:`tlkit.instructor.parallel.GradingRun`), also record
    the run itself (manifest SHA-256, shard, roster) after the grades.
    """
    gradebook = gradebook if gradebook is not None else Gradebook()
    for grade in grades:
        for question in grade.questions:
            flags = list(grade.flags) + list(question.flags)
            if grade.problem and not flags:
                message = grade.problem
            else:
                message = question.message
            gradebook.record_grade(grade.student_id, grade.assignment, question.question, question.score,
                                   question.max_score, message, flags)
    if run is not None:
        gradebook.record_grading_run(run.assignment, run.manifest_sha256, run.shard.index, run.shard.count,
                                     run.roster, run.students)
    return gradebook
