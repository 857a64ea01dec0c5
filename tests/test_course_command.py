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


def _as_unprivileged_user(setpriv: str) -> list[str]:
    """The command prefix that runs a program as ``nobody`` with the venv's Python reachable.

    A Python installed under root's home (pyenv, say) sits behind ``/root``'s 0700
    permissions. Then the command runs inside a bubblewrap mount namespace that lays an
    empty, world-readable folder over the private one and binds the Python installation
    and the checkout back in; ``setpriv`` inside it still drops to the unprivileged user.
    """
    as_nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    interpreter = (ROOT / ".venv" / "bin" / "python").resolve()
    installation = interpreter.parents[1]
    if subprocess.run(as_nobody + ["test", "-x", str(interpreter)]).returncode == 0:
        return as_nobody
    hidden = next((folder for folder in reversed(installation.parents)
                   if subprocess.run(as_nobody + ["test", "-x", str(folder)]).returncode != 0), None)
    bwrap = shutil.which("bwrap")
    if hidden is None or bwrap is None or hidden == pathlib.Path("/"):
        return as_nobody
    wrapper = [bwrap, "--dev-bind", "/", "/", "--tmpfs", str(hidden)]
    for folder in reversed(installation.parents):  # the folders between, world-traversable
        if folder != hidden and hidden in folder.parents:
            wrapper += ["--perms", "0755", "--dir", str(folder)]
    wrapper += ["--ro-bind", str(installation), str(installation), "--bind", str(ROOT), str(ROOT), "--"]
    return wrapper + as_nobody


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
    prefix = _as_unprivileged_user(setpriv)
    readable = subprocess.run(prefix + ["test", "-x", str(ROOT / ".venv" / "bin" / "python")])
    if readable.returncode != 0:
        pytest.skip(f"the checkout {ROOT} is not readable by other users, so an unprivileged user cannot run it")
    served, printed = _run_course_lab(home, prefix=prefix)
    assert served == COURSE_NOTEBOOKS
    assert "--allow-root" not in printed
