"""Start a private JupyterLab for browser tests and find Chromium.

:class:`LabServer` runs ``python -m jupyter lab`` from the project's own
environment on 127.0.0.1, a free port and a random token, with every Jupyter
folder (config, data, runtime, lab settings, workspaces, IPython profile)
in a temporary directory, so a test never reads or changes the developer's
own Jupyter setup. The notebooks are copied into a temporary root folder
first, so running cells in the browser never touches committed outputs.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_HINT = "install Chromium with `sudo apt-get install chromium` (Debian/Ubuntu)"

# Chromium switches: headless, no GPU, and no traffic of its own (updates, sync,
# field trials, QUIC probes); the proxy switch keeps 127.0.0.1 direct even when
# an http_proxy is set in the environment.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-proxy-server",
]

# JupyterLab settings for a quiet, predictable page: no news or update
# check (both would reach the network), every cell fully rendered.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def find_chromium() -> str | None:
    """Return the path of a Chromium executable, or None.

    The environment variable ``TLKIT_CHROMIUM`` wins when it names a file.
    """
    chosen = os.environ.get("TLKIT_CHROMIUM")
    if chosen and os.path.isfile(chosen):
        return chosen
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LabServerError(RuntimeError):
    """JupyterLab did not start or did not answer in time."""


class LabServer:
    """A JupyterLab server in a temporary sandbox; use it as a context manager.

    Parameters
    ----------
    notebooks : list of pathlib.Path
        Notebooks copied into the server's (temporary) root folder.
    start_timeout : float
        Seconds to wait for the server to answer ``/api/status``.
    log_copy : pathlib.Path, optional
        Where the server's log is copied when the server stops.
    environment : dict, optional
        Changes to the server's (and so its kernels') environment: a value
        sets the variable, None removes it.
    lab_settings : dict, optional
        User settings written for JupyterLab; defaults to :data:`LAB_SETTINGS`.
    news_off_by_option : bool, default True
        Also turn JupyterLab's news feed off on the command line. A test of the
        course as shipped passes False, so only the shipped settings decide.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``.
    token : str
        The token the browser must present.
    root : pathlib.Path
        The server's root folder holding the copied notebooks.
    """

    def __init__(self, notebooks, start_timeout: float = 90.0, log_copy: pathlib.Path | None = None,
                 environment: dict | None = None, lab_settings: dict | None = None, news_off_by_option: bool = True):
        self.notebooks = [pathlib.Path(path) for path in notebooks]
        self.start_timeout = start_timeout
        self.log_copy = log_copy
        self.sandbox = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-e2e-"))
        self.root = self.sandbox / "notebooks"
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self.environment_changes = dict(environment or {})
        self.lab_settings = LAB_SETTINGS if lab_settings is None else lab_settings
        self.news_off_by_option = news_off_by_option

    @property
    def log_path(self) -> pathlib.Path:
        return self.sandbox / "jupyterlab.log"

    def log_tail(self, characters: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def _environment(self) -> dict:
        folders = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
        }
        environment = dict(os.environ)  # keeps PYTHONPATH (tlkit, offline guard) and TLKIT_* variables
        for variable, folder in folders.items():
            path = self.sandbox / folder
            path.mkdir(parents=True, exist_ok=True)
            environment[variable] = str(path)
        environment.pop("JUPYTER_PATH", None)
        environment.pop("JUPYTER_TOKEN", None)
        environment["PYTHONUNBUFFERED"] = "1"
        for variable, value in self.environment_changes.items():
            if value is None:
                environment.pop(variable, None)
            else:
                environment[variable] = str(value)
        for name, values in self.lab_settings.items():
            target = self.sandbox / "lab-user-settings" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values, indent=2))
        return environment

    def start(self) -> "LabServer":
        """Copy the notebooks, start the server and wait until it answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        for notebook in self.notebooks:
            shutil.copy2(notebook, self.root / notebook.name)
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            "--LabApp.extension_manager=readonly",  # the default one would query PyPI
            "--ServerApp.terminals_enabled=False",
        ]
        if self.news_off_by_option:
            command.append("--LabApp.news_url=")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI runners often run as root
        self._log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=self._environment(),
            stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        # An opener without proxies: 127.0.0.1 must never go through http_proxy.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabServerError(
                    f"JupyterLab exited with code {self.process.returncode}; log:\n{self.log_tail()}"
                )
            try:
                with opener.open(f"{self.url}/api/status?token={self.token}", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise LabServerError(f"JupyterLab did not answer within {self.start_timeout:.0f} s; log:\n{self.log_tail()}")

    def notebook_url(self, name: str) -> str:
        """The address that opens ``name`` (a file in :attr:`root`) in JupyterLab."""
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def stop(self) -> None:
        """Stop the server (and its kernels) and delete the sandbox."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: jupyter_server shuts its kernels down
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
        if self.log_copy is not None and self.log_path.exists():
            self.log_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.log_path, self.log_copy)
        shutil.rmtree(self.sandbox, ignore_errors=True)

    def __enter__(self) -> "LabServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
