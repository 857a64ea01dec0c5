"""What a run left behind: the evidence the grader cells emitted, the decoy gradebook, errors and verdicts shown.

:class:`EvidenceIntake` reads the executed notebook after its sandbox has exited: it writes the
evidence of each question to a folder only the grader can write (validating
every file name and the total size), compares the kernel's code snapshots,
and collects what the run says about tampering and failures.
"""

from __future__ import annotations

import base64
import binascii
import json
import pathlib
import re
import shutil
from typing import TYPE_CHECKING

from tlkit.instructor import kernel_side, tamper
from tlkit.instructor.notebooks import cell_source

if TYPE_CHECKING:
    from tlkit.instructor.grading_setup import GradingSetup

__all__ = ["EvidenceIntake", "MAX_EVIDENCE_BYTES"]

_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$")
#: The most evidence (decoded bytes, all questions together) one submission may hand the grader.
MAX_EVIDENCE_BYTES = 512 * 1024 ** 2


class EvidenceIntake:
    """Read an executed submission: its evidence, its decoy gradebook, its errors and verdicts.

    Parameters
    ----------
    setup : GradingSetup
        Reads its ``points`` (the questions graded), ``manifest`` and ``cell_timeout``.
    """

    def __init__(self, setup: GradingSetup):
        self.setup = setup

    def extract_evidence(self, executed, folder: pathlib.Path, grader_cells: dict) -> tuple[pathlib.Path, dict]:
        """Write the evidence the grader cells emitted into ``folder/evidence``; return it and findings per question.

        Only the cells the grader inserted count, known by their position in
        the notebook it built (``grader_cells``: position -> (kind, question));
        nothing a submission wrote (cells, tags, metadata, outputs) is read.

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
        for position, (kind, question) in sorted(grader_cells.items()):
            cell = executed.cells[position]
            mime = kernel_side.BASELINE_MIME if kind == "baseline" else kernel_side.EVIDENCE_MIME
            payloads = [output.get("data", {}).get(mime) for output in cell.get("outputs", [])
                        if output.get("output_type") == "display_data" and mime in output.get("data", {})]
            if kind == "baseline":
                if len(payloads) == 1 and isinstance(payloads[0], dict) and isinstance(payloads[0].get("integrity"), dict):
                    baseline = kernel_side.snapshot_digests(payloads[0]["integrity"])
                    findings["baseline_missing"] = False
                elif len(payloads) > 1:
                    findings["flags"].setdefault(None, []).append(
                        "the grader's first cell showed more than one code snapshot: something else wrote into it")
                continue
            if question not in self.setup.points:
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
            current = kernel_side.snapshot_digests(payload.get("integrity")) if isinstance(
                payload.get("integrity"), dict) else None
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

    def inspect_decoy(self, rows: dict, executed_notebook, run) -> list[str]:
        """Flags from the decoy gradebook: quiz or grade rows, or more check records than check calls that ran."""
        flags = []
        rows = {name: value for name, value in rows.items() if isinstance(value, int)}
        if rows.get("unreadable"):
            flags.append("the gradebook given to the notebook was damaged")
        for table in ("quiz_answers", "grades"):
            if rows.get(table):
                flags.append(f"the notebook wrote {rows[table]} row(s) to the gradebook table {table}")
        alias = self.setup.manifest["exercise_alias"] or "ex"
        calls = 0
        if executed_notebook is not None:
            # only cells that actually ran count (a notebook stopped at a timeout ran only some)
            ran = set(executed_notebook.metadata.get("tlkit", {}).get("ran", []))
            pattern = re.compile(rf"\b{re.escape(alias)}\.q\d+\.check\s*\(")
            calls = sum(len(pattern.findall(cell_source(executed_notebook.cells[position])))
                        for position in ran if position not in run.grader_cells)
        if rows.get("checks", 0) > calls:
            flags.append(f"the gradebook received {rows['checks']} check records but the notebook has only "
                         f"{calls} check call(s): something else wrote to it")
        return flags

    def execution_notes(self, status: dict, executed_notebook, run) -> list[str]:
        """Notes for the feedback on how the run went: a dead kernel, a timeout, cells that raised or were interrupted."""
        notes = []
        cell = status.get("cell")
        where = "?"
        if isinstance(cell, int):
            student = run.student_cells.get(cell)
            locked = run.locked_cells.get(cell)
            where = (f"{student['index'] + 1}" if student else f"{locked['index'] + 1} (locked)" if locked
                     else "of the grader")
        if status["status"] == "kernel_died":
            notes.append(f"the kernel died while running cell {where}; later cells did not run")
        elif status["status"] == "timeout":
            notes.append(status.get("message") or "the notebook timed out")
        elif status["status"] != "completed":
            notes.append(f"the notebook could not be run: {status.get('message', '')}")
        if executed_notebook is not None:
            for position, student in sorted(run.student_cells.items()):
                cell = executed_notebook.cells[position]
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error" and student is not None:
                        name = output.get("ename", "")
                        if name == "KeyboardInterrupt":
                            notes.append(f"cell {student['index'] + 1} ran longer than {self.setup.cell_timeout:g} s "
                                         "and was interrupted")
                        elif name != "NotImplementedError":
                            notes.append(f"cell {student['index'] + 1} raised {str(name)[:60]}: "
                                         f"{_short(output.get('evalue', ''))}")
        return notes

    def executed_findings(self, executed_notebook, run) -> tuple[dict, dict, dict]:
        """Outputs imitating a verdict, hidden tests that failed, and what each check cell displayed."""
        fake, hidden_failures, displayed = {}, {}, {}
        if executed_notebook is None:
            return fake, hidden_failures, displayed
        check_cells = run.check_cells
        for position, cell in enumerate(executed_notebook.cells):
            student = run.student_cells.get(position)
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
                            hidden_failures[question] = f"{str(output.get('ename', ''))[:60]}: " \
                                                        f"{_short(output.get('evalue', ''))}"
        return fake, hidden_failures, displayed


def _short(text, limit: int = 60) -> str:
    """The start of an exception message, for feedback: one line, at most ``limit`` characters."""
    line = (str(text).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."
