"""Run a grading process inside a bubblewrap sandbox (Linux).

Every submission's notebook (the nbclient runner *and* its kernel, with
everything they start) and every checker process runs in a fresh sandbox:

* its own PID, network, IPC and UTS namespaces: no network at all (a loopback
  interface only, for the kernel's ZMQ channels), and it sees none of the
  grader's processes (so not the grader's command line in ``/proc``);
* a read-only view of the system, of tlkit's source and of the Python
  environment; a private, size-limited ``/tmp``; ``/run``, ``/home``,
  ``/root`` and ``$HOME`` replaced by empty folders (the Python installation
  and tlkit are mounted back, read-only); the batch's work folder, the
  gradebooks, the other submissions and the source notebook hidden;
* write access only to the folders given as ``writable`` (a submission's own
  fresh working folder);
* an unprivileged user: when the grader runs as root the process switches to
  uid/gid 65534 (``nobody``) before anything else runs; otherwise bubblewrap
  maps uid 65534 onto the instructor's user in a new user namespace that
  cannot create further ones; ``no_new_privs`` in both cases;
* resource limits (:class:`Limits`);
* ``--die-with-parent`` and a PID namespace: when the sandboxed process exits
  or is killed, the kernel kills everything left inside, so nothing a
  submission starts outlives its sandbox.

The bubblewrap arguments are passed through a file descriptor, so even the
sandbox's own ``/proc/1/cmdline`` does not list the hidden paths.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass

from tlkit.errors import TlkitError

__all__ = ["Limits", "SandboxUnavailableError", "Sandbox", "find_bwrap", "NO_SANDBOX_WARNING"]

SANDBOX_UID = 65534
SANDBOX_GID = 65534
ENTRY = pathlib.Path(__file__).with_name("_sandbox_entry.py")
NO_SANDBOX_WARNING = (
    "grading WITHOUT a sandbox: submissions run as your user, can read and write your files, the gradebook "
    "and each other's evidence, and can leave processes behind. Use this only for trusted notebooks."
)
_HIDE_FIRST = ("/home", "/root", "/run", "/var/tmp", "/var/run", "/mnt", "/media", "/srv")


class SandboxUnavailableError(TlkitError, RuntimeError):
    """bubblewrap is missing or does not work here; grading refuses to run without ``--no-sandbox``."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree (``setrlimit``, per process unless said otherwise).

    Attributes
    ----------
    cpu_seconds : int
        CPU time of each process (``RLIMIT_CPU``; SIGXCPU, then SIGKILL 10 s later).
    memory_bytes : int
        Address space of each process (``RLIMIT_AS``). TensorFlow reserves far more
        virtual memory than it uses, hence the generous default (8 GiB).
    processes : int
        Processes and threads of the sandbox user (``RLIMIT_NPROC``; stops fork bombs).
    file_bytes : int
        Largest file a process may write (``RLIMIT_FSIZE``).
    open_files : int
        Open file descriptors per process (``RLIMIT_NOFILE``).
    tmp_bytes : int
        Size of the private ``/tmp`` (and ``/dev/shm``), a tmpfs.
    """

    cpu_seconds: int = 3600
    memory_bytes: int = 8 * 1024 ** 3
    processes: int = 512
    file_bytes: int = 1024 ** 3
    open_files: int = 4096
    tmp_bytes: int = 512 * 1024 ** 2

    def rlimits(self, running_as_root: bool) -> dict:
        processes = self.processes
        if not running_as_root:
            # without root, RLIMIT_NPROC counts every process of the instructor's user
            processes += sum(1 for entry in os.listdir("/proc") if entry.isdigit()) * 4
        return {
            "RLIMIT_CPU": [int(self.cpu_seconds), int(self.cpu_seconds) + 10],
            "RLIMIT_AS": int(self.memory_bytes),
            "RLIMIT_NPROC": int(processes),
            "RLIMIT_FSIZE": int(self.file_bytes),
            "RLIMIT_NOFILE": int(self.open_files),
            "RLIMIT_CORE": 0,
        }


def find_bwrap() -> str | None:
    """The bubblewrap executable, or None."""
    return shutil.which("bwrap")


def _existing(paths) -> list[str]:
    found = []
    for path in paths:
        if path and os.path.lexists(path):
            real = os.path.realpath(path)
            if real not in found:
                found.append(real)
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


class Sandbox:
    """Build and run bubblewrap command lines.

    Parameters
    ----------
    readable : sequence of path
        Folders the sandbox must be able to read (tlkit, exercise modules...), on
        top of the Python environment, which is always readable.
    hidden : sequence of path
        Folders (or files) the sandbox must not see: replaced by empty ones.
    limits : Limits
    """

    def __init__(self, readable=(), hidden=(), limits: Limits | None = None):
        self.bwrap = find_bwrap()
        if self.bwrap is None:
            raise SandboxUnavailableError(
                "bubblewrap (`bwrap`) is not installed, so submissions cannot be isolated from each other, "
                "from tlkit and from the gradebook. Install it (Debian/Ubuntu: `apt-get install bubblewrap`) "
                "or, for trusted notebooks only, pass --no-sandbox (unsafe).")
        self.limits = limits or Limits()
        self.running_as_root = os.geteuid() == 0
        python_paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                        os.path.dirname(os.path.realpath(sys.executable)),
                        os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]
        import sysconfig

        python_paths += [sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")]
        self.readable = [path for path in _existing(list(readable) + python_paths + [str(ENTRY.parents[1].parent)])
                         if path not in ("/", "/tmp") + _HIDE_FIRST]
        self.hidden = _existing(hidden)
        for path in self.hidden:
            for needed in self.readable:
                if _inside(needed, path) and os.path.isdir(path):
                    raise SandboxUnavailableError(
                        f"{path} must stay hidden from submissions but contains {needed}, which they need; "
                        "keep the grading folder and the gradebook outside the Python environment and tlkit")

    # ------------------------------------------------------------------------------------------
    def arguments(self, command, writable=(), cwd=None, environment=None, readonly=()) -> list[str]:
        """The bubblewrap arguments (without the executable) that run ``command``."""
        arguments = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                     "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                     "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        home = os.path.expanduser("~")
        first = [path for path in _existing(list(_HIDE_FIRST) + [home]) if path != "/" and os.path.isdir(path)
                 and path != "/tmp"]
        for path in first:
            arguments += ["--tmpfs", path]
        covered = [path for path in first if path != "/"] + ["/tmp"]

        def parents(path: str) -> None:
            """bubblewrap would create the folders leading to ``path`` with mode 0700: make them traversable."""
            covering = [folder for folder in covered if _inside(path, folder) and path != folder]
            if not covering:
                return
            top = max(covering, key=len)
            ancestor, ancestors = pathlib.PurePosixPath(path).parent, []
            while str(ancestor) != top and _inside(str(ancestor), top):
                ancestors.append(str(ancestor))
                ancestor = ancestor.parent
            for folder in reversed(ancestors):
                arguments.extend(["--perms", "0755", "--dir", folder])

        for path in self.readable:
            if path not in covered and any(_inside(path, folder) for folder in covered):
                parents(path)
                arguments += ["--ro-bind", path, path]
        for path in self.hidden:
            parents(path)
            if os.path.isdir(path):
                arguments += ["--tmpfs", path]
                covered.append(path)
            else:
                arguments += ["--ro-bind", "/dev/null", path]
        for path in _existing(readonly):  # mounted after the hidden folders, so they may lie inside them
            parents(path)
            arguments += ["--ro-bind", path, path]
        for path in _existing(writable):
            parents(path)
            arguments += ["--bind", path, path]
        arguments += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                      "--die-with-parent", "--new-session"]
        if not self.running_as_root:
            arguments += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID),
                          "--disable-userns"]
        if cwd is not None:
            arguments += ["--chdir", str(cwd)]
        arguments += ["--clearenv"]
        for name, value in (environment or {}).items():
            arguments += ["--setenv", name, str(value)]
        spec = {"limits": self.limits.rlimits(self.running_as_root), "uid": SANDBOX_UID, "gid": SANDBOX_GID}
        arguments += ["--", sys.executable, "-I", str(ENTRY), json.dumps(spec)] + [str(part) for part in command]
        return arguments

    def prepare_writable(self, folder: pathlib.Path) -> None:
        """Make ``folder`` (and what is in it) writable by the sandbox user."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.running_as_root:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, SANDBOX_UID, SANDBOX_GID, follow_symlinks=False)

    def popen(self, command, writable=(), cwd=None, environment=None, readonly=(), **options) -> subprocess.Popen:
        """Start ``command`` in a sandbox; the arguments reach bubblewrap through a file descriptor."""
        arguments = self.arguments(command, writable, cwd, environment, readonly)
        split = arguments.index("--")
        settings, command_line = arguments[:split], arguments[split:]
        descriptor = os.memfd_create("tlkit-bwrap-args", 0)
        os.write(descriptor, b"\0".join(part.encode("utf-8") for part in settings) + b"\0")
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            return subprocess.Popen([self.bwrap, "--args", str(descriptor)] + command_line, pass_fds=(descriptor,),
                                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                                    start_new_session=True, **options)
        finally:
            os.close(descriptor)


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a sandbox (or an unsandboxed runner) and its process group; bubblewrap takes the rest with it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        process.kill()
    except OSError:
        pass


def limits_as_dict(limits: Limits) -> dict:
    return asdict(limits)
