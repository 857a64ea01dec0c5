"""The grading pipeline as a list of steps with declared inputs."""

from __future__ import annotations

import pytest

from tlkit.instructor import steps as steps_module
from tlkit.instructor.scoring import SubmissionGrade
from tlkit.instructor.steps import AUTOGRADE_STEPS, INITIAL_STATE, Step, check_steps, run_steps


def test_the_pipeline_is_one_list_whose_steps_get_what_they_need_from_earlier_steps():
    assert check_steps(AUTOGRADE_STEPS) == AUTOGRADE_STEPS
    assert [step.name for step in AUTOGRADE_STEPS] == [
        "ReadSubmission", "PrepareNotebook", "ExecuteNotebook", "ExtractEvidence", "StoreExecutedNotebook",
        "CheckEvidence", "CleanRunFolder", "InspectDecoy", "NoteExecution", "ScoreQuestions"]
    given = set(INITIAL_STATE)
    for step in AUTOGRADE_STEPS:
        assert set(step.needs) <= given, step
        given |= set(step.gives)
    assert all(name in steps_module.__all__ for name in (step.name for step in AUTOGRADE_STEPS))


def test_a_step_needing_what_no_earlier_step_gives_is_refused():
    with pytest.raises(ValueError, match="InspectDecoy needs results"):
        check_steps([step for step in AUTOGRADE_STEPS if step.name != "CheckEvidence"])


class _Record(Step):
    def __init__(self, log, name, needs=(), gives=(), concurrent=False, stop_for=()):
        self.log, self._name, self.needs, self.gives = log, name, needs, gives
        self.concurrent, self.stop_for = concurrent, stop_for

    @property
    def name(self):
        return self._name

    def run(self, grader, grade, **inputs):
        self.log.append((self._name, grade.student_id, tuple(sorted(inputs))))
        if grade.student_id in self.stop_for:
            return None
        return {name: f"{self._name}:{grade.student_id}" for name in self.gives}


def test_steps_run_in_order_and_a_stopped_submission_skips_the_rest():
    log = []
    pipeline = [_Record(log, "read", ("path",), ("data",), stop_for=("bob",)),
                _Record(log, "work", ("data",), ("result",), concurrent=True),
                _Record(log, "score", ("result",))]
    states = [(SubmissionGrade(student, "nb", f"{student}.ipynb"),
               {"student_id": student, "path": f"{student}.ipynb", "folder": None}) for student in ("ada", "bob", "cy")]
    run_steps(None, pipeline, states, workers=2)
    assert [entry for entry in log if entry[0] == "read"] == [("read", s, ("path",)) for s in ("ada", "bob", "cy")]
    assert sorted(entry[1] for entry in log if entry[0] == "work") == ["ada", "cy"]
    assert [entry for entry in log if entry[0] == "score"] == [("score", "ada", ("result",)),
                                                               ("score", "cy", ("result",))]
    assert states[0][1]["result"] == "work:ada" and "data" not in states[1][1]
