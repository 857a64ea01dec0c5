"""Read a quiz file, validate it and build a :class:`~tlkit.quiz.questions.Quiz`.

Validation has four stages, each failing with a one-line
:class:`QuizFileError` that names the file, the question and the problem:

1. reading (:mod:`tlkit.quiz.reading`): a regular file of bounded size, UTF-8,
   YAML syntax (with line and column) restricted to what a quiz needs, so no
   file can crash or hang the loader (no aliases, bounded nesting, text keys,
   finite numbers, no key given twice);
2. the values: no control characters or lone surrogates in texts, no text
   longer than :data:`MAX_TEXT_CHARACTERS`;
3. the JSON Schema in :mod:`tlkit.quiz.schema`;
4. rules the schema cannot express (unique ids, exactly one right option, no
   blank text, no web addresses...).

Every quiz, whether loaded by path, by id, by the widget or by ``release``,
goes through :func:`load_quiz`.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
import unicodedata
import urllib.parse

import jsonschema

from tlkit import paths
from tlkit.errors import MissingFileError, TlkitError, UnknownNameError, describe_name_choice
from tlkit.quiz.answer_matching import is_invisible, normalise_text
from tlkit.quiz.exam import (
    EXAM_MODE,
    EXAM_QUIZ_SCHEMA,
    EXAM_SUFFIX,
    ExamMultipleChoiceQuestion,
    ExamNumericQuestion,
    ExamSingleChoiceQuestion,
    ExamTextQuestion,
)
from tlkit.quiz.markdown import link_targets
from tlkit.quiz import questions as quiz_model
from tlkit.quiz.questions import Option, Quiz
from tlkit.quiz.reading import (
    MAX_QUIZ_FILE_BYTES,
    QuizReadProblem,
    decode_quiz_text,
    parse_quiz_yaml,
    read_quiz_bytes,
)
from tlkit.quiz.schema import QUIZ_SCHEMA
from tlkit.quiz.sealed import SEALED_SUFFIX, SealedQuizError, unseal_text

__all__ = [
    "MAX_TEXT_CHARACTERS", "QUIZ_FOLDER_ENVIRONMENT_VARIABLE", "QuizFileError", "QuizFileNotFoundError",
    "available_quizzes", "load_quiz", "resolve_quiz",
]

#: Extra folder searched for quizzes by id (a released course's sealed quizzes).
QUIZ_FOLDER_ENVIRONMENT_VARIABLE = "TLKIT_QUIZ_DIR"
#: Longest text (question, option, explanation...) a quiz may hold.
MAX_TEXT_CHARACTERS = 5_000


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
        super().__init__(_one_line(f"{where}: {problem}"))



class QuizFileNotFoundError(QuizFileError, MissingFileError):
    """A quiz file that does not exist (both a :class:`QuizFileError` and a :class:`MissingFileError`)."""


def _one_line(text: str) -> str:
    """Escape line breaks and other unprintable characters, so a message stays on one line."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def _display_path(path) -> str:
    """Show ``path`` relative to the working folder or the repository when possible.

    Symbolic links are not followed (a link loop must not fail here), and
    unprintable characters in the name are escaped.
    """
    try:
        absolute = os.path.abspath(os.fspath(path))
    except (OSError, ValueError, TypeError):
        return _one_line(str(path))
    bases = [str(paths.REPO_ROOT)]
    try:
        bases.insert(0, os.getcwd())
    except OSError:
        pass
    for base in bases:
        for candidate_base in dict.fromkeys((base, os.path.realpath(base))):
            if absolute == candidate_base or absolute.startswith(candidate_base.rstrip(os.sep) + os.sep):
                return _one_line(pathlib.Path(os.path.relpath(absolute, candidate_base)).as_posix())
    return _one_line(str(path))


# ----------------------------------------------------------------------- reading


def _read_data(path: pathlib.Path):
    """Read, decode (unseal) and parse a quiz file; every problem is a :class:`QuizFileError`."""
    try:
        data = read_quiz_bytes(path)
        if path.suffix == SEALED_SUFFIX:  # a released quiz: the YAML is sealed (see tlkit.quiz.sealed)
            try:
                text = unseal_text(decode_quiz_text(data), source=_display_path(path), max_bytes=MAX_QUIZ_FILE_BYTES)
            except SealedQuizError as error:
                raise QuizReadProblem(str(error).split(": ", 1)[-1]) from None
        else:
            text = decode_quiz_text(data)
        return parse_quiz_yaml(text)
    except QuizReadProblem as problem:
        error_class = QuizFileNotFoundError if problem.missing else QuizFileError
        raise error_class(path, problem.problem, line=problem.line) from None


# ------------------------------------------------------------------------ values


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...." + text[-1]


