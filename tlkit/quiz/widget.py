"""Interactive quizzes in a notebook, built from standard ipywidgets.

Three modes:

``"self-check"``
    every question has its own Submit and Retry buttons and immediate feedback;
``"exam"``
    one Submit for the whole quiz, feedback only afterwards, ``max_attempts`` tries;
``"instructor"``
    the key, every explanation and a histogram of the class's answers
    (see :mod:`tlkit.quiz.instructor_view`).

The answer key stays in the kernel. The browser only receives option
labels (in a seeded random order), never which one is right, and no
explanation is put into any widget before the student submits.

A key-free exam quiz (released with ``--quiz-mode exam``, see
:mod:`tlkit.quiz.exam`) always uses the exam layout, whatever ``mode`` says:
its answers are recorded in the gradebook and each question shows "Answer
recorded", never right or wrong; the instructor grades them later.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from tlkit.errors import TlkitError, UnknownNameError, describe_name_choice
from tlkit.gradebook import set_student_id
from tlkit.quiz.answer_matching import AnswerFormatError, Grade, parse_number
from tlkit.quiz.instructor_view import build_instructor_view
from tlkit.quiz.loader import resolve_quiz
from tlkit.quiz.markdown import markdown_to_html
from tlkit.quiz.questions import (ChoiceQuestion, MultipleChoiceQuestion, NumericQuestion, Quiz, QuizQuestion,
                                  SingleChoiceQuestion)
from tlkit.quiz.recording import AnswerRecorder
from tlkit.widget_display import ContainerDisplay, static_note

__all__ = ["MODES", "QuestionView", "QuizSetupError", "QuizWidget", "show_quiz"]

MODES = ("self-check", "exam", "instructor")


# Let long option labels wrap instead of being cut off with an ellipsis.
_STYLE = """<style>
.tlkit-quiz .widget-radio-box label, .tlkit-quiz .jupyter-widget-radio-box label {
  height: auto; line-height: 1.4; white-space: normal; padding: 2px 0; }
.tlkit-quiz .widget-checkbox, .tlkit-quiz .jupyter-widget-checkbox { height: auto; width: auto; }
.tlkit-quiz .widget-checkbox .widget-label-basic, .tlkit-quiz .jupyter-widget-checkbox .jupyter-widget-label-basic {
  white-space: normal; overflow: visible; line-height: 1.4; }
