"""Signs that a submission tried to fake its grade, found in its code and outputs.

These findings only *flag* an attempt (and void the part concerned); scores
never come from here. Each finding names the cell and the reason, so the
instructor can review it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Finding", "scan_code", "scan_outputs", "output_text"]

_CODE_PATTERNS = (
    (re.compile(r"\.\s*(check|check_value|_evaluate|_record|hint|solution)\s*=(?!=)"), "replaces a method of a tlkit check"),
    (re.compile(r"\bsys\s*\.\s*modules\b"), "changes sys.modules (could swap tlkit modules)"),
    (re.compile(r"\b(core|predicates|compile_state|Question|CheckResult|Exercise)\s*\.\s*\w+\s*=(?!=)"),
     "patches tlkit's exercise engine"),
    (re.compile(r"\bsetattr\s*\(\s*(ex|core|predicates|compile_state|Question|tlkit)\b"), "patches tlkit with setattr"),
    (re.compile(r"\b(Gradebook|record_check|record_grade|record_quiz_answer)\b|TLKIT_GRADEBOOK|\bsqlite3\b"),
     "writes to or opens the gradebook"),
    (re.compile(r"\b(save_model|save|savez|dump|load_model)\s*=(?!=)"), "replaces a saving function"),
    (re.compile(r"\b(print|display|HTML|Markdown)\s*\([^\n]*\bCorrect\b"), "prints a fake check result"),
    (re.compile(r"\b(exec|eval)\s*\("), "runs code built at run time"),
    (re.compile(r"\bbuiltins\b"), "changes Python's builtins"),
)


_GRADER_MIME = re.compile(r"^application/vnd\.tlkit\.")


@dataclass(frozen=True)
class Finding:
    """One suspicious thing in one cell."""

    cell: int
    reason: str
    excerpt: str

    def describe(self) -> str:
        return f"cell {self.cell + 1}: {self.reason} (`{self.excerpt}`)"


def scan_code(cell_index: int, source: str) -> list[Finding]:
    """Return the suspicious lines of a student-editable cell."""
    findings = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for pattern, reason in _CODE_PATTERNS:
            if pattern.search(stripped):
                findings.append(Finding(cell_index, reason, stripped[:80]))
    return findings


def output_text(cell) -> str:
    """All the text a cell displayed (streams, results, displays, errors)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
        elif output.get("output_type") in ("execute_result", "display_data"):
            for mime, value in output.get("data", {}).items():
                if isinstance(value, (str, list)) and not _GRADER_MIME.match(mime):
                    parts.append("".join(map(str, value)) if isinstance(value, list) else value)
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
    return "\n".join(parts)


_FAKE_VERDICT = re.compile(r"\bCorrect\b")


def scan_outputs(cell_index: int, cell) -> list[Finding]:
    """Flag a student cell whose output imitates a check's verdict or the grader's own evidence."""
    findings = []
    for output in cell.get("outputs", []):
        forged = [mime for mime in output.get("data", {}) if _GRADER_MIME.match(mime)]
        if forged:
            findings.append(Finding(cell_index, "displays output in the grader's evidence format", forged[0]))
    text = output_text(cell)
    match = _FAKE_VERDICT.search(text)
    if match:
        line = next((l for l in text.splitlines() if "Correct" in l), "Correct")
        findings.append(Finding(cell_index, "displays 'Correct' outside a check cell", line.strip()[:80]))
    return findings
