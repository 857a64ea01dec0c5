"""Collect the students' notebooks and gradebooks from a classroom JupyterHub.

Run as root (or as a user who can read the students' homes) on the hub's machine::

    sudo .venv/bin/python deploy/jupyterhub/collect_submissions.py --to submissions/ --group tlkit-students
    sudo .venv/bin/python deploy/jupyterhub/collect_submissions.py --to submissions/ ada grace

For each student it copies

* ``~/tlkit-course/notebooks/*.ipynb``  to ``submissions/<student>/<notebook>.ipynb``
  (the layout ``python -m tlkit grade --submissions submissions/`` reads), and
* ``~/.local/share/tlkit/gradebook.sqlite3`` (with its ``-wal`` file) to
  ``submissions/<student>/gradebook.sqlite3``.

The homes belong to the students, so nothing in them is trusted: every folder
is opened without following symbolic links and relative to its parent's
descriptor, only regular files up to ``--max-bytes`` are copied, and a
student's symbolic link (to another student's work or to a system file) is
reported and skipped. Copies are made readable by the collector only (0600 in
0700 folders). Stop the students' servers first (hub admin page, or after the
deadline) for a consistent gradebook copy.
"""

from __future__ import annotations

import argparse
import grp
import os
import pathlib
import pwd
import stat
import sys

COURSE_NOTEBOOKS = ("tlkit-course", "notebooks")
GRADEBOOK_FOLDER = (".local", "share", "tlkit")
GRADEBOOK_FILES = ("gradebook.sqlite3", "gradebook.sqlite3-wal")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
STUDENT_NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@+")


class Refused(Exception):
    """A path in a student's home that is not a plain folder or file."""


def _open_folder(parent_fd: int, name: str) -> int:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    except OSError as error:
        raise Refused(f"{name}: {error.strerror}") from error
    return fd


def _open_path(home: pathlib.Path, parts) -> int:
    """A descriptor of home/parts[0]/parts[1]/..., never following a symbolic link."""
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in parts:
            child = _open_folder(fd, part)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _copy_file(folder_fd: int, name: str, target: pathlib.Path, max_bytes: int) -> None:
    try:
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as error:
        raise Refused(f"{name}: {error.strerror}") from error
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{name}: not a regular file")
        if info.st_size > max_bytes:
            raise Refused(f"{name}: {info.st_size} bytes, more than {max_bytes}")
        destination = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            copied = 0
            while chunk := os.read(source, 1 << 20):
                copied += len(chunk)
                if copied > max_bytes:
                    raise Refused(f"{name}: grew beyond {max_bytes} bytes while being copied")
                os.write(destination, chunk)
        finally:
            os.close(destination)
    finally:
        os.close(source)


def collect_student(home: pathlib.Path, target: pathlib.Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """Copy one student's notebooks and gradebook from ``home`` into ``target``; return problems seen."""
    problems: list[str] = []
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target, 0o700)
    try:
        folder = _open_path(home, COURSE_NOTEBOOKS)
    except (Refused, OSError) as error:
        problems.append(f"{home}/{'/'.join(COURSE_NOTEBOOKS)}: {error}")
    else:
        try:
            for name in sorted(os.listdir(folder)):
                if name.endswith(".ipynb") and not name.startswith("."):
                    try:
                        _copy_file(folder, name, target / name, max_bytes)
                    except Refused as error:
                        problems.append(f"skipped {error}")
        finally:
            os.close(folder)
    try:
        folder = _open_path(home, GRADEBOOK_FOLDER)
    except (Refused, OSError) as error:
        problems.append(f"{home}/{'/'.join(GRADEBOOK_FOLDER)}: {error}")
    else:
        try:
            for name in GRADEBOOK_FILES:
                try:
                    _copy_file(folder, name, target / name, max_bytes)
                except Refused as error:
                    if name == GRADEBOOK_FILES[0] or "No such file" not in str(error):
                        problems.append(f"skipped {error}")
        finally:
            os.close(folder)
    return problems


def students(names, group: str | None) -> list[str]:
    chosen = list(names)
    if group:
        members = set(grp.getgrnam(group).gr_mem)
        gid = grp.getgrnam(group).gr_gid
        members |= {entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == gid}
        chosen += sorted(members)
    return list(dict.fromkeys(chosen))


def main(arguments=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="student login names")
    parser.add_argument("--group", help="also every member of this system group (e.g. tlkit-students)")
    parser.add_argument("--to", required=True, help="the submissions folder to fill: <to>/<student>/...")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest file copied")
    options = parser.parse_args(arguments)
    names = students(options.names, options.group)
    if not names:
        parser.error("name students or a --group")
    root = pathlib.Path(options.to)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    failed = False
    for name in names:
        if not set(name) <= STUDENT_NAME_CHARACTERS or name.startswith("."):
            print(f"{name!r}: not a plain login name, skipped", file=sys.stderr)
            failed = True
            continue
        try:
            home = pathlib.Path(pwd.getpwnam(name).pw_dir)
        except KeyError:
            print(f"{name}: no such user", file=sys.stderr)
            failed = True
            continue
        problems = collect_student(home, root / name, options.max_bytes)
        copied = sorted(path.name for path in (root / name).iterdir())
        print(f"{name}: {len(copied)} file(s) -> {root / name}")
        for problem in problems:
            print(f"  {name}: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
