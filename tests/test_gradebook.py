"""The SQLite gradebook: concurrency, crash safety, spooling, CSV export, student ids."""

from __future__ import annotations

import csv
import getpass
import json
import multiprocessing
import os
import re
import signal
import stat
import sqlite3
import subprocess
import sys
import textwrap
import warnings

import platformdirs
import pytest

from tlkit import gradebook as gradebook_module
from tlkit.errors import TlkitError
from tlkit.gradebook import Gradebook, GradebookError, StudentIdError, current_student_id

RECORDS_PER_WRITER = 50
WRITERS = 8


def _write_many(path: str, writer_number: int) -> None:
    """Run in a child process: record RECORDS_PER_WRITER quiz answers."""
    book = Gradebook(path)
    for index in range(RECORDS_PER_WRITER):
        book.record_quiz_answer(f"student-{writer_number}", "quiz-a", f"q{index}", {"choice": index}, index % 2 == 0)


@pytest.fixture
def book(tmp_path):
    return Gradebook(tmp_path / "book.sqlite3", spool_path=tmp_path / "spool.jsonl")


def test_default_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TLKIT_GRADEBOOK", str(tmp_path / "from-env.sqlite3"))
    assert Gradebook().path == tmp_path / "from-env.sqlite3"
    monkeypatch.delenv("TLKIT_GRADEBOOK")
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    assert Gradebook().path == tmp_path / "data" / "tlkit" / "gradebook.sqlite3"


