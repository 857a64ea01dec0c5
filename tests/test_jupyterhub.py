"""End to end: the classroom JupyterHub of ``deploy/jupyterhub`` with three students.

The test creates three system users (``tlkit-hub-test-1..3``, removed again at
the end), starts the hub with the repository's ``jupyterhub_config.py`` plus a
test-only layer (a shared-password login for those three users, free ports on
127.0.0.1, an API token for the test, state in a temporary folder), and the
hub starts ``configurable-http-proxy`` from ``deploy/jupyterhub/node_modules``.

* Student 1 logs in through the hub's login page in headless Chromium, opens
  ``notebooks/02_freezing.ipynb`` from their own copy, runs the setup cells and
  answers a quiz question wrong, then right, by clicking the widget.
* Students 2 and 3 (at the same time) get their servers through the hub's REST
  API; the test opens a kernel on their copy of the notebook over the kernel
  websocket, runs the same setup cells and the quiz cell, and submits an answer
  through the widget's own submit button (``QuestionView.submit.click()``).

Then it checks that each student's answers are in that student's own gradebook
(``~/.local/share/tlkit/gradebook.sqlite3``, owned by the student, folder mode
0700), recorded under their login name and nobody else's, and that from each
student's kernel the other students' gradebooks and homes cannot be read
(``PermissionError``).

Needs root (to create users and run the servers under their uids), ``useradd``,
Node.js with ``npm ci --prefix deploy/jupyterhub``, JupyterHub and Chromium: on a
developer machine without them the test is skipped; with ``CI=true`` it fails.
Logs and screenshots go to ``test-artifacts/jupyterhub/``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import json
import os
import pathlib
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from browser import Notebook, browser_page  # noqa: E402
from lab_session import INSTALL_HINT, LAB_SETTINGS, find_chromium, free_port  # noqa: E402
from test_notebook_in_browser import cells_with_marker  # noqa: E402

from tlkit.gradebook import Gradebook  # noqa: E402
from tlkit.quiz import SingleChoiceQuestion, load_quiz  # noqa: E402

DEPLOY = ROOT / "deploy" / "jupyterhub"
sys.path.insert(0, str(DEPLOY))
import collect_submissions  # noqa: E402

HUB_CONFIG = DEPLOY / "jupyterhub_config.py"
PROXY = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
ARTIFACTS = ROOT / "test-artifacts" / "jupyterhub"

USERS = ("tlkit-hub-test-1", "tlkit-hub-test-2", "tlkit-hub-test-3")
BROWSER_USER = USERS[0]
NOTEBOOK = "02_freezing.ipynb"
NOTEBOOK_PATH = f"notebooks/{NOTEBOOK}"  # inside each student's ~/tlkit-course
QUIZ = "02_freezing"
GRADEBOOK = pathlib.PurePosixPath(".local/share/tlkit/gradebook.sqlite3")  # inside each home

HUB_START_TIMEOUT = 60.0
SPAWN_TIMEOUT = 150.0
CELL_TIMEOUT = 150.0  # the first TensorFlow import, with three students on two cores
PAGE_TIMEOUT_MS = 150_000
STEP_TIMEOUT_MS = 60_000

NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never via http_proxy


# --------------------------------------------------------------------------- requirements


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_classroom_server():
    """Return (chromium, playwright sync API), or skip (fail when CI=true) saying what is missing."""
    give_up = pytest.fail if running_in_ci() else pytest.skip
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        give_up("the JupyterHub test creates system users and runs servers under their uids: run it as root")
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            give_up(f"the JupyterHub test needs {tool} (Debian/Ubuntu package passwd)")
    if not PROXY.exists():
        give_up("the JupyterHub test needs configurable-http-proxy: npm ci --prefix deploy/jupyterhub (needs Node.js)")
    if shutil.which("node") is None:
        give_up("the JupyterHub test needs Node.js for configurable-http-proxy: sudo apt-get install nodejs")
    if not (pathlib.Path(sys.executable).parent / "jupyterhub").exists():
        give_up("the JupyterHub test needs jupyterhub: pip install -r requirements.txt")
    chromium = find_chromium()
    if chromium is None:
        give_up(f"the JupyterHub test needs Chromium, which was not found: {INSTALL_HINT}")
    try:
        from playwright import sync_api
    except ImportError:
        give_up("the JupyterHub test needs Playwright for Python: pip install -r requirements.txt")
    return chromium, sync_api


# --------------------------------------------------------------------------- system users


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def processes_of(uid: int) -> list[int]:
    """Process ids whose real uid is ``uid``."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        match = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
        if match and int(match.group(1)) == uid:
            found.append(int(entry.name))
    return found


