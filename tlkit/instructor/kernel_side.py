"""Code the grader runs inside a submission's kernel to emit the evidence it grades.

This module is never imported by a student's kernel: the grader pastes its
source into cells of its own, so a student cannot patch it in advance.

* :func:`emit_baseline` runs in a cell the grader puts *before every other
  cell*: it imports Keras, NumPy and the exercise modules, exercises Keras's
  saving code once, and displays an :func:`integrity_snapshot` (identities of
  every function and class of those modules) as an output of MIME type
  :data:`BASELINE_MIME`.
* :func:`emit_evidence` runs in the cell the grader puts right after each
  locked check cell: it serialises the values the question reads and displays
  them (files base64-encoded), with a new snapshot, as one output of MIME type
  :data:`EVIDENCE_MIME`.

Both are *outputs* of the cells: the runner captures them outside the kernel
as the cells run, so nothing a later cell does can change them, and the
grader compares each snapshot with the baseline (a patched Keras method shows
up as a changed module). The evidence is only a claim: the separate checker
process (:mod:`tlkit.instructor.checker`) validates and re-checks every
artifact, and compares the :func:`fingerprint` taken here with its own
pristine one. Only the standard library, NumPy, Keras and IPython are used.
"""

import hashlib
import json
import os
import sys
import types

__all__ = [
    "BASELINE_MIME",
    "EVIDENCE_FILE_NAME",
    "EVIDENCE_MIME",
    "INTEGRITY_BUILTINS",
    "INTEGRITY_MODULES",
    "INTEGRITY_PREFIXES",
    "RESULT_CLASSES",
    "WATCHED_CALLABLES",
    "emit_baseline",
    "emit_evidence",
    "fingerprint",
    "integrity_snapshot",
    "is_plain_json",
    "save_evidence",
    "snapshot_digests",
]

EVIDENCE_FILE_NAME = "evidence.json"
EVIDENCE_MIME = "application/vnd.tlkit.evidence+json"
BASELINE_MIME = "application/vnd.tlkit.baseline+json"
#: modules (and their submodules) whose functions and classes must not change while the notebook runs
INTEGRITY_PREFIXES = ("keras", "tlkit", "numpy", "json", "zipfile", "h5py", "base64", "tempfile", "shutil")
INTEGRITY_MODULES = (
    "IPython.core.display_functions", "IPython.core.displaypub", "IPython.display", "ipykernel.zmqshell",
    "tensorflow.python.ops.resource_variable_ops", "tensorflow.python.ops.variables",
)
INTEGRITY_BUILTINS = ("open", "getattr", "setattr", "hasattr", "vars", "id", "isinstance", "type", "len", "sorted",
                      "repr", "print", "exec", "compile", "__import__", "callable", "dict", "list", "str")
WATCHED_CALLABLES = (
    ("keras", "saving.save_model"),
    ("keras", "saving.load_model"),
    ("keras", "Model.save"),
    ("keras.src.saving.saving_lib", "save_model"),
    ("numpy", "save"),
    ("numpy", "savez"),
    ("json", "dump"),
    ("json", "dumps"),
)


def _constant_digest(value, sink) -> None:
    if isinstance(value, types.CodeType):
        _code_digest(value, sink)
    elif isinstance(value, (tuple, list)):
        sink.update(b"(")
        for item in value:
            _constant_digest(item, sink)
        sink.update(b")")
    elif isinstance(value, frozenset):
        sink.update(repr(sorted(repr(item) for item in value)).encode("utf-8"))
    else:
        sink.update(repr(value).encode("utf-8", "replace"))


def _code_digest(code, sink) -> None:
    sink.update(code.co_code)
    sink.update(repr(code.co_names).encode("utf-8"))
    for constant in code.co_consts:
        _constant_digest(constant, sink)


def _object_digest(value) -> str:
    """A digest of a function's, method's or property's code; the type name for anything else."""
    sink = hashlib.sha256()
    target = value
    if isinstance(target, (staticmethod, classmethod)):
        target = target.__func__
    if isinstance(target, property):
        for part in (target.fget, target.fset, target.fdel):
            code = getattr(part, "__code__", None)
            if code is not None:
                _code_digest(code, sink)
        return "property:" + sink.hexdigest()[:16]
    code = getattr(target, "__code__", None)
    if code is not None:
        _code_digest(code, sink)
        return "code:" + sink.hexdigest()[:16]
    if isinstance(target, types.BuiltinFunctionType):
        return "builtin:" + getattr(target, "__module__", "") + "." + getattr(target, "__qualname__", "")
    if isinstance(target, types.ModuleType):
        return "module:" + target.__name__ + ":" + os.path.realpath(getattr(target, "__file__", "") or "")
    return "type:" + type(target).__module__ + "." + type(target).__qualname__


