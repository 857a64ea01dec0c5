"""Execute one prepared notebook in a fresh kernel: ``python -m tlkit.instructor.runner < JOB.json``.

The grader starts this module in a sandbox (:mod:`tlkit.instructor.sandbox`),
so that a submission which hangs, crashes its kernel or exhausts memory cannot
stop the grader, and cannot touch anything outside its own working folder.

The job (the notebook to run, the working folder, the per-cell timeout)
arrives on standard input and nothing of it is written to disk. The result,
``{"status": {...}, "notebook": {...}}``, leaves on the original standard
output, which only this process keeps: the kernel gets ``/dev/null`` and a log
file instead, and this process makes itself non-dumpable, so the kernel
(running as the same user) can neither read nor write its memory, its file
descriptors or the outputs it has already captured. Display updates
(``update_display_data``) are ignored, so no later cell can rewrite an
output captured earlier. The status says ``"completed"``, ``"kernel_died"``,
``"timeout"`` or ``"error"``, with the number of the cell that was running.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import traceback

STATUS_COMPLETED = "completed"
STATUS_KERNEL_DIED = "kernel_died"
STATUS_ERROR = "error"
PR_SET_DUMPABLE = 4


def _protect_this_process() -> None:
    """Keep the kernel (same user) out of this process: no ptrace, no /proc/<pid>/mem or fd access."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _private_output(log_path: str | None):
    """Keep the result channel (standard output) for this process only; give children /dev/null and a log."""
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")  # os.dup: not inherited by children (PEP 446)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        os.close(log)
    os.close(null)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    return result


def run_job(job: dict) -> dict:
    """Execute the job's notebook; return ``{"status": ..., "notebook": <executed notebook dict>}``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class _Client(NotebookClient):
        def _update_display_id(self, display_id, msg):  # outputs already captured never change
            return None

    notebook = nbformat.from_dict(job["notebook"])
    progress = {"cell": None}
    client = _Client(
        notebook,
        timeout=job["cell_timeout"],
        startup_timeout=job.get("startup_timeout", 120),
        kernel_name=job.get("kernel_name", "python3"),
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        resources={"metadata": {"path": job["cwd"]}},
    )

    def cell_started(cell, cell_index, **_):
        progress["cell"] = cell_index

    def kernel_started(**_):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid is not None and job.get("kernel_pid"):  # only without a sandbox, which kills everything itself
            with open(job["kernel_pid"], "w", encoding="utf-8") as handle:
                handle.write(str(pid))

    client.on_cell_execute = cell_started
    client.on_notebook_start = kernel_started
    status = {"status": STATUS_COMPLETED, "cell": None, "message": ""}
    try:
        client.execute()
    except DeadKernelError as error:
        status = {"status": STATUS_KERNEL_DIED, "cell": progress["cell"], "message": str(error).splitlines()[0]}
    except CellTimeoutError as error:
        status = {"status": "timeout", "cell": progress["cell"], "message": str(error).splitlines()[0]}
    except Exception as error:  # the grader records it and moves on
        status = {"status": STATUS_ERROR, "cell": progress["cell"],
                  "message": f"{type(error).__name__}: {error}".splitlines()[0][:500],
                  "traceback": traceback.format_exc()[-2000:]}
    return {"status": status, "notebook": notebook}


def main(arguments=None) -> int:
    """Entry point: read the job from standard input, write the result to standard output."""
    job = json.loads(sys.stdin.read())
    _protect_this_process()
    channel = _private_output(job.get("log"))
    try:
        result = run_job(job)
    except Exception as error:
        result = {"status": {"status": STATUS_ERROR, "cell": None, "message": f"{type(error).__name__}: {error}"[:500]},
                  "notebook": None}
    channel.write(json.dumps(result))
    channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
