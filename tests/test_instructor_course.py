"""The course notebooks in notebooks/ validate and release cleanly (grading them: tests/test_solution_chain.py)."""

from __future__ import annotations

import json
import pathlib

import pytest

from tlkit.instructor.manifest import build_manifest
from tlkit.instructor.notebooks import read_notebook
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.validate import validate_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
COURSE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.skipif(not COURSE_NOTEBOOKS, reason="the course notebooks are not written yet")


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=[path.stem for path in COURSE_NOTEBOOKS])
def test_course_notebook_markers_are_valid(path):
    problems = [str(problem) for problem in validate_notebook(read_notebook(path))]
    assert problems == [], f"{path.name}: " + "; ".join(problems)


def test_the_course_releases_without_solutions_or_plain_quizzes(tmp_path):
    manifest = release_notebooks(COURSE_NOTEBOOKS, tmp_path)
    assert set(manifest["notebooks"]) == {path.name for path in COURSE_NOTEBOOKS}
    for path in COURSE_NOTEBOOKS:
        released = (tmp_path / path.name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
        entry = manifest["notebooks"][path.name]
        assert entry == build_manifest(read_notebook(path), path.name)
        for quiz_id in entry["quizzes"]:
            assert (tmp_path / "quizzes" / f"{quiz_id}.tlkq").is_file()
        if entry["questions"]:
            assert entry["exercise_module"], f"{path.name} has questions but no setup cell binding exercises"
            checked = {question for cell in entry["locked_cells"] for question in cell["questions"]}
            assert set(entry["questions"]) <= checked, f"{path.name}: questions without a locked check cell"
    assert not list(tmp_path.glob("*.yaml")) and not list((tmp_path / "quizzes").glob("*.yaml"))
    json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))


# Grading every course notebook as a submission (each takes a minute or two) happens once, in
# tests/test_solution_chain.py: it grades the student release filled with each exercise's own
# solution() code, which proves the full-marks path of the grader and that the solutions chain.