def _resolve(root, dotted):
    value = root
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def fingerprint(module_names, exercise_module=None) -> dict:
    """Digest the code of the given modules (functions, classes' methods) and of the saving functions.

    Returns ``{"modules": {name: {member: digest}}, "questions": {...}, "callables": {...}}``;
    modules not imported are left out. Question instances of
    ``exercise_module`` are described by the names in their ``__dict__`` (a
    replaced ``check`` shows up there).
    """
    modules = {}
    for name in module_names:
        module = sys.modules.get(name)
        if module is None:
            continue
        members = {"__file__": os.path.realpath(getattr(module, "__file__", "") or "<no file>")}
        for attribute, value in sorted(vars(module).items()):
            if attribute.startswith("__"):
                continue
            if isinstance(value, type) and value.__module__ == name:
                for member, member_value in sorted(vars(value).items()):
                    if not (member.startswith("__") and member != "__init__"):
                        if callable(member_value) or isinstance(member_value, (property, staticmethod, classmethod)):
                            members[f"{attribute}.{member}"] = _object_digest(member_value)
            elif isinstance(value, types.ModuleType):
                members[attribute] = _object_digest(value)
            elif callable(value) and getattr(value, "__module__", None) == name:
                members[attribute] = _object_digest(value)
        modules[name] = members
    questions = {}
    module = sys.modules.get(exercise_module) if exercise_module else None
    exercise = getattr(module, "exercise", None)
    for question_name, question in sorted((getattr(exercise, "questions", None) or {}).items()):
        questions[f"{question_name} attributes"] = ",".join(sorted(vars(question)))
        questions[f"{question_name} class"] = type(question).__module__ + "." + type(question).__qualname__
        questions[f"{question_name} is the module's"] = str(getattr(module, question_name, None) is question)
    callables = {}
    for module_name, dotted in WATCHED_CALLABLES:
        owner = sys.modules.get(module_name)
        if owner is not None:
            try:
                callables[f"{module_name}:{dotted}"] = _object_digest(_resolve(owner, dotted))
            except AttributeError:
                callables[f"{module_name}:{dotted}"] = "missing"
    import builtins
    import io

    callables["builtins.open is io.open"] = str(builtins.open is io.open)
    return {"modules": modules, "questions": questions, "callables": callables}


def _is_placeholder(value) -> bool:
    return type(value).__name__ == "_Placeholder" or (isinstance(value, str) and value.strip() == "____")


def _json_safe(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(key): _json_safe(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [_json_safe(item) for item in value]
        try:
            return float(value)
        except (TypeError, ValueError):
            return repr(value)


def _save_value(name, value, folder, keras, numpy):
    """Save one notebook value; return its description for the evidence file."""
    if _is_placeholder(value):
        return {"kind": "placeholder"}
    if keras is not None and isinstance(value, keras.Model):
        file_name = f"{name}.keras"
        keras.saving.save_model(value, os.path.join(folder, file_name))
        description = {
            "kind": "keras_model",
            "file": file_name,
            "class": type(value).__name__,
            "weight_paths": [variable.path for variable in value.weights],
            "weight_shapes": [list(variable.shape) for variable in value.weights],
            "optimizer_iterations": None,
            "trained_variable_indices": None,
        }
        optimizer = getattr(value, "optimizer", None)
        if optimizer is not None and getattr(value, "compiled", False):
            try:
                description["optimizer_iterations"] = int(numpy.asarray(optimizer.iterations))
            except Exception:
                pass
        try:
            from tlkit.exercises.compile_state import variables_trained_by_fit

            trained = variables_trained_by_fit(value)
            if trained.paths is not None:
                paths = [variable.path for variable in value.weights]
                description["trained_variable_indices"] = sorted(
                    index for index, path in enumerate(paths) if path in trained.paths)
        except Exception:
            pass
        return description
    if isinstance(value, (bool, int, float, str, type(None))) or (
        isinstance(value, numpy.generic) and numpy.ndim(value) == 0 and value.dtype.kind in "biuf"
    ):
        return {"kind": "json", "value": value.item() if isinstance(value, numpy.generic) else value}
    if hasattr(value, "epoch") and hasattr(value, "params") and hasattr(value, "history"):
        return {"kind": "history", "epoch": [int(e) for e in value.epoch], "params": _json_safe(dict(value.params or {})),
                "history": _json_safe(dict(value.history or {}))}
    if isinstance(value, numpy.ndarray) and value.dtype.kind in "biuf":
        file_name = f"{name}.npy"
        numpy.save(os.path.join(folder, file_name), value, allow_pickle=False)
        return {"kind": "array", "file": file_name}
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(item, numpy.ndarray) and item.dtype.kind in "biuf" for item in value
    ):
        file_name = f"{name}.npz"
        numpy.savez(os.path.join(folder, file_name), *value)
        return {"kind": "array_list", "file": file_name, "count": len(value)}
    if isinstance(value, dict) and value and all(
        isinstance(key, str) and isinstance(item, numpy.ndarray) for key, item in value.items()
    ):
        file_name = f"{name}.npz"
        keys = list(value)
        numpy.savez(os.path.join(folder, file_name), *[value[key] for key in keys])
        return {"kind": "array_dict", "file": file_name, "keys": keys}
    class_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if class_name in RESULT_CLASSES:
        return {"kind": "tlkit_result", "class": class_name, "value": value.to_dict(digits=None)}
    if isinstance(value, (dict, list, tuple)) and is_plain_json(value):
        return {"kind": "json_container", "value": value}
    return {"kind": "unsupported", "type": type(value).__name__}


#: tlkit result objects a check may read, saved as their exact ``to_dict`` and
#: rebuilt by the checker with ``from_dict`` (no pickle).
RESULT_CLASSES = (
    "tlkit.negative_transfer.GapEstimate",
    "tlkit.negative_transfer.GapGrid",
    "tlkit.layer_transfer.LayerTransferResults",
)


def is_plain_json(value, depth: int = 0) -> bool:
    """Whether ``value`` is plain JSON data the grader may pass on as it is.

    Parameters
    ----------
    value : object
        A value read from a notebook or from evidence.
    depth : int, default 0
        How deep ``value`` is nested already; more than 6 levels is refused.

    Returns
    -------
    bool
        True for numbers, strings, booleans, None, and dicts (string keys),
        lists and tuples of them.
    """
    if depth > 6:
        return False
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain_json(item, depth + 1) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_plain_json(item, depth + 1) for item in value)
    return False


