"""The JSON Schema every quiz file in ``quizzes/`` must satisfy.

The schema checks the *shape* of a quiz file: which fields exist, their
types, and which fields each question type needs. Rules the schema cannot
express well (unique ids, exactly one correct option, ``low <= high``...)
live in :mod:`tlkit.quiz.loader`. The format is described for authors in
``docs/quiz-format.md``.
"""

from __future__ import annotations

__all__ = ["ID_PATTERN", "QUESTION_SCHEMA", "QUESTION_TYPES", "QUIZ_SCHEMA"]

QUESTION_TYPES = ("single", "multiple", "numeric", "text")

#: Ids are short, lower-case slugs: they end up in the gradebook.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

_MARKDOWN = {"type": "string", "minLength": 1, "description": "Markdown text."}

_OPTION = {
    "type": "object",
    "description": "One answer option of a single- or multiple-choice question.",
    "required": ["id", "text", "explanation"],
    "additionalProperties": False,
    "properties": {
        "id": {
            "type": "string",
            "pattern": ID_PATTERN,
            "description": "Stays in the kernel; recorded in the gradebook.",
        },
        "text": {
            "type": "string",
            "minLength": 1,
            "description": "Plain text shown next to the radio button or checkbox.",
        },
        "correct": {
            "type": "boolean",
            "default": False,
            "description": "Whether choosing this option is part of the right answer.",
        },
        "explanation": {**_MARKDOWN, "description": "Why this option is right or wrong (Markdown)."},
    },
}

_RIGHT_WRONG_EXPLANATION = {
    "type": "object",
    "description": "Feedback for a right and for a wrong answer (numeric and text questions).",
    "required": ["correct", "wrong"],
    "additionalProperties": False,
    "properties": {"correct": _MARKDOWN, "wrong": _MARKDOWN},
}


def _when_type(question_type: str, then: dict) -> dict:
    return {"if": {"properties": {"type": {"const": question_type}}, "required": ["type"]}, "then": then}


_CHOICE_FIELDS = {"required": ["options"]}
_NUMERIC_FIELDS = {
    "required": ["explanation"],
    "anyOf": [{"required": ["answer"]}, {"required": ["range"]}],
    "properties": {"explanation": _RIGHT_WRONG_EXPLANATION},
}
_TEXT_FIELDS = {
    "required": ["accepted", "explanation"],
    "properties": {"explanation": _RIGHT_WRONG_EXPLANATION},
}

QUESTION_SCHEMA = {
    "type": "object",
    "description": "One question. Which fields are needed depends on 'type'.",
    "required": ["id", "topic", "type", "text"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "Unique within the quiz."},
        "topic": {"type": "string", "minLength": 1, "description": "What the question is about."},
        "type": {"enum": list(QUESTION_TYPES), "description": "How the question is answered."},
        "text": {**_MARKDOWN, "description": "The question itself (Markdown)."},
        "options": {
            "type": "array",
            "minItems": 2,
            "items": _OPTION,
            "description": "single / multiple only: the options to choose from.",
        },
        "shuffle": {
            "type": "boolean",
            "default": True,
            "description": "single / multiple only: show the options in a seeded random order.",
        },
        "answer": {"type": "number", "description": "numeric only: the right value."},
        "tolerance": {
            "type": "number",
            "default": 0,
            "description": "numeric only: accepted absolute distance from 'answer'.",
        },
        "range": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": "numeric only: [low, high], both ends accepted (instead of 'answer').",
        },
        "accepted": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "description": "text only: accepted answers, compared after normalisation.",
        },
        "explanation": {
            "description": "numeric / text only: {correct: ..., wrong: ...} feedback.",
        },
    },
    "allOf": [
        _when_type("single", _CHOICE_FIELDS),
        _when_type("multiple", _CHOICE_FIELDS),
        _when_type("numeric", _NUMERIC_FIELDS),
        _when_type("text", _TEXT_FIELDS),
    ],
}

QUIZ_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tlkit quiz file",
    "description": "A quiz: an id, a title and a list of questions.",
    "type": "object",
    "required": ["id", "title", "questions"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "Usually the file name."},
        "title": {"type": "string", "minLength": 1},
        "description": {**_MARKDOWN, "description": "Optional introduction shown above the questions."},
        "questions": {"type": "array", "minItems": 1, "items": QUESTION_SCHEMA},
    },
}
