"""Quiz files: schema and rule checks, clear errors, and pure-Python grading."""

from __future__ import annotations

import pathlib

import jsonschema
import pytest
import yaml

from tlkit.errors import MissingFileError, TlkitError, UnknownNameError
from tlkit.quiz import (
    QUIZ_SCHEMA,
    AnswerFormatError,
    MultipleChoiceQuestion,
    NumericQuestion,
    QuizFileError,
    SingleChoiceQuestion,
    TextQuestion,
    available_quizzes,
    load_quiz,
    normalise_text,
    resolve_quiz,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUIZ_FOLDER = ROOT / "quizzes"
BAD = ROOT / "tests" / "fixtures" / "bad_quizzes"

# file stem -> (question id or None, fragment of the problem)
BAD_QUIZZES = {
    "yaml_syntax_error": (None, "line 6: YAML syntax error at column 4"),
    "duplicate_key": (None, "line 12: key 'correct' appears twice"),
    "empty_file": (None, "the file is empty"),
    "not_a_mapping": (None, "must hold a mapping with 'id', 'title' and 'questions', not list"),
    "missing_title": (None, "missing required field 'title'"),
    "id_mismatch": (None, "quiz id 'another_name' differs from the file name 'id_mismatch.yaml'"),
    "no_questions": (None, "'questions' needs at least 1 item(s), has 0"),
    "unknown_type": ("lr-choice", "'type' is 'choice'; choose one of: single, multiple, numeric, text"),
    "missing_option_explanation": ("frozen-meaning", "option 'b' has no 'explanation'"),
    "single_two_correct": ("bn-mode", "single-choice question has 2 correct options; mark exactly one"),
    "multiple_none_correct": ("freezing-facts", "multiple-answer question has no correct option"),
    "duplicate_question_id": ("twice", "id is used by questions 1 and 2"),
    "duplicate_option_id": ("same-option", "option id 'a' is used by options 1 and 2"),
    "duplicate_option_text": ("twin-text", "options 1 and 2 have the same text"),
    "numeric_range_reversed": ("lr-range", "has low > high"),
    "numeric_negative_tolerance": ("layer-count", "tolerance is -0.5; it must be 0 or more"),
    "numeric_answer_and_range": ("both-given", "give either 'answer' (with 'tolerance') or 'range', not both"),
    "numeric_no_answer": ("no-answer", "a numeric question needs 'answer'"),
    "numeric_tolerance_with_range": ("range-and-tolerance", "'tolerance' only applies with 'answer'"),
    "text_blank_variant": ("punctuation-only", "accepted answer '?!' is empty"),
    "text_duplicate_variants": ("same-variant", "accepted answers 'Compile' and 'compile()' are the same"),
    "text_missing_accepted": ("nothing-accepted", "missing required field 'accepted' (a text question needs it)"),
    "options_on_numeric": ("stray-options", "field 'options' does not apply to a numeric question"),
    "unknown_field": ("with-hint", "unknown field 'hint'"),
    "single_one_option": ("lonely", "'options' needs at least 2 item(s), has 1"),
    "bad_question_id": ("Batch Norm?", "not a valid id"),
    "correct_not_boolean": ("maybe-right", "'correct' of option 'a' must be true or false, not 'maybe'"),
    "explanation_on_choice": ("misplaced", "move 'explanation' into the options"),
    "blank_explanation": ("blank-why", "option 'b' has a blank explanation"),
    "text_not_string": ("numeric-label", "'text' of option 'b' must be text, not 42"),
}


def test_every_bad_fixture_is_listed():
    assert {path.stem for path in BAD.glob("*.yaml")} == set(BAD_QUIZZES)
    assert len(BAD_QUIZZES) >= 15


@pytest.mark.parametrize("stem", sorted(BAD_QUIZZES))
def test_bad_quiz_gives_a_one_line_message_naming_file_question_and_problem(stem):
    question_id, problem = BAD_QUIZZES[stem]
    with pytest.raises(QuizFileError) as caught:
        load_quiz(BAD / f"{stem}.yaml")
    message = str(caught.value)
    assert isinstance(caught.value, TlkitError)
    assert "\n" not in message
    assert message.startswith(f"tests/fixtures/bad_quizzes/{stem}.yaml")
    assert problem in message
    if question_id is not None:
        assert f"question {question_id!r}" in message
        assert caught.value.question_id == question_id
    assert caught.value.problem in message


def test_bad_quiz_messages_are_all_different():
    messages = set()
    for stem in BAD_QUIZZES:
        with pytest.raises(QuizFileError) as caught:
            load_quiz(BAD / f"{stem}.yaml")
        messages.add(caught.value.problem)
    assert len(messages) == len(BAD_QUIZZES)


def test_question_without_id_is_named_by_position(tmp_path):
    path = tmp_path / "anonymous.yaml"
    path.write_text("id: anonymous\ntitle: T\nquestions:\n  - topic: t\n    type: single\n    text: Q?\n")
    with pytest.raises(QuizFileError, match=r"question #1: missing required field 'id'"):
        load_quiz(path)


def test_missing_file_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        load_quiz(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("quiz_id", available_quizzes())
def test_every_shipped_quiz_validates(quiz_id):
    path = QUIZ_FOLDER / f"{quiz_id}.yaml"
    jsonschema.Draft202012Validator(QUIZ_SCHEMA).validate(yaml.safe_load(path.read_text()))
    quiz = load_quiz(path)
    assert quiz.id == quiz_id and quiz.title
    if quiz_id != "course":
        assert len(quiz.questions) >= 5
        assert {question.type for question in quiz.questions} == {"single", "multiple", "numeric", "text"}


def test_shipped_quizzes_are_the_expected_ones():
    expected = {"course", "00_welcome", "01_feature_extraction", "02_freezing", "03_fine_tuning",
                "04_negative_transfer", "05_layer_choice"}
    assert expected <= set(available_quizzes())


def test_course_quiz_keeps_the_course_wording():
    quiz = load_quiz(QUIZ_FOLDER / "course.yaml")
    assert [question.text for question in quiz.questions] == [
        "What is a benefit of using transfer learning?",
        'What does "freezing layers" in transfer learning imply?',
        "What is the most important factor to consider when choosing a pre-trained model for transfer learning?",
    ]
    right = quiz.question("choosing-pretrained").option("a")
    assert right.correct and "related" in right.text


def test_schema_is_documented():
    question = QUIZ_SCHEMA["properties"]["questions"]["items"]
    for name, spec in question["properties"].items():
        assert spec.get("description"), name


def test_resolve_quiz_by_id_and_unknown_id():
    assert resolve_quiz("02_freezing").id == "02_freezing"
    with pytest.raises(UnknownNameError, match="unknown quiz 'nope'; choose one of: .*'02_freezing'"):
        resolve_quiz("nope")


# ------------------------------------------------------------------ grading


def _freezing():
    return load_quiz(QUIZ_FOLDER / "02_freezing.yaml")


def test_single_choice_grading():
    question = _freezing().question("bn-mode")
    assert isinstance(question, SingleChoiceQuestion)
    correct, feedback = question.grade("a")
    assert correct and feedback.startswith("**Correct.**") and "inference mode" in feedback
    correct, feedback = question.grade("b")
    assert not correct and feedback.startswith("**Not quite.**") and "old behaviour" in feedback
    assert question.grade(None) == (False, "**Not quite.** No option was chosen.")
    with pytest.raises(UnknownNameError, match="unknown option of question 'bn-mode' 'z'"):
        question.grade("z")


def test_multiple_answer_is_all_or_nothing():
    question = _freezing().question("freezing-facts")
    assert isinstance(question, MultipleChoiceQuestion)
    assert question.grade(["a", "b"]).correct
    assert question.grade({"b", "a"}).correct
    partial = question.grade(["a"])
    assert not partial.correct and "You left 1 right option unchecked." in partial.feedback
    too_many = question.grade(["a", "b", "c"])
    assert not too_many.correct and "non_trainable_weights" in too_many.feedback
    assert not question.grade([]).correct
    assert question.answer_for_record(("b", "a")) == ["a", "b"]


def test_numeric_with_tolerance_and_range():
    quiz = load_quiz(QUIZ_FOLDER / "04_negative_transfer.yaml")
    gap = quiz.question("ntg-compute")
    assert isinstance(gap, NumericQuestion)
    assert gap.grade(0.03).correct and gap.grade("0.0305").correct and gap.grade("0,03").correct
    assert not gap.grade(0.032).correct
    assert not gap.grade(-0.03).correct
    learning_rate = load_quiz(QUIZ_FOLDER / "03_fine_tuning.yaml").question("fine-tune-lr")
    assert (learning_rate.low, learning_rate.high) == (1e-5, 1e-4)
    assert learning_rate.grade("1e-5").correct and learning_rate.grade("5e-5").correct
    assert learning_rate.grade(1e-4).correct
    assert not learning_rate.grade("1e-3").correct
    with pytest.raises(AnswerFormatError, match="'ten' is not a number"):
        learning_rate.grade("ten")
    assert learning_rate.key_markdown() == "Right: any value from 1e-05 to 0.0001"


def test_text_answers_are_normalised():
    question = _freezing().question("frozen-weights-list")
    assert isinstance(question, TextQuestion)
    for typed in ("non_trainable_weights", "  Non-Trainable Weights ", "model.non_trainable_weights", "NON TRAINABLE WEIGHTS!"):
        assert question.grade(typed).correct, typed
    correct, feedback = question.grade("trainable_weights")
    assert not correct and "`non_trainable_weights`" in feedback
    assert not question.grade("   ").correct


def test_normalise_text():
    assert normalise_text("  Include_Top!  ") == "include top"
    assert normalise_text("ＡＢＣ") == "abc"
    assert normalise_text("a\t\nb") == "a b"


@pytest.mark.parametrize("quiz_id", available_quizzes())
def test_text_answers_are_not_given_away_by_other_visible_text(quiz_id):
    quiz = load_quiz(QUIZ_FOLDER / f"{quiz_id}.yaml")
    for question in quiz.questions:
        if not isinstance(question, TextQuestion):
            continue
        visible = [quiz.title, quiz.description]
        for other in quiz.questions:
            visible.append(other.text)
            visible += [option.text for option in getattr(other, "options", ())]
        page = f" {normalise_text(' '.join(visible))} "
        canonical = question.accepted[0]  # variants may be common words ("first")
        assert f" {normalise_text(canonical)} " not in page, (question.id, canonical)
