"""The processes grading one submission starts: the notebook runner, then the checker, sandboxed.

:class:`SubmissionProcesses` decides what a sandbox may see
(:meth:`~SubmissionProcesses.hide_paths`),
which environment its processes get, and runs :mod:`tlkit.instructor.runner`
(the notebook, in a fresh kernel) and :mod:`tlkit.instructor.checker` (the
re-check of the evidence) with their timeouts.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import nbformat

from tlkit.gradebook import Gradebook
from tlkit.instructor.parallel import thread_environment, threads_per_kernel
from tlkit.instructor.sandbox import Sandbox, kill_tree
from tlkit.instructor.sqlite_files import journal_files
from tlkit.paths import REPO_ROOT

if TYPE_CHECKING:
    from tlkit.instructor.grading_setup import GradingSetup
    from tlkit.instructor.scoring import SubmissionGrade

__all__ = ["CHECKER_TIMEOUT", "IMPORT_CELL_TIMEOUT", "SubmissionProcesses", "clean_run_folder",
           "write_key_free_quizzes"]

#: Seconds the grader's first cell (importing TensorFlow, Keras and the exercises) may take, whatever ``cell_timeout``.
IMPORT_CELL_TIMEOUT = 600.0
#: Seconds the checker of one submission may run at least (or ``timeout``, when longer).
CHECKER_TIMEOUT = 900.0


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _inside(path: pathlib.Path, folder: pathlib.Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


class SubmissionProcesses:
    """Run a submission's notebook and its checker, each in a sandbox of its own.

    Parameters
    ----------
    setup : GradingSetup
        Reads its ``work_folder``, ``source_path``, ``watch_gradebooks``,
        ``module_paths``, ``use_sandbox``, ``limits``, ``timeout``,
        ``cell_timeout``, ``manifest``, ``watched_modules`` and ``points``.

    Attributes
    ----------
    hidden : list of str
        What no sandbox may see (:meth:`hide_paths` of the batch).
    quiz_folder : pathlib.Path or None
        The key-free exam files the sandboxes may read (:func:`write_key_free_quizzes`).
    threads : int
        Compute threads of each kernel and checker.
    """

    def __init__(self, setup: GradingSetup):
        self.setup = setup
        self.hidden: list[str] = []
        self.quiz_folder: pathlib.Path | None = None
        self.threads = setup.threads or threads_per_kernel(1)

    # -- sandboxes -------------------------------------------------------------------------------
    def hide_paths(self, submissions: dict) -> list[str]:
        """What no sandbox may see: the work folder, gradebooks and spools, submissions, the source notebook."""
        needed = [REPO_ROOT.resolve(), pathlib.Path(sys.prefix).resolve(), self.setup.source_path.parent]
        hidden: list[str] = [str(self.setup.work_folder), str(self.setup.source_path)]

        def hide(path: pathlib.Path, folder_too: bool = True) -> None:
            path = pathlib.Path(path).expanduser()
            folder = path.parent.resolve() if path.parent.exists() else None
            if folder_too and folder is not None and not any(_inside(n, folder) for n in needed):
                hidden.append(str(folder))
            for candidate in (path, *journal_files(path), path.with_name(path.name + ".spool.jsonl")):
                if candidate.is_file():
                    hidden.append(str(candidate.resolve()))

        books = list(self.setup.watch_gradebooks)
        if os.environ.get("TLKIT_GRADEBOOK"):
            books.append(pathlib.Path(os.environ["TLKIT_GRADEBOOK"]))
        for book in books:
            hide(book)
            try:
                hide(Gradebook(book).spool_path)
            except Exception:
                pass
        try:
            import platformdirs

            hidden.append(platformdirs.user_data_dir("tlkit"))
        except Exception:
            pass
        for path in submissions.values():
            # the instructor's submissions folder, never anything below it: a student's entry may be a link,
            # and nothing read for one student may change what another's sandbox sees
            if getattr(path, "reason", None):
                continue  # refused: never opened, never run
            root = getattr(path, "root", None) or os.path.dirname(os.path.dirname(os.path.abspath(os.fspath(path))))
            if os.path.isdir(root) and not os.path.islink(root) and root not in hidden \
                    and not any(_inside(n, pathlib.Path(root)) for n in needed):
                hidden.append(root)
        return hidden

    def sandbox(self) -> Sandbox:
        """A sandbox that sees only what a kernel needs: Python, the venv, tlkit, its data, the exercise modules.

        Of the repository only the ``tlkit`` package, ``data/`` and
        ``benchmarks/results/`` (recorded results some notebooks load) are
        visible; of the source notebook's folder only its ``*.py`` files (the
        exercise modules), never a notebook.
        """
        repository = str(REPO_ROOT)
        extra = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if path and not _inside(REPO_ROOT, pathlib.Path(path)) and not _inside(self.setup.source_path.parent,
                                                                                           pathlib.Path(path))]
        data = [os.environ.get("TLKIT_FASHION_MNIST_DIR"), os.path.join(repository, "data"),
                os.path.join(repository, "benchmarks", "results")]
        modules = []
        for folder in self.setup.module_paths:
            if os.path.realpath(folder) == os.path.realpath(repository):
                continue  # the tlkit package is always readable, the rest of the repository never
            try:
                with os.scandir(folder) as entries:
                    modules += [entry.path for entry in entries
                                if entry.name.endswith(".py") and entry.is_file(follow_symlinks=False)]
            except OSError:
                continue
        quizzes = self.quiz_folder
        data.append(str(quizzes) if quizzes is not None else None)
        return Sandbox(readable=extra + [path for path in data if path], readable_files=modules,
                       hidden=self.hidden, limits=self.setup.limits)

    def environment(self, extra: dict) -> dict:
        """The environment of a runner or checker process: ``extra`` over a minimal one (or the grader's, unsandboxed).

        Parameters
        ----------
        extra : dict
            Variables to set on top (the decoy gradebook, the student id...).

        Returns
        -------
        dict
            Variable -> value, with ``PYTHONPATH`` and the thread settings.
        """
        python_path = os.pathsep.join(self.setup.module_paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                           if p])
        if not self.setup.use_sandbox:
            environment = dict(os.environ)
            environment.update(thread_environment(self.threads))
            environment.update(extra)
            environment["PYTHONPATH"] = python_path
            return environment
        environment = {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONPATH": python_path,
            "TLKIT_CACHE_DIR": "/tmp/tlkit-cache", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        if self.quiz_folder is not None:
            environment["TLKIT_QUIZ_DIR"] = str(self.quiz_folder)  # key-free exam files only
        for name in ("TF_CPP_MIN_LOG_LEVEL", "TLKIT_FASHION_MNIST_DIR", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES"):
            if name in os.environ:
                environment[name] = os.environ[name]
        environment.update(thread_environment(self.threads))
        environment.update(extra)
        return environment

    # -- running one submission ------------------------------------------------------------------
    def run(self, notebook, folder: pathlib.Path, student_id: str, grader_cells=()) -> tuple[dict, object]:
        """Execute ``notebook``; return its status and the executed notebook (None if no cell ran).

        Only ``folder/box`` is writable by the sandbox: the kernel's working
        folder, the decoy gradebook and the runner's log. The runner reports
        each cell as it finishes, so cells that ran before a timeout or a dead
        kernel keep their outputs; the executed notebook's metadata lists the
        cells that ran (``metadata["tlkit"]["ran"]``). The executed notebook is
        stored truncated (the runner drops outputs over its limits) as
        ``folder/executed.ipynb``.
        """
        folder.mkdir(parents=True, exist_ok=True)
        box = folder / "box"
        if box.exists():
            shutil.rmtree(box)
        (box / "work").mkdir(parents=True)
        (box / "decoy").mkdir()
        job = {"notebook": notebook, "cwd": str(box / "work"), "cell_timeout": self.setup.cell_timeout,
               "log": str(box / "runner.log"), "grader_cells": sorted(grader_cells),
               "import_cells": [position for position, (kind, _) in dict(grader_cells).items() if kind == "baseline"],
               "import_cell_timeout": min(IMPORT_CELL_TIMEOUT, self.setup.timeout)}
        extra = {"TLKIT_GRADEBOOK": str(box / "decoy" / "gradebook.sqlite3"), "TLKIT_STUDENT_ID": student_id,
                 "MPLBACKEND": "Agg"}
        command = [sys.executable, "-m", "tlkit.instructor.runner"]
        sandbox, uid = None, None
        if self.setup.use_sandbox:
            sandbox = self.sandbox()
            uid = sandbox.acquire_uid()
            sandbox.prepare_writable(box, uid)
            process = sandbox.popen(command, writable=[box], cwd=box / "work", environment=self.environment(extra),
                                    uid=uid, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            job["kernel_pid"] = str(folder / "kernel.pid")
            process = subprocess.Popen(command, cwd=str(box / "work"), env=self.environment(extra),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        status = None
        try:
            output, error_text = process.communicate(json.dumps(job).encode("utf-8"), timeout=self.setup.timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process)
            output, error_text = process.communicate()  # what the runner reported before it was stopped
            status = {"status": "timeout", "cell": None,
                      "message": f"the whole notebook ran longer than {self.setup.timeout:g} s and was stopped"}
        finally:
            kill_tree(process)
            if sandbox is not None:
                sandbox.release_uid(uid)
            pid_file = folder / "kernel.pid"
            if pid_file.is_file():
                try:
                    _kill_group(int(pid_file.read_text()))
                except ValueError:
                    pass
        executed = nbformat.from_dict(json.loads(json.dumps(notebook)))
        for cell in executed.cells:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        ran = []
        reported = None
        for line in output.split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if not isinstance(record, dict):
                continue
            if "status" in record:
                reported = record["status"]
                continue
            position = record.get("cell")
            if isinstance(position, int) and 0 <= position < len(executed.cells) and position not in ran \
                    and isinstance(record.get("outputs"), list):
                cell = executed.cells[position]
                try:
                    cell["outputs"] = [nbformat.from_dict(item) for item in record["outputs"] if isinstance(item, dict)]
                except Exception:
                    cell["outputs"] = []
                count = record.get("execution_count")
                cell["execution_count"] = count if isinstance(count, int) else None
                ran.append(position)
        del output
        if status is None:
            if isinstance(reported, dict) and isinstance(reported.get("status"), str):
                status = {"status": reported["status"], "cell": reported.get("cell"),
                          "message": str(reported.get("message", ""))[:300]}
            else:
                last = (error_text.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
                status = {"status": "error", "cell": None, "message": f"the notebook runner failed: {last[:200]}"}
        if not ran:
            return status, None
        executed.metadata["tlkit"] = {"ran": sorted(ran)}
        return status, executed

    @staticmethod
    def store_executed(executed, folder: pathlib.Path, grader_cells) -> None:
        """Write ``folder/executed.ipynb`` for the instructor, the grader cells' payloads summarised.

        The evidence (saved models, base64) and the code snapshots have been
        used by then; the stored copy names them and their sizes only.
        """
        if executed is None:
            return
        stored = nbformat.from_dict(json.loads(json.dumps(executed)))
        for position in dict(grader_cells):
            for output in stored.cells[position].get("outputs", []):
                data = output.get("data", {})
                for mime in [name for name in data if name.startswith("application/vnd.tlkit.")]:
                    data[mime] = {"stored": "summary", "bytes": len(json.dumps(data[mime]))}
        try:
            nbformat.write(stored, str(folder / "executed.ipynb"))
        except Exception:
            pass

    def check(self, grade: SubmissionGrade, evidence_root: pathlib.Path, decoy: pathlib.Path) -> dict:
        """Run the checker (sandboxed: it reads only this submission's evidence) and return its record."""
        job = {"exercise_module": self.setup.manifest["exercise_module"], "module_paths": self.setup.module_paths,
               "watched_modules": self.setup.watched_modules,
               "submissions": [{"key": grade.student_id, "artifacts": str(evidence_root),
                                "questions": list(self.setup.points), "decoy": str(decoy)}]}
        command = [sys.executable, "-m", "tlkit.instructor.checker"]
        environment = self.environment({"PYTHONSAFEPATH": "1"})
        sandbox, uid = None, None
        if self.setup.use_sandbox:
            sandbox = self.sandbox()
            uid = sandbox.acquire_uid()
            process = sandbox.popen(command, cwd="/tmp", environment=environment, readonly=[evidence_root, decoy.parent],
                                    uid=uid, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            checker_folder = self.setup.work_folder / "checker"
            checker_folder.mkdir(exist_ok=True)
            process = subprocess.Popen(command, cwd=str(checker_folder), env=environment, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            # a hang guard, not a speed limit: on a busy machine importing TensorFlow and loading the models
            # alone can take minutes (the checker's work is bounded by the evidence it is given)
            output, error_text = process.communicate(json.dumps(job).encode("utf-8"),
                                                     timeout=max(CHECKER_TIMEOUT, self.setup.timeout))
        except subprocess.TimeoutExpired:
            kill_tree(process)
            process.communicate()
            return {"__checker_failure__": f"the checker ran out of time ({max(CHECKER_TIMEOUT, self.setup.timeout):g} s)"}
        finally:
            kill_tree(process)
            if sandbox is not None:
                sandbox.release_uid(uid)
        for line in output.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("key") == grade.student_id and isinstance(record.get("questions"), dict):
                questions = {name: value for name, value in record["questions"].items()
                             if name in self.setup.points and isinstance(value, dict)}
                rows = record.get("decoy_rows")
                questions["__decoy_rows__"] = rows if isinstance(rows, dict) else {}
                return questions
        last = (error_text.decode("utf-8", "replace").strip().splitlines() or [f"exit {process.returncode}"])[-1]
        return {"__checker_failure__": last[:300]}


def write_key_free_quizzes(manifest: dict, folder: pathlib.Path) -> pathlib.Path:
    """Write the notebook's quizzes as exam files (questions and options, no key) for the sandboxes to show.

    The source quizzes hold the answer key and never enter a sandbox; a
    quiz that cannot be loaded is left out (its cell then fails, as the
    quiz is not graded here).

    Parameters
    ----------
    manifest : dict
        The notebook's manifest entry; its ``quizzes`` are written.
    folder : pathlib.Path
        The folder to (re)create for them.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    from tlkit.quiz import QuizFileError, resolve_quiz
    from tlkit.quiz.exam import EXAM_SUFFIX, exam_yaml

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for quiz_id in manifest.get("quizzes", []):
        try:
            quiz = resolve_quiz(quiz_id)
        except (QuizFileError, OSError, ValueError):
            continue
        (folder / f"{quiz.id}{EXAM_SUFFIX}").write_text(exam_yaml(quiz), encoding="utf-8")
    return folder


def clean_run_folder(folder: pathlib.Path) -> None:
    """Remove what the submission wrote and the evidence once checked; keep ``executed.ipynb`` (truncated).

    Parameters
    ----------
    folder : pathlib.Path
        One submission's run folder (``<work>/runs/<student>``).
    """

    def unlock(function, path, _):
        try:  # a folder the submission made unreadable (chmod 000): give it back to the grader
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            function(path)
        except OSError:
            pass

    for name in ("box", "evidence"):
        if (folder / name).exists():
            shutil.rmtree(folder / name, onerror=unlock)
