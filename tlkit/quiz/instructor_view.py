"""The instructor's view of a quiz: key, explanations and the class's answers.

Answers are read from the gradebook (``quiz_answers(quiz_id)``); for each
student only the latest answer to a question counts. Histograms are drawn
with a standalone matplotlib ``Figure`` (no pyplot state) and placed, as PNG,
in an ``Output`` widget per question.
"""

from __future__ import annotations

import base64
import collections
import html
import io
import json

import ipywidgets as widgets

from tlkit.quiz.answer_matching import AnswerFormatError, normalise_text, parse_number
from tlkit.quiz.markdown import markdown_to_html
from tlkit.quiz.questions import ChoiceQuestion, NumericQuestion, Quiz, QuizQuestion

__all__ = ["answer_counts", "build_instructor_view", "histogram_png", "latest_answers"]


def latest_answers(rows) -> dict[str, list]:
    """Group gradebook rows by question, keeping each student's latest answer.

    Parameters
    ----------
    rows : iterable of dict
        Rows with keys ``student_id``, ``question_id``, ``answer`` and
        optionally ``recorded_at`` (rows without it keep their order).

    Returns
    -------
    dict
        ``{question_id: [answer, ...]}``.
    """
    latest: dict[tuple, tuple] = {}
    for order, row in enumerate(rows):
        key = (row.get("question_id"), row.get("student_id"))
        stamp = (str(row.get("recorded_at") or ""), order)
        if key not in latest or stamp >= latest[key][0]:
            latest[key] = (stamp, row.get("answer"))
    grouped: dict[str, list] = collections.defaultdict(list)
    for (question_id, _student), (_stamp, answer) in latest.items():
        grouped[question_id].append(answer)
    return dict(grouped)


def _decode(answer):
    """Undo a JSON encoding the gradebook may have applied."""
    if isinstance(answer, str):
        try:
            return json.loads(answer)
        except ValueError:
            return answer
    return answer


def answer_counts(question: QuizQuestion, answers: list) -> tuple[list[str], list[int], list[bool]]:
    """Count answers for a bar chart: labels, counts and which bars are right answers."""
    if isinstance(question, ChoiceQuestion):
        counts = collections.Counter()
        for answer in answers:
            decoded = _decode(answer)
            chosen = decoded if isinstance(decoded, list) else [decoded]
            counts.update(str(option_id) for option_id in chosen)
        options = question.options
        return [option.id for option in options], [counts[option.id] for option in options], [option.correct for option in options]
    accepted = {normalise_text(variant) for variant in getattr(question, "accepted", ())}
    counts = collections.Counter()
    for answer in answers:
        decoded = _decode(answer)
        counts[normalise_text(decoded if isinstance(decoded, str) else answer) or "(blank)"] += 1
    top = counts.most_common(10)
    return [label for label, _ in top], [count for _, count in top], [label in accepted for label, _ in top]


def _numeric_values(answers: list) -> list[float]:
    values = []
    for answer in answers:
        try:
            values.append(parse_number(_decode(answer)))
        except (AnswerFormatError, TypeError):
            continue
    return values


def histogram_png(question: QuizQuestion, answers: list) -> bytes:
    """Draw the class's answers to ``question`` and return the PNG bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 2.4), dpi=80)
    axes = figure.add_subplot()
    if isinstance(question, NumericQuestion):
        values = _numeric_values(answers)
        axes.hist(values, bins=min(20, max(1, len(set(values)))), color="#4c72b0")
        axes.axvspan(question.low, question.high, color="#55a868", alpha=0.3, label="accepted")
        axes.legend(loc="upper right")
        axes.set_xlabel("answer")
    else:
        labels, counts, right = answer_counts(question, answers)
        colours = ["#55a868" if is_right else "#c44e52" for is_right in right]
        axes.bar(range(len(labels)), counts, color=colours)
        axes.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 5 else 0)
    axes.set_ylabel("students")
    axes.set_title(f"{question.id}: {len(answers)} answer(s); green = right", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _key_html(question: QuizQuestion) -> str:
    if isinstance(question, ChoiceQuestion):
        items = []
        for option in question.options:
            mark = "✔ right" if option.correct else "✘ wrong"
            items.append(
                f"<li><b>{mark}</b> <code>{html.escape(option.id)}</code> {html.escape(option.text)}"
                f"{markdown_to_html(option.explanation)}</li>"
            )
        return "<ul>" + "".join(items) + "</ul>"
    return (
        markdown_to_html(question.key_markdown())
        + "<p><b>If right:</b></p>" + markdown_to_html(question.explanation_correct)
        + "<p><b>If wrong:</b></p>" + markdown_to_html(question.explanation_wrong)
    )


def _class_answers(quiz: Quiz, gradebook) -> tuple[dict[str, list], str]:
    try:
        if gradebook is None:
            from tlkit.gradebook import Gradebook

            gradebook = Gradebook()
        return latest_answers(gradebook.quiz_answers(quiz.id)), ""
    except Exception as error:  # the key is still worth showing
        return {}, f"Could not read the class's answers from the gradebook: {error}"


def build_instructor_view(quiz: Quiz, gradebook=None) -> widgets.VBox:
    """Build the key, explanations and one histogram per question.

    Parameters
    ----------
    quiz : Quiz
        The quiz.
    gradebook : object, optional
        Anything with ``quiz_answers(quiz_id) -> list[dict]``; defaults to
        ``tlkit.gradebook.Gradebook()``.
    """
    answers, problem = _class_answers(quiz, gradebook)
    boxes = []
    if problem:
        warning = widgets.HTML(f'<div role="alert">⚠ {html.escape(problem)}</div>')
        warning.add_class("tlkit-quiz-warning")
        boxes.append(warning)
    for number, question in enumerate(quiz.questions, start=1):
        text = widgets.HTML(
            f"<h4>Question {number} <small>({question.type}, topic: {html.escape(question.topic)})</small></h4>"
            + markdown_to_html(question.text)
        )
        text.add_class("tlkit-quiz-text")
        key = widgets.HTML(_key_html(question))
        key.add_class("tlkit-quiz-key")
        output = widgets.Output()
        output.add_class("tlkit-quiz-histogram")
        given = answers.get(question.id, [])
        if given:
            png = base64.b64encode(histogram_png(question, given)).decode("ascii")
            data = {"image/png": png, "text/plain": f"<histogram of {len(given)} answers to {question.id!r}>"}
        else:
            data = {"text/plain": f"No answers to {question.id!r} recorded yet."}
        output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)
        box = widgets.VBox([text, key, output])
        box.add_class("tlkit-quiz-question")
        boxes.append(box)
    return widgets.VBox(boxes)
