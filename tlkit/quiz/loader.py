"""Read a quiz file, validate it and build a :class:`~tlkit.quiz.questions.Quiz`.

Validation has three stages, each failing with a one-line
:class:`QuizFileError` that names the file, the question and the problem:

1. YAML syntax (with line and column), including duplicated keys, which
   plain YAML would silently overwrite;
2. the JSON Schema in :mod:`tlkit.quiz.schema`;
3. rules the schema cannot express (unique ids, exactly one right option...).
"""

from __future__ import annotations

import os
import pathlib

import jsonschema
import yaml

from tlkit.errors import MissingFileError, TlkitError, UnknownNameError, describe_name_choice
from tlkit.quiz.grading import normalise_text
from tlkit.quiz.questions import (
    ChoiceQuestion,
    MultipleChoiceQuestion,
    NumericQuestion,
    Option,
    Question,
    Quiz,
    SingleChoiceQuestion,
    TextQuestion,
)
from tlkit.quiz.schema import QUIZ_SCHEMA
from tlkit.quiz.sealed import SEALED_SUFFIX, SealedQuizError, unseal_text

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
QUIZ_FOLDER = REPO_ROOT / "quizzes"
#: Extra folder searched for quizzes by id (a released course's sealed quizzes).
QUIZ_FOLDER_ENVIRONMENT_VARIABLE = "TLKIT_QUIZ_DIR"


class QuizFileError(TlkitError, ValueError):
    """A quiz file that cannot be used: bad YAML, schema violation or broken rule.

    Attributes
    ----------
    path : str
        The file, as shown in the message.
    question_id : str or None
        The question at fault, if the problem is inside one.
    problem : str
        What is wrong and what to do.
    line : int or None
        1-based line number, when known.
    """

    def __init__(self, path, problem: str, question_id: str | None = None, line: int | None = None):
        self.path = _display_path(path)
        self.problem = problem
        self.question_id = question_id
        self.line = line
        where = self.path
        if line is not None:
            where += f", line {line}"
        if question_id is not None:
            where += f", question {question_id!r}" if not question_id.startswith("#") else f", question {question_id}"
        super().__init__(f"{where}: {problem}")


def _display_path(path) -> str:
    """Show ``path`` relative to the working folder or the repository when possible."""
    path = pathlib.Path(path)
    for base in (pathlib.Path.cwd(), REPO_ROOT):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


# --------------------------------------------------------------------------- YAML


