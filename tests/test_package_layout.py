"""The kit's modules meet through public names only.

A module of ``tlkit`` may use its own private names (``_name``), never those
of another tlkit module: not ``from tlkit.x import _name``, not
``module._name`` for a tlkit module it imported, not ``Name._name`` for a
class or function it imported from one, and not ``thing._name`` for an
object it made with one (``book = Gradebook(...); book._connect()``).
What another module needs is made public (documented, in ``__all__``) or
moved. The few deliberate exceptions are listed in :data:`ALLOWED`, each
with its reason.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tlkit"

#: (module using the name, the private name it uses) -> why it is allowed.
ALLOWED: dict = {}


def _modules() -> dict[str, pathlib.Path]:
    """Dotted module name -> its file, for every module of the package."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, path: pathlib.Path, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(module: str, path: pathlib.Path) -> list[tuple[str, str, int]]:
    """The private names of other tlkit modules that ``module`` uses.

    Returns
    -------
    list of (str, str, int)
        ``(module, dotted private name, line)``; the dotted name is where the
        name lives as far as the imports tell (``tlkit.x.Class._name``, or
        ``tlkit.x.make()._name`` for an object made by ``tlkit.x.make``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    bound: dict[str, str] = {}  # local name -> the tlkit thing it stands for
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "tlkit" or alias.name.startswith("tlkit."):
                    bound[alias.asname or "tlkit"] = alias.name if alias.asname else "tlkit"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node.level, node.module)
            if source != "tlkit" and not source.startswith("tlkit."):
                continue
            for alias in node.names:
                if _is_private(alias.name) and source != module:
                    uses.append((module, f"{source}.{alias.name}", node.lineno))
                bound[alias.asname or alias.name] = f"{source}.{alias.name}"

    def dotted(node) -> str | None:
        if isinstance(node, ast.Name):
            return bound.get(node.id)
        if isinstance(node, ast.Attribute):
            inner = dotted(node.value)
            return f"{inner}.{node.attr}" if inner else None
        return None

    for node in ast.walk(tree):  # objects made by another module's callable
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            made = dotted(node.value.func)
            if made:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in bound:
                        bound[target.id] = f"{made}()"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = dotted(node.value)
            if owner and owner != module:
                uses.append((module, f"{owner}.{node.attr}", node.lineno))
    return uses


def _all_private_uses() -> list[tuple[str, str, int]]:
    return [use for module, path in sorted(_modules().items()) for use in private_uses(module, path)]


def test_no_module_uses_another_modules_private_names():
    unexplained = [f"{module}:{line} uses {name}" for module, name, line in _all_private_uses()
                   if (module, name) not in ALLOWED]
    assert not unexplained, (
        "make these names public (numpydoc docstring, in __all__) or move the code that needs them; "
        "list a deliberate exception in ALLOWED with its reason:\n" + "\n".join(unexplained))


def test_every_allowed_exception_is_still_needed_and_explained():
    used = {(module, name) for module, name, _ in _all_private_uses()}
    stale = sorted(f"{module} -> {name}" for module, name in ALLOWED if (module, name) not in used)
    assert not stale, "remove these entries from ALLOWED, nothing uses them any more:\n" + "\n".join(stale)
    assert all(reason.strip() for reason in ALLOWED.values())


@pytest.mark.parametrize("source, expected", [
    ("from tlkit.gradebook import _COLUMNS\n", ["tlkit.gradebook._COLUMNS"]),
    ("from tlkit.instructor import kernel_side\nkernel_side._is_plain_json(1)\n",
     ["tlkit.instructor.kernel_side._is_plain_json"]),
    ("import tlkit.exercises.predicates as check\ncheck._weight_snapshot(1)\n",
     ["tlkit.exercises.predicates._weight_snapshot"]),
    ("from tlkit.gradebook import Gradebook\nbook = Gradebook()\nbook._connect()\n",
     ["tlkit.gradebook.Gradebook()._connect"]),
    ("from . import kernel_side\nkernel_side._is_plain_json(1)\n", ["tlkit.instructor.kernel_side._is_plain_json"]),
    ("from tlkit.gradebook import Gradebook\nGradebook.__init__\nx = 1\nx._private\n", []),
])
def test_the_scan_sees_each_kind_of_private_door(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert [name for _, name, _ in private_uses("tlkit.instructor.probe", path)] == expected


def _declared_and_bound(path: pathlib.Path) -> tuple[list | None, set, set]:
    """``(__all__ or None, public functions and classes, every name bound at the top)`` of one module, read, not imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared, defined, bound = None, set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            if not node.name.startswith("_") and node.name != "main":  # main: the module's command line
                defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    bound.add(target.id)
                    if target.id == "__all__":
                        declared = ast.literal_eval(node.value)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return declared, defined, bound


@pytest.mark.parametrize("module", sorted(name for name, path in _modules().items()
                                          if not path.stem.startswith("_") or path.stem == "__init__"))
def test_every_module_with_public_functions_or_classes_declares_them_in_all(module):
    declared, defined, bound = _declared_and_bound(_modules()[module])
    if declared is None:
        assert not defined, f"{module} has public names {sorted(defined)} but no __all__"
        return
    assert sorted(set(declared) - bound) == [], f"{module}.__all__ names what the module does not define or import"
    assert sorted(defined - set(declared)) == [], f"{module}: public but not in __all__"


def _run_time_imports(tree: ast.AST):
    """Every import statement of a module, anywhere in it, except under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped]


def _import_graph() -> dict[str, set]:
    """Module -> the tlkit modules it imports at run time (its own packages and subpackages left out)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in _run_time_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            else:
                base = _absolute(name, path, node.level, node.module)
                targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
        graph[name] = {target for target in targets if target in modules and target != name
                       and not name.startswith(target + ".") and not target.startswith(name + ".")}
    return graph


def _loops(graph: dict[str, set]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    order, low, stack, on_stack, loops = {}, {}, [], set(), []

    def visit(module):
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return loops


def test_no_import_loops_between_modules():
    """No two tlkit modules import each other, directly or round a circle, even inside functions."""
    assert _loops(_import_graph()) == []


def test_the_loop_finder_finds_a_loop_through_a_function_local_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _loops(graph) == [["a", "b", "c"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\n")
    assert [alias.name for node in _run_time_imports(tree) for alias in node.names] == ["TYPE_CHECKING", "y"]
