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
grade
    Running submissions in fresh, sandboxed kernels and scoring verified evidence.
sandbox
    The bubblewrap sandbox every submission and checker runs in.
runner, kernel_side, checker
    The separate processes (and the code pasted into kernels) grading relies on.
tamper
    Signs of attempts to fake a grade.
report
    Gradebook records, CSV and feedback files.
parallel, merge
    Workers on one machine (``--workers``), shards across machines (``--shard I/N``)
    and ``gradebook merge``, which combines the shards' gradebooks or CSV files.
"""
