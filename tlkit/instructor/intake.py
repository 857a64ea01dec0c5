"""Finding and reading submissions without following links: regular files only, size-capped before parsing.

A submissions folder is handed in by students, so everything in it is
hostile: a student folder or notebook may be a symbolic link (to the
instructor's source notebook, ``/etc/shadow``, ``/proc/self/environ`` or a
standard-library folder), a FIFO that blocks a reader forever, a device, or
a file of gigabytes. :func:`collect_submissions` lists the folder with
``lstat`` semantics and :func:`read_submission` opens every component below
the submissions folder with ``O_NOFOLLOW``, checks the opened file is a
regular file no larger than the cap, and only then parses it. Anything else
is refused for that student alone, with a reason (:class:`RefusedSubmission`),
and the batch goes on.
"""

from __future__ import annotations

import os
import pathlib
import stat
import warnings
from dataclasses import dataclass

import nbformat

from tlkit.errors import CorruptFileError, MissingFileError
from tlkit.gradebook.student_id import student_id_from_name

__all__ = ["MAX_SUBMISSION_BYTES", "RefusedSubmission", "Submission", "collect_submissions", "read_submission",
           "safe_student_id"]

#: The largest submitted notebook the grader parses (outputs are dropped before running anyway).
MAX_SUBMISSION_BYTES = 64 * 1024 ** 2


def safe_student_id(student_id: str) -> str:
    """Deprecated: use :func:`tlkit.gradebook.student_id_from_name`.

    Parameters
    ----------
    student_id : str
        A submission's folder or file name.

    Returns
    -------
    str
        ``student_id_from_name(student_id)``.
    """
    warnings.warn("tlkit.instructor.intake.safe_student_id is deprecated; use "
                  "tlkit.gradebook.student_id_from_name", DeprecationWarning, stacklevel=2)
    return student_id_from_name(student_id)


@dataclass(frozen=True)
class Submission:
    """One student's notebook: ``root`` (the instructor's submissions folder) and the parts below it.

    Only ``root`` may be reached through links; each of ``parts`` is opened
    without following one. ``os.fspath`` gives the joined path.
    """

    root: str
    parts: tuple

    def __fspath__(self) -> str:
        return os.path.join(self.root, *self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1]

    def __str__(self) -> str:
        return os.fspath(self)


@dataclass(frozen=True)
class RefusedSubmission:
    """A submission the grader refuses to open; it is graded 0 with ``reason``."""

    path: str
    reason: str

    def __fspath__(self) -> str:
        return self.path

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def __str__(self) -> str:
        return self.path


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def collect_submissions(folder, notebook_name: str) -> dict:
    """Find each student's copy of ``notebook_name`` in a collection folder, following no link.

    Layouts: ``folder/<student>/<notebook_name>`` (a missing file is kept, so it
    is graded 0 with a reason) or ``folder/<student>.ipynb``. Folder and file
    names become student ids (:func:`tlkit.gradebook.student_id_from_name`). A student entry that is
    a symbolic link, a FIFO, a device or a socket, and entries whose names clean
    to the same id (``ada`` and ``ada.``), become :class:`RefusedSubmission`
    for those students only.

    Returns
    -------
    dict
        Student id -> :class:`Submission` or :class:`RefusedSubmission`, sorted by student id.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"submissions folder {folder} does not exist")
    root = os.path.abspath(folder)
    candidates: dict[str, list] = {}
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda item: item.name):
            if entry.name.startswith("."):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            path = os.path.join(root, entry.name)
            if stat.S_ISDIR(mode):
                found = Submission(root, (entry.name, notebook_name))
                student = entry.name
            elif entry.name.endswith(".ipynb"):
                student = entry.name[: -len(".ipynb")]
                found = (Submission(root, (entry.name,)) if stat.S_ISREG(mode) else RefusedSubmission(
                    path, f"the submission {entry.name} is {_kind(mode)}; the grader opens regular files only "
                          "and follows no links"))
            elif stat.S_ISLNK(mode):
                student = entry.name
                found = RefusedSubmission(path, f"the submission folder {entry.name} is a symbolic link; the grader "
                                                "follows no links")
            elif not stat.S_ISREG(mode):
                student = entry.name
                found = RefusedSubmission(path, f"the submission {entry.name} is {_kind(mode)}, not a folder")
            else:
                continue  # a stray ordinary file (README, archive...): not a submission
            candidates.setdefault(student_id_from_name(student), []).append((entry.name, found))
    collected = {}
    for student, found in sorted(candidates.items()):
        if len(found) == 1:
            collected[student] = found[0][1]
            continue
        names = ", ".join(name for name, _ in found)
        collected[student] = RefusedSubmission(
            os.path.join(root, found[0][0]),
            f"{len(found)} submissions ({names}) map to the same student id {student}; none of them is graded: "
            "rename all but one")
    return collected


def _open_below(root: str, parts) -> int:
    """Open ``root/parts...`` read-only, following links only in ``root``; return the descriptor."""
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            following = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = following
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=directory)
    finally:
        os.close(directory)


def read_submission(submission, max_bytes: int = MAX_SUBMISSION_BYTES) -> nbformat.NotebookNode:
    """Read a submitted notebook without following links; regular files only, at most ``max_bytes``.

    ``submission`` is a :class:`Submission` (no link followed below its root)
    or a plain path (no link followed in its last component).

    Raises
    ------
    MissingFileError
        If there is no file there.
    CorruptFileError
        If it is a link, not a regular file, too large, or not a readable notebook
        (the message names the reason; nothing of the file's content is quoted).
    """
    if isinstance(submission, RefusedSubmission):
        raise CorruptFileError(submission.reason)
    if isinstance(submission, Submission):
        root, parts = submission.root, submission.parts
    else:
        path = os.path.abspath(os.fspath(submission))
        root, parts = os.path.dirname(path), (os.path.basename(path),)
    shown = "/".join(parts)
    try:
        descriptor = _open_below(root, parts)
    except FileNotFoundError:
        raise MissingFileError(f"{parts[-1]} was not found") from None
    except OSError as error:
        import errno

        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise CorruptFileError(f"{shown} is or lies in a symbolic link; the grader follows no links") from None
        raise CorruptFileError(f"{shown} cannot be opened ({os.strerror(error.errno or 0)})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptFileError(f"{shown} is {_kind(info.st_mode)}; the grader reads regular files only")
        if info.st_size > max_bytes:
            raise CorruptFileError(f"{shown} is {info.st_size / 1024 ** 2:.0f} MB, more than the "
                                   f"{max_bytes / 1024 ** 2:.0f} MB the grader reads (clear the outputs and resubmit)")
        os.set_blocking(descriptor, True)
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(descriptor, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise CorruptFileError(f"{shown} grew past the {max_bytes / 1024 ** 2:.0f} MB the grader reads")
    finally:
        os.close(descriptor)
    data = b"".join(chunks)
    del chunks
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # JSON, validation and encoding errors alike; never quote the content
        raise CorruptFileError(f"{shown} is not a readable notebook ({type(error).__name__})") from None
    if not isinstance(notebook.get("cells"), list):
        raise CorruptFileError(f"{shown} has no list of cells")
    return notebook
