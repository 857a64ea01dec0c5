"""docs/grading-slurm.sh on a real Slurm cluster: one controller and one node on this machine.

The module's fixture writes a munge key and ``slurm.conf`` into a temporary
folder and starts ``munged``, ``slurmctld`` and ``slurmd`` on loopback
(:mod:`slurm_cluster`); its finalizer stops them, whatever happened. Six
submissions of notebook 04 (the cheapest course notebook to run) are graded
by the job file exactly as docs/instructor.md tells instructors to submit it,
with only the documented variables (paths) and ``--array``/``--output``
given on the command line: two with full marks, three typical mistakes, one
tampering attempt. Then one task is requeued with ``scontrol requeue``, and
the shards' gradebooks are merged with ``python -m tlkit gradebook merge``
and compared with a single-machine ``python -m tlkit grade`` of the same
submissions.

The test needs Debian's ``slurmctld``, ``slurmd``, ``munge`` and
``slurm-client`` packages and bubblewrap (``.ci/run`` installs them). It skips
without them, except in CI, where it fails. It costs about 15 sandboxed runs
of notebook 04 (about 7.5 minutes on 2 cores); the three array tasks and the single-machine run go at once.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import sys

import nbformat
import pytest

from slurm_cluster import SlurmCluster, missing_programs
from test_instructor_grading import require_bwrap
from test_instructor_parallel import csv_rows, files_of, grade_rows
from test_solution_chain import fill_with_solutions
from tlkit.gradebook import Gradebook
from tlkit.instructor.cli import main
from tlkit.paths import REPO_ROOT
from tlkit.instructor.notebooks import cell_source, read_notebook
from tlkit.instructor.parallel import Shard, select_shard
from tlkit.instructor.release import release_notebooks

pytestmark = pytest.mark.timeout(5400)  # a hang guard: a few minutes on free cores

JOB_FILE = REPO_ROOT / "docs" / "grading-slurm.sh"
SOURCE = REPO_ROOT / "notebooks" / "04_negative_transfer.ipynb"
ASSIGNMENT = SOURCE.stem
SHARDS = 3
# Generous: on a shared, oversubscribed machine the cell that trains the gap grid took more than 600 s (the
# job file's default); an endless loop is not among these submissions.
CELL_TIMEOUT = 1800
# Each submission: the answers that differ from the exercises' own solutions (question -> code).
SUBMISSIONS = {
    "ada-full-marks": {},
    "ben-full-marks": {},
    "cy-gap-sign-flipped": {"q1": "ntg = scratch_error - frozen_error\nis_negative_transfer = ntg > 0"},
    "di-accuracies-not-errors": {
        "q2": "gap_estimate = negative_transfer.gap_with_interval(frozen_accuracies, scratch_accuracies)"},
    "ed-whole-base-frozen": {"q4": "base.trainable = False"},
    "flo-prints-correct": {"q1": "ntg = scratch_error - frozen_error\nis_negative_transfer = ntg > 0\n"
                                 'print("Correct (q1): that is the negative transfer gap")'},
}
EXPECTED_SCORES = {"ada-full-marks": 4, "ben-full-marks": 4, "cy-gap-sign-flipped": 3, "di-accuracies-not-errors": 3,
                   "ed-whole-base-frozen": 3, "flo-prints-correct": 3}


def require_slurm() -> None:
    """Skip without Slurm and munge, except in CI, where their absence fails the test."""
    missing = missing_programs()
    if missing:
        message = f"Slurm/munge programs missing: {', '.join(missing)} (apt-get install slurmctld slurmd munge slurm-client)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI must run the Slurm test, never skip it)")
        pytest.skip(message)


def write_submissions(root: pathlib.Path) -> pathlib.Path:
    """The release of notebook 04, filled with the solutions and each student's own answers."""
    manifest = release_notebooks([SOURCE], root / "release")["notebooks"][SOURCE.name]
    folder = root / "submissions"
    for student, answers in SUBMISSIONS.items():
        notebook = read_notebook(root / "release" / SOURCE.name)
        fill_with_solutions(notebook, manifest)
        cells = {cell.get("id"): cell for cell in notebook.cells}
        for entry in manifest["solution_cells"]:
            if entry["question"] in answers:
                cell = cells[entry["cell_id"]]
                comment = [line for line in cell_source(cell).splitlines() if line.startswith("# q")]
                cell["source"] = "\n".join(comment + [answers[entry["question"]]])
        path = folder / student / SOURCE.name
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    return folder


