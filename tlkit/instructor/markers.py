"""Solution and hidden-test markers in source notebooks, and the role of each cell.

A source notebook marks what students must write, and what only the grader
sees, with comment lines::

    ### BEGIN SOLUTION
    base.trainable = False
    ### END SOLUTION

    ### BEGIN HIDDEN TESTS
    assert base.trainable is False
    ### END HIDDEN TESTS

Each cell has a role: ``"setup"`` (binds the exercises), ``"solution"`` (holds
a solution region), ``"check"`` (calls ``ex.qN.check()``), ``"hidden-tests"``
(holds only hidden tests) or ``None`` (ordinary content). The role comes from
``cell.metadata["tlkit"]["role"]`` when present, and is otherwise inferred from
the markers and calls in the cell's code (see ``docs/instructor.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tlkit.errors import TlkitError

__all__ = [
    "BEGIN_HIDDEN",
    "BEGIN_SOLUTION",
    "END_HIDDEN",
    "END_SOLUTION",
    "LOCKED_ROLES",
    "ROLES",
    "CellRole",
    "MarkerError",
    "MarkerProblem",
    "Region",
    "cell_roles",
    "checked_questions",
    "find_exercise_binding",
    "find_quiz_ids",
    "remove_hidden_tests",
    "replace_solutions",
    "scan_markers",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
_MARKERS = {BEGIN_SOLUTION: ("begin", "solution"), END_SOLUTION: ("end", "solution"),
            BEGIN_HIDDEN: ("begin", "hidden"), END_HIDDEN: ("end", "hidden")}
ROLES = ("setup", "solution", "check", "hidden-tests", "locked")
LOCKED_ROLES = ("setup", "check", "hidden-tests", "locked")
STUDENT_PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")

_QUESTION_COMMENT = re.compile(r"^\s*#\s*(q\d+)\b", re.IGNORECASE)
_CHECK_CALL = re.compile(r"\b([A-Za-z_]\w*)\.(q\d+)\.check\s*\(")
_BIND_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(\w+)\s+as\s+(\w+)\s*$", re.MULTILINE)
_BIND_IMPORT = re.compile(r"^\s*import\s+([\w.]+)\s+as\s+(\w+)\s*$", re.MULTILINE)
_BIND_FUNCTION = re.compile(r"^\s*(\w+)\s*=\s*(?:tlkit\.)?exercises\.bind\(\s*globals\(\)\s*,\s*['\"](\w+)['\"]\s*\)", re.MULTILINE)
_QUIZ_CALL = re.compile(r"show_quiz\(\s*['\"]([\w-]+)['\"]")


class MarkerError(TlkitError, ValueError):
    """A source notebook whose markers cannot be processed (unbalanced, nested...)."""


@dataclass(frozen=True)
class Region:
    """One marked region of a cell: lines ``begin`` to ``end`` (0-based, the marker lines included)."""

    kind: str  # "solution" or "hidden"
    begin: int
    end: int
    indent: str


@dataclass(frozen=True)
class MarkerProblem:
    """A problem found in a source notebook.

    Attributes
    ----------
    cell : int
        1-based cell number, as counted from the top of the notebook.
    line : int or None
        1-based line inside the cell.
    message : str
        What is wrong.
    """

    cell: int
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" + (f", line {self.line}" if self.line is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CellRole:
    """A cell's role and the question it belongs to (None when not tied to one)."""

    role: str | None
    question: str | None = None
    from_metadata: bool = False

    @property
    def locked(self) -> bool:
        return self.role in LOCKED_ROLES


def _marker_of(line: str):
    return _MARKERS.get(line.strip())


def scan_markers(source: str) -> tuple[list[Region], list[tuple[int, str]]]:
    """Find the marked regions of one cell's source.

    Returns
    -------
    regions : list of Region
    problems : list of (line, message)
        1-based line numbers; empty when the markers are well formed.
    """
    regions, problems = [], []
    stack = []  # open regions: (kind, line index, indent)

    def label(kind):
        return "SOLUTION" if kind == "solution" else "HIDDEN TESTS"

    for index, line in enumerate(source.splitlines()):
        marker = _marker_of(line)
        if marker is None:
            continue
        action, kind = marker
        if action == "begin":
            if stack:
                outer = stack[-1]
                problems.append((index + 1, f"BEGIN {label(kind)} inside the BEGIN {label(outer[0])} of line "
                                            f"{outer[1] + 1}; regions cannot be nested: close the first one with END first"))
            stack.append((kind, index, line[: len(line) - len(line.lstrip())]))
            continue
        if not stack:
            problems.append((index + 1, f"END {label(kind)} without a BEGIN {label(kind)} before it"))
            continue
        opened = stack.pop()
        if opened[0] != kind:
            problems.append((index + 1, f"END {label(kind)} closes the BEGIN {label(opened[0])} of line "
                                        f"{opened[1] + 1}; use END {label(opened[0])}"))
        elif not stack:
            regions.append(Region(kind, opened[1], index, opened[2]))
    for opened in stack:
        problems.append((opened[1] + 1, f"BEGIN {label(opened[0])} is never closed; add END {label(opened[0])}"))
    return regions, problems


