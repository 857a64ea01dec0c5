"""Where the kit's files live in a checkout of the repository: the one home of the layout.

The package sits at the top of the repository (``<repository>/tlkit``); data,
shipped models, quizzes and recorded benchmark results sit beside it. Every
module that reads one of these folders uses the names below, so a change of
layout is made here only.
"""

from __future__ import annotations

import pathlib

__all__ = ["BENCHMARK_RESULTS_DIR", "DATA_DIR", "MODELS_DIR", "QUIZZES_DIR", "REPO_ROOT"]

#: The repository checkout: the folder holding the ``tlkit`` package (and put on ``PYTHONPATH`` in grading sandboxes).
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Data shipped with the kit (the Fashion-MNIST subset, the pre-trained models).
DATA_DIR = REPO_ROOT / "data"
#: The shipped pre-trained bases, their model cards and the recipe notes copied into the cards.
MODELS_DIR = DATA_DIR / "models"
#: The course's quiz files, searched first when a quiz is loaded by id.
QUIZZES_DIR = REPO_ROOT / "quizzes"
#: Result files written by the scripts in ``benchmarks/``.
BENCHMARK_RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