def _bad_character(text: str) -> str | None:
    """Name the first character a quiz text may not hold (control character, lone surrogate), if any."""
    for character in text:
        code = ord(character)
        if 0xD800 <= code <= 0xDFFF:
            return f"a lone surrogate U+{code:04X}"
        if unicodedata.category(character) == "Cc" and character not in "\t\n\r":
            return f"the control character U+{code:04X}"
    return None


def _walk(value, steps: tuple = ()):
    """Yield ``(steps, value)`` for every value in a parsed document (depth is bounded by the reader)."""
    yield steps, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, steps + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, steps + (index,))


def _where(data, steps: tuple) -> tuple[str | None, str]:
    """``(question label, location in words)`` of a value inside the document."""
    if len(steps) >= 2 and steps[0] == "questions" and isinstance(steps[1], int):
        question = data["questions"][steps[1]]
        return _question_label(data, steps[1]), _location(question, list(steps[2:])) or "the question"
    return None, _location(data, list(steps)) or "the file"


def _check_values(path: pathlib.Path, data) -> None:
    """Refuse numbers that are not finite and texts with forbidden characters or too long."""
    for steps, value in _walk(data):
        problem = None
        if isinstance(value, float) and not math.isfinite(value):
            problem = f"is {value!r}; use an ordinary finite number"
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:
            problem = "is too large a number; use an ordinary number"
        elif isinstance(value, str):
            if len(value) > MAX_TEXT_CHARACTERS:
                problem = f"is {len(value):,} characters long; keep each text under {MAX_TEXT_CHARACTERS:,}"
            else:
                character = _bad_character(value)
                if character is not None:
                    problem = f"contains {character}; remove it"
        if problem is not None:
            question_id, where = _where(data, steps)
            raise QuizFileError(path, f"{where} {problem}", question_id=question_id)


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
        return question_id, f"{prefix}unknown field {_short_repr(extra[0])}; allowed fields: {', '.join(allowed)}"
    if validator == "anyOf" and question_id and not relative:
        return question_id, "a numeric question needs 'answer' (with an optional 'tolerance') or 'range: [low, high]'"
    subject = where or "the file"
    if validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in expected)
        if subject == "the file" and question_id is None:
            return None, f"the file must hold a mapping with 'id', 'title' and 'questions', not {type(instance).__name__}"
        if subject == "the file":
            return question_id, (f"the question must be a mapping (key: value lines) with 'id', 'topic', 'type' "
                                 f"and 'text', not {_short_repr(instance)}")
        hint = "; put it in quotes" if "string" in expected else ""
        return question_id, f"{subject} must be {wanted}, not {_short_repr(instance)}{hint}"
    if validator == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return question_id, f"{subject} is {_short_repr(instance)}; choose one of: {choices}"
    if validator == "pattern":
        return question_id, f"{subject} is {_short_repr(instance)}, not a valid id; use lower-case letters, digits, '-' and '_'"
    if validator == "minItems":
        return question_id, f"{subject} needs at least {error.validator_value} item(s), has {len(instance)}"
    if validator == "maxItems":
        return question_id, f"{subject} allows at most {error.validator_value} item(s), has {len(instance)}"
    if validator == "minLength":
        return question_id, f"{subject} is empty; write some text"
    return question_id, f"{subject}: {_short_repr(error.message, 200)}"


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