def submit(cluster: SlurmCluster, root: pathlib.Path) -> str:
    """``sbatch docs/grading-slurm.sh`` as docs/instructor.md shows it: only variables, --array and --output."""
    (root / "grading" / "logs").mkdir(parents=True)
    environment = dict(cluster.environment, TLKIT_NOTEBOOK=str(SOURCE), TLKIT_SUBMISSIONS=str(root / "submissions"),
                       TLKIT_MANIFEST=str(root / "release" / "MANIFEST.json"), TLKIT_GRADING=str(root / "grading"),
                       TLKIT_PYTHON=sys.executable, TLKIT_CELL_TIMEOUT=str(CELL_TIMEOUT),
                       TLKIT_TIMEOUT=str(2 * CELL_TIMEOUT),
                       PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    output = subprocess.run(["sbatch", "--parsable", f"--array=0-{SHARDS - 1}",
                             f"--output={root / 'grading' / 'logs' / 'shard-%a.out'}", str(JOB_FILE)],
                            cwd=str(REPO_ROOT), env=environment, capture_output=True, text=True, check=True)
    return output.stdout.strip().split(";")[0]


def shard_log(root: pathlib.Path, index: int) -> str:
    return (root / "grading" / "logs" / f"shard-{index}.out").read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_slurm()
    require_bwrap()
    running = SlurmCluster(tmp_path_factory.mktemp("slurm"), cpus=2 * SHARDS)

    def interrupted(number, frame):  # a killed test run (SIGTERM) still stops the daemons, in the finally below
        raise SystemExit(f"stopped by signal {number}")

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def graded(cluster, tmp_path_factory):
    """The array's shards (task 0 requeued once it has ended) and a single-machine run of the same batch.

    The node offers two CPUs per array task, so the three tasks (``--cpus-per-task=2`` each) run at
    once, and the single-machine ``grade`` runs beside them: the test takes about two shards' time.
    """
    root = tmp_path_factory.mktemp("slurm-grading")
    write_submissions(root)
    job = submit(cluster, root)
    single = subprocess.Popen(  # the same batch on one machine, as `python -m tlkit grade` with two workers
        [sys.executable, "-m", "tlkit", "grade", str(SOURCE), "--submissions", str(root / "submissions"),
         "--out", str(root / "single"), "--manifest", str(root / "release" / "MANIFEST.json"),
         "--gradebook", str(root / "single.sqlite3"), "--workers", "2", "--cell-timeout", str(CELL_TIMEOUT),
         "--timeout", str(2 * CELL_TIMEOUT)],
        cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])))
    try:
        cluster.wait_for_task(f"{job}_0", "COMPLETED", timeout=4800)
        first = root / "grading" / "shard-0.sqlite3"
        before = {"inode": first.stat().st_ino, "rows": grade_rows(first), "runs": Gradebook(first).grading_runs(),
                  "log": shard_log(root, 0)}
        cluster.run(["scontrol", "requeue", f"{job}_0"])
        cluster.run(["scontrol", "update", f"JobId={job}_0", "StartTime=now"])  # a requeued job waits 2 min otherwise
        states = cluster.wait_for_job(job, SHARDS, timeout=4800)
        logs = {index: shard_log(root, index) for index in range(SHARDS)}
        assert set(states.values()) == {"COMPLETED"}, f"{states}\n{logs}\n{cluster.logs()}"
        restarts = cluster.run(["scontrol", "show", "job", f"{job}_0"])
        output, _ = single.communicate(timeout=4800)
    finally:
        if single.poll() is None:
            single.kill()
            single.wait()
    assert single.returncode == 0, output
    return {"root": root, "job": job, "before_requeue": before, "restarts": restarts, "logs": logs}


def test_the_job_array_graded_every_shard_on_the_cluster(graded):
    root = graded["root"]
    students = sorted(SUBMISSIONS)
    for index in range(SHARDS):
        runs = Gradebook(root / "grading" / f"shard-{index}.sqlite3").grading_runs()
        assert len(runs) == 1, runs
        assert (runs[0]["shard_index"], runs[0]["shard_count"]) == (index, SHARDS)
        assert runs[0]["students"] == select_shard(students, Shard(index, SHARDS))
        assert f"shard {index}/{SHARDS}: 2 of 6 submission(s)" in graded["logs"][index]
    assert "shard 0/3: 2 of 6 submission(s)" in graded["before_requeue"]["log"]


