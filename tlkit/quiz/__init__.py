"""Quizzes for tlkit: YAML question files, validation, grading and widgets.

Public API
----------
load_quiz(path) -> Quiz
    Load and validate a quiz file; raises :class:`QuizFileError`.
show_quiz(quiz, mode="self-check", ...) -> QuizWidget
    Render a quiz (object, id such as ``"02_freezing"``, or path) with ipywidgets.
QuizQuestion.grade(answer) -> (correct, feedback)
    Pure-Python grading, no widgets needed.

``Question``, the former name of :class:`QuizQuestion`, still answers with a DeprecationWarning.

The file format is documented in ``docs/quiz-format.md``.
"""

from tlkit.quiz.answer_matching import AnswerFormatError, Grade, normalise_text
from tlkit.quiz.loader import QuizFileError, available_quizzes, load_quiz, resolve_quiz
from tlkit.quiz.questions import (
    ChoiceQuestion,
    MultipleChoiceQuestion,
    NumericQuestion,
    Option,
    Quiz,
    QuizQuestion,
    SingleChoiceQuestion,
    TextQuestion,
)
from tlkit.quiz.schema import QUIZ_SCHEMA
from tlkit.quiz.widget import QuizSetupError, QuizWidget, show_quiz

__all__ = [
    "AnswerFormatError",
    "ChoiceQuestion",
    "Grade",
    "MultipleChoiceQuestion",
    "NumericQuestion",
    "Option",
    "QUIZ_SCHEMA",
    "Quiz",
    "QuizQuestion",
    "QuizFileError",
    "QuizSetupError",
    "QuizWidget",
    "SingleChoiceQuestion",
    "TextQuestion",
    "available_quizzes",
    "load_quiz",
    "normalise_text",
    "resolve_quiz",
    "show_quiz",
]


def __getattr__(name):
    if name == "Question":
        from tlkit.quiz import questions

        return questions.Question  # warns: the former name
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