def stop_processes_of(uid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, every process of ``uid`` (only ever a test user's uid)."""
    assert uid >= 1000, uid
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            try:
                os.kill(pid, signal_number)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not processes_of(uid):
            return


def remove_user(name: str) -> None:
    assert name.startswith("tlkit-hub-test-"), name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    stop_processes_of(entry.pw_uid)
    subprocess.run([_tool("userdel"), "--remove", name], capture_output=True, timeout=60)
    if entry.pw_dir.startswith("/home/tlkit-hub-test-") and os.path.isdir(entry.pw_dir):
        shutil.rmtree(entry.pw_dir, ignore_errors=True)


def create_user(name: str) -> pwd.struct_passwd:
    remove_user(name)  # a leftover of an interrupted run
    subprocess.run(
        [_tool("useradd"), "--create-home", "--home-dir", f"/home/{name}", "--shell", "/bin/bash", name],
        check=True, capture_output=True, timeout=60,
    )
    return pwd.getpwnam(name)


def write_lab_settings(user: pwd.struct_passwd) -> None:
    """The same quiet JupyterLab settings as the browser test (no news or update check, every cell rendered)."""
    home = pathlib.Path(user.pw_dir)
    folder = home / ".jupyter" / "lab" / "user-settings"
    for name, values in LAB_SETTINGS.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2))
    for path in [home / ".jupyter", *(home / ".jupyter").rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


# --------------------------------------------------------------------------- a Python the students can run


def runnable_by_everyone(path: str) -> bool:
    """True if ``path`` and every folder above it can be reached and run by any user."""
    real = pathlib.Path(os.path.realpath(path))
    if not real.exists() or not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in real.parents)


