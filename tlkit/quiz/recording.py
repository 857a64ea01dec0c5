"""Record quiz answers in the gradebook without ever losing the feedback.

The gradebook (:mod:`tlkit.gradebook`) is imported lazily, so the quiz
works, with a visible warning, even where the gradebook cannot be used.
"""

from __future__ import annotations

import warnings

from tlkit import gradebook as gradebook_module

__all__ = ["AnswerRecorder"]


class AnswerRecorder:
    """Send answers to a gradebook and report, rather than raise, any trouble.

    Parameters
    ----------
    quiz_id : str
        The quiz the answers belong to.
    gradebook : object, optional
        Anything with ``record_quiz_answer(student_id, quiz_id, question_id,
        answer, correct)``. Defaults to ``tlkit.gradebook.Gradebook()``,
        created on first use.
    student_id : str, optional
        A fixed id. By default each answer is recorded under
        ``tlkit.gradebook.current_student_id()`` at the moment it is given, so
        an id chosen with ``set_student_id`` counts from the next answer on.
    enabled : bool, default True
        With False nothing is recorded (for demos and tests).
    """

    def __init__(self, quiz_id: str, gradebook=None, student_id: str | None = None, enabled: bool = True):
        self.quiz_id = quiz_id
        self.enabled = enabled
        self._gradebook = gradebook
        self._student_id = student_id

    def _resolve(self):
        if self._gradebook is None:
            self._gradebook = gradebook_module.Gradebook()
        student_id = self._student_id if self._student_id is not None else gradebook_module.current_student_id()
        return self._gradebook, student_id

    @property
    def student_id(self) -> str:
        """The id the next answer is recorded under (see ``tlkit.gradebook.student_id_source``)."""
        if self._student_id is not None:
            return self._student_id
        return gradebook_module.current_student_id()

    def follow_student_id(self, student_id: str) -> None:
        """After the student chose ``student_id``: a recorder given a fixed id records under it from now on."""
        if self._student_id is not None:
            self._student_id = student_id

    def record(self, question_id: str, answer, correct: bool) -> list[str]:
        """Record one answer; return warnings to show the student (empty if all went well).

        Parameters
        ----------
        question_id : str
            The question answered.
        answer : object
            The answer in its recorded form (see ``Question.answer_for_record``).
        correct : bool or None
            The grade; None for an exam answer the instructor grades later.
        """
        if not self.enabled:
            return []
        messages: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                gradebook, student_id = self._resolve()
                gradebook.record_quiz_answer(student_id, self.quiz_id, question_id, answer,
                                            None if correct is None else bool(correct))
            except Exception as error:  # the student must still get feedback
                messages.append(f"Your answer to {question_id!r} could not be recorded: {error}")
        messages.extend(f"Gradebook: {warning.message}" for warning in caught)
        return messages
