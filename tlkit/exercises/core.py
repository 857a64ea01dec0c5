"""The exercise engine: one small declarative class per question.

A question names the notebook variable(s) it looks at, lists its hints and
its solution, and implements :meth:`Question.check_value` by composing
predicates from :mod:`tlkit.exercises.predicates`. Each predicate returns
``None`` when fine or a :class:`Failure` (a message and a hint key). The
engine does the rest: reading the variables from the bound notebook
namespace, reporting *Not attempted* for placeholders, turning unexpected
exceptions into a clear *Incorrect*, choosing the first hint by what failed,
displaying the outcome (HTML in a notebook, text in a terminal) and recording
it in the gradebook.
"""

from __future__ import annotations

import html
import traceback
import warnings
from dataclasses import dataclass, field

from tlkit.errors import TlkitError

__all__ = [
    "CORRECT",
    "Correct",
    "INCORRECT",
    "NOT_ATTEMPTED",
    "PLACEHOLDER",
    "CheckResult",
    "Exercise",
    "ExerciseBindError",
    "ExerciseNotBoundError",
    "Failure",
    "Feedback",
    "GradebookWarning",
    "Question",
    "first_failure",
]

CORRECT = "correct"
INCORRECT = "incorrect"
NOT_ATTEMPTED = "not_attempted"
_TITLES = {CORRECT: "Correct", INCORRECT: "Incorrect", NOT_ATTEMPTED: "Not attempted"}
_COLOURS = {CORRECT: "#1a7f37", INCORRECT: "#cf222e", NOT_ATTEMPTED: "#6e7781", "hint": "#0550ae", "solution": "#8250df"}


class _Placeholder:
    """The ``____`` a notebook cell shows where the student's code goes."""

    def __repr__(self) -> str:
        return "____"

    def __bool__(self) -> bool:
        return False


PLACEHOLDER = _Placeholder()


class ExerciseNotBoundError(TlkitError, RuntimeError):
    """A question was checked before its exercise module was bound to a notebook."""


class ExerciseBindError(TlkitError, TypeError):
    """``bind`` was given something other than the notebook's ``globals()``."""


class GradebookWarning(UserWarning):
    """A check's outcome could not be recorded in the gradebook (the check itself still worked)."""


@dataclass(frozen=True)
class Failure:
    """What a predicate found wrong.

    Attributes
    ----------
    message : str
        One or two sentences naming the problem, with numbers where possible.
    hint_key : str or None
        Which of the question's hints helps with this problem.
    """

    message: str
    hint_key: str | None = None


@dataclass(frozen=True)
class Correct:
    """Returned by ``check_value`` for a right answer that still deserves a remark.

    The student sees *Correct* with the question's ``correct_message``
    followed by ``note`` (for example: "your own snapshot could not be used;
    this check judged from the copy it took itself").
    """

    note: str


def first_failure(*checks) -> Failure | None:
    """Run zero-argument callables in order and return the first :class:`Failure`.

    Later checks often assume earlier ones passed (a shape check needs an
    array), hence callables rather than values.
    """
    for check in checks:
        outcome = check()
        if outcome is not None:
            return outcome
    return None


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@dataclass
class Feedback:
    """A message shown to the student: green/red/grey HTML in a notebook, text in a terminal.

    Attributes
    ----------
    kind : str
        ``"correct"``, ``"incorrect"``, ``"not_attempted"``, ``"hint"`` or ``"solution"``.
    title : str
        A short heading such as ``"Correct"`` or ``"Hint 1/3"``.
    message : str
        The body; for a solution, the code.
    """

    kind: str
    title: str
    message: str
    _shown: bool = field(default=False, repr=False, compare=False)

    def text(self) -> str:
        """The plain-text form."""
        return f"{self.title}: {self.message}" if self.message else self.title

    def _repr_html_(self) -> str:
        colour = _COLOURS.get(self.kind, "#24292f")
        body = html.escape(self.message)
        if self.kind == "solution":
            body = f"<pre style='margin:0.3em 0'>{body}</pre>"
        return (
            f"<div style='border-left:4px solid {colour};padding:0.2em 0.6em'>"
            f"<strong style='color:{colour}'>{html.escape(self.title)}</strong>"
            f"{'' if self.kind == 'solution' else ': ' if body else ''}{body}</div>"
        )

    def __str__(self) -> str:
        return self.text()

    def show(self) -> None:
        """Display once: HTML in a notebook, printed text elsewhere."""
        if _in_notebook():
            from IPython.display import display

            display({"text/html": self._repr_html_(), "text/plain": self.text()}, raw=True)
        else:
            print(self.text())
        self._shown = True

    def _ipython_display_(self) -> None:
        # ``check()`` already displayed this object; returning it must not show it twice
        if not self._shown:
            self.show()


