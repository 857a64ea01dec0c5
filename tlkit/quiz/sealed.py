"""Sealed quiz files: a quiz's YAML, obfuscated so that its answer key is not readable as plain text.

A released course ships ``quizzes/<id>.tlkq`` files instead of the YAML
sources. :func:`seal_text` compresses the YAML, mixes it with a key stream
derived from SHA-256 and a random nonce, and wraps the result in Base64 under
a one-line header. :func:`unseal_text` reverses it.

This is obfuscation, not secrecy: anyone running tlkit can read a sealed quiz
(the widget must), but a student browsing or searching the release folder does
not stumble on the right answers.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

from tlkit.errors import TlkitError

__all__ = ["SEALED_SUFFIX", "SealedQuizError", "seal_text", "unseal_text"]

SEALED_SUFFIX = ".tlkq"
_HEADER = "tlkit-sealed-quiz 1\n"
_CONTEXT = b"tlkit sealed quiz key stream"
_NONCE_BYTES = 16


class SealedQuizError(TlkitError, ValueError):
    """A sealed quiz file that cannot be opened (wrong header, cut short, altered)."""


def _key_stream(nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        blocks.append(hashlib.sha256(_CONTEXT + nonce + counter.to_bytes(8, "big")).digest())
    return b"".join(blocks)[:length]


def _mix(data: bytes, nonce: bytes) -> bytes:
    stream = _key_stream(nonce, len(data))
    return bytes(a ^ b for a, b in zip(data, stream))


def seal_text(text: str, nonce: bytes | None = None) -> str:
    """Return the sealed form of ``text`` (a quiz's YAML).

    Parameters
    ----------
    text : str
        The plain text.
    nonce : bytes, optional
        16 bytes; random when not given (so two releases differ).
    """
    nonce = os.urandom(_NONCE_BYTES) if nonce is None else bytes(nonce)
    packed = zlib.compress(text.encode("utf-8"), 9)
    digest = hashlib.sha256(packed).digest()[:8]
    body = base64.b64encode(nonce + _mix(digest + packed, nonce)).decode("ascii")
    lines = [body[start:start + 76] for start in range(0, len(body), 76)]
    return _HEADER + "\n".join(lines) + "\n"


def unseal_text(sealed: str, source: str = "sealed quiz", max_bytes: int | None = None) -> str:
    """Return the plain text of a sealed quiz.

    Parameters
    ----------
    sealed : str
        What :func:`seal_text` returned.
    source : str
        Shown in error messages (usually the file name).
    max_bytes : int, optional
        Refuse a quiz whose plain text is longer than this many bytes, without
        decompressing more than that (a small sealed file cannot expand into
        gigabytes).

    Raises
    ------
    SealedQuizError
        If the header is missing, the content was cut short or altered, does
        not decompress into UTF-8 text, or is longer than ``max_bytes``.
    """
    if not sealed.startswith(_HEADER):
        raise SealedQuizError(f"{source}: not a sealed tlkit quiz (missing header {_HEADER.strip()!r})")
    try:
        raw = base64.b64decode("".join(sealed[len(_HEADER):].split()), validate=True)
    except ValueError as error:
        raise SealedQuizError(f"{source}: the sealed quiz is damaged ({error})") from None
    if len(raw) <= _NONCE_BYTES + 8:
        raise SealedQuizError(f"{source}: the sealed quiz is cut short")
    nonce, mixed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    plain = _mix(mixed, nonce)
    digest, packed = plain[:8], plain[8:]
    if hashlib.sha256(packed).digest()[:8] != digest:
        raise SealedQuizError(f"{source}: the sealed quiz was altered or cut short (checksum mismatch)")
    inflater = zlib.decompressobj()
    try:
        if max_bytes is None:
            plain_bytes = inflater.decompress(packed) + inflater.flush()
        else:
            plain_bytes = inflater.decompress(packed, max_bytes + 1)
            if len(plain_bytes) > max_bytes:
                raise SealedQuizError(f"{source}: the sealed quiz holds more than {max_bytes:,} bytes of text")
        if not inflater.eof:
            raise SealedQuizError(f"{source}: the sealed quiz is cut short (incomplete compressed data)")
        return plain_bytes.decode("utf-8")
    except zlib.error as error:
        raise SealedQuizError(f"{source}: the sealed quiz is damaged ({error})") from None
    except UnicodeDecodeError:
        raise SealedQuizError(f"{source}: the sealed quiz does not hold UTF-8 text") from None