class _DuplicateKey(Exception):
    def __init__(self, key, line):
        super().__init__(key, line)
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: pathlib.Path):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise QuizFileError(path, "the file is not UTF-8 text; save it as UTF-8") from None
    if path.suffix == SEALED_SUFFIX:  # a released quiz: the YAML is sealed (see tlkit.quiz.sealed)
        try:
            text = unseal_text(text, source=_display_path(path))
        except SealedQuizError as error:
            raise QuizFileError(path, str(error).split(": ", 1)[-1]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as error:
        raise QuizFileError(
            path, f"key {error.key!r} appears twice in the same block; keep one", line=error.line
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable YAML"
        line = mark.line + 1 if mark is not None else None
        column = f" column {mark.column + 1}" if mark is not None else ""
        raise QuizFileError(
            path, f"YAML syntax error at{column}: {problem} (check indentation, quotes and colons)", line=line
        ) from None
    except yaml.YAMLError as error:
        raise QuizFileError(path, f"YAML syntax error: {error}".splitlines()[0]) from None


# ------------------------------------------------------------------------- schema

_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping (key: value lines)",
}


def _question_label(data, index: int) -> str:
    questions = data.get("questions") if isinstance(data, dict) else None
    if isinstance(questions, list) and index < len(questions):
        entry = questions[index]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            return entry["id"]
    return f"#{index + 1}"


def _location(node, path: list) -> str:
    """Turn a JSON path inside a question into words, e.g. ``'correct' of option 'b'``."""
    parts: list[str] = []
    index = 0
    while index < len(path):
        step = path[index]
        if step == "options" and index + 1 < len(path) and isinstance(path[index + 1], int):
            position = path[index + 1]
            options = node.get("options") if isinstance(node, dict) else None
            option = options[position] if isinstance(options, list) and position < len(options) else None
            has_id = isinstance(option, dict) and isinstance(option.get("id"), str)
            parts.append(f"option {option['id']!r}" if has_id else f"option {position + 1}")
            node, index = option, index + 2
            continue
        if isinstance(step, int) and parts:
            parts[-1] += f"[{step}]"
        else:
            parts.append(f"'{step}'")
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        index += 1
    return " of ".join(reversed(parts))


def _describe_schema_error(error: jsonschema.ValidationError, data) -> tuple[str | None, str]:
    path = list(error.absolute_path)
    question_id = None
    relative = path
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        question_id = _question_label(data, path[1])
        relative = path[2:]
        question = data["questions"][path[1]]
        base_node = question
    else:
        base_node = data
    where = _location(base_node, relative) if relative else ""
    instance = error.instance
    validator = error.validator
    if validator == "required":
        missing = [name for name in error.validator_value if isinstance(instance, dict) and name not in instance]
        name = missing[0] if missing else error.validator_value[0]
        qtype = instance.get("type") if isinstance(instance, dict) else None
        needed_by = f" (a {qtype} question needs it)" if question_id and not relative and qtype and name not in ("id", "topic", "type", "text") else ""
        subject = f"{where} has no" if where else "missing required field"
        return question_id, f"{subject} {name!r}{needed_by}"
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        prefix = f"{where}: " if where else ""
        return question_id, f"{prefix}unknown field {extra[0]!r}; allowed fields: {', '.join(allowed)}"
    if validator == "anyOf" and question_id and not relative:
        return question_id, "a numeric question needs 'answer' (with an optional 'tolerance') or 'range: [low, high]'"
    subject = where or "the file"
    if validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in expected)
        if subject == "the file":
            return None, f"the file must hold a mapping with 'id', 'title' and 'questions', not {type(instance).__name__}"
        hint = "; put it in quotes" if "string" in expected else ""
        return question_id, f"{subject} must be {wanted}, not {instance!r}{hint}"
    if validator == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return question_id, f"{subject} is {instance!r}; choose one of: {choices}"
    if validator == "pattern":
        return question_id, f"{subject} is {instance!r}, not a valid id; use lower-case letters, digits, '-' and '_'"
    if validator == "minItems":
        return question_id, f"{subject} needs at least {error.validator_value} item(s), has {len(instance)}"
    if validator == "maxItems":
        return question_id, f"{subject} allows at most {error.validator_value} item(s), has {len(instance)}"
    if validator == "minLength":
        return question_id, f"{subject} is empty; write some text"
    return question_id, f"{subject}: {error.message}"


def _validate_schema(path: pathlib.Path, data) -> None:
    validator = jsonschema.Draft202012Validator(QUIZ_SCHEMA)
    errors = list(validator.iter_errors(data))
    if not errors:
        return

    def question_index(error) -> int:
        steps = list(error.absolute_path)
        return steps[1] if len(steps) >= 2 and steps[0] == "questions" and isinstance(steps[1], int) else -1

    first = min(question_index(error) for error in errors)
    candidates = [error for error in errors if question_index(error) == first]
    # Report basic problems (missing id, unknown type) before type-specific ones.
    basic = [error for error in candidates if "allOf" not in error.schema_path]
    chosen = jsonschema.exceptions.best_match(basic or candidates)
    question_id, problem = _describe_schema_error(chosen, data)
    raise QuizFileError(path, problem, question_id=question_id)


# -------------------------------------------------------------- semantic checks

_FIELDS_BY_TYPE = {
    "single": {"options", "shuffle"},
    "multiple": {"options", "shuffle"},
    "numeric": {"answer", "tolerance", "range", "explanation"},
    "text": {"accepted", "explanation"},
}
_TYPE_SPECIFIC = set().union(*_FIELDS_BY_TYPE.values())


