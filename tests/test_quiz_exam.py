"""Exam mode (issue 17, item 6): the release holds no key, answers are recorded, the instructor grades them."""

from __future__ import annotations

import csv
import hashlib
import json
import pathlib
import random

import pytest

from tlkit.gradebook import Gradebook
from tlkit.instructor.release import release_notebooks
from tlkit.quiz import QuizSetupError, available_quizzes, load_quiz, resolve_quiz, show_quiz
from tlkit.quiz.exam import EXAM_SUFFIX, ExamKeyError, exam_yaml, key_free_data
from tlkit.quiz.exam_grading import grade_recorded_answers, load_key, write_exam_csvs
from tlkit.quiz.questions import ChoiceQuestion, MultipleChoiceQuestion, NumericQuestion, SingleChoiceQuestion, TextQuestion

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "fixtures" / "assignment" / "tiny_course.ipynb"
QUIZZES = ROOT / "quizzes"


class FakeGradebook:
    def __init__(self):
        self.records = []

    def record_quiz_answer(self, student_id, quiz_id, question_id, answer, correct):
        self.records.append({"student_id": student_id, "quiz_id": quiz_id, "question_id": question_id,
                             "answer": answer, "correct": correct})


def secrets_of(quiz) -> list[str]:
    """Every explanation: each one reveals whether its option or answer is right."""
    secrets = []
    for question in quiz.questions:
        if isinstance(question, ChoiceQuestion):
            secrets += [option.explanation for option in question.options]
        else:
            secrets += [question.explanation_correct, question.explanation_wrong]
    return [" ".join(text.split()) for text in secrets if text.strip()]


def candidates_of(quiz) -> list[str]:
    """What a brute-force attacker would hash: every option id and text, every accepted answer, every number."""
    found = []
    for question in quiz.questions:
        found.append(question.id)
        if isinstance(question, ChoiceQuestion):
            for option in question.options:
                found += [option.id, option.text, f"{question.id}:{option.id}", f"{question.id}/{option.id}",
                          f"{quiz.id}/{question.id}/{option.id}", f"{question.id}{option.text}"]
        elif isinstance(question, TextQuestion):
            found += list(question.accepted)
        elif isinstance(question, NumericQuestion):
            found += [repr(question.low), repr(question.high), f"{question.low:g}", f"{question.high:g}"]
    return found


@pytest.fixture(scope="module")
def exam_release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exam-release")
    (folder / "quizzes").mkdir()
    (folder / "quizzes" / "01_feature_extraction.tlkq").write_text("stale sealed copy", encoding="utf-8")
    manifest = release_notebooks([SOURCE], folder, quiz_mode="exam")
    return folder, manifest


def released_text(folder) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace")
                     for path in sorted(folder.rglob("*")) if path.is_file())


# -- the release holds no key ------------------------------------------------------------------------
def test_exam_release_writes_key_free_quizzes_and_drops_stale_sealed_copies(exam_release):
    folder, manifest = exam_release
    files = sorted(path.name for path in (folder / "quizzes").iterdir())
    assert files == [f"01_feature_extraction{EXAM_SUFFIX}"]
    assert manifest["quiz_mode"] == "exam"
    import yaml

    data = yaml.safe_load((folder / "quizzes" / files[0]).read_text(encoding="utf-8"))
    assert set(data) <= {"id", "mode", "title", "description", "questions"} and data["mode"] == "exam"
    for question in data["questions"]:
        assert set(question) <= {"id", "type", "text", "options", "shuffle"}, question
        assert all(set(option) == {"id", "text"} for option in question.get("options", []))


def test_no_explanation_accepted_answer_or_numeric_key_appears_anywhere_in_the_release(exam_release):
    folder, _ = exam_release
    quiz = resolve_quiz("01_feature_extraction")
    everything = " ".join(released_text(folder).split())
    secrets = secrets_of(quiz)
    assert len(secrets) >= 8
    for secret in secrets:
        assert secret not in everything, secret
    # accepted answers, numeric keys, source question ids and topics are not in the quiz file either
    exam_file = folder / "quizzes" / f"01_feature_extraction{EXAM_SUFFIX}"
    import yaml

    values = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        else:
            values.append(node)

    walk(yaml.safe_load(exam_file.read_text(encoding="utf-8")))
    fields = [value for value in values if not isinstance(value, str) or len(value) < 60]  # short fields, not texts
    for question in quiz.questions:
        assert question.id not in values and question.topic not in values
        if isinstance(question, TextQuestion):
            assert not set(question.accepted) & set(values)
        if isinstance(question, NumericQuestion):
            assert not {question.low, question.high, question.answer} & {v for v in fields if isinstance(v, float)}
    released = load_quiz(exam_file)
    for question in released.questions:
        if isinstance(question, NumericQuestion):
            assert (question.low, question.high, question.answer) == (0.0, 0.0, None)


