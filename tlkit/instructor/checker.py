"""Re-check saved evidence in a clean process: ``python -m tlkit.instructor.checker < JOB.json``.

This process never runs student code, but it parses files a submission
produced (Keras model archives, arrays, the decoy gradebook), so the grader
runs it in a sandbox of its own, one per submission, that can read only that
submission's evidence and write nothing but its private ``/tmp``: a file
crafted to exploit a parser can at worst spoil its own submission's result.
The job arrives on standard input; results leave on standard output as JSON
lines, one per submission, which the grader validates. It imports pristine exercise modules
from the source tree, loads each question's artifacts (Keras models with
``safe_mode=True``, arrays without pickle, histories from JSON), validates
them, and runs the question's own check logic on them. It also compares the
fingerprint the kernel reported with its own, to detect monkeypatching.

"""

from __future__ import annotations

import copy
import importlib
import json
import pathlib
import sys
import traceback

from tlkit import keras_internals
from tlkit.exercises import compile_state
from tlkit.instructor import kernel_side

__all__ = ["ArtifactError", "UNSET", "check_question", "fingerprint_differences", "run_job"]

UNSET = object()


class ArtifactError(Exception):
    """An artifact that is missing, malformed or inconsistent with the evidence file."""


def _artifact_path(folder: pathlib.Path, file_name) -> pathlib.Path:
    if not isinstance(file_name, str) or "/" in file_name or "\\" in file_name or file_name.startswith("."):
        raise ArtifactError(f"artifact name {file_name!r} is not a plain file name")
    path = folder / file_name
    if not path.is_file():
        raise ArtifactError(f"artifact {file_name} is missing")
    return path


def _load_value(name: str, description: dict, folder: pathlib.Path):
    """Return the value, or UNSET for a missing / placeholder variable."""
    import keras
    import numpy

    if not isinstance(description, dict):
        raise ArtifactError(f"`{name}`: malformed description")
    kind = description.get("kind")
    if kind in ("missing", "placeholder"):
        return UNSET if kind == "missing" else "____"
    if kind == "json":
        value = description.get("value")
        if not isinstance(value, (bool, int, float, str, type(None))):
            raise ArtifactError(f"`{name}`: malformed JSON value")
        return value
    if kind == "history":
        history = keras.callbacks.History()
        epoch, params, logs = description.get("epoch"), description.get("params"), description.get("history")
        if not (isinstance(epoch, list) and all(isinstance(e, int) for e in epoch) and isinstance(params, dict)
                and isinstance(logs, dict)):
            raise ArtifactError(f"`{name}`: malformed History")
        history.epoch, history.params, history.history = epoch, params, logs
        return history
    if kind == "array":
        return numpy.load(_artifact_path(folder, description.get("file")), allow_pickle=False)
    if kind in ("array_list", "array_dict"):
        with numpy.load(_artifact_path(folder, description.get("file")), allow_pickle=False) as stored:
            arrays = [stored[f"arr_{index}"] for index in range(len(stored.files))]
        if kind == "array_list":
            return arrays
        keys = description.get("keys")
        if not isinstance(keys, list) or len(keys) != len(arrays):
            raise ArtifactError(f"`{name}`: the saved arrays do not match their keys")
        return dict(zip(keys, arrays))
    if kind == "keras_model":
        path = _artifact_path(folder, description.get("file"))
        try:
            model = keras.saving.load_model(path, compile=True, safe_mode=True)
        except Exception as error:
            raise ArtifactError(f"`{name}`: the saved model cannot be loaded safely ({type(error).__name__}: "
                                f"{str(error).splitlines()[0][:200] if str(error) else ''})") from None
        if not isinstance(model, keras.Model):
            raise ArtifactError(f"`{name}`: the saved file is not a Keras model")
        shapes = description.get("weight_shapes")
        if not isinstance(shapes, list) or [list(v.shape) for v in model.weights] != shapes:
            raise ArtifactError(f"`{name}`: the saved model's weights do not match the evidence")
        iterations = description.get("optimizer_iterations")
        optimizer = getattr(model, "optimizer", None)
        if isinstance(iterations, int) and iterations > 0 and optimizer is not None:
            if int(numpy.asarray(optimizer.iterations)) == 0:
                optimizer.iterations.assign(iterations)
        indices = description.get("trained_variable_indices")
        if indices is not None:
            if not all(isinstance(i, int) and 0 <= i < len(model.weights) for i in indices):
                raise ArtifactError(f"`{name}`: malformed training-step record")
            compile_state.record_trained_variables(model, (model.weights[i].path for i in indices))
        return model
    if kind == "json_container":
        value = description.get("value")
        if not isinstance(value, (dict, list)) or not kernel_side.is_plain_json(value):
            raise ArtifactError(f"`{name}`: malformed JSON value")
        return value
    if kind == "tlkit_result":
        class_name = description.get("class")
        if class_name not in kernel_side.RESULT_CLASSES:
            raise ArtifactError(f"`{name}`: {class_name!r} is not a result type the grader rebuilds")
        module_name, _, type_name = class_name.rpartition(".")
        result_type = getattr(importlib.import_module(module_name), type_name)
        try:
            return result_type.from_dict(description.get("value"))
        except Exception as error:
            raise ArtifactError(f"`{name}`: the saved {type_name} is malformed ({type(error).__name__}: {error})") from None
    if kind == "unsupported":
        return _Unsupported(description.get("type", "object"))
    if kind == "unsaved":
        raise ArtifactError(f"`{name}` could not be saved in the notebook ({description.get('error', '')})")
    raise ArtifactError(f"`{name}`: unknown artifact kind {kind!r}")


