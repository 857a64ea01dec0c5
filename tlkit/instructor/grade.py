"""Grade submissions: run each in its own sandboxed kernel, re-check the evidence in a sandboxed checker, flag tampering.

For every submission the grader

1. reads the notebook (a malformed or missing file scores 0 with a reason);
2. compares its locked cells with the manifest (an edit or deletion flags the
   question concerned) and restores their pristine source, hidden tests included;
3. puts a cell of its own before every other cell (a snapshot of the kernel's
   code, :func:`kernel_side.emit_baseline`) and one after each check cell that
   emits the variables the question reads as an *output* of that cell
   (:func:`kernel_side.emit_evidence`);
4. executes the notebook in a fresh kernel inside a bubblewrap sandbox
   (:mod:`tlkit.instructor.sandbox`, :mod:`tlkit.instructor.runner`): no
   network, its own process namespace, read-only system and tlkit, write access
   to its own fresh folder only, an unprivileged user, resource limits, a
   per-cell and an overall timeout, ``TLKIT_GRADEBOOK`` pointing at a decoy;
5. after the sandbox has exited (and everything in it with it), takes the
   evidence from the outputs the runner captured as each grader cell ran,
   writes it to a folder only the grader can write, and runs one checker
   process (:mod:`tlkit.instructor.checker`), in a sandbox of its own, that
   rebuilds the evidence and runs each question's own check logic on it.

A question scores its point only when its locked check cell displayed
*Correct* when it ran, the checker's own check of the evidence emitted right
after it passes, and nothing flagged it. Only the grader writes the gradebook
and the CSV files.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import warnings
from dataclasses import dataclass, field

import nbformat

import tlkit
from tlkit.errors import CorruptFileError, MissingFileError, TlkitError
from tlkit.instructor import kernel_side, tamper
from tlkit.instructor.sandbox import NO_SANDBOX_WARNING, Limits, Sandbox, SandboxUnavailableError, kill_tree
from tlkit.instructor.manifest import build_manifest, compare_locked_cells
from tlkit.instructor.parallel import thread_environment, threads_per_kernel
from tlkit.instructor.notebooks import cell_source, ensure_cell_ids, read_notebook
from tlkit.instructor.sqlite_files import count_rows

__all__ = ["GradingError", "Grader", "QuestionGrade", "SandboxUnavailableError", "SubmissionGrade",
           "collect_submissions"]

REPO_ROOT = pathlib.Path(tlkit.__file__).resolve().parents[1]
GRADER_CELL_TAG = "tlkit-grader"
CORE_WATCHED_MODULES = (
    "tlkit.exercises", "tlkit.exercises.core", "tlkit.exercises.predicates", "tlkit.exercises.compile_state",
    "tlkit.gradebook", "tlkit.gradebook_spool",
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")
_VERDICT = re.compile(r"^(Correct|Incorrect|Not attempted) \((q\d+)\)", re.MULTILINE)
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$")
MAX_EVIDENCE_BYTES = 512 * 1024 ** 2


class GradingError(TlkitError, RuntimeError):
    """The grading itself cannot start (bad source notebook, no exercise binding...)."""


@dataclass
class QuestionGrade:
    """The grade of one question of one submission."""

    question: str
    score: float
    max_score: float
    status: str
    message: str
    flags: list = field(default_factory=list)


@dataclass
class SubmissionGrade:
    """The grade of one submission: per-question grades, flags and notes on how it ran."""

    student_id: str
    assignment: str
    path: str
    questions: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problem: str | None = None

    @property
    def score(self) -> float:
        return sum(question.score for question in self.questions)

    @property
    def max_score(self) -> float:
        return sum(question.max_score for question in self.questions)

    @property
    def flagged(self) -> bool:
        return bool(self.flags) or any(question.flags for question in self.questions)

    def all_flags(self) -> list[str]:
        found = list(self.flags)
        for question in self.questions:
            found.extend(f"{question.question}: {flag}" for flag in question.flags)
        return found

    def question(self, name: str) -> QuestionGrade:
        return next(question for question in self.questions if question.question == name)


def collect_submissions(folder, notebook_name: str) -> dict:
    """Find each student's copy of ``notebook_name`` in a collection folder.

    Layouts: ``folder/<student>/<notebook_name>`` (a missing file is kept, so it
    is graded 0 with a reason) or ``folder/<student>.ipynb``.

    Returns
    -------
    dict
        Student id -> path, sorted by student id.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"submissions folder {folder} does not exist")
    found = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found[entry.name] = entry / notebook_name
        elif entry.suffix == ".ipynb":
            found[entry.stem] = entry
    return found


