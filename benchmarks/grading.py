"""Benchmark: how many submissions the grader handles per minute on this machine.

Grades ``--copies`` copies of the test assignment's solution
(``tests/fixtures/assignment/tiny_course.ipynb``, five questions on tiny
Keras models), each in its own sandboxed kernel with its own sandboxed
checker, exactly as ``python -m tlkit grade`` does. With ``--compare`` it
grades the same batch twice, with and without the sandbox, to measure what
the sandbox costs per submission. Prints the result and writes
``benchmarks/results/grading.json``. Run it from the repository root::

    .venv/bin/python benchmarks/grading.py [--copies 4] [--workers 1] [--compare]

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


def grade_batch(copies: int, workers: int, sandbox: bool) -> dict:
    import warnings

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tlkit-grading-benchmark-") as folder:
        folder = pathlib.Path(folder)
        os.environ["TLKIT_GRADEBOOK"] = str(folder / "unused.sqlite3")
        submissions = {}
        for number in range(copies):
            target = folder / "submissions" / f"student-{number:03d}" / SOURCE.name
            target.parent.mkdir(parents=True)
            shutil.copy(SOURCE, target)
            submissions[f"student-{number:03d}"] = target
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            grader = Grader(SOURCE, folder / "work", cell_timeout=300, timeout=1800, sandbox=sandbox)
        grades = grader.grade(submissions, workers=workers)
        seconds = time.perf_counter() - started
    return {
        "sandbox": sandbox,
        "submissions": copies,
        "workers": workers,
        "questions_per_submission": len(grader.manifest["questions"]),
        "total_seconds": round(seconds, 2),
        "seconds_per_submission": round(seconds / copies, 2),
        "submissions_per_minute": round(60.0 * copies / seconds, 2),
        "graded_full_marks": sum(grade.score == grade.max_score and not grade.flagged for grade in grades),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def main(arguments=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="submissions to grade (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="sandboxes at the same time (default 1)")
    parser.add_argument("--compare", action="store_true", help="also grade the batch without the sandbox")
    options = parser.parse_args(arguments)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    runs = [grade_batch(options.copies, options.workers, sandbox=True)]
    if options.compare:
        runs.append(grade_batch(options.copies, options.workers, sandbox=False))
    sandboxed = runs[0]
    result = dict(sandboxed)
    result["environment"] = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    if options.compare:
        unsandboxed = runs[1]
        result["without_sandbox"] = unsandboxed
        result["sandbox_cost_seconds_per_submission"] = round(
            sandboxed["seconds_per_submission"] - unsandboxed["seconds_per_submission"], 2)
        result["sandbox_cost_percent"] = round(
            100.0 * (sandboxed["total_seconds"] / unsandboxed["total_seconds"] - 1.0), 1)
        result["note"] = ("both runs start one checker per submission (the sandboxed design); the figure is the "
                          "cost of bubblewrap itself (namespaces, mounts, privilege drop), on a shared, loaded machine")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for run in runs:
        print(f"{'sandboxed' if run['sandbox'] else 'no sandbox'}: graded {run['submissions']} submissions in "
              f"{run['total_seconds']:.1f} s with {run['workers']} worker(s): {run['seconds_per_submission']} s each "
              f"({run['graded_full_marks']} full marks); load average {run['load_average_before'][0]:.1f} -> "
              f"{run['load_average_after'][0]:.1f}")
    return result


if __name__ == "__main__":
    main()
