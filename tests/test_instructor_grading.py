"""Grading end to end on a tiny assignment: right, blank, mistaken, tampered, crashing, looping, broken.

All submissions are graded in ONE batch (one kernel each, one checker
process), so that the file stays fast; each test then reads its part.
"""

from __future__ import annotations

import csv
import shutil

import nbformat
import pytest

from instructor_submissions import (
    MISTAKES_FREEZE_STALE_UNFREEZE,
    MISTAKES_HEAD_BATCHNORM_LEARNING_RATE,
    SOURCE,
    TAMPER_GRADEBOOK_MODULES_SAVING_LOOP,
    TAMPER_SCOPED_AND_CRASH,
    TAMPER_SCOPED_LOCKED_EDIT,
    make_submission,
    read_release,
    write_submission,
)
from tlkit.gradebook import Gradebook
from tlkit.instructor.grade import Grader, collect_submissions
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.report import feedback_markdown, record_grades, write_feedback, write_grades_csv

pytestmark = pytest.mark.timeout(900)

CELL_TIMEOUT = 45  # generous: the setup cell imports TensorFlow on a shared, busy machine


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    release = root / "release"
    release_notebooks([SOURCE], release)
    submissions = root / "submissions"
    shutil.copy(SOURCE, write_submission(submissions, "instructor", nbformat.read(str(SOURCE), as_version=4)))
    write_submission(submissions, "blank", read_release(release))
    write_submission(submissions, "mistakes-a", make_submission(release, MISTAKES_HEAD_BATCHNORM_LEARNING_RATE))
    write_submission(submissions, "mistakes-b", make_submission(release, MISTAKES_FREEZE_STALE_UNFREEZE))
    write_submission(submissions, "tamper-a",
                     make_submission(release, TAMPER_SCOPED_AND_CRASH, locked_edits=TAMPER_SCOPED_LOCKED_EDIT))
    write_submission(submissions, "tamper-b", make_submission(release, TAMPER_GRADEBOOK_MODULES_SAVING_LOOP))
    (submissions / "malformed").mkdir()
    (submissions / "malformed" / SOURCE.name).write_text('{"cells": [', encoding="utf-8")
    (submissions / "absent").mkdir()
    instructor_book = Gradebook(root / "instructor.sqlite3")
    grader = Grader(SOURCE, root / "work", cell_timeout=CELL_TIMEOUT, timeout=600,
                    watch_gradebooks=[instructor_book.path])
    grades = grader.grade(collect_submissions(submissions, SOURCE.name), workers=2)
    record_grades(grades, instructor_book)
    return {"grades": {grade.student_id: grade for grade in grades}, "root": root, "book": instructor_book}


def scores(grade) -> dict:
    return {question.question: question.score for question in grade.questions}


def flags_text(grade) -> str:
    return "\n".join(grade.all_flags())


def test_the_source_notebook_grades_full_marks(graded):
    grade = graded["grades"]["instructor"]
    assert scores(grade) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1}, feedback_markdown(grade)
    assert not grade.flagged, grade.all_flags()


def test_the_untouched_release_grades_zero_without_flags(graded):
    grade = graded["grades"]["blank"]
    assert grade.score == 0 and grade.max_score == 5
    assert not grade.flagged, grade.all_flags()
    assert grade.question("q2").status == "not_attempted"


def test_mistakes_get_partial_scores_and_targeted_feedback(graded):
    first = graded["grades"]["mistakes-a"]
    assert scores(first) == {"q1": 1, "q2": 0, "q3": 1, "q4": 0, "q5": 0}, feedback_markdown(first)
    assert "10 units" in first.question("q2").message and "5 classes" in first.question("q2").message
    assert "BatchNormalization" in first.question("q4").message and "bn" in first.question("q4").message
    assert "learning rate" in first.question("q5").message and "0.01" in first.question("q5").message
    second = graded["grades"]["mistakes-b"]
    assert scores(second) == {"q1": 0, "q2": 0, "q3": 0, "q4": 1, "q5": 0}, feedback_markdown(second)
    assert "still has" in second.question("q1").message and "trainable" in second.question("q1").message
    assert "not compiled again" in second.question("q3").message
    assert "no layer of `base` is trainable" in second.question("q5").message
    assert not first.flagged and not second.flagged, (first.all_flags(), second.all_flags())


