"""Reading CLI inputs: a path or ``-`` for stdin, decoded the same way for both."""

from __future__ import annotations

import sys
from pathlib import Path

BOM = "\ufeff"


def decode_source(data: bytes, label: str) -> str:
    """UTF-8 text of a rule file or JSON config, without a leading byte-order mark.

    Editors on Windows write a BOM; it is not part of the text. Invalid UTF-8
    is refused with the line and column of the first bad byte, the same for a
    file and for stdin (``OSError``, which the CLI reports as exit 2).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        reason = f"not a UTF-8 text file ({exc.reason} 0x{data[exc.start]:02x} at line {line}, column {column})"
        error = OSError(reason)
        error.filename, error.strerror = label, reason
        raise error from None
    return text[1:] if text.startswith(BOM) else text


def read_input(name: str) -> tuple[str, str]:
    """Return ``(text, label)``; ``OSError`` propagates to the CLI as exit 2."""
    if name == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # a text-only stdin (tests, embedding): already decoded
            text = sys.stdin.read()
            return (text[1:] if text.startswith(BOM) else text), "<stdin>"
        return decode_source(buffer.read(), "<stdin>"), "<stdin>"
    return decode_source(Path(name).read_bytes(), name), name
