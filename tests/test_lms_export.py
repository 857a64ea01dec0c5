"""`python -m tlkit gradebook export --format canvas|moodle`: the LMS import files have the documented columns.

Canvas's gradebook import reads the columns of Canvas's own gradebook export:
``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one
column per assignment (``Name`` creates an assignment, ``Name (id)`` updates
assignment ``id``), with an optional second row that starts ``Points
Possible``. Moodle's CSV grade import reads a header row, a column that
identifies the user (mapped on the import page to username, email address,
ID number or user id) and one column per grade item. The expected headers
below are written out literally, as those formats document them, not taken
from the module under test.
"""

from __future__ import annotations

import csv
import pathlib

import pytest

from tlkit.gradebook import Gradebook
from tlkit.instructor.cli import main
from tlkit.instructor.lms_export import LmsExportError, assignment_totals, write_lms_csv


def read_rows(path: pathlib.Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def book(tmp_path) -> Gradebook:
    """Three students, two notebooks; ben misses notebook 04; cy's 01 was regraded (the later grade counts)."""
    gradebook = Gradebook(tmp_path / "class.sqlite3")
    scores = {
        ("ada", "01_feature_extraction"): [1, 1, 1, 1],
        ("ben", "01_feature_extraction"): [1, 0, 1, 0.5],
        ("cy", "01_feature_extraction"): [0, 0, 0, 0],
        ("ada", "04_negative_transfer"): [1, 1, 1],
        ("cy", "04_negative_transfer"): [0, 1, 1],
    }
    for (student, assignment), points in scores.items():
        for number, score in enumerate(points, start=1):
            gradebook.record_grade(student, assignment, f"q{number}", score, 1.0, "", [])
    for number in range(1, 5):  # cy's 01 graded again, e.g. after a fixed submission
        gradebook.record_grade("cy", "01_feature_extraction", f"q{number}", 1.0 if number < 4 else 0.0, 1.0, "", [])
    return gradebook


def test_totals_take_the_latest_grade_of_each_question(book):
    totals, points = assignment_totals(book.grades())
    assert points == {"01_feature_extraction": 4.0, "04_negative_transfer": 3.0}
    assert totals == {"ada": {"01_feature_extraction": 4.0, "04_negative_transfer": 3.0},
                      "ben": {"01_feature_extraction": 2.5},
                      "cy": {"01_feature_extraction": 3.0, "04_negative_transfer": 2.0}}


def test_canvas_file_has_canvas_columns_points_possible_and_one_row_per_student(book, tmp_path, capsys):
    out = tmp_path / "canvas.csv"
    assert main(["gradebook", "export", "--format", "canvas", "--gradebook", str(book.path), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    rows = read_rows(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "01_feature_extraction", "04_negative_transfer"]
    assert rows[1] == ["Points Possible", "", "", "", "", "4", "3"]
    assert rows[2:] == [["", "", "", "ada", "", "4", "3"],
                        ["", "", "", "ben", "", "2.5", ""],  # no grade: an empty cell, which Canvas leaves alone
                        ["", "", "", "cy", "", "3", "2"]]


def test_canvas_columns_can_name_existing_assignments_and_another_identity(book, tmp_path):
    out = tmp_path / "canvas.csv"
    assert main(["gradebook", "export", "--format", "canvas", "--gradebook", str(book.path), "--out", str(out),
                 "--identify-by", "SIS User ID", "--assignment", "04_negative_transfer",
                 "--column", "04_negative_transfer=Notebook 4: negative transfer (12345)"]) == 0
    rows = read_rows(out)
    assert rows[0][5:] == ["Notebook 4: negative transfer (12345)"]
    assert [row[:5] for row in rows[2:]] == [["", "", "ada", "", ""], ["", "", "cy", "", ""]]


def test_moodle_file_has_an_identifier_column_and_one_column_per_grade_item(book, tmp_path):
    out = tmp_path / "moodle.csv"
    assert main(["gradebook", "export", "--format", "moodle", "--gradebook", str(book.path), "--out", str(out)]) == 0
    assert read_rows(out) == [["Username", "01_feature_extraction", "04_negative_transfer"],
                              ["ada", "4", "3"], ["ben", "2.5", ""], ["cy", "3", "2"]]
    write_lms_csv(book.grades(), out, "moodle", identify_by="email")
    assert read_rows(out)[0][0] == "Email address"
    write_lms_csv(book.grades(), out, "moodle", identify_by="idnumber")
    assert read_rows(out)[0][0] == "ID number"


def test_bad_export_requests_get_one_clear_message(book, tmp_path, capsys):
    out = tmp_path / "x.csv"
    cases = [
        (["--format", "canvas", "--identify-by", "email"], "Canvas identifies students by one of"),
        (["--format", "moodle", "--identify-by", "SIS Login ID"], "Moodle maps users by"),
        (["--format", "moodle", "--column", "nonsense"], "write ASSIGNMENT=COLUMN"),
        (["--format", "canvas", "--column", "99_missing=X"], "no grades for: 99_missing"),
        (["--format", "canvas", "--assignment", "99_missing"], "no grades for 99_missing"),
        (["--format", "canvas", "--kind", "quiz"], "exports grades only"),
        (["--identify-by", "username"], "go with --format canvas or moodle"),
    ]
    for extra, message in cases:
        assert main(["gradebook", "export", "--gradebook", str(book.path), "--out", str(out), *extra]) == 1, extra
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error, (extra, error)
    assert not out.exists()
    with pytest.raises(LmsExportError, match="holds no grades"):
        write_lms_csv([], out, "canvas")
    with pytest.raises(LmsExportError, match="unknown LMS format"):
        write_lms_csv(book.grades(), out, "blackboard")


def test_the_worked_example_in_the_docs_is_what_the_export_writes(book, tmp_path):
    """docs/instructor.md shows a Canvas and a Moodle file for this very gradebook."""
    docs = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "instructor.md").read_text(encoding="utf-8")
    for system in ("canvas", "moodle"):
        out = tmp_path / f"{system}.csv"
        write_lms_csv(book.grades(), out, system)
        assert out.read_text(encoding="utf-8").replace("\r\n", "\n") in docs, system