def test_tampering_voids_only_the_tampered_questions_and_is_flagged(graded):
    grade = graded["grades"]["tamper-a"]
    assert scores(grade) == {"q1": 0, "q2": 0, "q3": 0, "q4": 1, "q5": 0}, feedback_markdown(grade)
    q1, q2, q3 = (grade.question(name) for name in ("q1", "q2", "q3"))
    assert any("replaces a method of a tlkit check" in flag for flag in q1.flags), q1.flags
    assert any("q1 attributes" in flag for flag in q1.flags), q1.flags  # seen in the kernel, not only in code
    assert any("prints a fake check result" in flag for flag in q2.flags), q2.flags
    assert any("displays 'Correct' outside a check cell" in flag for flag in q2.flags), q2.flags
    assert any("was edited (checksum mismatch)" in flag for flag in q3.flags), q3.flags
    assert not grade.question("q4").flags and not grade.flags


def test_tampering_with_the_gradebook_modules_and_saving_voids_the_attempt(graded):
    grade = graded["grades"]["tamper-b"]
    assert grade.score == 0
    text = flags_text(grade)
    assert "writes to or opens the gradebook" in text
    assert "check records but the notebook has only" in text  # the decoy gradebook caught the extra row
    assert "changes sys.modules" in text and "tlkit.exercises.predicates" in text
    assert "patches tlkit's exercise engine" in text and "tlkit.exercises.core.Question._evaluate" in text
    assert "replaces a saving function" in text and "keras:saving.save_model" in text


def test_a_crash_and_an_endless_loop_are_recorded_and_grading_goes_on(graded):
    crashed = graded["grades"]["tamper-a"]
    assert any("kernel died" in note for note in crashed.notes), crashed.notes
    assert "no evidence" in crashed.question("q5").message
    looping = graded["grades"]["tamper-b"]
    assert any(f"ran longer than {CELL_TIMEOUT}" in note for note in looping.notes), looping.notes
    assert graded["grades"]["mistakes-b"].question("q4").score == 1  # graded after both


def test_malformed_and_missing_submissions_score_zero_with_a_reason(graded):
    malformed = graded["grades"]["malformed"]
    assert malformed.score == 0 and "not a readable notebook" in malformed.problem
    absent = graded["grades"]["absent"]
    assert absent.score == 0 and "was not found" in absent.problem


def test_grades_reach_the_gradebook_csv_and_feedback(graded, tmp_path):
    book = graded["book"]
    rows = book.grades("tiny_course")
    assert len(rows) == 8 * 5
    instructor_rows = [row for row in rows if row["student_id"] == "instructor"]
    assert sum(row["score"] for row in instructor_rows) == 5 and not any(row["flagged"] for row in instructor_rows)
    assert any(row["flagged"] and row["flags"] for row in rows if row["student_id"] == "tamper-b")
    exported = book.export_csv(tmp_path / "grades.csv", kind="grades")
    with open(exported, newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 40
    grades = list(graded["grades"].values())
    with open(write_grades_csv(grades, tmp_path / "wide.csv"), newline="", encoding="utf-8") as handle:
        wide = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert wide["instructor"]["total"] == "5" and wide["mistakes-a"]["q2"] == "0" and wide["tamper-b"]["flagged"] == "true"
    paths = write_feedback(grades, tmp_path / "feedback")
    text = (tmp_path / "feedback" / "mistakes-a" / "tiny_course-feedback.md").read_text(encoding="utf-8")
    assert len(paths) == 8 and "| q2 | 0 / 1 | Incorrect |" in text and "10 units" in text


def test_a_notebook_that_ignores_interrupts_is_killed_at_the_overall_timeout(tmp_path):
    import os

    grader = Grader(SOURCE, tmp_path / "work", cell_timeout=2, timeout=8)
    stubborn = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.2)")])
    status, _ = grader._run(stubborn, tmp_path / "run", "stubborn")
    assert status["status"] == "timeout" and "ran longer than 8 s" in status["message"]
    pid_file = tmp_path / "run" / "kernel.pid"
    if pid_file.is_file():  # the kernel was killed with the runner
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(int(pid_file.read_text()), 0)
                import time

                time.sleep(0.1)
