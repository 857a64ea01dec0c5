"""Quiz files: schema and rule checks, clear errors, and pure-Python grading."""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
import yaml

from tlkit.errors import MissingFileError, TlkitError, UnknownNameError
from tlkit.quiz import (
    QUIZ_SCHEMA,
    AnswerFormatError,
    MultipleChoiceQuestion,
    NumericQuestion,
    QuizFileError,
    SingleChoiceQuestion,
    TextQuestion,
    available_quizzes,
    load_quiz,
    normalise_text,
    resolve_quiz,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUIZ_FOLDER = ROOT / "quizzes"
BAD = ROOT / "tests" / "fixtures" / "bad_quizzes"

# file stem -> (question id or None, fragment of the problem)
BAD_QUIZZES = {
    "yaml_syntax_error": (None, "line 6: YAML syntax error at column 4"),
    "duplicate_key": (None, "line 12: key 'correct' appears twice"),
    "empty_file": (None, "the file is empty"),
    "not_a_mapping": (None, "must hold a mapping with 'id', 'title' and 'questions', not list"),
    "missing_title": (None, "missing required field 'title'"),
    "id_mismatch": (None, "quiz id 'another_name' differs from the file name 'id_mismatch.yaml'"),
    "no_questions": (None, "'questions' needs at least 1 item(s), has 0"),
    "unknown_type": ("lr-choice", "'type' is 'choice'; choose one of: single, multiple, numeric, text"),
    "missing_option_explanation": ("frozen-meaning", "option 'b' has no 'explanation'"),
    "single_two_correct": ("bn-mode", "single-choice question has 2 correct options; mark exactly one"),
    "multiple_none_correct": ("freezing-facts", "multiple-answer question has no correct option"),
    "duplicate_question_id": ("twice", "id is used by questions 1 and 2"),
    "duplicate_option_id": ("same-option", "option id 'a' is used by options 1 and 2"),
    "duplicate_option_text": ("twin-text", "options 1 and 2 have the same text"),
    "numeric_range_reversed": ("lr-range", "has low > high"),
    "numeric_negative_tolerance": ("layer-count", "tolerance is -0.5; it must be 0 or more"),
    "numeric_answer_and_range": ("both-given", "give either 'answer' (with 'tolerance') or 'range', not both"),
    "numeric_no_answer": ("no-answer", "a numeric question needs 'answer'"),
    "numeric_tolerance_with_range": ("range-and-tolerance", "'tolerance' only applies with 'answer'"),
    "text_blank_variant": ("punctuation-only", "accepted answer '?!' is empty"),
    "text_duplicate_variants": ("same-variant", "accepted answers 'Compile' and 'compile()' are the same"),
    "text_missing_accepted": ("nothing-accepted", "missing required field 'accepted' (a text question needs it)"),
    "options_on_numeric": ("stray-options", "field 'options' does not apply to a numeric question"),
    "unknown_field": ("with-hint", "unknown field 'hint'"),
    "single_one_option": ("lonely", "'options' needs at least 2 item(s), has 1"),
    "bad_question_id": ("Batch Norm?", "not a valid id"),
    "correct_not_boolean": ("maybe-right", "'correct' of option 'a' must be true or false, not 'maybe'"),
    "explanation_on_choice": ("misplaced", "move 'explanation' into the options"),
    "blank_explanation": ("blank-why", "option 'b' has a blank explanation"),
    "text_not_string": ("numeric-label", "'text' of option 'b' must be text, not 42"),
}


def test_every_bad_fixture_is_listed():
    assert {path.stem for path in BAD.glob("*.yaml")} == set(BAD_QUIZZES)
    assert len(BAD_QUIZZES) >= 15


@pytest.mark.parametrize("stem", sorted(BAD_QUIZZES))
def test_bad_quiz_gives_a_one_line_message_naming_file_question_and_problem(stem):
    question_id, problem = BAD_QUIZZES[stem]
    with pytest.raises(QuizFileError) as caught:
        load_quiz(BAD / f"{stem}.yaml")
    message = str(caught.value)
    assert isinstance(caught.value, TlkitError)
    assert "\n" not in message
    assert message.startswith(f"tests/fixtures/bad_quizzes/{stem}.yaml")
    assert problem in message
    if question_id is not None:
        assert f"question {question_id!r}" in message
        assert caught.value.question_id == question_id
    assert caught.value.problem in message


def test_bad_quiz_messages_are_all_different():
    messages = set()
    for stem in BAD_QUIZZES:
        with pytest.raises(QuizFileError) as caught:
            load_quiz(BAD / f"{stem}.yaml")
        messages.add(caught.value.problem)
    assert len(messages) == len(BAD_QUIZZES)


def test_question_without_id_is_named_by_position(tmp_path):
    path = tmp_path / "anonymous.yaml"
    path.write_text("id: anonymous\ntitle: T\nquestions:\n  - topic: t\n    type: single\n    text: Q?\n")
    with pytest.raises(QuizFileError, match=r"question #1: missing required field 'id'"):
        load_quiz(path)


def test_missing_file_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        load_quiz(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("quiz_id", available_quizzes())
def test_every_shipped_quiz_validates(quiz_id):
    path = QUIZ_FOLDER / f"{quiz_id}.yaml"
    jsonschema.Draft202012Validator(QUIZ_SCHEMA).validate(yaml.safe_load(path.read_text()))
    quiz = load_quiz(path)
    assert quiz.id == quiz_id and quiz.title
    if quiz_id != "course":
        assert len(quiz.questions) >= 5
        assert {question.type for question in quiz.questions} == {"single", "multiple", "numeric", "text"}


def test_shipped_quizzes_are_the_expected_ones():
    expected = {"course", "00_welcome", "01_feature_extraction", "02_freezing", "03_fine_tuning",
                "04_negative_transfer", "05_layer_choice", "06_put_it_to_work"}
    assert expected <= set(available_quizzes())


def test_course_quiz_keeps_the_course_wording():
    quiz = load_quiz(QUIZ_FOLDER / "course.yaml")
    assert [question.text for question in quiz.questions] == [
        "What is a benefit of using transfer learning?",
        'What does "freezing layers" in transfer learning imply?',
        "What is the most important factor to consider when choosing a pre-trained model for transfer learning?",
    ]
    right = quiz.question("choosing-pretrained").option("a")
    assert right.correct and "related" in right.text


def test_schema_is_documented():
    question = QUIZ_SCHEMA["properties"]["questions"]["items"]
    for name, spec in question["properties"].items():
        assert spec.get("description"), name


def test_resolve_quiz_by_id_and_unknown_id():
    assert resolve_quiz("02_freezing").id == "02_freezing"
    with pytest.raises(UnknownNameError, match="unknown quiz 'nope'; choose one of: .*'02_freezing'"):
        resolve_quiz("nope")


# ------------------------------------------------------------------ grading


def _freezing():
    return load_quiz(QUIZ_FOLDER / "02_freezing.yaml")


def test_single_choice_grading():
    question = _freezing().question("bn-mode")
    assert isinstance(question, SingleChoiceQuestion)
    correct, feedback = question.grade("a")
    assert correct and feedback.startswith("**Correct.**") and "inference mode" in feedback
    correct, feedback = question.grade("b")
    assert not correct and feedback.startswith("**Not quite.**") and "before TensorFlow 2.0" in feedback
    assert question.grade(None) == (False, "**Not quite.** No option was chosen.")
    with pytest.raises(UnknownNameError, match="unknown option of question 'bn-mode' 'z'"):
        question.grade("z")


def test_multiple_answer_is_all_or_nothing():
    question = _freezing().question("freezing-facts")
    assert isinstance(question, MultipleChoiceQuestion)
    assert question.grade(["a", "b"]).correct
    assert question.grade({"b", "a"}).correct
    partial = question.grade(["a"])
    assert not partial.correct and "You left 1 right option unchecked." in partial.feedback
    too_many = question.grade(["a", "b", "c"])
    assert not too_many.correct and "non_trainable_weights" in too_many.feedback
    assert not question.grade([]).correct
    assert question.answer_for_record(("b", "a")) == ["a", "b"]


def test_numeric_with_tolerance_and_range():
    quiz = load_quiz(QUIZ_FOLDER / "04_negative_transfer.yaml")
    gap = quiz.question("ntg-compute")
    assert isinstance(gap, NumericQuestion)
    assert gap.grade(0.03).correct and gap.grade("0.0305").correct and gap.grade("0,03").correct
    assert not gap.grade(0.032).correct
    assert not gap.grade(-0.03).correct
    learning_rate = load_quiz(QUIZ_FOLDER / "03_fine_tuning.yaml").question("fine-tune-lr")
    assert (learning_rate.low, learning_rate.high) == (1e-5, 1e-4)
    assert learning_rate.grade("1e-5").correct and learning_rate.grade("5e-5").correct
    assert learning_rate.grade(1e-4).correct
    assert not learning_rate.grade("1e-3").correct
    with pytest.raises(AnswerFormatError, match="'ten' is not a number"):
        learning_rate.grade("ten")
    assert learning_rate.key_markdown() == "Right: any value from 1e-05 to 0.0001"


def test_text_answers_are_normalised():
    question = _freezing().question("frozen-weights-list")
    assert isinstance(question, TextQuestion)
    for typed in ("non_trainable_weights", "  Non-Trainable Weights ", "model.non_trainable_weights", "NON TRAINABLE WEIGHTS!"):
        assert question.grade(typed).correct, typed
    correct, feedback = question.grade("trainable_weights")
    assert not correct and "`non_trainable_weights`" in feedback
    assert not question.grade("   ").correct


def test_normalise_text():
    assert normalise_text("  Include_Top!  ") == "include top"
    assert normalise_text("ＡＢＣ") == "abc"
    assert normalise_text("a\t\nb") == "a b"


@pytest.mark.parametrize("quiz_id", available_quizzes())
def test_text_answers_are_not_given_away_by_other_visible_text(quiz_id):
    quiz = load_quiz(QUIZ_FOLDER / f"{quiz_id}.yaml")
    for question in quiz.questions:
        if not isinstance(question, TextQuestion):
            continue
        visible = [quiz.title, quiz.description]
        for other in quiz.questions:
            visible.append(other.text)
            visible += [option.text for option in getattr(other, "options", ())]
        page = f" {normalise_text(' '.join(visible))} "
        canonical = question.accepted[0]  # variants may be common words ("first")
        assert f" {normalise_text(canonical)} " not in page, (question.id, canonical)


# ------------------------------------------------------------------ hostile quiz files
#
# Every file up to the size limit must end in one clear QuizFileError (never another
# exception, never a hang); see tests/test_quiz_fuzz.py for the property-based version.

import copy
import math
import os
import threading
import time
import tracemalloc

from tlkit.quiz.loader import QuizFileNotFoundError
from tlkit.quiz.reading import MAX_NESTING, MAX_NODES, MAX_QUIZ_FILE_BYTES
from tlkit.quiz.sealed import seal_text


def _minimal_quiz(quiz_id: str = "hostile") -> dict:
    """A small valid quiz with one question of each type."""
    return {
        "id": quiz_id,
        "title": "Hostile",
        "description": "A quiz for tests.",
        "questions": [
            {"id": "pick", "topic": "t", "type": "single", "text": "Which?", "options": [
                {"id": "a", "text": "Apple", "correct": True, "explanation": "Yes."},
                {"id": "b", "text": "Banana", "explanation": "No."},
            ]},
            {"id": "count", "topic": "t", "type": "numeric", "text": "How many?", "answer": 3, "tolerance": 0.5,
             "explanation": {"correct": "Right.", "wrong": "Count again."}},
            {"id": "word", "topic": "t", "type": "text", "text": "Which word?", "accepted": ["freeze"],
             "explanation": {"correct": "Right.", "wrong": "It is freeze."}},
        ],
    }


def _write(tmp_path, content, name: str = "hostile.yaml") -> pathlib.Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


def _refusal(path) -> QuizFileError:
    """Load ``path`` expecting a refusal; check the message is one line naming the file."""
    with pytest.raises(QuizFileError) as caught:
        load_quiz(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(caught.value.path), message
    assert pathlib.Path(path).name in message or "\\" in message, message
    return caught.value


def test_the_minimal_quiz_used_below_is_valid(tmp_path):
    assert load_quiz(_write(tmp_path, _minimal_quiz())).id == "hostile"


def test_the_former_name_quiz_format_error_warns_and_is_the_same_class():
    from tlkit.quiz import loader

    with pytest.warns(DeprecationWarning, match="QuizFileError"):
        assert loader.QuizFormatError is QuizFileError


def test_billion_laughs_is_refused_at_once_without_memory_blow_up(tmp_path):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for number in range(1, 10):
        previous, name = chr(ord("a") + number - 1), chr(ord("a") + number)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    tracemalloc.start()
    started = time.monotonic()
    try:
        error = _refusal(path)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "aliases" in error.problem and error.line == 1
    assert elapsed < 10 and peak < 50_000_000  # the unbounded version took 60 s and 3.4 GB


@pytest.mark.parametrize("yaml_text", [
    "a: x\nb: *a\n",                       # an alias without anchor
    "a: &anchor x\n",                      # an anchor alone
])
def test_anchors_and_aliases_are_refused(tmp_path, yaml_text):
    assert "aliases" in _refusal(_write(tmp_path, yaml_text)).problem


@pytest.mark.parametrize("yaml_text", [
    "a: " + "[" * 100_000 + "]" * 100_000,
    "a: " + "{b: " * 3_000 + "c" + "}" * 3_000,
    "".join("  " * depth + "- \n" for depth in range(2_000)),
    "".join("  " * depth + f"k{depth}:\n" for depth in range(60)),
], ids=["flow-lists", "flow-mappings", "block-lists", "block-mappings"])
def test_deep_nesting_is_refused_without_recursion_error(tmp_path, yaml_text):
    error = _refusal(_write(tmp_path, yaml_text[: MAX_QUIZ_FILE_BYTES]))
    assert f"nested more than {MAX_NESTING} levels" in error.problem or "syntax error" in error.problem


def test_too_many_values_are_refused(tmp_path):
    path = _write(tmp_path, "a: [" + "1," * (MAX_NODES + 10) + "]\n")
    assert f"more than {MAX_NODES:,} values" in _refusal(path).problem


@pytest.mark.parametrize("yaml_text, fragment", [
    ("? [a, b]\n: c\n", "a key is a list or a mapping"),
    ("? {a: b}\n: c\n", "a key is a list or a mapping"),
    ("1: x\n", "key '1' is read as int"),
    ("null: x\n", "read as NoneType"),
    ("true: x\n", "read as bool"),
    ("<<: {id: x}\n", "merge keys"),
    ("id: !!binary aGVsbG8=\n", "YAML tags such as '!!binary'"),
    ("id: !!python/object/apply:os.system [ls]\n", "YAML tags"),
    ("id: !custom x\n", "YAML tags such as '!custom'"),
    ("id: !!int abc\n", "YAML tags"),
    ("id: ! x\n", "YAML tags"),
    ("id: x\nid: y\n", "key 'id' appears twice"),
])
def test_yaml_features_a_quiz_does_not_use_are_refused(tmp_path, yaml_text, fragment):
    assert fragment in _refusal(_write(tmp_path, yaml_text)).problem


@pytest.mark.parametrize("literal", ["9" * 400, "9" * 5000, "0x" + "f" * 400, "1:" * 30 + "1", "1" * 40 + ".5"])
def test_huge_number_literals_are_refused(tmp_path, literal):
    text = yaml.safe_dump(_minimal_quiz(), sort_keys=False).replace("tolerance: 0.5", f"tolerance: {literal}")
    assert "too long" in _refusal(_write(tmp_path, text)).problem


@pytest.mark.parametrize("field, literal", [
    ("tolerance", ".nan"), ("tolerance", ".inf"), ("answer", "-.inf"), ("answer", ".NaN"),
    ("tolerance", "1.0e+999"), ("answer", "-1.0e+400"),
])
def test_non_finite_numbers_are_refused(tmp_path, field, literal):
    quiz = _minimal_quiz()
    text = yaml.safe_dump(quiz, sort_keys=False).replace(f"{field}: {quiz['questions'][1][field]}", f"{field}: {literal}")
    assert f"{field}: {literal}" in text
    assert "not a finite number" in _refusal(_write(tmp_path, text)).problem


@pytest.mark.parametrize("changes", [
    {"answer": 1.5e308, "tolerance": 1.5e308},
    {"answer": -1.7e308, "tolerance": 1e308},
])
def test_a_numeric_interval_that_overflows_is_refused(tmp_path, changes):
    quiz = _minimal_quiz()
    quiz["questions"][1].update(changes)
    error = _refusal(_write(tmp_path, quiz))
    assert error.question_id == "count" and "not finite" in error.problem


def test_non_finite_range_is_refused(tmp_path):
    quiz = _minimal_quiz()
    del quiz["questions"][1]["answer"], quiz["questions"][1]["tolerance"]
    quiz["questions"][1]["range"] = [float("-inf"), 1.0]
    assert "not a finite number" in _refusal(_write(tmp_path, quiz)).problem


@pytest.mark.parametrize("twin", [
    "Apple\u200b",            # zero-width space
    "Ap\u00adple",            # soft hyphen
    "\ufeffApple",            # byte-order mark
    "A\u2060pple",            # word joiner
    "ＡＰＰＬＥ",              # full-width letters (NFKC)
    "APPLE",                  # case
    "  Apple\u3000 ",         # ideographic and ordinary spaces
    "Apple\u200d\u200c",      # zero-width joiner and non-joiner
    "Apple\ufe0f",            # variation selector
])
def test_options_equal_after_normalisation_are_refused(tmp_path, twin):
    quiz = _minimal_quiz()
    quiz["questions"][0]["options"][1]["text"] = twin
    error = _refusal(_write(tmp_path, quiz))
    assert error.question_id == "pick" and "options 1 and 2 have the same text" in error.problem


def test_accepted_answers_equal_after_removing_invisible_characters_are_refused(tmp_path):
    quiz = _minimal_quiz()
    quiz["questions"][2]["accepted"] = ["freeze", "fre\u200beze"]
    assert "are the same" in _refusal(_write(tmp_path, quiz)).problem
    assert normalise_text("fre\u200beze") == "freeze"


_BLANKS = ["   ", "\u200b", "\u3000\u00a0", " \u2800 ", "\u3164", "\n\t\n"]


@pytest.mark.parametrize("blank", _BLANKS)
@pytest.mark.parametrize("steps", [
    ("title",), ("description",), ("questions", 0, "text"), ("questions", 0, "topic"),
    ("questions", 0, "options", 1, "text"), ("questions", 0, "options", 1, "explanation"),
    ("questions", 1, "explanation", "wrong"), ("questions", 2, "accepted", 0),
])
def test_blank_texts_are_refused_everywhere(tmp_path, blank, steps):
    quiz = _minimal_quiz()
    node = quiz
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = blank
    error = _refusal(_write(tmp_path, quiz))
    assert "blank" in error.problem or "is empty" in error.problem, error.problem


@pytest.mark.parametrize("markdown", [
    "![logo](https://example.com/logo.png)",
    "![logo](http://example.com/logo.png)",
    "![logo](//example.com/logo.png)",
    "![logo](HTTPS://EXAMPLE.COM/logo.png)",
    "![logo][ref]\n\n[ref]: https://example.com/logo.png",
    "See <https://example.com>.",
    "See [the docs](https://keras.io).",
    "![x](http&#58;//example.com/x.png)",
    "![x](ftp://example.com/x.png)",
    "[mail](mailto:someone@example.com)",
    "![x]( https://example.com/x.png )",
])
@pytest.mark.parametrize("steps", [("description",), ("questions", 0, "text"), ("questions", 0, "options", 0, "explanation"),
                                   ("questions", 1, "explanation", "correct"), ("questions", 0, "options", 1, "text")])
def test_web_addresses_are_refused_in_every_text(tmp_path, markdown, steps):
    quiz = _minimal_quiz()
    node = quiz
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = markdown
    assert "web address" in _refusal(_write(tmp_path, quiz)).problem


@pytest.mark.parametrize("markdown", [
    "![dot](data:image/png;base64,iVBORw0KGgo=)",
    "See [the section above](#freezing).",
    "Ratio 3:1, path a/b, 50% and R&D.",
    "Write `https://example.com` in code: it is shown, never fetched.",
])
def test_offline_markdown_is_accepted(tmp_path, markdown):
    quiz = _minimal_quiz()
    quiz["questions"][0]["text"] = markdown
    assert load_quiz(_write(tmp_path, quiz)).question("pick").text == markdown


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\ud800", "\udfff"])
def test_control_characters_and_lone_surrogates_are_refused(tmp_path, character):
    quiz = _minimal_quiz()
    escaped = json.dumps(character)  # YAML double-quoted strings take JSON escapes
    text = yaml.safe_dump(quiz, sort_keys=False).replace("title: Hostile", f"title: {escaped}")
    error = _refusal(_write(tmp_path, text))
    assert "control character" in error.problem or "surrogate" in error.problem or "#x" in error.problem


def test_overlong_text_is_refused(tmp_path):
    quiz = _minimal_quiz()
    quiz["questions"][0]["text"] = "word " * 2_000
    assert "characters long" in _refusal(_write(tmp_path, quiz)).problem


def test_a_file_over_the_size_limit_is_refused_by_size(tmp_path):
    path = _write(tmp_path, "# comment\n" * (MAX_QUIZ_FILE_BYTES // 10 + 1))
    assert f"more than the {MAX_QUIZ_FILE_BYTES:,} bytes" in _refusal(path).problem


@pytest.mark.parametrize("content, fragment", [
    (b"", "the file is empty"),
    (b"   \n\n# only a comment\n", "the file is empty"),
    (b"- a\n- b\n", "must hold a mapping"),
    (b"just words\n", "must hold a mapping"),
    (b"42\n", "must hold a mapping"),
    (b"id: \xff\xfe\n", "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (bytes(range(256)) * 4, "binary"),
    (b"id: a\x07b\n", "YAML does not allow"),
    (b"\xef\xbb\xbfid: x\n", "missing required field 'title'"),
])
def test_junk_files_are_refused_clearly(tmp_path, content, fragment):
    assert fragment in _refusal(_write(tmp_path, content)).problem


@pytest.mark.parametrize("change, fragment", [
    ({"title": ["a", "list"]}, "'title' must be text"),
    ({"questions": {"a": 1}}, "'questions' must be a list"),
    ({"questions": "none"}, "'questions' must be a list"),
    ({"questions": [None]}, "must be a mapping"),
    ({"questions": [[]]}, "must be a mapping"),
    ({"id": 7}, "'id' must be text"),
    ({"description": {"x": 1}}, "'description' must be text"),
])
def test_wrong_types_at_the_top_are_refused(tmp_path, change, fragment):
    quiz = _minimal_quiz()
    quiz.update(change)
    assert fragment in _refusal(_write(tmp_path, quiz)).problem


@pytest.mark.parametrize("question, field, value, fragment", [
    (0, "options", "a, b", "must be a list"),
    (0, "options", [None, None], "must be a mapping"),
    (0, "shuffle", "sometimes", "must be true or false"),
    (1, "answer", "ten", "must be a number"),
    (1, "answer", [3], "must be a number"),
    (1, "tolerance", None, "must be a number"),
    (1, "range", [1, "2"], "must be a number"),
    (1, "explanation", "why", "must be a mapping"),
    (2, "accepted", "freeze", "must be a list"),
    (2, "accepted", [1, 2], "must be text"),
    (2, "text", 3.5, "must be text"),
    (2, "type", ["text"], "choose one of"),
])
def test_wrong_types_inside_questions_are_refused(tmp_path, question, field, value, fragment):
    quiz = _minimal_quiz()
    quiz["questions"][question][field] = value
    assert fragment in _refusal(_write(tmp_path, quiz)).problem


def test_a_folder_is_named_as_a_folder(tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    assert "this is a folder" in _refusal(tmp_path / "folder.yaml").problem


@pytest.mark.timeout(60)
def test_a_fifo_is_named_and_never_read(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(QuizFileError, load_quiz, fifo)))
    worker.daemon = True
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "loading a FIFO hung"
    assert "named pipe (FIFO)" in str(outcome[0].value)


def test_a_character_device_is_named(tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    assert "character device" in _refusal("/dev/null").problem


def test_a_symlink_loop_is_named(tmp_path):
    loop = tmp_path / "loop.yaml"
    os.symlink(loop, loop)
    assert "loop of symbolic links" in _refusal(loop).problem


def test_a_missing_file_is_both_a_quiz_file_error_and_a_missing_file_error(tmp_path):
    with pytest.raises(QuizFileNotFoundError, match="does not exist") as caught:
        load_quiz(tmp_path / "nowhere.yaml")
    assert isinstance(caught.value, MissingFileError) and isinstance(caught.value, QuizFileError)


def test_an_unreadable_file_is_named(tmp_path):
    path = _write(tmp_path, _minimal_quiz())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert "permission denied" in _refusal(path).problem
    finally:
        path.chmod(0o644)


def test_a_file_name_with_a_line_break_keeps_the_message_on_one_line(tmp_path):
    path = _write(tmp_path, b"- a\n", name="two\nlines.yaml")
    assert "two\\nlines.yaml" in str(_refusal(path))


def test_an_id_that_names_a_folder_or_fifo_is_reported_not_unknown(tmp_path):
    (tmp_path / "dir_quiz.yaml").mkdir()
    os.mkfifo(tmp_path / "pipe_quiz.yaml")
    with pytest.raises(QuizFileError, match="this is a folder"):
        resolve_quiz("dir_quiz", folder=tmp_path)
    with pytest.raises(QuizFileError, match="named pipe"):
        resolve_quiz("pipe_quiz", folder=tmp_path)


def test_the_widget_loads_quizzes_through_the_same_checks(tmp_path):
    from tlkit.quiz import show_quiz

    quiz = _minimal_quiz()
    quiz["questions"][0]["options"][1]["text"] = "Apple\u200b"
    with pytest.raises(QuizFileError, match="same text"):
        show_quiz(_write(tmp_path, quiz), record=False)


def test_release_seals_only_quizzes_that_pass_the_checks(tmp_path, monkeypatch):
    from tlkit.instructor import release

    quiz_folder = tmp_path / "quizzes"
    quiz_folder.mkdir()
    _write(quiz_folder, "a: " + "[" * 10_000 + "]" * 10_000, name="deep.yaml")
    monkeypatch.setattr("tlkit.paths.QUIZZES_DIR", quiz_folder)
    with pytest.raises(QuizFileError, match="nested more than"):
        release._seal_quiz("deep", tmp_path / "out")


def test_sealed_quizzes_are_checked_like_plain_ones(tmp_path):
    quiz = _minimal_quiz("sealed_q")
    plain = yaml.safe_dump(quiz, sort_keys=False)
    path = tmp_path / "sealed_q.tlkq"
    path.write_text(seal_text(plain))
    assert load_quiz(path).id == "sealed_q"
    path.write_text(seal_text(plain.replace("tolerance: 0.5", "tolerance: .nan")))
    assert "not a finite number" in _refusal(path).problem
    path.write_text(seal_text("a: " + "b" * (MAX_QUIZ_FILE_BYTES * 50)))  # a small file, a huge text
    assert path.stat().st_size < MAX_QUIZ_FILE_BYTES
    assert "more than" in _refusal(path).problem
    path.write_text(seal_text(plain)[:-30] + "\n")
    assert "sealed quiz" in _refusal(path).problem
    path.write_bytes(b"tlkit-sealed-quiz 1\n\xff\xfe")
    assert "not UTF-8" in _refusal(path).problem


# ------------------------------------------------------------------ property-based fuzzing

import random
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_FUZZ_SETTINGS = settings(
    max_examples=300, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_SHIPPED = {path.stem: path.read_bytes() for path in sorted(QUIZ_FOLDER.glob("*.yaml"))}
_YAML_PIECES = [
    "\n", "  ", "- ", ": ", "? ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!x ", "<<: ", "|", ">", "'", '"',
    "#", "%YAML 1.1\n", "---\n", "...\n", "\t", "\\", "\\u200b", "id", "title", "questions", "options", "text",
    "type", "single", "numeric", "answer", "tolerance", "range", "accepted", "explanation", "correct", "true",
    ".nan", ".inf", "1e308", "9" * 40, "0x1f", "1:2:3", "2020-01-01", "~", "null", "\u200b", "\u3000", "\ufeff",
    "\x00", "\x85", "\u2028", "\ud800", "![x](https://e.x/i.png)", "<http://e.x>", "é", "ＡＢ",
]
_fuzz_counts = {"examples": 0, "accepted": 0}


def _load_is_clean(content, name: str = "fuzzed.yaml") -> None:
    """Write ``content`` to a fresh file and load it: a Quiz or a one-line QuizFileError, nothing else."""
    _fuzz_counts["examples"] += 1
    with tempfile.TemporaryDirectory(prefix="tlkit-quiz-fuzz-") as folder:
        path = pathlib.Path(folder) / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        try:
            quiz = load_quiz(path)
        except QuizFileError as error:
            message = str(error)
            assert "\n" not in message and message.startswith(error.path) and error.problem in message
            assert name.split(".")[0] in error.path
            return
        _fuzz_counts["accepted"] += 1
        assert quiz.questions and all(question.text.strip() for question in quiz.questions)


@_FUZZ_SETTINGS
@given(st.lists(st.sampled_from(_YAML_PIECES) | st.text(max_size=8), max_size=200).map("".join))
def test_fuzz_random_yaml_like_text(text):
    _load_is_clean(text)


@_FUZZ_SETTINGS
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data):
    _load_is_clean(data)


def _mutate(original: bytes, operations, generator: random.Random) -> bytes:
    data = bytearray(original)
    for operation, piece in operations:
        position = generator.randrange(len(data) + 1)
        end = min(len(data), position + generator.randrange(1, 40))
        if operation == "delete":
            del data[position:end]
        elif operation == "insert":
            data[position:position] = piece.encode("utf-8", "surrogatepass")
        elif operation == "duplicate":
            data[position:position] = data[position:end] * generator.randrange(1, 4)
        elif operation == "replace":
            data[position:end] = piece.encode("utf-8", "surrogatepass")
        elif operation == "truncate":
            del data[position:]
        elif operation == "byte":
            data[position:position] = bytes([generator.randrange(256)])
    return bytes(data)


@_FUZZ_SETTINGS
@given(
    st.sampled_from(sorted(_SHIPPED)),
    st.lists(st.tuples(st.sampled_from(["delete", "insert", "duplicate", "replace", "truncate", "byte"]),
                       st.sampled_from(_YAML_PIECES) | st.text(max_size=6)), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
)
def test_fuzz_mutated_shipped_quizzes(stem, operations, seed):
    _load_is_clean(_mutate(_SHIPPED[stem], operations, random.Random(seed)), name=f"{stem}.yaml")


_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
            | st.sampled_from(["", " ", "\u200b", "single", "numeric", "text", "multiple", "a", "b", "![i](http://x)"]))
_KEYS = st.sampled_from(["id", "title", "description", "questions", "topic", "type", "text", "options", "correct",
                         "explanation", "answer", "tolerance", "range", "accepted", "shuffle", "wrong", "extra"])
_VALUES = st.recursive(_SCALARS, lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(_KEYS, children, max_size=6), max_leaves=40)


@_FUZZ_SETTINGS
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_fuzz_random_structures(document):
    _load_is_clean(yaml.safe_dump(document, allow_unicode=True))


def _all_steps(value, steps=()):
    yield steps
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _all_steps(item, steps + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _all_steps(item, steps + (index,))


@_FUZZ_SETTINGS
@given(st.sampled_from(sorted(_SHIPPED)), st.integers(0, 2**32 - 1), _VALUES, st.booleans())
def test_fuzz_shipped_quizzes_with_one_value_replaced(stem, seed, replacement, delete):
    document = yaml.safe_load(_SHIPPED[stem])
    steps = random.Random(seed).choice(list(_all_steps(document))[1:])
    node = document
    for step in steps[:-1]:
        node = node[step]
    if delete:
        del node[steps[-1]]
    else:
        node[steps[-1]] = copy.deepcopy(replacement)
    _load_is_clean(yaml.safe_dump(document, allow_unicode=True), name=f"{stem}.yaml")


@_FUZZ_SETTINGS
@given(st.sampled_from(sorted(_SHIPPED)),
       st.lists(st.tuples(st.sampled_from(["delete", "insert", "duplicate", "replace", "truncate", "byte"]),
                          st.sampled_from(_YAML_PIECES)), min_size=1, max_size=4),
       st.integers(0, 2**32 - 1), st.booleans())
def test_fuzz_sealed_quizzes(stem, operations, seed, damage_the_seal):
    generator = random.Random(seed)
    if damage_the_seal:
        sealed = _mutate(seal_text(_SHIPPED[stem].decode("utf-8")).encode("ascii"), operations, generator)
    else:
        sealed = seal_text(_mutate(_SHIPPED[stem], operations, generator).decode("utf-8", "replace")).encode("ascii")
    _load_is_clean(sealed, name=f"{stem}.tlkq")


def test_fuzzing_ran_and_reached_valid_quizzes():
    """Runs after the fuzz tests (file order): they ran, and some inputs were still valid quizzes."""
    print(f"quiz fuzz: {_fuzz_counts}")
    if _fuzz_counts["examples"] == 0:
        pytest.skip("run with the fuzz tests above")
    assert _fuzz_counts["examples"] >= 1000 and _fuzz_counts["accepted"] > 0, _fuzz_counts


@pytest.mark.parametrize("text", [
    "a: [" + "1," * (MAX_QUIZ_FILE_BYTES // 2 - 10) + "]",
    "".join(f"k{index}: v\n" for index in range(MAX_QUIZ_FILE_BYTES // 12)),
    "a: [" + "{b: 1}," * (MAX_QUIZ_FILE_BYTES // 8 - 2) + "]",
    "a: " + "[" * (MAX_QUIZ_FILE_BYTES // 2 - 4) + "]" * (MAX_QUIZ_FILE_BYTES // 2 - 4),
    "a: '" + "x " * (MAX_QUIZ_FILE_BYTES // 2 - 8) + "'",
], ids=["flat-list", "many-keys", "many-mappings", "deep-brackets", "one-long-text"])
def test_pathological_files_at_the_size_limit_finish_within_seconds(tmp_path, text):
    """Generous wall bound (shared machines): these take well under a second; unbounded ones took minutes."""
    path = _write(tmp_path, text[:MAX_QUIZ_FILE_BYTES])
    started = time.monotonic()
    _refusal(path)
    assert time.monotonic() - started < 20


def test_pathological_markdown_in_a_full_quiz_finishes_within_seconds(tmp_path):
    quiz = _minimal_quiz()
    filler = "![" * 2_000 + ":"
    quiz["questions"] = [copy.deepcopy(dict(quiz["questions"][0], id=f"q{index}", text=filler)) for index in range(30)]
    path = _write(tmp_path, quiz)
    assert path.stat().st_size <= MAX_QUIZ_FILE_BYTES
    started = time.monotonic()
    load_quiz(path)
    assert time.monotonic() - started < 20
