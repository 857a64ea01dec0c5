"""Grade submissions: run each in its own kernel, re-check the evidence in a clean process, flag tampering.

For every submission the grader

1. reads the notebook (a malformed or missing file scores 0 with a reason);
2. compares its locked cells with the manifest (an edit or deletion flags the
   question concerned) and restores their pristine source, hidden tests included;
3. adds, after each check cell, a cell of its own that saves the variables the
   question reads (:mod:`tlkit.instructor.kernel_side`);
4. executes the notebook in a fresh kernel in a separate process
   (:mod:`tlkit.instructor.runner`) with a per-cell and an overall timeout, and
   with ``TLKIT_GRADEBOOK`` pointing at a decoy gradebook it inspects afterwards.

Then one clean checker process (:mod:`tlkit.instructor.checker`), which never
runs student code, loads the evidence of every submission and runs each
question's own check logic on it. A question scores its points only when that
check passes and nothing flagged it.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field

import nbformat

import tlkit
from tlkit.errors import CorruptFileError, MissingFileError, TlkitError
from tlkit.instructor import kernel_side, tamper
from tlkit.instructor.manifest import build_manifest, compare_locked_cells
from tlkit.instructor.notebooks import cell_source, ensure_cell_ids, read_notebook

__all__ = ["GradingError", "Grader", "QuestionGrade", "SubmissionGrade", "collect_submissions"]

REPO_ROOT = pathlib.Path(tlkit.__file__).resolve().parents[1]
GRADER_CELL_TAG = "tlkit-grader"
CORE_WATCHED_MODULES = (
    "tlkit.exercises", "tlkit.exercises.core", "tlkit.exercises.predicates", "tlkit.exercises.compile_state",
    "tlkit.gradebook",
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


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


def _count_rows(path: pathlib.Path) -> dict:
    """Rows per table of an SQLite gradebook (empty when there is no readable file)."""
    if not path.is_file():
        return {}
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                    for table in tables if not table.startswith("sqlite_")}
        finally:
            connection.close()
    except sqlite3.Error:
        return {"unreadable": 1}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


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
        Seconds a whole submission may run before its kernel is killed.
    manifest : dict, optional
        The notebook's entry of the release's ``MANIFEST.json``; rebuilt from
        the source when not given.
    watch_gradebooks : sequence of path, optional
        Gradebooks that no submission may write to (the instructor's).
    """

    def __init__(self, source, work_folder, cell_timeout: float = 120, timeout: float = 1800, manifest=None,
                 watch_gradebooks=()):
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
        from tlkit.exercises import EXERCISE_MODULES

        self.watched_modules = list(CORE_WATCHED_MODULES) + [f"tlkit.exercises.{name}" for name in EXERCISE_MODULES]
        if self.manifest["exercise_module"] not in self.watched_modules:
            self.watched_modules.append(self.manifest["exercise_module"])
        self._points = {question: 1.0 for question in self.manifest["questions"]}
        self._kernel_code = pathlib.Path(kernel_side.__file__).read_text(encoding="utf-8")

    # -- preparing one submission --------------------------------------------------------------
    def _evidence_cell(self, question: str, artifacts: pathlib.Path, alias: str):
        config = {
            "folder": str(artifacts / question),
            "question": question,
            "names": self._names_for(question),
            "exercise_module": self.manifest["exercise_module"],
            "alias": alias,
            "watched_modules": self.watched_modules,
        }
        code = self._kernel_code
        source = (
            f"exec({code!r} + '\\nsave_evidence(STUDENT_GLOBALS, CONFIG)', "
            f"{{'__name__': 'tlkit_grader_cell', 'STUDENT_GLOBALS': globals(), 'CONFIG': {config!r}}})"
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GRADER_CELL_TAG]
        return cell

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

    def _prepare(self, submission, grade: SubmissionGrade, artifacts: pathlib.Path):
        """Return the notebook to execute, the findings per question and submission-wide ones."""
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
        check_cells = {}
        for index, cell in enumerate(submission.cells):
            cell = nbformat.from_dict(dict(cell))
            entry = locked.get(cell.get("id"))
            if cell.get("cell_type") != "code":
                executed.cells.append(cell)
                continue
            cell["outputs"], cell["execution_count"] = [], None
            if entry is not None:
                cell["source"] = cell_source(self.source.cells[entry["index"]])
                executed.cells.append(cell)
                if entry["role"] == "check":
                    check_cells[len(executed.cells) - 1] = entry
                    for question in entry["questions"]:
                        executed.cells.append(self._evidence_cell(question, artifacts, alias))
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

    # -- running one submission ------------------------------------------------------------------
    def _run(self, notebook, folder: pathlib.Path, student_id: str) -> tuple[dict, object]:
        sandbox = folder / "sandbox"
        sandbox.mkdir(parents=True, exist_ok=True)
        decoy = folder / "decoy" / "gradebook.sqlite3"
        decoy.parent.mkdir(parents=True, exist_ok=True)
        prepared = folder / "prepared.ipynb"
        nbformat.write(notebook, str(prepared))
        job = {
            "notebook": str(prepared),
            "executed": str(folder / "executed.ipynb"),
            "status": str(folder / "status.json"),
            "kernel_pid": str(folder / "kernel.pid"),
            "cwd": str(sandbox),
            "cell_timeout": self.cell_timeout,
        }
        job_path = folder / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        environment = dict(os.environ)
        environment.update({
            "TLKIT_GRADEBOOK": str(decoy),
            "TLKIT_STUDENT_ID": student_id,
            "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join(self.module_paths + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p]),
        })
        process = subprocess.Popen([sys.executable, "-m", "tlkit.instructor.runner", str(job_path)], cwd=str(sandbox),
                                   env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            _, error_text = process.communicate(timeout=self.timeout)
            status = None
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.communicate()
            status = {"status": "timeout", "cell": None,
                      "message": f"the whole notebook ran longer than {self.timeout:g} s and was stopped"}
            error_text = b""
        finally:
            pid_file = folder / "kernel.pid"
            if pid_file.is_file():
                try:
                    _kill_group(int(pid_file.read_text()))
                except ValueError:
                    pass
        if status is None:
            status_file = folder / "status.json"
            if status_file.is_file():
                status = json.loads(status_file.read_text(encoding="utf-8"))
            else:
                last = (error_text.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
                status = {"status": "error", "cell": None, "message": f"the notebook runner failed: {last[:300]}"}
        executed = None
        if (folder / "executed.ipynb").is_file():
            try:
                executed = nbformat.read(str(folder / "executed.ipynb"), as_version=4)
            except Exception:
                executed = None
        return status, executed

    # -- after the run ---------------------------------------------------------------------------
    def _inspect_decoy(self, folder: pathlib.Path, executed_notebook) -> list[str]:
        rows = _count_rows(folder / "decoy" / "gradebook.sqlite3")
        flags = []
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
    def _run_checker(self, pending: list[dict]) -> dict:
        results_path = self.work_folder / f"checker-results-{secrets.token_hex(4)}.jsonl"
        job = {"exercise_module": self.manifest["exercise_module"], "module_paths": self.module_paths,
               "watched_modules": self.watched_modules, "submissions": pending, "results": str(results_path)}
        job_path = results_path.with_suffix(".job.json")
        job_path.write_text(json.dumps(job), encoding="utf-8")
        checker_folder = self.work_folder / "checker"
        checker_folder.mkdir(exist_ok=True)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p])
        environment["PYTHONSAFEPATH"] = "1"
        results: dict = {}
        crashed: dict = {}
        for _ in range(len(pending) + 1):
            remaining = [item for item in pending if item["key"] not in results and item["key"] not in crashed]
            if not remaining:
                break
            job["submissions"] = remaining
            job_path.write_text(json.dumps(job), encoding="utf-8")
            try:
                completed = subprocess.run([sys.executable, "-m", "tlkit.instructor.checker", str(job_path)],
                                           cwd=str(checker_folder), env=environment, capture_output=True,
                                           timeout=max(300.0, 60.0 * len(remaining)))
                failure = None if completed.returncode == 0 else (
                    completed.stderr.decode("utf-8", "replace").strip().splitlines() or ["exit " + str(completed.returncode)])[-1]
            except subprocess.TimeoutExpired:
                failure = "the checker ran out of time"
            if results_path.is_file():
                for line in results_path.read_text(encoding="utf-8").splitlines():
                    record = json.loads(line)
                    results[record["key"]] = record["questions"]
            if failure is not None:
                stuck = next((item for item in remaining if item["key"] not in results), None)
                if stuck is None:
                    break
                crashed[stuck["key"]] = failure[:300]
        for key, failure in crashed.items():
            results[key] = {"__checker_failure__": failure}
        return results

    def _new_grade(self, student_id: str, path) -> SubmissionGrade:
        return SubmissionGrade(student_id=student_id, assignment=self.assignment, path=str(path))

    def _zero(self, grade: SubmissionGrade, reason: str) -> None:
        grade.problem = reason
        grade.questions = [QuestionGrade(question, 0.0, points, "not_graded", reason)
                           for question, points in self._points.items()]

    def grade(self, submissions: dict, workers: int = 1) -> list[SubmissionGrade]:
        """Grade ``{student_id: notebook path}``; return one :class:`SubmissionGrade` per student.

        A missing, malformed, hanging or crashing submission is graded 0 with a
        reason; the others are graded as usual.

        Parameters
        ----------
        submissions : dict
            Student id -> path of the submitted notebook.
        workers : int, default 1
            Kernels run at the same time. With more than one, a change to a
            watched gradebook cannot be tied to one submission and flags every
            submission running at that moment.
        """
        from concurrent.futures import ThreadPoolExecutor

        self.work_folder.mkdir(parents=True, exist_ok=True)
        self._names_for(self.manifest["questions"][0])
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
            artifacts = folder / f"evidence-{secrets.token_hex(8)}"
            notebook, per_question, check_cells = self._prepare(submission, grade, artifacts)
            runs.append((grade, folder, artifacts, notebook, per_question, check_cells))

        def execute(run):
            grade, folder, _, notebook, _, _ = run
            before = [_count_rows(book) for book in self.watch_gradebooks]
            status, executed = self._run(notebook, folder, grade.student_id)
            for book, counts in zip(self.watch_gradebooks, before):
                if _count_rows(book) != counts:
                    grade.flags.append(f"the gradebook {book.name} changed while this notebook ran")
            return status, executed

        with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
            outcomes = list(pool.map(execute, runs))
        pending, context = [], {}
        for (grade, folder, artifacts, _, per_question, check_cells), (status, executed) in zip(runs, outcomes):
            grade.flags.extend(self._inspect_decoy(folder, executed))
            grade.notes.extend(self._execution_notes(status, executed))
            context[grade.student_id] = (per_question, check_cells, executed)
            pending.append({"key": grade.student_id, "artifacts": str(artifacts), "questions": list(self._points)})
        checked = self._run_checker(pending) if pending else {}
        for grade in grades:
            if grade.problem is None:
                self._combine(grade, checked.get(grade.student_id, {}), *context[grade.student_id])
        return grades

    def _combine(self, grade: SubmissionGrade, results: dict, per_question: dict, check_cells: dict, executed) -> None:
        fake, hidden_failures, displayed = self._executed_findings(executed, check_cells)
        grade.flags.extend(fake.pop(None, []))
        checker_failure = results.get("__checker_failure__")
        if checker_failure:
            grade.notes.append(f"the checker failed on this submission's evidence: {checker_failure}")
        for question, points in self._points.items():
            result = results.get(question) or {"status": "not_graded", "message": "no result from the checker",
                                               "fingerprint_differences": [], "alias_bound": True, "problems": []}
            flags = list(per_question.get(question, [])) + list(fake.get(question, []))
            # a question's own entries ("q2 attributes") concern that question only; code changes concern all later checks
            differences = [difference for difference in result.get("fingerprint_differences") or []
                           if not re.match(r"q\d+ ", difference) or difference.startswith(f"{question} ")]
            if differences:
                shown = ", ".join(differences[:8]) + (" ..." if len(differences) > 8 else "")
                flags.append(f"tlkit or saving code was modified in the kernel before this check ({shown})")
            if not result.get("alias_bound", True):
                flags.append("the exercise name in the notebook no longer points to the real exercise module")
            verdict_shown = re.search(r"\bCorrect\b", displayed.get(question, "") or "")
            if verdict_shown and result.get("status") != "correct" and result.get("evidence"):
                flags.append("the notebook displayed 'Correct' but the grader's own check disagrees")
            status, message = result.get("status", "not_graded"), result.get("message", "")
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
