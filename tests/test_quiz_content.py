"""What the course quizzes teach: statements a review found wrong stay corrected.

The Keras behaviour behind these answers is measured in tests/test_keras_behaviour.py; here we
check that the quiz files say what those measurements show.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from tlkit.quiz import load_quiz

QUIZ_FOLDER = pathlib.Path(__file__).resolve().parents[1] / "quizzes"


def _question(quiz_id: str, question_id: str):
    quiz = load_quiz(QUIZ_FOLDER / f"{quiz_id}.yaml")
    return next(question for question in quiz.questions if question.id == question_id)


def _option(question, option_id: str):
    return next(option for option in question.options if option.id == option_id)


def _all_quizzes():
    return [load_quiz(path) for path in sorted(QUIZ_FOLDER.glob("*.yaml"))]


def _taught_as_true(quiz):
    """Every text a quiz presents as true: correct options with their explanations, and correct-answer explanations."""
    for question in quiz.questions:
        for option in getattr(question, "options", ()):
            if option.correct:
                yield f"{question.id} option {option.id}", f"{option.text} {option.explanation}"
        correct_explanation = getattr(question, "explanation_correct", "")
        if correct_explanation:
            yield f"{question.id} (correct answer)", correct_explanation


def test_training_false_is_not_sold_as_protecting_batchnorm_in_fine_tuning():
    """Keras 3: fit overrides a recorded training=False; only trainable=False keeps BN's statistics."""
    question = _question("03_fine_tuning", "good-practice")
    assert not _option(question, "c").correct
    assert "training=False" in _option(question, "c").text
    assert "trainable=False" in _option(question, "c").explanation
    assert _option(question, "e").correct and "trainable=False" in _option(question, "e").text
    assert question.correct_ids == frozenset({"a", "b", "e"})

    explained = _question("03_fine_tuning", "bn-mode-when-unfrozen").explanation_correct
    assert "keeps them there even when they are trainable" not in explained
    assert "trainable=False" in explained


@pytest.mark.parametrize("quiz", _all_quizzes(), ids=lambda quiz: quiz.id)
def test_no_quiz_teaches_that_training_false_keeps_batchnorm_statistics(quiz):
    claim = re.compile(r"training=False`?,? (so|keeps|to keep)", re.IGNORECASE)
    for where, text in _taught_as_true(quiz):
        assert not claim.search(text), f"{quiz.id} {where}: {text}"


def test_a_softmax_with_from_logits_is_not_said_to_apply_the_softmax_twice():
    """Keras 3 (TensorFlow) detects a softmax output, warns and uses the logits (tests/test_keras_behaviour.py)."""
    explanation = _option(_question("01_feature_extraction", "logits-loss"), "d").explanation
    assert not explanation.startswith("That applies the softmax twice")
    assert "warns" in explanation


def test_same_classes_is_not_called_no_new_task():
    """Domain adaptation keeps the classes and changes the data: it is still a new task."""
    explanation = _option(_question("00_welcome", "when-it-helps"), "d").explanation
    assert "there is no new task" not in explanation
    assert "domain adaptation" in explanation


# --- figures a quiz quotes come from a results file in the repository -------------------------

RESULTS_FOLDER = QUIZ_FOLDER.parent / "benchmarks" / "results"
CITED_RESULTS = re.compile(r"benchmarks/results/([\w.-]+\.json)")
FIGURE = re.compile(r"(?<![\d.])0\.\d{3}(?!\d)")


def _figures_in(value) -> set:
    """Every number of a results file, and the mean of every list of numbers, to 3 decimals."""
    found = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= _figures_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _figures_in(item)
        numbers = [item for item in value if isinstance(item, (int, float)) and not isinstance(item, bool)]
        if numbers:
            found.add(f"{sum(numbers) / len(numbers):.3f}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found.add(f"{value:.3f}")
    return found


def _questions_citing_results():
    for quiz in _all_quizzes():
        for question in quiz.questions:
            match = CITED_RESULTS.search(question.text)
            if match:
                yield quiz, question, match.group(1)


def test_quizzes_quote_measurements_only_from_a_results_file_they_name():
    import json

    cited = list(_questions_citing_results())
    assert {question.id for _, question, _ in cited} >= {"tlkit-gap", "tlkit-freeze-choice"}
    for quiz, question, file_name in cited:
        figures = _figures_in(json.loads((RESULTS_FOLDER / file_name).read_text()))
        quoted = FIGURE.findall(question.text)
        assert quoted, f"{quiz.id}/{question.id} names {file_name} but quotes no figure"
        missing = [figure for figure in quoted if figure not in figures]
        assert not missing, f"{quiz.id}/{question.id} quotes {missing}, which {file_name} does not hold"


def test_no_quiz_quotes_a_measurement_without_naming_its_results_file():
    for quiz in _all_quizzes():
        for question in quiz.questions:
            if "tlkit's" in question.text and FIGURE.search(question.text):
                assert CITED_RESULTS.search(question.text), f"{quiz.id}/{question.id} quotes tlkit figures without a results file"


def test_the_negative_transfer_gap_question_computes_from_the_quoted_figures():
    question = _question("04_negative_transfer", "tlkit-gap")
    scratch, frozen = (float(figure) for figure in FIGURE.findall(question.text))
    assert question.answer == pytest.approx((1 - frozen) - (1 - scratch), abs=1e-9)
    assert question.answer > 0  # the frozen, shuffled-source base is negative transfer
