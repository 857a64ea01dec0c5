"""Benchmark: how many submissions the grader handles per minute, with 1 and 2 workers side by side.

Grades ``--copies`` copies of the test assignment's solution
(``tests/fixtures/assignment/tiny_course.ipynb``, five questions on tiny
Keras models), each in its own sandboxed kernel with its own sandboxed
checker, exactly as ``python -m tlkit grade`` does, once per worker count in
``--workers`` (default ``1 2``), and records the speed-up of each count over
one worker. While a batch runs it samples, every 0.1 s, the resident memory
(RSS) of every process the benchmark started (the sandboxes, runners, kernels
and checkers, found through ``/proc``) and records the peak: with one worker,
that peak is what one worker needs. With ``--oversubscribed`` it also grades
the batch with the most workers *without* capping each kernel's compute
threads (each TensorFlow uses every core), to show what the cap buys. With
``--compare`` it grades the batch once more without the sandbox, to measure
what the sandbox costs. Prints the results and updates
``benchmarks/results/grading.json`` (keys it does not measure are kept). Run
it from the repository root::

    .venv/bin/python benchmarks/grading.py [--copies 6] [--workers 1 2] [--oversubscribed] [--compare]

With ``--course`` it measures the course itself instead: for each course
notebook (``notebooks/01_*`` to ``06_*``, or those named by ``--notebooks``)
it releases the notebook, fills every answer cell with the exercise's own
``solution()`` code (a full-marks submission, as students would hand it in),
and grades ``--copies`` copies of it with each worker count, recording the
seconds per submission, how long the sandboxed notebook run and the checker
took, and the peak memory. ``--profile`` adds, per notebook, one unsandboxed
run of the same submission with per-cell timing (kernel start, the setup cell
that imports TensorFlow, the slowest cells): where a submission's time goes.
The results go under the key ``course`` of the JSON, from which
``benchmarks/render_readme.py`` projects a class onto machines::

    nice -n 5 .venv/bin/python benchmarks/grading.py --course [--copies 2] [--profile] [--note "..."]

The figures are dominated by the kernel start (importing TensorFlow) and by
how loaded the machine is; the JSON records the load average at the start
and at the end of each batch. A speed-up is only meaningful on free cores.
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
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "fixtures" / "assignment" / "tiny_course.ipynb"
RESULT = ROOT / "benchmarks" / "results" / "grading.json"

from tlkit.instructor.grade import Grader  # noqa: E402
from tlkit.instructor.steps import AUTOGRADE_STEPS, CheckEvidence, ExecuteNotebook, Step  # noqa: E402
from tlkit.instructor.parallel import cpu_count  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(root_pid: int) -> dict[int, tuple[int, float]]:
    """Every descendant of ``root_pid``: pid -> (resident bytes, CPU seconds used so far), from ``/proc``."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    found, pending = {}, list(children.get(root_pid, []))
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                found[pid] = (int(handle.read().split()[1]) * PAGE, cpu.get(pid, 0.0))
        except (OSError, IndexError, ValueError):
            continue
    return found


def descendants_rss(root_pid: int) -> int:
    """Summed resident memory (bytes) of every descendant of ``root_pid``."""
    return sum(rss for rss, _ in descendants(root_pid).values())


class PeakMemory:
    """Sample this process's descendants in a thread: ``peak`` is the largest summed memory seen, ``cpu_seconds``
    the CPU time (user + system) they used, each process counted at its last sample (0.1 s apart).

    CPU seconds do not depend on how busy the machine is, unlike the wall clock: on a shared machine they
    are the better measure of what a submission costs.
    """

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def _sample(self) -> None:
        while not self._stop.is_set():
            found = descendants(os.getpid())
            self.peak = max(self.peak, sum(rss for rss, _ in found.values()))
            for pid, (_, seconds) in found.items():
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), seconds)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


