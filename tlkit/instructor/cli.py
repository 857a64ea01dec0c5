"""The ``python -m tlkit`` command line: release, validate, grade, gradebook export and merge."""

from __future__ import annotations

import argparse
import sys

from tlkit.errors import TlkitError
from tlkit.gradebook import Gradebook
from tlkit.instructor.lms_export import write_lms_csv
from tlkit.instructor.merge import merge_files

__all__ = ["build_parser", "main"]


def _release(arguments) -> int:
    from tlkit.instructor.release import release_notebooks

    manifest = release_notebooks(arguments.sources, arguments.to, quiz_mode=arguments.quiz_mode)
    for name, entry in manifest["notebooks"].items():
        print(f"released {name}: {len(entry['questions'])} question(s), {len(entry['locked_cells'])} locked cell(s), "
              f"quizzes: {', '.join(entry['quizzes']) or 'none'}")
    print(f"release folder: {arguments.to}")
    return 0


def _validate(arguments) -> int:
    from tlkit.instructor.notebooks import read_notebook
    from tlkit.instructor.release import source_notebooks
    from tlkit.instructor.validate import validate_notebook

    problem_count = 0
    for path in source_notebooks(arguments.sources):
        problems = validate_notebook(read_notebook(path))
        problem_count += len(problems)
        if problems:
            for problem in problems:
                print(f"{path}: {problem}")
        else:
            print(f"{path}: OK")
    return 1 if problem_count else 0


def _grade(arguments) -> int:
    from tlkit.instructor.batch import GradingBatch

    batch = GradingBatch(arguments.source, arguments.submissions, arguments.out, gradebook=arguments.gradebook,
                         manifest=arguments.manifest, shard=arguments.shard, workers=arguments.workers,
                         memory_per_worker=arguments.memory_per_worker, cell_timeout=arguments.cell_timeout,
                         timeout=arguments.timeout, threads=arguments.threads_per_kernel,
                         sandbox=not arguments.no_sandbox)
    result = batch.run()
    if result is None:
        print(f"no submissions found in {arguments.submissions}")
        return 1
    for grade in result.grades:
        flag = "  FLAGGED" if grade.flagged else ""
        problem = f"  ({grade.problem})" if grade.problem else ""
        print(f"{grade.student_id}: {grade.score:g}/{grade.max_score:g}{flag}{problem}")
    print(f"grades: {result.csv_path}; feedback: {result.feedback_folder}; gradebook: {result.gradebook_path}")
    return 0


def _merge(arguments) -> int:
    summary = merge_files(arguments.shards, arguments.out)
    for assignment, figures in summary.items():
        print(f"{assignment}: {figures['shards']} shard(s), {figures['students']} student(s)")
    print(f"wrote {arguments.out}")
    return 0