def test_records_round_trip_with_json_answers_and_utc_times(book):
    book.record_quiz_answer("ada", "quiz-1", "q1", ["b", "c"], True)
    book.record_quiz_answer("ada", "quiz-1", "q2", 3.5, None)
    book.record_quiz_answer("bob", "quiz-2", "q1", "a", False)
    answers = book.quiz_answers("quiz-1")
    assert [a["answer"] for a in answers] == [["b", "c"], 3.5]
    assert [a["correct"] for a in answers] == [True, None]
    assert set(answers[0]) == {"student_id", "quiz_id", "question_id", "answer", "correct", "recorded_at"}
    assert answers[0]["recorded_at"].endswith("+00:00")
    with sqlite3.connect(book.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_check_results_filter_by_notebook_and_reject_unknown_outcomes(book):
    book.record_check("ada", "nb01", "q1", "correct", "Well done")
    book.record_check("ada", "nb02", "q1", "not_attempted", "Fill in ____")
    assert [r["notebook"] for r in book.check_results()] == ["nb01", "nb02"]
    assert book.check_results("nb02")[0]["outcome"] == "not_attempted"
    with pytest.raises(GradebookError, match="unknown outcome 'maybe'"):
        book.record_check("ada", "nb01", "q1", "maybe", "")


def test_eight_processes_writing_fifty_records_each_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.sqlite3")
    Gradebook(path).record_check("setup", "nb", "q", "correct", "creates the schema")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_many, args=(path, number)) for number in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    answers = Gradebook(path).quiz_answers("quiz-a")
    assert len(answers) == WRITERS * RECORDS_PER_WRITER
    assert {(a["student_id"], a["question_id"]) for a in answers} == {
        (f"student-{w}", f"q{i}") for w in range(WRITERS) for i in range(RECORDS_PER_WRITER)
    }


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from tlkit.gradebook import Gradebook
    book = Gradebook(sys.argv[1])
    for index in range(10):
        book.record_check("kid", "nb", f"committed-{index}", "correct", "ok")
    connection = book._connect()
    connection.execute("BEGIN IMMEDIATE")
    book._insert(connection, "checks", {"record_id": "killed", "student_id": "kid", "notebook": "nb",
        "question": "in-flight", "outcome": "correct", "message": "x" * 100000, "recorded_at": "now"})
    print("inside-transaction", flush=True)
    time.sleep(60)
    """
)


def test_a_writer_killed_inside_a_transaction_leaves_the_database_intact(tmp_path):
    path = tmp_path / "crash.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert child.stdout.readline().strip() == "inside-transaction"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    book = Gradebook(path)
    questions = [r["question"] for r in book.check_results("nb")]
    assert questions == [f"committed-{i}" for i in range(10)]  # the in-flight record is wholly absent
    book.record_check("kid", "nb", "after-crash", "correct", "still writable")
    assert len(book.check_results("nb")) == 11


def test_a_locked_gradebook_spools_the_answer_and_replays_it_later(tmp_path):
    path = tmp_path / "locked.sqlite3"
    spool = tmp_path / "spool.jsonl"
    book = Gradebook(path, busy_timeout=0.2, spool_path=spool)
    book.record_check("ada", "nb01", "q0", "correct", "before the lock")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GradebookError) as raised:
            book.record_quiz_answer("ada", "quiz-1", "q1", {"picked": "b"}, True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(raised.value)
    assert "locked" in message and str(spool) in message and isinstance(raised.value, TlkitError)
    spooled = [json.loads(line) for line in spool.read_text().splitlines()]
    assert spooled[0]["row"]["question_id"] == "q1" and json.loads(spooled[0]["row"]["answer"]) == {"picked": "b"}
    book.record_quiz_answer("ada", "quiz-1", "q2", "c", False)  # succeeds and replays the spool
    assert [(a["question_id"], a["answer"]) for a in book.quiz_answers("quiz-1")] == [("q1", {"picked": "b"}), ("q2", "c")]
    assert not spool.exists()


def test_an_unwritable_gradebook_spools_the_answer_with_a_clear_message(tmp_path):
    not_a_folder = tmp_path / "regular-file"
    not_a_folder.write_text("this is a file, so nothing can be created under it")
    spool = tmp_path / "spool.jsonl"
    book = Gradebook(not_a_folder / "book.sqlite3", spool_path=spool)
    with pytest.raises(GradebookError, match="could not record to the gradebook .*saved in .*spool.jsonl"):
        book.record_check("ada", "nb01", "q1", "incorrect", "head has 10 units")
    assert json.loads(spool.read_text())["row"]["message"] == "head has 10 units"


def test_the_default_spool_falls_back_to_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    not_a_folder = tmp_path / "regular-file"
    not_a_folder.write_text("")
    book = Gradebook(not_a_folder / "book.sqlite3")
    with pytest.raises(GradebookError) as raised:
        book.record_quiz_answer("ada", "quiz", "q1", 1, True)
    assert str(tmp_path / "data" / "tlkit" / "spool") in str(raised.value)
    assert book.spool_path.is_file()


def test_an_answer_that_is_not_json_is_refused_clearly(book):
    with pytest.raises(GradebookError, match="not JSON-serialisable"):
        book.record_quiz_answer("ada", "quiz", "q1", object(), True)


def test_csv_export_round_trips(book, tmp_path):
    book.record_quiz_answer("ada", "quiz-1", "q1", ["a", "b"], True)
    book.record_quiz_answer("bob", "quiz-1", "q1", "c", None)
    book.record_check("ada", "nb01", "q2", "incorrect", 'your head has 10 units, "target" 5')
    with open(book.export_csv(tmp_path / "quiz.csv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [json.loads(r["answer"]) for r in rows] == [["a", "b"], "c"]
    assert [r["correct"] for r in rows] == ["true", ""]
    assert [r["student_id"] for r in rows] == [a["student_id"] for a in book.quiz_answers("quiz-1")]
    with open(book.export_csv(tmp_path / "checks.csv", kind="checks"), newline="", encoding="utf-8") as handle:
        checks = list(csv.DictReader(handle))
    assert checks == [{k: str(v) for k, v in r.items()} for r in book.check_results()]
    with pytest.raises(GradebookError, match="unknown kind"):
        book.export_csv(tmp_path / "x.csv", kind="marks")


def test_student_id_from_the_environment(monkeypatch):
    monkeypatch.setenv("TLKIT_STUDENT_ID", "ada.lovelace")
    assert current_student_id() == "ada.lovelace"
    monkeypatch.setenv("TLKIT_STUDENT_ID", "robert'); DROP TABLE")
    with pytest.raises(StudentIdError, match="not accepted"):
        current_student_id()


@pytest.fixture
def no_student_id(monkeypatch, tmp_path):
    """A student who set nothing: no TLKIT_STUDENT_ID, no saved id, no JupyterHub; input() must never be called."""
    monkeypatch.delenv("TLKIT_STUDENT_ID", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda app: str(tmp_path / "config" / app))

    def no_input(prompt=""):
        raise AssertionError(f"input() was called: {prompt!r}")

    monkeypatch.setattr("builtins.input", no_input)
    return tmp_path


def test_without_any_setting_the_login_name_is_the_student_id(no_student_id, monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "grace")
    assert gradebook_module.student_id_source() == ("grace", "login")


def test_a_login_name_tlkit_would_refuse_is_made_acceptable(no_student_id, monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "Grace Hopper")
    assert current_student_id() == "Grace-Hopper"

    def no_login():
        raise OSError("no password entry")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert current_student_id() == "student"


def test_the_jupyterhub_user_comes_before_the_login_name(no_student_id, monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "jovyan")
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    assert gradebook_module.student_id_source() == ("ada", "jupyterhub")


def test_a_chosen_id_is_saved_privately_and_wins_over_login_names(no_student_id, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    assert gradebook_module.set_student_id("  grace-h  ") == "grace-h"
    saved = no_student_id / "config" / "tlkit" / "student_id.txt"
    assert saved.read_text().strip() == "grace-h"
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert gradebook_module.student_id_source() == ("grace-h", "saved")
    monkeypatch.setenv("TLKIT_STUDENT_ID", "from-env")
    assert gradebook_module.student_id_source() == ("from-env", "environment")
    with pytest.raises(StudentIdError, match="empty"):
        gradebook_module.set_student_id("   ")
    with pytest.raises(StudentIdError, match="not accepted"):
        gradebook_module.set_student_id("robert'); DROP TABLE")
    assert saved.read_text().strip() == "grace-h"


def test_choosing_an_id_applies_at_once_in_a_kernel_whose_environment_set_one(no_student_id, monkeypatch):
    monkeypatch.setenv("TLKIT_STUDENT_ID", "from-env")
    gradebook_module.set_student_id("grace-h")
    assert current_student_id() == "grace-h"


def test_the_gradebook_creates_its_own_private_folder_without_warnings(tmp_path):
    path = tmp_path / "home" / ".local" / "share" / "tlkit" / "gradebook.sqlite3"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Gradebook(path).record_quiz_answer("ada", "course", "q1", "a", True)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [answer["question_id"] for answer in Gradebook(path).quiz_answers()] == ["q1"]


def test_no_kernel_code_calls_input(repo_root):
    calls = [
        f"{path.relative_to(repo_root)}:{number}"
        for path in sorted((repo_root / "tlkit").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"(?<![\w.])input\(", line)
    ]
    assert not calls, f"input() would make Run All wait for an answer: {calls}"


# ------------------------------------------------------------------ spool under contention

STRESS_TRIALS = 3
STRESS_WRITERS = 6
STRESS_RECORDS_PER_WRITER = 300


def _hold_the_write_lock_on_and_off(path: str, stop, ready) -> None:
    """Run in a child process: take SQLite's write lock for a few ms at a time until ``stop`` is set."""
    import random
    import time

    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    ready.set()
    generator = random.Random(0)
    while not stop.is_set():
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(generator.uniform(0.0, 0.004))
        connection.execute("ROLLBACK")
        time.sleep(generator.uniform(0.0, 0.004))
    connection.close()