def _safe_student_id(student_id: str) -> str:
    cleaned = _SAFE_ID.sub("-", str(student_id)).strip("-.") or "student"
    return cleaned[:64]


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


class Grader:
    """Grade submissions of one source notebook.

    Parameters
    ----------
    source : path
        The instructor's notebook, with solutions (and hidden tests).
    work_folder : path
        Where executed notebooks, evidence, feedback and CSV files go.
    cell_timeout : float, default 120
        Seconds one cell may run before the kernel is interrupted.
    timeout : float, default 1800
        Seconds a whole submission may run before its sandbox is killed.
    manifest : dict, optional
        The notebook's entry of the release's ``MANIFEST.json``; rebuilt from
        the source when not given.
    watch_gradebooks : sequence of path, optional
        Gradebooks that no submission may write to (the instructor's); hidden
        from the sandboxes and checked for changes.
    sandbox : bool, default True
        Run every submission (and the checker) in a bubblewrap sandbox. Without
        bubblewrap the grader refuses to start (:class:`SandboxUnavailableError`)
        unless this is False, which is unsafe: see ``docs/instructor.md``.
    limits : Limits, optional
        Resource limits of each sandbox; by default :class:`Limits` with the CPU
        time set to twice ``timeout``.
    threads : int, optional
        Compute threads of TensorFlow and OpenMP in each kernel and checker
        (``TF_NUM_INTRAOP_THREADS``, ``OMP_NUM_THREADS``); by default the cores
        divided by the number of workers (:func:`parallel.threads_per_kernel`).
    """

    def __init__(self, source, work_folder, cell_timeout: float = 120, timeout: float = 1800, manifest=None,
                 watch_gradebooks=(), sandbox: bool = True, limits: Limits | None = None, threads: int | None = None):
        self.source_path = pathlib.Path(source).resolve()
        self.source = read_notebook(self.source_path)
        ensure_cell_ids(self.source)
        self.manifest = manifest or build_manifest(self.source, self.source_path.name)
        if not self.manifest.get("exercise_module"):
            raise GradingError(f"{self.source_path.name}: no setup cell binds exercises, so there is nothing to grade")
        if not self.manifest["questions"]:
            raise GradingError(f"{self.source_path.name}: no questions found (no solution regions or checks)")
        self.assignment = self.manifest["assignment"]
        self.work_folder = pathlib.Path(work_folder).resolve()
        self.cell_timeout = float(cell_timeout)
        self.timeout = float(timeout)
        self.watch_gradebooks = [pathlib.Path(path) for path in watch_gradebooks]
        self.module_paths = [str(self.source_path.parent), str(REPO_ROOT)]
        self.use_sandbox = bool(sandbox)
        self.limits = limits or Limits(cpu_seconds=int(max(60.0, 2 * self.timeout)))
        if self.use_sandbox:
            Sandbox(limits=self.limits)  # fails now, with a clear message, when bubblewrap is missing
        else:
            warnings.warn(NO_SANDBOX_WARNING, stacklevel=2)
        from tlkit.exercises import EXERCISE_MODULES

        self.watched_modules = list(CORE_WATCHED_MODULES) + [f"tlkit.exercises.{name}" for name in EXERCISE_MODULES]
        if self.manifest["exercise_module"] not in self.watched_modules:
            self.watched_modules.append(self.manifest["exercise_module"])
        self._points = {question: 1.0 for question in self.manifest["questions"]}
        self._kernel_code = pathlib.Path(kernel_side.__file__).read_text(encoding="utf-8")
        self._hidden: list[str] = []
        self.threads = int(threads) if threads else None
        self._threads = self.threads or threads_per_kernel(1)

    # -- preparing one submission --------------------------------------------------------------
    def _grader_cell(self, call: str, config: dict, kind: str, question: str | None = None):
        code = self._kernel_code
        source = (
            f"exec({code!r} + '\\n{call}', "
            f"{{'__name__': 'tlkit_grader_cell', 'STUDENT_GLOBALS': globals(), 'CONFIG': {config!r}}})"
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GRADER_CELL_TAG]
        cell.metadata["tlkit_grader"] = {"kind": kind, "question": question}
        return cell

    def _baseline_cell(self):
        return self._grader_cell("emit_baseline(CONFIG)", {"modules": self.watched_modules}, "baseline")

    def _evidence_cell(self, question: str, alias: str):
        config = {
            "question": question,
            "names": self._names_for(question),
            "exercise_module": self.manifest["exercise_module"],
            "alias": alias,
            "watched_modules": self.watched_modules,
        }
        return self._grader_cell("emit_evidence(STUDENT_GLOBALS, CONFIG)", config, "evidence", question)

    def _names_for(self, question: str) -> list[str]:
        if not hasattr(self, "_declared_names"):
            self._declared_names = self._read_declared_names()
        return self._declared_names.get(question, [])

    def _read_declared_names(self) -> dict:
        """The notebook variables each question reads, from the question classes' declarations."""
        import importlib

        added = [path for path in self.module_paths if path not in sys.path]
        sys.path[:0] = added
        try:
            module = importlib.import_module(self.manifest["exercise_module"])
        except ImportError as error:
            raise GradingError(f"cannot import the exercise module {self.manifest['exercise_module']}: {error}") from None
        finally:
            for path in added:
                sys.path.remove(path)
        exercise = getattr(module, "exercise", None)
        if exercise is None or not hasattr(exercise, "questions"):
            raise GradingError(f"the exercise module {module.__name__} has no `exercise = Exercise(...)`")
        names = {}
        for key, question in exercise.questions.items():
            declared = list(question.variable_names()) + list(question.context) + list(question.optional_context)
            names[key] = list(dict.fromkeys(declared))
        return names

    def _prepare(self, submission, grade: SubmissionGrade):
        """Return the notebook to execute, the findings per question and the check cells by position."""
        alias = self.manifest["exercise_alias"]
        locked = {entry["cell_id"]: entry for entry in self.manifest["locked_cells"]}
        solutions = {entry["cell_id"]: entry["question"] for entry in self.manifest.get("solution_cells", [])}
        per_question: dict[str, list[str]] = {}
        for change in compare_locked_cells(self.manifest, submission):
            scope = change.questions if change.role in ("check", "hidden-tests") and change.questions else ()
            if scope:
                for question in scope:
                    per_question.setdefault(question, []).append(change.describe())
            else:
                grade.flags.append(change.describe())
        executed = nbformat.v4.new_notebook()
        executed.metadata = submission.metadata
        executed.cells.append(self._baseline_cell())
        check_cells = {}
        for index, cell in enumerate(submission.cells):
            cell = nbformat.from_dict(dict(cell))
            entry = locked.get(cell.get("id"))
            if cell.get("cell_type") != "code":
                executed.cells.append(cell)
                continue
            cell["outputs"], cell["execution_count"] = [], None
            cell.metadata.pop("tlkit_grader", None)
            if entry is not None:
                cell["source"] = cell_source(self.source.cells[entry["index"]])
                executed.cells.append(cell)
                if entry["role"] == "check":
                    check_cells[len(executed.cells) - 1] = entry
                    for question in entry["questions"]:
                        executed.cells.append(self._evidence_cell(question, alias))
                continue
            question = solutions.get(cell.get("id"))
            for finding in tamper.scan_code(index, cell_source(cell)):
                if question:
                    per_question.setdefault(question, []).append(finding.describe())
                else:
                    grade.flags.append(finding.describe())
            cell.metadata["tlkit_student_cell"] = {"index": index, "question": question}
            executed.cells.append(cell)
        return executed, per_question, check_cells

    # -- sandboxes -------------------------------------------------------------------------------
    def _hide_paths(self, submissions: dict) -> list[str]:
        """What no sandbox may see: the work folder, gradebooks and spools, submissions, the source notebook."""
        from tlkit.gradebook import Gradebook

        needed = [REPO_ROOT.resolve(), pathlib.Path(sys.prefix).resolve(), self.source_path.parent]
        hidden: list[str] = [str(self.work_folder), str(self.source_path)]

        def hide(path: pathlib.Path, folder_too: bool = True) -> None:
            path = pathlib.Path(path).expanduser()
            folder = path.parent.resolve() if path.parent.exists() else None
            if folder_too and folder is not None and not any(_inside(n, folder) for n in needed):
                hidden.append(str(folder))
            for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                              path.with_name(path.name + ".spool.jsonl")):
                if candidate.is_file():
                    hidden.append(str(candidate.resolve()))

        books = list(self.watch_gradebooks)
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
            hide(pathlib.Path(path))
        return hidden

    def _sandbox(self) -> Sandbox:
        extra = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
        data = os.environ.get("TLKIT_FASHION_MNIST_DIR")
        return Sandbox(readable=list(self.module_paths) + extra + ([data] if data else []),
                       hidden=self._hidden, limits=self.limits)

    def _environment(self, extra: dict) -> dict:
        python_path = os.pathsep.join(self.module_paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                           if p])
        if not self.use_sandbox:
            environment = dict(os.environ)
            environment.update(thread_environment(self._threads))
            environment.update(extra)
            environment["PYTHONPATH"] = python_path
            return environment
        environment = {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONPATH": python_path,
            "TLKIT_CACHE_DIR": "/tmp/tlkit-cache", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        for name in ("TF_CPP_MIN_LOG_LEVEL", "TLKIT_FASHION_MNIST_DIR", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES"):
            if name in os.environ:
                environment[name] = os.environ[name]
        environment.update(thread_environment(self._threads))
        environment.update(extra)
        return environment

    # -- running one submission ------------------------------------------------------------------
    def _run(self, notebook, folder: pathlib.Path, student_id: str) -> tuple[dict, object]:
        """Execute ``notebook``; return its status and the executed notebook (None if the runner failed).

        Only ``folder/box`` is writable by the sandbox: the kernel's working
        folder, the decoy gradebook and the runner's log.
        """
        folder.mkdir(parents=True, exist_ok=True)
        box = folder / "box"
        if box.exists():
            shutil.rmtree(box)
        (box / "work").mkdir(parents=True)
        (box / "decoy").mkdir()
        job = {"notebook": notebook, "cwd": str(box / "work"), "cell_timeout": self.cell_timeout,
               "log": str(box / "runner.log")}
        extra = {"TLKIT_GRADEBOOK": str(box / "decoy" / "gradebook.sqlite3"), "TLKIT_STUDENT_ID": student_id,
                 "MPLBACKEND": "Agg"}
        command = [sys.executable, "-m", "tlkit.instructor.runner"]
        if self.use_sandbox:
            sandbox = self._sandbox()
            sandbox.prepare_writable(box)
            process = sandbox.popen(command, writable=[box], cwd=box / "work", environment=self._environment(extra),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            job["kernel_pid"] = str(folder / "kernel.pid")
            process = subprocess.Popen(command, cwd=str(box / "work"), env=self._environment(extra),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        status = None
        try:
            output, error_text = process.communicate(json.dumps(job).encode("utf-8"), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process)
            process.communicate()
            output, error_text = b"", b""
            status = {"status": "timeout", "cell": None,
                      "message": f"the whole notebook ran longer than {self.timeout:g} s and was stopped"}
        finally:
            kill_tree(process)
            pid_file = folder / "kernel.pid"
            if pid_file.is_file():
                try:
                    _kill_group(int(pid_file.read_text()))
                except ValueError:
                    pass
        executed = None
        if status is None:
            try:
                result = json.loads(output.decode("utf-8"))
                status = result["status"]
                if not isinstance(status, dict) or not isinstance(status.get("status"), str):
                    raise ValueError("malformed status")
                if result.get("notebook") is not None:
                    executed = nbformat.from_dict(result["notebook"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                last = (error_text.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
                status = {"status": "error", "cell": None, "message": f"the notebook runner failed: {last[:300]}"}
        if executed is not None:
            try:
                nbformat.write(executed, str(folder / "executed.ipynb"))
            except Exception:
                pass
        return status, executed

    # -- after the run ---------------------------------------------------------------------------
    def _extract_evidence(self, executed, folder: pathlib.Path) -> tuple[pathlib.Path, dict]:
        """Write the evidence the grader cells emitted into ``folder/evidence``; return it and findings per question.

        Findings: ``{"flags": {question: [...]}, "problems": {question: message}, "emitted": {question: bool}}``.
        """
        evidence_root = folder / "evidence"
        if evidence_root.exists():
            shutil.rmtree(evidence_root)
        evidence_root.mkdir(parents=True)
        findings = {"flags": {}, "problems": {}, "emitted": {}, "baseline_missing": True}
        if executed is None:
            return evidence_root, findings
        baseline = None
        total = 0
        for cell in executed.cells:
            marker = cell.metadata.get("tlkit_grader") if GRADER_CELL_TAG in cell.metadata.get("tags", []) else None
            if not isinstance(marker, dict):
                continue
            mime = kernel_side.BASELINE_MIME if marker.get("kind") == "baseline" else kernel_side.EVIDENCE_MIME
            payloads = [output.get("data", {}).get(mime) for output in cell.get("outputs", [])
                        if output.get("output_type") == "display_data" and mime in output.get("data", {})]
            if marker.get("kind") == "baseline":
                if len(payloads) == 1 and isinstance(payloads[0], dict) and isinstance(payloads[0].get("integrity"), dict):
                    baseline = payloads[0]["integrity"]
                    findings["baseline_missing"] = False
                elif len(payloads) > 1:
                    findings["flags"].setdefault(None, []).append(
                        "the grader's first cell showed more than one code snapshot: something else wrote into it")
                continue
            question = marker.get("question")
            if question not in self._points:
                continue
            flags = findings["flags"].setdefault(question, [])
            if len(payloads) > 1 or findings["emitted"].get(question):
                flags.append("more than one evidence output for this check: something else wrote into the grader's cell")
                continue
            if not payloads:
                continue
            payload = payloads[0]
            findings["emitted"][question] = True
            try:
                if not isinstance(payload, dict) or payload.get("question") != question:
                    raise ValueError("the evidence output does not belong to this question")
                evidence, files = payload.get("evidence"), payload.get("files")
                if not isinstance(evidence, dict) or not isinstance(files, dict):
                    raise ValueError("the evidence output is malformed")
                target = evidence_root / question
                target.mkdir()
                for name, encoded in files.items():
                    if not isinstance(name, str) or not _FILE_NAME.match(name) or name == kernel_side.EVIDENCE_FILE_NAME \
                            or not isinstance(encoded, str):
                        raise ValueError(f"the evidence names a file {str(name)[:40]!r} the grader does not accept")
                    data = base64.b64decode(encoded.encode("ascii"), validate=True)
                    total += len(data)
                    if total > MAX_EVIDENCE_BYTES:
                        raise ValueError("the evidence is larger than the grader accepts")
                    (target / name).write_bytes(data)
                (target / kernel_side.EVIDENCE_FILE_NAME).write_text(json.dumps(evidence), encoding="utf-8")
            except (ValueError, TypeError, UnicodeError, binascii.Error) as error:
                findings["problems"][question] = f"the evidence output is unusable: {error}"
                shutil.rmtree(evidence_root / question, ignore_errors=True)
                continue
            current = payload.get("integrity")
            if baseline is None:
                flags.append("the grader's snapshot of the kernel's code at start-up is missing, so this check "
                             "cannot be trusted")
            elif not isinstance(current, dict):
                flags.append("the evidence has no snapshot of the kernel's code")
            else:
                changed = sorted(name for name, digest in baseline.items() if current.get(name) != digest)
                if changed:
                    shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
                    flags.append(f"code in the kernel was changed after the notebook started ({shown})")
        return evidence_root, findings

    def _check(self, grade: SubmissionGrade, evidence_root: pathlib.Path, decoy: pathlib.Path) -> dict:
        """Run the checker (sandboxed: it reads only this submission's evidence) and return its record."""
        job = {"exercise_module": self.manifest["exercise_module"], "module_paths": self.module_paths,
               "watched_modules": self.watched_modules,
               "submissions": [{"key": grade.student_id, "artifacts": str(evidence_root),
                                "questions": list(self._points), "decoy": str(decoy)}]}
        command = [sys.executable, "-m", "tlkit.instructor.checker"]
        environment = self._environment({"PYTHONSAFEPATH": "1"})
        if self.use_sandbox:
            sandbox = self._sandbox()
            process = sandbox.popen(command, cwd="/tmp", environment=environment, readonly=[evidence_root, decoy.parent],
                                    stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            checker_folder = self.work_folder / "checker"
            checker_folder.mkdir(exist_ok=True)
            process = subprocess.Popen(command, cwd=str(checker_folder), env=environment, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            output, error_text = process.communicate(json.dumps(job).encode("utf-8"), timeout=300)
        except subprocess.TimeoutExpired:
            kill_tree(process)
            process.communicate()
            return {"__checker_failure__": "the checker ran out of time"}
        finally:
            kill_tree(process)
        for line in output.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("key") == grade.student_id and isinstance(record.get("questions"), dict):
                questions = {name: value for name, value in record["questions"].items()
                             if name in self._points and isinstance(value, dict)}
                rows = record.get("decoy_rows")
                questions["__decoy_rows__"] = rows if isinstance(rows, dict) else {}
                return questions
        last = (error_text.decode("utf-8", "replace").strip().splitlines() or [f"exit {process.returncode}"])[-1]
        return {"__checker_failure__": last[:300]}

    def _inspect_decoy(self, rows: dict, executed_notebook) -> list[str]:
        flags = []
        rows = {name: value for name, value in rows.items() if isinstance(value, int)}
        if rows.get("unreadable"):
            flags.append("the gradebook given to the notebook was damaged")
        for table in ("quiz_answers", "grades"):
            if rows.get(table):
                flags.append(f"the notebook wrote {rows[table]} row(s) to the gradebook table {table}")
        alias = self.manifest["exercise_alias"] or "ex"
        calls = 0
        if executed_notebook is not None:
            pattern = re.compile(rf"\b{re.escape(alias)}\.q\d+\.check\s*\(")
            calls = sum(len(pattern.findall(cell_source(cell))) for cell in executed_notebook.cells
                        if cell.get("cell_type") == "code" and GRADER_CELL_TAG not in cell.metadata.get("tags", []))
        if rows.get("checks", 0) > calls:
            flags.append(f"the gradebook received {rows['checks']} check records but the notebook has only "
                         f"{calls} check call(s): something else wrote to it")
        return flags

    def _execution_notes(self, status: dict, executed_notebook) -> list[str]:
        notes = []
        if status["status"] == "kernel_died":
            cell = status.get("cell")
            notes.append(f"the kernel died while running cell {cell + 1 if cell is not None else '?'}; "
                         "later cells did not run")
        elif status["status"] == "timeout":
            notes.append(status.get("message") or "the notebook timed out")
        elif status["status"] != "completed":
            notes.append(f"the notebook could not be run: {status.get('message', '')}")
        if executed_notebook is not None:
            for cell in executed_notebook.cells:
                student = cell.metadata.get("tlkit_student_cell")
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error" and student is not None:
                        name = output.get("ename", "")
                        if name == "KeyboardInterrupt":
                            notes.append(f"cell {student['index'] + 1} ran longer than {self.cell_timeout:g} s "
                                         "and was interrupted")
                        elif name != "NotImplementedError":
                            notes.append(f"cell {student['index'] + 1} raised {name}: {output.get('evalue', '')[:120]}")
        return notes

    def _executed_findings(self, executed_notebook, check_cells) -> tuple[dict, dict, dict]:
        """Outputs imitating a verdict, hidden tests that failed, and what each check cell displayed."""
        fake, hidden_failures, displayed = {}, {}, {}
        if executed_notebook is None:
            return fake, hidden_failures, displayed
        for position, cell in enumerate(executed_notebook.cells):
            student = cell.metadata.get("tlkit_student_cell")
            if student is not None:
                for finding in tamper.scan_outputs(student["index"], cell):
                    fake.setdefault(student["question"], []).append(finding.describe())
            entry = check_cells.get(position)
            if entry is not None:
                text = tamper.output_text(cell)
                for question in entry["questions"]:
                    displayed[question] = text
                    for output in cell.get("outputs", []):
                        if output.get("output_type") == "error":
                            hidden_failures[question] = f"{output.get('ename', '')}: {output.get('evalue', '')}"[:200]
        return fake, hidden_failures, displayed

    # -- the batch -------------------------------------------------------------------------------
    def _new_grade(self, student_id: str, path) -> SubmissionGrade:
        return SubmissionGrade(student_id=student_id, assignment=self.assignment, path=str(path))

    def _zero(self, grade: SubmissionGrade, reason: str) -> None:
        grade.problem = reason
        grade.questions = [QuestionGrade(question, 0.0, points, "not_graded", reason)
                           for question, points in self._points.items()]

    def grade(self, submissions: dict, workers: int = 1, also_hide=()) -> list[SubmissionGrade]:
        """Grade ``{student_id: notebook path}``; return one :class:`SubmissionGrade` per student.

        A missing, malformed, hanging or crashing submission is graded 0 with a
        reason; the others are graded as usual.

        Parameters
        ----------
        submissions : dict
            Student id -> path of the submitted notebook.
        workers : int, default 1
            Submissions graded at the same time, each in its own sandbox with its
            own limits and timeouts (threads: the sandboxes are processes). The
            grades come back in the order of ``submissions`` whatever the order
            in which they finish, and each kernel gets ``cores // workers``
            compute threads unless ``threads`` was given. With more than one, a
            change to a watched gradebook cannot be tied to one submission and
            flags every submission running at that moment.
        also_hide : sequence of path, optional
            Other submissions no sandbox may see either: with ``--shard``, the
            other shards' students (the batch's own submissions are always hidden).
        """
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, int(workers))
        self._threads = self.threads or threads_per_kernel(workers)
        self.work_folder.mkdir(parents=True, exist_ok=True)
        self._names_for(self.manifest["questions"][0])
        hide = dict(submissions)
        hide.update({f"also-hidden-{number}": path for number, path in enumerate(also_hide)})
        self._hidden = self._hide_paths(hide) if self.use_sandbox else []
        grades, runs = [], []
        for student_id, path in submissions.items():
            student_id = _safe_student_id(student_id)
            path = pathlib.Path(path)
            grade = self._new_grade(student_id, path)
            grades.append(grade)
            try:
                submission = read_notebook(path)
            except MissingFileError:
                self._zero(grade, f"no submission: {path.name} was not found")
                continue
            except CorruptFileError as error:
                self._zero(grade, f"the submission is not a readable notebook ({str(error).split(': ', 1)[-1]})")
                continue
            folder = self.work_folder / "runs" / student_id
            if folder.exists():
                shutil.rmtree(folder)
            notebook, per_question, check_cells = self._prepare(submission, grade)
            runs.append((grade, folder, notebook, per_question, check_cells))

        def execute(run):
            grade, folder, notebook, _, _ = run
            before = [count_rows(book) for book in self.watch_gradebooks]
            status, executed = self._run(notebook, folder, grade.student_id)
            for book, counts in zip(self.watch_gradebooks, before):
                if count_rows(book) != counts:
                    grade.flags.append(f"the gradebook {book.name} changed while this notebook ran")
            evidence_root, findings = self._extract_evidence(executed, folder)
            results = self._check(grade, evidence_root, folder / "box" / "decoy" / "gradebook.sqlite3")
            return status, executed, findings, results

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(execute, runs))
        for (grade, _, _, per_question, check_cells), (status, executed, findings, results) in zip(runs, outcomes):
            grade.flags.extend(self._inspect_decoy(results.pop("__decoy_rows__", {}), executed))
            grade.notes.extend(self._execution_notes(status, executed))
            self._combine(grade, results, per_question, check_cells, executed, findings)
        return grades

    def _combine(self, grade: SubmissionGrade, results: dict, per_question: dict, check_cells: dict, executed,
                 findings: dict) -> None:
        fake, hidden_failures, displayed = self._executed_findings(executed, check_cells)
        grade.flags.extend(fake.pop(None, []))
        grade.flags.extend(findings["flags"].pop(None, []))
        checker_failure = results.get("__checker_failure__")
        if checker_failure:
            grade.notes.append(f"the checker failed on this submission's evidence: {checker_failure}")
        for question, points in self._points.items():
            result = results.get(question) or {"status": "not_graded", "message": "no result from the checker",
                                               "fingerprint_differences": [], "alias_bound": True, "problems": []}
            flags = list(per_question.get(question, [])) + list(fake.get(question, []))
            flags += findings["flags"].get(question, [])
            # a question's own entries ("q2 attributes") concern that question only; code changes concern all later checks
            differences = [difference for difference in result.get("fingerprint_differences") or []
                           if not re.match(r"q\d+ ", str(difference)) or str(difference).startswith(f"{question} ")]
            if differences:
                shown = ", ".join(map(str, differences[:8])) + (" ..." if len(differences) > 8 else "")
                flags.append(f"tlkit or saving code was modified in the kernel before this check ({shown})")
            if not result.get("alias_bound", True):
                flags.append("the exercise name in the notebook no longer points to the real exercise module")
            verdicts = _VERDICT.findall(displayed.get(question, "") or "")
            shown_verdicts = [word for word, name in verdicts if name == question]
            if result.get("status") != "correct" and result.get("evidence") and "Correct" in shown_verdicts:
                flags.append("the notebook displayed 'Correct' but the grader's own check disagrees")
            if len(set(shown_verdicts)) > 1:
                flags.append("the check cell displayed more than one verdict: something else wrote into it")
            status, message = str(result.get("status", "not_graded")), str(result.get("message", ""))
            if question in findings["problems"]:
                status, message = "incorrect", findings["problems"][question]
            elif status == "correct" and shown_verdicts != ["Correct"]:
                # evidence counts only for a check that said Correct when it ran: nothing later can change that
                said = shown_verdicts[-1] if shown_verdicts else "nothing"
                status = {"Incorrect": "incorrect", "Not attempted": "not_attempted"}.get(said, "incorrect")
                message = f"the check cell said {said} when it ran, so the evidence cannot score"
            score = points if status == "correct" else 0.0
            if question in hidden_failures and score:
                score, status = 0.0, "incorrect"
                message = f"a hidden test failed ({hidden_failures[question]})"
            if flags:
                score = 0.0
                message = f"0 because the attempt was flagged; the check said: {message}"
            if grade.flags:
                score = 0.0
            grade.questions.append(QuestionGrade(question, score, points, status, message, flags))
        if grade.flags:
            for question in grade.questions:
                if not question.message.startswith("0 because"):
                    question.message = f"0 because the attempt was flagged; the check said: {question.message}"
