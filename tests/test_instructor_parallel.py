"""Grading with several workers on one machine and in shards across machines (issue 15).

One small batch (four students, two of them with a notebook to run: full
marks, and a tampering attempt that scores 4/5 with a flag; plus a malformed
and a missing submission) is graded by ``python -m tlkit grade`` three ways: one worker, two
workers, and three shards in three processes at once. Every comparison test
reads those module-scoped results. Without bubblewrap these tests skip on a
laptop and FAIL in CI, like the other grading tests.
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

from instructor_submissions import SOURCE, TAMPERS, make_submission, write_submission
from test_instructor_grading import CELL_TIMEOUT, GRADING_TIMEOUT, require_bwrap
from tlkit.gradebook import Gradebook
from tlkit.instructor import parallel
from tlkit.instructor.cli import main
from tlkit.instructor.grade import Grader
from tlkit.paths import REPO_ROOT
from tlkit.instructor.merge import MergeError, merge_csvs, merge_gradebooks
from tlkit.instructor.parallel import Shard, ShardError, WorkerMemoryError, parse_shard, select_shard
from tlkit.instructor.release import release_notebooks

pytestmark = pytest.mark.timeout(GRADING_TIMEOUT)

STUDENTS = ["absent", "instructor", "malformed", "tamper-prints-correct"]
SHARDS = 3


def grade_command(root: pathlib.Path, out: str, *extra: str) -> list[str]:
    return ["grade", str(SOURCE), "--submissions", str(root / "submissions"), "--out", str(root / out),
            "--cell-timeout", str(CELL_TIMEOUT), "--timeout", str(GRADING_TIMEOUT // 3), *extra]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    require_bwrap()
    root = tmp_path_factory.mktemp("parallel")
    release_notebooks([SOURCE], root / "release")
    submissions = root / "submissions"
    shutil.copy(SOURCE, write_submission(submissions, "instructor", nbformat.read(str(SOURCE), as_version=4)))
    write_submission(submissions, "tamper-prints-correct",
                     make_submission(root / "release", TAMPERS["prints-correct"][0]))
    (submissions / "malformed").mkdir()
    (submissions / "malformed" / SOURCE.name).write_text('{"cells": [', encoding="utf-8")
    (submissions / "absent").mkdir()
    seconds = {}
    for workers in (1, 2):
        started = time.perf_counter()
        code = main(grade_command(root, f"workers-{workers}", "--gradebook", str(root / f"workers-{workers}.sqlite3"),
                                  "--workers", str(workers)))
        seconds[f"workers-{workers}"] = time.perf_counter() - started
        assert code == 0
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    started = time.perf_counter()
    shards = [subprocess.Popen([sys.executable, "-m", "tlkit", *grade_command(
        root, f"shard-{index}", "--gradebook", str(root / f"shard-{index}.sqlite3"), "--shard", f"{index}/{SHARDS}")],
        cwd=str(REPO_ROOT), env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for index in range(SHARDS)]
    outputs = [process.communicate(timeout=GRADING_TIMEOUT)[0].decode("utf-8", "replace") for process in shards]
    seconds["shards"] = time.perf_counter() - started
    for process, output in zip(shards, outputs):
        assert process.returncode == 0, output
    print(f"grading times: {json.dumps({name: round(value, 1) for name, value in seconds.items()})}")
    return {"root": root, "outputs": outputs}


def grade_rows(path: pathlib.Path) -> list[tuple]:
    """The gradebook's grades in the order they were stored, without record ids and timestamps."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT student_id, assignment, question, score, max_score, message, flagged, flags "
                                  "FROM grades ORDER BY row_number").fetchall()


