"""The course as a new student meets it: ``./course lab``, a notebook, Run All from the menu.

:class:`StudentLab` starts the JupyterLab command ``./course lab`` runs, from the
project's environment (so the course's kernel spec and JupyterLab settings
apply), in an environment a new student has: a fresh, empty home folder, no
``TLKIT_*`` variables (no student id, no gradebook path), no ``TF_*`` variables
(no log level), no ``XDG_*`` folders and no JupyterHub. The only setting added
for the test is JupyterLab's ``windowingMode: none``, which keeps every cell in
the page so the test can read off-screen outputs.

:func:`run_all_from_menu` opens a notebook, clicks Run → Run All Cells, and
waits until no cell is queued and the kernel is idle; :func:`problems_after_run_all`
lists what a student would see go wrong. The browser test
(``test_course_as_a_student.py``) and the benchmark
``benchmarks/run_all_in_browser.py`` share them.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
import time
import urllib.request

import nbformat

from browser import Notebook
from lab_session import LabServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
COURSE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DISPLAY_ONLY_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}
RUN_ALL_TIMEOUT_S = 1800  # a hang guard for a loaded machine, not a speed goal (see benchmarks/)
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# A live tlkit widget, or any static copy (each carries the "run this cell" note of tlkit.widget_display).
WIDGET_OR_STATIC = ".tlkit-quiz, .tlkit-quiz-static, .tlkit-freeze, .tlkit-freeze-static, .tlkit-static-note"
QUIZ_CALL = re.compile(r"""show_quiz\(\s*["']([^"']+)["']""")


def student_environment(home: pathlib.Path) -> dict:
    """Changes that turn this process's environment into a new student's (None removes a variable)."""
    changes = {
        name: None
        for name in os.environ
        if name.startswith(("TF_", "TLKIT_", "XDG_", "JUPYTERHUB_")) or name in ("OMP_NUM_THREADS",)
    }
    changes["HOME"] = str(home)
    return changes


class StudentLab:
    """JupyterLab over copies of the course notebooks, started as for a new student (a context manager)."""

    def __init__(self, log_copy: pathlib.Path | None = None, notebooks=COURSE_NOTEBOOKS):
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-new-student-"))
        self.lab = LabServer(notebooks, start_timeout=600.0, log_copy=log_copy,
                             environment=student_environment(self.home), lab_settings=DISPLAY_ONLY_SETTINGS,
                             news_off_by_option=False)

    @property
    def gradebook_path(self) -> pathlib.Path:
        """Where tlkit keeps a student's gradebook when nothing is configured (platformdirs on Linux)."""
        return self.home / ".local" / "share" / "tlkit" / "gradebook.sqlite3"

    def shut_down_kernels(self) -> None:
        """Stop every running kernel (one notebook's kernel must not slow down the next)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.lab.url}/api/kernels?token={self.lab.token}", timeout=30) as answer:
            kernels = json.load(answer)
        for kernel in kernels:
            request = urllib.request.Request(f"{self.lab.url}/api/kernels/{kernel['id']}?token={self.lab.token}",
                                             method="DELETE")
            opener.open(request, timeout=60).close()

    def __enter__(self) -> "StudentLab":
        self.lab.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.lab.__exit__(*exc_info)
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)


def open_notebook(page, expect, lab: LabServer, path: pathlib.Path) -> tuple[Notebook, nbformat.NotebookNode]:
    """Open a copy of ``path`` in the page and wait until its kernel is idle."""
    notebook = nbformat.read(path, as_version=4)
    page.goto(lab.notebook_url(path.name))
    lab_notebook = Notebook(page, expect, notebook)
    lab_notebook.wait_until_idle(timeout_ms=300_000)
    expect(lab_notebook.cells).to_have_count(len(notebook.cells), timeout=60_000)
    return lab_notebook, notebook


def saved_widget_problems(lab_notebook: Notebook, notebook) -> list[str]:
    """Before running: every saved widget output shows as a widget or its static copy, never as a text line."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if not any("application/vnd.jupyter.widget-view+json" in output.get("data", {}) for output in outputs):
            continue
        area = lab_notebook.cells.nth(index).locator(".jp-OutputArea")
        if area.locator(WIDGET_OR_STATIC).count() == 0:
            problems.append(f"cell {index}: the saved widget shows as {area.inner_text()[:120]!r}")
    return problems


def run_all_from_menu(page, expect, lab_notebook: Notebook, timeout_s: float = RUN_ALL_TIMEOUT_S) -> float:
    """Click Run → Run All Cells; wait until no cell is queued and the kernel is idle; return the seconds.

    Fails at once if a cell asks for input (a Run All that waits for typing never ends).
    """
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    started = time.monotonic()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    expect(page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt", has_text="*").first).to_be_attached(timeout=60_000)
    state = page.wait_for_function(
        """(panel) => {
            if (document.querySelector(panel + ' .jp-Stdin')) return 'input';
            const prompts = [...document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt')];
            return prompts.some((prompt) => prompt.textContent.includes('*')) ? false : 'done';
        }""",
        arg=PANEL, timeout=timeout_s * 1000, polling=500,
    ).json_value()
    seconds = time.monotonic() - started
    if state == "input":
        raise AssertionError("Run All stopped at a cell asking for input")
    lab_notebook.wait_until_idle(timeout_ms=120_000)
    return seconds


def problems_after_run_all(lab_notebook: Notebook, notebook) -> list[str]:
    """What a student would see go wrong: errors, stderr, a pending input prompt, a figure without its image."""
    page = lab_notebook.page
    problems = []
    for kind, selector in (("an error", '[data-mime-type="application/vnd.jupyter.error"]'),
                           ("stderr output", '[data-mime-type="application/vnd.jupyter.stderr"]')):
        found = page.locator(f"{PANEL} .jp-OutputArea-output{selector}")
        for number in range(found.count()):
            problems.append(f"{kind}: {found.nth(number).inner_text()[:600]}")
    if page.locator(f"{PANEL} .jp-Stdin").count():
        problems.append("a cell is waiting for input")
    unrun = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and not re.search(r"\[\d+\]", lab_notebook.cells.nth(index).locator(".jp-InputPrompt").inner_text())]
    if unrun:
        problems.append(f"code cells not run: {unrun}")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not any("image/png" in output.get("data", {}) for output in cell.outputs):
            continue
        images = lab_notebook.cells.nth(index).locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
        if images.count() == 0:
            problems.append(f"cell {index} saved a figure but shows no image after Run All")
            continue
        width = images.first.evaluate("image => image.naturalWidth")
        if width < 100:
            problems.append(f"cell {index}'s figure is {width} pixels wide")
    return problems


def quiz_cell(notebook) -> tuple[int, str]:
    """The index and quiz id of the notebook's last ``show_quiz("...")`` cell."""
    found = [(index, QUIZ_CALL.search(cell.source).group(1)) for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and QUIZ_CALL.search(cell.source)]
    if not found:
        raise AssertionError("the notebook shows no quiz")
    return found[-1]
