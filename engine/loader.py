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
def _adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(WorkflowConfig)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    from schemas import WORKFLOW, load_schema

    return Draft202012Validator(load_schema(WORKFLOW))


def _schema_message(error: Any) -> str:
    return error.message.replace("\n", " ")


_DISCRIMINATORS = ("kind", "op")
_OPERAND_KEYS = ("fact", "money", "string", "integer", "date")


def _rejects_instance(errors: list[Any], instance: Any) -> bool:
    """True when a union branch's errors show the document did not mean it:
    its ``kind``/``op`` tag differs, its key set is another operand's, or
    the value is not even of the branch's type."""
    for e in errors:
        rel = list(e.relative_path)
        if rel and rel[0] in _DISCRIMINATORS and e.validator in ("const", "enum"):
            return True
        if not rel and e.validator == "type":
            return True
        if (not rel and e.validator == "required" and isinstance(instance, dict)
                and any(k in instance for k in _OPERAND_KEYS + ("op",))
                and not set(e.validator_value) & set(instance)):
            return True
    return False


def _explain(err: Any) -> list[Any]:
    """Readable errors for one schema error.

    For a failed ``anyOf``/``oneOf`` jsonschema's ``best_match`` guesses by
    depth and often names the wrong step kind. The discriminator key says
    which branch the author meant, so report that branch's own errors; when
    no branch fits, say which tag value is not allowed.
    """
    if err.validator not in ("anyOf", "oneOf") or not err.context:
        return [err]
    by_branch: dict[int, list[Any]] = {}
    for sub in err.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errs for errs in by_branch.values() if not _rejects_instance(errs, err.instance)]
    if len(meant) == 1:
        return [x for sub in meant[0] for x in _explain(sub)]
    instance = err.instance
    tag = next((k for k in _DISCRIMINATORS if isinstance(instance, dict) and k in instance), None)
    if tag is not None:
        err.message = f"`{tag}` {json.dumps(instance[tag])} is not allowed here"
        err.path.append(tag)  # point at the tag itself
    elif isinstance(instance, dict):
        err.message = f"an object with keys {', '.join(map(json.dumps, instance))} is not allowed here"
    else:
        err.message = f"{json.dumps(instance)} is not allowed here"
    return [err]


def _best_errors(errors: list[Any]) -> list[Any]:
    return [x for err in errors for x in _explain(err)]


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
    body = {k: v for k, v in data.items() if k not in ("$schema", "format_version")}
    try:
        doc.config = _adapter().validate_python(body)
    except Exception as exc:  # pydantic.ValidationError: the schema let through what the model refuses
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        for err in exc.errors():
            path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
            doc.diagnostics.append(doc.locate(make(
                "schema_violation", err["msg"].lower(), path=path,
            )))
    return doc
