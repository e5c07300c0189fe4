"""Mutation fuzzing of the language's front ends (issue 8): nothing a user types may crash them.

Inputs are the example workflows of ``templates_examples/`` and the golden
diagnostic cases, as `.flow` text and as compiled JSON configs, mutated at the
byte, character, token, line and JSON-tree level, spliced together, and given
huge numbers, control characters, escapes and byte-order marks. Each input goes
through what `payroute check`, `fmt` and `compile` do (:func:`exercise`): it
must never raise, and what checks clean must format, compile, hash and route.

Used by ``tests/dsl/fuzz/test_fuzz_language.py`` (a small budget in CI) and by
``tests/dsl/fuzz/campaign.py`` (the long run).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[3]


@lru_cache(maxsize=1)
def seeds() -> tuple[tuple[str, str], ...]:
    """``(kind, text)`` of every example and golden case, `.flow` ones also compiled to JSON."""
    from dsl.load import load_workflow
    from engine.spec.export import document_text

    out: list[tuple[str, str]] = []
    paths = sorted((ROOT / "templates_examples").glob("*/workflow.flow"))
    paths += sorted((ROOT / "tests" / "golden" / "diagnostics").glob("*.flow"))
    paths += sorted((ROOT / "tests" / "golden" / "diagnostics").glob("*.json"))
    for path in paths:
        text = path.read_text(encoding="utf-8")
        kind = "json" if path.suffix == ".json" else "flow"
        out.append((kind, text))
        if kind == "flow":
            loaded = load_workflow(text, path.name)
            if loaded.config is not None and not loaded.front_end_failed:
                try:
                    out.append(("json", document_text(loaded.config)))
                except Exception:  # noqa: BLE001 - a case that cannot be compiled is just not a seed
                    pass
    return tuple(out)


# ---------------------------------------------------------------- mutations

HUGE_NUMBERS = ["9" * 5000, "1" + "0" * 4400, "9" * 27, "3000000", "3651", "3650", "0", "-5", "-" + "9" * 5000,
                "999999999999999.99", "1000000000000000", "1e300", "1E-400", "0.001", "1.5", "00000000001"]
ODD_CHARS = ["\r", "\r\n", "\x1b[2J", "\x00", "\t", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\u200b",
             "é", "日本", "😀", '"', "\\", "#", "{", "}", "$", ",", ".", "-", ">", "=", "\n"]
JSON_ESCAPES = ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\r", "\\n", "\\u001b[2J", "\\u202e", "\\\\", '\\"']
TOKENS = ["workflow", "tool:", "payments", "manager:", "start:", "response", "condition", "end", "assignees:",
          "requires:", "any", "all", "status:", "notify:", "due:", "calendar", "business", "days", "on", "->",
          "when", "otherwise", "and", "or", "not", "in", "[", "]", "(", ")", "role", "user", "group",
          "success", "failure", "disbursement_amount", "invoice_count", "project.office", "project.start_date",
          "highest_invoice_amount", "$100,000.00", "2025-01-31", "2025-02-30", '"X"', ">=", "==", "!=", "<"]
JSON_VALUES: list[Any] = [None, True, 0, -1, 1.5, 10**20, "", "x", "\ud800", "a\rb", [], {}, [[[]]], {"op": "and"},
                          {"money": "1" * 30}, {"integer": 10**16}, {"fact": "project.\x1b"}, "9" * 300]


def _span(rnd: random.Random, n: int) -> tuple[int, int]:
    a = rnd.randrange(n + 1)
    return a, min(n, a + rnd.choice([1, 1, 2, 5, 20, 200]))


def _bytes_flip(text: str, rnd: random.Random, pool: list[str]) -> str | bytes:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(data) + 1)
        choice = rnd.random()
        if choice < 0.4 and data:
            data[min(i, len(data) - 1)] = rnd.randrange(256)
        elif choice < 0.7:
            data[i:i] = bytes([rnd.choice([0xff, 0xc3, 0xe2, 0xef, 0x80, 0x00, 0x0d, 0x1b, rnd.randrange(256)])])
        else:
            del data[i:i + rnd.randint(1, 3)]
    return bytes(data)


def _insert_char(text: str, rnd: random.Random, pool: list[str]) -> str:
    i = rnd.randrange(len(text) + 1)
    ch = rnd.choice(ODD_CHARS) if rnd.random() < 0.7 else chr(rnd.choice([rnd.randrange(32, 127), rnd.randrange(0xa0, 0xd7ff)]))
    return text[:i] + ch + text[i:]


def _delete(text: str, rnd: random.Random, pool: list[str]) -> str:
    a, b = _span(rnd, len(text))
    return text[:a] + text[b:]


def _duplicate(text: str, rnd: random.Random, pool: list[str]) -> str:
    a, b = _span(rnd, len(text))
    i = rnd.randrange(len(text) + 1)
    return text[:i] + text[a:b] * rnd.choice([1, 2, 50]) + text[i:]


def _splice(text: str, rnd: random.Random, pool: list[str]) -> str:
    other = rnd.choice(pool)
    a, b = _span(rnd, len(other))
    b = min(len(other), a + rnd.randint(1, 400))
    i, j = _span(rnd, len(text))
    return text[:i] + other[a:b] + text[j:]


def _token(text: str, rnd: random.Random, pool: list[str]) -> str:
    i = rnd.randrange(len(text) + 1)
    return text[:i] + rnd.choice([" ", ""]) + rnd.choice(TOKENS) + rnd.choice([" ", ""]) + text[i:]


def _number(text: str, rnd: random.Random, pool: list[str]) -> str:
    digits = [i for i, c in enumerate(text) if c.isdigit() and (i == 0 or not text[i - 1].isdigit())]
    if not digits:
        return _insert_char(text, rnd, pool)
    i = rnd.choice(digits)
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    return text[:i] + rnd.choice(HUGE_NUMBERS) + text[j:]


def _in_string(text: str, rnd: random.Random, pool: list[str]) -> str:
    """An odd character or escape inside a quoted name (JSON escapes in a JSON config)."""
    quotes = [i for i, c in enumerate(text) if c == '"']
    if not quotes:
        return _insert_char(text, rnd, pool)
    i = rnd.choice(quotes) + 1
    ch = rnd.choice(JSON_ESCAPES if text.lstrip().startswith("{") else ODD_CHARS[:12])
    if rnd.random() < 0.1:
        ch = "N" * rnd.choice([201, 5000])
    return text[:i] + ch + text[i:]


def _lines(text: str, rnd: random.Random, pool: list[str]) -> str:
    lines = text.split("\n")
    i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
    op = rnd.random()
    if op < 0.4:
        lines.insert(i, lines[j])
    elif op < 0.7:
        del lines[i]
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _many_lines(text: str, rnd: random.Random, pool: list[str]) -> str:
    """Repeat a `when` line many times (the branch analysis' cost)."""
    lines = text.split("\n")
    whens = [k for k, line in enumerate(lines) if line.strip().startswith("when ")]
    if not whens:
        return _lines(text, rnd, pool)
    k = rnd.choice(whens)
    extra = [lines[k].replace("$", f"${rnd.randint(1, 999)},", 1) for _ in range(rnd.choice([10, 100, 300]))]
    return "\n".join(lines[:k] + extra + lines[k:])


def _nesting(text: str, rnd: random.Random, pool: list[str]) -> str:
    i = rnd.randrange(len(text) + 1)
    depth = rnd.choice([10, 70, 200, 3000])
    opener = rnd.choice(["(", "not (", "[", "{\"a\": "])
    return text[:i] + opener * depth + text[i:]


def _bom(text: str, rnd: random.Random, pool: list[str]) -> str:
    return "\ufeff" + text


def _json_tree(text: str, rnd: random.Random, pool: list[str]) -> str:
    """Replace, delete or duplicate one value of a JSON document."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return _insert_char(text, rnd, pool)
    nodes: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            nodes.extend((node, k) for k in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            nodes.extend((node, i) for i in range(len(node)))
            stack.extend(node)
    if not nodes:
        return text
    parent, key = rnd.choice(nodes)
    op = rnd.random()
    if op < 0.6:
        parent[key] = rnd.choice(JSON_VALUES + [rnd.choice(nodes)[0]])
    elif op < 0.8:
        del parent[key]
    elif isinstance(parent, list):
        parent.insert(key, parent[key])
    else:
        parent[key + "_"] = parent[key]
    try:
        return json.dumps(doc, indent=rnd.choice([None, 2]), ensure_ascii=rnd.random() < 0.5)
    except (ValueError, RecursionError):  # a node placed inside itself
        return text


MUTATIONS: dict[str, Callable[[str, random.Random, list[str]], str | bytes]] = {
    "bytes": _bytes_flip, "char": _insert_char, "delete": _delete, "duplicate": _duplicate,
    "splice": _splice, "token": _token, "number": _number, "in_string": _in_string, "lines": _lines,
    "many_lines": _many_lines, "nesting": _nesting, "bom": _bom, "json_tree": _json_tree,
}


@dataclass
class Case:
    kind: str
    data: bytes | str  # bytes: what a file holds (decoded like the CLI does)

    @property
    def filename(self) -> str:
        return "fuzz.json" if self.kind == "json" else "fuzz.flow"


def mutate(seed_index: int, ops: list[tuple[str, int]]) -> Case:
    """Seed ``seed_index`` after the mutations ``ops`` (name, random seed), in order."""
    pool = seeds()
    kind, text = pool[seed_index % len(pool)]
    texts = [t for _k, t in pool]
    data: str | bytes = text
    for name, salt in ops:
        rnd = random.Random(salt)
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        data = MUTATIONS[name](data, rnd, texts)
    return Case(kind, data)


def random_case(rnd: random.Random) -> Case:
    ops = [(rnd.choice(list(MUTATIONS)), rnd.randrange(2**32)) for _ in range(rnd.choice([1, 1, 1, 1, 2, 2, 3, 5]))]
    return mutate(rnd.randrange(len(seeds())), ops)


# ---------------------------------------------------------------- the oracle

#: Facts for routing a workflow that checked clean: the largest amounts the engine accepts.
SAMPLE_FACTS = [
    {"disbursement_amount": Decimal("0.01"), "highest_invoice_amount": Decimal("0.01"),
     "highest_retainage_release": Decimal("0.00"), "invoice_count": 1, "project.office": None,
     "project.start_date": None},
    {"disbursement_amount": Decimal("99999999999999999.00"), "highest_invoice_amount": Decimal("999999999999999.99"),
     "highest_retainage_release": Decimal("999999999999999.99"), "invoice_count": 100,
     "project.office": "Boston", "project.start_date": date(2025, 1, 31)},
]


def exercise(case: Case) -> str:
    """What check, fmt and compile do with one input. Returns how far it got; raises on a bug."""
    from dsl.commands._io import decode_source
    from dsl.formatter import FormatError, format_loaded
    from dsl.load import load_workflow
    from dsl.render import diagnostic_json, render_text
    from engine.runtime.calendar import CompanyCalendar
    from engine.spec.compiler import CompiledCondition, compile_workflow
    from engine.spec.export import content_hash, document_text

    if isinstance(case.data, bytes):
        try:
            text = decode_source(case.data, case.filename)
        except OSError as exc:
            assert "not a UTF-8 text file" in str(exc) and " at line " in str(exc)
            return "refused: not UTF-8"
    else:
        text = case.data.encode("utf-8", "surrogatepass").decode("utf-8", "replace")  # as a file holds it
        text = text[1:] if text.startswith("\ufeff") else text
    loaded = load_workflow(text, case.filename, kind=case.kind)  # type: ignore[arg-type]
    sources = {case.filename: text}
    for d in loaded.diagnostics:
        render_text(d, sources).encode("utf-8")  # what the terminal gets must be writable
        json.dumps(diagnostic_json(d, case.filename))
    if loaded.front_end_failed or loaded.config is None:
        return "front end refused"
    try:
        formatted = format_loaded(loaded)
    except FormatError:
        if loaded.ok and case.kind == "flow":
            raise AssertionError("a .flow file that checks clean cannot be formatted")
        formatted = None
    if formatted is not None:
        formatted.encode("utf-8")
    if not loaded.ok:
        return "errors"
    config = loaded.config
    compiled = compile_workflow(config, checked=[d for d in loaded.diagnostics if d.path is not None])
    document = document_text(config)
    document.encode("utf-8")
    digest = content_hash(config)
    assert compiled.content_hash == digest
    again = load_workflow(document, "again.json")
    assert again.ok, [d.message for d in again.errors()]
    assert content_hash(again.config) == digest, "the compiled document does not load back to the same workflow"
    if formatted is not None:
        reformatted = load_workflow(formatted, "again.flow")
        assert reformatted.ok, [d.message for d in reformatted.errors()]
        assert content_hash(reformatted.config) == digest, "fmt changed the workflow"
    for step in compiled.steps:
        if isinstance(step, CompiledCondition):
            for facts in SAMPLE_FACTS:
                step.route(facts)
    calendar = CompanyCalendar()
    entered = datetime(2025, 1, 31, 15, tzinfo=timezone.utc)
    for step in config.steps:
        due = getattr(step, "due", None)
        if due is not None:
            calendar.overdue_since(calendar.due_date(entered, due.days, due.unit))
    return "clean"
