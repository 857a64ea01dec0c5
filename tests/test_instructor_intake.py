"""Intake that follows no links: hostile entries in a submissions folder are refused for their student only.

None of these runs a notebook (a refused submission never reaches a sandbox),
so the file is fast; ``python -m tlkit grade`` runs for real on the folder.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import sysconfig

import nbformat
import pytest

from instructor_submissions import SOURCE, write_submission
from tlkit.errors import CorruptFileError
from tlkit.instructor.cli import main
from tlkit.instructor.grade import Grader
from tlkit.instructor.intake import RefusedSubmission, Submission, collect_submissions, read_submission
from tlkit.paths import REPO_ROOT

SECRET = "tlkit-secret-never-in-feedback"
STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture()
def hostile_folder(tmp_path, monkeypatch):
    """A submissions folder with one honest notebook and one hostile entry per attack."""
    secret = tmp_path / "shadow"
    secret.write_text(f"root:{SECRET}:19000:0:99999:7:::\n", encoding="utf-8")
    secret.chmod(0o600)
    monkeypatch.setenv("TLKIT_TEST_SECRET", SECRET)
    folder = tmp_path / "submissions"
    honest = write_submission(folder, "honest", nbformat.read(str(SOURCE), as_version=4))
    for student, target in {"link-to-source": SOURCE, "link-to-shadow": secret,
                            "link-to-environ": pathlib.Path("/proc/self/environ"),
                            "link-to-json": STDLIB / "json" / "__init__.py"}.items():
        (folder / student).mkdir()
        (folder / student / SOURCE.name).symlink_to(target)
    (folder / "folder-link").symlink_to(STDLIB)  # a whole student folder that is a link
    (folder / "fifo").mkdir()
    os.mkfifo(folder / "fifo" / SOURCE.name)
    (folder / "huge").mkdir()
    with open(folder / "huge" / SOURCE.name, "wb") as handle:
        handle.truncate(65 * 1024 ** 2)  # sparse: costs no disk
    (folder / "nv-victim").mkdir()
    (folder / "nv-victim" / SOURCE.name).write_bytes(honest.read_bytes())
    (folder / "nv-victim.").mkdir()
    (folder / "nv-victim." / SOURCE.name).write_bytes(honest.read_bytes())
    return folder


def test_collect_refuses_linked_folders_and_colliding_ids_only(hostile_folder):
    found = collect_submissions(hostile_folder, SOURCE.name)
    assert isinstance(found["honest"], Submission)
    assert isinstance(found["folder-link"], RefusedSubmission) and "symbolic link" in found["folder-link"].reason
    assert isinstance(found["nv-victim"], RefusedSubmission)
    assert "nv-victim, nv-victim." in found["nv-victim"].reason and "same student id" in found["nv-victim"].reason
    assert list(found) == sorted(found)


@pytest.mark.parametrize("student, words", [
    ("link-to-source", "symbolic link"), ("link-to-shadow", "symbolic link"), ("link-to-environ", "symbolic link"),
    ("link-to-json", "symbolic link"), ("fifo", "FIFO"), ("huge", "more than the 64 MB"),
])
def test_each_hostile_file_is_refused_with_its_reason(hostile_folder, student, words):
    submission = collect_submissions(hostile_folder, SOURCE.name)[student]
    with pytest.raises(CorruptFileError, match=words) as caught:
        read_submission(submission)
    assert SECRET not in str(caught.value)


def test_a_device_is_refused(tmp_path):
    folder = tmp_path / "submissions" / "device"
    folder.mkdir(parents=True)
    try:
        os.mknod(folder / SOURCE.name, 0o600 | 0o020000, os.makedev(1, 3))  # a character device (/dev/null's)
    except PermissionError:
        pytest.skip("creating a device node needs root")
    with pytest.raises(CorruptFileError, match="a device"):
        read_submission(collect_submissions(tmp_path / "submissions", SOURCE.name)["device"])


@pytest.mark.filterwarnings("ignore:grading WITHOUT a sandbox")
def test_no_sandbox_mount_comes_from_a_students_link(hostile_folder, tmp_path):
    grader = Grader(SOURCE, tmp_path / "work", sandbox=False)
    hidden = grader.processes.hide_paths(collect_submissions(hostile_folder, SOURCE.name))
    clean = tmp_path / "clean" / "submissions"
    write_submission(clean, "honest", nbformat.read(str(SOURCE), as_version=4))
    hidden_for_clean = grader.processes.hide_paths(collect_submissions(clean, SOURCE.name))
    # what the sandboxes do not see is the same whatever links the students planted
    assert [path for path in hidden if path != str(hostile_folder)] == \
        [path for path in hidden_for_clean if path != str(clean)]
    for path in hidden:
        assert not pathlib.Path(path).is_relative_to(STDLIB) and not STDLIB.is_relative_to(path), hidden
        assert not str(path).startswith(str(hostile_folder) + "/"), f"a path below the submissions folder: {path}"


def test_the_batch_goes_on_and_the_feedback_says_why_without_leaking(hostile_folder, tmp_path):
    for name in ("honest",):  # only the hostile entries: nothing needs a kernel
        for entry in (hostile_folder / name).iterdir():
            entry.unlink()
        (hostile_folder / name).rmdir()
    out = tmp_path / "out"
    code = main(["grade", str(SOURCE), "--submissions", str(hostile_folder), "--out", str(out),
                 "--gradebook", str(tmp_path / "book.sqlite3")])
    assert code == 0
    with open(out / "grades-tiny_course.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"link-to-source", "link-to-shadow", "link-to-environ", "link-to-json", "folder-link", "fifo",
                         "huge", "nv-victim"}
    for student, row in rows.items():
        assert row["total"] == "0" and "refused" in row["problem"] or "same student id" in row["problem"], row
    everything = "".join(path.read_text(encoding="utf-8", errors="replace") for path in out.rglob("*") if path.is_file())
    everything += (tmp_path / "book.sqlite3").read_bytes().decode("utf-8", "replace")
    assert SECRET not in everything and "nbgrader" not in everything
    assert "### BEGIN SOLUTION" not in everything
    feedback = (out / "feedback" / "link-to-shadow" / "tiny_course-feedback.md").read_text(encoding="utf-8")
    assert "symbolic link" in feedback
    assert json.dumps(SECRET) not in feedback
