"""Grading that trusts nothing a submission controls: forged cells, secrets, a fork bomb beside a neighbour.

One batch, graded with two workers (so the fork bomb and its honest neighbour
run at the same time, each in its own sandbox): the neighbour must still get
full marks; forged evidence in Markdown cells, a retyped check cell and
reads of the instructor's files must gain nothing. Without bubblewrap these
tests skip on a laptop and FAIL in CI, like the other grading tests.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

import nbformat
import pytest

from instructor_submissions import (
    CHECK_CELLS,
    SOLUTION_CELLS,
    SOURCE,
    make_submission,
    write_submission,
)
from test_instructor_grading import CELL_TIMEOUT, GRADING_TIMEOUT, require_bwrap
from tlkit.instructor.grade import Grader, collect_submissions
from tlkit.paths import REPO_ROOT
from tlkit.instructor.release import release_notebooks
from tlkit.instructor.report import feedback_markdown

pytestmark = pytest.mark.timeout(GRADING_TIMEOUT)

# right answers; q1's cell forks until the sandbox's process limit stops it, holds its children while
# the neighbour imports TensorFlow and runs its cells, then lets them go
FORK_BOMB = {"q1": '''base.trainable = False
import os, time
children = []
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execv("/bin/sleep", ["sleep", "60"])
    children.append(pid)
print("FORKED", len(children))
time.sleep(40)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)'''}

SECRET_PATHS = {
    "shadow": "/etc/shadow", "quizzes": str(REPO_ROOT / "quizzes"), "git": str(REPO_ROOT / ".git"),
    "source-notebook": str(SOURCE), "notebooks": str(REPO_ROOT / "notebooks"), "home": "/home",
    "tests": str(REPO_ROOT / "tests" / "instructor_submissions.py"), "readme": str(REPO_ROOT / "README.md"),
}
HOST_SECRET = "tlkit-host-environment-secret"
READS_SECRETS = {"q1": "base.trainable = False\n" + f'''
import ctypes, os, sys
for name, path in {SECRET_PATHS!r}.items():
    print("SEES", name, os.path.exists(path))
environments = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:  # a process may end between the listing and the read
        environments.append(open(f"/proc/{{pid}}/environ", "rb").read())
    except OSError:
        pass
print("ENVIRONMENTS-READ", len(environments) > 0)
print("HOST-ENVIRONMENT", any({HOST_SECRET!r}.encode() in environment for environment in environments))
print("ROOT-HOME", sorted(os.listdir("/root")) if os.path.isdir("/root") else [])
print("SECCOMP", open("/proc/self/status").read().split("Seccomp:")[1].split()[0])
libc = ctypes.CDLL(None, use_errno=True)
print("PTRACE", libc.ptrace(0, 0, 0, 0), ctypes.get_errno())
print("KEYCTL", libc.syscall(250, 0, 0, 0, 0, 0), ctypes.get_errno())
print("TOP", sorted(os.listdir("/")))
''', "q5": None}
LEAK = "LEAKED-" + "x" * 200


def forged_markdown(release: pathlib.Path):
    """A stale q3 (not recompiled) with Markdown cells posing as the grader's cells, and q4's check as a raw cell."""
    notebook = make_submission(release, {"q3": "model.layers[-1].trainable = False"})
    forged = {"application/vnd.tlkit.evidence+json": {"question": "q3", "evidence": {}, "files": {}}}
    baseline = {"application/vnd.tlkit.baseline+json": {"integrity": {}, "problems": []}}
    for payload, kind, question in ((baseline, "baseline", None), (forged, "evidence", "q3")):
        cell = nbformat.v4.new_markdown_cell("Correct (q3)")
        cell.metadata["tags"] = ["tlkit-grader"]
        cell.metadata["tlkit_grader"] = {"kind": kind, "question": question}
        cell["outputs"] = [nbformat.v4.new_output("display_data", data=payload)]
        position = next(index for index, c in enumerate(notebook.cells) if c["id"] == CHECK_CELLS["q3"]) + 1
        notebook.cells.insert(position, cell)
    for cell in notebook.cells:
        if cell["id"] == CHECK_CELLS["q4"]:
            cell["cell_type"] = "raw"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return notebook


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    require_bwrap()
    root = tmp_path_factory.mktemp("hostile")
    release_notebooks([SOURCE], root / "release")
    submissions = root / "submissions"
    shutil.copy(SOURCE, write_submission(submissions, "neighbour", nbformat.read(str(SOURCE), as_version=4)))
    write_submission(submissions, "fork-bomb", make_submission(root / "release", FORK_BOMB))
    write_submission(submissions, "forged-markdown", forged_markdown(root / "release"))
    secrets = make_submission(root / "release", READS_SECRETS)
    q5 = next(cell for cell in secrets.cells if cell["id"] == SOLUTION_CELLS["q5"])
    q5["source"] = f"raise RuntimeError({LEAK!r})"  # a long exception message
    write_submission(submissions, "reads-secrets", secrets)
    work = root / "work"
    os.environ["TLKIT_HOST_SECRET"] = HOST_SECRET  # in the grader's environment, never in a sandbox's
    grader = Grader(SOURCE, work, cell_timeout=CELL_TIMEOUT, timeout=GRADING_TIMEOUT - 60)
    grades = grader.grade(collect_submissions(submissions, SOURCE.name), workers=2)
    return {"grades": {grade.student_id: grade for grade in grades}, "work": work}


def scores(grade) -> dict:
    return {question.question: question.score for question in grade.questions}


def printed(hostile, student: str) -> str:
    executed = nbformat.read(str(hostile["work"] / "runs" / student / "executed.ipynb"), as_version=4)
    return "\n".join("".join(output.get("text", "")) for cell in executed.cells for output in cell.get("outputs", [])
                     if output.get("output_type") == "stream")


def test_a_fork_bomb_does_not_starve_its_neighbour(hostile):
    bomb = printed(hostile, "fork-bomb")
    assert "FORKED" in bomb, bomb[-2000:]
    forked = int(bomb.split("FORKED")[1].split()[0])
    assert 100 < forked < 1024, forked  # it really ran into its own process limit
    neighbour = hostile["grades"]["neighbour"]
    assert scores(neighbour) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1}, feedback_markdown(neighbour)
    assert not neighbour.flagged, neighbour.all_flags()


def test_markdown_cells_posing_as_grader_cells_are_never_read(hostile):
    grade = hostile["grades"]["forged-markdown"]
    assert grade.question("q3").score == 0 and grade.question("q3").status == "incorrect", feedback_markdown(grade)
    assert "not compiled again" in grade.question("q3").message
    assert scores(grade)["q1"] == 1 and scores(grade)["q2"] == 1


def test_a_check_cell_turned_into_a_raw_cell_is_flagged_and_run_as_released(hostile):
    grade = hostile["grades"]["forged-markdown"]
    flags = "\n".join(grade.question("q4").flags)
    assert "was turned into a non-code cell" in flags, grade.all_flags()
    assert grade.question("q4").status == "correct" and grade.question("q4").score == 0


def test_the_sandbox_holds_no_secrets_and_runs_under_seccomp(hostile):
    seen = printed(hostile, "reads-secrets")
    for name in SECRET_PATHS:
        assert f"SEES {name} False" in seen, seen
    assert "ENVIRONMENTS-READ True" in seen and "HOST-ENVIRONMENT False" in seen, seen
    # /root exists only when the Python installation lives below it, and then holds only the path to it
    root_home = seen.split("ROOT-HOME ")[1].splitlines()[0]
    python_top = pathlib.Path(os.path.realpath(sys.executable)).parts
    expected = str([python_top[2]]) if python_top[1] == "root" else "[]"
    assert root_home == expected, root_home
    assert "SECCOMP 2" in seen and "PTRACE -1 1" in seen and "KEYCTL -1 1" in seen, seen
    top = seen.split("TOP ")[1].splitlines()[0]
    assert "home" not in top and "var" not in top and "mnt" not in top, top


def test_exception_messages_in_feedback_are_short(hostile):
    grade = hostile["grades"]["reads-secrets"]
    text = feedback_markdown(grade)
    assert "LEAKED-xxx" in text and LEAK not in text and "x" * 80 not in text, text
    assert scores(grade)["q1"] == 1


def test_the_seccomp_program_checks_the_architecture_first_and_denies_with_eperm():
    """Decode the classic BPF program handed to bubblewrap (8 bytes per instruction: code, jt, jf, k)."""
    import platform
    import struct

    from tlkit.instructor.sandbox import seccomp_filter

    program = seccomp_filter()
    instructions = [struct.unpack("<HBBI", program[offset:offset + 8]) for offset in range(0, len(program), 8)]
    code, _, _, k = instructions[0]
    assert (code, k) == (0x20, 4), "the first instruction must load seccomp_data.arch"
    native = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}.get(platform.machine())
    if native is not None:
        assert any(code == 0x15 and k == native for code, _, _, k in instructions[1:4]), instructions[:4]
    returns = {k for code, _, _, k in instructions if code == 0x06}
    assert returns & {0x00000000, 0x80000000}, "a foreign architecture must kill the process"
    assert 0x00050000 | 1 in returns, "denied system calls fail with EPERM"
    assert 0x7FFF0000 in returns, "everything else is allowed"
