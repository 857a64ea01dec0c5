"""Small pure functions the question classes grade with.

Kept apart from the widgets so grading can be tested (and reused by a
script) without a notebook.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from typing import NamedTuple

from tlkit.errors import TlkitError

__all__ = ["AnswerFormatError", "Grade", "is_invisible", "normalise_text", "parse_number", "verdict", "within"]


class AnswerFormatError(TlkitError, ValueError):
    """An answer that cannot be read, for example ``'ten'`` for a numeric question."""


class Grade(NamedTuple):
    """The outcome of grading one answer; unpacks as ``correct, feedback``."""

    correct: bool
    feedback: str


_PUNCTUATION = str.maketrans({character: " " for character in string.punctuation + "“”‘’–—"})


#: Characters that render as nothing (or as blank space) but are not whitespace to Python:
#: Unicode's default-ignorable code points that are not format characters, and the Braille blank.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1D173, 0x1D17A),
    (0xE0100, 0xE01EF),
)


def is_invisible(character: str) -> bool:
    """Whether one character renders as nothing: a format or control character, a variation
    selector, a Hangul filler, the Braille blank... (whitespace is not counted here).

    Parameters
    ----------
    character : str
        A single character.
    """
    if unicodedata.category(character) in ("Cf", "Cc") and not character.isspace():
        return True
    code = ord(character)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def normalise_text(text: str) -> str:
    """Return ``text`` in the form text answers are compared in.

    Unicode is normalised (NFKC), case is folded, invisible characters
    (zero-width spaces, joiners, soft hyphens...) are dropped, punctuation
    becomes space and runs of whitespace collapse to one space, so
    ``"  Include_Top! "``, ``"include\u200b top"`` and ``"include top"``
    compare equal.

    Parameters
    ----------
    text : str
        What the student typed, or an accepted answer from a quiz file.

    Returns
    -------
    str
        The normalised text, possibly empty.
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    visible = "".join(character for character in folded if not is_invisible(character))
    return " ".join(visible.translate(_PUNCTUATION).split())


def parse_number(answer) -> float:
    """Read a numeric answer given as a number or as text.

    Text may use scientific notation (``"1e-5"``), a decimal comma
    (``"0,5"``) or underscores/spaces as digit separators (``"10 000"``).

    Parameters
    ----------
    answer : int, float or str
        The student's answer.

    Returns
    -------
    float
        The value.

    Raises
    ------
    AnswerFormatError
        If the answer is empty, not a number, or not finite.
    """
    if isinstance(answer, bool):
        raise AnswerFormatError(f"{answer!r} is not a number; type a number such as 0.5 or 1e-3")
    if isinstance(answer, (int, float)):
        value = float(answer)
    else:
        text = str(answer).strip()
        if not text:
            raise AnswerFormatError("no number was given; type a number such as 0.5 or 1e-3")
        cleaned = re.sub(r"[\s_]", "", text)
        if cleaned.count(",") == 1 and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            value = float(cleaned)
        except ValueError:
            raise AnswerFormatError(
                f"{text!r} is not a number; type a number such as 0.5 or 1e-3"
            ) from None
    if not math.isfinite(value):
        raise AnswerFormatError(f"{answer!r} is not a finite number; type a number such as 0.5")
    return value


def within(value: float, low: float, high: float) -> bool:
    """Whether ``low <= value <= high``, forgiving floating-point rounding.

    Parameters
    ----------
    value, low, high : float
        The answer and the accepted interval (both ends included).
    """
    slack = 1e-9 * max(1.0, abs(low), abs(high))
    return low - slack <= value <= high + slack


def verdict(correct: bool, explanation: str) -> str:
    """Return Markdown feedback: a one-word verdict followed by the explanation."""
    head = "**Correct.**" if correct else "**Not quite.**"
    return f"{head} {explanation.strip()}" if explanation else head
