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
    CRASH,
    ENDLESS_LOOP,
    MISTAKES,
    SOURCE,
    TAMPERS,
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
    for name, (answers, _, _) in MISTAKES.items():
        write_submission(submissions, f"mistake-{name}", make_submission(release, answers))
    for name, (answers, locked_edits, _, _) in TAMPERS.items():
        write_submission(submissions, f"tamper-{name}", make_submission(release, answers, locked_edits=locked_edits))
    write_submission(submissions, "crash", make_submission(release, CRASH))
    write_submission(submissions, "endless-loop", make_submission(release, ENDLESS_LOOP))
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


@pytest.mark.parametrize("name", MISTAKES)
def test_each_mistake_gets_its_partial_score_and_targeted_feedback(graded, name):
    _, expected_scores, expected_words = MISTAKES[name]
    grade = graded["grades"][f"mistake-{name}"]
    assert scores(grade) == expected_scores, feedback_markdown(grade)
    for question, words in expected_words.items():
        message = grade.question(question).message
        for word in words:
            assert word in message, f"{name}/{question}: {word!r} not in {message!r}"
    assert not grade.flagged, grade.all_flags()


@pytest.mark.parametrize("name", TAMPERS)
def test_each_tampering_attempt_gains_nothing_and_is_flagged(graded, name):
    _, _, expected_scores, expected_flags = TAMPERS[name]
    grade = graded["grades"][f"tamper-{name}"]
    assert scores(grade) == expected_scores, feedback_markdown(grade)
    assert grade.flagged
    text = flags_text(grade)
    for words in expected_flags:
        assert words in text, f"{name}: {words!r} not among the flags:\n{text}"


def test_scoped_tampering_leaves_the_other_questions_unflagged(graded):
    grade = graded["grades"]["tamper-edits-a-locked-cell"]
    assert grade.question("q3").flags and not grade.question("q4").flags and not grade.flags


def test_a_crash_and_an_endless_loop_are_recorded_and_grading_goes_on(graded):
    crashed = graded["grades"]["crash"]
    assert any("kernel died" in note for note in crashed.notes), crashed.notes
    assert "no evidence" in crashed.question("q5").message
    assert scores(crashed) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0}
    looping = graded["grades"]["endless-loop"]
    assert any(f"ran longer than {CELL_TIMEOUT}" in note for note in looping.notes), looping.notes
    assert scores(looping) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0}


def test_malformed_and_missing_submissions_score_zero_with_a_reason(graded):
    malformed = graded["grades"]["malformed"]
    assert malformed.score == 0 and "not a readable notebook" in malformed.problem
    absent = graded["grades"]["absent"]
    assert absent.score == 0 and "was not found" in absent.problem


def test_grades_reach_the_gradebook_csv_and_feedback(graded, tmp_path):
    book = graded["book"]
    rows = book.grades("tiny_course")
    graded_students = len(graded["grades"])
    assert len(rows) == graded_students * 5
    instructor_rows = [row for row in rows if row["student_id"] == "instructor"]
    assert sum(row["score"] for row in instructor_rows) == 5 and not any(row["flagged"] for row in instructor_rows)
    assert any(row["flagged"] and row["flags"] for row in rows if row["student_id"] == "tamper-writes-the-gradebook")
    exported = book.export_csv(tmp_path / "grades.csv", kind="grades")
    with open(exported, newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == graded_students * 5
    grades = list(graded["grades"].values())
    with open(write_grades_csv(grades, tmp_path / "wide.csv"), newline="", encoding="utf-8") as handle:
        wide = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert wide["instructor"]["total"] == "5" and wide["mistake-wrong-head-size"]["q2"] == "0"
    assert wide["tamper-writes-the-gradebook"]["flagged"] == "true"
    paths = write_feedback(grades, tmp_path / "feedback")
    text = (tmp_path / "feedback" / "mistake-wrong-head-size" / "tiny_course-feedback.md").read_text(encoding="utf-8")
    assert len(paths) == graded_students and "| q2 | 0 / 1 | Incorrect |" in text and "10 units" in text


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