def csv_rows(path: pathlib.Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def files_of(folder: pathlib.Path) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_two_workers_grade_exactly_like_one(batch):
    root = batch["root"]
    one, two = grade_rows(root / "workers-1.sqlite3"), grade_rows(root / "workers-2.sqlite3")
    assert len(one) == len(STUDENTS) * 5 and one == two
    assert [row[0] for row in one] == sorted(row[0] for row in one)  # sorted by student, not by completion
    scores = {}
    for row in one:
        scores[row[0]] = scores.get(row[0], 0) + row[3]
    assert scores == {"absent": 0, "instructor": 5, "malformed": 0, "tamper-prints-correct": 4}
    assert any(row[6] for row in one if row[0] == "tamper-prints-correct")  # flagged
    csv_name = "grades-tiny_course.csv"
    assert (root / "workers-1" / csv_name).read_bytes() == (root / "workers-2" / csv_name).read_bytes()
    assert files_of(root / "workers-1" / "feedback") == files_of(root / "workers-2" / "feedback")
    assert len(files_of(root / "workers-1" / "feedback")) == len(STUDENTS)
    runs = [Gradebook(root / f"workers-{n}.sqlite3").grading_runs() for n in (1, 2)]
    for recorded in runs:
        assert len(recorded) == 1 and (recorded[0]["shard_index"], recorded[0]["shard_count"]) == (0, 1)
        assert recorded[0]["roster"] == STUDENTS == recorded[0]["students"]
    assert runs[0][0]["manifest_sha256"] == runs[1][0]["manifest_sha256"]


def test_three_shards_in_three_processes_merge_into_the_single_run(batch, tmp_path):
    root = batch["root"]
    graded = [set(Gradebook(root / f"shard-{index}.sqlite3").grading_runs()[0]["students"]) for index in range(SHARDS)]
    assert graded == [set(select_shard(STUDENTS, Shard(index, SHARDS))) for index in range(SHARDS)]
    assert graded == [{"absent", "tamper-prints-correct"}, {"instructor"}, {"malformed"}]
    merged = tmp_path / "merged.sqlite3"
    assert main(["gradebook", "merge", *[str(root / f"shard-{i}.sqlite3") for i in range(SHARDS)],
                 "--out", str(merged)]) == 0
    assert grade_rows(merged) == grade_rows(root / "workers-1.sqlite3")
    runs = Gradebook(merged).grading_runs()
    assert sorted((run["shard_index"], run["shard_count"]) for run in runs) == [(0, 3), (1, 3), (2, 3)]
    assert not merged.with_name(merged.name + "-wal").exists()
    merged_csv = tmp_path / "merged.csv"
    assert main(["gradebook", "merge", *[str(root / f"shard-{i}" / "grades-tiny_course.csv") for i in range(SHARDS)],
                 "--out", str(merged_csv)]) == 0
    single = csv_rows(root / "workers-1" / "grades-tiny_course.csv")
    combined = csv_rows(merged_csv)
    assert [row["student_id"] for row in combined] == STUDENTS
    assert [dict(row, shard="") for row in combined] == [dict(row, shard="") for row in single]
    assert {row["shard"] for row in single} == {"0/1"} and {row["shard"] for row in combined} == {"0/3", "1/3", "2/3"}
    feedback = {}
    for index in range(SHARDS):
        feedback.update(files_of(root / f"shard-{index}" / "feedback"))
    assert feedback == files_of(root / "workers-1" / "feedback")


def test_the_merge_refuses_missing_overlapping_and_mismatched_shards(batch, tmp_path):
    root = batch["root"]
    books = [root / f"shard-{index}.sqlite3" for index in range(SHARDS)]
    with pytest.raises(MergeError, match=r"missing shard\(s\) 2/3 of 3: 1 student\(s\) not graded \(malformed\)"):
        merge_gradebooks(books[:2], tmp_path / "a.sqlite3")
    copy = tmp_path / "copy-of-shard-0.sqlite3"
    shutil.copy(books[0], copy)
    with pytest.raises(MergeError, match=r"shard 0/3 appears twice .*overlapping"):
        merge_gradebooks(books + [copy], tmp_path / "b.sqlite3")
    with pytest.raises(MergeError, match="given twice"):
        merge_gradebooks(books + [books[0]], tmp_path / "b.sqlite3")
    whole = root / "workers-1.sqlite3"
    with pytest.raises(MergeError, match="different numbers of shards"):
        merge_gradebooks(books + [whole], tmp_path / "c.sqlite3")
    other = tmp_path / "other-manifest.sqlite3"
    shutil.copy(books[1], other)
    with sqlite3.connect(other) as connection:
        connection.execute("UPDATE grading_runs SET manifest_sha256 = 'f00d' || substr(manifest_sha256, 5)")
    with pytest.raises(MergeError, match="different manifests"):
        merge_gradebooks([books[0], other, books[2]], tmp_path / "d.sqlite3")
    assert not list(tmp_path.glob("?.sqlite3")) and not list(tmp_path.glob(".*partial*"))
    csvs = [root / f"shard-{index}" / "grades-tiny_course.csv" for index in range(SHARDS)]
    with pytest.raises(MergeError, match=r"missing shard\(s\) 1/3"):
        merge_csvs([csvs[0], csvs[2]], tmp_path / "e.csv")
    with pytest.raises(MergeError, match="different numbers of shards"):
        merge_csvs(csvs + [root / "workers-1" / "grades-tiny_course.csv"], tmp_path / "f.csv")
    shutil.copy(csvs[0], tmp_path / "copy-of-shard-0.csv")
    with pytest.raises(MergeError, match=r"shard 0/3 appears twice .*overlapping"):
        merge_csvs(csvs + [tmp_path / "copy-of-shard-0.csv"], tmp_path / "g.csv")
    target = tmp_path / "exists.sqlite3"
    target.write_bytes(b"")
    with pytest.raises(MergeError, match="already exists"):
        merge_gradebooks(books, target)


def test_a_shard_refuses_a_gradebook_that_is_not_its_own(batch, capsys):
    root = batch["root"]
    code = main(grade_command(root, "again", "--gradebook", str(root / "workers-1.sqlite3"), "--shard", "0/3"))
    assert code == 1 and "give each shard a gradebook of its own" in capsys.readouterr().err
    assert main(grade_command(root, "again", "--shard", "0/3")) == 1
    assert "--shard needs --gradebook" in capsys.readouterr().err


def test_concurrent_sandboxes_cannot_see_each_others_folders(tmp_path):
    """Two sandboxes that run at the same time: each looks for the other's files while both exist."""
    require_bwrap()
    work = tmp_path / "work"
    grader = Grader(SOURCE, work, cell_timeout=60, timeout=GRADING_TIMEOUT // 3)
    students = ("left", "right")
    grader.processes.hidden = grader.processes.hide_paths({student: tmp_path / "submissions" / student for student in students})
    grader.processes.threads = parallel.threads_per_kernel(2)

    def notebook(me: str, other: str):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"""
import os, time
open("mine-{me}.txt", "w").write("{me}")
other = {str(work / "runs" / other / "box" / "work" / f"mine-{other}.txt")!r}
seen, started = [], time.time()
while time.time() - started < 10:
    seen.append(os.path.exists(other) or "{other}" in os.listdir({str(work / "runs")!r}))
    time.sleep(0.2)
print("SEEN", any(seen), "CHECKS", len(seen), "START", started, "END", time.time())
print("THREADS", os.environ.get("TF_NUM_INTRAOP_THREADS"), os.environ.get("OMP_NUM_THREADS"))
print("RUNS", os.listdir({str(work / "runs")!r}))""")])

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {student: pool.submit(grader.processes.run, notebook(student, other), work / "runs" / student, student)
                   for student, other in zip(students, reversed(students))}
        results = {student: future.result() for student, future in futures.items()}
    spans = {}
    for student, (status, executed) in results.items():
        assert status["status"] == "completed", status
        text = "".join(output.get("text", "") for output in executed.cells[0].outputs)
        words = text.split()
        assert words[words.index("SEEN") + 1] == "False", text
        assert f"THREADS {parallel.threads_per_kernel(2)} {parallel.threads_per_kernel(2)}" in text, text
        # its own folder is the only thing it sees under runs/: its own fresh view, nobody else's
        assert "RUNS ['" + student + "']" in text, text
        spans[student] = (float(words[words.index("START") + 1]), float(words[words.index("END") + 1]))
        assert (work / "runs" / student / "box" / "work" / f"mine-{student}.txt").is_file()
    (left_start, left_end), (right_start, right_end) = spans["left"], spans["right"]
    assert max(left_start, right_start) < min(left_end, right_end), "the two sandboxes did not overlap"


