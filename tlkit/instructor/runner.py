"""Execute one prepared notebook in a fresh kernel: ``python -m tlkit.instructor.runner JOB.json``.

The grader starts this module in its own process (and process group) so that
a submission which hangs, crashes its kernel or exhausts memory cannot stop
the grader. The job file names the notebook to run, where to write the
executed copy and a status file, the working folder and the per-cell timeout.
The status file says ``"completed"``, ``"kernel_died"`` or ``"error"``, with
the number of the cell that was running.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import traceback

STATUS_COMPLETED = "completed"
STATUS_KERNEL_DIED = "kernel_died"
STATUS_ERROR = "error"


def _write_json(path: pathlib.Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def run_job(job: dict) -> dict:
    """Execute the job's notebook and return its status (also written to ``job["status"]``)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.read(job["notebook"], as_version=4)
    progress = {"cell": None}
    client = NotebookClient(
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
        if pid is not None:
            pathlib.Path(job["kernel_pid"]).write_text(str(pid), encoding="utf-8")

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
    try:
        nbformat.write(notebook, job["executed"])
    except Exception as error:
        status["message"] += f" (the executed notebook could not be written: {error})"
    _write_json(pathlib.Path(job["status"]), status)
    return status


def main(arguments=None) -> int:
    """Entry point: run the job file given as the only argument."""
    arguments = sys.argv[1:] if arguments is None else arguments
    job = json.loads(pathlib.Path(arguments[0]).read_text(encoding="utf-8"))
    run_job(job)
    return 0


if __name__ == "__main__":
    sys.exit(main())
