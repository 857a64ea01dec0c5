"""End to end: a course notebook in JupyterLab, driven by headless Chromium.

The test starts a private JupyterLab (see ``lab_session.py``), opens a copy of
a notebook, runs the cells that carry an e2e marker, then answers the quiz
like a student and toggles the freeze widget, checking the page at each step:

* the quiz renders inside the cell's output area;
* before any answer, no right option's explanation is anywhere in the page;
* a wrong answer shows that option's explanation in the feedback element, a
  right answer raises the score;
* a freeze checkbox changes the trainable-parameter count;
* the browser console shows no JavaScript error and the page makes no
  request outside 127.0.0.1.

Which cells to run is found by marker, not by position: a code cell belongs
to step ``quiz`` if it has the tag ``e2e-quiz`` or starts with the comment
``# e2e: quiz`` (the same for ``setup`` and ``freeze``). Add a
:class:`NotebookCase` to ``CASES`` to cover another notebook.

Screenshots of every step go to ``test-artifacts/e2e/``. Set
``TLKIT_UPDATE_DOCS_IMAGES=1`` to also refresh ``docs/images/quiz-feedback.png``.

Needs Chromium (``sudo apt-get install chromium``): without it the test is
skipped on a developer machine and fails when ``CI=true``.
"""

from __future__ import annotations

import html
import os
import pathlib
import re
import shutil
import sys
from dataclasses import dataclass

import nbformat
import pytest

from browser import Notebook, browser_page
from lab_session import INSTALL_HINT, LabServer, find_chromium
from tlkit.quiz import SingleChoiceQuestion, load_quiz
from tlkit.quiz.markdown import markdown_to_html

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
DOCS_IMAGE = ROOT / "docs" / "images" / "quiz-feedback.png"


@dataclass(frozen=True)
class NotebookCase:
    """One notebook to drive in the browser.

    Attributes
    ----------
    notebook : pathlib.Path
        The notebook file (a copy is opened, the original is never changed).
    quiz : str
        Id (a file in ``quizzes/``) or path of the quiz the ``quiz`` cell shows, loaded in the test
        process to know the key (the browser never gets it).
    question_id : str or None
        The single-choice question to answer; None means the quiz's first
        single-choice question.
    setup_marker, quiz_marker, freeze_marker : str
        Marker names of the cells to run, see the module docstring. Several
        cells may share the setup marker; they run in notebook order.
    plot_marker : str or None
        Marker of a cell that draws a tlkit figure; the test checks that it
        shows as an image in the output area. None: the case has no such step.
    """

    notebook: pathlib.Path
    quiz: str
    question_id: str | None = None
    setup_marker: str = "setup"
    quiz_marker: str = "quiz"
    freeze_marker: str = "freeze"
    plot_marker: str | None = None


CASES = [
    NotebookCase(HERE / "quiz_and_freeze.ipynb", quiz="course", plot_marker="plot"),
    NotebookCase(ROOT / "notebooks" / "02_freezing.ipynb", quiz="02_freezing"),
]


# --------------------------------------------------------------------------- helpers


def cells_with_marker(notebook: nbformat.NotebookNode, marker: str) -> list[int]:
    """Indices of the code cells tagged ``e2e-<marker>`` or starting with ``# e2e: <marker>``."""
    comment = re.compile(rf"^\s*#\s*e2e:\s*{re.escape(marker)}\s*$")
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tagged = f"e2e-{marker}" in cell.get("metadata", {}).get("tags", [])
        first_line = cell.source.splitlines()[0] if cell.source else ""
        if tagged or comment.match(first_line):
            found.append(index)
    return found


def squeeze(text: str) -> str:
    """Drop every space and line break, so text compares across wrapping and element borders."""
    return re.sub(r"\s+", "", text)


