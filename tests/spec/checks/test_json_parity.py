"""WF-5: a JSON config gets exactly the checks a `.flow` file gets, located by JSON Pointer.

Every golden `.flow` case that loads into a model is compiled to its JSON
document (:func:`engine.spec.export.document_text`) and checked again: the same
codes and messages must come back, each with the pointer of its model path
and a line and column in the JSON text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.load import load_workflow
from engine.diagnostics import path_to_pointer
from engine.spec.export import document_text
from tests.conftest import REFERENCE_FLOW

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "tests" / "golden" / "diagnostics"


def _semantic_cases() -> list[Path]:
    out = []
    for case in sorted(CASES.glob("*.flow")):
        loaded = load_workflow(case.read_text(encoding="utf-8"), case.name)
        if loaded.config is not None and not loaded.front_end_failed:
            out.append(case)
    return out


SEMANTIC_CASES = _semantic_cases()


def test_most_cases_are_semantic() -> None:
    """Guard the parametrization below against silently checking nothing."""
    assert len(SEMANTIC_CASES) >= 25


@pytest.mark.parametrize("case", SEMANTIC_CASES, ids=lambda p: p.stem)
def test_json_config_gets_the_same_checks(case: Path) -> None:
    flow = load_workflow(case.read_text(encoding="utf-8"), case.name)
    assert flow.config is not None
    json_text = document_text(flow.config)
    name = case.with_suffix(".json").name
    as_json = load_workflow(json_text, name)

    assert [(d.code, d.message, d.hint) for d in as_json.diagnostics] == \
        [(d.code, d.message, d.hint) for d in flow.diagnostics]
    for diag in as_json.diagnostics:
        assert diag.pointer == path_to_pointer(diag.path or ())
        assert diag.span is not None and diag.span.file == name
        # The pointer names something that exists in the document.
        lines = json_text.split("\n")
        assert 1 <= diag.span.line <= len(lines)


def test_reference_workflow_checks_clean_as_flow_and_json(cli, monkeypatch, tmp_path) -> None:
    """LANGUAGE.md's reference workflow (COND-10: `>` at $100,000.00) has no diagnostics."""
    monkeypatch.chdir(ROOT)
    result = cli("check", str(REFERENCE_FLOW.relative_to(ROOT)))
    assert (result.code, result.out) == (0, "checked 1 file: no problems\n")

    loaded = load_workflow(REFERENCE_FLOW.read_text(encoding="utf-8"), "reference.flow")
    assert loaded.config is not None and loaded.diagnostics == []
    out = tmp_path / "reference.json"
    out.write_text(document_text(loaded.config), encoding="utf-8")
    result = cli("check", str(out))
    assert (result.code, result.out) == (0, "checked 1 file: no problems\n")
