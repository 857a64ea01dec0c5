"""Read a quiz file's bytes and parse its YAML within fixed bounds of time and memory.

A quiz file is written by a person, possibly a careless or hostile one, so
nothing in it may crash, hang or exhaust the kernel that loads it:

* only regular files are read, and never more than :data:`MAX_QUIZ_FILE_BYTES`
  (a FIFO or a device is named, never opened for a blocking read);
* YAML is parsed by :class:`QuizYamlLoader`, a safe loader for the part of
  YAML a quiz needs: no anchors or aliases (so no "billion laughs"), no
  explicit tags, nesting at most :data:`MAX_NESTING` deep, at most
  :data:`MAX_NODES` values, text keys only,
  finite numbers of at most :data:`MAX_NUMBER_CHARACTERS` characters.

Every problem is raised as :class:`QuizReadProblem` (a problem sentence and,
when known, a 1-based line), which :mod:`tlkit.quiz.loader` turns into a
``QuizFileError`` naming the file.
"""

from __future__ import annotations

import errno
import math
import os
import stat

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import ScalarNode

__all__ = [
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_NUMBER_CHARACTERS",
    "MAX_QUIZ_FILE_BYTES",
    "QuizReadProblem",
    "QuizYamlLoader",
    "decode_quiz_text",
    "parse_quiz_yaml",
    "read_quiz_bytes",
]

#: Larger files are refused by size, unread. The shipped quizzes are under 10 KiB.
MAX_QUIZ_FILE_BYTES = 128 * 1024
#: How deep mappings and lists may nest; a quiz needs 5 levels (quiz, questions, question, options, option).
MAX_NESTING = 12
#: Most YAML values (scalars, lists, mappings) a file may hold; a 10-question quiz has about 300.
MAX_NODES = 20_000
#: Longest number literal accepted; longer ones are refused rather than turned into huge integers.
MAX_NUMBER_CHARACTERS = 32

_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

_PLAIN_TAGS = {
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "seq", "map")
}
#: Tags the resolver gives plain scalars that look like dates or a lone '='; quizzes read them as text.
_TEXT_LIKE_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


