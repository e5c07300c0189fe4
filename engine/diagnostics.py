"""Diagnostics: the one shape every user-facing problem takes.

This module is a leaf shared by :mod:`dsl` and :mod:`engine` (it imports
neither), so a semantic check in the engine and a syntax error in the parser
produce the same object and render the same way.

Positions are 1-based; ``end_column`` is exclusive (the column just after the
last character), so a caret run is ``end_column - column`` wide.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]
Path = tuple[object, ...]


@dataclass(frozen=True)
class Span:
    """A region of a source file."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class CodeInfo:
    severity: Severity
    summary: str


# The registry: every code a user can see, its severity and one sentence.
# `docs/diagnostics.md` and the golden-coverage test both read it.
CODES: dict[str, CodeInfo] = {
    # input level
    "syntax_error": CodeInfo("error", "the text is not valid rule-language syntax"),
    "json_invalid": CodeInfo("error", "the file is not valid JSON"),
    "schema_violation": CodeInfo("error", "the JSON config breaks `schemas/workflow.schema.json`"),
    "field_duplicate": CodeInfo("error", "a setting is given twice in the same block"),
    "field_missing": CodeInfo("error", "a required setting of a step is missing"),
    # workflow header
    "workflow_missing_start": CodeInfo("error", "the workflow does not say which step it starts at"),
    "workflow_missing_manager": CodeInfo("error", "a Payments workflow needs a workflow manager (WF-8)"),
    "workflow_unknown_tool": CodeInfo("error", "the workflow names a tool payroute does not support"),
    # names
    "name_duplicate_step": CodeInfo("error", "two steps share a name"),
    "name_unknown_step": CodeInfo("error", "a `->` or `start:` names a step that does not exist"),
    "name_unknown_fact": CodeInfo("error", "an expression reads a fact that does not exist"),
    "name_unknown_project_field": CodeInfo(
        "warning", "a `project.` fact is not a documented field but is close to one"
    ),
    # steps
    "response_no_answers": CodeInfo("error", "a response step offers no `on` answers"),
    "response_duplicate_answer": CodeInfo("error", "a response step offers the same answer twice"),
    "response_all_without_approve": CodeInfo(
        "error", "a `requires: all` step must offer `Approve` (STEP-4)"
    ),
    "condition_missing_otherwise": CodeInfo("error", "a condition step has no `otherwise` route"),
    "due_days_invalid": CodeInfo("error", "a due period is not a positive whole number of days"),
    "due_days_too_large": CodeInfo("error", "a due period is longer than 3650 days (ten years)"),
    # graph
    "graph_no_end_reachable": CodeInfo("error", "no end step can be reached from a step"),
    "graph_condition_loop": CodeInfo("error", "condition steps route to each other in a loop"),
    "graph_unreachable_step": CodeInfo("warning", "a step can never be reached from the start"),
    "branch_shadowed": CodeInfo(
        "warning", "a `when` line can never be taken because earlier lines always win"
    ),
    "branch_never_true": CodeInfo("warning", "a `when` line can never be true, whatever the facts"),
    # types and values
    "type_mismatch": CodeInfo("error", "an expression compares values of different types"),
    "type_invalid_operator": CodeInfo("error", "an operator is used on a type it does not apply to"),
    "money_precision": CodeInfo("error", "a money amount has more than two decimals"),
    "literal_invalid": CodeInfo("error", "a date that does not exist, or money that is not a decimal amount"),
    "nesting_too_deep": CodeInfo("error", "an expression or JSON document is nested deeper than payroute reads"),
    "number_too_large": CodeInfo(
        "error", "money has more than 15 digits before the point, or a whole number more than 15 digits"
    ),
    "text_invalid": CodeInfo(
        "error", "a name or text holds a control character (such as a line break) or invalid Unicode"
    ),
    "text_too_long": CodeInfo("error", "a name or text is longer than 200 characters"),
}

#: Deepest `and`/`or`/`not`/parenthesis nesting of one `when` expression.
MAX_EXPRESSION_DEPTH = 64
#: Deepest nesting of objects and arrays in a JSON config.
MAX_JSON_DEPTH = 160
#: Longest due period, in days (STEP-8 says positive; ten years is the sane top:
#: a longer one is a typo, and the calendar must be able to count it).
MAX_DUE_DAYS = 3650
#: Most digits of a whole number in a condition (`invoice_count` is at most 100).
MAX_INTEGER_DIGITS = 15
#: Longest name or text (step, answer, status, party, workflow, string values):
#: they are stored in 200-character columns and go into email subjects.
MAX_TEXT_LENGTH = 200
#: Digits a front end converts to a whole number; longer numbers are read as
#: ``±TOO_LARGE`` (Python refuses to convert more than 4,300 digits, and the
#: checks report anything of this size anyway, without printing it).
MAX_READ_DIGITS = 30
TOO_LARGE: int = 10 ** MAX_READ_DIGITS  # annotated: `int ** int` is typed Any (a negative power is a float)


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located by a span (text) or a JSON Pointer (JSON), or both.

    ``path`` is the model path the engine's checks speak in; a front end
    resolves it to ``span``/``pointer`` with :func:`locate`.
    """

    code: str
    message: str
    severity: Severity = "error"
    span: Span | None = None
    pointer: str | None = None
    path: Path | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[int, int, str]:
        if self.span is not None:
            return (self.span.line, self.span.column, self.code)
        return (0, 0, self.pointer or "")


def _writable(text: str) -> str:
    """``text`` with lone surrogates (from a JSON escape such as ``"\\ud800"``) spelt as
    escapes: no output can encode them, so a message quoting one must not hold it."""
    if text.isascii():
        return text
    import re

    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def make(code: str, message: str, *, span: Span | None = None, pointer: str | None = None,
         path: Path | None = None, hint: str | None = None) -> Diagnostic:
    """Build a diagnostic whose severity comes from the registry."""
    info = CODES[code]
    return Diagnostic(code=code, message=_writable(message), severity=info.severity, span=span,
                      pointer=pointer, path=path, hint=_writable(hint) if isinstance(hint, str) else None)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" hint from the closest candidate, or None when nothing is close."""
    pool = list(dict.fromkeys(candidates))
    match = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in pool}
        if word.lower() in lowered:
            match = [lowered[word.lower()]]
    return f"did you mean `{match[0]}`?" if match else None


def path_to_pointer(path: Path) -> str:
    """RFC 6901 JSON Pointer for a model path."""
    if not path:
        return ""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return _writable("/" + "/".join(parts))


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: d.sort_key())


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diags)


def read_int(text: str) -> int:
    """A whole number written in decimal digits (with an optional sign), never refused
    for its length: past :data:`MAX_READ_DIGITS` significant digits it is read as
    ``±TOO_LARGE``, which every bound of the checks refuses. ``int()`` of a long
    string is slow and, past 4,300 digits, raises."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > MAX_READ_DIGITS:
        return sign * TOO_LARGE
    return sign * int(digits or "0")
