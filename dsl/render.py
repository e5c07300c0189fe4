"""Rendering diagnostics: the only place that draws a source snippet with carets.

Text form (golden-file format)::

    error[name_unknown_step]: unknown step `CFO Reveiw`
      --> payments.flow:13:25
       |
    13 |         on "Approve" -> "CFO Reveiw"
       |                         ^^^^^^^^^^^^
       = hint: did you mean `CFO Review`?

JSON form: the stable ``payroute check --format json`` contract.
"""

from __future__ import annotations

from typing import Any, Mapping

from dsl.safe_text import escape
from engine.diagnostics import Diagnostic


def _extra_width(text: str) -> int:
    """How many more columns ``text`` takes once escaped."""
    return len(escape(text)) - len(text)


def render_text(diag: Diagnostic, sources: Mapping[str, str]) -> str:
    """Render one diagnostic; ``sources`` maps file names to their text for snippets."""
    head = f"{diag.severity}[{diag.code}]: {diag.message}"
    lines = [head]
    span = diag.span
    if span is not None:
        where = f"{span.file}:{span.line}:{span.column}"
        if diag.pointer is not None:
            where += f" (at {diag.pointer or '/'})"
        gutter = len(str(span.line))
        pad = " " * gutter
        lines.append(f"{pad}--> {where}")
        text = sources.get(span.file)
        src_lines = text.split("\n") if text is not None else []
        if 1 <= span.line <= len(src_lines):
            src = src_lines[span.line - 1].expandtabs(4)
            if span.end_line == span.line:
                width = max(1, span.end_column - span.column)
            else:
                width = max(1, len(src) - span.column + 1)
            # Control characters are shown escaped (dsl.safe_text), wider than
            # one column: the caret moves and widens by what they add.
            lead = span.column - 1
            shift = _extra_width(src[:lead])
            width += _extra_width(src[lead:lead + width])
            lines.append(f"{pad} |")
            lines.append(f"{span.line} | {escape(src)}".rstrip())
            lines.append(f"{pad} | " + " " * (lead + shift) + "^" * width)
        hint_pad = pad
    elif diag.pointer is not None:
        lines.append(f" --> {diag.pointer or '/'}")
        hint_pad = ""
    else:
        hint_pad = ""
    if diag.hint:
        lines.append(f"{hint_pad} = hint: {diag.hint}")
    return "\n".join(lines)


def diagnostic_json(diag: Diagnostic, file: str | None = None) -> dict[str, Any]:
    """One entry of the ``diagnostics`` array of ``payroute check --format json``."""
    span = diag.span
    out: dict[str, Any] = {
        "code": diag.code,
        "severity": diag.severity,
        "message": diag.message,
        "file": span.file if span is not None else file,
        "line": span.line if span is not None else None,
        "column": span.column if span is not None else None,
        "end_line": span.end_line if span is not None else None,
        "end_column": span.end_column if span is not None else None,
        "hint": diag.hint,
    }
    if diag.pointer is not None:
        out["pointer"] = diag.pointer
    return out


def check_report(diagnostics: list[tuple[str, Diagnostic]], *, strict: bool = False) -> dict[str, Any]:
    """The document ``payroute check --format json`` prints (and ``POST /v1/check`` answers):
    ``result`` is ``error`` when a diagnostic is an error (with ``strict``, any diagnostic),
    then each ``(file label, diagnostic)`` as :func:`diagnostic_json`."""
    failed = any(d.is_error or strict for _, d in diagnostics)
    return {
        "result": "error" if failed else "ok",
        "diagnostics": [diagnostic_json(d, label) for label, d in diagnostics],
    }


def summary_line(diags: list[Diagnostic]) -> str:
    errors = sum(1 for d in diags if d.severity == "error")
    warnings = len(diags) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"
