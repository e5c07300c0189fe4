"""Keeping what the CLI prints from driving the user's terminal.

Ids, values, names and file names are echoed back to the user; one holding
``ESC[2J`` would clear their screen, a bidi override would reorder what they
read, and a lone surrogate (from a JSON ``"\\ud800"``) cannot even be encoded.
Every character of those kinds is written as a ``\\uXXXX`` escape instead: C0
controls except the newline (the structure of every output), DEL, C1
controls, the bidi controls, the line and paragraph separators, and
surrogates.

The ``\\uXXXX`` form is chosen because it is also a JSON string escape: our
JSON outputs only ever hold such characters inside strings (``json.dumps``
writes its structure in printable ASCII), so escaping a JSON document this way
leaves it valid JSON that decodes to the same values. One wrapper can then
guard every stream the CLI writes to.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, TextIO

__all__ = ["UNSAFE", "unsafe_pattern", "escape", "one_line", "SafeStream", "unwrap"]

#: The characters escaped (see the module docstring). Compiled on first use
#: (a class with the surrogate range takes a millisecond to compile, and most
#: runs only ever print ASCII): use :func:`unsafe_pattern`, or ``UNSAFE``.
_UNSAFE_CLASS = "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
#: The same, for text known to be ASCII (``str.isascii`` is free): C0 but the newline, and DEL.
_ASCII_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f]")
_unsafe: re.Pattern[str] | None = None


def unsafe_pattern() -> re.Pattern[str]:
    """The compiled character class of every character :func:`escape` escapes."""
    global _unsafe
    if _unsafe is None:
        _unsafe = re.compile(_UNSAFE_CLASS)
    return _unsafe


def __getattr__(name: str) -> Any:
    if name == "UNSAFE":
        return unsafe_pattern()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape(text: str) -> str:
    """``text`` with every unsafe character written as ``\\uXXXX``; the same object when there is none."""
    pattern = _ASCII_UNSAFE if text.isascii() else unsafe_pattern()
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escaped, text)


def one_line(text: str) -> str:
    """``text`` escaped, its newlines too: for a value (an id, a name, a refusal) printed
    inside a line of output, where a newline would forge the lines after it."""
    return escape(text).replace("\n", "\\u000a")


class SafeStream:
    """A text stream that escapes what is written to it; everything else goes to the stream it wraps.

    ``isatty``, ``fileno``, ``flush`` and the rest are the wrapped stream's, so
    code that writes to ``sys.stdout`` behaves the same with or without it.
    """

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(escape(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def unwrap(stream: Any) -> Any:
    """The stream under a :class:`SafeStream`: for bytes that must reach it unchanged
    (a progress bar's carriage returns, the text of a formatted file)."""
    while isinstance(stream, SafeStream):
        stream = stream.wrapped
    return stream
