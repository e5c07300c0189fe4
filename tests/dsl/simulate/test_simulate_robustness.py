"""``payroute simulate`` on hostile input: every bad line is that line's located error, the run goes on.

Issue 8: a non-UTF-8 byte, a deeply nested first line or an integer past
Python's 4,300-digit ``int()`` limit aborted the run with a traceback (losing
the routes already computed); a byte order mark was refused; a broken first
line made the reader load the whole input; ``--format json`` held every
route in memory.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Iterator

import pytest

from dsl.simulate_input import read_records
from tests.payroute_docs import REFERENCE_FLOW, disbursement, invoice
from web.cli import main

FLOW = str(REFERENCE_FLOW)
BOM = b"\xef\xbb\xbf"


def line(id_: str, amount: str = "5.00") -> bytes:
    return json.dumps(disbursement(invoice(amount), id=id_)).encode() + b"\n"


def write(tmp_path: Path, *lines: bytes, name: str = "in.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return str(path)


def ids(out: str) -> list[str]:
    return [json.loads(text)["id"] for text in out.splitlines()]


def test_a_line_that_is_not_utf8_is_refused_alone(cli, tmp_path: Path) -> None:
    src = write(tmp_path, line("ok-1"), b'{"id": "D-\xff\xfe"}\n', line("ok-2"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert (result.code, ids(result.out)) == (1, ["ok-1", "ok-2"])
    assert result.err.startswith("line 2: not UTF-8 text (byte ")
    assert len(result.err.splitlines()) == 1


def test_a_deeply_nested_first_line_is_refused_alone(cli, tmp_path: Path) -> None:
    src = write(tmp_path, b"[" * 100_000 + b"]" * 100_000 + b"\n", line("ok-1"), line("ok-2"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert (result.code, ids(result.out)) == (1, ["ok-1", "ok-2"])
    assert result.err == "line 1: invalid JSON: nested too deeply\n"


@pytest.mark.rule("GEN-2")
def test_an_integer_past_the_int_digit_limit_is_refused_where_it_stands(cli, tmp_path: Path) -> None:
    huge = "9" * 5000
    as_id = json.dumps(disbursement(invoice("5.00"), id="X")).replace('"X"', huge).encode() + b"\n"
    as_amount = line("big", "12.00").replace(b'"12.00"', huge.encode())
    src = write(tmp_path, line("ok-1"), as_id, line("ok-2"), as_amount, line("ok-3"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert (result.code, ids(result.out)) == (1, ["ok-1", "ok-2", "ok-3"])
    assert result.err.splitlines() == [
        "line 2: id: must be a string, not a number",
        'line 4: invoices[0].amount: money must be a decimal string such as "100.00", not a JSON number (GEN-2)',
    ]


@pytest.mark.rule("GEN-2")
def test_an_integer_past_the_limit_in_a_single_document(cli, tmp_path: Path) -> None:
    text = json.dumps(disbursement(invoice("5.00"), id="X"), indent=2).replace('"X"', "7" * 4301)
    result = cli("simulate", FLOW, "-", stdin=text)
    assert (result.code, result.out) == (1, "simulated 1 disbursement: 1 refused\n")
    assert result.err == "<stdin>: id: must be a string, not a number\n"


def test_a_byte_order_mark_at_the_start_is_skipped(cli, tmp_path: Path) -> None:
    """Editors write one; JSON Lines and a single document both accept it (only at the start)."""
    src = write(tmp_path, BOM + line("ok-1"), line("ok-2"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert (result.code, ids(result.out), result.err) == (0, ["ok-1", "ok-2"], "")

    pretty = BOM + json.dumps(disbursement(invoice("5.00"), id="doc"), indent=2).encode()
    result = cli("simulate", FLOW, write(tmp_path, pretty, name="doc.json"), "--format", "jsonl")
    assert (result.code, ids(result.out), result.err) == (0, ["doc"], "")

    result = cli("simulate", FLOW, "-", "--format", "jsonl", stdin="\ufeff" + line("stdin").decode())
    assert (result.code, ids(result.out), result.err) == (0, ["stdin"], "")

    # Anywhere else a BOM is not whitespace: that line is refused, located.
    result = cli("simulate", FLOW, write(tmp_path, line("ok-1"), BOM + line("ok-2"), name="mid.jsonl"),
                 "--format", "jsonl")
    assert (result.code, ids(result.out)) == (1, ["ok-1"])
    assert result.err.startswith("line 2: invalid JSON: ")


class CountingLines:
    """A binary stream that counts the lines it has handed out."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for raw in self.lines:
            self.read += 1
            yield raw


def test_a_broken_first_line_does_not_make_the_reader_load_the_input() -> None:
    """JSON Lines still stream: deciding the input's form reads a few lines (``LOOKAHEAD`` non-blank ones at most)."""
    stream = CountingLines([b'{"id": \n', b"\n" * 3] + [line(f"D-{k}") for k in range(10_000)])
    records = read_records(stream, ["disbursement_amount"])  # type: ignore[arg-type]
    first = next(records)
    assert first.line == 1 and first.problems and first.problems[0].startswith("invalid JSON")
    assert stream.read <= 10
    second = next(records)
    assert (second.line, second.id, second.problems) == (3, "D-0", ())
    assert stream.read <= 10
    assert sum(1 for _ in records) == 9_999


def test_the_json_format_is_one_json_dumps_of_the_document(cli, tmp_path: Path) -> None:
    """The streamed document is byte for byte ``json.dumps(body, indent=2, ensure_ascii=False)``."""
    src = write(tmp_path, line("ok-1"), b'{"id": "bad"}\n', line("Zoë", "150000.00"), b"nope\n")
    for args in ([src], [src, "--default-answer", "Reject"], [write(tmp_path, line("only"), name="one.jsonl")],
                 [write(tmp_path, b"nope\n", name="bad.jsonl")]):
        result = cli("simulate", FLOW, *args, "--format", "json")
        assert result.out == json.dumps(json.loads(result.out), indent=2, ensure_ascii=False) + "\n"
    body = json.loads(cli("simulate", FLOW, src, "--format", "json").out)
    assert [r["id"] for r in body["results"]] == ["ok-1", "Zoë"]
    assert [e["line"] for e in body["errors"]] == [2, 4] and body["result"] == "error"


class Sink(io.TextIOBase):
    """stdout that keeps nothing: only the command's own memory is measured."""

    def write(self, text: str) -> int:
        return len(text)


def peak_bytes(path: str, fmt: str) -> int:
    tracemalloc.start()
    try:
        with redirect_stdout(Sink()), redirect_stderr(Sink()):
            assert main(["simulate", FLOW, path, "--format", fmt]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "text"])
def test_memory_does_not_grow_with_the_number_of_lines(tmp_path: Path, fmt: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten times the lines, about the same peak: every format streams (json spills to an unnamed file)."""
    from dsl.simulate_output import JsonWriter

    monkeypatch.setattr(JsonWriter, "SPOOL_BYTES", 64 * 1024, raising=False)  # spill at test sizes too
    one = b"".join(line(f"D-{k}", f"{k * 37 % 150_000 + 1}.00") for k in range(5_000))
    small = write(tmp_path, one[:one.index(b"\n", len(one) // 10) + 1], name="small.jsonl")
    large = write(tmp_path, one, name="large.jsonl")
    with redirect_stdout(Sink()):  # warm: imports and caches are not the run's memory
        main(["simulate", FLOW, small, "--format", fmt])
    small_peak, large_peak = peak_bytes(small, fmt), peak_bytes(large, fmt)
    assert large_peak < 1.5 * small_peak + 512 * 1024, (small_peak, large_peak)
