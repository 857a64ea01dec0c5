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
:func:`grade_recorded_answers`, :func:`write_exam_csvs` or
``python -m tlkit quiz grade --key quizzes/ --out exam.csv``.
"""

from __future__ import annotations

import csv
import json
import pathlib
import random
from dataclasses import dataclass
from typing import ClassVar

import jsonschema

from tlkit.errors import TlkitError
from tlkit.quiz.answer_matching import AnswerFormatError, Grade, normalise_text
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
from tlkit.quiz.schema import ID_PATTERN, QUESTION_TYPES

__all__ = [
    "EXAM_MODE",
    "EXAM_QUIZ_SCHEMA",
    "EXAM_SUFFIX",
    "ExamKeyError",
    "GradedAnswer",
    "QUIZ_MODES",
    "build_exam_quiz",
    "exam_yaml",
    "grade_recorded_answers",
    "key_free_data",
    "load_key",
    "write_exam_csvs",
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


def build_exam_quiz(path: pathlib.Path, data) -> Quiz:
    """Validate the content of an exam quiz file and build its key-free :class:`Quiz` (``mode == "exam"``)."""
    from tlkit.quiz.loader import QuizFileError

    errors = sorted(jsonschema.Draft202012Validator(EXAM_QUIZ_SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(step) for step in errors[0].absolute_path) or "the file"
        raise QuizFileError(path, f"exam quiz: {where}: {errors[0].message}")
    expected_id = path.name[: -len(EXAM_SUFFIX)] if path.name.endswith(EXAM_SUFFIX) else path.stem
    if data["id"] != expected_id:
        raise QuizFileError(path, f"quiz id {data['id']!r} differs from the file name {path.name!r}; make them equal")
    questions = []
    for raw in data["questions"]:
        kind = raw["type"]
        if kind in ("single", "multiple"):
            if "options" not in raw:
                raise QuizFileError(path, "a choice question needs 'options'", question_id=raw["id"])
            options = tuple(Option(entry["id"], entry["text"], False, "") for entry in raw["options"])
            cls = ExamSingleChoiceQuestion if kind == "single" else ExamMultipleChoiceQuestion
            questions.append(cls(raw["id"], "", raw["text"], options=options, shuffle=raw.get("shuffle", True)))
        elif kind == "numeric":
            questions.append(ExamNumericQuestion(raw["id"], "", raw["text"]))
        else:
            questions.append(ExamTextQuestion(raw["id"], "", raw["text"]))
    return Quiz(data["id"], data["title"], tuple(questions), data.get("description", ""), path, mode=EXAM_MODE)


# ------------------------------------------------------------------------- grading (instructor side)
@dataclass(frozen=True)
class GradedAnswer:
    """One student's latest answer to one question, graded with the source key.

    Attributes
    ----------
    correct : bool
        The grade (False for an answer that cannot be read).
    problem : str
        Why the answer could not be read, or ``""``.
    """

    student_id: str
    quiz_id: str
    question_id: str
    answer: object
    correct: bool
    problem: str = ""


def load_key(key, quiz_ids=None) -> dict[str, Quiz]:
    """Load source quizzes (with key): a folder of ``*.yaml`` quizzes, one file, or loaded quizzes.

    Returns ``{quiz_id: Quiz}``, restricted to ``quiz_ids`` when given.
    """
    from tlkit.quiz.loader import load_quiz

    if isinstance(key, dict):
        quizzes = dict(key)
    elif isinstance(key, Quiz):
        quizzes = {key.id: key}
    else:
        path = pathlib.Path(key)
        if path.is_dir():
            files = [file for file in sorted(path.glob("*.yaml")) if not file.name.endswith(EXAM_SUFFIX)]
        else:
            files = [path]
        quizzes = {quiz.id: quiz for quiz in map(load_quiz, files)}
    for quiz in quizzes.values():
        if quiz.mode == EXAM_MODE:
            raise ExamKeyError(f"{quiz.id}: this is a key-free exam file; pass the source quizzes (with key)")
    if quiz_ids:
        missing = sorted(set(quiz_ids) - set(quizzes))
        if missing:
            raise ExamKeyError(f"no source quiz for {', '.join(missing)} in {key}")
        quizzes = {quiz_id: quizzes[quiz_id] for quiz_id in quiz_ids}
    return quizzes


def _option_id(question: ChoiceQuestion, given) -> str:
    """Map a recorded choice (the option text in exam mode, or a source option id) to the source option id."""
    given = str(given)
    wanted = normalise_text(given)
    for option in question.options:
        if normalise_text(option.text) == wanted:
            return option.id
    for option in question.options:
        if option.id == given:
            return option.id
    raise AnswerFormatError(f"{given!r} is none of the options of {question.id!r}")


def _source_answer(question: QuizQuestion, answer):
    if isinstance(question, SingleChoiceQuestion):
        return None if answer in (None, "") else _option_id(question, answer)
    if isinstance(question, MultipleChoiceQuestion):
        chosen = [answer] if isinstance(answer, str) else list(answer or [])
        return [_option_id(question, item) for item in chosen]
    return answer


def grade_recorded_answers(rows, key) -> list[GradedAnswer]:
    """Grade recorded answers (gradebook rows, oldest first) with the source key; latest answer per question counts.

    Parameters
    ----------
    rows : iterable of dict
        ``Gradebook.quiz_answers()`` rows: student_id, quiz_id, question_id, answer.
    key : path or dict
        Source quizzes, see :func:`load_key`. Rows of other quizzes are ignored.
    """
    quizzes = load_key(key)
    latest: dict[tuple, dict] = {}
    for row in rows:
        if row.get("quiz_id") in quizzes:
            latest[(row["student_id"], row["quiz_id"], row["question_id"])] = row
    graded = []
    for (student_id, quiz_id, question_id), row in sorted(latest.items()):
        answer = row.get("answer")
        problem = ""
        try:
            question = _source_question(quizzes[quiz_id], question_id)
            question_id = question.id
            correct = bool(question.grade(_source_answer(question, answer)).correct)
        except (TlkitError, ValueError, TypeError) as error:
            correct, problem = False, str(error)
        graded.append(GradedAnswer(student_id, quiz_id, question_id, answer, correct, problem))
    return graded


def _source_question(quiz: Quiz, recorded_id: str) -> QuizQuestion:
    """The source question a recorded id names: ``qN`` from an exam release is the N-th, else the id itself."""
    known = {question.id for question in quiz.questions}
    if recorded_id in known:
        return quiz.question(recorded_id)
    if recorded_id.startswith("q") and recorded_id[1:].isdigit() and 1 <= int(recorded_id[1:]) <= len(quiz.questions):
        return quiz.questions[int(recorded_id[1:]) - 1]
    return quiz.question(recorded_id)  # raises with the list of known ids


def exam_scores(graded, key) -> list[dict]:
    """Per student and quiz: ``score`` (right answers) out of ``total`` (questions in the source quiz)."""
    quizzes = load_key(key)
    scores: dict[tuple, int] = {}
    for answer in graded:
        scores.setdefault((answer.student_id, answer.quiz_id), 0)
        scores[(answer.student_id, answer.quiz_id)] += int(answer.correct)
    return [{"student_id": student, "quiz_id": quiz_id, "score": score, "total": len(quizzes[quiz_id].questions)}
            for (student, quiz_id), score in sorted(scores.items())]


def write_exam_csvs(graded, key, out) -> tuple[pathlib.Path, pathlib.Path]:
    """Write every graded answer to ``out`` and the scores to ``<out stem>-scores.csv``; return both paths."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "quiz_id", "question_id", "answer", "correct", "problem"])
        for answer in graded:
            writer.writerow([answer.student_id, answer.quiz_id, answer.question_id,
                             json.dumps(answer.answer, ensure_ascii=False), str(answer.correct).lower(), answer.problem])
    scores_path = out.with_name(f"{out.stem}-scores.csv")
    with scores_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["student_id", "quiz_id", "score", "total"])
        writer.writeheader()
        writer.writerows(exam_scores(graded, key))
    return out, scores_path