@pytest.mark.parametrize("text, expected", [("0/3", Shard(0, 3)), (" 2 / 3 ", Shard(2, 3)), ("0/1", Shard(0, 1))])
def test_shard_specs_are_read(text, expected):
    assert parse_shard(text) == expected and str(expected) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("text", ["3/3", "1", "-1/2", "a/b", "0/0", "1/3/4"])
def test_bad_shard_specs_are_refused(text):
    with pytest.raises(ShardError):
        parse_shard(text)


def test_shards_partition_the_sorted_roster_round_robin():
    roster = [f"s{number:03d}" for number in range(100)][::-1]
    slices = [select_shard(roster, Shard(index, 7)) for index in range(7)]
    assert sorted(student for part in slices for student in part) == sorted(roster)
    assert {len(part) for part in slices} == {14, 15}
    assert slices[0][:2] == ["s000", "s007"] and select_shard(roster, Shard(0, 1)) == sorted(roster)


def test_too_many_workers_for_the_memory_are_refused_with_the_figures(capsys):
    with pytest.raises(WorkerMemoryError, match=r"--workers 4 needs about 4.0 GB .* only 2.5 GB is available; "
                                                r"use --workers 2"):
        parallel.check_worker_memory(4, 1024 ** 3, available=int(2.5 * 1024 ** 3))
    parallel.check_worker_memory(2, 1024 ** 3, available=int(2.5 * 1024 ** 3))
    parallel.check_worker_memory(1, 1024 ** 3, available=0)  # one worker is never refused
    assert main(["grade", str(SOURCE), "--submissions", "nowhere", "--out", "nowhere", "--workers", "100000"]) == 1
    assert "needs about" in capsys.readouterr().err