def test_a_brute_force_over_every_option_finds_no_hash_in_the_release(exam_release):
    folder, _ = exam_release
    content = released_text(folder).lower()
    quiz = resolve_quiz("01_feature_extraction")
    for candidate in candidates_of(quiz):
        for algorithm in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
            digest = hashlib.new(algorithm, candidate.encode("utf-8")).hexdigest()
            assert digest[:16] not in content, (algorithm, candidate)


@pytest.mark.parametrize("quiz_id", [name for name in available_quizzes(QUIZZES)])
def test_the_exam_file_is_the_same_whichever_option_is_right(quiz_id):
    """The strongest proof: moving the key changes nothing in what the student receives."""
    quiz = load_quiz(QUIZZES / f"{quiz_id}.yaml")
    moved_questions = []
    for question in quiz.questions:
        if isinstance(question, ChoiceQuestion):
            options = tuple(type(option)(option.id, option.text, not option.correct, "other explanation")
                            for option in question.options)
            question = type(question)(question.id, "other topic", question.text, options=options, shuffle=question.shuffle)
        elif isinstance(question, NumericQuestion):
            question = NumericQuestion(question.id, "other", question.text, low=-1.0, high=-0.5, answer=-0.75)
        elif isinstance(question, TextQuestion):
            question = TextQuestion(question.id, "other", question.text, accepted=("something else",))
        moved_questions.append(question)
    moved = type(quiz)(quiz.id, quiz.title, tuple(moved_questions), quiz.description)
    assert exam_yaml(quiz, random.Random(7)) == exam_yaml(moved, random.Random(7))
    data = key_free_data(quiz, random.Random(7))
    for question in data["questions"]:
        assert set(question) <= {"id", "type", "text", "options", "shuffle"}
        for option in question.get("options", []):
            assert set(option) == {"id", "text"} and option["id"].startswith("o")


def test_every_course_quiz_round_trips_through_an_exam_file(tmp_path):
    for quiz_id in available_quizzes(QUIZZES):
        quiz = load_quiz(QUIZZES / f"{quiz_id}.yaml")
        path = tmp_path / f"{quiz_id}{EXAM_SUFFIX}"
        path.write_text(exam_yaml(quiz), encoding="utf-8")
        exam = load_quiz(path)
        assert exam.mode == "exam" and [q.id for q in exam.questions] == [f"q{n}" for n in range(1, len(quiz.questions) + 1)]
        for released, source in zip(exam.questions, quiz.questions):
            assert released.type == source.type and released.text == source.text
            if isinstance(source, ChoiceQuestion):
                assert sorted(o.text for o in released.options) == sorted(o.text for o in source.options)
                assert not any(option.correct or option.explanation for option in released.options)
            with pytest.raises(ExamKeyError):
                released.grade("anything")


# -- the widget records without a verdict -----------------------------------------------------------
@pytest.fixture
def exam_quiz_file(tmp_path):
    path = tmp_path / f"02_freezing{EXAM_SUFFIX}"
    path.write_text(exam_yaml(load_quiz(QUIZZES / "02_freezing.yaml")), encoding="utf-8")
    return path


def right_answer_texts():
    quiz = load_quiz(QUIZZES / "02_freezing.yaml")
    answers = {}
    for number, question in enumerate(quiz.questions, start=1):
        answers[f"q{number}"] = answers[question.id] = None
        if isinstance(question, SingleChoiceQuestion):
            answers[question.id] = next(option.text for option in question.options if option.correct)
        elif isinstance(question, MultipleChoiceQuestion):
            answers[question.id] = sorted(option.text for option in question.options if option.correct)
        elif isinstance(question, NumericQuestion):
            answers[question.id] = str((question.low + question.high) / 2)
        else:
            answers[question.id] = question.accepted[0]
        answers[f"q{number}"] = answers[question.id]  # the exam file's positional id
    return answers


def fill(widget, answers):
    for view in widget.questions:
        given = answers[view.question.id]
        if isinstance(view.question, ChoiceQuestion):
            by_text = {option.text: option.id for option in view.question.options}
            given = [by_text[text] for text in given] if isinstance(given, list) else by_text[given]
        view.set_answer(given)


def test_the_widget_records_answers_and_shows_no_verdict(exam_quiz_file):
    gradebook = FakeGradebook()
    widget = show_quiz(str(exam_quiz_file), gradebook=gradebook, student_id="ada")  # the notebook's default mode
    assert widget.mode == "exam" and widget.key_free
    fill(widget, right_answer_texts())
    widget.submit_exam()
    assert len(gradebook.records) == len(widget.questions)
    assert all(record["correct"] is None for record in gradebook.records)
    for view in widget.questions:
        assert "Answer recorded" in view.feedback.value
        assert "Correct" not in view.feedback.value and "Not quite" not in view.feedback.value
    assert "7 of 7 answers recorded" in widget.score.value and "Score" not in widget.score.value
    assert "recorded" in widget.message.value
    with pytest.raises(QuizSetupError, match="key-free exam"):
        show_quiz(str(exam_quiz_file), "instructor")


