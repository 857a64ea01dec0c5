"""A single-node Slurm cluster in a temporary folder, for tests/test_slurm.py.

:class:`SlurmCluster` writes a munge key, ``slurm.conf`` and the daemons'
state, log and spool folders into one folder, starts ``munged`` on a private
socket (named in ``slurm.conf`` by ``AuthInfo=socket=...``), ``slurmctld``
and ``slurmd`` on 127.0.0.1 with ports of their own, and stops all three in
:meth:`SlurmCluster.stop` (``SIGTERM``, then ``SIGKILL``), which is safe to
call whatever state the start reached. Clients (``sbatch``, ``squeue``,
``scontrol``) find the cluster through ``SLURM_CONF`` in
:attr:`SlurmCluster.environment`. The configuration is the one known to work
as root on a Debian machine without cgroups delegated to it: process tracking
through ``/proc`` (``proctrack/linuxproc``), no task plugin, ``cons_tres``
selection of cores and memory.
"""

from __future__ import annotations

import os
import pwd
import pathlib
import shutil
import signal
import socket
import subprocess
import time

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel")
NODE = "tlkit-node"


def missing_programs() -> list[str]:
    """The Slurm and munge programs this machine lacks (``/usr/sbin`` included, where Debian puts the daemons)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return [name for name in DAEMONS + CLIENTS + ("mungekey",) if shutil.which(name, path=path) is None]


def _program(name: str) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    found = shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (Debian: apt-get install slurmctld slurmd munge slurm-client)")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind(("127.0.0.1", 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def _memory_megabytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """One controller and one node, on loopback, configured and kept in ``folder``."""

    def __init__(self, folder: pathlib.Path, cpus: int | None = None):
        """``cpus``: the CPUs the node offers (default: the machine's; more lets more array tasks run at once)."""
        self.folder = pathlib.Path(folder)
        self.cpus = cpus or os.cpu_count() or 1
        self.processes: dict[str, subprocess.Popen] = {}
        self.conf = self.folder / "slurm.conf"
        self.environment = dict(os.environ, SLURM_CONF=str(self.conf))
        self.environment["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

    # -- configuration ----------------------------------------------------------------------------
    def write_configuration(self) -> None:
        folder = self.folder
        for name in ("munge", "state", "spool", "log"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        os.chmod(folder / "munge", 0o700)
        key = folder / "munge" / "munge.key"
        subprocess.run([_program("mungekey"), "--create", f"--keyfile={key}", "--force"], check=True,
                       capture_output=True)
        os.chmod(key, 0o400)
        controller_port, node_port = _free_ports(2)
        memory = max(1024, _memory_megabytes() - 1024)
        user = pwd.getpwuid(os.getuid()).pw_name
        lines = [
            "ClusterName=tlkit-test",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={controller_port}",
            f"SlurmdPort={node_port}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={folder / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1",
            "MinJobAge=600",
            "SlurmdParameters=config_overrides",  # the node has the CPUs this file says, not the machine's
            f"NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={NODE} CPUs={self.cpus} RealMemory={memory} State=UNKNOWN",
            f"PartitionName=grading Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n", encoding="ascii")

    @property
    def munge_socket(self) -> pathlib.Path:
        return self.folder / "munge" / "munge.socket"

    # -- the daemons ------------------------------------------------------------------------------
    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.folder / "log" / f"{name}.stderr", "ab")
        try:
            self.processes[name] = subprocess.Popen(command, env=self.environment, stdout=log, stderr=log,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def start(self, timeout: float = 120.0) -> None:
        """Write the configuration, start the three daemons in the foreground and wait until the node is idle."""
        self.write_configuration()
        munge = self.folder / "munge"
        self._start("munged", [_program("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
                               f"--seed-file={munge / 'munged.seed'}", f"--log-file={self.folder / 'log' / 'munged.log'}"])
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged to open its socket")
        self._start("slurmctld", [_program("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._client(["scontrol", "ping"]).returncode == 0, timeout, "slurmctld to answer")
        self._start("slurmd", [_program("slurmd"), "-D", "-N", NODE, "-f", str(self.conf)])
        self._wait(lambda: self.node_state() in ("idle", "mixed", "allocated"), timeout, "the node to be idle")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while waiting for {what}:\n"
                                       + self.logs())
            if ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"waited {timeout:g} s for {what}:\n" + self.logs())

    def _client(self, command: list[str], **options) -> subprocess.CompletedProcess:
        return subprocess.run([_program(command[0]), *command[1:]], env=self.environment, capture_output=True,
                              text=True, **options)

    def run(self, command: list[str], **options) -> str:
        """Run a Slurm client (``sbatch``, ``scontrol``...) against this cluster; return its standard output."""
        result = self._client(command, **options)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def node_state(self) -> str:
        result = self._client(["sinfo", "-h", "-N", "-n", NODE, "-o", "%T"])
        return result.stdout.strip().rstrip("*~#") if result.returncode == 0 else ""

    def job_states(self, job_id: str, attempts: int = 10) -> dict[str, str]:
        """The state of every task of array job ``job_id`` (``"<id>_<index>" -> "COMPLETED"`` ...).

        A busy machine makes a client call fail now and then (squeue ended by SIGPIPE when the controller
        dropped its connection was seen under a load average of 40): it is retried, ``attempts`` times.
        """
        for attempt in range(attempts):
            try:
                output = self.run(["squeue", "-h", "-r", "--states=all", "-j", str(job_id), "-o", "%i %T"], timeout=120)
                return dict(line.split() for line in output.splitlines() if line.strip())
            except (RuntimeError, subprocess.TimeoutExpired):
                if attempt == attempts - 1:
                    raise
                time.sleep(3)
        return {}

    def wait_for_task(self, task: str, state: str, timeout: float) -> None:
        """Wait until array task ``task`` (``"<id>_<index>"``) is in ``state``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job_id = task.split("_")[0]
            states = self.job_states(job_id)
            if states.get(task) == state:
                return
            if states.get(task) in ("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
                raise RuntimeError(f"{task} ended {states[task]}:\n" + self.logs())
            time.sleep(2)
        raise TimeoutError(f"{task} was not {state} within {timeout:g} s\n" + self.logs())

    def wait_for_job(self, job_id: str, tasks: int, timeout: float) -> dict[str, str]:
        """Wait until all ``tasks`` tasks of ``job_id`` have ended; return their states."""
        ended = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
                 "PREEMPTED"}
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.job_states(job_id)
            if len(states) == tasks and set(states.values()) <= ended:
                return states
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while job {job_id} ran:\n"
                                       + self.logs())
            time.sleep(2)
        raise TimeoutError(f"job {job_id} did not end within {timeout:g} s: {states}\n" + self.logs())

    def _wait_for_steps(self, timeout: float) -> None:
        """Wait until no job step of this node runs (their slurmstepd processes hold sockets in the spool)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and list((self.folder / "spool").glob("*.socket")):
            time.sleep(0.5)

    def logs(self, lines: int = 30) -> str:
        text = []
        for path in sorted((self.folder / "log").glob("*")):
            tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            text.append(f"== {path.name}\n" + "\n".join(tail))
        return "\n".join(text)

    def stop(self) -> None:
        """Cancel every job, stop the daemons (node, controller, munge) whatever state they are in; wait for them."""
        controller = self.processes.get("slurmctld")
        if controller is not None and controller.poll() is None:
            try:
                self._client(["scancel", "--full", "--user", pwd.getpwuid(os.getuid()).pw_name], timeout=30)
                self._wait_for_steps(30)
            except (OSError, subprocess.SubprocessError, RuntimeError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                process.wait(timeout=20)
        for pid in self.leftover_processes():  # job steps (slurmstepd) and their tasks outlive slurmd
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def leftover_processes(self) -> list[int]:
        """Processes started by this cluster's daemons: those whose environment names this cluster's slurm.conf."""
        marker = f"SLURM_CONF={self.conf}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if marker in handle.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
        return found
