"""Headless tests of the quiz widgets: feedback, score, modes, recording, no key leaks."""

from __future__ import annotations

import html
import json
import re

import ipywidgets
import pytest
from ipywidgets.embed import dependency_state, embed_data

from tlkit.errors import UnknownNameError
from tlkit.quiz import QuizSetupError, QuizWidget, available_quizzes, show_quiz
from tlkit.quiz.questions import ChoiceQuestion, NumericQuestion, SingleChoiceQuestion, TextQuestion


class FakeGradebook:
    """Stands in for tlkit.gradebook.Gradebook: keeps records in a list."""

    def __init__(self, rows=(), fail_with: Exception | None = None):
        self.records: list[tuple] = []
        self.rows = list(rows)
        self.fail_with = fail_with

    def record_quiz_answer(self, student_id, quiz_id, question_id, answer, correct):
        if self.fail_with is not None:
            raise self.fail_with
        self.records.append((student_id, quiz_id, question_id, answer, correct))

    def quiz_answers(self, quiz_id):
        if self.fail_with is not None:
            raise self.fail_with
        return [row for row in self.rows if row["quiz_id"] == quiz_id]


def freezing_quiz(mode="self-check", gradebook=None, **options):
    gradebook = gradebook if gradebook is not None else FakeGradebook()
    widget = show_quiz("02_freezing", mode, gradebook=gradebook, student_id="ada", **options)
    return widget, gradebook


def view_of(widget, question_id):
    return next(view for view in widget.questions if view.question.id == question_id)


RIGHT_ANSWERS = {
    "trainable-vs-training": "a",
    "recompile": "a",
    "bn-mode": "a",
    "slice-count": "3",
    "head-parameters": "645",
    "freezing-facts": ["a", "b"],
    "frozen-weights-list": "model.non_trainable_weights",
}


# ------------------------------------------------------------------ self-check


def test_single_choice_right_answer_gives_feedback_score_and_record():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "bn-mode")
    assert view.feedback.value == ""
    view.set_answer("a")
    view.submit.click()
    assert "Correct." in view.feedback.value and "inference mode" in view.feedback.value
    assert "tlkit-quiz-feedback-correct" in view.feedback._dom_classes
    assert "Score: 1 / 7" in widget.score.value
    assert view.submit.disabled and not view.retry.disabled and view.input.disabled
    assert gradebook.records == [("ada", "02_freezing", "bn-mode", "a", True)]
    assert view.warning.value == ""


def test_wrong_answer_then_retry_then_right():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "recompile")
    view.set_answer("c")
    view.submit.click()
    assert "Not quite." in view.feedback.value and "No error is raised" in view.feedback.value
    assert "Score: 0 / 7 (1 of 7 answered)" in widget.score.value
    view.retry.click()
    assert view.feedback.value == "" and not view.submit.disabled and view.retry.disabled
    assert "Score: 0 / 7 (0 of 7 answered)" in widget.score.value
    view.set_answer("a")
    view.submit.click()
    assert "Correct." in view.feedback.value
    assert "Score: 1 / 7" in widget.score.value
    assert [record[3:] for record in gradebook.records] == [("c", False), ("a", True)]


def test_multiple_answer_all_or_nothing_in_widget():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "freezing-facts")
    view.set_answer(["a"])
    view.submit.click()
    assert "Not quite." in view.feedback.value and "You left 1 right option unchecked." in view.feedback.value
    view.retry.click()
    view.set_answer(["a", "b"])
    view.submit.click()
    assert "Correct." in view.feedback.value
    assert gradebook.records[-1] == ("ada", "02_freezing", "freezing-facts", ["a", "b"], True)


def test_multiple_answer_checkboxes_are_independent_widgets():
    widget, _ = freezing_quiz()
    view = view_of(widget, "freezing-facts")
    boxes = [child for child in view.input.children if isinstance(child, ipywidgets.Checkbox)]
    assert len(boxes) == 4 and all(box.description for box in boxes)
    boxes[0].value = True
    assert view.answer() is not None and len(view.answer()) == 1


def test_numeric_answer_and_unreadable_number():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "head-parameters")
    view.set_answer("six hundred")
    view.submit.click()
    assert view.feedback.value == "" and "is not a number" in view.warning.value
    assert gradebook.records == []
    view.set_answer("645")
    view.submit.click()
    assert "Correct." in view.feedback.value and view.warning.value == ""
    assert gradebook.records == [("ada", "02_freezing", "head-parameters", 645.0, True)]
    other = view_of(widget, "slice-count")
    other.set_answer("5")
    other.submit.click()
    assert "Not quite." in other.feedback.value and "Five layers are frozen" in other.feedback.value