def _export(arguments) -> int:
    book = Gradebook(arguments.gradebook)
    if arguments.format == "tlkit":
        if arguments.identify_by or arguments.column or arguments.assignment:
            raise TlkitError("--identify-by, --column and --assignment go with --format canvas or moodle")
        path = book.export_csv(arguments.out, kind=arguments.kind)
    else:
        if arguments.kind != "grades":
            raise TlkitError(f"--format {arguments.format} exports grades only (not --kind {arguments.kind})")
        columns = {}
        for pair in arguments.column or []:
            assignment, separator, header = pair.partition("=")
            if not separator or not assignment.strip() or not header.strip():
                raise TlkitError(f"--column {pair!r}: write ASSIGNMENT=COLUMN, e.g. "
                                 "04_negative_transfer='Notebook 4 (12345)'")
            columns[assignment.strip()] = header.strip()
        path = write_lms_csv(book.grades(), arguments.out, arguments.format, identify_by=arguments.identify_by,
                             columns=columns, assignments=arguments.assignment)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m tlkit``."""
    parser = argparse.ArgumentParser(prog="python -m tlkit", description="tlkit instructor tools.")
    commands = parser.add_subparsers(dest="command", metavar="{release,validate,grade,gradebook}")

    release = commands.add_parser("release", help="make student notebooks from source notebooks",
                                  description="Remove solutions and hidden tests, clear outputs, seal quizzes "
                                              "and write MANIFEST.json with the locked cells' checksums.")
    release.add_argument("sources", nargs="+", help="source notebooks or folders of them")
    release.add_argument("--to", required=True, help="the release folder to write")
    release.add_argument("--quiz-mode", choices=("self-check", "exam"), default="self-check",
                         help="self-check (default): sealed quizzes with immediate feedback; exam: quizzes without "
                              "any key, answers only recorded (grade them with `quiz grade`)")
    release.set_defaults(handler=_release)

    validate = commands.add_parser("validate", help="check the markers of source notebooks",
                                   description="Report unbalanced or nested markers, END without BEGIN and "
                                               "solutions without a check, with cell and line; exit 1 on problems.")
    validate.add_argument("sources", nargs="+", help="source notebooks or folders of them")
    validate.set_defaults(handler=_validate)

    grade = commands.add_parser("grade", help="grade collected submissions of one notebook",
                                description="Run every submission in a fresh kernel inside a bubblewrap sandbox, "
                                            "re-check the evidence in a sandboxed clean process, flag tampering, record grades and write "
                                            "feedback and CSV.")
    grade.add_argument("source", help="the source notebook (with solutions)")
    grade.add_argument("--submissions", required=True,
                       help="folder with <student>/<notebook>.ipynb or <student>.ipynb files")
    grade.add_argument("--out", required=True, help="folder for feedback, CSV and the grader's working files")
    grade.add_argument("--gradebook", help="SQLite gradebook to record grades in (default: $TLKIT_GRADEBOOK "
                                           "or the user's data folder)")
    grade.add_argument("--manifest", help="the release's MANIFEST.json (default: rebuilt from the source)")
    grade.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell (default 120)")
    grade.add_argument("--timeout", type=float, default=1800.0, help="seconds per submission (default 1800)")
    grade.add_argument("--workers", type=int, default=1,
                       help="submissions graded at the same time on this machine, each in its own sandbox "
                            "(default 1; each worker needs about 1.2 GB of memory, see --memory-per-worker)")
    grade.add_argument("--shard", metavar="I/N",
                       help="grade only shard I of N (I from 0): the students at positions I, I+N, I+2N... of the "
                            "sorted student ids; needs a --gradebook of its own; combine the shards with "
                            "`gradebook merge`")
    grade.add_argument("--threads-per-kernel", type=int,
                       help="TensorFlow/OpenMP compute threads per kernel (default: cores // workers)")
    grade.add_argument("--memory-per-worker", type=float, metavar="GB",
                       help="memory one worker needs, for the check that --workers fits in memory (default 1.25)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="UNSAFE: run submissions without the bubblewrap sandbox (only for trusted notebooks, "
                            "e.g. on a machine without bubblewrap); see docs/instructor.md")
    grade.set_defaults(handler=_grade)

    gradebook = commands.add_parser("gradebook", help="`gradebook export`: write grades to CSV; `gradebook merge`: "
                                                      "combine shards",
                                    description="Gradebook tools: `gradebook export` writes a CSV file; "
                                                "`gradebook merge` combines the gradebooks or CSV files of shards.")
    gradebook_commands = gradebook.add_subparsers(dest="gradebook_command", metavar="{export,merge}")
    export = gradebook_commands.add_parser(
        "export", help="write gradebook records to CSV (tlkit's columns, or Canvas's or Moodle's import format)",
        description="Write grades, checks or quiz answers to a CSV file; with --format canvas or moodle, each "
                    "student's total per assignment in that LMS's gradebook import format (see docs/instructor.md).")
    export.add_argument("--kind", choices=("grades", "checks", "quiz"), default="grades",
                        help="which records (default grades)")
    export.add_argument("--format", choices=("tlkit", "canvas", "moodle"), default="tlkit",
                        help="tlkit (default): one row per graded question; canvas: a Canvas gradebook import file; "
                             "moodle: a Moodle grade import CSV file")
    export.add_argument("--identify-by", metavar="FIELD",
                        help="the LMS field the student ids are: Canvas 'SIS Login ID' (default), 'SIS User ID', "
                             "'ID' or 'Student'; Moodle username (default), email or idnumber")
    export.add_argument("--column", action="append", metavar="ASSIGNMENT=COLUMN",
                        help="name an assignment's column as the LMS knows it, e.g. "
                             "04_negative_transfer='Notebook 4 (12345)' (repeatable)")
    export.add_argument("--assignment", action="append", help="export only this assignment (repeatable)")
    export.add_argument("--out", required=True, help="the CSV file to write")
    export.add_argument("--gradebook", help="SQLite gradebook (default: $TLKIT_GRADEBOOK or the user's data folder)")
    export.set_defaults(handler=_export)
    merge = gradebook_commands.add_parser(
        "merge", help="combine the gradebooks (or CSV files) of shards graded with --shard",
        description="Combine shards' gradebooks (*.sqlite3) into a new gradebook, or their grades-*.csv files into "
                    "a new CSV file. Refuses shards graded against different manifests or submissions, overlapping "
                    "shards and missing ones.")
    merge.add_argument("shards", nargs="+", help="the shards' gradebooks, or their CSV files")
    merge.add_argument("--out", required=True, help="the new gradebook (or .csv file) to write; must not exist")
    merge.set_defaults(handler=_merge)
    gradebook.set_defaults(handler=lambda arguments: (gradebook.print_help(), 2)[1])

    from tlkit.quiz.exam_cli import add_quiz_command  # `quiz grade`: exam answers graded with the source key

    add_quiz_command(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if getattr(arguments, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(arguments.handler(arguments) or 0)
    except TlkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