def _write_through_contention(path: str, spool: str, trial: str, writer_number: int) -> tuple[list[str], int, int]:
    """Run in a child process: record checks with a tiny busy timeout, so many go to the spool.

    Returns the questions of every record the gradebook acknowledged (stored,
    or "saved in" the spool), how many were spooled and how many were refused.
    """
    book = Gradebook(path, busy_timeout=0.001, spool_path=spool)
    acknowledged, spooled, refused = [], 0, 0
    for index in range(STRESS_RECORDS_PER_WRITER):
        question = f"w{writer_number}-r{index}"
        try:
            book.record_check("stress", trial, question, "correct", "under contention")
        except GradebookError as error:
            if "was NOT saved" in str(error):
                refused += 1
                continue
            spooled += 1
        acknowledged.append(question)
    return acknowledged, spooled, refused


def test_the_spool_keeps_every_acknowledged_record_under_heavy_contention(tmp_path):
    """Many writers, a tiny busy timeout and a lock holder force the spool path; nothing is lost or doubled."""
    path = str(tmp_path / "contended.sqlite3")
    spool = tmp_path / "spool.jsonl"
    Gradebook(path, spool_path=spool).record_check("setup", "nb", "q", "correct", "creates the schema")
    context = multiprocessing.get_context("spawn")
    totals = {"acknowledged": 0, "spooled": 0, "lost": 0, "duplicated": 0, "refused": 0}
    with context.Pool(STRESS_WRITERS) as pool:
        for trial_number in range(STRESS_TRIALS):
            trial = f"trial-{trial_number}"
            stop, ready = context.Event(), context.Event()
            holder = context.Process(target=_hold_the_write_lock_on_and_off, args=(path, stop, ready))
            holder.start()
            try:
                assert ready.wait(60)
                results = pool.starmap(
                    _write_through_contention, [(path, str(spool), trial, number) for number in range(STRESS_WRITERS)]
                )
            finally:
                stop.set()
                holder.join(60)
            assert holder.exitcode == 0
            # One uncontended write replays whatever is still spooled.
            Gradebook(path, spool_path=spool).record_check("stress", "after", trial, "correct", "replays the spool")
            assert not spool.exists() and not list(tmp_path.glob("spool.jsonl.*.replaying"))
            with sqlite3.connect(path) as connection:
                stored = dict(connection.execute(
                    "SELECT question, COUNT(*) FROM checks WHERE notebook = ? GROUP BY question", (trial,)
                ).fetchall())
            acknowledged = [question for questions, _, _ in results for question in questions]
            totals["acknowledged"] += len(acknowledged)
            totals["spooled"] += sum(spooled for _, spooled, _ in results)
            totals["refused"] += sum(refused for _, _, refused in results)
            totals["lost"] += sum(1 for question in acknowledged if question not in stored)
            totals["duplicated"] += sum(count - 1 for count in stored.values())
    print(f"spool stress: {totals}")
    assert totals["acknowledged"] >= 5000
    assert totals["spooled"] > 0, "the lock holder never forced the spool path; the test proves nothing"
    assert totals["lost"] == 0 and totals["duplicated"] == 0, totals
    assert totals["refused"] == 0, totals