def _check_fields_fit_type(raw: dict, fail) -> None:
    qtype = raw["type"]
    for name in sorted(_TYPE_SPECIFIC - _FIELDS_BY_TYPE[qtype]):
        if name in raw:
            if name == "explanation":
                fail("choice questions explain each option, not the question; move 'explanation' into the options")
            fail(f"field {name!r} does not apply to a {qtype} question; remove it")


def _build_choice(raw: dict, fail) -> ChoiceQuestion:
    options = []
    seen_ids, seen_texts = {}, {}
    for number, entry in enumerate(raw["options"], start=1):
        if entry["id"] in seen_ids:
            fail(f"option id {entry['id']!r} is used by options {seen_ids[entry['id']]} and {number}; give each option its own id")
        seen_ids[entry["id"]] = number
        text_key = normalise_text(entry["text"])
        if text_key in seen_texts:
            fail(f"options {seen_texts[text_key]} and {number} have the same text {entry['text']!r}; students could not tell them apart")
        seen_texts[text_key] = number
        if not entry["explanation"].strip():
            fail(f"option {entry['id']!r} has a blank explanation; say why it is right or wrong")
        options.append(Option(entry["id"], entry["text"].strip(), bool(entry.get("correct", False)), entry["explanation"]))
    correct_count = sum(option.correct for option in options)
    cls = SingleChoiceQuestion if raw["type"] == "single" else MultipleChoiceQuestion
    if cls is SingleChoiceQuestion and correct_count != 1:
        fail(f"single-choice question has {correct_count} correct options; mark exactly one with 'correct: true'")
    if cls is MultipleChoiceQuestion and correct_count == 0:
        fail("multiple-answer question has no correct option; mark at least one with 'correct: true'")
    return cls(raw["id"], raw["topic"], raw["text"], options=tuple(options), shuffle=raw.get("shuffle", True))


def _build_explanations(raw: dict, fail) -> tuple[str, str]:
    explanation = raw["explanation"]
    for verdict_name in ("correct", "wrong"):
        if not explanation[verdict_name].strip():
            fail(f"'explanation: {verdict_name}' is blank; say why the answer is {'right' if verdict_name == 'correct' else 'wrong'}")
    return explanation["correct"], explanation["wrong"]


def _build_numeric(raw: dict, fail) -> NumericQuestion:
    if "answer" in raw and "range" in raw:
        fail("give either 'answer' (with 'tolerance') or 'range', not both")
    if "range" in raw:
        if "tolerance" in raw:
            fail("'tolerance' only applies with 'answer'; widen 'range' instead")
        low, high = (float(value) for value in raw["range"])
        if low > high:
            fail(f"range [{low:g}, {high:g}] has low > high; write it as [{high:g}, {low:g}]")
        answer, tolerance = None, 0.0
    else:
        answer, tolerance = float(raw["answer"]), float(raw.get("tolerance", 0))
        if tolerance < 0:
            fail(f"tolerance is {tolerance:g}; it must be 0 or more")
        low, high = answer - tolerance, answer + tolerance
    right, wrong = _build_explanations(raw, fail)
    return NumericQuestion(raw["id"], raw["topic"], raw["text"], low=low, high=high, answer=answer,
                           tolerance=tolerance, explanation_correct=right, explanation_wrong=wrong)


def _build_text(raw: dict, fail) -> TextQuestion:
    seen = {}
    for variant in raw["accepted"]:
        key = normalise_text(variant)
        if not key:
            fail(f"accepted answer {variant!r} is empty once case, spaces and punctuation are ignored")
        if key in seen:
            fail(f"accepted answers {seen[key]!r} and {variant!r} are the same once case, spaces and punctuation are ignored; keep one")
        seen[key] = variant
    right, wrong = _build_explanations(raw, fail)
    return TextQuestion(raw["id"], raw["topic"], raw["text"], accepted=tuple(raw["accepted"]),
                        explanation_correct=right, explanation_wrong=wrong)


_BUILDERS = {"single": _build_choice, "multiple": _build_choice, "numeric": _build_numeric, "text": _build_text}


