"""Student ids: the one rule for what an id may be, and where a student's id comes from.

An id is 1 to 64 characters from ``A-Za-z0-9._@+-`` (:data:`STUDENT_ID_PATTERN`;
a typed or configured id must also start with a letter or digit). Names that
were not chosen as ids are made into ids by the same rule: a login name by
:func:`student_id_source`, a submission's folder or file name by
:func:`student_id_from_name`.

:func:`current_student_id` takes the student's id from ``TLKIT_STUDENT_ID``,
an id chosen with :func:`set_student_id`, the JupyterHub user or the login
name, and never asks for it, so a notebook's Run All never waits for input.
"""

from __future__ import annotations

import getpass
import os
import pathlib
import re

import platformdirs

from tlkit.errors import TlkitError
from tlkit.gradebook.spool import make_private_folder

__all__ = [
    "FALLBACK_STUDENT_ID",
    "JUPYTERHUB_USER_ENVIRONMENT_VARIABLE",
    "MAX_STUDENT_ID_LENGTH",
    "STUDENT_ID_ENVIRONMENT_VARIABLE",
    "STUDENT_ID_PATTERN",
    "STUDENT_ID_SOURCES",
    "StudentIdError",
    "current_student_id",
    "set_student_id",
    "student_id_from_name",
    "student_id_source",
    "validate_student_id",
]

STUDENT_ID_ENVIRONMENT_VARIABLE = "TLKIT_STUDENT_ID"
JUPYTERHUB_USER_ENVIRONMENT_VARIABLE = "JUPYTERHUB_USER"
#: The id used when nothing else gives one.
FALLBACK_STUDENT_ID = "student"
#: The longest student id.
MAX_STUDENT_ID_LENGTH = 64
#: Where a student id comes from, in order of preference (see :func:`student_id_source`).
STUDENT_ID_SOURCES = ("environment", "saved", "jupyterhub", "login")

_ACCEPTED = "A-Za-z0-9._@+-"
#: An id a student or instructor types: a letter or digit, then up to 63 accepted characters.
STUDENT_ID_PATTERN = re.compile(rf"^[A-Za-z0-9][{_ACCEPTED}]{{0,{MAX_STUDENT_ID_LENGTH - 1}}}$")
_NOT_ACCEPTED = re.compile(rf"[^{_ACCEPTED}]")
_NOT_ACCEPTED_RUN = re.compile(rf"[^{_ACCEPTED}]+")


class StudentIdError(TlkitError, ValueError):
    """A student id is missing or has characters tlkit does not accept."""


def validate_student_id(student_id) -> str:
    """Return ``student_id`` stripped, or raise :class:`StudentIdError` if it is not acceptable.

    Parameters
    ----------
    student_id : str
        An id typed or configured by a student or an instructor.

    Returns
    -------
    str
        The id without surrounding white space.

    Raises
    ------
    StudentIdError
        If the id is empty or does not match :data:`STUDENT_ID_PATTERN`.
    """
    if not isinstance(student_id, str) or not student_id.strip():
        raise StudentIdError("the student id is empty; use letters, digits and . _ @ + - (up to 64 characters)")
    student_id = student_id.strip()
    if not STUDENT_ID_PATTERN.match(student_id):
        raise StudentIdError(
            f"the student id {student_id!r} is not accepted; start with a letter or digit and use only "
            "letters, digits and . _ @ + - (up to 64 characters)"
        )
    return student_id


def student_id_from_name(name) -> str:
    """The student id of a submission named ``name`` (a student's folder or notebook file name).

    Every run of characters outside ``A-Za-z0-9._@+-`` becomes one ``-``;
    leading and trailing ``-`` and ``.`` are removed, before and after
    cutting the id to 64 characters. Applying it to its own result changes
    nothing, so the grader cleans each id once, when the submissions are
    collected.

    Parameters
    ----------
    name : str
        The name the submission was handed in under.

    Returns
    -------
    str
        The id, or ``"student"`` when nothing of ``name`` is left.
    """
    cleaned = _NOT_ACCEPTED_RUN.sub("-", str(name)).strip("-.") or FALLBACK_STUDENT_ID
    return cleaned[:MAX_STUDENT_ID_LENGTH].rstrip("-.")