def _spool_one_record(book, path, question, message="spooled"):
    """Record a check while another connection holds the write lock, so it goes to the spool."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GradebookError, match="saved in"):
            book.record_check("ada", "nb01", question, "correct", message)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_spooled_record_with_unicode_line_separators_is_replayed(tmp_path):
    path = tmp_path / "book.sqlite3"
    book = Gradebook(path, busy_timeout=0.05, spool_path=tmp_path / "spool.jsonl")
    book.record_check("ada", "nb01", "q0", "correct", "creates the schema")
    tricky = "line\u2028separator\u2029paragraph\x85next-line"
    _spool_one_record(book, path, "q1", tricky)
    book.record_check("ada", "nb01", "q2", "correct", "replays")
    assert [(r["question"], r["message"]) for r in book.check_results("nb01")][1] == ("q1", tricky)


def test_a_record_spooled_after_a_crash_mid_line_is_not_glued_to_the_broken_line(tmp_path):
    path = tmp_path / "book.sqlite3"
    spool = tmp_path / "spool.jsonl"
    book = Gradebook(path, busy_timeout=0.05, spool_path=spool)
    book.record_check("ada", "nb01", "q0", "correct", "creates the schema")
    spool.write_text('{"table": "checks", "row": {"record_id": "cut-sh')  # a writer killed mid-line
    row = {"record_id": "whole", "student_id": "ada", "notebook": "nb01", "question": "q1", "outcome": "correct",
           "message": "spooled after the crash", "recorded_at": "2000-01-01T00:00:00+00:00"}
    book._append_to_spool("checks", row)
    book.record_check("ada", "nb01", "q2", "correct", "replays")
    assert sorted(r["question"] for r in book.check_results("nb01")) == ["q0", "q1", "q2"]


def test_foreign_lines_in_the_spool_do_not_stop_recording(tmp_path):
    path = tmp_path / "book.sqlite3"
    spool = tmp_path / "spool.jsonl"
    book = Gradebook(path, spool_path=spool)
    spool.write_bytes(b'{"table": "nope", "row": {}}\n{"table": "checks", "row": {"record_id": "x"}}\n[1]\n\xff\xfe\n')
    book.record_check("ada", "nb01", "q1", "correct", "still recorded")
    assert [r["question"] for r in book.check_results("nb01")] == ["q1"]
    assert not spool.exists()


def test_appending_to_the_spool_waits_for_a_claim_in_progress(tmp_path):
    """While another process holds the spool lock (claiming it), an append blocks instead of writing."""
    import threading

    fcntl = pytest.importorskip("fcntl")
    spool = tmp_path / "spool.jsonl"
    book = Gradebook(tmp_path / "book.sqlite3", spool_path=spool)
    descriptor = os.open(str(spool) + ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    appender = threading.Thread(target=book._append_to_spool, args=("checks", {"record_id": "r"}))
    appender.start()
    appender.join(0.5)
    try:
        assert appender.is_alive() and not spool.exists()
    finally:
        os.close(descriptor)
    appender.join(30)
    assert json.loads(spool.read_text())["row"] == {"record_id": "r"}


def test_records_read_from_one_gradebook_are_imported_once_into_another_and_compacted(tmp_path):
    source = Gradebook(tmp_path / "source.sqlite3")
    source.record_check("ada", "nb", "q1", "correct", "ok")
    source.record_grade("ada", "nb", "q1", 1, 1, "ok", ["edited"])
    records = gradebook_module.read_records(source.path)
    assert set(records) == set(gradebook_module.COLUMNS_BY_TABLE)
    assert records["quiz_answers"] == [] and records["grades"][0]["flags"] == '["edited"]'
    target = Gradebook(tmp_path / "target.sqlite3")
    pairs = [(table, row) for table, rows in records.items() for row in rows]
    assert target.import_records(pairs) == 2
    target.import_records(pairs)  # the record ids are unique: importing again adds nothing
    assert gradebook_module.read_records(target.path) == records
    assert target.compact() == target.path
    with sqlite3.connect(target.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not (tmp_path / "target.sqlite3-wal").exists()


def test_a_file_that_is_not_a_gradebook_is_named_when_read(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database")
    with pytest.raises(GradebookError, match=f"{path}: not a readable gradebook"):
        gradebook_module.read_records(path)


@pytest.mark.parametrize("name, expected", [
    ("ada", "ada"), ("Grace Hopper", "Grace-Hopper"), ("../etc", "etc"), ("..", "student"),
    ("a" * 63 + "-b", "a" * 63), ("a  /b", "a-b"),
])
def test_a_submission_name_becomes_a_student_id_by_one_rule_that_is_stable(name, expected):
    assert gradebook_module.student_id_from_name(name) == expected
    assert gradebook_module.student_id_from_name(expected) == expected


def test_the_old_names_of_the_spool_module_and_the_id_cleaner_warn():
    import importlib
    import sys as system

    from tlkit.instructor import intake

    with pytest.warns(DeprecationWarning, match="student_id_from_name"):
        assert intake.safe_student_id("a b") == "a-b"
    system.modules.pop("tlkit.gradebook_spool", None)
    with pytest.warns(DeprecationWarning, match="tlkit.gradebook.spool"):
        old = importlib.import_module("tlkit.gradebook_spool")
    assert old.Spool is gradebook_module.Spool


def test_a_gradebook_that_never_spooled_leaves_no_lock_file_beside_it(tmp_path):
    # a grader writes a shard under a temporary name and renames it into place: nothing may stay behind
    path = tmp_path / ".shard-0.sqlite3.1a2b3c4d.partial"
    book = Gradebook(path, spool_path=path.with_name(path.name + ".spool"))
    book.record_check("ada", "nb04", "q1", "correct", "ok")
    assert book.check_results("nb04")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")) == []