def test_an_exam_file_anywhere_wins_over_a_keyed_copy(exam_quiz_file, monkeypatch):
    monkeypatch.setenv("TLKIT_QUIZ_DIR", str(exam_quiz_file.parent))
    assert resolve_quiz("02_freezing").mode == "exam"  # the repository's keyed YAML is searched first otherwise
    assert "02_freezing" in available_quizzes(exam_quiz_file.parent)


# -- the instructor grades with the source key -------------------------------------------------------
def test_recorded_answers_are_graded_with_the_source_key(exam_quiz_file, tmp_path, capsys):
    book = Gradebook(tmp_path / "class.sqlite3")
    right = right_answer_texts()
    wrong = dict(right)
    quiz = load_quiz(QUIZZES / "02_freezing.yaml")
    single = next(q for q in quiz.questions if isinstance(q, SingleChoiceQuestion))
    position = {question.id: f"q{number}" for number, question in enumerate(quiz.questions, start=1)}
    wrong[position[single.id]] = next(option.text for option in single.options if not option.correct)
    numeric = next(q for q in quiz.questions if isinstance(q, NumericQuestion))
    wrong[position[numeric.id]] = str(numeric.high + 1000)
    for student, answers in (("ada", right), ("bob", wrong)):
        widget = show_quiz(str(exam_quiz_file), gradebook=book, student_id=student, max_attempts=2)
        if student == "bob":  # a first attempt, all right, then changed: the last attempt counts
            fill(widget, right)
            widget.submit_exam()
            widget.retry_exam()
        fill(widget, answers)
        widget.submit_exam()
    rows = book.quiz_answers("02_freezing")
    assert all(row["correct"] is None for row in rows)
    graded = grade_recorded_answers(rows, QUIZZES)
    by_student = {}
    for answer in graded:
        by_student.setdefault(answer.student_id, {})[answer.question_id] = answer.correct
    total = len(quiz.questions)
    assert sum(by_student["ada"].values()) == total
    assert sum(by_student["bob"].values()) == total - 2
    assert not by_student["bob"][single.id] and not by_student["bob"][numeric.id]
    answers_path, scores_path = write_exam_csvs(graded, QUIZZES, tmp_path / "exam.csv")
    scores = list(csv.DictReader(scores_path.open(encoding="utf-8")))
    assert [(row["student_id"], row["score"], row["total"]) for row in scores] == [
        ("ada", str(total), str(total)), ("bob", str(total - 2), str(total))]
    assert len(list(csv.DictReader(answers_path.open(encoding="utf-8")))) == 2 * total
    # the same through the command line
    from tlkit.instructor.cli import main

    out = tmp_path / "cli" / "grades.csv"
    assert main(["quiz", "grade", "--key", str(QUIZZES), "--gradebook", str(book.path), "--quiz", "02_freezing",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"ada 02_freezing: {total}/{total}" in printed and f"bob 02_freezing: {total - 2}/{total}" in printed
    assert (tmp_path / "cli" / "grades-scores.csv").read_text(encoding="utf-8") == scores_path.read_text(encoding="utf-8")


def test_unreadable_answers_count_as_wrong_and_a_key_free_file_is_no_key(exam_quiz_file):
    rows = [{"student_id": "eve", "quiz_id": "02_freezing", "question_id": "q3", "answer": "not an option"}]
    [graded] = grade_recorded_answers(rows, QUIZZES)
    assert graded.correct is False and "none of the options" in graded.problem
    with pytest.raises(ExamKeyError, match="key-free"):
        load_key(exam_quiz_file)


def test_self_check_release_is_unchanged(tmp_path):
    manifest = release_notebooks([SOURCE], tmp_path)
    assert "quiz_mode" not in manifest
    assert sorted(path.name for path in (tmp_path / "quizzes").iterdir()) == ["01_feature_extraction.tlkq"]
    assert resolve_quiz("01_feature_extraction", folder=tmp_path / "quizzes").mode == "self-check"


def test_release_command_line_accepts_the_quiz_mode(tmp_path, capsys):
    from tlkit.instructor.cli import main

    assert main(["release", str(SOURCE), "--to", str(tmp_path), "--quiz-mode", "exam"]) == 0
    assert (tmp_path / "quizzes" / f"01_feature_extraction{EXAM_SUFFIX}").is_file()
    assert json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))["quiz_mode"] == "exam"
