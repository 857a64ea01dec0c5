"""JupyterHub for a classroom on one machine: every student is a real system user.

Start it as root from the course environment (see docs/classroom.md)::

    sudo TLKIT_HUB_STATE_DIR=/srv/tlkit-hub .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

* Students log in with their system account and password (PAM); only members
  of the group ``$TLKIT_HUB_GROUP`` (default ``tlkit-students``) may log in.
* Each student's server runs as that student (``LocalProcessSpawner``) with
  ``HOME`` set to their home. ``start_singleuser.py`` (run as the student)
  makes the home and ``~/.local/share/tlkit`` private (0700), copies the course
  notebooks into ``~/tlkit-course/notebooks/`` (never overwriting a student's
  copy) and opens JupyterLab there.
* ``TLKIT_STUDENT_ID`` is the login name, so quiz answers and checks are
  recorded under it, in the student's own gradebook
  ``~/.local/share/tlkit/gradebook.sqlite3``.
* The proxy is ``configurable-http-proxy`` from ``deploy/jupyterhub/node_modules``
  (``npm ci --prefix deploy/jupyterhub``), else the one on ``PATH``.

Settings from the environment (all optional):

``TLKIT_HUB_BIND_URL``      public address (default ``http://127.0.0.1:8000``; put TLS in front)
``TLKIT_HUB_STATE_DIR``     hub database, cookie secret, proxy pid (default ``/srv/tlkit-hub``)
``TLKIT_HUB_GROUP``         system group allowed to log in (default ``tlkit-students``)
``TLKIT_HUB_ADMINS``        comma-separated admin users (instructors)
``TLKIT_COURSE_NOTEBOOKS``  folder of notebooks handed out (default: this repository's ``notebooks/``)
``TLKIT_HUB_PYTHON``        the Python the students' servers and kernels run (default: the hub's own);
                            it and its packages must be readable by every student, e.g. a venv in
                            ``/opt/tlkit`` built from a system Python, never one under ``/root``
"""

import os
import pathlib
import sys

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The students' servers and kernels run this Python (with tlkit, JupyterLab and TensorFlow installed).
PYTHON = pathlib.Path(os.environ.get("TLKIT_HUB_PYTHON") or sys.executable)
STATE = pathlib.Path(os.environ.get("TLKIT_HUB_STATE_DIR", "/srv/tlkit-hub"))
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)

# -- the hub and its proxy ----------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("TLKIT_HUB_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
local_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(local_proxy) if local_proxy.exists() else "configurable-http-proxy"]
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the students' servers too

# -- who may log in -------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {os.environ.get("TLKIT_HUB_GROUP", "tlkit-students")}
c.Authenticator.admin_users = {name.strip() for name in os.environ.get("TLKIT_HUB_ADMINS", "").split(",") if name.strip()}

# -- each student's server: their own uid, their own home -----------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(PYTHON), str(HERE / "start_singleuser.py")]
c.Spawner.default_url = "/lab"  # JupyterLab is the default interface
c.Spawner.args = [
    "--LabApp.news_url=",  # no news feed from the internet
    "--LabApp.extension_manager=readonly",  # students do not install extensions (and no PyPI queries)
]
c.Spawner.environment = {
    "TLKIT_STUDENT_ID": lambda spawner: spawner.user.name,
    "TLKIT_COURSE_NOTEBOOKS": os.environ.get("TLKIT_COURSE_NOTEBOOKS", str(REPO / "notebooks")),
    "PATH": os.pathsep.join([str(PYTHON.parent), "/usr/local/bin", "/usr/bin", "/bin"]),
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
c.Spawner.start_timeout = 120  # first start: copy notebooks, import jupyter_server
c.Spawner.http_timeout = 120
c.Spawner.mem_limit = None  # LocalProcessSpawner cannot enforce limits; use systemd or z2jh for that
