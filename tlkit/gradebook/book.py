"""The gradebook: quiz answers, exercise checks and grades in one SQLite file.

Each record is written in its own short transaction, in WAL journal mode and
with a busy timeout, so several notebooks (or processes) can write to one
gradebook at the same time. When the gradebook cannot be written, the record
goes to the gradebook's spool (:mod:`tlkit.gradebook.spool`) and a
:class:`GradebookError` says where; the next successful write replays it.

Besides recording one record at a time, a :class:`Gradebook` can
:meth:`~Gradebook.import_records` (records read elsewhere, such as shards'
gradebooks, stored in one transaction) and :meth:`~Gradebook.compact` itself
into one self-contained file; :func:`read_records` reads a gradebook file as
it is, without changing it.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import pathlib
import sqlite3
import uuid

import platformdirs

from tlkit.errors import TlkitError
from tlkit.gradebook.spool import Spool, make_private_folder

__all__ = [
    "CHECK_OUTCOMES",
    "COLUMNS_BY_TABLE",
    "DEFAULT_BUSY_TIMEOUT_SECONDS",
    "GRADEBOOK_ENVIRONMENT_VARIABLE",
    "Gradebook",
    "GradebookError",
    "default_gradebook_path",
    "read_records",
]

GRADEBOOK_ENVIRONMENT_VARIABLE = "TLKIT_GRADEBOOK"
CHECK_OUTCOMES = ("correct", "incorrect", "not_attempted")
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0

_QUIZ_COLUMNS = ("student_id", "quiz_id", "question_id", "answer", "correct", "recorded_at")
_CHECK_COLUMNS = ("student_id", "notebook", "question", "outcome", "message", "recorded_at")
_GRADE_COLUMNS = (
    "student_id", "assignment", "question", "score", "max_score", "message", "flagged", "flags", "graded_at",
)
_RUN_COLUMNS = (
    "assignment", "manifest_sha256", "shard_index", "shard_count", "roster_sha256", "roster", "students", "graded_at",
)
#: Table -> the columns of its records, besides the unique ``record_id`` every record carries.
COLUMNS_BY_TABLE = {"quiz_answers": _QUIZ_COLUMNS, "checks": _CHECK_COLUMNS, "grades": _GRADE_COLUMNS,
                    "grading_runs": _RUN_COLUMNS}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quiz_answers (
    row_number  INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   TEXT NOT NULL UNIQUE,
    student_id  TEXT NOT NULL,
    quiz_id     TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answer      TEXT NOT NULL,
    correct     INTEGER,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
    row_number  INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   TEXT NOT NULL UNIQUE,
    student_id  TEXT NOT NULL,
    notebook    TEXT NOT NULL,
    question    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    message     TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grades (
    row_number  INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   TEXT NOT NULL UNIQUE,
    student_id  TEXT NOT NULL,
    assignment  TEXT NOT NULL,
    question    TEXT NOT NULL,
    score       REAL NOT NULL,
    max_score   REAL NOT NULL,
    message     TEXT NOT NULL,
    flagged     INTEGER NOT NULL,
    flags       TEXT NOT NULL,
    graded_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grading_runs (
    row_number      INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id       TEXT NOT NULL UNIQUE,
    assignment      TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    shard_index     INTEGER NOT NULL,
    shard_count     INTEGER NOT NULL,
    roster_sha256   TEXT NOT NULL,
    roster          TEXT NOT NULL,
    students        TEXT NOT NULL,
    graded_at       TEXT NOT NULL
);
"""


class GradebookError(TlkitError, RuntimeError):
    """The gradebook could not be read or written."""


def default_gradebook_path() -> pathlib.Path:
    """Return where the gradebook lives when no path is given.

    Returns
    -------
    pathlib.Path
        ``$TLKIT_GRADEBOOK`` if set, else ``gradebook.sqlite3`` in the user's
        data folder for tlkit.
    """
    from_environment = os.environ.get(GRADEBOOK_ENVIRONMENT_VARIABLE)
    if from_environment:
        return pathlib.Path(from_environment).expanduser()
    return pathlib.Path(platformdirs.user_data_dir("tlkit")) / "gradebook.sqlite3"


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _new_record(time_column: str, **values) -> dict:
    """A row to store: a fresh unique ``record_id``, ``values`` in order, and the time now (UTC) in ``time_column``."""
    return {"record_id": uuid.uuid4().hex, **values, time_column: _utc_now()}


