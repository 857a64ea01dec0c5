"""Fixtures shared by the exercise tests (tests/test_exercises_nbXX.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def namespace(request):
    """A fresh, empty notebook namespace bound to the test module's exercise module.

    Each ``test_exercises_nbXX.py`` imports its exercise module as ``ex``; this
    binds ``ex`` to a new dict, as ``ex.bind(globals())`` does in the notebook,
    and returns the dict so a test can set the notebook's variables.
    """
    variables = {}
    request.module.ex.bind(variables)
    return variables