def _build_quiz(path: pathlib.Path, data: dict) -> Quiz:
    if data["id"] != path.stem:
        raise QuizFileError(path, f"quiz id {data['id']!r} differs from the file name {path.name!r}; make them equal")
    questions: list[Question] = []
    first_number: dict[str, int] = {}
    for number, raw in enumerate(data["questions"], start=1):
        question_id = raw["id"]

        def fail(problem, question_id=question_id):
            raise QuizFileError(path, problem, question_id=question_id)

        if question_id in first_number:
            fail(f"id is used by questions {first_number[question_id]} and {number}; give each question its own id")
        first_number[question_id] = number
        if not raw["text"].strip():
            fail("'text' is blank; write the question")
        _check_fields_fit_type(raw, fail)
        questions.append(_BUILDERS[raw["type"]](raw, fail))
    return Quiz(data["id"], data["title"], tuple(questions), data.get("description", ""), path)


# -------------------------------------------------------------------- public API


def load_quiz(path) -> Quiz:
    """Load and validate a quiz file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.yaml`` quiz file (see ``docs/quiz-format.md``).

    Returns
    -------
    Quiz
        The validated quiz.

    Raises
    ------
    MissingFileError
        If there is no file at ``path``.
    QuizFileError
        If the file is not valid YAML, breaks the schema or a rule; the
        message names the file, the question and the problem.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingFileError(f"quiz file {_display_path(path)} does not exist")
    data = _read_yaml(path)
    if data is None:
        raise QuizFileError(path, "the file is empty; a quiz needs 'id', 'title' and 'questions'")
    _validate_schema(path, data)
    return _build_quiz(path, data)


def available_quizzes(folder=None) -> list[str]:
    """Return the ids of the quizzes shipped in ``quizzes/`` (or ``folder``), sorted.

    Sealed quizzes (``*.tlkq``, written by ``python -m tlkit release``) count too.
    """
    folder = pathlib.Path(folder) if folder is not None else QUIZ_FOLDER
    return sorted({path.stem for pattern in ("*.yaml", f"*{SEALED_SUFFIX}") for path in folder.glob(pattern)})


def _quiz_folders(folder) -> list[pathlib.Path]:
    """Folders searched for a quiz id, in order of preference."""
    if folder is not None:
        return [pathlib.Path(folder)]
    folders = [QUIZ_FOLDER]
    from_environment = os.environ.get(QUIZ_FOLDER_ENVIRONMENT_VARIABLE)
    if from_environment:
        folders.append(pathlib.Path(from_environment).expanduser())
    folders.append(pathlib.Path.cwd() / "quizzes")  # a released course: notebooks beside quizzes/
    return folders


def _find_quiz_file(quiz_id: str, folder) -> pathlib.Path | None:
    for candidate_folder in _quiz_folders(folder):
        for suffix in (".yaml", SEALED_SUFFIX):
            candidate = candidate_folder / f"{quiz_id}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def resolve_quiz(quiz_or_id, folder=None) -> Quiz:
    """Turn a :class:`Quiz`, a quiz id such as ``"02_freezing"`` or a path into a :class:`Quiz`.

    Parameters
    ----------
    quiz_or_id : Quiz, str or os.PathLike
        A loaded quiz, the id of a quiz in ``quizzes/`` or a path to a file.
    folder : str or os.PathLike, optional
        Where ids are looked up. By default: the repository's ``quizzes/``,
        then the folder in ``$TLKIT_QUIZ_DIR``, then ``quizzes/`` in the
        working folder (where a released course keeps its sealed ``.tlkq``
        quizzes).

    Raises
    ------
    UnknownNameError
        If an id names no quiz in the folder.
    """
    if isinstance(quiz_or_id, Quiz):
        return quiz_or_id
    text = os.fspath(quiz_or_id)
    looks_like_path = text.endswith((".yaml", ".yml", SEALED_SUFFIX)) or os.sep in text or "/" in text
    if looks_like_path:
        return load_quiz(text)
    candidate = _find_quiz_file(text, folder)
    if candidate is None:
        known = sorted({name for each in _quiz_folders(folder) if each.is_dir() for name in available_quizzes(each)})
        raise UnknownNameError(describe_name_choice("quiz", text, known))
    return load_quiz(candidate)
