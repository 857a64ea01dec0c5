"""The exceptions tlkit raises for predictable misuse.

Every error tlkit raises on purpose derives from :class:`TlkitError`, so a
notebook or a script can catch the whole family with one ``except`` clause.
Messages are one line: they say what was wrong, where, and what to do.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError", "FewShotError", "FreezeRangeError", "InputShapeError", "MissingFileError", "OfflineError",
    "TlkitError", "UnknownNameError", "describe_name_choice",
]


class TlkitError(Exception):
    """Base class of every error tlkit raises on purpose."""


class UnknownNameError(TlkitError, KeyError):
    """A dataset, model, strategy or option name that tlkit does not know."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class MissingFileError(TlkitError, FileNotFoundError):
    """A file tlkit needs is not where it should be."""


class CorruptFileError(TlkitError, ValueError):
    """A file exists but its checksum or content is not what tlkit expects."""


class InputShapeError(TlkitError, ValueError):
    """An array or tensor has the wrong shape or dtype for the call."""


class FreezeRangeError(TlkitError, IndexError):
    """A freeze/unfreeze request points past the model's layers."""


class FewShotError(TlkitError, ValueError):
    """A few-shot sample asks for more labelled examples than exist."""


class OfflineError(TlkitError, RuntimeError):
    """Something needed the network, which tlkit never assumes it has."""


def describe_name_choice(kind: str, name: str, known) -> str:
    """Return a one-line message for an unknown ``name`` of some ``kind``.

    Parameters
    ----------
    kind : str
        What the name was meant to be, for example ``"dataset"``.
    name : str
        The name that was given.
    known : iterable of str
        The names that would have been accepted.
    """
    choices = ", ".join(repr(k) for k in sorted(known))
    return f"unknown {kind} {name!r}; choose one of: {choices}"
