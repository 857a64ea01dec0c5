"""Benchmark: how long Run All takes in JupyterLab, in a browser, for a new student.

The same session as the browser test ``tests/e2e/test_course_as_a_student.py``
(``tests/e2e/student_session.py``): the project's JupyterLab with the course's
kernel spec and settings, a fresh home folder, no student id and no TensorFlow
log settings, headless Chromium. For each course notebook it opens the notebook,
clicks Run → Run All Cells and measures the seconds until no cell is queued, then
shuts the kernel down before the next one. The figures, with the machine's load
average before and after each run (the goal, 90 s per notebook, is for two *free*
cores), are printed and written to ``benchmarks/results/run_all_in_browser.json``.
A notebook whose run showed an error, stderr or a pending input is recorded with
those problems, so a fast but broken run is never mistaken for a good one.

Run it from the repository root (needs Chromium and Playwright, like the browser tests)::

    .venv/bin/python benchmarks/run_all_in_browser.py                  # every notebook
    .venv/bin/python benchmarks/run_all_in_browser.py 06_put_it_to_work
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT))

from browser import browser_page  # noqa: E402
from lab_session import INSTALL_HINT, find_chromium  # noqa: E402
from student_session import (COURSE_NOTEBOOKS, StudentLab, open_notebook, problems_after_run_all,  # noqa: E402
                             run_all_from_menu)

RESULTS = ROOT / "benchmarks" / "results" / "run_all_in_browser.json"
ARTIFACTS = ROOT / "test-artifacts" / "benchmarks" / "run_all_in_browser"
#: Run All of a notebook's default parameters should stay below this on two free cores.
GOAL_SECONDS = 90


def commit() -> str | None:
    """The checked-out commit the notebooks were run from (None outside a git checkout)."""
    import subprocess

    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or None


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook stems, e.g. 06_put_it_to_work (default: all)")
    args = parser.parse_args(argv)
    paths = [path for path in COURSE_NOTEBOOKS if not args.names or path.stem in args.names]
    if not paths:
        print(f"no course notebook matches {args.names}", file=sys.stderr)
        return 2
    chromium = find_chromium()
    if chromium is None:
        print(f"this benchmark needs Chromium: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from playwright import sync_api

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update({
        "goal_seconds_on_two_free_cores": GOAL_SECONDS,
        "what": "Run All from JupyterLab's menu in headless Chromium until no cell is queued, as a new student "
                "(fresh home, no student id, no TensorFlow log settings), default parameters",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    })
    notebooks = results.setdefault("notebooks", {})
    status = 0
    with StudentLab(log_copy=ARTIFACTS / "jupyterlab.log", notebooks=paths) as student, \
            browser_page(sync_api, chromium, ARTIFACTS) as browser:
        for path in paths:
            lab_notebook, notebook = open_notebook(browser.page, sync_api.expect, student.lab, path)
            before = load_average()
            seconds = run_all_from_menu(browser.page, sync_api.expect, lab_notebook)
            after = load_average()
            problems = problems_after_run_all(lab_notebook, notebook)
            student.shut_down_kernels()
            notebooks[path.stem] = {
                "seconds": round(seconds, 1),
                "load_average_1min_before": before,
                "load_average_1min_after": after,
                "problems": problems,
                "commit": commit(),
                "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            verdict = "ok" if seconds <= GOAL_SECONDS else "over the goal"
            print(f"{path.stem}: Run All in {seconds:.0f} s ({verdict}; load {before} -> {after})"
                  + (f"; {len(problems)} problem(s): {problems[0][:200]}" if problems else ""))
            status = status or (1 if problems else 0)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
