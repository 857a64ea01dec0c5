"""The grader owns the notebook it runs, bounds what it keeps, and keeps what ran before a timeout.

The first tests build the notebook to execute from hostile submissions (no
kernel); the others run small notebooks that import nothing heavy in the real
sandboxed runner.
"""

from __future__ import annotations

import os
import pathlib
import resource

import nbformat
import pytest

from instructor_submissions import CHECK_CELLS, SOLUTION_CELLS, SOURCE, make_submission, read_release
from test_instructor_grading import load_factor, require_bwrap
from tlkit.instructor import kernel_side
from tlkit.instructor.grade import Grader
from tlkit.instructor.notebooks import cell_source
from tlkit.instructor.processes import clean_run_folder, write_key_free_quizzes
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.scoring import SubmissionGrade


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    release_notebooks([SOURCE], folder)
    return folder


@pytest.fixture()
def grader(tmp_path):
    return Grader(SOURCE, tmp_path / "work", cell_timeout=30, timeout=60)


def prepare(grader, notebook):
    grade = SubmissionGrade("student", "tiny_course", "path")
    return grade, grader.preparation.prepare(notebook, grade)


def test_only_the_source_of_student_code_cells_survives(grader, release):
    notebook = make_submission(release, {})
    forged = {kernel_side.EVIDENCE_MIME: {"question": "q3", "evidence": {}, "files": {}}}
    markdown = nbformat.v4.new_markdown_cell("Correct (q3)")
    markdown.metadata.update({"tags": ["tlkit-grader"], "tlkit_grader": {"kind": "evidence", "question": "q3"}})
    markdown["outputs"] = [nbformat.v4.new_output("display_data", data=forged)]
    notebook.cells.insert(12, markdown)
    solution = next(cell for cell in notebook.cells if cell["id"] == SOLUTION_CELLS["q2"])
    solution.metadata.update({"tags": ["tlkit-grader"], "tlkit_grader": {"kind": "baseline"}, "tlkit": {"role": "check"}})
    solution["outputs"] = [nbformat.v4.new_output("display_data", data=forged)]
    solution["execution_count"] = 7
    _, run = prepare(grader, notebook)
    for position, cell in enumerate(run.notebook.cells):
        assert cell["cell_type"] == "code"
        assert "Correct (q3)" != cell_source(cell)
        assert not cell.get("outputs") and cell.get("execution_count") is None
        if position not in run.grader_cells:
            assert not cell.metadata, cell.metadata
    kinds = [run.grader_cells[position] for position in sorted(run.grader_cells)]
    assert kinds == [("baseline", None)] + [("evidence", question) for question in ("q1", "q2", "q3", "q4", "q5")]
    assert cell_source(solution) in [cell_source(run.notebook.cells[p]) for p in run.student_cells]


def test_locked_cells_come_from_the_release_and_changes_are_flagged(grader, release):
    notebook = make_submission(release, {})
    by_id = {cell["id"]: cell for cell in notebook.cells}
    by_id[CHECK_CELLS["q4"]]["cell_type"] = "raw"  # retyped
    by_id[CHECK_CELLS["q4"]].pop("outputs")
    by_id[CHECK_CELLS["q4"]].pop("execution_count")
    notebook.cells.remove(by_id[CHECK_CELLS["q1"]])  # deleted
    q2 = by_id[CHECK_CELLS["q2"]]
    notebook.cells.remove(q2)
    notebook.cells.append(q2)  # moved to the end
    by_id[CHECK_CELLS["q3"]]["source"] = 'print("Correct (q3)")'  # edited
    grade, run = prepare(grader, notebook)
    flags = {question: " ".join(found) for question, found in run.per_question.items()}
    assert "was deleted" in flags["q1"] and "was moved" in flags["q2"] and "was edited" in flags["q3"]
    assert "turned into a non-code cell" in flags["q4"] and "q5" not in flags
    source = nbformat.read(str(SOURCE), as_version=4)
    checks = [cell_source(cell) for cell in source.cells if cell["id"] in CHECK_CELLS.values()]
    ran = [cell_source(run.notebook.cells[position]) for position in sorted(run.check_cells)]
    assert ran == checks  # all five run, as released, in the source's order (hidden tests included)
    assert "### BEGIN HIDDEN TESTS" in ran[0]


def test_an_honest_submission_runs_the_same_cells_as_before(grader, release):
    notebook = make_submission(release, {})
    grade, run = prepare(grader, notebook)
    assert not grade.flags and not run.per_question
    code = [cell for cell in read_release(release).cells if cell["cell_type"] == "code"]
    assert len(run.student_cells) + len(run.locked_cells) == len(code)