@dataclass
class CheckResult(Feedback):
    """The outcome of ``check()``: ``.status`` is ``"correct"``, ``"incorrect"`` or ``"not_attempted"``.

    Attributes
    ----------
    status : str
        The verdict.
    hint_key : str or None
        The hint that fits what failed.
    """

    status: str = NOT_ATTEMPTED
    hint_key: str | None = None

    @property
    def passed(self) -> bool:
        """True when the answer is correct."""
        return self.status == CORRECT


def _check_result(status: str, message: str, hint_key: str | None = None) -> CheckResult:
    return CheckResult(kind=status, title=_TITLES[status], message=message, status=status, hint_key=hint_key)


def _is_placeholder(value) -> bool:
    return value is PLACEHOLDER or isinstance(value, _Placeholder) or (isinstance(value, str) and value.strip() == "____")


class Question:
    """Base class of every exercise question; subclass it and fill in the blanks.

    Class attributes
    ----------------
    variable : str or tuple of str
        The notebook variable(s) holding the student's answer; passed to
        :meth:`check_value` as keyword arguments of the same names. A missing
        variable or a ``____`` placeholder means *Not attempted*.
    context : tuple of str
        Variables the notebook itself provides (data, settings). Missing ones
        give *Incorrect* with a request to run the cells above.
    optional_context : tuple of str
        Like ``context`` but may be absent (``None`` is passed).
    hints : list
        Ordered hints, each a ``(key, text)`` pair or plain text. After a
        failed check, the hint whose key matches the failure comes first.
    solution : str
        Code shown by :meth:`solution`.
    correct_message : str
        Shown when the answer is correct.
    """

    variable: str | tuple = ()
    context: tuple = ()
    optional_context: tuple = ()
    hints: list = []
    correct_message: str = "Well done."
    _solution_code: str = ""

    def __init_subclass__(cls, **keywords):
        super().__init_subclass__(**keywords)
        # ``solution = "code"`` in a subclass would hide the ``solution()`` method: keep the code aside
        declared = cls.__dict__.get("solution")
        if isinstance(declared, str):
            cls._solution_code = declared
            delattr(cls, "solution")

    def __init__(self, exercise: "Exercise | None" = None, name: str | None = None):
        self.exercise = exercise
        self.name = name or type(self).__name__
        self._hint_keys, self._hint_texts = self._normalised_hints()
        self._hints_shown: list[int] = []
        self._last_failure_key: str | None = None

    # -- declarations ----------------------------------------------------------------------
    @classmethod
    def variable_names(cls) -> tuple:
        return (cls.variable,) if isinstance(cls.variable, str) else tuple(cls.variable)

    def _normalised_hints(self) -> tuple[list, list]:
        keys, texts = [], []
        for position, entry in enumerate(self.hints):
            if isinstance(entry, str):
                keys.append(f"hint-{position}")
                texts.append(entry)
            else:
                key, text = entry
                keys.append(key)
                texts.append(text)
        return keys, texts

    def check_value(self, **values) -> Failure | None:
        """Return None when the values are right, else a :class:`Failure`. Subclasses implement it.

        A right answer with a remark may return :class:`Correct` instead of None.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement check_value")

    # -- reading the notebook ----------------------------------------------------------------
    @property
    def namespace(self) -> dict:
        if self.exercise is None or self.exercise.namespace is None:
            module = self.exercise.notebook if self.exercise is not None else "the exercise module"
            raise ExerciseNotBoundError(
                f"{self.name}: bind the exercises to the notebook first: "
                f"`from tlkit.exercises import {module} as ex; ex.bind(globals())`"
            )
        return self.exercise.namespace

    def evaluate(self) -> CheckResult:
        """Judge the answer in the bound notebook without showing or recording the verdict.

        :meth:`check` shows and records what this returns; the grader's
        checker calls it on the evidence of a submission.

        Returns
        -------
        CheckResult
            Correct, incorrect (with the key of the hint to show) or not attempted.
        """
        return self._evaluate()

    def _evaluate(self) -> CheckResult:
        namespace = self.namespace
        values = {}
        for name in self.variable_names():
            if name not in namespace:
                return _check_result(NOT_ATTEMPTED, f"define `{name}` in the notebook, then run this check again.")
            if _is_placeholder(namespace[name]):
                return _check_result(NOT_ATTEMPTED, f"replace the ____ in `{name}` with your code.")
            values[name] = namespace[name]
        for name in self.context:
            if name not in namespace:
                return _check_result(
                    INCORRECT, f"the notebook variable `{name}` is missing; run the cells above this one first.", "context"
                )
            values[name] = namespace[name]
        for name in self.optional_context:
            values[name] = namespace.get(name)
        try:
            failure = self.check_value(**values)
        except NotImplementedError:
            return _check_result(NOT_ATTEMPTED, "your code still raises NotImplementedError; fill it in first.")
        except TlkitError as error:
            return _check_result(INCORRECT, str(error), "unexpected")
        except Exception as error:  # a safety net: students never see a traceback from a check
            where = traceback.extract_tb(error.__traceback__)[-1]
            return _check_result(
                INCORRECT,
                f"your answer could not be checked: {type(error).__name__}: {error} "
                f"(raised in {where.name}); look at the types and shapes of your variables.",
                "unexpected",
            )
        if failure is None:
            return _check_result(CORRECT, self.correct_message)
        if isinstance(failure, Correct):
            return _check_result(CORRECT, f"{self.correct_message} Note: {failure.note}")
        if not isinstance(failure, Failure):  # a question returning a bare string
            failure = Failure(str(failure))
        return _check_result(INCORRECT, failure.message, failure.hint_key)

    # -- student-facing ----------------------------------------------------------------------
    def check(self) -> CheckResult:
        """Check the student's answer, show the outcome, record it and return it."""
        result = self._evaluate()
        self._last_failure_key = result.hint_key if result.status == INCORRECT else None
        result.title = f"{result.title} ({self.name})" if self.exercise is not None else result.title
        self._record(result)
        result.show()
        return result

    def _record(self, result: CheckResult) -> None:
        notebook = self.exercise.notebook if self.exercise is not None else "unknown"
        try:
            from tlkit.gradebook import Gradebook, current_student_id

            Gradebook().record_check(current_student_id(), notebook, self.name, result.status, result.message)
        except Exception as error:  # recording is a side job: the check must still work
            warnings.warn(f"this check was not recorded in the gradebook: {error}", GradebookWarning, stacklevel=3)

    def next_hint_index(self) -> int | None:
        """Index of the hint :meth:`hint` will show next, or None if there are no hints.

        Right after a failed check, that is the hint matching the failure (even
        if it was shown before); otherwise the first hint not shown yet.
        """
        if not self._hint_texts:
            return None
        if self._last_failure_key in self._hint_keys:
            return self._hint_keys.index(self._last_failure_key)
        for position in range(len(self._hint_texts)):
            if position not in self._hints_shown:
                return position
        return len(self._hint_texts) - 1

    def hint(self) -> Feedback:
        """Show the next hint: the one matching the last failure first, then the others in order."""
        position = self.next_hint_index()
        if position is None:
            feedback = Feedback("hint", "Hint", "no hints for this question; try solution().")
        else:
            if position not in self._hints_shown:
                self._hints_shown.append(position)
            self._last_failure_key = None  # later calls continue with the hints not shown yet
            feedback = Feedback("hint", f"Hint {position + 1}/{len(self._hint_texts)}", self._hint_texts[position])
        feedback.show()
        return feedback

    def solution(self) -> Feedback:
        """Show the solution code."""
        feedback = Feedback("solution", f"Solution ({self.name})", self.solution_code())
        feedback.show()
        return feedback

    def solution_code(self) -> str:
        import textwrap

        return textwrap.dedent(type(self)._solution_code).strip("\n")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: call .check(), .hint() or .solution()>"


class Exercise:
    """The questions of one notebook, bound together to that notebook's variables.

    Parameters
    ----------
    notebook : str
        The exercise module's name, for example ``"nb01_feature_extraction"``.
    **questions : type
        Question classes by the name the notebook uses (``q1=FreezeBase``).
    """

    def __init__(self, notebook: str, **questions):
        self.notebook = notebook
        self.namespace: dict | None = None
        self.memory: dict = {}
        self.questions = {name: question_class(self, name) for name, question_class in questions.items()}

    def bind(self, namespace: dict) -> None:
        """Let the questions read the notebook's variables (pass ``globals()``).

        Also defines ``____`` in the notebook if it is not there, so cells with
        blanks run and report *Not attempted*. Returns None, so that a cell
        ending with ``ex.bind(globals())`` shows no output.
        """
        if not isinstance(namespace, dict):
            raise ExerciseBindError(f"bind expects the notebook's globals() dictionary, got {type(namespace).__name__}")
        self.namespace = namespace
        namespace.setdefault("____", PLACEHOLDER)
        self.memory.clear()
        for question in self.questions.values():
            question._hints_shown.clear()
            question._last_failure_key = None

    def __getitem__(self, name: str) -> Question:
        return self.questions[name]
