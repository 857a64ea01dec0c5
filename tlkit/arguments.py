"""Checks of argument values that several tlkit functions share."""

from __future__ import annotations

import numbers

__all__ = ["is_integer"]


def is_integer(value) -> bool:
    """True for an integer (Python or NumPy), False for a bool or anything else.

    >>> is_integer(3), is_integer(True), is_integer(3.0)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