def _is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces, line breaks and invisible (format) characters."""
    return all(character.isspace() or is_invisible(character) for character in text)


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
_SPACES_IN_URLS = re.compile(r"[\t\n\r]")


def _remote_address(text: str) -> str | None:
    """The first web address ``text`` links to or shows an image from, if any.

    Any address with a scheme (``http:``, ``https:``, ``ftp:``, ``mailto:``...) or
    starting with ``//`` counts, except a ``data:`` image, which is part of the
    text itself. The course works offline: remote images would not load (and
    would tell a server who reads the quiz), remote links would not open.
    """
    if not any(marker in text for marker in (":", "/", "\\", "&", "%")):
        return None  # every web address needs one of these, even escaped; most texts have none
    for kind, target in link_targets(text):
        address = _SPACES_IN_URLS.sub("", urllib.parse.unquote(target)).strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08")
        address = address.replace("\\", "/").lower()
        if kind == "image" and address.startswith("data:"):
            continue
        if address.startswith("//") or _SCHEME.match(address):
            return target
    return None


def _check_texts(data: dict, fail_at) -> None:
    """Refuse blank texts and web addresses in every text of the quiz."""
    for steps, value in _walk(data):
        if not isinstance(value, str):
            continue
        if _is_blank(value):
            fail_at(steps, "is blank (only spaces or invisible characters); write some text")
        address = _remote_address(value)
        if address is not None:
            fail_at(steps, f"links to the web address {_short_repr(address)}; the course runs offline, so "
                           "put the content in the quiz (images: a data: URI) or name the page in words")


def _build_choice(raw: dict, fail) -> quiz_model.ChoiceQuestion:
    options = []
    seen_ids, seen_texts = {}, {}
    for number, entry in enumerate(raw["options"], start=1):
        if entry["id"] in seen_ids:
            fail(f"option id {entry['id']!r} is used by options {seen_ids[entry['id']]} and {number}; give each option its own id")
        seen_ids[entry["id"]] = number
        if _is_blank(entry["text"]):
            fail(f"option {entry['id']!r} has a blank text (only spaces or invisible characters); write the option")
        text_key = normalise_text(entry["text"])
        if text_key in seen_texts:
            fail(f"options {seen_texts[text_key]} and {number} have the same text {_short_repr(entry['text'])} once case, "
                 "spaces, punctuation and invisible characters are ignored; students could not tell them apart")
        seen_texts[text_key] = number
        if _is_blank(entry["explanation"]):
            fail(f"option {entry['id']!r} has a blank explanation; say why it is right or wrong")
        options.append(quiz_model.Option(entry["id"], entry["text"].strip(), bool(entry.get("correct", False)),
                                         entry["explanation"]))
    correct_count = sum(option.correct for option in options)
    cls = quiz_model.SingleChoiceQuestion if raw["type"] == "single" else quiz_model.MultipleChoiceQuestion
    if cls is quiz_model.SingleChoiceQuestion and correct_count != 1:
        fail(f"single-choice question has {correct_count} correct options; mark exactly one with 'correct: true'")
    if cls is quiz_model.MultipleChoiceQuestion and correct_count == 0:
        fail("multiple-answer question has no correct option; mark at least one with 'correct: true'")
    return cls(raw["id"], raw["topic"], raw["text"], options=tuple(options), shuffle=raw.get("shuffle", True))


def _build_explanations(raw: dict, fail) -> tuple[str, str]:
    explanation = raw["explanation"]
    for verdict_name in ("correct", "wrong"):
        if _is_blank(explanation[verdict_name]):
            fail(f"'explanation: {verdict_name}' is blank; say why the answer is {'right' if verdict_name == 'correct' else 'wrong'}")
    return explanation["correct"], explanation["wrong"]


def _build_numeric(raw: dict, fail) -> quiz_model.NumericQuestion:
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
    if not (math.isfinite(low) and math.isfinite(high)):
        fail(f"the accepted interval [{low:g}, {high:g}] is not finite; use ordinary numbers")
    right, wrong = _build_explanations(raw, fail)
    return quiz_model.NumericQuestion(raw["id"], raw["topic"], raw["text"], low=low, high=high, answer=answer,
                                      tolerance=tolerance, explanation_correct=right, explanation_wrong=wrong)


def _build_text(raw: dict, fail) -> quiz_model.TextQuestion:
    seen = {}
    for variant in raw["accepted"]:
        key = normalise_text(variant)
        if not key:
            fail(f"accepted answer {_short_repr(variant)} is empty once case, spaces and punctuation are ignored")
        if key in seen:
            fail(f"accepted answers {_short_repr(seen[key])} and {_short_repr(variant)} are the same once case, "
                 "spaces and punctuation are ignored; keep one")
        seen[key] = variant
    right, wrong = _build_explanations(raw, fail)
    return quiz_model.TextQuestion(raw["id"], raw["topic"], raw["text"], accepted=tuple(raw["accepted"]),
                                   explanation_correct=right, explanation_wrong=wrong)


_BUILDERS = {"single": _build_choice, "multiple": _build_choice, "numeric": _build_numeric, "text": _build_text}


def _build_exam_quiz(path: pathlib.Path, data) -> Quiz:
    """Validate the content of an exam quiz file and build its key-free :class:`Quiz` (``mode == "exam"``)."""
    errors = sorted(jsonschema.Draft202012Validator(EXAM_QUIZ_SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(step) for step in errors[0].absolute_path) or "the file"
        raise QuizFileError(path, f"exam quiz: {where}: {errors[0].message}")
    expected_id = path.name[: -len(EXAM_SUFFIX)] if path.name.endswith(EXAM_SUFFIX) else path.stem
    if data["id"] != expected_id:
        raise QuizFileError(path, f"quiz id {data['id']!r} differs from the file name {path.name!r}; make them equal")
    questions = []
    for raw in data["questions"]:
        kind = raw["type"]
        if kind in ("single", "multiple"):
            if "options" not in raw:
                raise QuizFileError(path, "a choice question needs 'options'", question_id=raw["id"])
            options = tuple(Option(entry["id"], entry["text"], False, "") for entry in raw["options"])
            cls = ExamSingleChoiceQuestion if kind == "single" else ExamMultipleChoiceQuestion
            questions.append(cls(raw["id"], "", raw["text"], options=options, shuffle=raw.get("shuffle", True)))
        elif kind == "numeric":
            questions.append(ExamNumericQuestion(raw["id"], "", raw["text"]))
        else:
            questions.append(ExamTextQuestion(raw["id"], "", raw["text"]))
    return Quiz(data["id"], data["title"], tuple(questions), data.get("description", ""), path, mode=EXAM_MODE)


def _build_quiz(path: pathlib.Path, data: dict) -> Quiz:
    if data["id"] != path.stem:
        raise QuizFileError(path, f"quiz id {data['id']!r} differs from the file name {path.name!r}; make them equal")
    questions: list[quiz_model.QuizQuestion] = []
    first_number: dict[str, int] = {}
    for number, raw in enumerate(data["questions"], start=1):
        question_id = raw["id"]

        def fail(problem, question_id=question_id):
            raise QuizFileError(path, problem, question_id=question_id)

        if question_id in first_number:
            fail(f"id is used by questions {first_number[question_id]} and {number}; give each question its own id")
        first_number[question_id] = number
        if _is_blank(raw["text"]):
            fail("'text' is blank; write the question")
        _check_fields_fit_type(raw, fail)
        questions.append(_BUILDERS[raw["type"]](raw, fail))

    def fail_at(steps, problem):
        question_id, where = _where(data, steps)
        raise QuizFileError(path, f"{where} {problem}", question_id=question_id)

    _check_texts(data, fail_at)
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
    QuizFileError
        If the file cannot be used: it is not a regular file (folder, FIFO,
        device, symlink loop), is larger than
        :data:`~tlkit.quiz.reading.MAX_QUIZ_FILE_BYTES`, is not UTF-8 YAML
        text, uses YAML a quiz does not allow (aliases, tags, deep nesting,
        non-text keys, non-finite numbers), breaks the schema or a rule. The
        one-line message names the file, the question and the problem. A
        missing file raises :class:`QuizFileNotFoundError`, which is also a
        :class:`~tlkit.errors.MissingFileError`.

    Notes
    -----
    Loading is bounded: a file under the size limit is read and checked in
    time and memory proportional to its size, whatever it holds.
    """
    path = pathlib.Path(path)
    data = _read_data(path)
    if data is None:
        raise QuizFileError(path, "the file is empty; a quiz needs 'id', 'title' and 'questions'")
    if isinstance(data, dict) and "mode" in data:  # a key-free exam release (see tlkit.quiz.exam)
        _check_values(path, data)
        return _build_exam_quiz(path, data)
    _validate_schema(path, data)
    _check_values(path, data)
    return _build_quiz(path, data)


