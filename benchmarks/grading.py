"""Benchmark: how many submissions the grader handles per minute on this machine.

Grades ``--copies`` copies of the test assignment's solution
(``tests/fixtures/assignment/tiny_course.ipynb``, five questions on tiny
Keras models), each in its own kernel, then re-checks all the evidence in one
checker process, exactly as ``python -m tlkit grade`` does. Prints the result
and writes ``benchmarks/results/grading.json``. Run it from the repository root::

    .venv/bin/python benchmarks/grading.py [--copies 4] [--workers 1]

The figure is dominated by the kernel start (importing TensorFlow) and by
how loaded the machine is; the JSON records the load average at the start
and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SOURCE = ROOT / "tests" / "fixtures" / "assignment" / "tiny_course.ipynb"
RESULT = ROOT / "benchmarks" / "results" / "grading.json"

from tlkit.instructor.grade import Grader  # noqa: E402


def main(arguments=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="submissions to grade (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="kernels at the same time (default 1)")
    options = parser.parse_args(arguments)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tlkit-grading-benchmark-") as folder:
        folder = pathlib.Path(folder)
        os.environ["TLKIT_GRADEBOOK"] = str(folder / "unused.sqlite3")
        submissions = {}
        for number in range(options.copies):
            target = folder / "submissions" / f"student-{number:03d}" / SOURCE.name
            target.parent.mkdir(parents=True)
            shutil.copy(SOURCE, target)
            submissions[f"student-{number:03d}"] = target
        started = time.perf_counter()
        grader = Grader(SOURCE, folder / "work", cell_timeout=300, timeout=1800)
        grades = grader.grade(submissions, workers=options.workers)
        seconds = time.perf_counter() - started
    full_marks = sum(grade.score == grade.max_score and not grade.flagged for grade in grades)
    result = {
        "submissions": options.copies,
        "workers": options.workers,
        "questions_per_submission": len(grader.manifest["questions"]),
        "total_seconds": round(seconds, 2),
        "seconds_per_submission": round(seconds / options.copies, 2),
        "submissions_per_minute": round(60.0 * options.copies / seconds, 2),
        "graded_full_marks": full_marks,
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "environment": {"python": platform.python_version(), "machine": platform.machine(),
                        "cpus": os.cpu_count()},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"graded {options.copies} submissions in {seconds:.1f} s with {options.workers} worker(s): "
          f"{result['submissions_per_minute']} submissions per minute ({full_marks} full marks); "
          f"load average {load_before[0]:.1f} -> {result['load_average_after'][0]:.1f}")
    return result


if __name__ == "__main__":
    main()
