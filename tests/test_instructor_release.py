"""Release, markers, validation, manifest, sealed quizzes and the command line (no kernels here)."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tlkit.errors import CorruptFileError, MissingFileError
from tlkit.instructor.markers import MarkerError, cell_roles, find_exercise_binding, remove_hidden_tests, replace_solutions
from tlkit.instructor.manifest import build_manifest, compare_locked_cells, student_version
from tlkit.instructor.notebooks import read_notebook
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.validate import validate_notebook
from tlkit.quiz import ChoiceQuestion, NumericQuestion, TextQuestion, resolve_quiz
from tlkit.quiz.sealed import SealedQuizError, seal_text, unseal_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "fixtures" / "assignment" / "tiny_course.ipynb"
SETUP = "from tlkit.exercises import nb01_feature_extraction as ex\nex.bind(globals())"


def notebook_of(*sources):
    return new_notebook(cells=[new_code_cell(source) for source in sources])


# -- markers --------------------------------------------------------------------------------------
def test_solutions_become_placeholders_with_their_indentation():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nx = f()"
    assert replace_solutions(source) == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\nx = f()"


def test_hidden_tests_disappear_and_broken_markers_raise():
    assert remove_hidden_tests("a = 1\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS") == "a = 1"
    with pytest.raises(MarkerError, match="never closed"):
        replace_solutions("### BEGIN SOLUTION\nx = 1")


def test_roles_are_inferred_from_markers_and_check_calls():
    notebook = notebook_of(SETUP, "# q1: freeze\n### BEGIN SOLUTION\nbase.trainable = False\n### END SOLUTION",
                           "ex.q1.check()", "### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS", "x = 1")
    roles = [(role.role, role.question) for role in cell_roles(notebook)]
    assert roles == [("setup", None), ("solution", "q1"), ("check", "q1"), ("hidden-tests", None), (None, None)]
    assert find_exercise_binding(SETUP) == ("tlkit.exercises.nb01_feature_extraction", "ex")
    assert find_exercise_binding('ex = tlkit.exercises.bind(globals(), "nb02_freezing")') == (
        "tlkit.exercises.nb02_freezing", "ex")


def test_metadata_roles_win_over_inference():
    notebook = notebook_of(SETUP, "### BEGIN SOLUTION\nk = 2\n### END SOLUTION", "ex.q2.check()")
    notebook.cells[1].metadata["tlkit"] = {"role": "solution", "question": "q2"}
    notebook.cells[2].metadata["tlkit"] = {"role": "locked"}
    roles = cell_roles(notebook)
    assert (roles[1].role, roles[1].question, roles[1].from_metadata) == ("solution", "q2", True)
    assert roles[2].role == "locked" and roles[2].locked


# -- validate -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cells, expected",
    [
        ((SETUP, "### BEGIN SOLUTION\nx = 1", "ex.q1.check()"), ["cell 2, line 1: BEGIN SOLUTION is never closed"]),
        ((SETUP, "x = 1\n### END SOLUTION", "ex.q1.check()"), ["cell 2, line 2: END SOLUTION without a BEGIN"]),
        ((SETUP, "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", "ex.q1.check()"),
         ["cell 2, line 2: BEGIN HIDDEN TESTS inside the BEGIN SOLUTION of line 1"]),
        ((SETUP, "### BEGIN SOLUTION\nx = 1\n### END HIDDEN TESTS", "ex.q1.check()"),
         ["cell 2, line 3: END HIDDEN TESTS closes the BEGIN SOLUTION"]),
        ((SETUP, "# q3: do it\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "ex.q1.check()"),
         ["cell 2, line 2: the solution for q3 has no check after it"]),
        ((SETUP, "ex.q1.check()", "# q1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
         ["cell 3, line 2: the solution for q1 has no check after it"]),
        (("# q1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "ex.q1.check()"),
         ["no setup cell binding exercises"]),
    ],
)
def test_validate_reports_each_problem_with_cell_and_line(cells, expected):
    problems = [str(problem) for problem in validate_notebook(notebook_of(*cells))]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert start in problem, (start, problems)


def test_validate_accepts_the_fixture_and_the_command_line_exit_codes(tmp_path, capsys):
    assert validate_notebook(read_notebook(SOURCE)) == []
    broken = tmp_path / "broken.ipynb"
    nbformat.write(notebook_of(SETUP, "### BEGIN SOLUTION\nx = 1", "ex.q1.check()"), str(broken))
    assert cli("validate", str(SOURCE)) == 0 and "OK" in capsys.readouterr().out
    assert cli("validate", str(broken)) == 1 and "cell 2, line 1" in capsys.readouterr().out


def test_unreadable_notebooks_raise_tlkit_errors(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        read_notebook(tmp_path / "nope.ipynb")
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="cannot be read"):
        read_notebook(tmp_path / "bad.ipynb")


# -- release --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    manifest = release_notebooks([SOURCE], folder)
    return folder, manifest


def test_release_strips_solutions_hidden_tests_and_outputs(release):
    folder, _ = release
    released = read_notebook(folder / SOURCE.name)
    text = json.dumps(released)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "not base.trainable_weights" not in text
    assert "Adam(1e-5)" not in text  # the fine-tuning solution
    assert text.count("raise NotImplementedError()") == 5
    assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None
               for cell in released.cells if cell.cell_type == "code")
    assert [cell.id for cell in released.cells] == [cell.id for cell in read_notebook(SOURCE).cells]


def test_manifest_locks_setup_and_check_cells_with_checksums(release):
    folder, manifest = release
    entry = manifest["notebooks"][SOURCE.name]
    on_disk = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert entry["exercise_module"] == "tiny_course_exercises" and entry["questions"] == ["q1", "q2", "q3", "q4", "q5"]
    roles = [(cell["role"], cell["question"]) for cell in entry["locked_cells"]]
    assert roles[0] == ("setup", None) and ("check", "q3") in roles and roles[-1] == ("locked", None)
    assert all(re.fullmatch(r"[0-9a-f]{64}", cell["sha256"]) for cell in entry["locked_cells"])
    released = read_notebook(folder / SOURCE.name)
    assert compare_locked_cells(entry, released) == []
    assert compare_locked_cells(entry, read_notebook(SOURCE)) == []  # hidden tests do not count as an edit
    released.cells[4].source = "print('Correct')"
    del released.cells[7]
    changes = [change.describe() for change in compare_locked_cells(entry, released)]
    assert changes == ["locked check cell 5 (q1) was edited (checksum mismatch)",
                       "locked check cell 8 (q2) was deleted or its id changed"]


def test_release_is_deterministic_apart_from_quiz_sealing(tmp_path):
    source = read_notebook(SOURCE)
    assert build_manifest(source, SOURCE.name) == build_manifest(read_notebook(SOURCE), SOURCE.name)
    assert student_version(source) == student_version(read_notebook(SOURCE))


# -- sealed quizzes -------------------------------------------------------------------------------
def _answer_key_texts(quiz) -> list[str]:
    texts = []
    for question in quiz.questions:
        if isinstance(question, ChoiceQuestion):
            for option in question.options:
                if option.correct:
                    texts += [option.text, option.explanation]
        elif isinstance(question, (NumericQuestion, TextQuestion)):
            texts.append(question.explanation_correct)  # accepted answers are short code phrases, left out
    return [" ".join(text.split()) for text in texts if len(" ".join(text.split())) >= 12]


def test_sealed_quizzes_load_and_no_answer_is_in_plain_text(release, monkeypatch):
    folder, _ = release
    sealed = folder / "quizzes" / "01_feature_extraction.tlkq"
    assert sealed.is_file()
    quiz = resolve_quiz("01_feature_extraction", folder=folder / "quizzes")
    assert quiz == resolve_quiz("01_feature_extraction")  # the same questions as the YAML source
    monkeypatch.chdir(folder)  # a student's notebook beside quizzes/ finds it by id too
    monkeypatch.setattr("tlkit.paths.QUIZZES_DIR", folder / "no-such-folder")
    assert resolve_quiz("01_feature_extraction").path.suffix == ".tlkq"
    secrets = _answer_key_texts(quiz)
    assert len(secrets) >= 6
    for path in folder.rglob("*"):
        if path.is_file():
            content = " ".join(path.read_bytes().decode("utf-8", "replace").split())
            for secret in secrets:
                assert secret[:40] not in content, (path.name, secret)


def test_sealing_round_trips_and_detects_damage():
    sealed = seal_text("id: x\ntitle: ünïcode\n")
    assert unseal_text(sealed) == "id: x\ntitle: ünïcode\n"
    assert "title" not in sealed
    with pytest.raises(SealedQuizError, match="not a sealed"):
        unseal_text("id: x")
    damaged = sealed[:-10] + ("A" if sealed[-10] != "A" else "B") + sealed[-9:]
    with pytest.raises(SealedQuizError):
        unseal_text(damaged)


# -- command line ---------------------------------------------------------------------------------
def cli(*arguments) -> int:
    from tlkit.instructor.cli import main

    return main(list(arguments))


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "tlkit", "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0
    for command in ("release", "grade", "gradebook export", "validate"):
        assert command in result.stdout


@pytest.mark.parametrize("command, expected", [
    (("release", "--help"), "--to"),
    (("grade", "--help"), "--cell-timeout"),
    (("validate", "--help"), "exit 1 on problems"),
    (("gradebook", "export", "--help"), "--kind"),
    (("gradebook", "--help"), "export"),
])
def test_each_subcommand_has_help(command, expected, capsys):
    from tlkit.instructor.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(list(command))
    assert stopped.value.code == 0
    assert expected in capsys.readouterr().out


def test_release_and_export_from_the_command_line(tmp_path, capsys):
    assert cli("release", str(SOURCE), "--to", str(tmp_path / "out")) == 0
    assert "5 question(s)" in capsys.readouterr().out and (tmp_path / "out" / SOURCE.name).is_file()
    from tlkit.gradebook import Gradebook

    book = Gradebook(tmp_path / "book.sqlite3")
    book.record_grade("ada", "tiny_course", "q1", 1, 1, "Well done.")
    assert cli("gradebook", "export", "--kind", "grades", "--out", str(tmp_path / "g.csv"),
               "--gradebook", str(book.path)) == 0
    assert "ada,tiny_course,q1,1.0,1.0,Well done.,false" in (tmp_path / "g.csv").read_text(encoding="utf-8")
    assert cli("release", str(tmp_path / "none.ipynb"), "--to", str(tmp_path / "x")) == 1
    assert "does not exist" in capsys.readouterr().err
