"""The dataclasses a loaded quiz is made of, each able to grade an answer.

A :class:`Quiz` holds :class:`QuizQuestion` objects of four kinds:
:class:`SingleChoiceQuestion`, :class:`MultipleChoiceQuestion`,
:class:`NumericQuestion` and :class:`TextQuestion`. ``question.grade(answer)``
returns ``(correct, feedback)`` with Markdown feedback, so grading is
testable without widgets.
"""

from __future__ import annotations

import pathlib
import random
from dataclasses import dataclass, field
from typing import ClassVar

from tlkit.errors import UnknownNameError, describe_name_choice
from tlkit.quiz.answer_matching import Grade, normalise_text, parse_number, verdict, within

__all__ = [
    "ChoiceQuestion", "MultipleChoiceQuestion", "NumericQuestion", "Option", "QUESTION_CLASSES", "Quiz",
    "QuizQuestion", "SingleChoiceQuestion", "TextQuestion", "find_by_id",
]


def find_by_id(items, wanted: str, what: str):
    """Return the item of ``items`` whose ``id`` is ``wanted``.

    Parameters
    ----------
    items : iterable
        Objects with an ``id`` attribute (options, questions).
    wanted : str
        The id to look for.
    what : str
        What an item is, for the error message (``"option of question 'q1'"``).

    Raises
    ------
    UnknownNameError
        If no item has that id; the message lists the ids there are.
    """
    for item in items:
        if item.id == wanted:
            return item
    known = [item.id for item in items]
    raise UnknownNameError(describe_name_choice(what, wanted, known))


@dataclass(frozen=True)
class Option:
    """One option of a choice question.

    Attributes
    ----------
    id : str
        Short id, kept in the kernel and written to the gradebook.
    text : str
        The label shown to the student (plain text).
    correct : bool
        Whether the option belongs to the right answer.
    explanation : str
        Why the option is right or wrong (Markdown), shown after submission.
    """

    id: str
    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True)
class QuizQuestion:
    """What every question has: an id, a topic and Markdown text."""

    id: str
    topic: str
    text: str

    type: ClassVar[str] = ""
    #: Words used in messages, e.g. "single-choice question".
    kind: ClassVar[str] = "question"

    def grade(self, answer) -> Grade:
        """Grade ``answer``; return ``(correct, feedback)`` with Markdown feedback."""
        raise NotImplementedError

    def answer_for_record(self, answer):
        """Return ``answer`` in the JSON-friendly form stored in the gradebook."""
        return answer

    def key_markdown(self) -> str:
        """Return the right answer as Markdown, for the instructor view."""
        raise NotImplementedError



#: The name :class:`QuizQuestion` had before it was renamed (to tell it from
#: :class:`tlkit.exercises.Question`, the base of notebook exercises); kept so old code still imports.
@dataclass(frozen=True)
class ChoiceQuestion(QuizQuestion):
    """A question answered by choosing among options."""

    options: tuple[Option, ...] = ()
    shuffle: bool = True

    @property
    def correct_ids(self) -> frozenset[str]:
        """The ids of the right options."""
        return frozenset(option.id for option in self.options if option.correct)

    def option(self, option_id: str) -> Option:
        """Return the option called ``option_id``.

        Raises
        ------
        UnknownNameError
            If the question has no such option.
        """
        return find_by_id(self.options, option_id, f"option of question {self.id!r}")

    def display_order(self, seed: str | int = 0) -> tuple[Option, ...]:
        """Return the options in the order they are shown.

        The order is a shuffle seeded by the question id and ``seed`` (the
        same every time), so the position of an option says nothing about
        whether it is right. With ``shuffle: false`` the file order is kept.

        Parameters
        ----------
        seed : str or int, default 0
            Extra seed, e.g. the quiz id.
        """
        if not self.shuffle:
            return self.options
        options = list(self.options)
        random.Random(f"{seed}/{self.id}").shuffle(options)
        return tuple(options)

    def key_markdown(self) -> str:
        right = [f"`{option.id}` {option.text}" for option in self.options if option.correct]
        return "Right: " + "; ".join(right)


@dataclass(frozen=True)
class SingleChoiceQuestion(ChoiceQuestion):
    """Exactly one option is right; the answer is that option's id."""

    type: ClassVar[str] = "single"
    kind: ClassVar[str] = "single-choice question"

    def grade(self, answer) -> Grade:
        """Grade an option id (``None`` means no answer)."""
        if answer is None or answer == "":
            return Grade(False, verdict(False, "No option was chosen."))
        chosen = self.option(str(answer))
        return Grade(chosen.correct, verdict(chosen.correct, chosen.explanation))


