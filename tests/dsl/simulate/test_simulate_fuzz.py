"""Fuzzing ``payroute simulate`` with mutated disbursement lines (issue 8: no input crashes it).

Valid JSON Lines are mutated the ways a hostile or broken producer would:
bytes that are not UTF-8, truncation, nesting past any parser's depth,
integers past ``int()``'s 4,300-digit limit, control and bidi characters
(escaped in JSON, and raw), byte order marks, lone surrogates, values of the
wrong kind. Whatever the input, the run must end normally (exit 0 or 1, never
a traceback or an internal error), print nothing that drives a terminal, and
account for every non-blank line: one route or one located refusal each.

CI runs a small budget; ``PAYROUTE_FUZZ_EXAMPLES=N`` runs a longer campaign.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.safe_text import UNSAFE
from tests.conftest import run_cli
from tests.payroute_docs import REFERENCE_FLOW, disbursement, invoice

FLOW = str(REFERENCE_FLOW)
BOM = b"\xef\xbb\xbf"
EXAMPLES = int(os.environ.get("PAYROUTE_FUZZ_EXAMPLES", "150"))

#: Strings with the characters a terminal acts on.
nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\x1b[2J", "\x9b31m", "\u202eevil", "\x7f", "\u2066", "a\nb", "\r", "\x00", "\u2028", "\ufeff"]),
)
amounts = st.one_of(
    st.integers(1, 30_000_000).map(lambda c: f"{c // 100}.{c % 100:02d}"),
    st.sampled_from(["1.234", "-5.00", "0.00", "1e3", "99999999999999999999999999.00", ""]),
)


@st.composite
def valid_line(draw: st.DrawFn) -> bytes:
    invoices = [invoice(draw(amounts), id=f"I-{k}") for k in range(draw(st.integers(1, 3)))]
    doc = disbursement(*invoices, id=draw(st.one_of(st.just("D-1"), nasty_text)))
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _splice(line: bytes, at: int, insert: bytes, cut: int = 0) -> bytes:
    at = at % (len(line) + 1)
    return line[:at] + insert + line[at + cut:]


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    line = draw(valid_line())
    kind = draw(st.sampled_from(["keep", "bytes", "truncate", "deep", "deep_value", "huge_int", "raw_control",
                                 "bom", "surrogate", "wrong_kind", "random_json", "number_for_string"]))
    position = draw(st.integers(0, 10_000))
    if kind == "bytes":  # any bytes, invalid UTF-8 and newlines included
        return _splice(line, position, draw(st.binary(min_size=1, max_size=4)), cut=draw(st.integers(0, 3)))
    if kind == "truncate":
        return line[:position % (len(line) + 1)]
    if kind == "deep":
        depth = draw(st.sampled_from([10, 1_000, 100_000]))
        return draw(st.sampled_from([b"[", b'{"a":'])) * depth + line + draw(st.sampled_from([b"]", b"}"])) * depth
    if kind == "deep_value":
        depth = draw(st.sampled_from([50, 5_000, 200_000]))
        return line.replace(b'"FA-1"', b"[" * depth + b"]" * depth, 1)
    if kind == "huge_int":
        digits = b"9" * draw(st.sampled_from([4_300, 4_301, 5_000, 50_000]))
        target = draw(st.sampled_from([b'"D-1"', b'"FA-1"', b'"5.00"', b'"Tower"']))
        return line.replace(target, digits, 1) if target in line else line[:-1] + b', "x": ' + digits + b"}"
    if kind == "raw_control":  # a control byte inside a string: invalid JSON, must be refused
        return line.replace(b'"FA-1"', b'"FA\x1b[2J\x07\x9b"', 1)
    if kind == "bom":
        return BOM + line
    if kind == "surrogate":
        return line.replace(b'"FA-1"', b'"\\ud800x"', 1)
    if kind == "wrong_kind":
        return draw(st.sampled_from([b"[]", b"1", b'"x"', b"null", b"{}", b"true", b"1e999999", b"-0", b"{"]))
    if kind == "random_json":
        value = draw(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
                                  lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner,
                                                                                                max_size=3),
                                  max_leaves=8))
        return json.dumps(value).encode()
    if kind == "number_for_string":
        return line.replace(b'"Acme Concrete"', b"12.5", 1)
    return line


@st.composite
def jsonl_input(draw: st.DrawFn) -> bytes:
    """Mutated lines, with a pristine one second so the input reads as JSON Lines whatever the first holds."""
    lines = draw(st.lists(mutated_line(), min_size=1, max_size=6))
    lines.insert(1, json.dumps(disbursement(invoice("5.00"), id="pristine")).encode())
    blank = draw(st.sampled_from([b"", b"\n", b"  \n", b"\r\n"]))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), blank.rstrip(b"\n"))
    data = b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    return (BOM + data) if draw(st.booleans()) else data


def expected_lines(data: bytes) -> list[int]:
    """The 1-based numbers of the non-blank lines (a byte order mark at the start is not content)."""
    numbers = []
    for number, raw in enumerate(io.BytesIO(data), 1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw and not raw.isspace():
            numbers.append(number)
    return numbers


LOCATED = re.compile(r"line (\d+): ")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=jsonl_input(), fmt=st.sampled_from(["json", "jsonl", "text"]))
def test_every_line_is_a_route_or_a_located_refusal(data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory(prefix="payroute-fuzz-") as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(data)
        result = run_cli("simulate", FLOW, str(path), "--format", fmt)
    assert result.code in (0, 1), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert UNSAFE.findall(result.out + result.err) == []

    lines = expected_lines(data)
    refused = set()
    for text in result.err.splitlines():
        match = LOCATED.match(text)
        assert match is not None, f"an unlocated message: {text!r}"
        refused.add(int(match.group(1)))
    if fmt == "json":
        body = json.loads(result.out)
        routed = [r["line"] for r in body["results"]]
        assert sorted(routed + [e["line"] for e in body["errors"]]) == lines
        assert refused == {e["line"] for e in body["errors"]}
        assert body["result"] == ("error" if refused else "ok")
    elif fmt == "jsonl":
        routed = [json.loads(text)["id"] for text in result.out.splitlines()]
        assert "pristine" in routed
        assert len(routed) + len(refused) == len(lines)
    else:
        summary = result.out.splitlines()[-1]
        count = len(lines)
        assert summary.startswith(f"simulated {count} disbursement{'s' if count != 1 else ''}: ")
        assert refused <= set(lines)
    assert result.code == (1 if refused else 0)


@st.composite
def document_input(draw: st.DrawFn) -> bytes:
    """One pretty-printed document, mutated like a line."""
    line = draw(mutated_line())
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return line.replace(b", ", b",\n  ")
    return json.dumps(value, indent=draw(st.sampled_from([2, 4]))).encode()


@settings(max_examples=max(EXAMPLES // 3, 20), deadline=None, derandomize=EXAMPLES <= 150,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=document_input())
def test_a_mutated_document_ends_normally(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="payroute-fuzz-") as tmp:
        path = Path(tmp) / "doc.json"
        path.write_bytes(data)
        result = run_cli("simulate", FLOW, str(path), "--format", "json")
    assert result.code in (0, 1), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert UNSAFE.findall(result.out + result.err) == []
    body = json.loads(result.out)
    if expected_lines(data):
        assert len(body["results"]) + len(body["errors"]) >= 1
    else:
        assert result.code == 1 and result.err.endswith("no disbursement found\n")
