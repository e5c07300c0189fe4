"""Pathologically nested input gets a located diagnostic, never a RecursionError."""

from __future__ import annotations

import json

import pytest

from dsl.load import load_workflow
from engine.diagnostics import MAX_EXPRESSION_DEPTH
from engine.spec.export import document_text
from tests.conftest import EXAMPLES

REF = (EXAMPLES / "reference" / "workflow.flow").read_text()
WHEN = "when disbursement_amount > $100,000.00"


@pytest.mark.parametrize("prefix,suffix,n", [("(", ")", 5000), ("not ", "", MAX_EXPRESSION_DEPTH + 1)])
def test_flow_nesting_is_bounded(prefix: str, suffix: str, n: int) -> None:
    loaded = load_workflow(REF.replace(WHEN, f"when {prefix * n}disbursement_amount > $100,000.00{suffix * n}"),
                           "deep.flow")
    assert [d.code for d in loaded.diagnostics] == ["nesting_too_deep"]
    assert loaded.diagnostics[0].span.line == 17


def test_the_limit_itself_is_accepted_in_both_front_ends() -> None:
    flow = REF.replace(WHEN, f"when {'not ' * MAX_EXPRESSION_DEPTH}disbursement_amount > $100,000.00")
    loaded = load_workflow(flow, "deep.flow")
    assert not [d for d in loaded.diagnostics if d.code == "nesting_too_deep"]
    again = load_workflow(document_text(loaded.config), "deep.json")
    assert not [d for d in again.diagnostics if d.code == "nesting_too_deep"]


@pytest.mark.parametrize("n", [MAX_EXPRESSION_DEPTH + 1, 3000])
def test_json_nesting_is_bounded(n: int) -> None:
    doc = json.loads(document_text(load_workflow(REF, "r.flow").config))
    when = doc["steps"][1]["branches"][0]["when"]
    for _ in range(n):
        when = {"op": "not", "arg": when}
    doc["steps"][1]["branches"][0]["when"] = when
    text = json.dumps(doc) if n < 500 else _dump_deep(doc)
    loaded = load_workflow(text, "deep.json")
    assert [d.code for d in loaded.diagnostics] == ["nesting_too_deep"]
    if n < 500:
        assert loaded.diagnostics[0].pointer.startswith("/steps/1/branches/0/when/arg")
    else:  # deeper than Python's own JSON reader goes: located at the document
        assert loaded.diagnostics[0].span.line == 1


def _dump_deep(doc: dict) -> str:
    """json.dumps recurses too; build the deep `when` text by hand."""
    when = doc["steps"][1]["branches"][0]["when"]
    depth = 0
    while "arg" in when:
        when, depth = when["arg"], depth + 1
    doc["steps"][1]["branches"][0]["when"] = "@@WHEN@@"
    inner = '{"op": "not", "arg": ' * depth + json.dumps(when) + "}" * depth
    return json.dumps(doc).replace('"@@WHEN@@"', inner)
