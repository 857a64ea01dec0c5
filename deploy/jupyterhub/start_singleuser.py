"""Prepare a student's home, then become the student's Jupyter server.

JupyterHub's ``LocalProcessSpawner`` runs this script *as the student* (their own
uid, ``HOME`` set to their home), with the arguments the hub wants to give
``jupyterhub-singleuser``. Everything here therefore happens with the student's
own rights, never root's, so a student cannot trick the hub into writing
somewhere else through a symbolic link in their home.

1. ``umask 077``: every file the server, its kernels and the gradebook create
   is readable by the student only.
2. The home folder and tlkit's data folder (``~/.local/share/tlkit``, where the
   gradebook lives) get mode 0700.
3. The course notebooks are copied into ``~/tlkit-course/notebooks/`` (the way
   nbgitpuller would hand them out): only files the student does not have yet,
   so a student's work is never overwritten when the server starts again.
4. The script replaces itself with ``python -m jupyterhub.singleuser`` (same
   Python, same arguments), rooted at ``~/tlkit-course``.

The course material comes from ``$TLKIT_COURSE_NOTEBOOKS`` (set by
``jupyterhub_config.py``), by default this repository's ``notebooks/``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
COURSE_FOLDER = "tlkit-course"


def prepare_home(home: pathlib.Path, source: pathlib.Path) -> pathlib.Path:
    """Make ``home`` private, create the gradebook folder and copy missing notebooks.

    Returns
    -------
    pathlib.Path
        The course folder (the server's root).
    """
    os.umask(0o077)
    os.chmod(home, 0o700)
    data = home / ".local" / "share" / "tlkit"  # platformdirs.user_data_dir("tlkit") on Linux
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    course = home / COURSE_FOLDER
    target = course / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        destination = target / notebook.name
        if os.path.lexists(destination):
            continue  # the student's copy (and work) wins
        shutil.copyfile(notebook, destination)
        os.chmod(destination, stat.S_IRUSR | stat.S_IWUSR)
    return course


def main(arguments: list[str]) -> None:
    home = pathlib.Path(os.environ.get("HOME") or os.path.expanduser("~"))
    source = pathlib.Path(os.environ.get("TLKIT_COURSE_NOTEBOOKS") or REPO / "notebooks")
    course = prepare_home(home, source)
    os.chdir(course)
    command = [sys.executable, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={course}", *arguments]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
