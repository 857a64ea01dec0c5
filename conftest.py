"""Suite-wide set-up for tests/ and the notebooks nbval runs: no network, a throw-away
gradebook, student id and feature cache, quiet TensorFlow."""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import importlib.util

import pytest

ROOT = pathlib.Path(__file__).resolve().parent
GUARD = ROOT / "tests" / "offline_guard"

# Child processes (notebook kernels, graders) inherit these variables.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(GUARD), str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# A throw-away gradebook and student id, so tests never touch a real one.
os.environ["TLKIT_GRADEBOOK"] = os.path.join(tempfile.mkdtemp(prefix="tlkit-test-"), "gradebook.sqlite3")
os.environ.setdefault("TLKIT_STUDENT_ID", "test-student")
os.environ["TLKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="tlkit-test-cache-")

# The pytest process itself gets the same guard.
_spec = importlib.util.spec_from_file_location("tlkit_offline_guard", GUARD / "sitecustomize.py")
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    """The repository's root folder."""
    return ROOT


def pytest_collectstart(collector):
    """nbval: never compare stderr.

    TensorFlow writes start-up notices to stderr (for example whether its oneDNN
    kernels are on), and which notices appear depends on the machine and its
    settings, not on the notebook. Everything a notebook teaches goes to stdout
    or to displayed results, which nbval does compare.
    """
    if getattr(collector, "skip_compare", None) is not None and str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)
