"""Round trip of every example: flow -> JSON -> fmt -> flow -> JSON is a fixed point.

The examples are globbed, so a new example is covered the day it lands.
Compiling the formatted text gives the same document as compiling the
original (formatting never changes what a workflow does: COND-10's `>`
stays `>`, money stays exact per GEN-1), and formatting twice changes
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FLOWS = sorted((ROOT / "templates_examples").glob("*/*.flow"))  # the reference workflow among them


def _id(path: Path) -> str:
    return path.parent.name if path.name == "workflow.flow" else path.stem


def test_there_are_examples_to_round_trip() -> None:
    assert len(FLOWS) >= 2


@pytest.mark.parametrize("flow", FLOWS, ids=_id)
def test_flow_json_fmt_flow_json_is_a_fixed_point(cli, tmp_path: Path, flow: Path) -> None:
    first = cli("compile", str(flow))
    assert first.code == 0, first.err
    document = tmp_path / "compiled.json"
    document.write_text(first.out, encoding="utf-8")

    as_flow = cli("fmt", str(document))
    assert as_flow.code == 0, as_flow.err
    again = cli("compile", "-", stdin=as_flow.out)
    assert again.code == 0, again.err
    assert again.out == first.out

    document.write_text(again.out, encoding="utf-8")
    assert cli("fmt", str(document)).out == as_flow.out


@pytest.mark.parametrize("flow", FLOWS, ids=_id)
def test_fmt_is_idempotent_and_keeps_the_compiled_document(cli, flow: Path) -> None:
    text = flow.read_text(encoding="utf-8")
    once = cli("fmt", "-", stdin=text)
    assert once.code == 0, once.err
    assert cli("fmt", "-", stdin=once.out).out == once.out
    assert cli("compile", "-", stdin=once.out).out == cli("compile", str(flow)).out


@pytest.mark.parametrize("flow", FLOWS, ids=_id)
def test_comments_of_the_examples_survive(cli, flow: Path) -> None:
    text = flow.read_text(encoding="utf-8")
    formatted = cli("fmt", "-", stdin=text).out
    comments = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    kept = [line.strip() for line in formatted.splitlines() if line.strip().startswith("#")]
    assert kept == comments