def markdown_as_page_text(markdown: str) -> str:
    """The text a Markdown explanation shows in the page (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markdown_to_html(markdown)))


def chosen_question(case: NotebookCase):
    """Return (quiz, position of the question, question) for the case."""
    path = pathlib.Path(case.quiz)
    quiz = load_quiz(path if path.suffix else ROOT / "quizzes" / f"{case.quiz}.yaml")
    for position, question in enumerate(quiz.questions):
        if not isinstance(question, SingleChoiceQuestion):
            continue
        if case.question_id in (None, question.id):
            return quiz, position, question
    raise AssertionError(f"quiz {quiz.id!r} has no single-choice question {case.question_id or ''!r}")


def running_in_ci() -> bool:
    """True when the environment variable ``CI`` says so (GitHub, GitLab and most runners set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_browser():
    """Return the Chromium path and Playwright's sync API, or skip (fail in CI) saying how to get them."""
    in_ci = running_in_ci()
    give_up = pytest.fail if in_ci else pytest.skip
    chromium = find_chromium()
    if chromium is None:
        give_up(f"browser test needs Chromium, which was not found: {INSTALL_HINT}")
    try:
        from playwright import sync_api
    except ImportError:
        give_up("browser test needs Playwright for Python: pip install -r requirements.txt")
    return chromium, sync_api


# --------------------------------------------------------------------------- the tests


def test_missing_chromium_skips_on_a_developer_machine(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"sudo apt-get install chromium"):
        require_browser()


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"sudo apt-get install chromium"):
        require_browser()


def test_cells_are_found_by_comment_or_tag():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# e2e: quiz"),
        nbformat.v4.new_code_cell("# e2e: setup\nimport keras"),
        nbformat.v4.new_code_cell("show_quiz('course')", metadata={"tags": ["e2e-quiz"]}),
        nbformat.v4.new_code_cell("#e2e:   setup\nx = 1"),
        nbformat.v4.new_code_cell("print('# e2e: quiz')"),
    ]
    assert cells_with_marker(notebook, "setup") == [1, 3]
    assert cells_with_marker(notebook, "quiz") == [2]
    assert cells_with_marker(notebook, "freeze") == []