class Gradebook:
    """Quiz answers and exercise check results, stored in one SQLite file.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The SQLite file. Defaults to :func:`default_gradebook_path`.
    busy_timeout : float, default 10.0
        Seconds to wait for another writer before giving up on a record.
    spool_path : str or os.PathLike, optional
        Where records go when the database cannot be written. Defaults to
        ``<gradebook>.spool.jsonl`` next to the gradebook when that folder
        is writable, else a file in the user's data folder.

    Examples
    --------
    >>> book = Gradebook("/tmp/example-gradebook.sqlite3")  # doctest: +SKIP
    >>> book.record_check("ada", "nb01", "q1", "correct", "Well done")  # doctest: +SKIP
    """

    def __init__(self, path=None, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS, spool_path=None):
        self.path = pathlib.Path(path).expanduser() if path is not None else default_gradebook_path()
        self.busy_timeout = float(busy_timeout)
        self.spool = Spool(self.path, COLUMNS_BY_TABLE, pathlib.Path(spool_path) if spool_path is not None else None)
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"Gradebook({str(self.path)!r})"

    # -- where records go when the database refuses them -------------------------------------
    @property
    def spool_path(self) -> pathlib.Path:
        """The JSON-lines file that holds records the database refused (see :class:`Spool`)."""
        return self.spool.path

    def _append_to_spool(self, table: str, row: dict) -> pathlib.Path:
        return self.spool.append(table, row)

    # -- database access ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """Open a connection in autocommit mode; transactions are explicit."""
        make_private_folder(self.path.parent)
        connection = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            if not self._schema_ready:
                connection.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
                self._schema_ready = True
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _insert(connection: sqlite3.Connection, table: str, row: dict) -> None:
        columns = ("record_id",) + COLUMNS_BY_TABLE[table]
        placeholders = ", ".join("?" for _ in columns)
        connection.execute(
            f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [row[column] for column in columns],
        )

    def _write(self, table: str, row: dict) -> None:
        """Store one record in one transaction, together with any spooled records."""
        claimed_files: list[pathlib.Path] = []
        spooled: list[tuple[str, dict]] = []
        try:
            connection = self._connect()
            try:
                claimed_files, spooled = self.spool.claim()
                self._insert_in_one_transaction(connection, [*spooled, (table, row)])
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            self.spool.give_back(claimed_files, spooled)
            try:
                spool = self.spool.append(table, row)
            except OSError as spool_error:
                raise GradebookError(
                    f"could not record to the gradebook {self.path} ({error}) nor to the spool "
                    f"file {self.spool_path} ({spool_error}); this record was NOT saved: {json.dumps(row)}"
                ) from error
            raise GradebookError(
                f"could not record to the gradebook {self.path} ({error}); the record was saved "
                f"in {spool} and will be added to the gradebook on the next successful write"
            ) from error
        self.spool.discard(claimed_files)

    def _insert_in_one_transaction(self, connection: sqlite3.Connection, records) -> int:
        """Insert ``(table, row)`` records under one write lock: all of them are stored, or none; return how many."""
        count = 0
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table, row in records:
                self._insert(connection, table, row)
                count += 1
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return count

    # -- whole-file operations ----------------------------------------------------------------
    def import_records(self, records) -> int:
        """Store records read elsewhere (another gradebook, a shard) in one transaction.

        Each record keeps its ``record_id`` and its times, so importing a
        record twice stores it once. The spool is neither read nor written:
        when the database cannot be written, nothing is stored.

        Parameters
        ----------
        records : iterable of (str, dict)
            ``(table, row)`` pairs, stored in this order; each row has
            ``record_id`` and every column of its table (:data:`COLUMNS_BY_TABLE`).

        Returns
        -------
        int
            How many records were given.

        Raises
        ------
        GradebookError
            If the gradebook cannot be written; no record of the call is stored.
        """
        try:
            connection = self._connect()
            try:
                count = self._insert_in_one_transaction(connection, records)
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            raise GradebookError(f"could not import records into the gradebook {self.path} ({error})") from error
        return count

    def compact(self) -> pathlib.Path:
        """Make the gradebook one self-contained file, safe to copy or rename (journal mode ``DELETE``).

        The write-ahead log is folded into the database file and removed.
        Writing to the gradebook later switches it back to WAL mode.

        Returns
        -------
        pathlib.Path
            The gradebook's file.

        Raises
        ------
        GradebookError
            If the gradebook cannot be opened.
        """
        try:
            connection = self._connect()
            try:
                connection.execute("PRAGMA journal_mode = DELETE")
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            raise GradebookError(f"could not compact the gradebook {self.path} ({error})") from error
        return self.path

    # -- public recording API -----------------------------------------------------------------
    def record_quiz_answer(self, student_id: str, quiz_id: str, question_id: str, answer, correct) -> None:
        """Record one answer to one quiz question.

        Parameters
        ----------
        student_id, quiz_id, question_id : str
            Who answered which question of which quiz.
        answer : JSON-serialisable
            The answer as given (a choice, a list of choices, a number...).
        correct : bool or None
            Whether it was right; None when the question is not auto-graded.

        Raises
        ------
        GradebookError
            If the record could not be written; the message says where it was spooled.
        """
        try:
            answer_text = json.dumps(answer, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise GradebookError(
                f"record_quiz_answer: the answer to {quiz_id}/{question_id} is not JSON-serialisable ({error})"
            ) from error
        if correct is not None and not isinstance(correct, bool):
            correct = bool(correct)
        row = _new_record(
            "recorded_at",
            student_id=str(student_id),
            quiz_id=str(quiz_id),
            question_id=str(question_id),
            answer=answer_text,
            correct=None if correct is None else int(correct),
        )
        self._write("quiz_answers", row)

    def record_check(self, student_id: str, notebook: str, question: str, outcome: str, message: str) -> None:
        """Record the outcome of one exercise check.

        Parameters
        ----------
        student_id, notebook, question : str
            Who checked which question of which notebook.
        outcome : {"correct", "incorrect", "not_attempted"}
            The check's verdict.
        message : str
            The feedback the student saw.

        Raises
        ------
        GradebookError
            If ``outcome`` is unknown, or the record could not be written (the
            message says where it was spooled).
        """
        if outcome not in CHECK_OUTCOMES:
            raise GradebookError(f"record_check: unknown outcome {outcome!r}; choose one of {CHECK_OUTCOMES}")
        row = _new_record(
            "recorded_at",
            student_id=str(student_id),
            notebook=str(notebook),
            question=str(question),
            outcome=outcome,
            message=str(message),
        )
        self._write("checks", row)

    def record_grade(self, student_id: str, assignment: str, question: str, score: float, max_score: float,
                     message: str, flags=()) -> None:
        """Record the grader's verdict on one question of one submission.

        Parameters
        ----------
        student_id, assignment, question : str
            Whose submission, which assignment (notebook) and which question.
        score, max_score : float
            Points given and points available.
        message : str
            The feedback for this question (the check's message or why it scored 0).
        flags : sequence of str, default ()
            Reasons the attempt was flagged (tampering, edited locked cells...).

        Raises
        ------
        GradebookError
            If the score is not a number between 0 and ``max_score``, or the record
            could not be written (the message says where it was spooled).
        """
        try:
            score, max_score = float(score), float(max_score)
        except (TypeError, ValueError) as error:
            raise GradebookError(f"record_grade: score and max_score must be numbers ({error})") from error
        if not 0 <= score <= max_score:
            raise GradebookError(f"record_grade: score {score:g} is outside 0..{max_score:g} for {assignment}/{question}")
        flags = [str(flag) for flag in flags]
        row = _new_record(
            "graded_at",
            student_id=str(student_id),
            assignment=str(assignment),
            question=str(question),
            score=score,
            max_score=max_score,
            message=str(message),
            flagged=int(bool(flags)),
            flags=json.dumps(flags, ensure_ascii=False),
        )
        self._write("grades", row)

    def record_grading_run(self, assignment: str, manifest_sha256: str, shard_index: int, shard_count: int,
                           roster, students) -> None:
        """Record what one ``grade`` run graded: the manifest's SHA-256, the shard and the students.

        ``python -m tlkit gradebook merge`` reads these records to refuse shards
        graded against different manifests or rosters, overlapping shards and
        missing ones. A whole batch is shard 0 of 1.

        Parameters
        ----------
        assignment, manifest_sha256 : str
        shard_index, shard_count : int
            Shard ``shard_index`` (from 0) of ``shard_count``.
        roster : sequence of str
            Every student id of the batch (all shards).
        students : sequence of str
            The student ids this run graded.
        """
        roster = sorted(set(map(str, roster)))
        row = _new_record(
            "graded_at",
            assignment=str(assignment),
            manifest_sha256=str(manifest_sha256),
            shard_index=int(shard_index),
            shard_count=int(shard_count),
            roster_sha256=hashlib.sha256("\n".join(roster).encode("utf-8")).hexdigest(),
            roster=json.dumps(roster, ensure_ascii=False),
            students=json.dumps(sorted(map(str, students)), ensure_ascii=False),
        )
        self._write("grading_runs", row)

    # -- reading --------------------------------------------------------------------------------
    def _read(self, query: str, parameters=()) -> list[sqlite3.Row]:
        if not self.path.is_file():
            return []
        try:
            connection = self._connect()
            try:
                connection.row_factory = sqlite3.Row
                return connection.execute(query, parameters).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise GradebookError(f"could not read the gradebook {self.path} ({error})") from error

    def quiz_answers(self, quiz_id: str | None = None) -> list[dict]:
        """Return the recorded answers of one quiz (every quiz when None), oldest first.

        Returns
        -------
        list of dict
            Keys: student_id, quiz_id, question_id, answer (decoded from JSON),
            correct (bool or None), recorded_at (UTC, ISO 8601).
        """
        answers = self._select("quiz_answers", _QUIZ_COLUMNS, "quiz_id", quiz_id, "recorded_at", json_columns=("answer",))
        for record in answers:
            record["correct"] = None if record["correct"] is None else bool(record["correct"])
        return answers

    def check_results(self, notebook: str | None = None) -> list[dict]:
        """Return the recorded exercise checks of one notebook (every notebook when None).

        Returns
        -------
        list of dict
            Keys: student_id, notebook, question, outcome, message, recorded_at.
        """
        return self._select("checks", _CHECK_COLUMNS, "notebook", notebook, "recorded_at")

    def grades(self, assignment: str | None = None) -> list[dict]:
        """Return the recorded grades of one assignment (every assignment when None), oldest first.

        Returns
        -------
        list of dict
            Keys: student_id, assignment, question, score, max_score, message,
            flagged (bool), flags (list of str), graded_at.
        """
        records = self._select("grades", _GRADE_COLUMNS, "assignment", assignment, "graded_at", json_columns=("flags",))
        for record in records:
            record["flagged"] = bool(record["flagged"])
        return records

    def grading_runs(self, assignment: str | None = None) -> list[dict]:
        """Return the recorded grading runs (shards), oldest first; ``roster`` and ``students`` decoded."""
        return self._select("grading_runs", _RUN_COLUMNS, "assignment", assignment, "graded_at",
                            json_columns=("roster", "students"))

    def _select(self, table: str, columns, only_column: str, only_value, time_column: str,
                json_columns=()) -> list[dict]:
        """Rows of ``table`` (those whose ``only_column`` is ``only_value``, or all when it is None).

        Oldest first (by ``time_column``, then insertion order), as dicts of
        ``columns``, with ``json_columns`` decoded.
        """
        query = f"SELECT {', '.join(columns)} FROM {table}"
        parameters: tuple = ()
        if only_value is not None:
            query += f" WHERE {only_column} = ?"
            parameters = (str(only_value),)
        records = []
        for row in self._read(query + f" ORDER BY {time_column}, row_number", parameters):
            record = dict(row)
            for column in json_columns:
                record[column] = json.loads(record[column])
            records.append(record)
        return records

    def export_csv(self, path, kind: str = "quiz") -> pathlib.Path:
        """Write every quiz answer (``kind="quiz"``), check (``"checks"``) or grade (``"grades"``) to CSV.

        Quiz answers keep their JSON text in the ``answer`` column; ``correct``
        is ``true``, ``false`` or empty. Grades list their flags separated by
        `` | `` and ``flagged`` as ``true``/``false``.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        if kind == "quiz":
            columns, records = _QUIZ_COLUMNS, self.quiz_answers()
        elif kind == "checks":
            columns, records = _CHECK_COLUMNS, self.check_results()
        elif kind == "grades":
            columns = _GRADE_COLUMNS
            records = [
                dict(record, flagged=str(record["flagged"]).lower(), flags=" | ".join(record["flags"]))
                for record in self.grades()
            ]
        else:
            raise GradebookError(f"export_csv: unknown kind {kind!r}; choose 'quiz', 'checks' or 'grades'")
        path = pathlib.Path(path)
        try:
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                for record in records:
                    if kind == "quiz":
                        record = dict(record)
                        record["answer"] = json.dumps(record["answer"], ensure_ascii=False)
                        record["correct"] = "" if record["correct"] is None else str(record["correct"]).lower()
                    writer.writerow(record)
        except OSError as error:
            raise GradebookError(f"export_csv: could not write {path} ({error})") from error
        return path


def read_records(path) -> dict:
    """Every record of a gradebook file as stored, read without changing the file.

    Parameters
    ----------
    path : str or os.PathLike
        An existing gradebook file.

    Returns
    -------
    dict
        Table -> its rows (dicts of ``record_id`` and the table's columns,
        :data:`COLUMNS_BY_TABLE`), in insertion order; JSON columns are left
        as text. A table the file lacks has no rows.

    Raises
    ------
    GradebookError
        If the file cannot be read as a gradebook; the message starts with its path.
    """
    path = pathlib.Path(path)
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return {table: _read_table(connection, table) for table in COLUMNS_BY_TABLE}
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise GradebookError(f"{path}: not a readable gradebook ({error})") from error


def _read_table(connection: sqlite3.Connection, table: str) -> list[dict]:
    exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
    if not exists:
        return []
    columns = ("record_id",) + COLUMNS_BY_TABLE[table]
    rows = connection.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY row_number").fetchall()
    return [dict(zip(columns, row)) for row in rows]