@dataclass(frozen=True)
class MultipleChoiceQuestion(ChoiceQuestion):
    """One or more options are right; all-or-nothing scoring."""

    type: ClassVar[str] = "multiple"
    kind: ClassVar[str] = "multiple-answer question"

    def grade(self, answer) -> Grade:
        """Grade an iterable of option ids; right only if it is exactly the right set."""
        chosen_ids = self._chosen_ids(answer)
        if not chosen_ids:
            return Grade(False, verdict(False, "No option was checked; check every option that applies."))
        correct = chosen_ids == self.correct_ids
        lines = [f"- *{option.text}*: {option.explanation.strip()}" for option in self.options if option.id in chosen_ids]
        missed = len(self.correct_ids - chosen_ids)
        if missed:
            lines.append(f"\nYou left {missed} right option{'s' if missed > 1 else ''} unchecked.")
        return Grade(correct, verdict(correct, "") + "\n\n" + "\n".join(lines))

    def _chosen_ids(self, answer) -> frozenset[str]:
        if answer is None:
            return frozenset()
        if isinstance(answer, str):
            answer = [answer]
        chosen = frozenset(str(option_id) for option_id in answer)
        for option_id in chosen:
            self.option(option_id)  # raises for an unknown id
        return chosen

    def answer_for_record(self, answer):
        return sorted(self._chosen_ids(answer))


@dataclass(frozen=True)
class NumericQuestion(QuizQuestion):
    """A number is right if it lies in ``[low, high]``.

    The file gives either ``answer`` with a ``tolerance`` (then
    ``low = answer - tolerance``, ``high = answer + tolerance``) or
    ``range: [low, high]``.
    """

    low: float = 0.0
    high: float = 0.0
    answer: float | None = None
    tolerance: float = 0.0
    explanation_correct: str = ""
    explanation_wrong: str = ""

    type: ClassVar[str] = "numeric"
    kind: ClassVar[str] = "numeric question"

    def grade(self, answer) -> Grade:
        """Grade a number or a numeric string (``None`` means no answer).

        Raises
        ------
        AnswerFormatError
            If ``answer`` is text that is not a number.
        """
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return Grade(False, verdict(False, "No number was given."))
        correct = within(parse_number(answer), self.low, self.high)
        return Grade(correct, verdict(correct, self.explanation_correct if correct else self.explanation_wrong))

    def answer_for_record(self, answer):
        return None if answer is None or answer == "" else parse_number(answer)

    def key_markdown(self) -> str:
        if self.answer is not None:
            if self.tolerance:
                return f"Right: {self.answer:g} ± {self.tolerance:g}"
            return f"Right: {self.answer:g}"
        return f"Right: any value from {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class TextQuestion(QuizQuestion):
    """A short text answer, compared with accepted variants after normalisation."""

    accepted: tuple[str, ...] = ()
    explanation_correct: str = ""
    explanation_wrong: str = ""

    type: ClassVar[str] = "text"
    kind: ClassVar[str] = "text question"

    def grade(self, answer) -> Grade:
        """Grade a string; case, punctuation and extra spaces do not matter."""
        if answer is None or not normalise_text(answer):
            return Grade(False, verdict(False, "No answer was given."))
        correct = normalise_text(answer) in {normalise_text(variant) for variant in self.accepted}
        return Grade(correct, verdict(correct, self.explanation_correct if correct else self.explanation_wrong))

    def answer_for_record(self, answer):
        return None if answer is None else str(answer).strip()

    def key_markdown(self) -> str:
        return "Accepted: " + ", ".join(f"`{variant}`" for variant in self.accepted)


QUESTION_CLASSES = {cls.type: cls for cls in (SingleChoiceQuestion, MultipleChoiceQuestion, NumericQuestion, TextQuestion)}


@dataclass(frozen=True)
class Quiz:
    """A loaded, validated quiz.

    Attributes
    ----------
    id : str
        The quiz id (equal to the file name without ``.yaml``).
    title : str
        Shown above the questions.
    questions : tuple of QuizQuestion
        In file order.
    description : str
        Optional Markdown introduction.
    path : pathlib.Path or None
        The file it was loaded from.
    mode : str
        ``"self-check"`` for a quiz with its key; ``"exam"`` for a key-free
        exam release (:mod:`tlkit.quiz.exam`), whose answers are only recorded.
    """

    id: str
    title: str
    questions: tuple[QuizQuestion, ...]
    description: str = ""
    path: pathlib.Path | None = field(default=None, compare=False)
    mode: str = "self-check"

    def question(self, question_id: str) -> QuizQuestion:
        """Return the question called ``question_id``.

        Raises
        ------
        UnknownNameError
            If the quiz has no such question.
        """
        return find_by_id(self.questions, question_id, f"question of quiz {self.id!r}")


def __getattr__(name):
    if name == "Question":
        import warnings

        warnings.warn("tlkit.quiz.Question is deprecated; use QuizQuestion, its one name", DeprecationWarning, stacklevel=2)
        return QuizQuestion
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
