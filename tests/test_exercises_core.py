"""The exercise engine: statuses, hints chosen by failure, display, recording, binding."""

from __future__ import annotations

import warnings

import pytest

import tlkit.exercises
from tlkit.errors import UnknownNameError
from tlkit.exercises.core import (
    PLACEHOLDER,
    CheckResult,
    Exercise,
    ExerciseBindError,
    ExerciseNotBoundError,
    Failure,
    GradebookWarning,
    Question,
    first_failure,
)
from tlkit.gradebook import Gradebook


class PositiveCount(Question):
    variable = "count"
    hints = [
        ("type", "Use a whole number."),
        ("sign", "Counts are never negative."),
        "Look at the cell above.",
    ]
    solution = """
    count = 3
    """

    def check_value(self, count):
        if count == "stub":
            raise NotImplementedError
        if count == "boom":
            return {}["missing"]
        return first_failure(
            lambda: None if isinstance(count, int) else Failure(f"`count` should be an int, got {type(count).__name__}.", "type"),
            lambda: None if count >= 0 else Failure(f"`count` is {count}; it cannot be negative.", "sign"),
        )


@pytest.fixture
def question():
    exercise = Exercise("nb_test", q1=PositiveCount)
    exercise.bind({})
    return exercise["q1"]


def test_a_correct_answer_is_correct_and_recorded(question):
    question.exercise.namespace["count"] = 3
    result = question.check()
    assert isinstance(result, CheckResult) and result.status == "correct" and result.passed
    recorded = Gradebook().check_results("nb_test")
    assert recorded[-1]["question"] == "q1" and recorded[-1]["outcome"] == "correct"
    assert recorded[-1]["student_id"] == "test-student"


@pytest.mark.parametrize("value", [PLACEHOLDER, "____", "stub"])
def test_placeholders_and_stubs_are_not_attempted(question, value):
    question.exercise.namespace["count"] = value
    assert question.check().status == "not_attempted"


def test_a_missing_variable_is_not_attempted(question):
    result = question.check()
    assert result.status == "not_attempted" and "define `count`" in result.message


def test_bind_defines_the_placeholder_name():
    namespace = {}
    Exercise("nb_test", q1=PositiveCount).bind(namespace)
    assert namespace["____"] is PLACEHOLDER


def test_bind_returns_nothing_so_a_notebook_cell_ending_with_it_shows_no_output():
    """Notebook 05 ends a cell with `ex.bind(globals())`; a returned object would print its repr."""
    from tlkit.exercises import nb05_layer_choice

    assert Exercise("nb_test", q1=PositiveCount).bind({}) is None
    assert nb05_layer_choice.bind({}) is None


def test_an_unexpected_exception_becomes_a_clear_incorrect(question):
    question.exercise.namespace["count"] = "boom"
    result = question.check()
    assert result.status == "incorrect"
    assert "could not be checked: KeyError" in result.message and "Traceback" not in result.message


def test_the_first_hint_matches_what_failed_then_the_rest_follow_in_order(question):
    question.exercise.namespace["count"] = -2
    result = question.check()
    assert result.status == "incorrect" and "is -2" in result.message and result.hint_key == "sign"
    assert question.hint().message == "Counts are never negative."
    assert question.hint().message == "Use a whole number."
    assert question.hint().message == "Look at the cell above."
    assert question.hint().message == "Look at the cell above."  # all shown: the last one again
    question.check()
    assert question.hint().message == "Counts are never negative."  # a new failed check: its hint first


def test_hints_without_a_failure_come_in_order(question):
    first = question.hint()
    assert first.title == "Hint 1/3" and first.message == "Use a whole number."


def test_solution_shows_the_declared_code(question, capsys):
    feedback = question.solution()
    assert feedback.message == "count = 3"
    assert "count = 3" in capsys.readouterr().out


def test_terminal_output_is_plain_text_and_html_is_coloured(question, capsys):
    question.exercise.namespace["count"] = 1.5
    result = question.check()
    assert capsys.readouterr().out.strip() == "Incorrect (q1): `count` should be an int, got float."
    assert "#cf222e" in result._repr_html_()
    question.exercise.namespace["count"] = 1
    assert "#1a7f37" in question.check()._repr_html_()


def test_a_gradebook_failure_warns_but_the_check_still_works(question, monkeypatch, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("TLKIT_GRADEBOOK", str(not_a_folder / "book.sqlite3"))
    monkeypatch.setattr("platformdirs.user_data_dir", lambda app: str(tmp_path / "data"))
    question.exercise.namespace["count"] = 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = question.check()
    assert result.status == "correct"
    assert any(issubclass(w.category, GradebookWarning) and "not recorded" in str(w.message) for w in caught)


def test_checking_before_binding_says_how_to_bind():
    with pytest.raises(ExerciseNotBoundError, match=r"ex.bind\(globals\(\)\)"):
        Exercise("nb_unbound", q1=PositiveCount)["q1"].check()
    with pytest.raises(ExerciseBindError):
        Exercise("nb_unbound", q1=PositiveCount).bind(["not", "a", "namespace"])


def test_bind_by_notebook_name():
    namespace = {}
    module = tlkit.exercises.bind(namespace, "nb02_freezing")
    assert module.q1.exercise.namespace is namespace
    with pytest.raises(UnknownNameError, match="nb99"):
        tlkit.exercises.bind(namespace, "nb99")


@pytest.mark.parametrize("module_name", tlkit.exercises.EXERCISE_MODULES)
def test_every_question_declares_hints_and_a_solution(module_name):
    module = tlkit.exercises.bind({}, module_name)
    assert len(module.exercise.questions) >= 3
    for question in module.exercise.questions.values():
        assert question.variable_names() and question.solution_code().strip()
        assert len(question.hints) >= 2
