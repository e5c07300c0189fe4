"""The JSON front end: compiled/hand-written JSON config → :class:`WorkflowConfig`.

Order matters: JSON syntax, then the published JSON Schema (so a validator in
a user's pipeline and payroute agree on what is well-formed), then pydantic.
Every problem is a diagnostic located by JSON Pointer and, through the source
map of the text, by line and column; nothing here raises for bad input.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

from engine.diagnostics import (
    MAX_EXPRESSION_DEPTH,
    MAX_JSON_DEPTH,
    TOO_LARGE,
    Diagnostic,
    Path,
    Span,
    did_you_mean,
    make,
    path_to_pointer,
    read_int,
)
from engine.spec.model import WorkflowConfig

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaViolation
    from pydantic import TypeAdapter


@dataclass
class JsonDocument:
    filename: str
    text: str
    config: WorkflowConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: pointer -> json_source_map's entry (that library has no types)
    _positions: dict[str, Any] | None = None

    def span_of(self, pointer: str) -> Span | None:
        """Line/column of the value at ``pointer`` (or its nearest ancestor)."""
        if self._positions is None:
            from json_source_map import calculate  # only JSON input pays for it

            try:
                self._positions = calculate(_short_numbers(self.text))
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


_NUMBER_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]{29,}')


def _short_numbers(text: str) -> str:
    """``text`` with every number of 30 characters or more replaced by a float of the
    same length (``1e00…01``): the source-map library parses numbers with ``int()``,
    which refuses 4,300 digits, and the positions of everything stay the same."""
    def short(m: re.Match[str]) -> str:
        token = m.group()
        if token.startswith('"'):
            return token
        sign = "-" if token.startswith("-") else ""
        return sign + "1e" + "0" * (len(token) - len(sign) - 3) + "1"

    return _NUMBER_OR_STRING.sub(short, text)


_ADAPTER_LOCK = threading.Lock()
_ADAPTER: TypeAdapter[WorkflowConfig] | None = None


def _adapter() -> TypeAdapter[WorkflowConfig]:
    """The one pydantic adapter of :class:`WorkflowConfig` in this process.

    Built once, under a lock: building it is slow (pydantic reads the model's
    attribute docstrings with ``ast.parse``), and concurrent builds on
    CPython 3.11 can fail inside ``ast`` (found by tests/concurrency).
    """
    global _ADAPTER
    if _ADAPTER is None:
        with _ADAPTER_LOCK:
            if _ADAPTER is None:
                from pydantic import TypeAdapter

                _ADAPTER = TypeAdapter(WorkflowConfig)
    return _ADAPTER


def config_from_document(document: dict[str, Any]) -> WorkflowConfig:
    """A stored, already-validated compiled document back to the model (published versions)."""
    body = {k: v for k, v in document.items() if k not in ("$schema", "format_version")}
    return _adapter().validate_python(body)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    from schemas import WORKFLOW, load_schema

    return Draft202012Validator(load_schema(WORKFLOW))


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}
_WANTED = {"object": "an object", "array": "an array", "string": "a string", "integer": "a whole number",
           "number": "a number", "boolean": "true or false", "null": "null"}
_MONEY_FORM = 'a decimal string such as "100000.00"'
# The union tags, for "did you mean" when a step kind or an operator is misspelt.
_TAGS = {
    "kind": ("a step kind", ("response", "condition", "end")),
    "op": ("an operator", (">", ">=", "<", "<=", "==", "!=", "in", "and", "or", "not")),
}


def _found(value: object) -> str:
    """How a JSON value reads in a message: short text and numbers verbatim, others by their type."""
    if isinstance(value, str) and len(value) <= 40:
        return f"`{value}`"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number `{json.dumps(value)}`"
    return _JSON_TYPES.get(type(value), "a value")


def _words(options: Sequence[object]) -> str:
    quoted = [f"`{o}`" for o in options]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _keyword(error: SchemaViolation) -> Any:
    """The value of the schema keyword that failed (``required``'s list, ``type``'s name, ...): JSON."""
    return error.validator_value


def _schema_message(error: SchemaViolation) -> tuple[str, str | None, Path]:
    """``(message, hint, extra path)`` for one schema error, in the words of the rule language.

    jsonschema's own messages show Python reprs (``'name' is a required
    property``, ``{} is not of type 'array'``); a workflow manager reads
    JSON, so say it in JSON terms, name the key, and point at it.
    """
    v, want, inst = error.validator, _keyword(error), error.instance
    key = error.absolute_path[-1] if error.absolute_path else None
    if v == "required":
        # One jsonschema error per missing key, each carrying the whole list:
        # name them all in one message (identical diagnostics are merged).
        missing = [k for k in want if isinstance(inst, dict) and k not in inst] or list(want)
        plural = "s" if len(missing) > 1 else ""
        return f"missing required key{plural} {_words(missing).replace(' or ', ' and ')}", None, ()
    if v == "additionalProperties" and isinstance(inst, dict):
        schema = error.schema
        allowed = list(schema.get("properties", {})) if isinstance(schema, dict) else []
        extra = [k for k in inst if k not in allowed]
        if extra:
            hint: str | None = did_you_mean(extra[0], allowed) or f"the keys allowed here are {_words(allowed)}"
            return f"unknown key `{extra[0]}`", hint, (extra[0],)
    if key == "money" and v in ("type", "pattern"):
        if v == "type" and isinstance(inst, (int, float)) and not isinstance(inst, bool):
            shown = f'"{inst}"' if abs(inst) < TOO_LARGE else "the amount"
            return (f"money must be {_MONEY_FORM}, not a JSON number (GEN-2)",
                    f'write {shown} with quotes: a JSON number may already have been through a float', ())
        return f"{_found(inst)} is not an amount: money is {_MONEY_FORM}", None, ()
    if key == "date" and v == "pattern":
        return f"{_found(inst)} is not a date: write it as YYYY-MM-DD, such as \"2025-01-31\"", None, ()
    if v == "type":
        wanted = [want] if isinstance(want, str) else list(want)
        return f"expected {' or '.join(_WANTED.get(w, w) for w in wanted)}, found {_found(inst)}", None, ()
    if v == "const":
        if key == "format_version":
            return (f"`format_version` {json.dumps(inst)} is not supported: this payroute reads version {want}",
                    "write the document again with `payroute compile`", ())
        return f"expected `{json.dumps(want)}`, found {_found(inst)}", None, ()
    if v == "enum":
        hint = did_you_mean(str(inst), [str(o) for o in want]) if isinstance(inst, str) else None
        return f"{_found(inst)} is not allowed here: use {_words(want)}", hint, ()
    if v in ("anyOf", "oneOf") and key in _TAGS and isinstance(inst, dict):
        what, options = _TAGS[key]
        tag = inst.get(key)
        if tag in options:  # a whole expression where only a single value fits
            return (f"an expression with `op` `{tag}` cannot go here: a comparison compares two values, "
                    f"each one of {_words(list(_OPERAND_KEYS))}", None, ())
        hint = did_you_mean(tag, options) if isinstance(tag, str) else None
        return (f"{_found(tag)} is not {what}",
                hint or f"use {_words(list(options))}", ())
    if (v in ("anyOf", "oneOf") and isinstance(inst, dict) and "#/$defs/Compare" in json.dumps(want)
            and not set(inst) & {"op", *_OPERAND_KEYS}):
        keys = ", ".join(f"`{k}`" for k in inst) or "no keys"
        hint = next((h for k in inst if (h := did_you_mean(k, ["op", *_OPERAND_KEYS]))), None)
        return (f"not an expression (it has {keys}): an expression has `op`, or one of "
                f"{_words(list(_OPERAND_KEYS))}", hint, ())
    if v in ("anyOf", "oneOf") and error.context and all(
            e.validator == "type" and not e.relative_path for e in error.context):
        wanted = [_WANTED.get(t, str(t)) for t in map(_keyword, error.context)]
        return f"expected {' or '.join(dict.fromkeys(wanted))}, found {_found(inst)}", None, ()
    if v == "minItems" and key == "args":
        return "`and`/`or` needs at least two operands in `args`", None, ()
    if v == "minItems":
        return f"needs at least {want} item{'s' if want != 1 else ''}", None, ()
    return error.message.replace("\n", " "), None, ()


_DISCRIMINATORS = ("kind", "op")
_OPERAND_KEYS = ("fact", "money", "string", "integer", "date")


def _rejects_instance(errors: list[SchemaViolation], instance: object) -> bool:
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
                and not set(_keyword(e)) & set(instance)):
            return True
    return False


def _explain(err: SchemaViolation) -> list[SchemaViolation]:
    """Readable errors for one schema error.

    For a failed ``anyOf``/``oneOf`` jsonschema's ``best_match`` guesses by
    depth and often names the wrong step kind. The discriminator key says
    which branch the author meant, so report that branch's own errors; when
    no branch fits, say which tag value is not allowed.
    """
    if err.validator not in ("anyOf", "oneOf") or not err.context:
        return [err]
    by_branch: dict[str | int, list[SchemaViolation]] = {}
    for sub in err.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errs for errs in by_branch.values() if not _rejects_instance(errs, err.instance)]
    if len(meant) == 1:
        return [x for sub in meant[0] for x in _explain(sub)]
    instance = err.instance
    tag = next((k for k in _DISCRIMINATORS if isinstance(instance, dict) and k in instance), None)
    if tag is not None and isinstance(instance, dict):  # (a tag is only found in an object)
        err.message = f"`{tag}` {json.dumps(instance[tag])} is not allowed here"
        err.path.append(tag)  # point at the tag itself
    elif isinstance(instance, dict):
        err.message = f"an object with keys {', '.join(map(json.dumps, instance))} is not allowed here"
    else:
        err.message = f"{json.dumps(instance)} is not allowed here"
    return [err]


def _best_errors(errors: list[SchemaViolation]) -> list[SchemaViolation]:
    return [x for err in errors for x in _explain(err)]


def _deep_expression(data: object) -> Path | None:
    """The path of the first `when` expression nested more than MAX_EXPRESSION_DEPTH
    and/or/not levels — the same limit the `.flow` front end applies."""
    steps = data.get("steps") if isinstance(data, dict) else None
    for i, step in enumerate(steps if isinstance(steps, list) else ()):
        branches = step.get("branches") if isinstance(step, dict) else None
        for k, branch in enumerate(branches if isinstance(branches, list) else ()):
            if not isinstance(branch, dict):
                continue
            stack: list[tuple[object, Path, int]] = [(branch.get("when"), ("steps", i, "branches", k, "when"), 0)]
            while stack:
                node, path, depth = stack.pop()
                if depth > MAX_EXPRESSION_DEPTH:
                    return path
                if isinstance(node, dict) and isinstance(node.get("args"), list):
                    stack.extend((a, path + ("args", j), depth + 1) for j, a in enumerate(node["args"]))
                if isinstance(node, dict) and "arg" in node:
                    stack.append((node["arg"], path + ("arg",), depth + 1))
    return None


def _too_deep(data: object) -> Path | None:
    """The path of the first value nested deeper than MAX_JSON_DEPTH (iteratively:
    the validators after this recurse, and would crash on such a document)."""
    stack: list[tuple[object, Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((v, path + (k,)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(value))
    return None


def _whole_floats(data: object) -> None:
    """Whole numbers written as floats (``5.0``, ``1e300``) in ``days`` and ``integer``
    become ints, as the schema and the model read them; past ``TOO_LARGE`` they are
    ``±TOO_LARGE``, which the checks refuse (the model's validator would refuse the
    float with a message per step kind)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in ("days", "integer"):
                number = value.get(key)
                if isinstance(number, float) and number.is_integer():
                    value[key] = int(number) if abs(number) < TOO_LARGE else (TOO_LARGE if number > 0 else -TOO_LARGE)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def load_json_config(text: str, filename: str) -> JsonDocument:
    """Parse and validate a JSON workflow config; problems come back as diagnostics."""
    doc = JsonDocument(filename, text, None)
    try:
        # Whole numbers of any length are read (past 4,300 digits ``int()`` raises):
        # the checks refuse them, located, like any other out-of-bounds value.
        data = json.loads(text, parse_int=read_int)
    except RecursionError:
        doc.diagnostics.append(make("nesting_too_deep", "the document is nested too deeply to read",
                                    span=Span(filename, 1, 1, 1, 2)))
        return doc
    except json.JSONDecodeError as exc:
        span = Span(filename, exc.lineno, exc.colno, exc.lineno, exc.colno + 1)
        doc.diagnostics.append(make("json_invalid", f"not valid JSON: {exc.msg.lower()}", span=span))
        return doc
    _whole_floats(data)
    for find, what in ((_too_deep, f"the document is nested more than {MAX_JSON_DEPTH} levels deep"),
                       (_deep_expression, f"this expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep")):
        deep = find(data)
        if deep is not None:  # the validators below recurse: stop before them
            doc.diagnostics.append(doc.locate(make(
                "nesting_too_deep", what, path=deep,
                hint="split the condition into several `when` lines or condition steps")))
            return doc
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        for err in _best_errors(errors):
            message, hint, extra = _schema_message(err)
            path: Path = (*err.absolute_path, *extra)
            pointer = path_to_pointer(path)
            doc.diagnostics.append(doc.locate(make(
                "schema_violation", message, pointer=pointer, path=path, hint=hint,
            )))
        return doc
    body = {k: v for k, v in data.items() if k not in ("$schema", "format_version")}
    try:
        doc.config = _adapter().validate_python(body)
    except Exception as exc:  # pydantic.ValidationError: the schema let through what the model refuses
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        for detail in exc.errors():
            path = tuple(p for p in detail["loc"] if not (isinstance(p, str) and p[:1].isupper()))
            doc.diagnostics.append(doc.locate(make(
                "schema_violation", detail["msg"].lower(), path=path,
            )))
    return doc
