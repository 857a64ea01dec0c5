"""Grading end to end on a tiny assignment: right, blank, mistaken, tampered, hostile, crashing, looping, broken.

All submissions are graded in ONE batch (one sandboxed kernel and one
sandboxed checker each), so that the file stays fast; each test then reads
its part. The sandbox needs bubblewrap: without it these tests skip on a
laptop and FAIL in CI (``CI`` set), where skipped counts as failed.
"""

from __future__ import annotations

import csv
import hashlib
import os
import pathlib
import shutil
import time

import nbformat
import pytest

from instructor_submissions import (
    CRASH,
    ENDLESS_LOOP,
    HOSTILE_MARKER,
    HOSTILE_PATCHED_SERIALIZATION,
    MISTAKES,
    SOURCE,
    TAMPERS,
    hostile_escape,
    hostile_late_evidence,
    make_submission,
    read_release,
    write_submission,
)
from tlkit.gradebook import Gradebook
from tlkit.instructor import sandbox
from tlkit.instructor.grade import Grader, SandboxUnavailableError, collect_submissions
from tlkit.paths import REPO_ROOT
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.report import feedback_markdown, record_grades, write_feedback, write_grades_csv



def load_factor() -> float:
    """How much slower than a quiet machine this one is now: the load average per core, at least 1 (at most 8)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1.0
    return min(8.0, max(1.0, load / max(1, os.cpu_count() or 1)))


# Hang guards, not speed tests: scaled by the machine's load so that only a real hang trips them. The grader's
# first cell (importing TensorFlow) has an allowance of its own, so student cells need little.
LOAD_FACTOR = load_factor()
CELL_TIMEOUT = int(45 * LOAD_FACTOR)
GRADING_TIMEOUT = int(1800 * LOAD_FACTOR)
pytestmark = pytest.mark.timeout(GRADING_TIMEOUT)


def require_bwrap() -> None:
    """Skip without bubblewrap, except in CI, where a skip would hide a broken sandbox: fail instead."""
    if sandbox.find_bwrap() is None:
        message = "bubblewrap (bwrap) is not installed: the grading sandbox cannot run"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI must run the sandbox tests, never skip them)")
        pytest.skip(message)


def digest(path: pathlib.Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def processes_with(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = pathlib.Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            if marker in command and "pytest" not in command:
                found.append(f"{entry}: {command[:200]}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_bwrap()
    root = tmp_path_factory.mktemp("grading")
    release = root / "release"
    release_notebooks([SOURCE], release)
    submissions = root / "submissions"
    work = root / "work"
    instructor_book = Gradebook(root / "instructor.sqlite3")
    instructor_book.record_check("earlier-student", "tiny_course", "q1", "correct", "recorded before grading")
    exported = instructor_book.export_csv(root / "exported-before.csv", kind="checks")
    targets = {"neighbour": work / "runs" / "instructor", "work": work, "tlkit": REPO_ROOT / "tlkit",
               "checker": REPO_ROOT / "tlkit" / "instructor" / "checker.py", "gradebook": instructor_book.path,
               "spool": instructor_book.spool_path, "csv": exported}
    before = {name: digest(pathlib.Path(path)) for name, path in targets.items()}
    shutil.copy(SOURCE, write_submission(submissions, "instructor", nbformat.read(str(SOURCE), as_version=4)))
    write_submission(submissions, "blank", read_release(release))
    for name, (answers, _, _) in MISTAKES.items():
        write_submission(submissions, f"mistake-{name}", make_submission(release, answers))
    for name, (answers, locked_edits, _, _) in TAMPERS.items():
        write_submission(submissions, f"tamper-{name}", make_submission(release, answers, locked_edits=locked_edits))
    write_submission(submissions, "hostile-escape", make_submission(release, hostile_escape(targets)))
    late_file = work / "runs" / "hostile-late-evidence" / "evidence" / "q2" / "evidence.json"
    write_submission(submissions, "hostile-late-evidence", make_submission(release, hostile_late_evidence(late_file)))
    write_submission(submissions, "hostile-patched-serialization", make_submission(release, HOSTILE_PATCHED_SERIALIZATION))
    write_submission(submissions, "crash", make_submission(release, CRASH))
    write_submission(submissions, "endless-loop", make_submission(release, ENDLESS_LOOP))
    (submissions / "malformed").mkdir()
    (submissions / "malformed" / SOURCE.name).write_text('{"cells": [', encoding="utf-8")
    (submissions / "absent").mkdir()
    grader = Grader(SOURCE, work, cell_timeout=CELL_TIMEOUT, timeout=GRADING_TIMEOUT // 3,
                    watch_gradebooks=[instructor_book.path])
    grades = grader.grade(collect_submissions(submissions, SOURCE.name), workers=2)
    after_grading = {name: digest(pathlib.Path(path)) for name, path in targets.items()}
    record_grades(grades, instructor_book)
    return {"grades": {grade.student_id: grade for grade in grades}, "root": root, "book": instructor_book,
            "work": work, "targets": targets, "before": before, "after_grading": after_grading}
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


def test_a_notebook_that_ignores_interrupts_is_killed_at_the_overall_timeout_with_all_it_started(tmp_path):
    require_bwrap()
    marker = "tlkit-stubborn-marker"
    grader = Grader(SOURCE, tmp_path / "work", cell_timeout=2, timeout=8)
    stubborn = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import signal, subprocess, time\n"
        f"subprocess.Popen(['sh', '-c', '(setsid sh -c \"sleep 120; : {marker}\" &)'])\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.2)")])
    status, _ = grader.processes.run(stubborn, tmp_path / "run", "stubborn")
    assert status["status"] == "timeout" and "ran longer than 8 s" in status["message"]
    for _ in range(50):
        if not processes_with(marker):
            break
        time.sleep(0.1)
    assert not processes_with(marker), "a process started by the notebook outlived its sandbox"


def attempts(graded, student: str) -> dict:
    executed = nbformat.read(str(graded["work"] / "runs" / student / "executed.ipynb"), as_version=4)
    text = "\n".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", [])
                     if output.get("output_type") == "stream")
    found = {}
    for line in text.splitlines():
        if line.startswith("ATTEMPT "):
            name, _, outcome = line[len("ATTEMPT "):].partition(": ")
            found[name] = outcome
        elif line.startswith(("PROC ", "ENV ", "LATE ")):
            key, _, value = line.partition(":") if line.startswith(("PROC", "LATE")) else line.rpartition(" ")
            found[key.strip()] = value.strip()
    return found


def test_a_submission_cannot_write_into_its_neighbours_or_the_batch_folder(graded):
    seen = attempts(graded, "hostile-escape")
    assert seen["neighbour"].startswith(("blocked", "done")), seen  # "done" only into its private, empty view
    planted = [str(path) for path in graded["root"].rglob(f"*{HOSTILE_MARKER}*")]
    assert not planted, f"files planted outside the submission's folder: {planted}"
    assert not (graded["targets"]["neighbour"] / HOSTILE_MARKER).exists()
    neighbour = graded["grades"]["instructor"]
    assert neighbour.score == 5 and not neighbour.flagged, neighbour.all_flags()


def test_a_submission_cannot_modify_tlkit_on_disk(graded):
    seen = attempts(graded, "hostile-escape")
    assert seen["tlkit-source"].startswith("blocked") and seen["tlkit-checker"].startswith("blocked"), seen
    assert not list((REPO_ROOT / "tlkit").rglob(f"*{HOSTILE_MARKER}*"))
    assert graded["after_grading"]["checker"] == graded["before"]["checker"]


def test_a_submission_cannot_reach_the_gradebook_its_spool_or_the_grader(graded):
    seen = attempts(graded, "hostile-escape")
    assert seen["PROC grader visible"] == "False", seen  # its own PID namespace: no grader command line
    assert seen["ENV TLKIT_GRADEBOOK"].endswith("/box/decoy/gradebook.sqlite3"), seen
    for name in ("gradebook", "spool", "csv"):
        assert graded["after_grading"][name] == graded["before"][name], f"{name} changed while grading"
    assert HOSTILE_MARKER.encode() not in graded["targets"]["gradebook"].read_bytes()
    grade = graded["grades"]["hostile-escape"]
    # the attacks sit in the q1 cell (with a right answer): q1 is flagged and scores 0, the rest is earned
    assert scores(grade) == {"q1": 0, "q2": 1, "q3": 1, "q4": 1, "q5": 1}, feedback_markdown(grade)
    assert "writes to or opens the gradebook" in "\n".join(grade.question("q1").flags)


def test_nothing_a_submission_started_survives_it(graded):
    time.sleep(4)  # longer than the detached child waits before it writes
    assert not processes_with(HOSTILE_MARKER)
    targets, before = graded["targets"], graded["before"]
    assert digest(targets["csv"]) == before["csv"]
    assert not targets["spool"].exists() or HOSTILE_MARKER.encode() not in targets["spool"].read_bytes()
    assert HOSTILE_MARKER.encode() not in targets["gradebook"].read_bytes()
    assert not list(graded["root"].rglob(f"*{HOSTILE_MARKER}*"))
    assert {row["student_id"] for row in graded["book"].check_results()} == {"earlier-student"}


def test_evidence_supplied_after_a_failed_check_scores_nothing_and_is_flagged(graded):
    grade = graded["grades"]["hostile-late-evidence"]
    q2 = grade.question("q2")
    assert q2.score == 0 and q2.status == "incorrect", feedback_markdown(grade)
    text = flags_text(grade)
    assert "displays output in the grader's evidence format" in text, text
    assert scores(grade) == {"q1": 1, "q2": 0, "q3": 0, "q4": 1, "q5": 1}, feedback_markdown(grade)


def test_a_patched_serialization_method_is_flagged_and_gains_nothing(graded):
    grade = graded["grades"]["hostile-patched-serialization"]
    assert scores(grade) == {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0}, feedback_markdown(grade)
    flags = grade.question("q1").flags
    assert any("code in the kernel was changed after the notebook started" in flag
               and "keras.src.layers.layer" in flag for flag in flags), flags
    assert "said Incorrect" in grade.question("q1").message or grade.question("q1").status != "correct"


def test_grading_refuses_to_run_without_bubblewrap_unless_told_so(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(SandboxUnavailableError, match="--no-sandbox"):
        Grader(SOURCE, tmp_path / "work")
    with pytest.warns(UserWarning, match="WITHOUT a sandbox"):
        Grader(SOURCE, tmp_path / "work", sandbox=False)


def test_the_command_line_has_an_explicit_unsafe_no_sandbox_switch():
    from tlkit.instructor.cli import build_parser

    parsed = build_parser().parse_args(["grade", str(SOURCE), "--submissions", "s", "--out", "o", "--no-sandbox"])
    assert parsed.no_sandbox is True
    assert build_parser().parse_args(["grade", str(SOURCE), "--submissions", "s", "--out", "o"]).no_sandbox is False