def test_text_answer_is_normalised_in_widget():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "frozen-weights-list")
    view.set_answer("  Model.Non-Trainable Weights ")
    view.submit.click()
    assert "Correct." in view.feedback.value
    assert gradebook.records[-1][3:] == ("Model.Non-Trainable Weights", True)


def test_submit_without_answer_asks_for_one_and_records_nothing():
    widget, gradebook = freezing_quiz()
    view = view_of(widget, "bn-mode")
    view.submit.click()
    assert "Answer the question first." in view.warning.value
    assert view.feedback.value == "" and gradebook.records == []
    assert "Score: 0 / 7 (0 of 7 answered)" in widget.score.value


def test_full_score_in_self_check():
    widget, gradebook = freezing_quiz()
    for question_id, answer in RIGHT_ANSWERS.items():
        view = view_of(widget, question_id)
        view.set_answer(answer)
        view.submit.click()
    assert "Score: 7 / 7 (7 of 7 answered)" in widget.score.value
    assert widget.correct_count == 7 and len(gradebook.records) == 7


def test_failed_recording_still_gives_feedback_and_a_visible_warning():
    failing = FakeGradebook(fail_with=RuntimeError("database is locked; saved in spool.jsonl"))
    widget, _ = freezing_quiz(gradebook=failing)
    view = view_of(widget, "bn-mode")
    view.set_answer("a")
    view.submit.click()
    assert "Correct." in view.feedback.value
    assert "could not be recorded" in view.warning.value and "saved in spool.jsonl" in view.warning.value
    assert "Score: 1 / 7" in widget.score.value


def test_recording_can_be_switched_off():
    widget, gradebook = freezing_quiz(record=False)
    view = view_of(widget, "bn-mode")
    view.set_answer("a")
    view.submit.click()
    assert gradebook.records == [] and "Correct." in view.feedback.value


def test_answers_reach_the_real_gradebook(monkeypatch, tmp_path):
    monkeypatch.setenv("TLKIT_GRADEBOOK", str(tmp_path / "gradebook.sqlite3"))
    monkeypatch.setenv("TLKIT_STUDENT_ID", "grace")
    from tlkit.gradebook import Gradebook

    widget = show_quiz("course")
    view = widget.questions[0]
    view.set_answer("a")
    view.submit.click()
    assert view.warning.value == ""
    rows = Gradebook().quiz_answers("course")
    assert [(row["student_id"], row["question_id"], row["answer"], row["correct"]) for row in rows] == [
        ("grace", "tl-benefit", "a", True)
    ]


# ------------------------------------------------------------------ exam


def test_exam_gives_feedback_only_after_submitting_the_whole_quiz():
    widget, gradebook = freezing_quiz("exam")
    assert all(view.submit not in view.box.children for view in widget.questions)
    for question_id, answer in RIGHT_ANSWERS.items():
        view_of(widget, question_id).set_answer(answer)
    view_of(widget, "bn-mode").set_answer("b")
    assert all(view.feedback.value == "" for view in widget.questions)
    assert "not submitted yet" in widget.score.value
    widget.submit.click()
    assert all(view.feedback.value for view in widget.questions)
    assert "Not quite." in view_of(widget, "bn-mode").feedback.value
    assert "Score: 6 / 7" in widget.score.value
    assert len(gradebook.records) == 7
    assert "No attempts left." in widget.message.value
    assert widget.retry.disabled and widget.submit.disabled


def test_exam_refuses_incomplete_submission_without_using_an_attempt():
    widget, gradebook = freezing_quiz("exam")
    view_of(widget, "bn-mode").set_answer("a")
    widget.submit.click()
    assert "Please answer question(s)" in widget.message.value
    assert widget.attempts_used == 0 and gradebook.records == []
    assert all(view.feedback.value == "" for view in widget.questions)
    assert "Answer the question first." in view_of(widget, "recompile").warning.value


def test_exam_attempt_limit():
    widget, gradebook = freezing_quiz("exam", max_attempts=2)
    for question_id, answer in RIGHT_ANSWERS.items():
        view_of(widget, question_id).set_answer(answer)
    view_of(widget, "slice-count").set_answer("5")
    widget.submit.click()
    assert "Attempt 1 of 2 submitted. 1 attempt(s) left." in widget.message.value
    assert not widget.retry.disabled
    widget.retry.click()
    assert all(view.feedback.value == "" and view.answer() is None for view in widget.questions)
    for question_id, answer in RIGHT_ANSWERS.items():
        view_of(widget, question_id).set_answer(answer)
    widget.submit.click()
    assert "Score: 7 / 7" in widget.score.value
    assert widget.attempts_used == 2 and widget.retry.disabled
    widget.submit_exam()  # a programmatic third try is refused too
    assert widget.attempts_used == 2 and "No attempts left." in widget.message.value
    widget.retry_exam()
    assert all(view.graded is not None for view in widget.questions)
    assert len(gradebook.records) == 14


