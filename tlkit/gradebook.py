"""A small SQLite gradebook for quiz answers and exercise checks.

Each record is written in its own short transaction, in WAL journal mode and
with a busy timeout, so several notebooks (or processes) can write to one
gradebook at the same time. When the gradebook cannot be written (locked for
too long, read-only, missing folder), the record is appended to a JSON-lines
*spool* file instead, a :class:`GradebookError` says where, and the spool is
replayed into the database by the next successful write. No answer is ever
dropped silently.

Appending to the spool and claiming it for a replay (renaming it aside, then
reading it) both hold an exclusive ``flock`` on ``<spool>.lock``, so a record
acknowledged as spooled can never be appended to a file a replayer has already
read. Records carry unique ids, so replaying a record twice stores it once.

The gradebook lives, in order of preference, at the path given to
:class:`Gradebook`, at the path in the environment variable
``TLKIT_GRADEBOOK``, or in the user's data folder
(``platformdirs.user_data_dir("tlkit")``); never inside the repository.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import glob
import hashlib
import json
import os
import pathlib
import re
import sqlite3
import uuid

import platformdirs

try:  # POSIX: an advisory file lock serialises appending to and claiming a spool
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; see _spool_lock
    fcntl = None

from tlkit.errors import TlkitError

__all__ = [
    "Gradebook",
    "GradebookError",
    "StudentIdError",
    "current_student_id",
    "default_gradebook_path",
    "CHECK_OUTCOMES",
]

GRADEBOOK_ENVIRONMENT_VARIABLE = "TLKIT_GRADEBOOK"
STUDENT_ID_ENVIRONMENT_VARIABLE = "TLKIT_STUDENT_ID"
CHECK_OUTCOMES = ("correct", "incorrect", "not_attempted")
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
STUDENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")

_QUIZ_COLUMNS = ("student_id", "quiz_id", "question_id", "answer", "correct", "recorded_at")
_CHECK_COLUMNS = ("student_id", "notebook", "question", "outcome", "message", "recorded_at")
_GRADE_COLUMNS = (
    "student_id", "assignment", "question", "score", "max_score", "message", "flagged", "flags", "graded_at",
)
_RUN_COLUMNS = (
    "assignment", "manifest_sha256", "shard_index", "shard_count", "roster_sha256", "roster", "students", "graded_at",
)
_COLUMNS_BY_TABLE = {"quiz_answers": _QUIZ_COLUMNS, "checks": _CHECK_COLUMNS, "grades": _GRADE_COLUMNS,
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


class StudentIdError(TlkitError, ValueError):
    """A student id is missing or has characters tlkit does not accept."""


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


def _fallback_spool_path(gradebook_path: pathlib.Path) -> pathlib.Path:
    """A spool in the user's data folder, named after the gradebook it belongs to."""
    digest = hashlib.sha256(str(gradebook_path.resolve()).encode("utf-8")).hexdigest()[:12]
    return pathlib.Path(platformdirs.user_data_dir("tlkit")) / "spool" / f"gradebook-{digest}.jsonl"


