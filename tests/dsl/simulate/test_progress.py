"""The progress bar: on stderr, only for a large input when stderr is a terminal; stdout unchanged."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import dsl.commands.simulate as simulate
from tests.payroute_docs import REFERENCE_FLOW, disbursement, invoice
from web.cli import main


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(path: Path, err: io.StringIO) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["simulate", str(REFERENCE_FLOW), str(path), "--format", "jsonl"])
    return code, out.getvalue()


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.jsonl"
    docs = [disbursement(invoice(f"{k}.00"), id=f"D-{k}") for k in range(1, 40)]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def test_a_large_input_on_a_terminal_shows_progress_on_stderr(batch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulate, "PROGRESS_BYTES", 1024)  # "large", for a test-sized file
    quiet_code, quiet_out = run(batch, io.StringIO())
    err = Terminal()
    code, out = run(batch, err)
    assert (code, out) == (quiet_code, quiet_out) == (0, quiet_out)
    assert "simulating" in err.getvalue()
    assert len(out.splitlines()) == 39


def test_no_progress_when_stderr_is_not_a_terminal_or_the_input_is_small(batch: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    assert run(batch, piped)[0] == 0 and piped.getvalue() == ""  # small input, even on a terminal below
    terminal = Terminal()
    assert run(batch, terminal)[0] == 0 and terminal.getvalue() == ""
    monkeypatch.setattr(simulate, "PROGRESS_BYTES", 1024)
    assert run(batch, piped)[0] == 0 and piped.getvalue() == ""
