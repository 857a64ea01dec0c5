"""Run a grading process inside a bubblewrap sandbox (Linux).

Every submission's notebook (the nbclient runner *and* its kernel, with
everything they start) and every checker process runs in a fresh sandbox:

* its own PID, network, IPC and UTS namespaces: no network at all (a loopback
  interface only, for the kernel's ZMQ channels), and it sees none of the
  grader's processes (so not the grader's command line in ``/proc``);
* a minimal read-only root, not the host's ``/``: ``/usr`` (and the
  ``/bin``, ``/lib`` links), a few files of ``/etc`` the dynamic loader and
  the C library read, the Python installation, the virtual environment, the
  ``tlkit`` package and the data files it ships (``data/``,
  ``benchmarks/results/``), and the exercise modules beside the source
  notebook (``*.py`` files only); nothing else of the repository (no
  ``.git``, no ``quizzes/``, no notebooks) and nothing of ``/home``,
  ``/root``, ``/run``, the gradebooks or the submissions; a private,
  size-limited ``/tmp``;
* a seccomp filter (:func:`seccomp_filter`) that makes ptrace, mount,
  keyctl, bpf, perf_event_open and other kernel interfaces a sandbox never
  needs fail with EPERM (and kills a process using a foreign architecture's
  system calls);
* write access only to the folders given as ``writable`` (a submission's own
  fresh working folder);
* an unprivileged user: when the grader runs as root the process switches to
  a uid/gid of its own (one per sandbox running at the same time, from
  :data:`SANDBOX_UID_BASE`, so the process limit is not shared with any other
  sandbox) before anything else runs; otherwise bubblewrap
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
from dataclasses import dataclass

from tlkit.errors import TlkitError

__all__ = ["DENIED_SYSCALLS", "Limits", "NO_SANDBOX_WARNING", "Sandbox", "SandboxUnavailableError", "find_bwrap",
           "kill_tree", "seccomp_filter"]

SANDBOX_UID = 65534
SANDBOX_GID = 65534
#: As root, each sandbox running at the same time gets its own uid/gid from this range (nobody else uses them).
SANDBOX_UID_BASE = 1_900_000_000
SANDBOX_UID_COUNT = 4096
#: System calls no grading sandbox needs; they fail with EPERM.
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "move_mount", "open_tree",
    "fsopen", "fsmount", "fsconfig", "fspick", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
    "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "swapon",
    "swapoff", "reboot", "setns", "unshare", "open_by_handle_at", "name_to_handle_at", "acct", "quotactl",
    "lookup_dcookie", "syslog", "iopl", "ioperm", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
)
#: Files of /etc a kernel and its libraries read (the dynamic loader, the C library's name service, time zone).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "nsswitch.conf", "passwd", "group",
             "hosts", "host.conf", "alternatives", "mime.types", "fonts")
ENTRY = pathlib.Path(__file__).with_name("_sandbox_entry.py")
NO_SANDBOX_WARNING = (
    "grading WITHOUT a sandbox: submissions run as your user, can read and write your files, the gradebook "
    "and each other's evidence, and can leave processes behind. Use this only for trusted notebooks."
)


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


def seccomp_filter() -> bytes:
    """The compiled (classic BPF) seccomp program every sandbox runs under, built with libseccomp.

    Default: allow. Each of :data:`DENIED_SYSCALLS` known on this machine fails
    with EPERM. libseccomp checks the architecture first: a system call made
    with another architecture's calling convention kills the process (the x32
    ABI of x86-64 is added to the filter, so its calls meet the same rules).
    """
    try:
        import pyseccomp as seccomp
    except ImportError:
        raise SandboxUnavailableError(
            "the Python package pyseccomp (and the system library libseccomp2) is needed for the grading "
            "sandbox's seccomp filter: `pip install -r requirements.txt`") from None
    import errno
    import tempfile

    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    native = seccomp.system_arch()
    if native == seccomp.Arch.X86_64:
        try:
            rules.add_arch(seccomp.Arch.X32)
        except Exception:
            pass
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except Exception:  # a system call this architecture does not have
            continue
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        return handle.read()


class _UidPool:
    """Distinct uids for the sandboxes running at the same time (as root): no shared process limit."""

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self._used: set[int] = set()
        self._next = (os.getpid() * 64) % SANDBOX_UID_COUNT  # another grading process starts elsewhere in the range

    def acquire(self) -> int:
        with self._lock:
            for _ in range(SANDBOX_UID_COUNT):
                uid = SANDBOX_UID_BASE + self._next
                self._next = (self._next + 1) % SANDBOX_UID_COUNT  # round robin: a uid is not reused at once
                if uid not in self._used:
                    self._used.add(uid)
                    return uid
        raise SandboxUnavailableError(f"more than {SANDBOX_UID_COUNT} sandboxes at once")

    def release(self, uid: int) -> None:
        with self._lock:
            self._used.discard(uid)


UID_POOL = _UidPool()


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

    def __init__(self, readable=(), hidden=(), limits: Limits | None = None, readable_files=()):
        self.bwrap = find_bwrap()
        if self.bwrap is None:
            raise SandboxUnavailableError(
                "bubblewrap (`bwrap`) is not installed, so submissions cannot be isolated from each other, "
                "from tlkit and from the gradebook. Install it (Debian/Ubuntu: `apt-get install bubblewrap`) "
                "or, for trusted notebooks only, pass --no-sandbox (unsafe).")
        self.limits = limits or Limits()
        self.running_as_root = os.geteuid() == 0
        self.seccomp = seccomp_filter()
        python_paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                        os.path.dirname(os.path.realpath(sys.executable))]
        import sysconfig

        python_paths += [sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")]
        package = ENTRY.parents[1]  # the tlkit package folder, not the repository around it
        self.readable = [path for path in _existing(list(readable) + python_paths + [str(package)])
                         if path not in ("/", "/tmp", "/usr") and os.path.isdir(path)]
        self.readable = [path for path in self.readable
                         if not any(_inside(path, other) and path != other for other in self.readable)]
        self.readable_files = [path for path in _existing(readable_files) if os.path.isfile(path)]
        self.hidden = [path for path in _existing(hidden)
                       if any(_inside(path, needed) for needed in self.readable) or path in self.readable_files]
        for path in self.hidden:
            for needed in self.readable:
                if _inside(needed, path) and os.path.isdir(path):
                    raise SandboxUnavailableError(
                        f"{path} must stay hidden from submissions but contains {needed}, which they need; "
                        "keep the grading folder and the gradebook outside the Python environment and tlkit")

    # ------------------------------------------------------------------------------------------
    def _root(self) -> list[str]:
        """The minimal read-only root: /usr, the /bin and /lib links (or folders), a few files of /etc."""
        arguments = ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = f"/{name}"
            if os.path.islink(path):
                arguments += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                arguments += ["--ro-bind", path, path]
        for name in ETC_FILES:
            path = f"/etc/{name}"
            if os.path.exists(path):
                arguments += ["--ro-bind", path, path]
        arguments += ["--dev", "/dev", "--proc", "/proc",
                      "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                      "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        return arguments

    def arguments(self, command, writable=(), cwd=None, environment=None, readonly=(), uid=SANDBOX_UID,
                  seccomp_fd=None) -> list[str]:
        """The bubblewrap arguments (without the executable) that run ``command``."""
        arguments = self._root()
        mounted = ["/usr", "/dev", "/proc"]  # read-only binds: nothing can be created inside (a tmpfs /tmp can)
        created: set = set()

        def parents(path: str) -> None:
            """bubblewrap would create the folders leading to ``path`` with mode 0700: make them traversable."""
            ancestor, ancestors = pathlib.PurePosixPath(path).parent, []
            while str(ancestor) != "/" and str(ancestor) not in created and \
                    not any(_inside(str(ancestor), folder) for folder in mounted):
                ancestors.append(str(ancestor))
                ancestor = ancestor.parent
            for folder in reversed(ancestors):
                arguments.extend(["--perms", "0755", "--dir", folder])
                created.add(folder)

        for path in self.readable:
            if not any(_inside(path, folder) for folder in mounted):
                parents(path)
                arguments += ["--ro-bind", path, path]
                mounted.append(path)
        for path in self.readable_files:
            parents(path)
            arguments += ["--ro-bind", path, path]
        for path in self.hidden:
            if os.path.isdir(path):
                arguments += ["--tmpfs", path]
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
        if seccomp_fd is not None:
            arguments += ["--seccomp", str(seccomp_fd)]
        if cwd is not None:
            arguments += ["--chdir", str(cwd)]
        arguments += ["--clearenv"]
        for name, value in (environment or {}).items():
            arguments += ["--setenv", name, str(value)]
        spec = {"limits": self.limits.rlimits(self.running_as_root), "uid": uid, "gid": uid}
        arguments += ["--", sys.executable, "-I", str(ENTRY), json.dumps(spec)] + [str(part) for part in command]
        return arguments

    def prepare_writable(self, folder: pathlib.Path, uid: int = SANDBOX_UID) -> None:
        """Make ``folder`` (and what is in it) writable by the sandbox user ``uid``."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.running_as_root:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)

    def acquire_uid(self) -> int:
        """A uid no other sandbox of this grader is using now (as root); the shared 65534 otherwise."""
        return UID_POOL.acquire() if self.running_as_root else SANDBOX_UID

    def release_uid(self, uid: int) -> None:
        if self.running_as_root:
            UID_POOL.release(uid)

    def popen(self, command, writable=(), cwd=None, environment=None, readonly=(), uid=SANDBOX_UID,
              **options) -> subprocess.Popen:
        """Start ``command`` in a sandbox; the arguments and the seccomp program reach bubblewrap through descriptors."""
        program = os.memfd_create("tlkit-seccomp", 0)
        os.write(program, self.seccomp)
        os.lseek(program, 0, os.SEEK_SET)
        arguments = self.arguments(command, writable, cwd, environment, readonly, uid=uid, seccomp_fd=program)
        split = arguments.index("--")
        settings, command_line = arguments[:split], arguments[split:]
        descriptor = os.memfd_create("tlkit-bwrap-args", 0)
        os.write(descriptor, b"\0".join(part.encode("utf-8") for part in settings) + b"\0")
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            return subprocess.Popen([self.bwrap, "--args", str(descriptor)] + command_line,
                                    pass_fds=(descriptor, program),
                                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                                    start_new_session=True, **options)
        finally:
            os.close(descriptor)
            os.close(program)


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