def _rewrite(source: str, kind: str, replacement) -> str:
    regions, problems = scan_markers(source)
    if problems:
        line, message = problems[0]
        raise MarkerError(f"line {line}: {message}")
    lines = source.splitlines()
    output, position = [], 0
    for region in regions:
        output.extend(lines[position:region.begin])
        if region.kind == kind:
            output.extend(replacement(region))
        else:
            output.extend(lines[region.begin:region.end + 1])
        position = region.end + 1
    output.extend(lines[position:])
    return "\n".join(output)


def replace_solutions(source: str) -> str:
    """Replace each solution region by ``# YOUR CODE HERE`` and ``raise NotImplementedError()``.

    The two lines keep the indentation of the ``### BEGIN SOLUTION`` line.

    Raises
    ------
    MarkerError
        If the markers are unbalanced or nested.
    """
    return _rewrite(source, "solution", lambda region: [region.indent + line for line in STUDENT_PLACEHOLDER])


def remove_hidden_tests(source: str) -> str:
    """Remove each hidden-tests region (marker lines included).

    Raises
    ------
    MarkerError
        If the markers are unbalanced or nested.
    """
    return _rewrite(source, "hidden", lambda region: []).rstrip("\n")


def checked_questions(source: str, alias: str | None = None) -> list[str]:
    """The questions whose ``<alias>.qN.check()`` the code calls, in order."""
    found = []
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    for match in _CHECK_CALL.finditer(code):
        if (alias is None or match.group(1) == alias) and match.group(2).lower() not in found:
            found.append(match.group(2).lower())
    return found


def find_exercise_binding(source: str) -> tuple[str, str] | None:
    """Return (exercise module, alias) if the code binds exercises to ``globals()``, else None.

    Recognises ``from pkg import mod as ex`` / ``import pkg.mod as ex`` followed
    by ``ex.bind(globals())``, and ``ex = tlkit.exercises.bind(globals(), "mod")``.
    """
    function_style = _BIND_FUNCTION.search(source)
    if function_style:
        return f"tlkit.exercises.{function_style.group(2)}", function_style.group(1)
    for match in _BIND_FROM.finditer(source):
        package, name, alias = match.groups()
        if re.search(rf"\b{re.escape(alias)}\.bind\(\s*globals\(\)\s*\)", source):
            return f"{package}.{name}", alias
    for match in _BIND_IMPORT.finditer(source):
        module, alias = match.groups()
        if re.search(rf"\b{re.escape(alias)}\.bind\(\s*globals\(\)\s*\)", source):
            return module, alias
    return None


def find_quiz_ids(source: str) -> list[str]:
    """The quiz ids passed as literal strings to ``show_quiz(...)``."""
    return list(dict.fromkeys(_QUIZ_CALL.findall(source)))


def _source_of(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _metadata_role(cell) -> tuple[str | None, str | None, bool]:
    metadata = cell.get("metadata", {}).get("tlkit")
    if not isinstance(metadata, dict):
        return None, None, False
    role = metadata.get("role")
    question = metadata.get("question")
    return role, (str(question).lower() if question else None), role is not None or question is not None


def cell_roles(notebook) -> list[CellRole]:
    """Return the role of every cell, from metadata or inferred from the code.

    Inference: a cell that binds exercises is ``setup``; a cell with a solution
    region is ``solution`` (its question from a ``# qN`` comment, else the next
    check); a cell calling ``ex.qN.check()`` is ``check``; a cell with only a
    hidden-tests region is ``hidden-tests``. Markdown cells have no role.
    """
    binding = None
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            binding = binding or find_exercise_binding(_source_of(cell))
    alias = binding[1] if binding else None
    roles: list[CellRole] = []
    for cell in notebook.cells:
        role, question, from_metadata = _metadata_role(cell)
        if cell.get("cell_type") != "code":
            roles.append(CellRole(None))
            continue
        source = _source_of(cell)
        regions, _ = scan_markers(source)
        kinds = {region.kind for region in regions}
        if role is None:
            if find_exercise_binding(source):
                role = "setup"
            elif "solution" in kinds:
                role = "solution"
            elif checked_questions(source, alias):
                role = "check"
            elif "hidden" in kinds:
                role = "hidden-tests"
        if question is None:
            if role == "check":
                asked = checked_questions(source, alias)
                question = asked[0] if asked else None
            elif role == "solution":
                for line in source.splitlines():
                    match = _QUESTION_COMMENT.match(line)
                    if match:
                        question = match.group(1).lower()
                        break
        roles.append(CellRole(role, question, from_metadata))
    # a solution cell without a "# qN" comment belongs to the next checked question
    for index, cell_role in enumerate(roles):
        if cell_role.role == "solution" and cell_role.question is None:
            for later in roles[index + 1:]:
                if later.role == "check" and later.question:
                    roles[index] = CellRole("solution", later.question, cell_role.from_metadata)
                    break
    return roles