def _relations(models):
    """For each model, the other model (and position) it sits inside, or the model it is."""
    relations = {}
    for inner_name, inner in models.items():
        for outer_name, outer in models.items():
            if inner_name == outer_name:
                continue
            if outer is inner:
                relations[inner_name] = {"same_as": outer_name}
                break
            layers = list(outer._flatten_layers(include_self=False))
            positions = [index for index, layer in enumerate(layers) if layer is inner]
            if positions:
                relations[inner_name] = {"inside": outer_name, "index": positions[0]}
                break
    return relations


def save_evidence(student_globals, config) -> None:
    """Save the values a question reads, the exercise memory and a fingerprint into ``config["folder"]``.

    ``config`` keys: ``folder``, ``question``, ``names`` (notebook variables),
    ``exercise_module``, ``alias``, ``watched_modules``.
    """
    folder = config["folder"]
    os.makedirs(folder, exist_ok=True)
    numpy = sys.modules.get("numpy")
    if numpy is None:
        import numpy
    keras = sys.modules.get("keras")
    values, models = {}, {}
    for name in config["names"]:
        if name not in student_globals:
            values[name] = {"kind": "missing"}
            continue
        value = student_globals[name]
        try:
            values[name] = _save_value(name, value, folder, keras, numpy)
        except Exception as error:
            values[name] = {"kind": "unsaved", "error": f"{type(error).__name__}: {error}"[:300]}
        if values[name]["kind"] == "keras_model":
            models[name] = value
    memory = {}
    module = sys.modules.get(config["exercise_module"])
    exercise = getattr(module, "exercise", None)
    for key, value in sorted((getattr(exercise, "memory", None) or {}).items()):
        try:
            memory[key] = _save_value(f"memory-{len(memory)}", value, folder, keras, numpy)
        except Exception as error:
            memory[key] = {"kind": "unsaved", "error": f"{type(error).__name__}: {error}"[:300]}
    evidence = {
        "question": config["question"],
        "values": values,
        "relations": _relations(models),
        "memory": memory,
        "alias_bound": student_globals.get(config["alias"]) is module if config.get("alias") else True,
        "fingerprint": fingerprint(config["watched_modules"], config["exercise_module"]),
    }
    temporary = os.path.join(folder, EVIDENCE_FILE_NAME + ".partial")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(evidence, handle)
    os.replace(temporary, os.path.join(folder, EVIDENCE_FILE_NAME))


# -- integrity of the kernel's code -----------------------------------------------------------------
def _identity(value):
    """Who a function / descriptor is: the ids of the object, its code, globals, defaults and closure."""
    target = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
    if isinstance(target, property):
        return [id(target)] + [[id(part), id(getattr(part, "__code__", None))] for part in
                               (target.fget, target.fset, target.fdel)]
    return [id(target), id(getattr(target, "__code__", None)), id(getattr(target, "__globals__", None)),
            id(getattr(target, "__defaults__", None)), id(getattr(target, "__kwdefaults__", None)),
            id(getattr(target, "__closure__", None))]


