"""Benchmark: the grader's own peak memory when submissions are huge or flood their output.

Grades, sandboxed and exactly as ``python -m tlkit grade`` does, a batch of
the test assignment (``tests/fixtures/assignment/tiny_course.ipynb``) with

* ``huge``: a submission file of ``--notebook-mb`` MB (500 by default: the
  right answers plus one cell whose source is a long string);
* ``flood``: the right answers, with q1's cell printing ``--flood-mb`` MB
  (1024 by default) of output and writing a 900 MB file into its folder;
* ``honest``: the right answers, as a control.

and records the grader process's peak resident memory (``ru_maxrss`` of this
process: the grader runs in it; the sandboxes are separate processes), the
size of each stored executed notebook and what is left of each run folder
after grading, in ``benchmarks/results/grader_memory.json``. Goal: the
grader's peak under 2 GB. Run from the repository root::

    .venv/bin/python benchmarks/grader_memory.py [--notebook-mb 500] [--flood-mb 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
RESULT = ROOT / "benchmarks" / "results" / "grader_memory.json"
GOAL_BYTES = 2 * 1024 ** 3

from instructor_submissions import SOURCE, make_submission, write_submission  # noqa: E402
from tlkit.instructor.grade import Grader, collect_submissions  # noqa: E402
from tlkit.instructor.release import release_notebooks  # noqa: E402


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def folder_bytes(folder: pathlib.Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def build_batch(root: pathlib.Path, notebook_mb: int, flood_mb: int) -> pathlib.Path:
    release_notebooks([SOURCE], root / "release")
    submissions = root / "submissions"
    write_submission(submissions, "honest", make_submission(root / "release", {}))
    flood = ("base.trainable = False\nimport sys\nline = 'x' * 1023 + '\\n'\n"
             f"for _ in range({flood_mb} * 1024):\n    sys.stdout.write(line)\n"
             "with open('filler.bin', 'wb') as handle:\n"
             "    for _ in range(900):\n        handle.write(b'0' * 1024 ** 2)\n")
    write_submission(submissions, "flood", make_submission(root / "release", {"q1": flood}))
    huge = make_submission(root / "release", {})
    huge.cells[-1]["source"] = "# HUGE-PLACEHOLDER"
    path = write_submission(submissions, "huge", huge)
    before, after = path.read_text(encoding="utf-8").split("HUGE-PLACEHOLDER")
    with open(path, "w", encoding="utf-8") as handle:  # streamed: the benchmark itself stays small
        handle.write(before)
        for _ in range(notebook_mb):
            handle.write("y" * 1024 ** 2)
        handle.write(after)
    return submissions


def main(arguments=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook-mb", type=int, default=500)
    parser.add_argument("--flood-mb", type=int, default=1024)
    options = parser.parse_args(arguments)
    root = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-grader-memory-"))
    try:
        submissions = build_batch(root, options.notebook_mb, options.flood_mb)
        sizes = {path.parent.name: path.stat().st_size for path in submissions.glob("*/*.ipynb")}
        before = peak_rss()
        started = time.perf_counter()
        grader = Grader(SOURCE, root / "work", cell_timeout=900, timeout=3600)
        grades = grader.grade(collect_submissions(submissions, SOURCE.name), workers=1)
        seconds = time.perf_counter() - started
        peak = peak_rss()
        runs = root / "work" / "runs"
        record = {
            "grader_peak_rss_bytes": peak,
            "grader_peak_rss_before_grading_bytes": before,
            "goal_bytes": GOAL_BYTES,
            "goal_met": peak < GOAL_BYTES,
            "submission_bytes": sizes,
            "flood_output_bytes": options.flood_mb * 1024 ** 2,
            "executed_notebook_bytes": {grade.student_id: (runs / grade.student_id / "executed.ipynb").stat().st_size
                                        for grade in grades if (runs / grade.student_id / "executed.ipynb").exists()},
            "run_folder_bytes_after_grading": {grade.student_id: folder_bytes(runs / grade.student_id) for grade in grades},
            "scores": {grade.student_id: f"{grade.score:g}/{grade.max_score:g}" for grade in grades},
            "problems": {grade.student_id: grade.problem for grade in grades if grade.problem},
            "notes": {grade.student_id: grade.notes for grade in grades if grade.notes},
            "seconds": round(seconds, 1),
            "load_average": list(os.getloadavg()),
            "cores": os.cpu_count(),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    print(f"grader peak RSS {peak / 1024 ** 2:.0f} MB (goal < {GOAL_BYTES / 1024 ** 3:.0f} GB): "
          f"{'met' if record['goal_met'] else 'NOT met'}")
    return 0 if record["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
