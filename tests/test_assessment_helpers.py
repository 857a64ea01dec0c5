"""The small helpers the assessment modules share: exercise predicates, quiz lookups, SQLite files, the spool."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from tlkit.errors import UnknownNameError
from tlkit.exercises import predicates as check
from tlkit.gradebook.spool import Spool, spooled_records
from tlkit.instructor.sqlite_files import count_rows, journal_files, partial_path, remove_existing
from tlkit.quiz import QuizQuestion
from tlkit.quiz.questions import Option, find_by_id
from tlkit.widget_display import ContainerDisplay


# -- exercise predicates --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 3, -2, np.int64(5), np.uint8(1)])
def test_whole_numbers_are_python_and_numpy_integers(value):
    assert check.is_whole_number(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 2.0, "2", None, np.array(2)])
def test_bools_floats_strings_and_arrays_are_not_whole_numbers(value):
    assert not check.is_whole_number(value)


def test_a_built_keras_model_reports_the_first_failure_in_order():
    keras = pytest.importorskip("keras")
    assert check.is_built_keras_model([1, 2], "base").hint_key == "type"
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    assert check.is_built_keras_model(unbuilt, "base").hint_key == "build"
    built = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert check.is_built_keras_model(built, "base") is None
    assert check.is_batchnorm(keras.layers.BatchNormalization()) and not check.is_batchnorm(built.layers[0])


def test_remembered_weights_are_copies():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    memory = {}
    check.remember_weights(memory, "base_weights", model)
    kernel = model.layers[0].kernel
    kernel.assign(np.ones(kernel.shape))
    assert not np.array_equal(memory["base_weights"][kernel.path], np.ones(kernel.shape))


# -- quiz ------------------------------------------------------------------------------------------
def test_find_by_id_returns_the_item_or_names_the_ids_there_are():
    options = (Option("a", "A", True, ""), Option("b", "B", False, ""))
    assert find_by_id(options, "b", "option of question 'q1'") is options[1]
    with pytest.raises(UnknownNameError) as raised:
        find_by_id(options, "c", "option of question 'q1'")
    assert "'a'" in str(raised.value) and "'b'" in str(raised.value)


def test_the_former_quiz_question_name_still_imports():
    import tlkit.quiz

    with pytest.warns(DeprecationWarning, match="QuizQuestion"):
        assert tlkit.quiz.Question is QuizQuestion


# -- SQLite files ----------------------------------------------------------------------------------
def _book(path, rows=2):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE grades (value INTEGER)")
    connection.executemany("INSERT INTO grades VALUES (?)", [(n,) for n in range(rows)])
    connection.commit()
    connection.close()


@pytest.mark.parametrize("immutable", [False, True])
def test_count_rows_counts_each_table(tmp_path, immutable):
    _book(tmp_path / "book.sqlite3", rows=3)
    assert count_rows(tmp_path / "book.sqlite3", immutable=immutable) == {"grades": 3}
    assert count_rows(tmp_path / "missing.sqlite3", immutable=immutable) == {}
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all, just text" * 10)
    assert count_rows(tmp_path / "junk.sqlite3", immutable=immutable) == {"unreadable": 1}


def test_partial_files_are_hidden_beside_their_target_and_removed_with_their_journals(tmp_path):
    target = tmp_path / "gradebook.sqlite3"
    partial = partial_path(target)
    assert partial.parent == tmp_path and partial.name.startswith(".gradebook.sqlite3.")
    assert partial.name.endswith(".partial") and partial != partial_path(target)
    assert [path.name for path in journal_files(partial)] == [partial.name + "-wal", partial.name + "-shm"]
    for path in (partial, *journal_files(partial)):
        path.write_text("x")
    remove_existing([partial, *journal_files(partial)])
    assert list(tmp_path.iterdir()) == []


# -- the gradebook's spool -------------------------------------------------------------------------
COLUMNS = {"checks": ("student_id", "message")}


def test_spooled_records_skip_broken_and_foreign_lines():
    good = json.dumps({"table": "checks", "row": {"record_id": "r", "student_id": "ada", "message": "m"}})
    text = "\n".join([good, '{"table": "nope", "row": {}}', '{"table": "checks", "row": {"record_id": "x"}}', "[1", ""])
    assert spooled_records(text, COLUMNS) == [("checks", {"record_id": "r", "student_id": "ada", "message": "m"})]


def test_a_claimed_spool_can_be_given_back_or_discarded(tmp_path):
    spool = Spool(tmp_path / "book.sqlite3", COLUMNS, tmp_path / "spool.jsonl")
    row = {"record_id": "r1", "student_id": "ada", "message": "m"}
    assert spool.append("checks", row) == tmp_path / "spool.jsonl"
    claimed, records = spool.claim()
    assert records == [("checks", row)] and not spool.path.exists()
    spool.give_back(claimed, records)
    assert spooled_records(spool.path.read_text(), COLUMNS) == [("checks", row)]
    claimed, records = spool.claim()
    spool.discard(claimed)
    assert not any(path.name.endswith(".replaying") for path in tmp_path.iterdir())


def test_the_default_spool_sits_beside_a_writable_gradebook(tmp_path):
    spool = Spool(tmp_path / "book.sqlite3", COLUMNS)
    assert spool.path == tmp_path / "book.sqlite3.spool.jsonl"
    assert spool.candidates()[0] == spool.path and len(spool.candidates()) == 2


# -- widgets ---------------------------------------------------------------------------------------
def test_a_container_widget_shows_its_own_plain_text():
    class Box:
        def _repr_mimebundle_(self, **kwargs):
            return {"text/plain": "VBox(children=(...))", "application/vnd.jupyter.widget-view+json": {}}

    class Shown(ContainerDisplay):
        def __init__(self):
            self.container = Box()

        def plain_text(self):
            return "<one line>"

        def static_html(self):
            return "<p>a static copy</p>"

    bundle = Shown()._repr_mimebundle_()
    assert bundle["text/plain"] == "<one line>" and "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == "<p>a static copy</p>"