def _grade_copies(folder: pathlib.Path, filled: pathlib.Path, copies: int, workers: int, make_grader):
    """Copy ``filled`` in as ``copies`` students' submissions and grade them with ``workers`` workers.

    Returns the grader, its grades, the wall-clock seconds and the :class:`PeakMemory` record.
    """
    import warnings

    os.environ["TLKIT_GRADEBOOK"] = str(folder / "unused.sqlite3")
    submissions = {}
    for number in range(copies):
        target = folder / "submissions" / f"student-{number:03d}" / filled.name
        target.parent.mkdir(parents=True)
        shutil.copy(filled, target)
        submissions[f"student-{number:03d}"] = target
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grader = make_grader()
    started = time.perf_counter()
    with PeakMemory() as memory:
        grades = grader.grade(submissions, workers=workers)
    return grader, grades, time.perf_counter() - started, memory


def grade_batch(copies: int, workers: int, sandbox: bool = True, threads: int | None = None) -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tlkit-grading-benchmark-") as folder:
        folder = pathlib.Path(folder)
        grader, grades, seconds, memory = _grade_copies(
            folder, SOURCE, copies, workers,
            lambda: Grader(SOURCE, folder / "work", cell_timeout=300, timeout=1800, sandbox=sandbox, threads=threads))
    return {
        "sandbox": sandbox,
        "submissions": copies,
        "workers": workers,
        "threads_per_kernel": grader.processes.threads,
        "questions_per_submission": len(grader.manifest["questions"]),
        "total_seconds": round(seconds, 2),
        "seconds_per_submission": round(seconds / copies, 2),
        "submissions_per_minute": round(60.0 * copies / seconds, 2),
        "peak_memory_gb": round(memory.peak / 1024 ** 3, 2),
        "graded_full_marks": sum(grade.score == grade.max_score and not grade.flagged for grade in grades),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


# -- the course notebooks ---------------------------------------------------------------------------
COURSE = sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb"))


def _solution_chain():
    """tests/test_solution_chain.py, whose ``fill_with_solutions`` builds the full-marks submissions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("solution_chain", ROOT / "tests" / "test_solution_chain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_submission(source: pathlib.Path, folder: pathlib.Path) -> tuple[pathlib.Path, dict]:
    """Release ``source`` into ``folder`` and fill its answer cells with the exercises' ``solution()`` code.

    Returns the filled notebook's path and the notebook's manifest entry.
    """
    import nbformat

    from tlkit.instructor.notebooks import read_notebook
    from tlkit.instructor.release import release_notebooks

    manifest = release_notebooks([source], folder / "release")["notebooks"][source.name]
    released = read_notebook(folder / "release" / source.name)
    _solution_chain().fill_with_solutions(released, manifest)
    path = folder / "filled" / source.name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(released, str(path))
    return path, manifest


class _TimedStep(Step):
    """A grading step that also records its wall time per submission, under ``label``."""

    def __init__(self, step: Step, label: str, seconds: dict):
        self.step, self.label, self.seconds = step, label, seconds
        self.needs, self.gives, self.concurrent = step.needs, step.gives, step.concurrent

    @property
    def name(self) -> str:
        return self.step.name

    def run(self, grader, grade, **inputs):
        started = time.perf_counter()
        try:
            return self.step.run(grader, grade, **inputs)
        finally:
            self.seconds[self.label].append(time.perf_counter() - started)


class _TimedGrader(Grader):
    """The grader, timing its two sandboxed phases per submission: the notebook run and the checker."""

    def __init__(self, *args, **kwargs):
        self.phase_seconds = {"notebook_run": [], "checker": []}
        labels = {ExecuteNotebook: "notebook_run", CheckEvidence: "checker"}
        steps = tuple(_TimedStep(step, labels[type(step)], self.phase_seconds) if type(step) in labels else step
                      for step in AUTOGRADE_STEPS)
        super().__init__(*args, steps=steps, **kwargs)


def grade_course_notebook(source: pathlib.Path, copies: int, workers: int) -> dict:
    """Grade ``copies`` solution-filled submissions of one course notebook with ``workers`` workers, sandboxed."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tlkit-grading-benchmark-") as folder:
        folder = pathlib.Path(folder)
        os.environ["TLKIT_GRADEBOOK"] = str(folder / "unused.sqlite3")
        filled, manifest = solution_submission(source, folder)
        grader, grades, seconds, memory = _grade_copies(
            folder, filled, copies, workers,
            lambda: _TimedGrader(source, folder / "work", cell_timeout=600, timeout=1800, manifest=manifest))
    phases = {name: round(sum(values) / len(values), 2) for name, values in grader.phase_seconds.items() if values}
    return {
        "submissions": copies,
        "workers": workers,
        "threads_per_kernel": grader.processes.threads,
        "questions_per_submission": len(manifest["questions"]),
        "total_seconds": round(seconds, 2),
        "seconds_per_submission": round(seconds / copies, 2),
        "mean_seconds_in_phase": phases,
        "cpu_seconds_per_submission": round(memory.cpu_seconds / copies, 1),
        "peak_memory_gb": round(memory.peak / 1024 ** 3, 2),
        "graded_full_marks": sum(grade.score == grade.max_score and not grade.flagged for grade in grades),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def profile_course_notebook(source: pathlib.Path, top: int = 5) -> dict:
    """Run one solution-filled submission without the sandbox, timing the kernel start and every cell."""
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="tlkit-grading-profile-") as folder:
        folder = pathlib.Path(folder)
        os.environ["TLKIT_GRADEBOOK"] = str(folder / "unused.sqlite3")
        filled, _ = solution_submission(source, folder)
        notebook = nbformat.read(str(filled), as_version=4)
        client = NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(folder)}})
        marks = {}
        client.on_notebook_start = lambda **_: marks.setdefault("kernel_started", time.perf_counter())
        started = time.perf_counter()
        client.execute()
        total = time.perf_counter() - started
    cells = []
    for index, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or "iopub.execute_input" not in timing:
            continue
        from datetime import datetime

        begin = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        cells.append({"cell": index, "seconds": round((end - begin).total_seconds(), 2), "first_line": first[:80]})
    in_cells = sum(cell["seconds"] for cell in cells)
    ranked = sorted(cells, key=lambda cell: -cell["seconds"])
    return {
        "total_seconds": round(total, 2),
        "kernel_start_seconds": round(marks.get("kernel_started", started) - started, 2),
        "seconds_in_cells": round(in_cells, 2),
        "first_code_cells": cells[:3],
        "slowest_cells": ranked[:top],
        "cells": len(cells),
    }


