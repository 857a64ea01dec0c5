"""Grades in the import formats of learning management systems: Canvas and Moodle gradebook CSV files.

Both files hold one row per student and one column per assignment (a tlkit
notebook), whose cell is the student's total score on it: the sum of the
question scores of the latest grading of that student's submission (a
flagged question already scored 0 when it was graded). A student with no grade
for an assignment gets an empty cell, which both systems leave unchanged.

**Canvas** (Grades > Import): the columns of Canvas's own gradebook export,
``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then the
assignments, with a second row ``Points Possible`` holding each assignment's
maximum score. Canvas finds each student by one of the identity columns: the
tlkit student id goes into the column ``identify_by`` names (by default
``SIS Login ID``, the login name students use on JupyterHub), the others stay
empty. An assignment column named ``Name (12345)`` updates the Canvas
assignment 12345; a column with a new name creates an assignment, with the
points possible of the second row. ``columns`` renames tlkit's assignments
(e.g. ``{"04_negative_transfer": "Notebook 4 (12345)"}``).

**Moodle** (Grades > Import > CSV file): a header row, a column that
identifies the user, then one column per grade item. Moodle asks, on its
import page, which column identifies the user ("Map from") and which user
field it holds ("Map to": username, email address, ID number or user id), and
which grade item each column goes to (or a new one). The identifier column is
named as Moodle's own grade export names the field (``Username``,
``Email address``, ``ID number``) so that the mapping is easy to pick.
"""

from __future__ import annotations

import csv
import os
import pathlib

from tlkit.errors import TlkitError

__all__ = ["CANVAS_IDENTITY_COLUMNS", "CANVAS_POINTS_POSSIBLE", "LmsExportError", "MOODLE_IDENTITY_COLUMNS",
           "assignment_totals", "canvas_rows", "moodle_rows", "write_lms_csv"]

#: The identity columns of a Canvas gradebook CSV, in Canvas's order, before the assignment columns.
CANVAS_IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: The first cell of the optional second row of a Canvas gradebook CSV, which holds each assignment's maximum.
CANVAS_POINTS_POSSIBLE = "Points Possible"
#: The Moodle user field the identifier column holds -> its heading in Moodle's own grade export.
MOODLE_IDENTITY_COLUMNS = {"username": "Username", "email": "Email address", "idnumber": "ID number"}


class LmsExportError(TlkitError, ValueError):
    """The gradebook cannot be written in the requested LMS format (no grades, an unknown column...)."""


def _number(value: float) -> str:
    """A score as Canvas and Moodle read it: ``3``, ``2.5`` (no exponent, no trailing zeros)."""
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def assignment_totals(grades) -> tuple[dict, dict]:
    """Each student's total per assignment, from the latest grading of each question, and each assignment's maximum.

    Parameters
    ----------
    grades : iterable of dict
        Grade records, oldest first, as :meth:`tlkit.gradebook.Gradebook.grades` returns them (keys
        ``student_id``, ``assignment``, ``question``, ``score``, ``max_score``).

    Returns
    -------
    (dict, dict)
        ``{student_id: {assignment: total}}`` and ``{assignment: maximum}``, both sorted by key.
    """
    latest: dict[tuple, dict] = {}
    for record in grades:
        latest[(record["student_id"], record["assignment"], record["question"])] = record  # a later run wins
    totals: dict[str, dict] = {}
    maxima: dict[str, dict] = {}
    for (student, assignment, question), record in latest.items():
        totals.setdefault(student, {}).setdefault(assignment, 0.0)
        totals[student][assignment] += float(record["score"])
        maxima.setdefault(assignment, {})[question] = float(record["max_score"])
    points = {assignment: sum(per_question.values()) for assignment, per_question in sorted(maxima.items())}
    return dict(sorted(totals.items())), points


def _headers(assignments, columns: dict | None) -> list[str]:
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(assignments))
    if unknown:
        raise LmsExportError(f"--column names assignment(s) the gradebook has no grades for: {', '.join(unknown)} "
                             f"(it has {', '.join(assignments) or 'none'})")
    headers = [columns.get(assignment, assignment) for assignment in assignments]
    if len(set(headers)) != len(headers):
        raise LmsExportError(f"two assignments would share a column name: {headers}")
    return headers


