"""The checker reports every problem of a file, in order, and never raises.

Issue 3: "All errors in a file are reported, not just the first, sorted by
position", and "the parser and checker never raise anything but a
diagnostic on arbitrary text (generated mutations of the examples)".
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.load import load_workflow
from dsl.render import diagnostic_json, render_text
from engine.diagnostics import CODES, Diagnostic
from engine.spec.checks import run_checks
from engine.spec.export import document_text
from tests.conftest import REFERENCE_FLOW

REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")

MANY_MISTAKES = '''workflow "Many mistakes" {
    tool: payments
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        requires: all
        due: 0 calendar days
        on "Accept" -> "Amount"
        on "Accept" -> "Rejected"
    }

    condition "Amount" {
        when disbursment_amount > $100,000.00 -> "CFO Review"
        when invoice_count > $5 -> "CFO Reveiw"
        when project.office > "Denver" -> "Approved"
        when highest_invoice_amount >= $10.005 -> "Approved"
    }

    response "CFO Review" {
        on "Approve" -> "Approved"
    }

    end "Approved" success { }
    end "Rejected" failure { }
    end "Approved" failure { }
}
'''

EXPECTED = [
    (1, "workflow_missing_manager"),
    (7, "response_all_without_approve"),
    (8, "due_days_invalid"),
    (10, "response_duplicate_answer"),
    (13, "condition_missing_otherwise"),
    (14, "name_unknown_fact"),
    (15, "type_mismatch"),
    (15, "name_unknown_step"),
    (16, "type_invalid_operator"),
    (17, "money_precision"),
    (20, "field_missing"),
    (26, "name_duplicate_step"),
]


def test_every_error_of_a_file_is_reported_in_position_order() -> None:
    loaded = load_workflow(MANY_MISTAKES, "many.flow")
    got = [(d.span.line, d.code) for d in loaded.diagnostics if d.span is not None]
    assert sorted(got, key=lambda x: x[0]) == got
    assert got == EXPECTED
    positions = [(d.span.line, d.span.column) for d in loaded.diagnostics]
    assert positions == sorted(positions)


def test_cli_reports_them_all_and_fails(cli, tmp_path) -> None:
    path = tmp_path / "many.flow"
    path.write_text(MANY_MISTAKES, encoding="utf-8")
    result = cli("check", str(path))
    assert result.code == 1
    assert result.out.count("error[") == len(EXPECTED)
    assert result.out.endswith(f"checked 1 file: {len(EXPECTED)} errors\n")


# ---------------------------------------------------------------- mutations

LINES = REFERENCE.split("\n")
_ALPHABET = st.sampled_from(list('{}[]()"$,.:->=<!#\n abcdefgorsuwn0159_') + ["\\", "\t", "é"])


@st.composite
def mutated_sources(draw: st.DrawFn) -> str:
    """Line deletions, duplications and swaps, then character edits, of the reference workflow."""
    lines = list(LINES)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap"]))
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    text = "\n".join(lines)
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, max(0, len(text) - 1)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        ch = draw(_ALPHABET)
        if op == "replace":
            text = text[:pos] + ch + text[pos + 1:]
        elif op == "insert":
            text = text[:pos] + ch + text[pos:]
        else:
            text = text[:pos] + text[pos + 1:]
    return text


def _assert_well_formed(diags: list[Diagnostic], text: str, filename: str) -> None:
    for d in diags:
        assert d.code in CODES
        assert d.severity == CODES[d.code].severity
        render_text(d, {filename: text})
        diagnostic_json(d, filename)
    positions = [(d.span.line, d.span.column) for d in diags if d.span is not None]
    assert positions == sorted(positions)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_sources())
def test_checks_never_raise_on_mutated_flow(text: str) -> None:
    loaded = load_workflow(text, "mutant.flow")
    _assert_well_formed(loaded.diagnostics, text, "mutant.flow")
    if loaded.config is None:
        assert any(d.is_error for d in loaded.diagnostics)
    else:
        # The compiled form of whatever was understood is checked the same way (WF-5).
        json_text = document_text(loaded.config)
        as_json = load_workflow(json_text, "mutant.json")
        _assert_well_formed(as_json.diagnostics, json_text, "mutant.json")
        assert sorted(d.code for d in as_json.diagnostics) == \
            sorted(d.code for d in run_checks(loaded.config))


REFERENCE_JSON = document_text(load_workflow(REFERENCE, "reference.flow").config)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(REFERENCE_JSON) - 1), st.sampled_from(list('{}[]",:0123456789abcnrstuefl -.\\')),
       st.sampled_from(["replace", "insert", "delete"]))
def test_checks_never_raise_on_mutated_json(pos: int, ch: str, op: str) -> None:
    text = REFERENCE_JSON
    if op == "replace":
        text = text[:pos] + ch + text[pos + 1:]
    elif op == "insert":
        text = text[:pos] + ch + text[pos:]
    else:
        text = text[:pos] + text[pos + 1:]
    loaded = load_workflow(text, "mutant.json")
    _assert_well_formed(loaded.diagnostics, text, "mutant.json")
