"""Text a client sends, checked once before it reaches the store (GEN-5).

Every name, number, nickname, email, reason, comment and key goes through
:func:`bounded_text`, so what one backend refuses with a raw driver error
(PostgreSQL: NUL in text, a value longer than its ``String(n)`` column; both:
a lone surrogate, which is not UTF-8) is a typed refusal on every backend.
"""

from __future__ import annotations

import unicodedata

from engine.errors import DomainError

#: the length of a comment, note or reason (stored as Text, but not unbounded)
MAX_PROSE = 4000

#: line breaks and tabs are fine in prose, never in a one-line name
_PROSE_CONTROLS = frozenset("\n\r\t")


def _bad_character(text: str, multiline: bool) -> str | None:
    """The first character the store or a one-line display cannot take, or None."""
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cs":  # a lone surrogate: not UTF-8, no driver can send it
            return ch
        if category == "Cc" and not (multiline and ch in _PROSE_CONTROLS):  # NUL, CR/LF, ESC, ...
            return ch
        if not multiline and not ch.isprintable() and ch != " ":  # bidi overrides and other format chars
            return ch
    return None


#: the length of a stored id (``String(32)``: engine.store.tables.new_id)
MAX_ID = 32


def is_id(value: object) -> bool:
    """Whether ``value`` could name a stored row: text of at most :data:`MAX_ID` characters that the
    store can compare (no NUL, no lone surrogate). Anything else is simply not found, on both backends."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID and _bad_character(value, False) is None


def text_problem(value: object, *, limit: int, multiline: bool = False, required: bool = True) -> str | None:
    """Why ``value`` is not acceptable text, or None: not a string, blank while ``required``, longer than
    ``limit``, or holding a character the store cannot keep (NUL, a lone surrogate) or, unless
    ``multiline``, any control or format character (a line break, a bidi override).

    For a command with a code of its own (``invalid_name``, ...); :func:`bounded_text` is the rest."""
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    if required and not value.strip():
        return "must not be empty"
    if len(value) > limit:
        return f"at most {limit} characters (got {len(value)})"
    bad = _bad_character(value, multiline)
    if bad is not None:
        return f"holds the character U+{ord(bad):04X}, which is not allowed"
    return None


def bounded_text(value: object, *, field: str, limit: int, rule: str | None = None, multiline: bool = False,
                 strip: bool = True, required: bool = True) -> str:
    """``value`` (stripped unless ``strip`` is false), or ``invalid_value`` saying its :func:`text_problem`."""
    text = value.strip() if strip and isinstance(value, str) else value
    problem = text_problem(text, limit=limit, multiline=multiline, required=required)
    if problem is not None:
        raise DomainError("invalid_value", f"{field}: {problem}", rule=rule)
    assert isinstance(text, str)
    return text


def optional_text(value: object, *, field: str, limit: int = MAX_PROSE, rule: str | None = None,
                  multiline: bool = True) -> str | None:
    """Optional prose (a comment, note, reason): None, blank or not, it is returned as it came;
    only its type, length and characters are checked (whether it is required is the command's rule)."""
    if value is None:
        return None
    return bounded_text(value, field=field, limit=limit, rule=rule, multiline=multiline, strip=False,
                        required=False)