def test_invalid_settings_are_clear_errors():
    with pytest.raises(UnknownNameError, match="unknown quiz mode 'quiz'"):
        show_quiz("course", "quiz", record=False)
    with pytest.raises(QuizSetupError, match="max_attempts must be a whole number of at least 1, not 0"):
        show_quiz("course", "exam", max_attempts=0, record=False)


# ------------------------------------------------------------------ instructor


def test_instructor_mode_shows_key_explanations_and_histograms():
    rows = [
        {"student_id": "ada", "quiz_id": "02_freezing", "question_id": "bn-mode", "answer": "b", "recorded_at": "1"},
        {"student_id": "ada", "quiz_id": "02_freezing", "question_id": "bn-mode", "answer": "a", "recorded_at": "2"},
        {"student_id": "bob", "quiz_id": "02_freezing", "question_id": "bn-mode", "answer": "c", "recorded_at": "1"},
        {"student_id": "bob", "quiz_id": "02_freezing", "question_id": "head-parameters", "answer": 640.0, "recorded_at": "1"},
        {"student_id": "bob", "quiz_id": "02_freezing", "question_id": "freezing-facts", "answer": ["a", "b"], "recorded_at": "1"},
        {"student_id": "bob", "quiz_id": "02_freezing", "question_id": "frozen-weights-list", "answer": "trainable", "recorded_at": "1"},
    ]
    gradebook = FakeGradebook(rows)
    widget, _ = freezing_quiz("instructor", gradebook=gradebook)
    state = json.dumps(embed_data(views=[widget.container], state=dependency_state(widget.container)), ensure_ascii=False)
    assert "✔ right" in state and "inference mode" in state  # key and explanations are shown
    assert "Accepted: <code>non_trainable_weights</code>" in state
    outputs = {}
    histograms = [w for w in _walk(widget.container) if isinstance(w, ipywidgets.Output)]
    assert len(histograms) == 7
    for output in histograms:
        data = output.outputs[0]["data"]
        outputs[data["text/plain"]] = data
    assert "image/png" in outputs["<histogram of 2 answers to 'bn-mode'>"]  # latest answer per student
    assert "image/png" in outputs["<histogram of 1 answers to 'head-parameters'>"]
    assert "No answers to 'recompile' recorded yet." in outputs
    assert gradebook.records == []


def test_instructor_mode_survives_an_unreadable_gradebook():
    widget, _ = freezing_quiz("instructor", gradebook=FakeGradebook(fail_with=OSError("disk gone")))
    state = json.dumps(embed_data(views=[widget.container], state=dependency_state(widget.container)))
    assert "Could not read the class" in state and "disk gone" in state
    assert "tlkit-quiz-key" in state


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# ------------------------------------------------------------------ CSS classes, keyboard, repr


def test_stable_css_classes_and_descriptions():
    widget, _ = freezing_quiz()
    classes = {css for w in _walk(widget.container) for css in getattr(w, "_dom_classes", ())}
    for css in ("tlkit-quiz", "tlkit-quiz-question", "tlkit-quiz-submit", "tlkit-quiz-feedback",
                "tlkit-quiz-score", "tlkit-quiz-retry", "tlkit-quiz-options"):
        assert css in classes, css
    for w in _walk(widget.container):
        if isinstance(w, (ipywidgets.RadioButtons, ipywidgets.Text, ipywidgets.Checkbox, ipywidgets.Button)):
            assert w.description, w
    exam, _ = freezing_quiz("exam")
    assert "tlkit-quiz-submit" in exam.submit._dom_classes and "tlkit-quiz-retry" in exam.retry._dom_classes


def test_repr_is_short_and_stable():
    widget, _ = freezing_quiz()
    bundle = widget._repr_mimebundle_()
    assert bundle["text/plain"] == "<tlkit quiz '02_freezing': 7 questions, self-check mode>"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert "Run this cell" in static and static.count("<h4>Question ") == 7
    for view in widget.questions:  # every option, in the order the live quiz shows them
        texts = [html.escape(option.text) for option in view.shown_options]
        positions = [static.index(text) for text in texts]
        assert positions == sorted(positions)


# ------------------------------------------------------------------ the key stays in the kernel


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _explanations(question) -> list[str]:
    if isinstance(question, ChoiceQuestion):
        return [option.explanation for option in question.options]
    return [question.explanation_correct, question.explanation_wrong]