def available_quizzes(folder=None) -> list[str]:
    """Return the ids of the quizzes shipped in ``quizzes/`` (or ``folder``), sorted.

    Sealed quizzes (``*.tlkq``, written by ``python -m tlkit release``) count too.
    """
    folder = pathlib.Path(folder) if folder is not None else paths.QUIZZES_DIR
    return sorted({_quiz_id_of(path) for pattern in ("*.yaml", f"*{SEALED_SUFFIX}") for path in folder.glob(pattern)})


def _quiz_id_of(path: pathlib.Path) -> str:
    return path.name[: -len(EXAM_SUFFIX)] if path.name.endswith(EXAM_SUFFIX) else path.stem


def _quiz_folders(folder) -> list[pathlib.Path]:
    """Folders searched for a quiz id, in order of preference."""
    if folder is not None:
        return [pathlib.Path(folder)]
    folders = [paths.QUIZZES_DIR]
    from_environment = os.environ.get(QUIZ_FOLDER_ENVIRONMENT_VARIABLE)
    if from_environment:
        folders.append(pathlib.Path(from_environment).expanduser())
    folders.append(pathlib.Path.cwd() / "quizzes")  # a released course: notebooks beside quizzes/
    return folders


def _find_quiz_file(quiz_id: str, folder) -> pathlib.Path | None:
    # an exam release wins wherever it is: a keyed copy of the quiz elsewhere must not turn an exam into self-check
    for candidate_folder in _quiz_folders(folder):
        candidate = candidate_folder / f"{quiz_id}{EXAM_SUFFIX}"
        if os.path.lexists(candidate):
            return candidate
    for candidate_folder in _quiz_folders(folder):
        for suffix in (".yaml", SEALED_SUFFIX):
            candidate = candidate_folder / f"{quiz_id}{suffix}"
            if os.path.lexists(candidate):  # a folder, FIFO or broken link is reported by load_quiz
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


def __getattr__(name):
    if name == "QuizFormatError":
        import warnings

        warnings.warn("tlkit.quiz.loader.QuizFormatError is deprecated; use QuizFileError, its one name",
                      DeprecationWarning, stacklevel=2)
        return QuizFileError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
