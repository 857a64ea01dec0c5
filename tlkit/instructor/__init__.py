"""Instructor tools: release student notebooks, validate markers, grade submissions, export grades.

Command line: ``python -m tlkit --help`` (see ``docs/instructor.md``).

Modules
-------
markers
    Solution / hidden-test markers and cell roles.
validate
    Problems in a source notebook's markers.
manifest, release
    The student version of a notebook, its locked-cell checksums, sealed quizzes.
intake
    Finding and reading submissions without following links (regular files only, size-capped).
batch
    One ``grade`` command: the submissions, the shard, the workers and the gradebooks.
grade
    Running submissions in fresh, sandboxed kernels and scoring verified evidence.
steps
    The grading pipeline, ``AUTOGRADE_STEPS``: one small object per step, with its declared inputs.
grading_setup
    What every step reads, decided once per source notebook.
preparation
    The notebook a submission is run as: locked cells restored, grader cells added.
processes
    The sandboxed runner and checker processes of one submission.
evidence_intake
    Reading the executed notebook: evidence, decoy gradebook, errors, verdicts shown.
scoring
    Question and submission grades, and how one is decided.
sandbox
    The bubblewrap sandbox every submission and checker runs in.
runner, kernel_side, checker
    The separate processes (and the code pasted into kernels) grading relies on.
tamper
    Signs of attempts to fake a grade.
report
    Gradebook records, CSV and feedback files.
sqlite_files
    Gradebook files on disk: row counts, journals, new files written aside.
parallel, merge
    Workers on one machine (``--workers``), shards across machines (``--shard I/N``)
    and ``gradebook merge``, which combines the shards' gradebooks or CSV files.
"""