def _answer_texts(question) -> list[str]:
    """The right answer of a numeric or text question, written out."""
    if isinstance(question, TextQuestion):
        return list(question.accepted)
    if isinstance(question, NumericQuestion):
        values = [question.low, question.high] + ([question.answer] if question.answer is not None else [])
        return [f"{value:g}" for value in values]
    return []


def _view_state_without_question_text(view) -> str:
    """What the browser gets for one question's input, feedback and buttons (not its text)."""
    states = [w.get_state() for w in _walk(view.box) if w is not view.text and w is not view.box]
    return re.sub(r"IPY_MODEL_[0-9a-f]+", "", json.dumps(states, ensure_ascii=False, default=str))


def _browser_state(widget: QuizWidget) -> str:
    data = embed_data(views=[widget.container], state=dependency_state(widget.container))
    bundle = widget._repr_mimebundle_()
    return json.dumps(data, ensure_ascii=False) + json.dumps(bundle["text/plain"]) + bundle["text/html"]


@pytest.mark.parametrize("mode", ["self-check", "exam"])
@pytest.mark.parametrize("quiz_id", available_quizzes())
def test_no_answer_key_reaches_the_browser_before_submission(quiz_id, mode):
    widget = show_quiz(quiz_id, mode, gradebook=FakeGradebook(), student_id="ada")
    raw = _browser_state(widget)
    squashed = _squash(raw)
    for marker in ("data-correct", '"correct"', "is_correct", "✔", "✘", "tlkit-quiz-feedback-correct",
                   "tlkit-quiz-feedback-wrong", "Correct.", "Not quite."):
        assert marker not in raw, marker
    for question in widget.quiz.questions:
        for explanation in _explanations(question):
            fragment = _squash(explanation)[:40]
            assert fragment and fragment not in squashed, (question.id, explanation)
    for view in widget.questions:
        own_state = _view_state_without_question_text(view)
        for answer in _answer_texts(view.question):
            if isinstance(view.question, NumericQuestion):
                # a number as a token of its own: "20" must not match the "2.0.0" of a widget version
                standalone = re.compile(rf"(?<![\w.]){re.escape(answer)}(?![\w.])")
                assert not standalone.search(own_state), (view.question.id, answer)
            else:
                assert answer not in own_state and _squash(answer) not in _squash(own_state), (view.question.id, answer)
    for view in widget.questions:
        if isinstance(view.question, SingleChoiceQuestion):
            state = view.input.get_state()
            assert "value" not in state  # option ids (values) stay in the kernel
            assert list(state["_options_labels"]) == [option.text for option in view._options]
            assert state["index"] is None  # nothing preselected


def test_feedback_does_reach_the_browser_after_submission():
    """Positive control for the leak test: the same check does see explanations once shown."""
    widget, _ = freezing_quiz()
    view = view_of(widget, "bn-mode")
    view.set_answer("b")
    view.submit.click()
    explanation = view.question.option("b").explanation
    assert _squash(explanation)[:40] in _squash(_browser_state(widget))


def test_shuffle_hides_the_position_of_the_right_option():
    positions = []
    for quiz_id in available_quizzes():
        quiz = show_quiz(quiz_id, record=False)
        for view in quiz.questions:
            if isinstance(view.question, SingleChoiceQuestion):
                positions.append([option.correct for option in view._options].index(True))
    assert len(set(positions)) >= 3  # the right option is not always in the same place
    again = show_quiz("02_freezing", record=False)
    first = show_quiz("02_freezing", record=False)
    assert [v._options for v in again.questions] == [v._options for v in first.questions]  # seeded


def test_an_answer_given_first_thing_by_a_new_student_is_recorded(monkeypatch, tmp_path):
    """No student id anywhere and no gradebook folder yet: the first Submit records under the login name."""
    import getpass

    import platformdirs

    from tlkit import gradebook as gradebook_module

    monkeypatch.delenv("TLKIT_STUDENT_ID", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setenv("TLKIT_GRADEBOOK", str(tmp_path / "data" / "tlkit" / "gradebook.sqlite3"))
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda app: str(tmp_path / "config" / app))
    monkeypatch.setattr(getpass, "getuser", lambda: "new-student")
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail("input() was called"))
    widget = show_quiz("course")
    assert "new-student" in widget.identity.value
    view = next(view for view in widget.questions if isinstance(view.question, SingleChoiceQuestion))
    view.set_answer(view.shown_options[0].id)
    widget.submit_question(view)
    assert view.warning.value == ""
    widget.change_student_id("bad id!")
    assert "not accepted" in widget.identity.value
    widget.change_student_id("ada")
    view.unlock()
    view.set_answer(view.shown_options[0].id)
    widget.submit_question(view)
    answers = gradebook_module.Gradebook().quiz_answers("course")
    assert [answer["student_id"] for answer in answers] == ["new-student", "ada"]