def _spooled_records(text: str) -> list[tuple[str, dict]]:
    """The ``(table, row)`` records of a spool file's text; lines cut short by a crash are skipped."""
    records = []
    for line in text.split("\n"):  # not splitlines(): U+2028 or U+0085 inside a record is not a line break
        try:
            entry = json.loads(line)
            table, row = entry["table"], entry["row"]
            if all(column in row for column in ("record_id",) + _COLUMNS_BY_TABLE[table]):
                records.append((table, row))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash was never acknowledged
    return records


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
        self._explicit_spool_path = pathlib.Path(spool_path) if spool_path is not None else None
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"Gradebook({str(self.path)!r})"

    # -- where records go when the database refuses them -------------------------------------
    @property
    def spool_path(self) -> pathlib.Path:
        """The JSON-lines file that holds records the database refused."""
        if self._explicit_spool_path is not None:
            return self._explicit_spool_path
        beside = self.path.with_name(self.path.name + ".spool.jsonl")
        if beside.parent.is_dir() and os.access(beside.parent, os.W_OK):
            return beside
        return _fallback_spool_path(self.path)

    def _spool_candidates(self) -> list[pathlib.Path]:
        """Every spool file that may hold records for this gradebook."""
        candidates = [self.spool_path]
        if self._explicit_spool_path is None:
            candidates.append(_fallback_spool_path(self.path))
        unique = []
        for candidate in candidates:
            if candidate not in unique:
                unique.append(candidate)
        return unique

    @staticmethod
    @contextlib.contextmanager
    def _spool_lock(spool: pathlib.Path):
        """Hold an exclusive lock on ``<spool>.lock`` for the duration of the ``with`` block.

        Every append to a spool and every claim (rename aside, then read) of it
        happens under this lock, so a record is either wholly in the file when
        it is claimed or is written to a new spool file after the claim: it
        can never land in a file that a replayer has already read. The lock is
        a separate file because the spool itself is renamed. ``flock`` locks
        are released by the kernel when their holder dies, so a writer killed
        with ``kill -9`` never leaves the spool locked. Without ``fcntl``
        (Windows) the block runs unlocked.
        """
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock_path = spool.with_name(spool.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing the descriptor releases the lock

    def _append_to_spool(self, table: str, row: dict) -> pathlib.Path:
        spool = self.spool_path
        spool.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n").encode("utf-8")
        with self._spool_lock(spool):
            with open(spool, "a+b") as handle:
                if handle.seek(0, os.SEEK_END) > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # a writer died mid-line: do not glue this record to it
                        line = b"\n" + line
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return spool

    def _claim_spooled_records(self) -> tuple[list[pathlib.Path], list[tuple[str, dict]]]:
        """Move spool files aside (atomically) and read their records.

        The rename and the read of a spool happen under :meth:`_spool_lock`, so
        no appender can add to the file once it has been moved aside. Files
        left by a replay that did not finish (its writer crashed or gave up)
        are read too; reading a file another writer is replaying at the same
        time is harmless, because record ids are unique in the database.
        """
        claimed: list[pathlib.Path] = []
        records: list[tuple[str, dict]] = []
        for spool in self._spool_candidates():
            if not spool.parent.is_dir():
                continue
            try:
                with self._spool_lock(spool):
                    if spool.exists():
                        target = spool.with_name(f"{spool.name}.{uuid.uuid4().hex}.replaying")
                        os.replace(spool, target)
                    leftovers = sorted(glob.glob(glob.escape(str(spool)) + ".*.replaying"))
                    for claimed_file in map(pathlib.Path, leftovers):
                        try:
                            text = claimed_file.read_text(encoding="utf-8", errors="replace")
                        except OSError:
                            continue  # another writer finished replaying it and removed it
                        claimed.append(claimed_file)
                        records.extend(_spooled_records(text))
            except OSError:
                continue  # this spool cannot be claimed now; it stays for a later write
        return claimed, records

    # -- database access ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """Open a connection in autocommit mode; transactions are explicit."""
        if not self.path.parent.is_dir():
            raise sqlite3.OperationalError(f"folder {self.path.parent} does not exist or is not a folder")
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
        columns = ("record_id",) + _COLUMNS_BY_TABLE[table]
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
                claimed_files, spooled = self._claim_spooled_records()
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for spooled_table, spooled_row in spooled:
                        self._insert(connection, spooled_table, spooled_row)
                    self._insert(connection, table, row)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            self._give_back(claimed_files, spooled)
            try:
                spool = self._append_to_spool(table, row)
            except OSError as spool_error:
                raise GradebookError(
                    f"could not record to the gradebook {self.path} ({error}) nor to the spool "
                    f"file {self.spool_path} ({spool_error}); this record was NOT saved: {json.dumps(row)}"
                ) from error
            raise GradebookError(
                f"could not record to the gradebook {self.path} ({error}); the record was saved "
                f"in {spool} and will be added to the gradebook on the next successful write"
            ) from error
        for claimed_file in claimed_files:
            try:
                claimed_file.unlink()
            except OSError:
                pass  # replaying is idempotent (record ids are unique), so a leftover is harmless

    def _give_back(self, claimed_files: list[pathlib.Path], spooled: list[tuple[str, dict]]) -> None:
        """Return claimed spool records to the spool after a failed write."""
        if not claimed_files:
            return
        try:
            for spooled_table, spooled_row in spooled:
                self._append_to_spool(spooled_table, spooled_row)
        except OSError:
            return  # the claimed files stay on disk and are picked up next time
        for claimed_file in claimed_files:
            try:
                claimed_file.unlink()
            except OSError:
                pass

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
        row = {
            "record_id": uuid.uuid4().hex,
            "student_id": str(student_id),
            "quiz_id": str(quiz_id),
            "question_id": str(question_id),
            "answer": answer_text,
            "correct": None if correct is None else int(correct),
            "recorded_at": _utc_now(),
        }
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
        row = {
            "record_id": uuid.uuid4().hex,
            "student_id": str(student_id),
            "notebook": str(notebook),
            "question": str(question),
            "outcome": outcome,
            "message": str(message),
            "recorded_at": _utc_now(),
        }
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
        row = {
            "record_id": uuid.uuid4().hex,
            "student_id": str(student_id),
            "assignment": str(assignment),
            "question": str(question),
            "score": score,
            "max_score": max_score,
            "message": str(message),
            "flagged": int(bool(flags)),
            "flags": json.dumps(flags, ensure_ascii=False),
            "graded_at": _utc_now(),
        }
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
        row = {
            "record_id": uuid.uuid4().hex,
            "assignment": str(assignment),
            "manifest_sha256": str(manifest_sha256),
            "shard_index": int(shard_index),
            "shard_count": int(shard_count),
            "roster_sha256": hashlib.sha256("\n".join(roster).encode("utf-8")).hexdigest(),
            "roster": json.dumps(roster, ensure_ascii=False),
            "students": json.dumps(sorted(map(str, students)), ensure_ascii=False),
            "graded_at": _utc_now(),
        }
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
        query = f"SELECT {', '.join(_QUIZ_COLUMNS)} FROM quiz_answers"
        parameters: tuple = ()
        if quiz_id is not None:
            query += " WHERE quiz_id = ?"
            parameters = (str(quiz_id),)
        rows = self._read(query + " ORDER BY recorded_at, row_number", parameters)
        answers = []
        for row in rows:
            record = dict(row)
            record["answer"] = json.loads(record["answer"])
            record["correct"] = None if record["correct"] is None else bool(record["correct"])
            answers.append(record)
        return answers

    def check_results(self, notebook: str | None = None) -> list[dict]:
        """Return the recorded exercise checks of one notebook (every notebook when None).

        Returns
        -------
        list of dict
            Keys: student_id, notebook, question, outcome, message, recorded_at.
        """
        query = f"SELECT {', '.join(_CHECK_COLUMNS)} FROM checks"
        parameters: tuple = ()
        if notebook is not None:
            query += " WHERE notebook = ?"
            parameters = (str(notebook),)
        return [dict(row) for row in self._read(query + " ORDER BY recorded_at, row_number", parameters)]

    def grades(self, assignment: str | None = None) -> list[dict]:
        """Return the recorded grades of one assignment (every assignment when None), oldest first.

        Returns
        -------
        list of dict
            Keys: student_id, assignment, question, score, max_score, message,
            flagged (bool), flags (list of str), graded_at.
        """
        records = self._rows_in_grading_order("grades", _GRADE_COLUMNS, assignment, json_columns=("flags",))
        for record in records:
            record["flagged"] = bool(record["flagged"])
        return records

    def grading_runs(self, assignment: str | None = None) -> list[dict]:
        """Return the recorded grading runs (shards), oldest first; ``roster`` and ``students`` decoded."""
        return self._rows_in_grading_order("grading_runs", _RUN_COLUMNS, assignment, json_columns=("roster", "students"))

    def _rows_in_grading_order(self, table: str, columns, assignment: str | None, json_columns=()) -> list[dict]:
        """Rows of ``table`` (optionally of one assignment), oldest first, with ``json_columns`` decoded."""
        query = f"SELECT {', '.join(columns)} FROM {table}"
        parameters: tuple = ()
        if assignment is not None:
            query += " WHERE assignment = ?"
            parameters = (str(assignment),)
        records = []
        for row in self._read(query + " ORDER BY graded_at, row_number", parameters):
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


# -- student identity --------------------------------------------------------------------------
def _student_id_file() -> pathlib.Path:
    return pathlib.Path(platformdirs.user_config_dir("tlkit")) / "student_id.txt"


def validate_student_id(student_id) -> str:
    """Return ``student_id`` stripped, or raise :class:`StudentIdError` if it is not acceptable."""
    if not isinstance(student_id, str) or not student_id.strip():
        raise StudentIdError("the student id is empty; use letters, digits and . _ @ + - (up to 64 characters)")
    student_id = student_id.strip()
    if not STUDENT_ID_PATTERN.match(student_id):
        raise StudentIdError(
            f"the student id {student_id!r} is not accepted; start with a letter or digit and use only "
            "letters, digits and . _ @ + - (up to 64 characters)"
        )
    return student_id


def current_student_id() -> str:
    """Return the student's id, asking for it once if nobody said it yet.

    Looks in the environment variable ``TLKIT_STUDENT_ID``, then in the file
    remembered in the user's config folder; otherwise prompts with
    ``input()`` and remembers the answer so it is asked only once.

    Raises
    ------
    StudentIdError
        If the id is empty or has unexpected characters, or no prompt is possible.
    """
    from_environment = os.environ.get(STUDENT_ID_ENVIRONMENT_VARIABLE)
    if from_environment is not None:
        return validate_student_id(from_environment)
    remembered = _student_id_file()
    if remembered.is_file():
        try:
            return validate_student_id(remembered.read_text(encoding="utf-8"))
        except (OSError, StudentIdError):
            pass  # ask again below
    try:
        typed = input("tlkit: your student id (asked once, remembered on this computer): ")
    except (EOFError, OSError) as error:
        raise StudentIdError(
            f"no student id: set the environment variable {STUDENT_ID_ENVIRONMENT_VARIABLE} "
            "or run interactively to be asked for it"
        ) from error
    student_id = validate_student_id(typed)
    try:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(student_id + "\n", encoding="utf-8")
    except OSError:
        pass  # remembering is a convenience; the id is still valid for this session
    return student_id
