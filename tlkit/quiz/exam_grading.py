"""Exam mode, instructor side: grade recorded exam answers with the key from the source quizzes.

The key-free exam files and their questions are in :mod:`tlkit.quiz.exam`;
``python -m tlkit quiz grade --key quizzes/ --out exam.csv`` (:mod:`tlkit.quiz.exam_cli`)
runs :func:`grade_recorded_answers` and :func:`write_exam_csvs`.
"""

from __future__ import annotations

import csv
import json
import pathlib
from dataclasses import dataclass

from tlkit.errors import TlkitError
from tlkit.quiz.answer_matching import AnswerFormatError, normalise_text
from tlkit.quiz.exam import EXAM_MODE, EXAM_SUFFIX, ExamKeyError
from tlkit.quiz.loader import load_quiz
from tlkit.quiz.questions import ChoiceQuestion, MultipleChoiceQuestion, Quiz, QuizQuestion, SingleChoiceQuestion

__all__ = ["GradedAnswer", "exam_scores", "grade_recorded_answers", "load_key", "write_exam_csvs"]


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
