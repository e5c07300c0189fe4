"""The JSON front end: compiled/hand-written JSON config → :class:`WorkflowConfig`.

Order matters: JSON syntax, then the published JSON Schema (so a validator in
a user's pipeline and payroute agree on what is well-formed), then pydantic.
Every problem is a diagnostic located by JSON Pointer and, through the source
map of the text, by line and column; nothing here raises for bad input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dsl.diagnostics import Diagnostic, Path, Span, make, path_to_pointer

from .model import WorkflowConfig


@dataclass
class JsonDocument:
    filename: str
    text: str
    config: WorkflowConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _positions: dict[str, Any] | None = None

    def span_of(self, pointer: str) -> Span | None:
        """Line/column of the value at ``pointer`` (or its nearest ancestor)."""
        if self._positions is None:
            from json_source_map import calculate  # only JSON input pays for it

            try:
                self._positions = calculate(self.text)
            except Exception:  # noqa: BLE001 - positions are a nicety, never fatal
                self._positions = {}
        probe = pointer
        while (entry := self._positions.get(probe)) is None:
            if not probe:
                return None
            probe = probe.rsplit("/", 1)[0]
        start, end = entry.value_start, entry.value_end
        if end.line != start.line:
            # A multi-line object or array: point at its key (or its opening line).
            if entry.key_start is not None:
                start, end = entry.key_start, entry.key_end
            else:
                end = type(start)(start.line, start.column + 1, start.position + 1)
        return Span(self.filename, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def locate(self, diag: Diagnostic) -> Diagnostic:
        from dataclasses import replace

        pointer = diag.pointer if diag.pointer is not None else path_to_pointer(diag.path or ())
        return replace(diag, pointer=pointer, span=diag.span or self.span_of(pointer))


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    from schemas import WORKFLOW, load_schema

    return Draft202012Validator(load_schema(WORKFLOW))


def _schema_message(error: Any) -> str:
    return error.message.replace("\n", " ")


def _best_errors(errors: list[Any]) -> list[Any]:
    """One error per location: for a failed ``oneOf`` keep the most relevant sub-error."""
    from jsonschema.exceptions import best_match

    out = []
    for err in errors:
        if err.context:
            out.append(best_match(err.context))
        else:
            out.append(err)
    return out


def load_json_config(text: str, filename: str) -> JsonDocument:
    """Parse and validate a JSON workflow config; problems come back as diagnostics."""
    doc = JsonDocument(filename, text, None)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        span = Span(filename, exc.lineno, exc.colno, exc.lineno, exc.colno + 1)
        doc.diagnostics.append(make("json_invalid", f"not valid JSON: {exc.msg.lower()}", span=span))
        return doc
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        for err in _best_errors(errors):
            path: Path = tuple(err.absolute_path)
            pointer = path_to_pointer(path)
            doc.diagnostics.append(doc.locate(make(
                "schema_violation", _schema_message(err), pointer=pointer, path=path,
            )))
        return doc
    try:
        doc.config = WorkflowConfig.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError: schema and model disagree
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        for err in exc.errors():
            path = tuple(p for p in err["loc"] if not isinstance(p, str) or p[:1].islower() or p == "$schema")
            doc.diagnostics.append(doc.locate(make(
                "schema_violation", err["msg"].lower(), path=path,
            )))
    return doc