def test_the_single_run_scores_full_marks_mistakes_and_tampering_as_expected(graded):
    rows = grade_rows(graded["root"] / "single.sqlite3")
    scores, flagged = {}, set()
    for student, _, _, score, *_, is_flagged, _ in rows:
        scores[student] = scores.get(student, 0) + score
        if is_flagged:
            flagged.add(student)
    assert scores == EXPECTED_SCORES
    assert flagged == {"flo-prints-correct"}


def test_a_requeued_task_replaces_its_shard_instead_of_adding_to_it(graded):
    root, before = graded["root"], graded["before_requeue"]
    assert "Restarts=1" in graded["restarts"]
    shard = root / "grading" / "shard-0.sqlite3"
    assert shard.stat().st_ino != before["inode"]  # a new file, renamed into place
    assert grade_rows(shard) == before["rows"] and len(before["rows"]) == 2 * 4
    runs = Gradebook(shard).grading_runs()
    assert len(runs) == 1 and runs[0]["students"] == before["runs"][0]["students"]
    assert not [path.name for path in (root / "grading").iterdir() if "partial" in path.name]


def test_the_merged_shards_equal_a_single_machine_run(graded, tmp_path):
    root = graded["root"]
    shards = [str(root / "grading" / f"shard-{index}.sqlite3") for index in range(SHARDS)]
    merged = tmp_path / "merged.sqlite3"
    result = subprocess.run([sys.executable, "-m", "tlkit", "gradebook", "merge", *shards, "--out", str(merged)],
                            cwd=str(REPO_ROOT), capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT),
                                                                            os.environ.get("PYTHONPATH", "")])))
    assert result.returncode == 0, result.stderr
    assert f"{ASSIGNMENT}: {SHARDS} shard(s), 6 student(s)" in result.stdout
    assert grade_rows(merged) == grade_rows(root / "single.sqlite3")
    csv_name = f"grades-{ASSIGNMENT}.csv"
    merged_csv = tmp_path / "merged.csv"
    assert main(["gradebook", "merge", *[str(root / "grading" / f"shard-{index}" / csv_name) for index in range(SHARDS)],
                 "--out", str(merged_csv)]) == 0
    single = csv_rows(root / "single" / csv_name)
    combined = csv_rows(merged_csv)
    assert [row["student_id"] for row in combined] == sorted(SUBMISSIONS)
    assert [dict(row, shard="") for row in combined] == [dict(row, shard="") for row in single]
    exported_merged, exported_single = tmp_path / "merged-export.csv", tmp_path / "single-export.csv"
    assert main(["gradebook", "export", "--gradebook", str(merged), "--out", str(exported_merged)]) == 0
    assert main(["gradebook", "export", "--gradebook", str(root / "single.sqlite3"), "--out",
                 str(exported_single)]) == 0
    exported = [sorted((dict(row, graded_at="") for row in csv_rows(path)),
                       key=lambda row: (row["student_id"], row["question"]))
                for path in (exported_merged, exported_single)]
    assert exported[0] == exported[1] and len(exported[0]) == 6 * 4
    feedback = {}
    for index in range(SHARDS):
        feedback.update(files_of(root / "grading" / f"shard-{index}" / "feedback"))
    assert feedback == files_of(root / "single" / "feedback")


def test_the_job_file_is_the_documented_one():
    """The test submits docs/grading-slurm.sh itself, and the docs show the variables it reads."""
    text = JOB_FILE.read_text(encoding="utf-8")
    documented = (REPO_ROOT / "docs" / "instructor.md").read_text(encoding="utf-8")
    for variable in ("TLKIT_NOTEBOOK", "TLKIT_SUBMISSIONS", "TLKIT_MANIFEST", "TLKIT_GRADING", "TLKIT_PYTHON",
                     "TLKIT_CELL_TIMEOUT", "TLKIT_TIMEOUT"):
        assert "${" + variable in text and variable in documented
    assert "sbatch" in documented and "grading-slurm.sh" in documented
    assert shutil.which("bash") and subprocess.run(["bash", "-n", str(JOB_FILE)]).returncode == 0