def _id_from_login_name(name: str) -> str | None:
    """A valid student id made from a login name: unaccepted characters become ``-``; None if nothing is left."""
    cleaned = _NOT_ACCEPTED.sub("-", name.strip())[:MAX_STUDENT_ID_LENGTH].lstrip("._@+-")
    return cleaned if cleaned and STUDENT_ID_PATTERN.match(cleaned) else None


def _student_id_file() -> pathlib.Path:
    return pathlib.Path(platformdirs.user_config_dir("tlkit")) / "student_id.txt"


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no password entry (some containers)
        return None


def student_id_source() -> tuple[str, str]:
    """Return the student id and where it came from; never asks anything.

    In order of preference:

    ``"environment"``
        the environment variable ``TLKIT_STUDENT_ID`` (set by an instructor,
        a classroom server or the student);
    ``"saved"``
        an id chosen with :func:`set_student_id` (or the id box of a quiz),
        remembered in the user's config folder;
    ``"jupyterhub"``
        the JupyterHub user name (``JUPYTERHUB_USER``) on a classroom server;
    ``"login"``
        the operating-system login name (``"student"`` if there is none).

    Returns
    -------
    tuple of (str, str)
        The id and one of :data:`STUDENT_ID_SOURCES`.

    Raises
    ------
    StudentIdError
        If ``TLKIT_STUDENT_ID`` is set to an id tlkit does not accept.
    """
    from_environment = os.environ.get(STUDENT_ID_ENVIRONMENT_VARIABLE)
    if from_environment is not None:
        return validate_student_id(from_environment), "environment"
    remembered = _student_id_file()
    try:
        return validate_student_id(remembered.read_text(encoding="utf-8")), "saved"
    except (OSError, StudentIdError):
        pass  # nothing saved, or unreadable: fall back to the login names
    hub_user = _id_from_login_name(os.environ.get(JUPYTERHUB_USER_ENVIRONMENT_VARIABLE, ""))
    if hub_user:
        return hub_user, "jupyterhub"
    return _id_from_login_name(_login_name() or "") or FALLBACK_STUDENT_ID, "login"


def current_student_id() -> str:
    """Return the student's id, without ever asking for it.

    See :func:`student_id_source` for where it comes from: ``TLKIT_STUDENT_ID``,
    then an id saved with :func:`set_student_id`, then the JupyterHub user, then
    the login name.

    Raises
    ------
    StudentIdError
        If ``TLKIT_STUDENT_ID`` is set to an id tlkit does not accept.
    """
    return student_id_source()[0]


def set_student_id(student_id: str) -> str:
    """Choose the id answers and checks are recorded under, and remember it on this computer.

    The id is saved in the user's config folder (private, mode 0700) and used
    from now on by every notebook. In this Python process it also replaces a
    ``TLKIT_STUDENT_ID`` set in the environment, which other processes keep
    preferring.

    Parameters
    ----------
    student_id : str
        Letters, digits and ``. _ @ + -``, up to 64 characters.

    Returns
    -------
    str
        The id, stripped.

    Raises
    ------
    StudentIdError
        If the id is not accepted (nothing is changed), or cannot be saved.
    """
    student_id = validate_student_id(student_id)
    remembered = _student_id_file()
    try:
        make_private_folder(remembered.parent)
        remembered.write_text(student_id + "\n", encoding="utf-8")
    except OSError as error:
        raise StudentIdError(f"could not save the student id in {remembered} ({error})") from error
    if STUDENT_ID_ENVIRONMENT_VARIABLE in os.environ:
        os.environ[STUDENT_ID_ENVIRONMENT_VARIABLE] = student_id
    return student_id
