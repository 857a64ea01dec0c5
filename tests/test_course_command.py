"""``./course lab``, started the way the README says, serves the course: as root and as a normal user.

JupyterLab refuses to run as root unless given ``--allow-root``; containers, fresh
cloud machines and CI are often root, so ``./course lab`` adds the flag there and
says so. These tests start the real command (with a fixed port and token so the
test can talk to it, and every Jupyter folder in a temporary directory) and list
the served notebooks through Jupyter's contents API.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COURSE_NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STARTUP_SECONDS = 120
NOBODY = 65534


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _served_notebooks(port: int, token: str, process: subprocess.Popen, log: pathlib.Path) -> list[str]:
    """Poll the contents API until the server answers; return the notebook names it lists."""
    url = f"http://127.0.0.1:{port}/api/contents?token={token}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"./course lab exited with code {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                listing = json.load(response)
            return sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    pytest.fail(f"./course lab did not answer within {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')[-3000:]}")


def _run_course_lab(home: pathlib.Path, prefix: list[str] | None = None) -> tuple[list[str], str]:
    """Start ``./course lab`` (as the README says, plus test-only server options); stop it; return what it served and printed."""
    port, token = _free_port(), secrets.token_hex(16)
    environment = dict(os.environ)
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        folder = home / variable.lower()
        folder.mkdir(exist_ok=True)
        environment[variable] = str(folder)
    environment["HOME"] = str(home)
    if prefix:
        for path in home.rglob("*"):
            os.chown(path, NOBODY, NOBODY)
        os.chown(home, NOBODY, NOBODY)
    log = home / "course-lab.log"
    command = [str(ROOT / "course"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.token={token}", "--ServerApp.port_retries=0"]
    with open(log, "wb") as output:
        process = subprocess.Popen((prefix or []) + command, cwd=home, env=environment, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        served = _served_notebooks(port, token, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return served, log.read_text(errors="replace")


@pytest.fixture
def home():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-course-lab-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(300)
def test_course_lab_serves_the_course_for_the_current_user(home):
    served, printed = _run_course_lab(home)
    assert served == COURSE_NOTEBOOKS and len(served) >= 6
    if os.geteuid() == 0:
        assert "running as root: starting JupyterLab with --allow-root" in printed
    else:
        assert "--allow-root" not in printed


@pytest.mark.timeout(300)
def test_course_lab_serves_the_course_for_a_normal_user(home):
    if os.geteuid() != 0:
        pytest.skip("already covered: this suite is not running as root, so the test above ran as a normal user")
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to start ./course lab as an unprivileged user"
    as_nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    readable = subprocess.run(as_nobody + ["test", "-x", str(ROOT / ".venv" / "bin" / "python")])
    if readable.returncode != 0:
        pytest.skip(f"the checkout {ROOT} is not readable by other users, so an unprivileged user cannot run it")
    served, printed = _run_course_lab(home, prefix=as_nobody)
    assert served == COURSE_NOTEBOOKS
    assert "--allow-root" not in printed