def test_threads_per_kernel_share_the_cores():
    assert parallel.threads_per_kernel(1, cores=2) == 2 and parallel.threads_per_kernel(2, cores=2) == 1
    assert parallel.threads_per_kernel(3, cores=2) == 1 and parallel.threads_per_kernel(2, cores=8) == 4
    assert parallel.thread_environment(1) == {"TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_a_shard_hides_the_other_shards_submissions_too(tmp_path):
    """A sandbox of one shard cannot see a submission that another shard grades."""
    require_bwrap()
    other = tmp_path / "submissions" / "someone-in-another-shard" / SOURCE.name
    other.parent.mkdir(parents=True)
    other.write_text("{}", encoding="utf-8")
    work = tmp_path / "work"
    grader = Grader(SOURCE, work, cell_timeout=60, timeout=GRADING_TIMEOUT // 3)
    assert grader.grade({}, also_hide=[other]) == []
    grader.processes.threads = parallel.threads_per_kernel(1)
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import os\nprint('VISIBLE', os.path.exists({str(other)!r}), os.path.exists({str(other.parent)!r}))")])
    status, executed = grader.processes.run(probe, work / "runs" / "probe", "probe")
    assert status["status"] == "completed", status
    text = "".join(output.get("text", "") for output in executed.cells[0].outputs)
    assert "VISIBLE False False" in text, text


def test_available_memory_is_read_on_linux():
    available = parallel.available_memory_bytes()
    assert available is None or 0 < available < 1 << 50