class QuizReadProblem(Exception):
    """Why a quiz file could not be read or parsed.

    Parameters
    ----------
    problem : str
        One sentence: what is wrong and what to do.
    line : int, optional
        1-based line of the file, when known.
    missing : bool, default False
        Whether the file does not exist at all.
    """

    def __init__(self, problem: str, line: int | None = None, missing: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.missing = missing


def _kind_of(mode: int) -> str | None:
    """Describe a non-regular file mode in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, words in _FILE_KINDS:
        if test(mode):
            return words
    return "not a regular file"


def _too_large(size: int) -> QuizReadProblem:
    return QuizReadProblem(
        f"the file is {size:,} bytes, more than the {MAX_QUIZ_FILE_BYTES:,} bytes a quiz file may have; "
        "split it into several quizzes"
    )


def read_quiz_bytes(path) -> bytes:
    """Return the bytes of a quiz file, refusing anything but a regular file of bounded size.

    The file is opened without blocking and checked again once open, so a
    FIFO swapped in after the first check cannot make the read hang.

    Parameters
    ----------
    path : str or os.PathLike
        The quiz file.

    Raises
    ------
    QuizReadProblem
        If the path does not exist, cannot be opened, is not a regular file
        (folder, FIFO, device, socket, symlink loop) or is too large.
    """
    try:
        status = os.stat(path)
    except ValueError:  # an embedded NUL character
        raise QuizReadProblem("the file name contains a NUL character") from None
    except OSError as error:
        raise _open_problem(error) from None
    kind = _kind_of(status.st_mode)
    if kind is not None:
        raise QuizReadProblem(f"this is {kind}, not a quiz file; give the path of a .yaml file")
    if status.st_size > MAX_QUIZ_FILE_BYTES:
        raise _too_large(status.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise _open_problem(error) from None
    try:
        kind = _kind_of(os.fstat(descriptor).st_mode)
        if kind is not None:  # swapped after the first check
            raise QuizReadProblem(f"this is {kind}, not a quiz file; give the path of a .yaml file")
        chunks, total = [], 0
        while total <= MAX_QUIZ_FILE_BYTES:
            chunk = os.read(descriptor, MAX_QUIZ_FILE_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as error:
        raise QuizReadProblem(f"the file could not be read ({error.strerror or error})") from None
    finally:
        os.close(descriptor)
    if total > MAX_QUIZ_FILE_BYTES:  # it grew after the size check
        raise _too_large(total)
    return b"".join(chunks)


def _open_problem(error: OSError) -> QuizReadProblem:
    if error.errno == errno.ENOENT:
        return QuizReadProblem("the file does not exist", missing=True)
    if error.errno == errno.ELOOP:
        return QuizReadProblem("the path is a loop of symbolic links; point it at a real file")
    if error.errno in (errno.EACCES, errno.EPERM):
        return QuizReadProblem("permission denied; make the file readable")
    if error.errno == errno.ENOTDIR:
        return QuizReadProblem("a part of the path is a file, not a folder")
    return QuizReadProblem(f"the file could not be opened ({error.strerror or error})")


def decode_quiz_text(data: bytes) -> str:
    """Decode a quiz file's bytes as UTF-8, refusing binary content with a clear sentence.

    Raises
    ------
    QuizReadProblem
        If the bytes hold NUL bytes (a binary file) or are not UTF-8.
    """
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise QuizReadProblem("the file holds NUL bytes: it is binary, not YAML text", line=line)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise QuizReadProblem(
            f"byte 0x{data[error.start]:02x} is not UTF-8 text; save the file as UTF-8", line=line
        ) from None


def _line_of(node_or_event) -> int | None:
    mark = getattr(node_or_event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


class QuizYamlLoader(yaml.SafeLoader):
    """A safe YAML loader for quiz files, bounded in the work any input can cause.

    Beyond :class:`yaml.SafeLoader` it refuses anchors and aliases, explicit
    tags (``!!binary``, ``!foo``...), merge keys (``<<``), keys that are not
    text (``? [a, b]``, ``1:``, ``true:``), a key given twice in one mapping,
    nesting deeper than :data:`MAX_NESTING`, more than :data:`MAX_NODES` values,
    number literals longer than
    :data:`MAX_NUMBER_CHARACTERS` and non-finite numbers (``.nan``, ``.inf``,
    ``1.0e999``). Dates and a lone ``=`` are read as text.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    # -- composing: the structure of the document ---------------------------------------------
    def compose_node(self, parent, index):
        event = self.peek_event()
        line = _line_of(event)
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise QuizReadProblem(
                "YAML anchors (&name) and aliases (*name) are not allowed in a quiz; write the text out in full",
                line=line,
            )
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag is not None:
            written = event.tag.replace("tag:yaml.org,2002:", "!!")
            raise QuizReadProblem(
                f"YAML tags such as {written!r} are not allowed in a quiz; remove the tag "
                "(put text in quotes instead)",
                line=line,
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise QuizReadProblem(
                f"the file holds more than {MAX_NODES:,} values (texts, numbers, lists, fields); "
                "split it into several quizzes",
                line=line,
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise QuizReadProblem(
                    f"lists and mappings are nested more than {MAX_NESTING} levels deep; a quiz needs 5",
                    line=line,
                )
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1

    # -- constructing: Python values ---------------------------------------------------------------
    def construct_object(self, node, deep=False):
        if node.tag in _TEXT_LIKE_TAGS and isinstance(node, ScalarNode):
            return node.value
        if node.tag not in _PLAIN_TAGS:
            raise QuizReadProblem(f"YAML type {node.tag!r} is not allowed in a quiz", line=_line_of(node))
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            line = _line_of(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise QuizReadProblem("YAML merge keys (<<) are not allowed in a quiz; write the fields out", line=line)
            if not isinstance(key_node, ScalarNode):
                raise QuizReadProblem(
                    "a key is a list or a mapping; keys must be field names such as 'text'", line=line
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise QuizReadProblem(
                    f"key {key_node.value!r} is read as {type(key).__name__}, not as a field name; "
                    "keys must be field names such as 'text'",
                    line=line,
                )
            if key in seen:
                raise QuizReadProblem(f"key {key!r} appears twice in the same block; keep one", line=line)
            seen.add(key)
        return SafeConstructor.construct_mapping(self, node, deep=deep)

    def _check_number_length(self, node) -> None:
        if len(node.value) > MAX_NUMBER_CHARACTERS:
            raise QuizReadProblem(
                f"a number of {len(node.value)} characters is too long (at most {MAX_NUMBER_CHARACTERS}); "
                "put it in quotes if it is text",
                line=_line_of(node),
            )

    def construct_quiz_int(self, node):
        self._check_number_length(node)
        return SafeConstructor.construct_yaml_int(self, node)

    def construct_quiz_float(self, node):
        self._check_number_length(node)
        value = SafeConstructor.construct_yaml_float(self, node)
        if not math.isfinite(value):
            raise QuizReadProblem(
                f"{node.value!r} is not a finite number; use an ordinary number such as 0.5",
                line=_line_of(node),
            )
        return value


QuizYamlLoader.add_constructor("tag:yaml.org,2002:int", QuizYamlLoader.construct_quiz_int)
QuizYamlLoader.add_constructor("tag:yaml.org,2002:float", QuizYamlLoader.construct_quiz_float)


def parse_quiz_yaml(text: str):
    """Parse a quiz file's text with :class:`QuizYamlLoader`.

    Returns
    -------
    object
        The document (None for an empty file).

    Raises
    ------
    QuizReadProblem
        For anything the loader refuses and for YAML syntax errors (with line
        and column when YAML knows them).
    """
    try:
        return yaml.load(text, Loader=QuizYamlLoader)
    except QuizReadProblem:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable YAML"
        line = mark.line + 1 if mark is not None else None
        column = f" column {mark.column + 1}" if mark is not None else ""
        raise QuizReadProblem(
            f"YAML syntax error at{column}: {problem} (check indentation, quotes and colons)", line=line
        ) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1 if isinstance(error.position, int) else None
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        raise QuizReadProblem(
            f"the file holds the character {character}, which YAML does not allow; "
            "it may be binary, not a quiz",
            line=line,
        ) from None
    except yaml.YAMLError as error:
        raise QuizReadProblem(f"YAML syntax error: {str(error).splitlines()[0]}") from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as error:  # defence in depth
        raise QuizReadProblem(f"the YAML could not be read ({type(error).__name__})") from None
