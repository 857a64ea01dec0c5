"""Graded exercises for the course notebooks: ``check()``, ``hint()``, ``solution()``.

In a notebook::

    from tlkit.exercises import nb01_feature_extraction as ex
    ex.bind(globals())
    ex.q1.check()

or, equivalently, ``ex = tlkit.exercises.bind(globals(), "nb01_feature_extraction")``.
See ``docs/exercises.md`` for writing a new question.
"""

from __future__ import annotations

import importlib

from tlkit.errors import UnknownNameError, describe_name_choice
from tlkit.exercises.core import CheckResult, Exercise, Failure, Question

__all__ = ["EXERCISE_MODULES", "CheckResult", "Exercise", "Failure", "Question", "bind"]

EXERCISE_MODULES = (
    "nb01_feature_extraction",
    "nb02_freezing",
    "nb03_fine_tuning",
    "nb04_negative_transfer",
    "nb05_layer_choice",
    "nb06_put_it_to_work",
)


def bind(namespace: dict, notebook: str):
    """Bind the exercises of ``notebook`` to a notebook's ``globals()`` and return its module.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``.
    notebook : str
        One of :data:`EXERCISE_MODULES`.

    Returns
    -------
    module
        The exercise module, whose ``q1``, ``q2``... are ready to check.
    """
    if notebook not in EXERCISE_MODULES:
        raise UnknownNameError(describe_name_choice("exercise module", notebook, EXERCISE_MODULES))
    module = importlib.import_module(f"tlkit.exercises.{notebook}")
    module.bind(namespace)
    return module
