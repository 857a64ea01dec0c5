"""Grades: per question and per submission, and how the checker's result, the run and the flags make one.

A question scores its point only when its locked check cell displayed
*Correct* when it ran, the checker's own check of the evidence emitted right
after it passes, no hidden test failed, and nothing flagged it (a flag on the
whole submission zeroes every question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["QuestionGrade", "SubmissionGrade", "score_questions"]

_VERDICT = re.compile(r"^(Correct|Incorrect|Not attempted) \((q\d+)\)", re.MULTILINE)


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


def score_questions(grade: SubmissionGrade, points_by_question: dict, results: dict, per_question: dict, findings: dict,
                    run_findings: tuple[dict, dict, dict]) -> None:
    """Add one :class:`QuestionGrade` per question to ``grade``, and flag it where needed.

    Parameters
    ----------
    grade : SubmissionGrade
        The submission's grade; its ``flags`` and ``notes`` may grow, and its
        ``questions`` are appended in the order of ``points``.
    points_by_question : dict
        Question -> points it is worth.
    results : dict
        Question -> the checker's record (``status``, ``message``,
        ``fingerprint_differences``, ``alias_bound``, ``evidence``...), and
        ``"__checker_failure__"`` when the checker failed.
    per_question : dict
        Question -> flags found before the run (edited locked cells, tampering in its solution cell).
    findings : dict
        What :meth:`EvidenceIntake.extract_evidence` found: ``flags`` and ``problems`` per question.
    run_findings : tuple of dict
        What :meth:`EvidenceIntake.executed_findings` found: outputs imitating
        a verdict, failed hidden tests and the text each check cell displayed,
        per question.
    """
    fake, hidden_failures, displayed = run_findings
    grade.flags.extend(fake.pop(None, []))
    grade.flags.extend(findings["flags"].pop(None, []))
    checker_failure = results.get("__checker_failure__")
    if checker_failure:
        grade.notes.append(f"the checker failed on this submission's evidence: {checker_failure}")
    for question, points in points_by_question.items():
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
