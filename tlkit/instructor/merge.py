"""Combine the gradebooks (or CSV files) of shards graded apart: ``python -m tlkit gradebook merge``.

Every ``grade`` run records, in its gradebook (table ``grading_runs``) and in
each row of its CSV file, the SHA-256 of the manifest it graded against, its
shard ``I/N`` and the SHA-256 of the whole roster (the sorted student ids of
the batch). The merge refuses, with a message that names the files:

* shards of one assignment graded against different manifests, or from
  different rosters (the submissions folder changed between shards), or with
  different shard counts;
* overlapping shards (the same shard twice, or a student graded by two shards);
* missing shards or students (the union of the shards is not the roster);
* grade rows that no grading run accounts for (a gradebook reused for
  something else).

The output is a new file (never an existing one), written aside and renamed
into place, with the rows sorted by student (and in each student's order
within a shard), so a merge of shards equals a single run of the whole batch
but for timestamps and the record of which shard graded whom.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib

from tlkit.errors import TlkitError
from tlkit.gradebook import COLUMNS_BY_TABLE, Gradebook, GradebookError, read_records
from tlkit.instructor.parallel import ShardError, parse_shard, roster_digest
from tlkit.instructor.report import RUN_COLUMNS
from tlkit.instructor.sqlite_files import journal_files, partial_path, remove_existing

__all__ = ["MergeError", "merge_csvs", "merge_gradebooks", "merge_files"]


class MergeError(TlkitError, ValueError):
    """Shards that cannot be combined without losing or duplicating grades."""


def _short(digest: str) -> str:
    return digest[:12]


def _refuse_different_digests(runs: list[dict], key: str, message) -> None:
    """Raise MergeError when the runs disagree on ``key``; ``message(listed)`` words it, given the digests and their sources."""
    sources_by_digest: dict[str, list] = {}
    for run in runs:
        sources_by_digest.setdefault(run[key], []).append(run["source"])
    if len(sources_by_digest) > 1:
        listed = "; ".join(f"{_short(digest)}: {', '.join(map(str, sources))}"
                           for digest, sources in sources_by_digest.items())
        raise MergeError(message(listed))


def _check_runs(runs: list[dict], assignment: str) -> list[str]:
    """Check the shard records of one assignment; return the roster. ``runs`` items carry ``source``."""
    _refuse_different_digests(runs, "manifest_sha256", lambda listed: (
        f"{assignment}: the shards were graded against different manifests ({listed}); "
        "grade every shard with the same source notebook and --manifest"))
    counts = {run["shard_count"] for run in runs}
    if len(counts) > 1:
        listed = ", ".join(f"{run['source']} ({run['shard_index']}/{run['shard_count']})" for run in runs)
        raise MergeError(f"{assignment}: the shards split the batch in different numbers of shards: {listed}")
    _refuse_different_digests(runs, "roster_sha256", lambda listed: (
        f"{assignment}: the shards saw different sets of submissions ({listed}); the submissions "
        "folder changed between shards: grade every shard from the same collected folder"))
    count = counts.pop()
    seen: dict[int, object] = {}
    for run in runs:
        index = run["shard_index"]
        if index in seen:
            raise MergeError(f"{assignment}: shard {index}/{count} appears twice ({seen[index]} and {run['source']}): "
                             "overlapping shards")
        seen[index] = run["source"]
    owner: dict[str, object] = {}
    for run in runs:
        for student in run["students"]:
            if student in owner:
                raise MergeError(f"{assignment}: {student} was graded by two shards ({owner[student]} and "
                                 f"{run['source']}): overlapping shards")
            owner[student] = run["source"]
    roster = runs[0].get("roster")
    if roster is not None:
        missing_students = sorted(set(roster) - set(owner))
        missing_shards = sorted(set(range(count)) - set(seen))
        if missing_shards or missing_students:
            shown = ", ".join(missing_students[:10]) + (" ..." if len(missing_students) > 10 else "")
            raise MergeError(f"{assignment}: missing shard(s) {', '.join(f'{i}/{count}' for i in missing_shards) or '-'}"
                             f" of {count}: {len(missing_students)} student(s) not graded ({shown or 'none'})")
        return sorted(roster)
    # CSV files carry only the roster's digest: the students graded must be exactly that roster
    if roster_digest(owner) != runs[0]["roster_sha256"]:
        missing = sorted(set(range(count)) - set(seen))
        raise MergeError(f"{assignment}: missing shard(s) {', '.join(f'{i}/{count}' for i in missing) or '-'} of "
                         f"{count}: the students graded ({len(owner)}) are not the whole roster the shards were "
                         "cut from")
    return sorted(owner)


def _prepare_output(out) -> tuple[pathlib.Path, pathlib.Path]:
    out = pathlib.Path(out)
    if out.exists():
        raise MergeError(f"{out} already exists: the merge writes a new file (remove it or choose another name)")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, partial_path(out)


# -- gradebooks ---------------------------------------------------------------------------------
def _read_gradebook(path: pathlib.Path) -> dict:
    if not path.is_file():
        raise MergeError(f"{path}: no such gradebook")
    try:
        return read_records(path)
    except GradebookError as error:
        raise MergeError(str(error)) from None


def merge_gradebooks(paths, out) -> dict:
    """Merge shard gradebooks into the new gradebook ``out``; return a summary per assignment.

    Raises
    ------
    MergeError
        When the shards do not fit together (see the module's documentation).
    """
    paths = [pathlib.Path(path) for path in paths]
    if not paths:
        raise MergeError("no gradebooks to merge")
    resolved = {}
    for path in paths:
        key = path.resolve()
        if key in resolved:
            raise MergeError(f"{path} is given twice: overlapping shards")
        resolved[key] = path
    books = {path: _read_gradebook(path) for path in paths}
    runs_by_assignment: dict[str, list[dict]] = {}
    for path, tables in books.items():
        if not tables["grading_runs"]:
            raise MergeError(f"{path} records no grading run: it was not written by `python -m tlkit grade` "
                             "(or by a version before shards)")
        for run in tables["grading_runs"]:
            run = dict(run, source=path, roster=json.loads(run["roster"]), students=json.loads(run["students"]))
            runs_by_assignment.setdefault(run["assignment"], []).append(run)
    summary = {}
    grade_rows = []
    for assignment, runs in sorted(runs_by_assignment.items()):
        roster = _check_runs(runs, assignment)
        position = {student: number for number, student in enumerate(roster)}
        for run in runs:
            students = set(run["students"])
            rows = [row for row in books[run["source"]]["grades"] if row["assignment"] == assignment]
            strangers = sorted({row["student_id"] for row in rows} - students)
            if strangers:
                raise MergeError(f"{run['source']} holds grades of {assignment} for {', '.join(strangers[:5])}, "
                                 f"which its shard {run['shard_index']}/{run['shard_count']} did not grade")
            for order, row in enumerate(rows):
                grade_rows.append((position[row["student_id"]], run["shard_index"], order, row))
        summary[assignment] = {"shards": len(runs), "students": len(roster),
                               "grades": sum(1 for row in grade_rows if row[3]["assignment"] == assignment)}
    for path, tables in books.items():
        unaccounted = [row for row in tables["grades"] if row["assignment"] not in runs_by_assignment]
        if unaccounted:
            raise MergeError(f"{path} holds {len(unaccounted)} grade row(s) of "
                             f"{', '.join(sorted({row['assignment'] for row in unaccounted}))} that no grading run "
                             "recorded")
    out, partial = _prepare_output(out)
    try:
        book = Gradebook(partial, spool_path=partial.with_name(partial.name + ".spool.jsonl"))
        records = [("grades", row) for *_, row in sorted(grade_rows, key=lambda item: item[:3])]
        runs = [run for runs in runs_by_assignment.values() for run in runs]
        for run in sorted(runs, key=lambda run: (run["assignment"], run["shard_index"])):
            record = {column: run[column] for column in ("record_id",) + COLUMNS_BY_TABLE["grading_runs"]}
            record["roster"] = json.dumps(run["roster"], ensure_ascii=False)
            record["students"] = json.dumps(run["students"], ensure_ascii=False)
            records.append(("grading_runs", record))
        for table in ("checks", "quiz_answers"):  # students' own records, if a shard's gradebook has any
            for tables in books.values():
                records.extend((table, row) for row in tables[table])
        book.import_records(records)
        book.compact()  # one self-contained file
        os.replace(partial, out)
    finally:
        remove_existing([partial, *journal_files(partial)])
    return summary


# -- CSV files ----------------------------------------------------------------------------------
def merge_csvs(paths, out) -> dict:
    """Merge the ``grades-<assignment>.csv`` files of shards into the new CSV file ``out``."""
    paths = [pathlib.Path(path) for path in paths]
    if not paths:
        raise MergeError("no CSV files to merge")
    header = None
    runs: dict[tuple, dict] = {}
    rows_by_file = {}
    seen_files = set()
    for path in paths:
        if path.resolve() in seen_files:
            raise MergeError(f"{path} is given twice: overlapping shards")
        seen_files.add(path.resolve())
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                file_header = next(reader, None)
                rows = list(reader)
        except (OSError, UnicodeError, csv.Error) as error:
            raise MergeError(f"{path}: cannot be read ({error})") from None
        if not file_header or file_header[0] != "student_id" or any(c not in file_header for c in RUN_COLUMNS):
            raise MergeError(f"{path} is not a grades CSV of a shard (no {', '.join(RUN_COLUMNS)} columns)")
        if header is None:
            header = file_header
        elif file_header != header:
            raise MergeError(f"{path} has other columns than {paths[0]} (other questions?): {file_header} vs {header}")
        rows_by_file[path] = rows
    where = {name: header.index(name) for name in ("student_id", "assignment", *RUN_COLUMNS)}
    for path, rows in rows_by_file.items():
        for row in rows:
            if len(row) != len(header):
                raise MergeError(f"{path}: a row has {len(row)} fields, the header {len(header)}")
            try:
                shard = parse_shard(row[where["shard"]])
            except ShardError:
                raise MergeError(f"{path}: {row[where['student_id']]} has no valid shard ({row[where['shard']]!r})") \
                    from None
            key = (row[where["assignment"]], path)
            run = runs.setdefault(key, {"source": path, "assignment": row[where["assignment"]],
                                        "manifest_sha256": row[where["manifest_sha256"]], "shard_index": shard.index,
                                        "shard_count": shard.count, "roster_sha256": row[where["roster_sha256"]],
                                        "students": []})
            if (run["manifest_sha256"], run["shard_index"], run["shard_count"], run["roster_sha256"]) != (
                    row[where["manifest_sha256"]], shard.index, shard.count, row[where["roster_sha256"]]):
                raise MergeError(f"{path} mixes rows of different shards or manifests (see "
                                 f"{row[where['student_id']]}): merge files as each shard wrote them")
            run["students"].append(row[where["student_id"]])
    by_assignment: dict[str, list[dict]] = {}
    for (assignment, _), run in runs.items():
        by_assignment.setdefault(assignment, []).append(run)
    if not by_assignment:
        raise MergeError("the CSV files hold no grades")
    summary, merged = {}, []
    for assignment, assignment_runs in sorted(by_assignment.items()):
        students = _check_runs(assignment_runs, assignment)
        summary[assignment] = {"shards": len(assignment_runs), "students": len(students)}
        for path, rows in rows_by_file.items():
            merged.extend(row for row in rows if row[where["assignment"]] == assignment)
    merged.sort(key=lambda row: (row[where["assignment"]], row[where["student_id"]]))
    out, partial = _prepare_output(out)
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(merged)
        os.replace(partial, out)
    finally:
        if partial.exists():
            partial.unlink()
    return summary


def merge_files(paths, out) -> dict:
    """Merge gradebooks (``.sqlite3``...) or CSV files (``.csv``), by their names' suffix; not both kinds."""
    paths = [pathlib.Path(path) for path in paths]
    kinds = {path.suffix.lower() == ".csv" for path in paths}
    if len(kinds) > 1:
        raise MergeError("give either gradebooks or CSV files, not both")
    wants_csv = pathlib.Path(out).suffix.lower() == ".csv"
    if kinds == {True}:
        if not wants_csv:
            raise MergeError(f"merging CSV files writes a CSV file: name the output *.csv, not {out}")
        return merge_csvs(paths, out)
    if wants_csv:
        raise MergeError("merging gradebooks writes a gradebook; then `python -m tlkit gradebook export` "
                         "writes a CSV file")
    return merge_gradebooks(paths, out)
