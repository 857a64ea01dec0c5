"""Every course notebook, run the way a new student runs it: JupyterLab, Run All, one quiz answer.

One JupyterLab session serves all seven notebooks (see ``student_session.py``:
the project's JupyterLab with its shipped kernel spec and settings, a fresh
home folder, no student id, no TensorFlow log settings). For each notebook the
test opens it, checks that its saved widgets show (as widgets or their static
copies), clicks Run → Run All Cells, waits until the kernel is idle, and
asserts: no error output, no stderr output, no pending input prompt, every
figure the saved notebook has shows as an image, and one quiz question answered
by clicking is recorded in the student's own gradebook (created private,
mode 0700). Run-All seconds go to ``test-artifacts/e2e/student/``; the speed goal
lives in ``benchmarks/run_all_in_browser.py``, never in this test.

Needs Chromium and Playwright (skipped without them, failing when ``CI=true``).
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import stat

import pytest

from browser import browser_page
from student_session import (COURSE_NOTEBOOKS, StudentLab, open_notebook, problems_after_run_all, quiz_cell,
                             run_all_from_menu, saved_widget_problems)
from test_notebook_in_browser import ARTIFACTS, require_browser
from tlkit.gradebook import Gradebook
from tlkit.quiz import SingleChoiceQuestion, load_quiz

STUDENT_ARTIFACTS = ARTIFACTS / "student"
ROOT = COURSE_NOTEBOOKS[0].parents[1]


@pytest.fixture(scope="module")
def session():
    chromium, sync_api = require_browser()
    if STUDENT_ARTIFACTS.exists():
        shutil.rmtree(STUDENT_ARTIFACTS)
    STUDENT_ARTIFACTS.mkdir(parents=True)
    with StudentLab(log_copy=STUDENT_ARTIFACTS / "jupyterlab.log") as student, \
            browser_page(sync_api, chromium, STUDENT_ARTIFACTS) as browser:
        yield student, browser, sync_api.expect, {}


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda path: path.stem)
def test_run_all_works_for_a_new_student(session, path):
    student, browser, expect, seconds = session
    page = browser.page
    lab_notebook, notebook = open_notebook(page, expect, student.lab, path)
    try:
        assert page.get_by_text(re.compile("official Jupyter news")).count() == 0, "JupyterLab asks about news"
        widget_problems = saved_widget_problems(lab_notebook, notebook)
        browser.shot(f"{path.stem}-01-opened")

        seconds[path.stem] = run_all_from_menu(page, expect, lab_notebook)
        (STUDENT_ARTIFACTS / "run_all_seconds.json").write_text(json.dumps(seconds, indent=2))
        browser.shot(f"{path.stem}-02-after-run-all")
        problems = problems_after_run_all(lab_notebook, notebook)

        # one quiz question, answered by clicking
        index, quiz_id = quiz_cell(notebook)
        quiz = load_quiz(ROOT / "quizzes" / f"{quiz_id}.yaml")
        position, question = next((number, question) for number, question in enumerate(quiz.questions)
                                  if isinstance(question, SingleChoiceQuestion))
        right = next(option for option in question.options if option.correct)
        box = lab_notebook.cells.nth(index).locator(".jp-OutputArea .tlkit-quiz .tlkit-quiz-question").nth(position)
        box.scroll_into_view_if_needed()
        box.get_by_label(right.text, exact=True).check()
        box.locator(".tlkit-quiz-submit").click()
        expect(box.locator(".tlkit-quiz-feedback")).to_have_class(re.compile(r"\btlkit-quiz-feedback-correct\b"))
        browser.shot(f"{path.stem}-03-quiz-answered")
        warning = box.locator(".tlkit-quiz-warning").inner_text().strip()
        assert not warning, f"the quiz could not record the answer: {warning}"
        answers = [answer for answer in Gradebook(student.gradebook_path).quiz_answers(quiz_id)
                   if answer["question_id"] == question.id]
        assert answers and answers[-1]["correct"] is True, f"{quiz_id}/{question.id} is not in {student.gradebook_path}"
        assert answers[-1]["student_id"] == re.sub(r"[^A-Za-z0-9._@+-]", "-", getpass.getuser())
        assert stat.S_IMODE(student.gradebook_path.parent.stat().st_mode) == 0o700

        assert not widget_problems, "saved widgets before running:\n" + "\n".join(widget_problems)
        assert not problems, f"{path.name} after Run All:\n" + "\n".join(problems)
        assert not browser.watcher.problems(), "\n".join(browser.watcher.problems())
    finally:
        student.shut_down_kernels()
