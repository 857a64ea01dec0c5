"""Benchmark: how long each course notebook takes with its default parameters.

Every notebook in ``notebooks/`` is executed top to bottom in a fresh kernel
(nbclient), exactly as a student would run it with ``FULL = False``. The wall
time of each run is printed and written to
``benchmarks/results/notebook_times.json``, together with the machine's load
average, because the course's target (about 90 s per notebook on two free CPU
cores) can only be judged against how busy the machine was.

The runs use a throw-away gradebook, student id and feature cache, so they
neither record checks for a real student nor start from cached features.

Run it from the repository root::

    .venv/bin/python benchmarks/notebook_times.py                  # every notebook
    .venv/bin/python benchmarks/notebook_times.py 01_feature_extraction
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results" / "notebook_times.json"
#: The default run of a notebook should stay below this on two free cores.
GOAL_SECONDS = 90


def notebook_paths(names=None) -> list[pathlib.Path]:
    """The course notebooks, optionally only those whose stem is in ``names``."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if names:
        paths = [path for path in paths if path.stem in names]
    return paths


def isolated_environment() -> dict:
    """Environment variables that keep the runs away from real user data."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-notebook-times-"))
    return {
        "TLKIT_GRADEBOOK": str(scratch / "gradebook.sqlite3"),
        "TLKIT_STUDENT_ID": "benchmark",
        "TLKIT_CACHE_DIR": str(scratch / "cache"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def time_notebook(path: pathlib.Path, timeout: int = 3600) -> float:
    """Execute one notebook in a fresh kernel; return its wall time in seconds.

    Parameters
    ----------
    path : pathlib.Path
        The ``.ipynb`` file; it is read, not modified.
    timeout : int
        Seconds any one cell may take.
    """
    import nbformat

    from tlkit.notebook_timing import execute_timed

    return execute_timed(nbformat.read(path, as_version=4), path.parent, timeout)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook stems, e.g. 02_freezing (default: all)")
    arguments = parser.parse_args(argv)
    paths = notebook_paths(arguments.names)
    if not paths:
        print(f"no notebooks match {arguments.names or 'any name'} in {NOTEBOOKS}", file=sys.stderr)
        raise SystemExit(1)
    os.environ.update(isolated_environment())
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    notebooks = dict(previous.get("notebooks", {}))
    for path in paths:
        load_before = os.getloadavg()[0]
        seconds = time_notebook(path)
        load_after = os.getloadavg()[0]
        notebooks[path.stem] = {
            "seconds": round(seconds, 1),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(load_after, 2),
            "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        print(f"{path.stem:<28} {seconds:7.1f} s   (1-min load average {load_before:.1f} -> {load_after:.1f})", flush=True)
    result = {
        "goal_seconds_on_two_free_cores": GOAL_SECONDS,
        "parameters": "defaults (FULL = False)",
        "notebooks": dict(sorted(notebooks.items())),
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "note": "A load average above the number of CPUs means other processes shared the cores; "
        "the times are then pessimistic.",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
