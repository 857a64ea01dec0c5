"""The ``python -m tlkit`` command line: release, validate, grade, gradebook export."""

from __future__ import annotations

import argparse
import pathlib
import sys

from tlkit.errors import TlkitError

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
    from tlkit.gradebook import Gradebook
    from tlkit.instructor.grade import Grader, collect_submissions
    from tlkit.instructor.manifest import load_manifest
    from tlkit.instructor.report import record_grades, write_feedback, write_grades_csv

    source = pathlib.Path(arguments.source)
    manifest = None
    if arguments.manifest:
        whole = load_manifest(arguments.manifest)
        manifest = whole.get("notebooks", {}).get(source.name) if "notebooks" in whole else whole
        if manifest is None:
            raise TlkitError(f"manifest {arguments.manifest} has no entry for {source.name}")
    gradebook = Gradebook(arguments.gradebook)
    if arguments.no_sandbox:
        from tlkit.instructor.sandbox import NO_SANDBOX_WARNING

        print(f"WARNING: {NO_SANDBOX_WARNING}", file=sys.stderr)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grader = Grader(source, arguments.out, cell_timeout=arguments.cell_timeout, timeout=arguments.timeout,
                        manifest=manifest, watch_gradebooks=[gradebook.path], sandbox=not arguments.no_sandbox)
    submissions = collect_submissions(arguments.submissions, source.name)
    if not submissions:
        print(f"no submissions found in {arguments.submissions}")
        return 1
    grades = grader.grade(submissions)
    record_grades(grades, gradebook)
    write_feedback(grades, pathlib.Path(arguments.out) / "feedback")
    csv_path = write_grades_csv(grades, pathlib.Path(arguments.out) / f"grades-{grader.assignment}.csv")
    for grade in grades:
        flag = "  FLAGGED" if grade.flagged else ""
        problem = f"  ({grade.problem})" if grade.problem else ""
        print(f"{grade.student_id}: {grade.score:g}/{grade.max_score:g}{flag}{problem}")
    print(f"grades: {csv_path}; feedback: {pathlib.Path(arguments.out) / 'feedback'}; gradebook: {gradebook.path}")
    return 0


def _export(arguments) -> int:
    from tlkit.gradebook import Gradebook

    path = Gradebook(arguments.gradebook).export_csv(arguments.out, kind=arguments.kind)
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
    grade.add_argument("--no-sandbox", action="store_true",
                       help="UNSAFE: run submissions without the bubblewrap sandbox (only for trusted notebooks, "
                            "e.g. on a machine without bubblewrap); see docs/instructor.md")
    grade.set_defaults(handler=_grade)

    gradebook = commands.add_parser("gradebook", help="`gradebook export`: write grades to CSV",
                                    description="Gradebook tools: `gradebook export` writes a CSV file.")
    gradebook_commands = gradebook.add_subparsers(dest="gradebook_command", metavar="{export}")
    export = gradebook_commands.add_parser("export", help="write gradebook records to CSV",
                                           description="Write grades, checks or quiz answers to a CSV file for an LMS.")
    export.add_argument("--kind", choices=("grades", "checks", "quiz"), default="grades",
                        help="which records (default grades)")
    export.add_argument("--out", required=True, help="the CSV file to write")
    export.add_argument("--gradebook", help="SQLite gradebook (default: $TLKIT_GRADEBOOK or the user's data folder)")
    export.set_defaults(handler=_export)
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
