"""Markdown to HTML for question text and feedback.

Uses ``markdown-it-py`` (CommonMark), which Keras already pulls in through
``rich``. Raw HTML in quiz files is escaped, not passed through, so a quiz
file cannot inject markup or scripts into the page.
"""

from __future__ import annotations

import functools

from markdown_it import MarkdownIt

__all__ = ["link_targets", "markdown_to_html"]


@functools.lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def markdown_to_html(text: str) -> str:
    """Render Markdown ``text`` (CommonMark, raw HTML escaped) to an HTML fragment.

    Parameters
    ----------
    text : str
        Markdown, e.g. ``"Set `layer.trainable` to **False**."``.

    Returns
    -------
    str
        The HTML, e.g. ``"<p>Set <code>layer.trainable</code> to <strong>False</strong>.</p>"``.
    """
    return _renderer().render(text or "").strip()


def link_targets(text: str) -> list[tuple[str, str]]:
    """Return every address ``text`` links to or shows an image from, as CommonMark reads it.

    Inline links, reference links, autolinks (``<https://...>``) and images
    are found the way the renderer finds them, so no spelling slips past.

    Parameters
    ----------
    text : str
        Markdown.

    Returns
    -------
    list of (str, str)
        ``("link", href)`` or ``("image", src)`` pairs, in order.
    """
    targets = []
    pending = list(reversed(_renderer().parse(text or "")))
    while pending:
        token = pending.pop()
        if token.type == "image":
            targets.append(("image", str(token.attrGet("src") or "")))
        elif token.type == "link_open":
            targets.append(("link", str(token.attrGet("href") or "")))
        pending.extend(reversed(token.children or []))
    return targets
