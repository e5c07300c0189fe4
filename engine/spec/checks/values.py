"""Bounds on every value, so that a workflow that checks clean can always run.

The other checks judge meaning; these judge size and content, and run first:
a due period the calendar cannot count, an amount too large for exact
arithmetic (GEN-3: :data:`engine.spec.disbursement_rules.MAX_MONEY_DIGITS`), a
whole number too long to print, a name holding a carriage return (it would
end an email subject line) or a lone surrogate (it cannot be written as
UTF-8, so no output, compiled document or content hash could hold it).

When one of them fails, :func:`engine.spec.checks.run_checks` reports these alone:
every later check quotes names and values in its messages and computes with
literals, and would repeat the problem or stumble on it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Iterable, Iterator

from engine.diagnostics import (
    MAX_DUE_DAYS,
    MAX_INTEGER_DIGITS,
    MAX_TEXT_LENGTH,
    Diagnostic,
    make,
)
from engine.spec.checks.expressions import condition_expressions, money_well_formed, walk
from engine.spec.model import IntLit, MoneyLit, ResponseStep, WorkflowConfig

#: :data:`engine.spec.disbursement_rules.MAX_MONEY_DIGITS` (a test holds them equal;
#: importing that module here would slow every `payroute check` start).
MAX_MONEY_DIGITS = 15


class _BadChars:
    """C0 and C1 controls and DEL, lone surrogates, the line and paragraph
    separators, and the bidirectional embeddings, overrides and isolates (which
    make text read differently from what it holds). The pattern is compiled on
    first use: most texts are ASCII, judged without it."""

    _pattern: re.Pattern[str] | None = None

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            pattern = type(self)._pattern = re.compile(
                "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
        return pattern

    def search(self, text: str) -> re.Match[str] | None:
        if text.isascii() and text.isprintable():
            return None
        return self._compiled().search(text)

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        if self.search(text) is None:
            return text
        return self._compiled().sub(repl, text)


_BAD_CHAR = _BadChars()
_NAMED = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x1b": "an escape character",
          "\x00": "a NUL character", "\u2028": "a line separator", "\u2029": "a paragraph separator"}
_MAX_QUOTED = 40

# What a text is, by its key in the model.
_WHAT = {"name": "name", "status": "status", "response": "answer", "target": "step name",
         "otherwise": "step name", "start": "step name", "string": "text value", "list": "text value",
         "fact": "fact name", "tool": "tool name", "date": "date"}


def _describe(ch: str) -> str:
    if ch in _NAMED:
        return f"{_NAMED[ch]} (U+{ord(ch):04X})"
    if "\ud800" <= ch <= "\udfff":
        return f"a lone surrogate (U+{ord(ch):04X}, not a character)"
    if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        return f"a bidirectional control character (U+{ord(ch):04X})"
    return f"a control character (U+{ord(ch):04X})"


def quote_safely(text: str) -> str:
    """``text`` for a message: bad characters as ``\\uXXXX``, long text cut short."""
    cut = text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "…"
    return _BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", cut)


def _texts(node: object, path: tuple[object, ...]) -> Iterator[tuple[tuple[object, ...], str]]:
    """Every text of the model with its path (iterative: expressions nest)."""
    stack: list[tuple[object, tuple[object, ...]]] = [(node, path)]
    while stack:
        value, at = stack.pop()
        if isinstance(value, str):
            yield at, value
        elif isinstance(value, tuple):
            stack.extend((v, at + (i,)) for i, v in reversed(list(enumerate(value))))
        elif dataclasses.is_dataclass(value):
            stack.extend((getattr(value, f.name), at + (f.name,))
                         for f in reversed(dataclasses.fields(value)))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) \
            if dataclasses.is_dataclass(cls) else ()
    return names


def _all_clean(config: WorkflowConfig) -> bool:
    """The common case, fast (this runs on every check and publish): every text is fine."""
    stack: list[object] = [config]
    while stack:
        value = stack.pop()
        if type(value) is str:
            if len(value) > MAX_TEXT_LENGTH or _BAD_CHAR.search(value) is not None:
                return False
        elif type(value) is tuple:
            stack.extend(value)
        else:
            stack.extend(getattr(value, name) for name in _field_names(type(value)))
    return True


def _what(path: tuple[object, ...]) -> str:
    keys = [p for p in path if isinstance(p, str)]
    key = keys[-1] if keys else "name"
    if key == "name" and len(path) == 1:
        return "workflow name"
    if key == "name" and ("assignees" in keys or keys[:1] == ["manager"]):
        return "party name"
    if key == "name" and path[0] == "steps" and len(path) == 3:
        return "step name"
    return _WHAT.get(key, "text")


def text_invalid(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Both ``text_invalid`` and ``text_too_long``, in model order."""
    if _all_clean(config):
        return
    for path, text in _texts(config, ()):
        what = _what(path)
        bad = _BAD_CHAR.search(text)
        if bad is not None:
            yield make(
                "text_invalid",
                f"{what} `{quote_safely(text)}` holds {_describe(bad.group())} at character {bad.start() + 1}",
                path=path,
                hint="names and texts are one line of printable text: remove the character "
                     "(it would break email subjects and terminal output)",
            )
        elif len(text) > MAX_TEXT_LENGTH and path[-1] not in ("money", "date"):  # judged as values
            yield make(
                "text_too_long",
                f"{what} `{quote_safely(text)}` is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are allowed",
                path=path,
                hint=f"shorten it: names go into email subjects and are stored with at most "
                     f"{MAX_TEXT_LENGTH} characters",
            )


def due_days_too_large(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """STEP-8/STEP-9: the calendar counts the due date from the entry date; ten years is the limit."""
    for i, step in enumerate(config.steps):
        if isinstance(step, ResponseStep) and step.due is not None and step.due.days > MAX_DUE_DAYS:
            yield make(
                "due_days_too_large",
                f"a due period of more than {MAX_DUE_DAYS} days is not allowed",
                path=("steps", i, "due", "days"),
                hint=f"write at most {MAX_DUE_DAYS} days (ten years); overdue reminders need a due date "
                     "the calendar can count (STEP-9)",
            )


def _whole_digits(money: str) -> int:
    return len(money.partition(".")[0].lstrip("0"))


def number_too_large(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """GEN-3: money is added exactly with at most 15 digits before the point; whole
    numbers get the same bound. The value is never printed (it may be huge)."""
    for _i, _k, expr, path in condition_expressions(config):
        for node, npath in walk(expr, path):
            if isinstance(node, MoneyLit) and money_well_formed(node.money) \
                    and _whole_digits(node.money) > MAX_MONEY_DIGITS:
                yield make(
                    "number_too_large",
                    f"money amount has more than {MAX_MONEY_DIGITS} digits before the decimal point",
                    path=npath + ("money",),
                    hint=f"amounts are at most {MAX_MONEY_DIGITS} digits of dollars (under "
                         "$1,000,000,000,000,000), so every sum is exact (GEN-3)",
                )
            elif isinstance(node, IntLit) and isinstance(node.integer, int) \
                    and abs(node.integer) >= 10 ** MAX_INTEGER_DIGITS:
                yield make(
                    "number_too_large",
                    f"whole number has more than {MAX_INTEGER_DIGITS} digits",
                    path=npath + ("integer",),
                    hint="`invoice_count` is at most 100; write a smaller number",
                )


CHECKS = (
    text_invalid,
    due_days_too_large,
    number_too_large,
)