</style>"""


class QuizSetupError(TlkitError, ValueError):
    """A quiz widget asked for with impossible settings, e.g. ``max_attempts=0``."""


def _html(value: str = "", *classes: str) -> widgets.HTML:
    widget = widgets.HTML(value)
    for css_class in classes:
        widget.add_class(css_class)
    return widget


def _button(label: str, tooltip: str, css_class: str, style: str = "") -> widgets.Button:
    button = widgets.Button(description=label, tooltip=tooltip, button_style=style)
    button.add_class(css_class)
    return button


class QuestionView:
    """The widgets of one question: text, answer input, feedback and (self-check) buttons.

    Parameters
    ----------
    question : QuizQuestion
        The question shown.
    number : int
        Its 1-based position, shown in the heading.
    seed : str
        Seed of the option shuffle.
    with_buttons : bool
        Whether the question has its own Submit and Retry buttons.
    """

    def __init__(self, question: QuizQuestion, number: int, seed: str, with_buttons: bool):
        self.question = question
        self.number = number
        self.text = _html(f"<h4>Question {number}</h4>{markdown_to_html(question.text)}", "tlkit-quiz-text")
        self._options = question.display_order(seed) if isinstance(question, ChoiceQuestion) else ()
        self.input = self._build_input()
        self.feedback = _html("", "tlkit-quiz-feedback")
        self.warning = _html("", "tlkit-quiz-warning")
        self.submit = _button("Submit", "Check your answer to this question", "tlkit-quiz-submit", "primary")
        self.retry = _button("Retry", "Answer this question again", "tlkit-quiz-retry")
        self.retry.disabled = True
        self.graded: Grade | None = None
        self.recorded = False
        children = [self.text, self.input]
        if with_buttons:
            children.append(widgets.HBox([self.submit, self.retry]))
        children += [self.feedback, self.warning]
        self.box = widgets.VBox(children)
        self.box.add_class("tlkit-quiz-question")

    # -- input ---------------------------------------------------------------
    def _build_input(self) -> widgets.Widget:
        full_width = widgets.Layout(width="auto")
        question = self.question
        if isinstance(question, SingleChoiceQuestion):
            # Only the labels reach the browser; the values (option ids) stay here.
            self._radio = widgets.RadioButtons(
                options=[(option.text, option.id) for option in self._options],
                index=None,
                description="Answer",
                layout=full_width,
            )
            control = self._radio
        elif isinstance(question, MultipleChoiceQuestion):
            self._checkboxes = [
                widgets.Checkbox(value=False, description=option.text, indent=False, layout=full_width)
                for option in self._options
            ]
            control = widgets.VBox([widgets.Label("Check every option that applies:"), *self._checkboxes])
        else:
            placeholder = "type a number" if isinstance(question, NumericQuestion) else "type a short answer"
            self._text = widgets.Text(value="", placeholder=placeholder, description="Answer", layout=full_width)
            control = self._text
        control.add_class("tlkit-quiz-options")
        return control

    @property
    def shown_options(self) -> tuple:
        """The options of a choice question in the order shown (empty for other questions)."""
        return tuple(self._options)

    def _controls(self) -> list[widgets.Widget]:
        if isinstance(self.question, SingleChoiceQuestion):
            return [self._radio]
        if isinstance(self.question, MultipleChoiceQuestion):
            return list(self._checkboxes)
        return [self._text]

    def answer(self):
        """Return the current answer: an option id, a list of ids or the typed text (``None`` if none)."""
        if isinstance(self.question, SingleChoiceQuestion):
            return self._radio.value
        if isinstance(self.question, MultipleChoiceQuestion):
            chosen = [option.id for option, box in zip(self._options, self._checkboxes) if box.value]
            return chosen or None
        return self._text.value if self._text.value.strip() else None

    def set_answer(self, answer) -> None:
        """Fill the input programmatically (tests, demos): the same forms :meth:`answer` returns."""
        if isinstance(self.question, SingleChoiceQuestion):
            self._radio.value = answer
        elif isinstance(self.question, MultipleChoiceQuestion):
            chosen = set([answer] if isinstance(answer, str) else (answer or []))
            for option, box in zip(self._options, self._checkboxes):
                box.value = option.id in chosen
        else:
            self._text.value = "" if answer is None else str(answer)

    def clear_answer(self) -> None:
        """Empty the input."""
        if isinstance(self.question, SingleChoiceQuestion):
            self._radio.index = None
        else:
            self.set_answer(None)

    def check_readable(self) -> str | None:
        """Return a message if the current answer is missing or unreadable, else None."""
        answer = self.answer()
        if answer is None:
            return "Answer the question first."
        if isinstance(self.question, NumericQuestion):
            try:
                parse_number(answer)
            except AnswerFormatError as error:
                return f"{str(error)[0].upper()}{str(error)[1:]}."
        return None

    # -- states ----------------------------------------------------------------
    def lock(self, grade: Grade) -> None:
        """Show ``grade`` and disable the input."""
        self.graded = grade
        for control in self._controls():
            control.disabled = True
        self.submit.disabled = True
        self.retry.disabled = False
        verdict_class = "tlkit-quiz-feedback-correct" if grade.correct else "tlkit-quiz-feedback-wrong"
        self.feedback.value = f'<div role="status" aria-live="polite">{markdown_to_html(grade.feedback)}</div>'
        self.feedback.remove_class("tlkit-quiz-feedback-correct").remove_class("tlkit-quiz-feedback-wrong")
        self.feedback.add_class(verdict_class)

    def lock_recorded(self) -> None:
        """Disable the input and say the answer was recorded, without any verdict (key-free exam)."""
        self.graded = None
        self.recorded = True
        for control in self._controls():
            control.disabled = True
        self.submit.disabled = True
        self.retry.disabled = True
        self.feedback.value = '<div role="status" aria-live="polite">Answer recorded.</div>'
        self.feedback.add_class("tlkit-quiz-feedback-recorded")

    def unlock(self, clear: bool = False) -> None:
        """Hide the feedback and make the input editable again."""
        self.graded = None
        for control in self._controls():
            control.disabled = False
        if clear:
            self.clear_answer()
        self.submit.disabled = False
        self.retry.disabled = True
        self.recorded = False
        self.feedback.value = ""
        self.feedback.remove_class("tlkit-quiz-feedback-correct").remove_class("tlkit-quiz-feedback-wrong")
        self.feedback.remove_class("tlkit-quiz-feedback-recorded")
        self.warning.value = ""

    def show_notice(self, message: str) -> None:
        """Show ``message`` under the question (escaped), or clear it with ``""``."""
        self.warning.value = f'<div role="alert">⚠ {html.escape(message)}</div>' if message else ""


class QuizWidget(ContainerDisplay):
    """A quiz rendered with ipywidgets; display it or put it last in a cell.

    Parameters
    ----------
    quiz : Quiz, str or os.PathLike
        A loaded quiz, a quiz id such as ``"02_freezing"`` or a file path.
    mode : {"self-check", "exam", "instructor"}, default "self-check"
        See the module docstring.
    max_attempts : int, default 1
        Exam mode: how many times the whole quiz may be submitted.
    gradebook : object, optional
        Where answers are recorded and (instructor mode) read from;
        defaults to ``tlkit.gradebook.Gradebook()``.
    student_id : str, optional
        Defaults to ``tlkit.gradebook.current_student_id()``.
    record : bool, default True
        Record each submitted answer in the gradebook.
    seed : int or str, default 0
        Seed of the option shuffle (combined with quiz and question ids).

    Attributes
    ----------
    container : ipywidgets.VBox
        The root widget (CSS class ``tlkit-quiz``).
    questions : list of QuestionView
        One view per question, in quiz order.
    """

    def __init__(self, quiz, mode: str = "self-check", *, max_attempts: int = 1, gradebook=None,
                 student_id: str | None = None, record: bool = True, seed: int | str = 0):
        if mode not in MODES:
            raise UnknownNameError(describe_name_choice("quiz mode", mode, MODES))
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise QuizSetupError(f"max_attempts must be a whole number of at least 1, not {max_attempts!r}")
        self.quiz: Quiz = resolve_quiz(quiz)
        self.key_free = self.quiz.mode == "exam"
        if self.key_free:
            if mode == "instructor":
                raise QuizSetupError(f"quiz {self.quiz.id!r} is a key-free exam release; open the source quiz "
                                     "(with its key) for the instructor view")
            mode = "exam"
        self.mode = mode
        self.max_attempts = max_attempts
        self.attempts_used = 0
        self._gradebook = gradebook
        self.recorder = AnswerRecorder(self.quiz.id, gradebook, student_id, enabled=record and mode != "instructor")
        heading = f"<h3>{html.escape(self.quiz.title)}</h3>" + markdown_to_html(self.quiz.description)
        self.title = _html(_STYLE + heading, "tlkit-quiz-title")
        self.score = _html("", "tlkit-quiz-score")
        self.message = _html("", "tlkit-quiz-message")
        if mode == "instructor":
            self.questions = []
            body = build_instructor_view(self.quiz, gradebook)
            self.container = widgets.VBox([self.title, body])
        else:
            per_question = mode == "self-check"
            self.questions = [
                QuestionView(question, number, f"{self.quiz.id}/{seed}", with_buttons=per_question)
                for number, question in enumerate(self.quiz.questions, start=1)
            ]
            footer = self._build_self_check_footer() if per_question else self._build_exam_footer()
            children = [self.title, *(view.box for view in self.questions), footer]
            if self.recorder.enabled:
                children.append(self._build_identity_row())
            self.container = widgets.VBox(children)
            self._update_score()
        self.container.add_class("tlkit-quiz")
        self.container.add_class(f"tlkit-quiz-mode-{mode}")

    # -- building ----------------------------------------------------------------
    def _build_self_check_footer(self) -> widgets.Widget:
        for view in self.questions:
            view.submit.on_click(lambda _button, view=view: self.submit_question(view))
            view.retry.on_click(lambda _button, view=view: self.retry_question(view))
        return widgets.VBox([self.score])

    def _build_exam_footer(self) -> widgets.Widget:
        self.submit = _button("Submit quiz", "Submit all your answers; feedback follows", "tlkit-quiz-submit", "primary")
        self.retry = _button("Retry quiz", "Start a new attempt", "tlkit-quiz-retry")
        self.retry.disabled = True
        self.submit.on_click(lambda _button: self.submit_exam())
        self.retry.on_click(lambda _button: self.retry_exam())
        return widgets.VBox([widgets.HBox([self.submit, self.retry]), self.message, self.score])

    def _build_identity_row(self) -> widgets.Widget:
        """Who the answers are recorded for, with a box to change it (CSS class ``tlkit-quiz-identity``)."""
        self.identity = _html("", "tlkit-quiz-identity-text")
        self.identity_input = widgets.Text(value="", placeholder="another student id", description="Student id",
                                           layout=widgets.Layout(width="18em"))
        self.identity_input.add_class("tlkit-quiz-identity-input")
        self.identity_button = _button("Use this id", "Record your answers under this id from now on",
                                       "tlkit-quiz-identity-change")
        self.identity_button.on_click(lambda _button: self.change_student_id(self.identity_input.value))
        self._show_identity()
        row = widgets.VBox([self.identity, widgets.HBox([self.identity_input, self.identity_button])])
        row.add_class("tlkit-quiz-identity")
        return row

    def _show_identity(self, notice: str = "") -> None:
        try:
            student_id = self.recorder.student_id
        except TlkitError as error:
            self.identity.value = f'<p role="alert">&#9888; {html.escape(str(error))}</p>'
            return
        self.identity.value = (
            f"<p>Your answers are recorded for <b>{html.escape(student_id)}</b>. Not you? Type your student id "
            "and press <i>Use this id</i>.</p>" + (f"<p>{html.escape(notice)}</p>" if notice else "")
        )

    def change_student_id(self, student_id: str) -> None:
        """Record this quiz's next answers (and every notebook's, from now on) under ``student_id``.

        Saves the id with :func:`tlkit.gradebook.set_student_id`; an id tlkit does
        not accept is refused with a message under the box, and nothing changes.
        """
        try:
            chosen = set_student_id(student_id)
        except TlkitError as error:
            self._show_identity(f"⚠ {error}")
            return
        self.recorder.follow_student_id(chosen)
        self.identity_input.value = ""
        self._show_identity(f"Saved: from now on your answers are recorded for {chosen}.")

    # -- self-check ----------------------------------------------------------------
    def submit_question(self, view: QuestionView) -> None:
        """Grade one question (self-check mode), show its feedback and record it."""
        problem = view.check_readable()
        if problem:
            view.show_notice(problem)
            return
        answer = view.answer()
        grade = view.question.grade(answer)
        view.lock(grade)
        warnings = self.recorder.record(view.question.id, view.question.answer_for_record(answer), grade.correct)
        view.show_notice(" ".join(warnings))
        self._update_score()

    def retry_question(self, view: QuestionView) -> None:
        """Let the student answer one question again (self-check mode)."""
        view.unlock()
        self._update_score()

    # -- exam ----------------------------------------------------------------------
    def submit_exam(self) -> None:
        """Grade every question at once (exam mode), if an attempt is left."""
        if self.attempts_used >= self.max_attempts:
            self.message.value = "<p>No attempts left.</p>"
            return
        problems = [(view, view.check_readable()) for view in self.questions]
        problems = [(view, problem) for view, problem in problems if problem]
        for view in self.questions:
            view.show_notice("")
        if problems:
            for view, problem in problems:
                view.show_notice(problem)
            numbers = ", ".join(str(view.number) for view, _ in problems)
            self.message.value = f"<p>Please answer question(s) {numbers} before submitting.</p>"
            return
        self.attempts_used += 1
        if self.key_free:
            self._record_key_free()
            return
        for view in self.questions:
            answer = view.answer()
            grade = view.question.grade(answer)
            view.lock(grade)
            warnings = self.recorder.record(view.question.id, view.question.answer_for_record(answer), grade.correct)
            view.show_notice(" ".join(warnings))
            view.retry.disabled = True
        self.submit.disabled = True
        left = self.max_attempts - self.attempts_used
        self.retry.disabled = left == 0
        self.message.value = f"<p>Attempt {self.attempts_used} of {self.max_attempts} submitted. " + (
            f"{left} attempt(s) left.</p>" if left else "No attempts left.</p>"
        )
        self._update_score()

    def _record_key_free(self) -> None:
        """Record every answer of a key-free exam, with no verdict (the instructor grades later)."""
        for view in self.questions:
            answer = view.answer()
            warnings = self.recorder.record(view.question.id, view.question.answer_for_record(answer), None)
            view.lock_recorded()
            view.show_notice(" ".join(warnings))
        self.submit.disabled = True
        left = self.max_attempts - self.attempts_used
        self.retry.disabled = left == 0
        self.message.value = (
            f"<p>Your answers are recorded (attempt {self.attempts_used} of {self.max_attempts}); your instructor "
            "will publish the results. " + (f"You may change them: {left} attempt(s) left; the last one counts.</p>"
                                             if left else "No attempts left.</p>")
        )
        self._update_score()

    def retry_exam(self) -> None:
        """Start a new attempt (exam mode) with empty answers, if one is left."""
        if self.attempts_used >= self.max_attempts:
            self.message.value = "<p>No attempts left.</p>"
            self.retry.disabled = True
            return
        for view in self.questions:
            view.unlock(clear=True)
        self.submit.disabled = False
        self.retry.disabled = True
        self.message.value = f"<p>Attempt {self.attempts_used + 1} of {self.max_attempts}.</p>"
        self._update_score()

    # -- shared --------------------------------------------------------------------
    @property
    def correct_count(self) -> int:
        """How many questions currently show a right answer."""
        return sum(1 for view in self.questions if view.graded is not None and view.graded.correct)

    @property
    def answered_count(self) -> int:
        """How many questions currently show feedback."""
        return sum(1 for view in self.questions if view.graded is not None)

    @property
    def recorded_count(self) -> int:
        """How many questions show "Answer recorded" (key-free exam)."""
        return sum(1 for view in self.questions if view.recorded)

    def _update_score(self) -> None:
        total = len(self.questions)
        if self.key_free:
            recorded = self.recorded_count
            self.score.value = (f"<p>{recorded} of {total} answers recorded.</p>" if recorded
                                else f"<p>Not submitted yet ({total} questions).</p>")
            return
        if self.mode == "exam" and self.answered_count == 0:
            self.score.value = f"<p>Score: not submitted yet ({total} questions).</p>"
            return
        self.score.value = (
            f'<p aria-live="polite">Score: {self.correct_count} / {total} '
            f"({self.answered_count} of {total} answered)</p>"
        )

    def plain_text(self) -> str:
        """The quiz in one line, for where widgets cannot be shown."""
        return f"<tlkit quiz {self.quiz.id!r}: {len(self.quiz.questions)} questions, {self.mode} mode>"

    def static_html(self) -> str:
        """The quiz as static HTML (questions and options, never the key), with a "run this cell" note."""
        parts = [f'<div class="tlkit-quiz-static">{static_note("Run this cell to answer the quiz: this is a static copy, the live quiz needs the running notebook.")}',
                 f"<h3>{html.escape(self.quiz.title)}</h3>{markdown_to_html(self.quiz.description)}"]
        if self.mode == "instructor":
            parts.append("<p>(The instructor view, with the key and the class's answers, shows when the cell runs.)</p>")
        for view in self.questions:
            parts.append(f"<h4>Question {view.number}</h4>{markdown_to_html(view.question.text)}")
            if isinstance(view.question, ChoiceQuestion):
                mark = "&#9744;" if isinstance(view.question, MultipleChoiceQuestion) else "&#9675;"
                items = "".join(f"<li>{mark} {html.escape(option.text)}</li>" for option in view.shown_options)
                parts.append(f'<ul style="list-style:none;padding-left:1em">{items}</ul>')
            else:
                kind = "a number" if isinstance(view.question, NumericQuestion) else "a short answer"
                parts.append(f"<p><i>Answer with {kind}.</i></p>")
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"QuizWidget(quiz={self.quiz.id!r}, mode={self.mode!r})"


def show_quiz(quiz, mode: str = "self-check", **options) -> QuizWidget:
    """Build an interactive quiz; it is shown when it ends a notebook cell.

    Parameters
    ----------
    quiz : Quiz, str or os.PathLike
        A loaded quiz, the id of a quiz in ``quizzes/`` (``"course"``,
        ``"02_freezing"``...) or the path of a quiz file.
    mode : {"self-check", "exam", "instructor"}, default "self-check"
        Immediate feedback per question, feedback after the whole quiz with
        limited attempts, or the teacher's view with key and class histogram.
    **options
        Passed to :class:`QuizWidget`: ``max_attempts``, ``gradebook``,
        ``student_id``, ``record``, ``seed``.

    Returns
    -------
    QuizWidget
        Put it last in a cell, or call ``display()`` on it.

    Examples
    --------
    >>> from tlkit.quiz import show_quiz
    >>> show_quiz("02_freezing")  # doctest: +SKIP
    """
    return QuizWidget(quiz, mode, **options)
