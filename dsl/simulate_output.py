"""The three outputs of ``payroute simulate``: text (with reasons), JSON Lines, one JSON document.

Each writer takes records (see :mod:`dsl.simulate_input`) one at a time and
writes to a text stream; :meth:`route` returns the reason when a route
stopped before an end, so the command can report it and exit 1.

The JSON Lines writer is the bulk path: it routes with
:class:`engine.spec.evaluator.Router` (no reasons are built) and, since a workflow
has few distinct routes, serialises each route's ``path``/``end``/``outcome``
once and reuses the text; only the ``id`` is encoded per line. Its output is
byte for byte ``json.dumps({"id", "path", "end", "outcome"})``, but for DEL,
written ``\u007f`` like every other control character (dsl.safe_text). That
text is already safe for a terminal, so it skips the CLI's escaping stream.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping, TextIO

from dsl.safe_text import one_line, unwrap
from dsl.simulate_input import Record
from engine.spec.compiler import CompiledWorkflow
from engine.spec.evaluator import Route, Router, evaluate

__all__ = ["JsonlWriter", "TextWriter", "JsonWriter", "route_lines"]

#: What ``json.dumps`` does to a ``str`` (with its default ``ensure_ascii``), minus the dispatch.
_json_string = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _safe_json_string(text: str) -> str:
    """``_json_string``, with DEL escaped too: the one control character ``ensure_ascii`` leaves raw."""
    out = _json_string(text)
    return out.replace("\x7f", "\\u007f") if "\x7f" in out else out


def _no_newline(text: str) -> str:
    return one_line(text) if "\n" in text else text


class _Writer:
    def __init__(self, compiled: CompiledWorkflow, answers: Mapping[str, str], default_answer: str,
                 out: TextIO) -> None:
        self.compiled = compiled
        self.answers = dict(answers)
        self.default_answer = default_answer
        self.out = out
        self.count = 0
        self.tally: Counter[str] = Counter()

    def evaluate(self, record: Record) -> Route:
        assert record.facts is not None
        route = evaluate(self.compiled, record.facts, self.answers, self.default_answer)
        self.count += 1
        self.tally[route.outcome or "stopped"] += 1
        return route

    def route(self, record: Record) -> str | None:
        raise NotImplementedError

    def refused(self, record: Record) -> None:
        self.tally["refused"] += 1

    def finish(self) -> None:
        self.out.flush()


class JsonlWriter(_Writer):
    """``{"id": ..., "path": [...], "end": ..., "outcome": ...}`` per disbursement; a stable shape."""

    FLUSH_EVERY = 512

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._router = Router(self.compiled, self.answers, self.default_answer)
        self._routes: dict[tuple[int, ...], tuple[str, str | None]] = {}
        self._buffer: list[str] = []
        # Every character is ASCII and every control one escaped (below): no need
        # to pay for the CLI's escaping stream on the bulk path.
        self._write = unwrap(self.out).write

    def route(self, record: Record) -> str | None:
        assert record.facts is not None
        key = self._router(record.facts)
        known = self._routes.get(key)
        if known is None:
            full = evaluate(self.compiled, record.facts, self.answers, self.default_answer)
            names, end, outcome = self._router.summary(key)
            assert tuple(names) == full.path and end == full.end  # one semantics, two walkers
            tail = json.dumps({"path": names, "end": end, "outcome": outcome}).replace("\x7f", "\\u007f")
            known = self._routes[key] = (", " + tail[1:] + "\n", full.stopped)
        self._buffer.append('{"id": ' + _safe_json_string(record.id) + known[0])
        self.count += 1
        if len(self._buffer) >= self.FLUSH_EVERY:
            self._write("".join(self._buffer))
            self._buffer.clear()
        return known[1]

    def finish(self) -> None:
        self._write("".join(self._buffer))
        self._buffer.clear()
        super().finish()


def route_lines(record_id: str | None, line: int | None, route: Route) -> list[str]:
    """One route as ``simulate --format text`` prints it: ``ID (line N): END (OUTCOME)``, then each
    visit indented (a condition's `when` lines with the values compared, COND-13), then why it
    stopped. Shared with the rule editor's simulate panel (dsl.playground), so both say the same."""
    where = f" (line {line})" if line is not None else ""
    verdict = f"{route.end} ({route.outcome})" if route.end else "stopped"
    # An id or a fact value may hold a newline, which must not start a line
    # of its own; the CLI's stream escapes every other control character.
    lines = [f"{_no_newline(record_id or '')}{where}: {verdict}"]
    for visit in route.visits:
        lines += ["  " + _no_newline(text) for text in visit.lines()]
    if route.stopped:
        lines.append(f"  stopped: {route.stopped}")
    return lines


class TextWriter(_Writer):
    """Each step visited; for each condition, the `when` lines tried with the values compared (COND-13)."""

    def route(self, record: Record) -> str | None:
        route = self.evaluate(record)
        self.out.write("\n".join(route_lines(record.id, record.line, route)) + "\n\n")
        return route.stopped

    def finish(self) -> None:
        n = self.count + self.tally["refused"]
        parts = [f"{self.tally[k]} {k}" for k in ("success", "failure", "stopped", "refused") if self.tally[k]]
        self.out.write(f"simulated {n} disbursement{'s' if n != 1 else ''}: {', '.join(parts) or 'none'}\n")
        super().finish()


class _Spool:
    """The items of one JSON array, serialised as they come, kept until the document can be written.

    In memory up to :attr:`JsonWriter.SPOOL_BYTES`, then in an unnamed
    temporary file (gone when closed): memory stays flat however many items.
    Each item is laid out as ``json.dumps(body, indent=2)`` lays out an array
    element at depth 2, so the document is byte for byte what one
    ``json.dumps`` of everything would print.
    """

    def __init__(self, max_size: int) -> None:
        import tempfile  # only --format json pays for the import

        # surrogatepass: a lone surrogate in a refused value must not stop the
        # run here; the CLI's output stream escapes it (dsl.safe_text).
        self.file = tempfile.SpooledTemporaryFile(max_size=max_size, mode="w+", encoding="utf-8",
                                                  errors="surrogatepass", newline="")
        self.count = 0

    def add(self, item: dict[str, Any]) -> None:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        self.file.write(("\n    " if self.count == 0 else ",\n    ") + text)
        self.count += 1

    def write_to(self, out: TextIO) -> None:
        """Write the array (``[]`` when empty) and drop the spool."""
        if self.count == 0:
            out.write("[]")
        else:
            out.write("[")
            import shutil

            self.file.seek(0)
            shutil.copyfileobj(self.file, out, 1 << 16)
            out.write("\n  ]")
        self.file.close()


class JsonWriter(_Writer):
    """One document: the workflow, every route with its visits and reasons, every refused line.

    The document opens with its ``result``, known only once every line is
    read, so routes and refusals are serialised as they come into spools
    (see :class:`_Spool`) and the document is written at the end: a run of
    a million lines takes as little memory as one of ten.
    """

    #: Serialised routes (and refusals) kept in memory before spilling to an unnamed temporary file.
    SPOOL_BYTES = 1 << 20

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._results = _Spool(self.SPOOL_BYTES)
        self._errors = _Spool(self.SPOOL_BYTES)
        self._stopped = False

    def route(self, record: Record) -> str | None:
        route = self.evaluate(record)
        self._results.add({"id": record.id, "line": record.line, **route.to_data()})
        if route.stopped:
            self._stopped = True
        return route.stopped

    def refused(self, record: Record) -> None:
        super().refused(record)
        self._errors.add({"line": record.line, "problems": list(record.problems)})

    def finish(self) -> None:
        failed = self._errors.count > 0 or self._stopped
        head = json.dumps({
            "result": "error" if failed else "ok",
            "workflow": {"name": self.compiled.name, "content_hash": self.compiled.content_hash},
            "answers": self.answers,
            "default_answer": self.default_answer,
        }, indent=2, ensure_ascii=False)
        assert head.endswith("\n}")
        self.out.write(head[:-2] + ',\n  "results": ')
        self._results.write_to(self.out)
        self.out.write(',\n  "errors": ')
        self._errors.write_to(self.out)
        self.out.write("\n}\n")
        super().finish()
