"""A small SQLite gradebook for quiz answers, exercise checks and grades.

Each record is written in its own short transaction, in WAL journal mode and
with a busy timeout, so several notebooks (or processes) can write to one
gradebook at the same time. When the gradebook cannot be written (locked for
too long, read-only, a folder that cannot be created), the record is appended
to a JSON-lines *spool* file instead, a :class:`GradebookError` says where,
and the spool is replayed into the database by the next successful write. No
answer is ever dropped silently.

The gradebook lives, in order of preference, at the path given to
:class:`Gradebook`, at the path in the environment variable
``TLKIT_GRADEBOOK``, or in the user's data folder
(``platformdirs.user_data_dir("tlkit")``); never inside the repository. A
missing folder is created, private to the user (mode 0700).

Records carry a student id: :func:`current_student_id` takes it from
``TLKIT_STUDENT_ID``, an id chosen with :func:`set_student_id`, the
JupyterHub user or the login name, and never asks for it, so a notebook's
Run All never waits for input.

Modules
-------
:mod:`tlkit.gradebook.book`
    :class:`Gradebook`: recording, reading, exporting, importing and compacting.
:mod:`tlkit.gradebook.spool`
    :class:`Spool`: where records wait while the database cannot be written.
:mod:`tlkit.gradebook.student_id`
    The one rule for student ids, and where a student's id comes from.
"""

from tlkit.gradebook.book import (
    CHECK_OUTCOMES,
    COLUMNS_BY_TABLE,
    DEFAULT_BUSY_TIMEOUT_SECONDS,
    GRADEBOOK_ENVIRONMENT_VARIABLE,
    Gradebook,
    GradebookError,
    default_gradebook_path,
    read_records,
)
from tlkit.gradebook.spool import Spool, make_private_folder
from tlkit.gradebook.student_id import (
    FALLBACK_STUDENT_ID,
    JUPYTERHUB_USER_ENVIRONMENT_VARIABLE,
    MAX_STUDENT_ID_LENGTH,
    STUDENT_ID_ENVIRONMENT_VARIABLE,
    STUDENT_ID_PATTERN,
    STUDENT_ID_SOURCES,
    StudentIdError,
    current_student_id,
    set_student_id,
    student_id_from_name,
    student_id_source,
    validate_student_id,
)

__all__ = [
    "CHECK_OUTCOMES",
    "COLUMNS_BY_TABLE",
    "DEFAULT_BUSY_TIMEOUT_SECONDS",
    "FALLBACK_STUDENT_ID",
    "GRADEBOOK_ENVIRONMENT_VARIABLE",
    "Gradebook",
    "GradebookError",
    "JUPYTERHUB_USER_ENVIRONMENT_VARIABLE",
    "MAX_STUDENT_ID_LENGTH",
    "STUDENT_ID_ENVIRONMENT_VARIABLE",
    "STUDENT_ID_PATTERN",
    "STUDENT_ID_SOURCES",
    "Spool",
    "StudentIdError",
    "current_student_id",
    "default_gradebook_path",
    "make_private_folder",
    "read_records",
    "set_student_id",
    "student_id_from_name",
    "student_id_source",
    "validate_student_id",
]