def canvas_rows(grades, identify_by: str = "SIS Login ID", columns: dict | None = None) -> list[list[str]]:
    """The rows of a Canvas gradebook import file (header, ``Points Possible``, one row per student)."""
    if identify_by not in CANVAS_IDENTITY_COLUMNS:
        raise LmsExportError(f"Canvas identifies students by one of {', '.join(CANVAS_IDENTITY_COLUMNS[:4])}, "
                             f"not {identify_by!r}")
    totals, points = assignment_totals(grades)
    assignments = list(points)
    rows = [list(CANVAS_IDENTITY_COLUMNS) + _headers(assignments, columns),
            [CANVAS_POINTS_POSSIBLE] + [""] * (len(CANVAS_IDENTITY_COLUMNS) - 1)
            + [_number(points[assignment]) for assignment in assignments]]
    where = CANVAS_IDENTITY_COLUMNS.index(identify_by)
    for student, scores in totals.items():
        identity = [""] * len(CANVAS_IDENTITY_COLUMNS)
        identity[where] = student
        rows.append(identity + [_number(scores[a]) if a in scores else "" for a in assignments])
    return rows


def moodle_rows(grades, identify_by: str = "username", columns: dict | None = None) -> list[list[str]]:
    """The rows of a Moodle grade import CSV file (header, one row per student)."""
    if identify_by not in MOODLE_IDENTITY_COLUMNS:
        raise LmsExportError(f"Moodle maps users by {', '.join(MOODLE_IDENTITY_COLUMNS)} here, not {identify_by!r}")
    totals, points = assignment_totals(grades)
    assignments = list(points)
    rows = [[MOODLE_IDENTITY_COLUMNS[identify_by]] + _headers(assignments, columns)]
    for student, scores in totals.items():
        rows.append([student] + [_number(scores[a]) if a in scores else "" for a in assignments])
    return rows


def write_lms_csv(grades, out, system: str, identify_by: str | None = None, columns: dict | None = None,
                  assignments=None) -> pathlib.Path:
    """Write ``grades`` to ``out`` as a Canvas or Moodle gradebook CSV file (UTF-8, comma-separated).

    Parameters
    ----------
    grades : iterable of dict
        Grade records, oldest first (:meth:`tlkit.gradebook.Gradebook.grades`).
    out : path
        The CSV file to write (written aside, then renamed into place).
    system : {"canvas", "moodle"}
    identify_by : str, optional
        Canvas: the identity column that holds the tlkit student id (default ``"SIS Login ID"``); Moodle:
        ``"username"`` (default), ``"email"`` or ``"idnumber"``.
    columns : dict, optional
        Assignment -> the column name to use in the LMS.
    assignments : sequence of str, optional
        Only these assignments (default: every assignment with grades).

    Raises
    ------
    LmsExportError
        Without grades, with an unknown system, identity column or assignment.
    """
    grades = list(grades)
    if assignments:
        known = {record["assignment"] for record in grades}
        missing = sorted(set(assignments) - known)
        if missing:
            raise LmsExportError(f"the gradebook has no grades for {', '.join(missing)} "
                                 f"(it has {', '.join(sorted(known)) or 'none'})")
        grades = [record for record in grades if record["assignment"] in set(assignments)]
    if not grades:
        raise LmsExportError("the gradebook holds no grades: grade submissions first (`python -m tlkit grade`)")
    if system == "canvas":
        rows = canvas_rows(grades, identify_by or "SIS Login ID", columns)
    elif system == "moodle":
        rows = moodle_rows(grades, identify_by or "username", columns)
    else:
        raise LmsExportError(f"unknown LMS format {system!r}: choose canvas or moodle")
    out = pathlib.Path(out)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        os.replace(partial, out)
    except OSError as error:
        raise LmsExportError(f"could not write {out} ({error})") from None
    finally:
        if partial.exists():
            partial.unlink()
    return out