def student_python(folder: pathlib.Path) -> str:
    """The Python for the students' servers: the course environment's own if students can run it.

    A course environment built on an interpreter under ``/root`` (pyenv on a CI runner)
    cannot be run by the students' uids. Then the test builds, in ``folder``, a small
    venv on the system Python of the same version that sees the course environment's
    packages (a ``.pth`` file) and its Jupyter data and config (``share``, ``etc``).
    """
    base_prefix_ok = all(
        folder_above.stat().st_mode & stat.S_IXOTH for folder_above in pathlib.Path(sys.base_prefix).parents
    )
    if runnable_by_everyone(sys.executable) and base_prefix_ok:
        return sys.executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if os.path.exists(candidate) and runnable_by_everyone(candidate):
            break
    else:
        (pytest.fail if running_in_ci() else pytest.skip)(
            f"the course environment's Python ({os.path.realpath(sys.executable)}) cannot be run by other users "
            f"and there is no system python{version} to build one they can run: sudo apt-get install python{version}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    venv = folder / "student-venv"
    subprocess.run([candidate, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True, timeout=120)
    import sysconfig

    course_packages = sysconfig.get_paths()["purelib"]
    student_packages = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    pathlib.Path(student_packages, "tlkit-course-environment.pth").write_text(
        f"import site; site.addsitedir({course_packages!r})\n"
    )
    for name in ("share", "etc"):  # JupyterLab's assets, widget extensions, server extension config
        if (pathlib.Path(sys.prefix) / name).is_dir() and not (venv / name).exists():
            (venv / name).symlink_to(pathlib.Path(sys.prefix) / name)
    for path in [venv, *venv.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else (path.stat().st_mode | 0o444))
    return str(venv / "bin" / "python")


# --------------------------------------------------------------------------- the hub


class Hub:
    """The repository's JupyterHub (plus a test layer) on 127.0.0.1; stop() kills everything it started."""

    def __init__(self, users, artifacts: pathlib.Path):
        self.users = list(users)
        self.artifacts = artifacts
        self.state = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-hub-test-"))
        self.runtime = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-hub-test-python-"))  # readable by the students
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.token = secrets.token_hex(32)
        self.process: subprocess.Popen | None = None
        self.log_path = self.state / "jupyterhub.log"
        self._log = None

    def _write_config(self) -> pathlib.Path:
        hub_port, api_port = free_port(), free_port()
        while len({self.port, hub_port, api_port}) < 3:
            hub_port, api_port = free_port(), free_port()
        config = self.state / "test_config.py"
        config.write_text(f"""
# The classroom configuration, then the test-only layer.
load_subconfig({str(HUB_CONFIG)!r})
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
# test only: one shared password for exactly the three test users
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {self.password!r}
c.Authenticator.allowed_users = {set(self.users)!r}
c.Authenticator.admin_users = set()
# an API token for the test: start servers, use them
c.JupyterHub.services = [{{"name": "tlkit-hub-test", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "tlkit-hub-test",
    "scopes": ["admin:users", "admin:servers", "access:servers"],
    "services": ["tlkit-hub-test"],
}}]
# the students' servers keep the suite's offline guard and this checkout's tlkit
c.Spawner.env_keep = ["PYTHONPATH", "LANG", "LC_ALL"]
c.JupyterHub.log_level = "INFO"
""")
        return config

    def start(self) -> "Hub":
        config = self._write_config()
        environment = dict(os.environ)
        environment["TLKIT_HUB_STATE_DIR"] = str(self.state)
        environment["TLKIT_HUB_PYTHON"] = student_python(self.runtime)
        environment.pop("TLKIT_GRADEBOOK", None)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(pathlib.Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            cwd=self.state, env=environment, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + HUB_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterHub exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.api("GET", "/hub/api/")[0] == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"JupyterHub did not answer within {HUB_START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def log_tail(self, characters: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, body=None, timeout: float = 30.0):
        """Call the hub (or, through the proxy, a student's server) with the test's token; return (status, JSON)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json",
        })
        try:
            with NO_PROXY_OPENER.open(request, timeout=timeout) as answer:
                text = answer.read().decode() or "null"
                return answer.status, json.loads(text)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def start_server(self, name: str) -> None:
        status, answer = self.api("POST", f"/hub/api/users/{name}/server")
        assert status in (201, 202), f"starting {name}'s server: HTTP {status} {answer}"

    def wait_for_server(self, name: str, timeout: float = SPAWN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, answer = self.api("GET", f"/hub/api/users/{name}")
            if status == 200 and answer.get("servers", {}).get("", {}).get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        proxy_pid_file = self.state / "jupyterhub-proxy.pid"
        proxy_pid = None
        try:
            proxy_pid = int(proxy_pid_file.read_text().strip())
        except (OSError, ValueError):
            pass
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the hub stops the students' servers and its proxy
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # anything left in the hub's session
            except (ProcessLookupError, PermissionError):
                pass
        if proxy_pid is not None:
            try:
                if "configurable-http-proxy" in pathlib.Path(f"/proc/{proxy_pid}/cmdline").read_text(errors="replace"):
                    os.kill(proxy_pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        if self._log is not None:
            self._log.close()
        self.artifacts.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists():
            shutil.copy2(self.log_path, self.artifacts / "jupyterhub.log")
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


# --------------------------------------------------------------------------- a kernel over the websocket


class KernelSession:
    """A notebook session on a student's server, driven over the kernel websocket (Jupyter protocol 5.3)."""

    def __init__(self, hub: Hub, user: str, path: str):
        self.hub, self.user, self.path = hub, user, path
        self.session = uuid.uuid4().hex
        self.websocket = None
        self.kernel_id = None
        self.session_id = None

    async def open(self) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        status, answer = await asyncio.to_thread(
            self.hub.api, "POST", f"/user/{self.user}/api/sessions",
            {"path": self.path, "name": pathlib.PurePosixPath(self.path).name, "type": "notebook",
             "kernel": {"name": "python3"}},
        )
        assert status == 201, f"{self.user}: creating a session on {self.path}: HTTP {status} {answer}"
        self.kernel_id = answer["kernel"]["id"]
        self.session_id = answer["id"]
        url = self.hub.url.replace("http://", "ws://") + (
            f"/user/{self.user}/api/kernels/{self.kernel_id}/channels?session_id={self.session}"
        )
        request = HTTPRequest(url, headers={"Authorization": f"token {self.hub.token}"}, request_timeout=60)
        self.websocket = await asyncio.wait_for(websocket_connect(request), 60)

    async def run(self, code: str, timeout: float = CELL_TIMEOUT) -> str:
        """Execute ``code``; return its printed output, or fail with the kernel's traceback."""
        message_id = uuid.uuid4().hex
        await self.websocket.write_message(json.dumps({
            "header": {"msg_id": message_id, "msg_type": "execute_request", "username": self.user,
                       "session": self.session, "version": "5.3",
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        output, error, replied, idle = [], None, False, False
        while not (replied and idle):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.user}: no answer from the kernel within {timeout:.0f} s to:\n{code}")
            raw = await asyncio.wait_for(self.websocket.read_message(), remaining)
            if raw is None:
                raise AssertionError(f"{self.user}: the kernel websocket closed while running:\n{code}")
            if isinstance(raw, bytes):
                continue  # binary (widget buffer) messages are not ours
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                error = "\n".join(content.get("traceback", [])) or f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        if error:
            error = re.sub(r"\x1b\[[0-9;]*m", "", error)  # no terminal colours in the failure message
            raise AssertionError(f"{self.user}: the kernel raised while running:\n{code}\n{error}")
        return "".join(output)

    async def close(self) -> None:
        if self.websocket is not None:
            self.websocket.close()
        if self.session_id is not None:  # ends the session and shuts its kernel down
            await asyncio.to_thread(self.hub.api, "DELETE", f"/user/{self.user}/api/sessions/{self.session_id}")


RESULT = "TLKIT-RESULT:"


def answer_in_kernel_code(question_id: str, option_id: str) -> str:
    """Code that answers one question through the quiz widget, as a click on its Submit button does."""
    return f"""
import json as _json
_widget = quiz.show_quiz({QUIZ!r})
_view = next(view for view in _widget.questions if view.question.id == {question_id!r})
_view.set_answer({option_id!r})
_view.submit.click()
print({RESULT!r} + _json.dumps({{"feedback": _view.feedback.value, "warning": _view.warning.value}}))
"""


def cross_read_code(others: dict[str, str]) -> str:
    """Code that tries to read other students' gradebooks and homes; prints what happened to each."""
    return f"""
import json as _json, os as _os
_outcomes = {{}}
for _name, _home in {others!r}.items():
    for _label, _attempt in (
        ("gradebook", lambda: open(_os.path.join(_home, {str(GRADEBOOK)!r}), "rb").read(1)),
        ("home", lambda: _os.listdir(_home)),
    ):
        try:
            _attempt()
            _outcomes[f"{{_name}} {{_label}}"] = "READ"
        except PermissionError:
            _outcomes[f"{{_name}} {{_label}}"] = "PermissionError"
        except Exception as _error:
            _outcomes[f"{{_name}} {{_label}}"] = type(_error).__name__
print({RESULT!r} + _json.dumps({{"outcomes": _outcomes, "uid": _os.getuid(), "home": _os.environ.get("HOME"),
                             "student": _os.environ.get("TLKIT_STUDENT_ID")}}))
"""


def result_of(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith(RESULT)]
    assert lines, f"no result line in the kernel's output:\n{output}"
    return json.loads(lines[-1][len(RESULT):])


def drive_by_api(hub: Hub, user: str, setup_code: list[str], question_id: str, option_id: str) -> dict:
    """Student ``user`` without a browser: setup cells, one quiz answer, then the cross-read attempts."""

    async def steps():
        await asyncio.to_thread(hub.wait_for_server, user)
        kernel = KernelSession(hub, user, NOTEBOOK_PATH)
        await kernel.open()
        try:
            for code in setup_code:
                await kernel.run(code)
            return result_of(await kernel.run(answer_in_kernel_code(question_id, option_id)))
        finally:
            await kernel.close()

    return asyncio.run(steps())


def cross_read(hub: Hub, user: str, others: dict[str, str]) -> dict:
    async def steps():
        kernel = KernelSession(hub, user, NOTEBOOK_PATH)
        await kernel.open()
        try:
            return result_of(await kernel.run(cross_read_code(others), timeout=60))
        finally:
            await kernel.close()

    return asyncio.run(steps())


# --------------------------------------------------------------------------- the browser student


def drive_in_browser(hub: Hub, chromium: str, sync_api, notebook, question, position: int, artifacts: pathlib.Path):
    """Student 1: log in on the hub's page, open the notebook, run setup, answer wrong then right."""
    expect = sync_api.expect
    setup_cells = cells_with_marker(notebook, "setup")
    quiz_cell_index = cells_with_marker(notebook, "quiz")[0]
    right = next(option for option in question.options if option.correct)
    wrong = next(option for option in question.options if not option.correct)
    with browser_page(sync_api, chromium, artifacts, default_timeout_ms=STEP_TIMEOUT_MS) as browser:
        page, watcher, shot = browser.page, browser.watcher, browser.shot
        page.goto(f"{hub.url}/hub/login")
        page.locator("#username_input").fill(BROWSER_USER)
        page.locator("#password_input").fill(hub.password)
        shot("01-login")
        page.locator("#login_submit").click()
        # The hub spawns the server, then lands on JupyterLab; open the student's own copy.
        expect(page).to_have_url(re.compile(rf"/user/{re.escape(BROWSER_USER)}/lab"), timeout=PAGE_TIMEOUT_MS)
        page.goto(f"{hub.url}/user/{BROWSER_USER}/lab/tree/{NOTEBOOK_PATH}?reset")
        lab = Notebook(page, expect, notebook)
        lab.wait_until_idle(timeout_ms=PAGE_TIMEOUT_MS)
        shot("02-notebook-open")
        for index in setup_cells:
            lab.run(index)
        quiz_cell = lab.run(quiz_cell_index)
        question_box = quiz_cell.locator(".jp-OutputArea .tlkit-quiz .tlkit-quiz-question").nth(position)
        feedback = question_box.locator(".tlkit-quiz-feedback")
        question_box.get_by_label(wrong.text, exact=True).check()
        question_box.locator(".tlkit-quiz-submit").click()
        expect(feedback).to_have_class(re.compile(r"\btlkit-quiz-feedback-wrong\b"))
        question_box.locator(".tlkit-quiz-retry").click()
        question_box.get_by_label(right.text, exact=True).check()
        question_box.locator(".tlkit-quiz-submit").click()
        expect(feedback).to_have_class(re.compile(r"\btlkit-quiz-feedback-correct\b"))
        question_box.scroll_into_view_if_needed()
        shot("03-quiz-answered")
        warning = question_box.locator(".tlkit-quiz-warning").inner_text().strip()
        assert not warning, f"the quiz could not record {BROWSER_USER}'s answer: {warning}"
        assert not watcher.problems(), "\n".join(watcher.problems())
    return {"wrong": wrong.id, "right": right.id}


# --------------------------------------------------------------------------- the test


def test_missing_requirements_fail_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(sys.modules[__name__], "find_chromium", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(pytest.fail.Exception, match=r"Chromium|configurable-http-proxy|Node.js|useradd|jupyterhub"):
        require_classroom_server()


def test_missing_requirements_skip_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match=r"run it as root"):
        require_classroom_server()


def test_collect_submissions_copies_notebooks_and_gradebook_but_no_links(tmp_path):
    home = tmp_path / "home" / "ada"
    notebooks = home / "tlkit-course" / "notebooks"
    notebooks.mkdir(parents=True)
    (notebooks / "01_feature_extraction.ipynb").write_text('{"cells": []}')
    secret = tmp_path / "secret.ipynb"
    secret.write_text("another student's work")
    (notebooks / "02_freezing.ipynb").symlink_to(secret)
    (notebooks / "notes.txt").write_text("not a notebook")
    book = Gradebook(home / GRADEBOOK)
    book.path.parent.mkdir(parents=True)
    book.record_quiz_answer("ada", QUIZ, "q", "a", True)
    problems = collect_submissions.collect_student(home, tmp_path / "submissions" / "ada")
    copied = tmp_path / "submissions" / "ada"
    assert sorted(path.name for path in copied.iterdir() if not path.name.endswith("-wal")) == [
        "01_feature_extraction.ipynb", "gradebook.sqlite3",
    ]
    assert any("02_freezing.ipynb" in problem for problem in problems), problems
    assert [answer["student_id"] for answer in Gradebook(copied / "gradebook.sqlite3").quiz_answers()] == ["ada"]
    # a home whose course folder is a link (to someone else's) gives nothing but a problem
    other = tmp_path / "home" / "eve"
    other.mkdir()
    (other / "tlkit-course").symlink_to(home / "tlkit-course")
    problems = collect_submissions.collect_student(other, tmp_path / "submissions" / "eve")
    assert list((tmp_path / "submissions" / "eve").iterdir()) == []
    assert problems


@pytest.mark.timeout(420)
def test_three_students_each_record_to_their_own_private_gradebook():
    chromium, sync_api = require_classroom_server()
    notebook = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    setup_code = [notebook.cells[index].source for index in cells_with_marker(notebook, "setup")]
    assert setup_code and cells_with_marker(notebook, "quiz"), f"{NOTEBOOK} needs e2e setup and quiz markers"
    quiz = load_quiz(ROOT / "quizzes" / f"{QUIZ}.yaml")
    position, question = next(
        (position, question) for position, question in enumerate(quiz.questions)
        if isinstance(question, SingleChoiceQuestion)
    )
    by_api = {USERS[1]: next(o for o in question.options if o.correct).id,    # student 2 answers right
              USERS[2]: next(o for o in question.options if not o.correct).id}  # student 3 answers wrong

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    accounts: dict[str, pwd.struct_passwd] = {}
    hub = None
    try:
        for name in USERS:
            accounts[name] = create_user(name)
        write_lab_settings(accounts[BROWSER_USER])
        homes = {name: account.pw_dir for name, account in accounts.items()}
        hub = Hub(USERS, ARTIFACTS).start()
        for name in by_api:
            hub.start_server(name)

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(by_api)) as pool:
            futures = {
                name: pool.submit(drive_by_api, hub, name, setup_code, question.id, option)
                for name, option in by_api.items()
            }
            browser = drive_in_browser(hub, chromium, sync_api, notebook, question, position, ARTIFACTS)
            results = {name: future.result(timeout=CELL_TIMEOUT * 3) for name, future in futures.items()}
        for name, answered in results.items():
            assert not answered["warning"], f"{name}'s answer was not recorded: {answered['warning']}"

        # ---- every answer is in its student's own gradebook, owned by the student, private
        expected = {
            BROWSER_USER: [(browser["wrong"], False), (browser["right"], True)],
            **{name: [(option, next(o for o in question.options if o.id == option).correct)]
               for name, option in by_api.items()},
        }
        for name, account in accounts.items():
            path = pathlib.Path(account.pw_dir) / GRADEBOOK
            assert path.is_file(), f"{name} has no gradebook at {path}"
            info, folder = path.stat(), path.parent.stat()
            assert (info.st_uid, folder.st_uid) == (account.pw_uid, account.pw_uid), f"{path} is not owned by {name}"
            assert stat.S_IMODE(folder.st_mode) == 0o700, f"{path.parent} has mode {oct(folder.st_mode)}"
            assert stat.S_IMODE(os.stat(account.pw_dir).st_mode) == 0o700, f"{account.pw_dir} is not private"
            assert stat.S_IMODE(info.st_mode) & 0o077 == 0, f"{path} is readable by others: {oct(info.st_mode)}"
            answers = Gradebook(path).quiz_answers(QUIZ)
            assert {answer["student_id"] for answer in answers} == {name}, answers
            assert [(a["question_id"], a["answer"], a["correct"]) for a in answers] == [
                (question.id, option, correct) for option, correct in expected[name]
            ], answers
            notebook_copy = pathlib.Path(account.pw_dir) / "tlkit-course" / NOTEBOOK_PATH
            assert notebook_copy.is_file() and notebook_copy.stat().st_uid == account.pw_uid

        # ---- the instructor collects everyone's notebooks and gradebooks
        submissions = pathlib.Path(hub.state) / "submissions"
        assert collect_submissions.main(["--to", str(submissions), *USERS]) == 0
        for name in USERS:
            assert (submissions / name / NOTEBOOK).is_file()
            collected = Gradebook(submissions / name / "gradebook.sqlite3").quiz_answers(QUIZ)
            assert {answer["student_id"] for answer in collected} == {name}, collected

        # ---- from each student's kernel, nobody else's gradebook or home can be read
        for name in USERS:
            seen = cross_read(hub, name, {other: home for other, home in homes.items() if other != name})
            assert (seen["uid"], seen["home"], seen["student"]) == (
                accounts[name].pw_uid, accounts[name].pw_dir, name
            ), seen
            assert seen["outcomes"] and set(seen["outcomes"].values()) == {"PermissionError"}, (
                f"{name} could read another student's files: {seen['outcomes']}"
            )
    finally:
        if hub is not None:
            hub.stop()
        for name in USERS:
            remove_user(name)
    for name in USERS:
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
