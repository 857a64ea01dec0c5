"""The headless-Chromium harness shared by the browser tests (tests/e2e and tests/test_jupyterhub.py).

:func:`browser_page` opens a Playwright persistent context on Debian's Chromium
with a throw-away profile, routes every request (anything outside 127.0.0.1 is
aborted and reported), watches the console, and yields a :class:`BrowserPage`
whose :meth:`BrowserPage.shot` saves numbered screenshots to the test's
artifacts folder. :class:`Notebook` drives an open JupyterLab notebook.
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import tempfile
from dataclasses import dataclass

from lab_session import CHROMIUM_ARGS

KERNEL_TIMEOUT_MS = 120_000  # kernel start and the first TensorFlow import
STEP_TIMEOUT_MS = 60_000
NAVIGATION_TIMEOUT_MS = 300_000  # JupyterLab's page is heavy: a hang guard for a loaded machine
VIEWPORT = {"width": 1280, "height": 1000}

# Console errors that are known to be harmless, each with its reason. Keep
# this list short and the patterns narrow: anything else fails the test.
HARMLESS_CONSOLE_ERRORS: list[tuple[re.Pattern, str]] = []


class PageWatcher:
    """Collects console errors, uncaught exceptions and off-machine requests of a page."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.outside_requests: list[str] = []

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        if any(pattern.search(message.text) for pattern, _reason in HARMLESS_CONSOLE_ERRORS):
            return
        self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_page_error(self, error) -> None:
        self.page_errors.append(str(error))

    def on_route(self, route) -> None:
        url = route.request.url
        if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/", url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside_requests.append(url)
            route.abort()

    def problems(self) -> list[str]:
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught page error: {text}" for text in self.page_errors]
            + [f"request outside this machine: {url}" for url in self.outside_requests]
        )


@dataclass
class BrowserPage:
    """An open page, its watcher and where its screenshots go."""

    page: object
    watcher: PageWatcher
    artifacts: pathlib.Path

    def shot(self, name: str) -> None:
        """Save a screenshot of the whole viewport as ``<artifacts>/<name>.png``."""
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"))


@contextlib.contextmanager
def browser_page(sync_api, chromium: str, artifacts: pathlib.Path, default_timeout_ms: int = STEP_TIMEOUT_MS):
    """Yield a :class:`BrowserPage` in a fresh headless Chromium; close everything afterwards."""
    artifacts.mkdir(parents=True, exist_ok=True)
    watcher = PageWatcher()
    with tempfile.TemporaryDirectory(prefix="tlkit-chromium-") as user_data_dir, sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir, executable_path=chromium, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT,
        )
        try:
            context.set_default_timeout(default_timeout_ms)
            context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
            context.route("**/*", watcher.on_route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", watcher.on_console)
            page.on("pageerror", watcher.on_page_error)
            yield BrowserPage(page, watcher, artifacts)
        finally:
            context.close()


class Notebook:
    """The open notebook in the page: find cells, run them, wait for the kernel."""

    def __init__(self, page, expect, notebook):
        self.page = page
        self.expect = expect
        self.cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        self.expected_cell_count = len(notebook.cells)
        self.runs = 0

    def wait_until_idle(self, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        """Wait until a kernel is attached and idle.

        The toolbar's execution indicator alone is not enough: it already
        says ``data-status="idle"`` while the notebook has no kernel yet, so
        the status bar must also name a kernel that is idle.
        """
        indicator = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
        kernel_status = self.page.locator('#jp-main-statusbar .jp-StatusBar-TextItem[title^="Change kernel"]')
        self.expect(kernel_status).to_have_text(re.compile(r"^(?!No Kernel).+\|\s*Idle\s*$"), timeout=timeout_ms)
        self.expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout_ms)

    def run(self, index: int):
        """Run cell ``index`` (0-based, notebook order) and wait until it finished without error."""
        self.expect(self.cells).to_have_count(self.expected_cell_count, timeout=STEP_TIMEOUT_MS)
        cell = self.cells.nth(index)
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Control+Enter")
        # The kernel is fresh, so the n-th run of this session gets the prompt [n].
        self.runs += 1
        self.expect(cell.locator(".jp-InputPrompt")).to_have_text(
            re.compile(rf"\[{self.runs}\]"), timeout=KERNEL_TIMEOUT_MS
        )
        self.wait_until_idle()
        errors = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
        if errors.count():
            raise AssertionError(f"cell {index} raised an error:\n{errors.first.inner_text()}")
        return cell
