"""Check a source notebook's markers and roles before releasing it."""

from __future__ import annotations

from tlkit.instructor.markers import (
    ROLES,
    MarkerProblem,
    cell_roles,
    checked_questions,
    find_exercise_binding,
    scan_markers,
)
from tlkit.instructor.notebooks import cell_source

__all__ = ["validate_notebook"]


def validate_notebook(notebook) -> list[MarkerProblem]:
    """Return every problem of a source notebook's markers; an empty list means it can be released.

    Problems found: unbalanced, nested or mismatched markers, END without
    BEGIN, markers in Markdown cells, unknown metadata roles, solution cells
    without a question, a solution region with no check of its question
    after it, solution regions in a notebook that binds no exercises.
    """
    problems: list[MarkerProblem] = []
    binding = None
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            binding = binding or find_exercise_binding(cell_source(cell))
    alias = binding[1] if binding else None
    roles = cell_roles(notebook)
    has_solutions = False
    for index, (cell, role) in enumerate(zip(notebook.cells, roles)):
        number = index + 1
        source = cell_source(cell)
        regions, marker_problems = scan_markers(source)
        if cell.get("cell_type") != "code":
            if regions or marker_problems:
                problems.append(MarkerProblem(number, None, "markers in a Markdown cell are ignored; move them to a code cell"))
            continue
        problems.extend(MarkerProblem(number, line, message) for line, message in marker_problems)
        if role.from_metadata and role.role is not None and role.role not in ROLES:
            problems.append(MarkerProblem(number, None, f"metadata role {role.role!r} is unknown; use one of {', '.join(ROLES)}"))
        solution_regions = [region for region in regions if region.kind == "solution"]
        if not solution_regions:
            continue
        has_solutions = True
        if role.role in ("check", "setup", "hidden-tests", "locked"):
            problems.append(MarkerProblem(number, solution_regions[0].begin + 1,
                                          f"a solution region in a {role.role} cell: students could not edit it"))
        if role.question is None:
            problems.append(MarkerProblem(number, solution_regions[0].begin + 1,
                                          "cannot tell which question this solution answers; add a '# qN' comment "
                                          "or metadata tlkit.question"))
            continue
        later_checks = [
            question
            for later_cell, later_role in zip(notebook.cells[index + 1:], roles[index + 1:])
            if later_cell.get("cell_type") == "code"
            for question in ([later_role.question] if later_role.role == "check" else [])
            + checked_questions(cell_source(later_cell), alias)
        ]
        if role.question not in later_checks:
            problems.append(MarkerProblem(number, solution_regions[0].begin + 1,
                                          f"the solution for {role.question} has no check after it; add a cell "
                                          f"with `{alias or 'ex'}.{role.question}.check()`"))
    if has_solutions and binding is None:
        problems.append(MarkerProblem(1, None, "solution regions but no setup cell binding exercises "
                                               "(`from tlkit.exercises import nbXX as ex; ex.bind(globals())`)"))
    return problems