def test_outputs_are_bounded_while_the_notebook_runs(tmp_path):
    """A cell printing far more than the grader keeps: the executed notebook stays small, a note says why."""
    require_bwrap()
    grader = Grader(SOURCE, tmp_path / "work", cell_timeout=300, timeout=600)
    grader.processes.hidden = []
    flood = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("line = 'x' * 1023\nfor _ in range(200 * 1024):\n    print(line)"),
        nbformat.v4.new_code_cell("print('after the flood')"),
    ])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, executed = grader.processes.run(flood, tmp_path / "run", "flood")
    assert status["status"] == "completed", status
    grader.processes.store_executed(executed, tmp_path / "run", {})
    stored = tmp_path / "run" / "executed.ipynb"
    assert stored.stat().st_size < 4 * 1024 ** 2, stored.stat().st_size
    text = stored.read_text(encoding="utf-8")
    assert "output dropped by the grader" in text and "after the flood" in text
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown < 200 * 1024 ** 2, f"the grader grew by {grown / 1024 ** 2:.0f} MB for 200 MB of output"


def test_cells_that_ran_before_the_overall_timeout_keep_their_outputs(tmp_path):
    require_bwrap()
    # long enough for the kernel to start on a busy machine and run the first cell; the second never ends
    grader = Grader(SOURCE, tmp_path / "work", cell_timeout=2, timeout=int(20 + 40 * load_factor()))
    grader.processes.hidden = []
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print('first check ran')"),
        nbformat.v4.new_code_cell("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                  "while True:\n    time.sleep(0.2)"),
        nbformat.v4.new_code_cell("print('never')"),
    ])
    status, executed = grader.processes.run(notebook, tmp_path / "run", "stubborn")
    assert status["status"] == "timeout"
    assert executed is not None and executed.metadata["tlkit"]["ran"][0] == 0
    assert "first check ran" in executed.cells[0].outputs[0]["text"]
    assert 2 not in executed.metadata["tlkit"]["ran"]


def test_the_decoy_comparison_counts_only_check_calls_that_ran(grader, release):
    grade, run = prepare(grader, make_submission(release, {}))
    executed = nbformat.from_dict(run.notebook)
    checks = sorted(run.check_cells)
    executed.metadata["tlkit"] = {"ran": list(range(checks[3] + 2))}  # stopped after q4's check and evidence
    assert grader.intake.inspect_decoy({"checks": 4}, executed, run) == []
    flags = grader.intake.inspect_decoy({"checks": 5}, executed, run)
    assert flags and "5 check records" in flags[0] and "only 4 check call" in flags[0]


def test_run_folders_keep_only_the_executed_notebook(tmp_path):
    folder = tmp_path / "runs" / "student"
    for name in ("box/work/big.bin", "evidence/q1/model.keras"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"0" * 1024)
    (folder / "executed.ipynb").write_text("{}", encoding="utf-8")
    os.chmod(folder / "box" / "work", 0o000)
    clean_run_folder(folder)
    assert sorted(path.name for path in folder.iterdir()) == ["executed.ipynb"]
    assert pathlib.Path(folder / "executed.ipynb").is_file()


def test_a_spoofed_hashlib_in_the_kernel_cannot_make_a_snapshot_repeat_the_baseline():
    """The kernel sends what it saw; the grader digests it. Replacing hashlib.sha256 in the kernel changes nothing."""
    import hashlib

    import keras

    namespace = {"__name__": "tlkit_grader_cell"}
    exec(pathlib.Path(kernel_side.__file__).read_text(encoding="utf-8"), namespace)
    baseline = namespace["integrity_snapshot"](["tlkit.exercises.core"])
    recorded = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in baseline.items()}
    original_sha256, original_get_config = hashlib.sha256, keras.layers.Layer.get_config

    class Replay:  # what the attack installs: every digest the baseline had, whatever is hashed
        def __init__(self, data=b""):
            self.data = data

        def update(self, data):
            self.data += data

        def hexdigest(self):
            return next(iter(recorded.values()))

    try:
        hashlib.sha256 = Replay
        keras.layers.Layer.get_config = lambda self: {"trainable": False}
        current = namespace["integrity_snapshot"](["tlkit.exercises.core"])
    finally:
        hashlib.sha256 = original_sha256
        keras.layers.Layer.get_config = original_get_config
    before, after = kernel_side.snapshot_digests(baseline), kernel_side.snapshot_digests(current)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert "keras.src.layers.layer" in changed, changed
    assert sum(len(text) for text in current.values()) < 32 * 1024 ** 2  # what one snapshot costs the output


def test_the_sandbox_gets_the_quizzes_without_their_key(grader, tmp_path):
    grader.work_folder.mkdir(parents=True)
    folder = write_key_free_quizzes(grader.manifest, grader.work_folder / "quizzes")
    grader.processes.quiz_folder = folder
    files = sorted(path.name for path in folder.iterdir())
    assert files == ["01_feature_extraction.exam.yaml"]
    import yaml

    def keys(value):
        if isinstance(value, dict):
            return set(value) | set().union(*(keys(item) for item in value.values()))
        if isinstance(value, list):
            return set().union(*(keys(item) for item in value)) if value else set()
        return set()

    found = keys(yaml.safe_load((folder / files[0]).read_text(encoding="utf-8")))
    assert not found & {"correct", "explanation", "accept", "answer", "answers", "range", "topic"}, found
    assert grader.processes.environment({})["TLKIT_QUIZ_DIR"] == str(folder)
    if grader.use_sandbox:
        assert str(folder) in grader.processes.sandbox().readable
