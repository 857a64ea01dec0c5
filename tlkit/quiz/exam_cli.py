"""``python -m tlkit quiz grade``: grade recorded exam answers with the key from the source quizzes.

Kept out of :mod:`tlkit.instructor.cli`, which only registers it
(:func:`add_quiz_command`).
"""

from __future__ import annotations

import pathlib

from tlkit.gradebook import Gradebook
from tlkit.quiz.exam_grading import grade_recorded_answers, load_key, write_exam_csvs

__all__ = ["add_quiz_command"]


def _grade(arguments) -> int:
    key = load_key(arguments.key, arguments.quiz or None)
    gradebook = Gradebook(arguments.gradebook)
    rows = [row for quiz_id in key for row in gradebook.quiz_answers(quiz_id)]
    graded = grade_recorded_answers(rows, key)
    if not graded:
        print(f"no recorded answers to {', '.join(key)} in {gradebook.path}")
        return 1
    answers_path, scores_path = write_exam_csvs(graded, key, arguments.out)
    scores = {}
    for answer in graded:
        right, seen = scores.get((answer.student_id, answer.quiz_id), (0, 0))
        scores[(answer.student_id, answer.quiz_id)] = (right + int(answer.correct), seen + 1)
    for (student_id, quiz_id), (right, _seen) in sorted(scores.items()):
        print(f"{student_id} {quiz_id}: {right}/{len(key[quiz_id].questions)}")
    unreadable = [answer for answer in graded if answer.problem]
    if unreadable:
        print(f"{len(unreadable)} answer(s) could not be read and count as wrong (see the 'problem' column)")
    print(f"answers: {answers_path}; scores: {scores_path}")
    return 0


def add_quiz_command(commands) -> None:
    """Register ``quiz grade`` on the ``python -m tlkit`` sub-command parsers."""
    quiz = commands.add_parser("quiz", help="`quiz grade`: grade recorded exam answers with the source key",
                               description="Quiz tools: `quiz grade` scores the answers students recorded in "
                                           "an exam release (no key in their files) with the source quizzes.")
    quiz_commands = quiz.add_subparsers(dest="quiz_command", metavar="{grade}")
    grade = quiz_commands.add_parser("grade", help="score recorded exam answers and write CSV files",
                                     description="Grade each student's latest answer to every question of the "
                                                 "source quizzes; write one row per answer to --out and the "
                                                 "scores to <out>-scores.csv.")
    grade.add_argument("--key", required=True, type=pathlib.Path,
                       help="the source quizzes with their key: a folder of .yaml quizzes or one quiz file")
    grade.add_argument("--gradebook", help="SQLite gradebook holding the recorded answers "
                                           "(default: $TLKIT_GRADEBOOK or the user's data folder)")
    grade.add_argument("--quiz", action="append", metavar="ID",
                       help="grade only this quiz (repeat for several; default: every quiz in --key)")
    grade.add_argument("--out", required=True, help="the CSV file of graded answers to write")
    grade.set_defaults(handler=_grade)
    quiz.set_defaults(handler=lambda arguments: (quiz.print_help(), 2)[1])
