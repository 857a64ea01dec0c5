"""Exam mode: quizzes released without their key, graded afterwards by the instructor.

A sealed quiz (:mod:`tlkit.quiz.sealed`) still holds its key: anyone running a
few lines of Python can read it. That is fine for self-check quizzes, not for
an exam. ``python -m tlkit release ... --quiz-mode exam`` therefore writes
``quizzes/<id>.exam.yaml`` files made by :func:`key_free_data`, which hold only
what a student sees anyway:

* the quiz's id, title and description;
* each question's type and text under a positional id ``q1``, ``q2``... (no
  source id and no topic: ``trainable-attribute`` names the answer of a text
  question); the grader maps ``qN`` back to the N-th source question, so
  grade with the source quizzes as they were released;
* for choice questions the option texts, in a random order, under fresh ids
  ``o1``, ``o2``... (a source id such as ``a`` could hint at the right one);
  nothing says which option is right, and no explanation is kept;
* for numeric and text questions no answer, range, tolerance, accepted
  variant or explanation.

Nothing is hashed, so there is nothing to brute-force: the file is the same
whichever option is right. In the notebook the widget records each answer
(choice answers as the option *texts*) in the gradebook with ``correct``
left empty and shows "Answer recorded" without a verdict. The instructor
then grades the recorded answers with the key from the source quizzes:
:func:`~tlkit.quiz.exam_grading.grade_recorded_answers`,
:func:`~tlkit.quiz.exam_grading.write_exam_csvs` or
``python -m tlkit quiz grade --key quizzes/ --out exam.csv``. A key-free file is
read by :func:`tlkit.quiz.loader.load_quiz`, like every quiz file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from tlkit.errors import TlkitError
from tlkit.quiz.answer_matching import Grade
from tlkit.quiz.questions import (
    ChoiceQuestion,
    MultipleChoiceQuestion,
    NumericQuestion,
    Quiz,
    SingleChoiceQuestion,
    TextQuestion,
)
from tlkit.quiz.schema import ID_PATTERN, QUESTION_TYPES

__all__ = [
    "EXAM_MODE",
    "EXAM_QUIZ_SCHEMA",
    "EXAM_SUFFIX",
    "ExamKeyError",
    "ExamMultipleChoiceQuestion",
    "ExamNumericQuestion",
    "ExamSingleChoiceQuestion",
    "ExamTextQuestion",
    "QUIZ_MODES",
    "exam_yaml",
    "key_free_data",
]

EXAM_MODE = "exam"
SELF_CHECK_MODE = "self-check"
QUIZ_MODES = (SELF_CHECK_MODE, EXAM_MODE)
#: Suffix of a key-free exam quiz in a release (``quizzes/<id>.exam.yaml``).
EXAM_SUFFIX = ".exam.yaml"
RECORDED_MESSAGE = "Answer recorded."


class ExamKeyError(TlkitError, RuntimeError):
    """An exam quiz was asked to grade an answer: it holds no key (the instructor grades it)."""


# ------------------------------------------------------------------------- writing (release side)
def key_free_data(quiz: Quiz, rng: random.Random | None = None) -> dict:
    """The content of ``quiz`` a student may see, without anything that reveals or encodes the key.

    Parameters
    ----------
    quiz : Quiz
        The source quiz, key included.
    rng : random.Random, optional
        Orders the options of shuffled choice questions; a fresh system-seeded
        generator by default, so the file order says nothing.
    """
    rng = rng or random.SystemRandom()
    questions = []
    for number, question in enumerate(quiz.questions, start=1):
        entry = {"id": f"q{number}", "type": question.type, "text": question.text}
        if isinstance(question, ChoiceQuestion):
            options = list(question.options)
            if question.shuffle:
                rng.shuffle(options)
            entry["options"] = [{"id": f"o{number}", "text": option.text} for number, option in enumerate(options, 1)]
            entry["shuffle"] = question.shuffle
        questions.append(entry)
    data = {"id": quiz.id, "mode": EXAM_MODE, "title": quiz.title}
    if quiz.description:
        data["description"] = quiz.description
    data["questions"] = questions
    return data


def exam_yaml(quiz: Quiz, rng: random.Random | None = None) -> str:
    """The text of ``<id>.exam.yaml`` for ``quiz`` (see :func:`key_free_data`)."""
    import yaml

    header = ("# tlkit exam quiz: answers are recorded and graded by the instructor; this file holds no key.\n")
    return header + yaml.safe_dump(key_free_data(quiz, rng), allow_unicode=True, sort_keys=False, width=100)


# ------------------------------------------------------------------------- reading (student side)
_EXAM_OPTION = {
    "type": "object",
    "required": ["id", "text"],
    "additionalProperties": False,
    "properties": {"id": {"type": "string", "pattern": ID_PATTERN}, "text": {"type": "string", "minLength": 1}},
}
_EXAM_QUESTION = {
    "type": "object",
    "required": ["id", "type", "text"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "type": {"enum": list(QUESTION_TYPES)},
        "text": {"type": "string", "minLength": 1},
        "options": {"type": "array", "minItems": 2, "items": _EXAM_OPTION},
        "shuffle": {"type": "boolean"},
    },
}
EXAM_QUIZ_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tlkit exam quiz file (no key)",
    "type": "object",
    "required": ["id", "mode", "title", "questions"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "mode": {"const": EXAM_MODE},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "questions": {"type": "array", "minItems": 1, "items": _EXAM_QUESTION},
    },
}


class _RecordedOnly:
    """A question without key: it records answers and refuses to grade them."""

    recorded_only: ClassVar[bool] = True

    def grade(self, answer) -> Grade:
        raise ExamKeyError(f"question {self.id!r} comes from an exam quiz without key; the instructor grades it "
                           "with `python -m tlkit quiz grade`")

    def key_markdown(self) -> str:
        return "The key is not in this file: the instructor grades exam answers."


@dataclass(frozen=True)
class ExamSingleChoiceQuestion(_RecordedOnly, SingleChoiceQuestion):
    """A single-choice question without key; records the chosen option's text."""

    def answer_for_record(self, answer):
        return None if answer in (None, "") else self.option(str(answer)).text


@dataclass(frozen=True)
class ExamMultipleChoiceQuestion(_RecordedOnly, MultipleChoiceQuestion):
    """A multiple-answer question without key; records the checked options' texts."""

    def answer_for_record(self, answer):
        return sorted(self.option(option_id).text for option_id in self._chosen_ids(answer))


@dataclass(frozen=True)
class ExamNumericQuestion(_RecordedOnly, NumericQuestion):
    """A numeric question without key."""


@dataclass(frozen=True)
class ExamTextQuestion(_RecordedOnly, TextQuestion):
    """A text question without key."""
