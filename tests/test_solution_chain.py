"""Solutions chain: a student who pastes every `ex.qN.solution()` in order passes every check.

For each course notebook with exercises we take the **student release** (what students get),
fill each answer cell with the code that the exercise's own `solution()` shows, in notebook
order, and grade that notebook with the instructor's grader, exactly as a submission: it runs in
a fresh kernel (nbclient) and a clean process re-checks the evidence. Every question must score,
nothing may be flagged, and every check cell must have displayed "Correct".

This replaces grading the instructor's source notebook as its own submission: that proved the
grader gives full marks to a correct notebook, and so does this, on a notebook that is a real
release with student-written cells. (The source notebooks' own solutions still run, with their
checks' outputs compared, when nbval executes notebooks/*.ipynb.)

A notebook runs for about a minute or two on a laptop CPU.
"""

from __future__ import annotations

import importlib
import pathlib
import re

import nbformat
import pytest

from tlkit.instructor import tamper
from tlkit.instructor.grade import GRADER_CELL_TAG, Grader
from tlkit.instructor.manifest import build_manifest
from tlkit.instructor.markers import STUDENT_PLACEHOLDER
from tlkit.instructor.notebooks import cell_source, read_notebook
from tlkit.instructor.release import release_notebooks

ROOT = pathlib.Path(__file__).resolve().parents[1]
COURSE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GRADED_NOTEBOOKS = [path for path in COURSE_NOTEBOOKS if build_manifest(read_notebook(path), path.name)["questions"]]
STUDENT = "solutions"

pytestmark = pytest.mark.skipif(not GRADED_NOTEBOOKS, reason="the course notebooks are not written yet")


def fill_with_solutions(released, manifest) -> list[str]:
    """Replace each answer placeholder of ``released`` by its question's ``solution()`` code; return the order."""
    module = importlib.import_module(manifest["exercise_module"])
    placeholder = re.compile(
        r"^(?P<indent>[ \t]*)" + re.escape(STUDENT_PLACEHOLDER[0]) + r"\n(?P=indent)" + re.escape(STUDENT_PLACEHOLDER[1]) + r"$",
        re.MULTILINE,
    )
    filled = []
    cells = {cell.get("id"): cell for cell in released.cells}
    for entry in manifest["solution_cells"]:
        cell = cells[entry["cell_id"]]
        code = module.exercise[entry["question"]].solution_code()

        def indented(match, code=code):
            return "\n".join(match.group("indent") + line if line else line for line in code.splitlines())

        source, count = placeholder.subn(indented, cell_source(cell))
        assert count == 1, f"answer cell {entry['index'] + 1} ({entry['question']}) has {count} placeholders"
        cell["source"] = source
        filled.append(entry["question"])
    return filled


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("source", GRADED_NOTEBOOKS, ids=[path.stem for path in GRADED_NOTEBOOKS])
def test_the_exercise_solutions_chain_to_full_marks(tmp_path, source):
    manifest = release_notebooks([source], tmp_path / "release")["notebooks"][source.name]
    released = read_notebook(tmp_path / "release" / source.name)
    filled = fill_with_solutions(released, manifest)
    assert set(filled) == set(manifest["questions"])
    submission = tmp_path / "submission" / source.name
    submission.parent.mkdir()
    nbformat.write(released, str(submission))

    work = tmp_path / "work"
    grade, = Grader(source, work, cell_timeout=600, timeout=1200, manifest=manifest).grade({STUDENT: submission})

    assert grade.max_score == len(manifest["questions"]) > 0
    assert not grade.flagged, grade.all_flags()
    assert grade.score == grade.max_score, (grade.notes, [(q.question, q.status, q.message) for q in grade.questions])
    executed = nbformat.read(str(work / "runs" / STUDENT / "executed.ipynb"), as_version=4)
    verdicts = {}
    for cell in executed.cells:
        if cell.get("cell_type") != "code" or GRADER_CELL_TAG in cell.metadata.get("tags", []):
            continue
        for question in re.findall(r"^[^#\n]*\b\w+\.(q\d+)\.check\(\)", cell_source(cell), re.MULTILINE):
            verdicts[question] = tamper.output_text(cell)
    assert set(verdicts) == set(manifest["questions"])
    for question, shown in verdicts.items():
        assert f"Correct ({question})" in shown, f"{question} check displayed: {shown[:300]}"