class _Material:
    """What a digest would be computed from, kept as text: the grader hashes it outside the kernel.

    A submission can replace ``hashlib`` in its own interpreter (and make a
    later snapshot repeat an earlier one); it cannot change the grader's.
    """

    def __init__(self, start: bytes = b""):
        self.parts = [start.decode("latin-1")]

    def update(self, data: bytes) -> None:
        self.parts.append(data.decode("latin-1"))

    def text(self) -> str:
        return "\n".join(self.parts)


def integrity_snapshot(extra_modules=()) -> dict:
    """Per watched module, the identity of each of its functions, classes and their methods, as text.

    Replacing, wrapping or re-coding any of them (``Layer.get_config = ...``,
    ``f.__code__ = ...``, a module swapped in ``sys.modules``) changes the
    module's text. Only meaningful against a snapshot of the same process. The
    grader digests the texts itself (:func:`snapshot_digests`).
    """
    digests = {}
    names = set(extra_modules) | set(INTEGRITY_MODULES)
    for name, module in list(sys.modules.items()):
        if module is None or not (name.split(".")[0] in INTEGRITY_PREFIXES or name in names):
            continue
        sink = _Material(repr(id(module)).encode())
        try:
            members = sorted(vars(module).items())
        except TypeError:
            continue
        for attribute, value in members:
            if isinstance(value, type):
                sink.update(f"{attribute}={id(value)}".encode())
                if getattr(value, "__module__", None) == name:
                    for member, member_value in sorted(vars(value).items()):
                        if callable(member_value) or isinstance(member_value, (property, staticmethod, classmethod)):
                            sink.update(f"{attribute}.{member}={_identity(member_value)}".encode())
            elif isinstance(value, types.ModuleType):
                if sys.modules.get(f"{name}.{attribute}") is not value:  # a submodule imported later is fine
                    sink.update(f"{attribute}={id(value)}".encode())
            elif callable(value):
                sink.update(f"{attribute}={_identity(value)}".encode())
        digests[name] = sink.text()
    import builtins

    digests["builtins"] = repr([_identity(getattr(builtins, name, None)) for name in INTEGRITY_BUILTINS])
    return digests


def snapshot_digests(snapshot) -> dict:
    """The grader's own SHA-256 of each text of an :func:`integrity_snapshot` (run outside the kernel)."""
    if not isinstance(snapshot, dict):
        return {}
    return {str(name): hashlib.sha256(str(text).encode("utf-8", "replace")).hexdigest()[:20]
            for name, text in snapshot.items()}


def _publish(mime, payload) -> None:
    from IPython.display import display

    display({mime: payload}, raw=True)


def emit_baseline(config) -> None:
    """The grader's first cell: import what the checks and the saving code use, then display a snapshot.

    ``config`` keys: ``modules`` (the exercise module and the watched tlkit modules).
    """
    import importlib
    import tempfile

    import keras  # noqa: F401
    import numpy  # noqa: F401

    problems = []
    for name in config["modules"]:
        try:
            importlib.import_module(name)
        except Exception as error:  # reported; the checks will fail on their own
            problems.append(f"{name}: {type(error).__name__}")
    folder = tempfile.mkdtemp(prefix="tlkit-baseline-")
    try:  # imports Keras's saving and loading code now, so that it is in the baseline
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        keras.saving.save_model(model, os.path.join(folder, "model.keras"))
        keras.saving.load_model(os.path.join(folder, "model.keras"), compile=False, safe_mode=True)
        numpy.save(os.path.join(folder, "array.npy"), numpy.zeros(2), allow_pickle=False)
        numpy.savez(os.path.join(folder, "arrays.npz"), numpy.zeros(2))
        from tlkit.exercises import compile_state  # noqa: F401
    except Exception as error:
        problems.append(f"saving: {type(error).__name__}")
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    _publish(BASELINE_MIME, {"integrity": integrity_snapshot(config["modules"]), "problems": problems})


def emit_evidence(student_globals, config) -> None:
    """The cell after a check cell: save the question's values and display them as one output.

    ``config`` as for :func:`save_evidence`, without ``folder``. Files are
    base64-encoded in the output; a value that cannot be saved is described
    as such and the checker rejects it.
    """
    import base64
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="tlkit-evidence-")
    try:
        save_evidence(student_globals, dict(config, folder=folder))
        with open(os.path.join(folder, EVIDENCE_FILE_NAME), encoding="utf-8") as handle:
            evidence = json.load(handle)
        files = {}
        for name in sorted(os.listdir(folder)):
            if name == EVIDENCE_FILE_NAME:
                continue
            with open(os.path.join(folder, name), "rb") as handle:
                files[name] = base64.b64encode(handle.read()).decode("ascii")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _publish(EVIDENCE_MIME, {"question": config["question"], "evidence": evidence, "files": files,
                             "integrity": integrity_snapshot(config.get("watched_modules", ()))})
