"""Grading many submissions: workers on one machine, shards across machines.

*Workers* (``python -m tlkit grade ... --workers N``) grade N submissions at
the same time on one machine, each still in its own sandbox with its own
limits. Each kernel then gets ``cores // N`` threads for TensorFlow and
OpenMP (:func:`thread_environment`), so that N kernels do not fight over the
same cores, and the grader refuses more workers than the memory allows
(:func:`check_worker_memory`).

*Shards* (``--shard I/N``) split one batch across N machines or jobs: shard
``I`` (counted from 0) grades the students at positions ``I, I + N, I + 2N...``
of the sorted list of student ids (round robin), so every shard gets the same
number of submissions, give or take one, and a student's shard depends only
on the sorted roster. Each shard records the manifest's SHA-256, the shard
spec and the whole roster (:class:`GradingRun`), which lets
:mod:`tlkit.instructor.merge` refuse shards graded against different
manifests or rosters, overlapping shards and missing ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass

from tlkit.errors import TlkitError

__all__ = ["GradingRun", "Shard", "ShardError", "WORKER_MEMORY_BYTES", "WorkerMemoryError", "available_memory_bytes",
           "check_worker_memory", "cpu_count", "manifest_digest", "parse_shard", "roster_digest", "select_shard",
           "thread_environment", "threads_per_kernel"]

# Peak memory of one worker, measured by benchmarks/grading.py (the summed resident memory of the sandboxed
# runner, its kernel and the checker while submissions of the test assignment are graded one at a time:
# 0.85 to 1.18 GB; see benchmarks/results/grading.json), rounded up. A course notebook that trains bigger
# models needs more: pass --memory-per-worker.
WORKER_MEMORY_BYTES = int(1.25 * 1024 ** 3)
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(TlkitError, ValueError):
    """A shard spec is malformed, or shards do not fit together."""


class WorkerMemoryError(TlkitError, RuntimeError):
    """More workers were asked for than this machine's memory can hold."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``index`` counted from 0, like ``JOB_COMPLETION_INDEX`` and ``SLURM_ARRAY_TASK_ID``)."""

    index: int = 0
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Read ``"I/N"`` (0 <= I < N).

    Raises
    ------
    ShardError
        If the text is not of that form.
    """
    match = _SHARD.match(str(text))
    if not match:
        raise ShardError(f"--shard {text!r}: write I/N, e.g. 0/3 for the first of three shards (I counts from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise ShardError(f"--shard {text}: the index must be between 0 and {max(count, 1) - 1} (it counts from 0)")
    return Shard(index, count)


def select_shard(student_ids, shard: Shard) -> list[str]:
    """The student ids of ``shard``: positions ``index, index + count...`` of the sorted ids (round robin)."""
    ordered = sorted(set(student_ids))
    return [student for position, student in enumerate(ordered) if position % shard.count == shard.index]


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of a notebook's manifest entry, as canonical JSON (sorted keys)."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def roster_digest(student_ids) -> str:
    """SHA-256 of the sorted student ids, one a line."""
    return hashlib.sha256("\n".join(sorted(set(student_ids))).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class GradingRun:
    """What one ``grade`` run (one shard, or a whole batch as shard 0/1) graded, against which manifest."""

    assignment: str
    manifest_sha256: str
    shard: Shard
    roster: tuple
    students: tuple

    @property
    def roster_sha256(self) -> str:
        return roster_digest(self.roster)

    @classmethod
    def plan(cls, assignment: str, manifest: dict, student_ids, shard: Shard) -> "GradingRun":
        roster = tuple(sorted(set(student_ids)))
        return cls(assignment, manifest_digest(manifest), shard, roster, tuple(select_shard(roster, shard)))


# -- workers on one machine ----------------------------------------------------------------------
def cpu_count() -> int:
    """Cores this process may run on (its CPU affinity, which containers and Slurm restrict)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_per_kernel(workers: int, cores: int | None = None) -> int:
    """Threads each kernel gets so that ``workers`` kernels share the cores: ``max(1, cores // workers)``."""
    return max(1, (cores or cpu_count()) // max(1, int(workers)))


def thread_environment(threads: int) -> dict:
    """Environment variables that cap TensorFlow's and OpenMP's (oneDNN's) compute threads in one kernel."""
    threads = str(max(1, int(threads)))
    return {"TF_NUM_INTRAOP_THREADS": threads, "OMP_NUM_THREADS": threads}


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory_bytes() -> int | None:
    """Memory a new process can use: ``MemAvailable``, lowered to the cgroup's free share in a container.

    Returns None where neither can be read (not Linux).
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is None:  # cgroup v1
        limit, used = (_read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                       _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    if limit is not None and used is not None and limit < 1 << 60:
        free = max(0, limit - used)
        available = free if available is None else min(available, free)
    return available


def check_worker_memory(workers: int, per_worker: int = WORKER_MEMORY_BYTES, available: int | None = None) -> None:
    """Refuse ``workers`` when ``workers * per_worker`` is more than the available memory.

    Raises
    ------
    WorkerMemoryError
        With the figures and the largest number of workers that fits.
    """
    workers = int(workers)
    if workers < 1:
        raise WorkerMemoryError("--workers must be at least 1")
    if workers == 1:
        return  # one worker is how grading always ran: never refuse it
    if available is None:
        available = available_memory_bytes()
    if available is None or workers * per_worker <= available:
        return
    fits = max(1, available // per_worker)
    gigabytes = 1024 ** 3
    raise WorkerMemoryError(
        f"--workers {workers} needs about {workers * per_worker / gigabytes:.1f} GB (about "
        f"{per_worker / gigabytes:.1f} GB per worker: a kernel with TensorFlow, its runner and its checker), but only "
        f"{available / gigabytes:.1f} GB is available; use --workers {fits}, free some memory, or set "
        "--memory-per-worker if your notebooks need less")