@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.notebook.name)
def test_notebook_quiz_and_freeze_widget_in_jupyterlab(case: NotebookCase):
    chromium, sync_api = require_browser()
    notebook = nbformat.read(case.notebook, as_version=4)
    steps = {
        marker: cells_with_marker(notebook, marker)
        for marker in (case.setup_marker, case.quiz_marker, case.freeze_marker, case.plot_marker)
        if marker is not None
    }
    for marker, indices in steps.items():
        assert indices, f"{case.notebook.name} has no cell marked '# e2e: {marker}' or tagged 'e2e-{marker}'"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{case.notebook.name} needs kernelspec metadata 'python3' so JupyterLab does not ask for a kernel"
    )
    quiz, position, question = chosen_question(case)
    right = next(option for option in question.options if option.correct)
    wrong = next(option for option in question.options if not option.correct)

    artifacts = ARTIFACTS / case.notebook.stem
    if artifacts.exists():
        shutil.rmtree(artifacts)
    artifacts.mkdir(parents=True)
    expect = sync_api.expect

    with (
        LabServer([case.notebook], log_copy=artifacts / "jupyterlab.log") as lab,
        browser_page(sync_api, chromium, artifacts) as browser,
    ):
        page, watcher, shot = browser.page, browser.watcher, browser.shot
        page.goto(lab.notebook_url(case.notebook.name))
        lab_notebook = Notebook(page, expect, notebook)
        lab_notebook.wait_until_idle()
        shot("01-kernel-idle")

        for index in steps[case.setup_marker]:
            lab_notebook.run(index)
        shot("02-setup-done")

        # ---- the quiz renders inside the output area of its cell
        quiz_cell = lab_notebook.run(steps[case.quiz_marker][0])
        quiz_widget = quiz_cell.locator(".jp-OutputArea .tlkit-quiz")
        expect(quiz_widget).to_be_visible()
        question_box = quiz_widget.locator(".tlkit-quiz-question").nth(position)
        radios = question_box.locator(".widget-radio-box input[type=radio]")
        expect(radios).to_have_count(len(question.options))
        submit = question_box.locator(".tlkit-quiz-submit")
        expect(submit).to_be_enabled()
        score = quiz_widget.locator(".tlkit-quiz-score")
        expect(score).to_contain_text("Score:")
        question_box.scroll_into_view_if_needed()
        shot("03-quiz-rendered")

        # ---- the key is not in the page before an answer
        page_text = squeeze(page.evaluate("document.body.textContent"))
        page_html = page.content()
        for any_question in quiz.questions:
            if isinstance(any_question, SingleChoiceQuestion):
                for option in any_question.options:
                    if option.correct:
                        explanation = squeeze(markdown_as_page_text(option.explanation))
                        assert explanation not in page_text, (
                            f"the explanation of the right option of {any_question.id!r} is in the page before any answer"
                        )
        for marker in ("data-correct", "tlkit-quiz-feedback-correct", "tlkit-quiz-feedback-wrong", "correct: true"):
            assert marker not in page_html, f"{marker!r} is in the page before any answer"
        score_before = int(re.search(r"Score: (\d+) /", score.inner_text()).group(1))

        # ---- a wrong answer: its explanation shows in the feedback element
        question_box.get_by_label(wrong.text, exact=True).check()
        submit.click()
        feedback = question_box.locator(".tlkit-quiz-feedback")
        expect(feedback).to_have_class(re.compile(r"\btlkit-quiz-feedback-wrong\b"))
        assert squeeze(markdown_as_page_text(wrong.explanation)) in squeeze(feedback.inner_text())
        right_explanation = squeeze(markdown_as_page_text(right.explanation))
        assert right_explanation not in squeeze(page.evaluate("document.body.textContent")), (
            "a wrong answer must not reveal the right option's explanation"
        )
        question_box.scroll_into_view_if_needed()
        shot("04-wrong-answer-feedback")
        question_box.screenshot(path=str(artifacts / "quiz-feedback.png"))

        # ---- retry, the right answer: the score goes up
        question_box.locator(".tlkit-quiz-retry").click()
        expect(feedback).not_to_have_class(re.compile(r"\btlkit-quiz-feedback-wrong\b"))
        question_box.get_by_label(right.text, exact=True).check()
        submit.click()
        expect(feedback).to_have_class(re.compile(r"\btlkit-quiz-feedback-correct\b"))
        assert right_explanation in squeeze(feedback.inner_text())
        expect(score).to_contain_text(f"Score: {score_before + 1} /")
        shot("05-right-answer-score")

        # ---- the freeze widget: a checkbox changes the trainable count
        freeze_cell = lab_notebook.run(steps[case.freeze_marker][0])
        freeze = freeze_cell.locator(".jp-OutputArea .tlkit-freeze")
        expect(freeze).to_be_visible()
        count = freeze.locator(".tlkit-freeze-count")
        expect(count).to_contain_text("trainable parameters:")
        count_before = count.inner_text()
        trainable_before = int(re.search(r"trainable parameters: ([\d,]+) of", count_before).group(1).replace(",", ""))
        first_box = freeze.locator(".tlkit-freeze-toggle input[type=checkbox]").first
        expect(first_box).to_be_checked()
        freeze.scroll_into_view_if_needed()
        shot("06-freeze-widget")
        first_box.uncheck()
        expect(count).not_to_have_text(count_before)
        trainable_after = int(re.search(r"trainable parameters: ([\d,]+) of", count.inner_text()).group(1).replace(",", ""))
        assert trainable_after < trainable_before
        expect(freeze.locator(".tlkit-freeze-reminder")).to_have_class(re.compile(r"tlkit-freeze-reminder-pending"))
        freeze.locator(".tlkit-freeze-all").click()
        expect(count).to_contain_text(re.compile(r"trainable parameters: 0 of"))
        shot("07-freeze-toggled")

        # ---- a figure renders as an image in the output area, not as "<Figure size ...>" text
        if case.plot_marker is not None:
            plot_cell = lab_notebook.run(steps[case.plot_marker][0])
            image = plot_cell.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
            expect(image).to_be_visible()
            width, height = image.evaluate("element => [element.naturalWidth, element.naturalHeight]")
            assert width > 100 and height > 100, f"the plot image is {width}x{height} pixels"
            assert "<Figure size" not in plot_cell.locator(".jp-OutputArea").inner_text()
            plot_cell.scroll_into_view_if_needed()
            shot("08-plot-rendered")

        lab_notebook.wait_until_idle()
        assert not watcher.problems(), "\n".join(watcher.problems())

    if os.environ.get("TLKIT_UPDATE_DOCS_IMAGES") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(artifacts / "quiz-feedback.png", DOCS_IMAGE)
