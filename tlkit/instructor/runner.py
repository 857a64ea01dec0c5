"""Execute one prepared notebook in a fresh kernel: ``python -m tlkit.instructor.runner < JOB.json``.

The grader starts this module in a sandbox (:mod:`tlkit.instructor.sandbox`),
so that a submission which hangs, crashes its kernel or exhausts memory cannot
stop the grader, and cannot touch anything outside its own working folder.

The job (the notebook to run, the working folder, the per-cell timeout,
the positions of the grader's cells and the output limits) arrives on
standard input and nothing of it is written to disk. The result leaves on the
original standard output as JSON lines, one per cell as soon as it has run
(``{"cell": i, "execution_count": n, "outputs": [...]}``), then
``{"status": {...}}``. Only this process keeps that channel: the kernel gets
``/dev/null`` and a log file instead, and this process makes itself non-dumpable, so the kernel
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

__all__ = ["OUTPUT_LIMITS", "PR_SET_DUMPABLE", "STATUS_COMPLETED", "STATUS_ERROR", "STATUS_KERNEL_DIED", "run_job"]

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


#: Output limits while executing (bytes of JSON): one output, one cell, all student and locked cells together,
#: and the grader's own cells together (their evidence holds the saved models).
OUTPUT_LIMITS = {"per_output": 256 * 1024, "per_cell": 1024 ** 2, "per_notebook": 16 * 1024 ** 2,
                 "grader_per_notebook": 384 * 1024 ** 2}


def _size(content) -> int:
    try:
        return len(json.dumps(content))
    except (TypeError, ValueError):
        return 1 << 40


def run_job(job: dict, emit) -> dict:
    """Execute the job's notebook, calling ``emit({"cell": i, ...})`` as each cell finishes; return the status.

    Every cell's outputs leave as soon as the cell has run, so a notebook
    killed later (the overall timeout) keeps the evidence of the checks that
    ran. Outputs beyond ``job["output_limits"]`` are dropped while executing
    and replaced by one note (like nbgrader's ``LimitOutput``).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    limits = dict(OUTPUT_LIMITS, **job.get("output_limits", {}))
    grader_cells = set(job.get("grader_cells", []))
    used = {"student": 0, "grader": 0, "cells": {}}

    class _Client(NotebookClient):
        def _update_display_id(self, display_id, msg):  # outputs already captured never change
            return None

        def output(self, outs, msg, display_id, cell_index):
            pool = "grader" if cell_index in grader_cells else "student"
            size = _size(msg.get("content"))
            cell_used = used["cells"].get(cell_index, 0)
            over = None
            if pool == "grader":
                if used["grader"] + size > limits["grader_per_notebook"]:
                    over = "the grader's cells together"
            elif size > limits["per_output"]:
                over = "one output"
            elif cell_used + size > limits["per_cell"]:
                over = "one cell"
            elif used["student"] + size > limits["per_notebook"]:
                over = "the whole notebook"
            if over is None:
                used[pool] += size
                used["cells"][cell_index] = cell_used + size
                return super().output(outs, msg, display_id, cell_index)
            noted = used.setdefault("noted", set())
            if cell_index not in noted:
                noted.add(cell_index)
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[output dropped by the grader: more than it keeps for {over}]\n"))
            return None

        async def async_execute_cell(self, cell, cell_index, *arguments, **options):
            try:
                return await super().async_execute_cell(cell, cell_index, *arguments, **options)
            finally:
                if cell.get("cell_type") == "code":
                    emit({"cell": cell_index, "execution_count": cell.get("execution_count"),
                          "outputs": cell.get("outputs", [])})

    notebook = nbformat.from_dict(job["notebook"])
    progress = {"cell": None}
    # the grader's first cell imports TensorFlow for everything after it: on a busy machine that alone can take
    # longer than a student cell may, so it has its own allowance (the overall timeout still bounds the run)
    first_cells = [notebook.cells[position] for position in job.get("import_cells", []) if position < len(notebook.cells)]
    import_timeout = max(float(job["cell_timeout"]), float(job.get("import_cell_timeout", 0)))

    def cell_timeout(cell):
        return import_timeout if any(cell is first for first in first_cells) else job["cell_timeout"]

    client = _Client(
        notebook,
        timeout=job["cell_timeout"],
        timeout_func=cell_timeout,
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
        status = {"status": "timeout", "cell": progress["cell"], "message": str(error).splitlines()[0][:300]}
    except Exception as error:  # the grader records it and moves on
        status = {"status": STATUS_ERROR, "cell": progress["cell"],
                  "message": f"{type(error).__name__}: {error}".splitlines()[0][:300]}
    return status


def main(arguments=None) -> int:
    """Entry point: read the job from standard input; write one JSON line per cell run, then the status."""
    job = json.loads(sys.stdin.read())
    _protect_this_process()
    channel = _private_output(job.get("log"))

    def emit(record):
        channel.write(json.dumps(record) + "\n")
        channel.flush()

    try:
        status = run_job(job, emit)
    except Exception as error:
        status = {"status": STATUS_ERROR, "cell": None, "message": f"{type(error).__name__}: {error}"[:300]}
    emit({"status": status})
    return 0


if __name__ == "__main__":
    sys.exit(main())
