"""Golden formatter output: ``tests/golden/format/NAME.flow`` -> ``NAME.formatted.flow``.

Each input shows one family of things fmt normalises (spacing, comments in
every position, money forms, nested and/or/not with in-lists, ``requires:
all`` with business days). ``pytest --update-goldens`` rewrites the
expected files; review the diff. Each expected file is itself canonical, and
compiles to the same document as its input (GEN-1: money unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.formatter import format_loaded
from dsl.load import load_workflow
from engine.spec.export import document_text

GOLDEN_FORMAT = Path(__file__).resolve().parents[2] / "golden" / "format"
INPUTS = sorted(p for p in GOLDEN_FORMAT.glob("*.flow") if not p.name.endswith(".formatted.flow"))


def fmt(text: str, name: str) -> str:
    loaded = load_workflow(text, name)
    assert not loaded.front_end_failed, loaded.diagnostics
    return format_loaded(loaded)


def test_the_golden_inputs_are_there() -> None:
    assert {p.stem for p in INPUTS} >= {"messy_spacing", "comments", "money_forms", "expressions", "requires_all"}


@pytest.mark.parametrize("source", INPUTS, ids=lambda p: p.stem)
def test_formatted_output_matches_the_golden_file(golden, source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    formatted = fmt(text, source.name)
    golden.check(f"format/{source.stem}.formatted.flow", formatted)
    assert fmt(formatted, source.name) == formatted
    before = load_workflow(text, source.name)
    after = load_workflow(formatted, source.name)
    assert document_text(after.config) == document_text(before.config)
    assert [d.code for d in after.diagnostics] == [d.code for d in before.diagnostics]