def course_main(options) -> dict:
    result = {}
    chosen = [path for path in COURSE if not options.notebooks or path.name[:2] in options.notebooks]
    for source in chosen:
        entry = {"runs": {}}
        for workers in sorted(set(options.workers)):
            run = grade_course_notebook(source, options.copies, workers)
            entry["runs"][str(workers)] = run
            print(f"{source.stem}: {workers} worker(s): {run['seconds_per_submission']} s per submission "
                  f"({run['graded_full_marks']}/{run['submissions']} full marks, phases {run['mean_seconds_in_phase']}, "
                  f"peak {run['peak_memory_gb']} GB, load {run['load_average_before'][0]:.1f} -> "
                  f"{run['load_average_after'][0]:.1f})", flush=True)
        entry["seconds_per_submission"] = {workers: run["seconds_per_submission"] for workers, run in entry["runs"].items()}
        if options.profile:
            entry["profile"] = profile_course_notebook(source)
            print(f"{source.stem}: profile {json.dumps(entry['profile'])}", flush=True)
        entry["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        result = _record_course_entry(source.stem, entry, options)  # after every notebook
    return result


def _record_course_entry(name: str, entry: dict, options) -> dict:
    """Add one notebook's figures to the JSON file, under a lock (several benchmark processes may share it)."""
    import fcntl

    with open(pathlib.Path(tempfile.gettempdir()) / "tlkit-grading-benchmark.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.is_file() else {}
        course = result.setdefault("course", {})
        notebooks = course.setdefault("notebooks", {})
        if "profile" not in entry and "profile" in notebooks.get(name, {}):
            entry["profile"] = notebooks[name]["profile"]
        notebooks[name] = entry
        course.update({
            "notebooks": dict(sorted(notebooks.items())),
            "cores": cpu_count(),
            "note": options.note or "measured on a shared machine; see the load averages",
            "command": "python benchmarks/grading.py --course " + " ".join(_without_note(options.argv)),
        })
        RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _without_note(argv) -> list:
    """The command-line arguments other than ``--course`` and ``--note`` (whose text the JSON keeps apart)."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--note":
            skip = True
        elif argument != "--course" and not argument.startswith("--note="):
            kept.append(argument)
    return kept


def describe(run: dict) -> str:
    return (f"{'sandboxed' if run['sandbox'] else 'no sandbox'}: {run['submissions']} submissions in "
            f"{run['total_seconds']:.1f} s with {run['workers']} worker(s), {run['threads_per_kernel']} thread(s) "
            f"per kernel: {run['submissions_per_minute']} per minute, peak memory {run['peak_memory_gb']} GB "
            f"({run['graded_full_marks']} full marks); load average {run['load_average_before'][0]:.1f} -> "
            f"{run['load_average_after'][0]:.1f}")


def main(arguments=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="submissions to grade (default 6)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--oversubscribed", action="store_true",
                        help="also grade with the most workers and every core's worth of threads per kernel")
    parser.add_argument("--compare", action="store_true", help="also grade the batch without the sandbox")
    parser.add_argument("--note", default="", help="what else ran on the machine, recorded in the JSON")
    parser.add_argument("--course", action="store_true",
                        help="grade solution-filled submissions of the course notebooks 01-06 instead")
    parser.add_argument("--notebooks", nargs="+", metavar="NN", help="with --course: only these notebooks (e.g. 01 04)")
    parser.add_argument("--profile", action="store_true",
                        help="with --course: also time each cell of one unsandboxed run per notebook")
    options = parser.parse_args(arguments)
    options.argv = list(sys.argv[1:] if arguments is None else arguments)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    if options.course:
        return course_main(options)
    result = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.is_file() else {}
    runs = []
    for workers in sorted(set(options.workers)):
        runs.append(grade_batch(options.copies, workers))
        print(describe(runs[-1]), flush=True)
    base = runs[0]
    parallel = {
        "runs": runs,
        "speedup": {str(run["workers"]): round(base["total_seconds"] / run["total_seconds"], 2) for run in runs},
        "memory_per_worker_gb": base["peak_memory_gb"] if base["workers"] == 1 else None,
        "cores": cpu_count(),
        "note": options.note or "measured on a shared machine; see the load averages",
        "command": "python benchmarks/grading.py " + " ".join(sys.argv[1:] if arguments is None else arguments),
    }
    if options.oversubscribed:
        most = max(options.workers)
        run = grade_batch(options.copies, most, threads=cpu_count())
        print("oversubscribed " + describe(run), flush=True)
        parallel["oversubscribed"] = run
        parallel["speedup_oversubscribed"] = round(base["total_seconds"] / run["total_seconds"], 2)
    result["parallel"] = parallel
    result["environment"] = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    if options.compare:
        sandboxed = base
        unsandboxed = grade_batch(options.copies, base["workers"], sandbox=False)
        print(describe(unsandboxed), flush=True)
        result.update({key: sandboxed[key] for key in sandboxed})
        result["without_sandbox"] = unsandboxed
        result["sandbox_cost_seconds_per_submission"] = round(
            sandboxed["seconds_per_submission"] - unsandboxed["seconds_per_submission"], 2)
        result["sandbox_cost_percent"] = round(
            100.0 * (sandboxed["total_seconds"] / unsandboxed["total_seconds"] - 1.0), 1)
        result["note"] = ("both runs start one checker per submission (the sandboxed design); the figure is the "
                          "cost of bubblewrap itself (namespaces, mounts, privilege drop), on a shared, loaded machine")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("speed-up over 1 worker: " + ", ".join(f"{w} workers: {s}x" for w, s in parallel["speedup"].items()))
    return result


if __name__ == "__main__":
    main()