class _Unsupported:
    """Stands for a value of a type the grader cannot save; checks see a wrong type."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _same_weights(first, second) -> bool:
    import numpy

    if len(first.weights) != len(second.weights):
        return False
    return all(numpy.array_equal(numpy.asarray(a.numpy()), numpy.asarray(b.numpy()))
               for a, b in zip(first.weights, second.weights))


def _apply_relations(values: dict, relations: dict) -> None:
    """Make a model that sat inside another in the notebook the very same object again."""
    if not isinstance(relations, dict):
        raise ArtifactError("malformed model relations")
    for inner_name, relation in relations.items():
        if inner_name not in values or not isinstance(relation, dict):
            raise ArtifactError("malformed model relations")
        if "same_as" in relation and relation["same_as"] in values:
            values[inner_name] = values[relation["same_as"]]
            continue
        outer = values.get(relation.get("inside"))
        index = relation.get("index")
        # the same walk, in the same order, as kernel_side._relations used to record the index
        layers = keras_internals.flattened_layers(outer, include_self=False) if hasattr(outer, "_flatten_layers") else []
        if not isinstance(index, int) or not 0 <= index < len(layers):
            raise ArtifactError(f"`{inner_name}` is recorded inside `{relation.get('inside')}` at a position it does not have")
        candidate, inner = layers[index], values[inner_name]
        if type(candidate) is not type(inner) or not _same_weights(candidate, inner) or [
            layer.trainable for layer in keras_internals.flattened_layers(candidate)
        ] != [layer.trainable for layer in keras_internals.flattened_layers(inner)]:
            raise ArtifactError(f"`{inner_name}` differs from the layer recorded inside `{relation.get('inside')}`")
        trained = compile_state.recorded_trained_variables(inner)
        if trained is not None and compile_state.recorded_trained_variables(candidate) is None:
            compile_state.record_trained_variables(candidate, trained)
        values[inner_name] = candidate


def _remap_memory(memory: dict, values: dict, descriptions: dict) -> dict:
    """Re-key weight snapshots (variable path -> array) from the kernel's paths to the loaded models' paths."""
    import keras

    remapped = {}
    for key, value in memory.items():
        if isinstance(value, dict):
            for name, model in values.items():
                recorded = descriptions.get(name, {}).get("weight_paths")
                if isinstance(model, keras.Model) and recorded and set(recorded) == set(value):
                    value = {variable.path: value[path] for variable, path in zip(model.weights, recorded)}
                    break
        remapped[key] = value
    return remapped


def fingerprint_differences(reported, expected: dict) -> list[str]:
    """What differs between the kernel's fingerprint and the pristine one.

    Modules and callables the kernel never imported are not compared; inside a
    module that was imported, a missing or changed member counts.
    """
    if not isinstance(reported, dict):
        return ["the fingerprint is missing"]
    differences = []
    reported_modules = reported.get("modules") if isinstance(reported.get("modules"), dict) else {}
    for name, members in expected.get("modules", {}).items():
        seen = reported_modules.get(name)
        if seen is None:
            continue
        if not isinstance(seen, dict):
            differences.append(name)
            continue
        if seen.get("__file__") != members.get("__file__"):
            differences.append(f"{name} (another file)")
        for member, digest in members.items():
            if member == "__file__" or (member not in seen and str(digest).startswith("module:")):
                continue  # a submodule the notebook simply did not import
            if seen.get(member) != digest:
                differences.append(f"{name}.{member}")
        differences.extend(f"{name}.{member} (added)" for member, digest in seen.items()
                           if member not in members and not str(digest).startswith("module:"))
    for section in ("questions", "callables"):
        seen = reported.get(section) if isinstance(reported.get(section), dict) else {}
        for key, digest in expected.get(section, {}).items():
            if section == "callables" and key not in seen:
                continue
            if seen.get(key) != digest:
                differences.append(key)
    return differences


def _fresh_exercise(module):
    from tlkit.exercises.core import Exercise

    template = module.exercise
    return Exercise(template.notebook, **{name: type(q) for name, q in template.questions.items()})


def check_question(exercise, question_name: str, folder: pathlib.Path, expected_fingerprint: dict,
                   module=None, own_data: dict | None = None) -> dict:
    """Load one question's evidence and run its check; return status, message and tamper findings.

    ``own_data`` keeps what the exercise module's ``grader_data`` providers returned, by provider
    name, so that a job loads the checker's own data once; every question gets its own copy.
    """
    evidence_path = folder / kernel_side.EVIDENCE_FILE_NAME
    outcome = {"status": "not_attempted", "message": "", "hint_key": None, "problems": [],
               "fingerprint_differences": [], "alias_bound": True, "evidence": False}
    if not evidence_path.is_file():
        outcome["message"] = "no evidence was saved for this question (its check cell did not run to the end)"
        return outcome
    try:
        evidence = json.loads(evidence_path.read_text(encoding="utf-8"))
        if not isinstance(evidence, dict) or evidence.get("question") != question_name:
            raise ArtifactError("the evidence file does not belong to this question")
        outcome["evidence"] = True
        outcome["fingerprint_differences"] = fingerprint_differences(evidence.get("fingerprint"), expected_fingerprint)
        outcome["alias_bound"] = evidence.get("alias_bound") is True
        descriptions = evidence.get("values")
        if not isinstance(descriptions, dict):
            raise ArtifactError("malformed evidence: no values")
        values = {name: _load_value(name, description, folder) for name, description in descriptions.items()}
        _apply_relations(values, evidence.get("relations", {}))
        memory_descriptions = evidence.get("memory", {})
        if not isinstance(memory_descriptions, dict):
            raise ArtifactError("malformed evidence: memory")
        memory = {key: _load_value(f"memory {key}", description, folder) for key, description in memory_descriptions.items()}
        memory = _remap_memory({k: v for k, v in memory.items() if v is not UNSET}, values, descriptions)
    except ArtifactError as error:
        outcome.update(status="incorrect", message=f"the saved evidence is unusable: {error}")
        outcome["problems"].append(str(error))
        return outcome
    except (OSError, ValueError, KeyError, TypeError) as error:
        outcome.update(status="incorrect", message=f"the saved evidence is malformed ({type(error).__name__}: {error})")
        outcome["problems"].append(outcome["message"])
        return outcome
    namespace = {name: value for name, value in values.items() if value is not UNSET}
    provider = getattr(type(exercise[question_name]), "grader_data", None)
    if provider and module is not None:
        # the question is judged on the checker's own data, not on what the submission passed as context
        own_data = {} if own_data is None else own_data
        if provider not in own_data:
            own_data[provider] = getattr(module, provider)()
        namespace.update(copy.deepcopy(own_data[provider]))
    exercise.bind(namespace)
    exercise.memory.update(memory)
    result = exercise[question_name].evaluate()
    outcome.update(status=result.status, message=result.message, hint_key=result.hint_key)
    return outcome


def run_job(job: dict, emit) -> None:
    """Check every submission of the job, calling ``emit(record)`` once per submission."""
    for path in reversed(job.get("module_paths", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    import keras  # noqa: F401  (imported before fingerprinting, as in the kernel)
    import numpy  # noqa: F401

    module = importlib.import_module(job["exercise_module"])
    watched = []
    for name in job["watched_modules"]:
        try:
            importlib.import_module(name)
            watched.append(name)
        except ImportError:
            continue
    expected = kernel_side.fingerprint(watched, job["exercise_module"])
    own_data = {}  # the checker's own data, loaded once per job (grader_data providers)
    for submission in job["submissions"]:
        results = {}
        for question_name in submission["questions"]:
            folder = pathlib.Path(submission["artifacts"]) / question_name
            exercise = _fresh_exercise(module)
            if question_name not in exercise.questions:
                results[question_name] = {"status": "incorrect", "message": f"the exercise module has no {question_name}",
                                          "problems": [], "fingerprint_differences": [], "alias_bound": True,
                                          "hint_key": None, "evidence": False}
                continue
            try:
                results[question_name] = check_question(exercise, question_name, folder, expected, module, own_data)
            except Exception as error:  # one broken artifact must not stop the others
                results[question_name] = {"status": "incorrect", "hint_key": None, "fingerprint_differences": [],
                                          "alias_bound": True, "evidence": True,
                                          "message": f"the saved evidence could not be checked ({type(error).__name__})",
                                          "problems": [traceback.format_exc()[-500:]]}
        record = {"key": submission["key"], "questions": results}
        if submission.get("decoy"):
            from tlkit.instructor.sqlite_files import count_rows  # the decoy is read-only here: immutable

            record["decoy_rows"] = count_rows(submission["decoy"], immutable=True)
        emit(record)


def main(arguments=None) -> int:
    """Entry point: read the job from standard input (or the file given), write JSON lines to standard output."""
    import os

    arguments = sys.argv[1:] if arguments is None else arguments
    text = pathlib.Path(arguments[0]).read_text(encoding="utf-8") if arguments else sys.stdin.read()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to standard error, never into the results
    sys.stdout = sys.stderr

    def emit(record):
        channel.write(json.dumps(record) + "\n")
        channel.flush()

    run_job(json.loads(text), emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
