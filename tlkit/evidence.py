"""Claims a notebook makes about its own measurements, stated with a margin.

A trained network's accuracy changes in the second or third decimal from one
CPU to another (different vector instructions round differently, and training
amplifies the difference). So a notebook shows its measured numbers as they
came out, and states each *conclusion* it draws from them as a :class:`Claim`
with a margin chosen so that such noise cannot flip it::

    evidence.claim(
        "fine-tuning at the largest rate forgets more than 10 points more of the source task "
        "than fine-tuning at the smallest rate",
        forgetting[1e-2] - forgetting[1e-4] > 0.10,
    )

prints ``Claim holds: fine-tuning at ...``. If a run does not bear the claim out,
it says so instead (``Claim NOT borne out by this run: ...``), and the course's
tests, which compare this text, fail.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tlkit.errors import TlkitError

__all__ = ["Claim", "ClaimArgumentError", "claim"]


class ClaimArgumentError(TlkitError, TypeError):
    """A claim was given something other than a statement and a yes/no answer."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A statement about this run's measurements and whether the run bears it out.

    Attributes
    ----------
    statement : str
        The conclusion, in words, including its margin.
    holds : bool
        Whether the measurements of this run satisfy it.
    """

    statement: str
    holds: bool
    shown: bool = dataclasses.field(default=False, repr=False, compare=False)

    def _ipython_display_(self) -> None:
        # A claim that ends a notebook cell was printed by claim() already; show it once.
        if not self.shown:
            print(self)

    def __str__(self) -> str:
        if self.holds:
            return f"Claim holds: {self.statement}"
        return (
            f"Claim NOT borne out by this run: {self.statement}. "
            "Look at the numbers above; with other seeds or more data the picture may differ."
        )

    def __bool__(self) -> bool:
        return self.holds


def claim(statement: str, holds, show: bool = True) -> Claim:
    """State a conclusion and check it against this run's measurements.

    Parameters
    ----------
    statement : str
        The conclusion in words, with its margin ("partial beats scratch by
        more than 5 points").
    holds : bool
        The comparison that decides it, written with the same margin
        (``partial - scratch > 0.05``). A NumPy boolean is accepted.
    show : bool, default True
        Print the claim and its outcome.

    Returns
    -------
    Claim
        Truthy when the claim holds.

    Raises
    ------
    ClaimArgumentError
        When ``statement`` is not a non-empty string or ``holds`` is not a
        boolean (a common slip: passing the measured number itself).
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ClaimArgumentError(f"claim: the statement must be a non-empty string, got {statement!r}")
    if not isinstance(holds, (bool, np.bool_)):
        raise ClaimArgumentError(
            f"claim: 'holds' must be True or False (a comparison such as gain > 0.05), "
            f"got {type(holds).__name__} {holds!r}"
        )
    result = Claim(statement.strip(), bool(holds), shown=show)
    if show:
        print(result)
    return result
