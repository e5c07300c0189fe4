"""The canonical style of ``payroute fmt`` (dsl/formatter.py), through ``load_workflow``.

What a workflow does must never change when it is formatted (money is
printed, never rounded: GEN-1), so most tests here compare the compiled
document before and after as well as the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.formatter import FormatError, format_config, format_expr, format_loaded
from dsl.load import load_workflow
from engine.spec.export import config_to_document
from engine.spec.model import (
    Compare,
    ConditionStep,
    FactRef,
    InList,
    IntLit,
    ListLit,
    Logical,
    MoneyLit,
    Not,
    StringLit,
    WorkflowConfig,
)
from tests.conftest import REFERENCE_FLOW

HERE = Path(__file__).resolve().parent
REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")
HEADER = 'workflow "W" {\n    tool: payments\n    manager: role "M"\n    start: "C"\n'


def fmt(text: str) -> str:
    loaded = load_workflow(text, "t.flow")
    assert not loaded.front_end_failed, loaded.diagnostics
    return format_loaded(loaded)


def compiled(text: str) -> dict:
    loaded = load_workflow(text, "t.flow")
    assert loaded.config is not None
    return config_to_document(loaded.config)


def when_line(expr: str) -> str:
    """The formatted `when` line of a one-branch condition step."""
    src = HEADER + f'    condition "C" {{\n        when {expr} -> "E"\n        otherwise -> "E"\n    }}\n}}\n'
    out = fmt(src)
    assert compiled(out) == compiled(src)
    return next(line.strip() for line in out.splitlines() if line.strip().startswith("when"))


def test_the_reference_workflow_is_already_canonical() -> None:
    """LANGUAGE.md's reference workflow, exactly as written there, is fmt's fixed point (COND-10: its `>` stays)."""
    assert fmt(REFERENCE) == REFERENCE


@pytest.mark.parametrize(("written", "canonical"), [
    ("$5,000,000", "$5,000,000.00"),
    ("$0", "$0.00"),
    ("$1234.5", "$1,234.50"),
    ("$100000.00", "$100,000.00"),
    ("$007", "$7.00"),
    ("$999.99", "$999.99"),
])
def test_money_is_printed_with_commas_and_two_decimals(written: str, canonical: str) -> None:
    """GEN-1: the amount is the same exact decimal, only its spelling changes."""
    assert when_line(f"disbursement_amount > {written}") == f'when disbursement_amount > {canonical} -> "E"'


def test_money_with_more_than_two_decimals_is_kept_not_rounded() -> None:
    """GEN-2: never rounded; the checker reports the precision error, fmt does not hide it."""
    assert when_line("disbursement_amount > $1000.125") == 'when disbursement_amount > $1,000.125 -> "E"'


@pytest.mark.parametrize(("written", "canonical"), [
    ("(disbursement_amount > $1)", "disbursement_amount > $1.00"),
    ("a_fact == 1 or b == 2 and c == 3", "a_fact == 1 or (b == 2 and c == 3)"),
    ("(a == 1 or b == 2) and c == 3", "(a == 1 or b == 2) and c == 3"),
    ("a == 1 or b == 2 or c == 3", "a == 1 or b == 2 or c == 3"),
    ("(a == 1 or b == 2) or c == 3", "(a == 1 or b == 2) or c == 3"),
    ("a == 1 and (b == 2 and c == 3)", "a == 1 and (b == 2 and c == 3)"),
    ("not a == 1", "not (a == 1)"),
    ("not (a == 1) and b == 2", "not (a == 1) and b == 2"),
    ("not (a == 1 and b == 2)", "not (a == 1 and b == 2)"),
    ("not not project.office", "not not project.office"),
    ("((project.office))", "project.office"),
    ('project.office in["A","B"  ,"C"]', 'project.office in ["A", "B", "C"]'),
    ("project.office in []", "project.office in []"),
    ('not project.office in ["A"] or invoice_count>=3',
     'not (project.office in ["A"]) or invoice_count >= 3'),
    ("project.start_date>=2024-07-01", "project.start_date >= 2024-07-01"),
])
def test_expressions_get_the_parentheses_precedence_and_readers_need(written: str, canonical: str) -> None:
    assert when_line(written) == f'when {canonical} -> "E"'


def test_nested_same_operator_keeps_its_tree() -> None:
    """`(a or b) or c` and `a or b or c` are different compiled trees; fmt keeps each."""
    nested = Logical(op="or", args=(
        Logical(op="or", args=(FactRef("a"), FactRef("b"))), FactRef("c")))
    flat = Logical(op="or", args=(FactRef("a"), FactRef("b"), FactRef("c")))
    assert format_expr(nested) == "(a or b) or c"
    assert format_expr(flat) == "a or b or c"


def test_strings_are_re_escaped() -> None:
    src = HEADER + '    end "Say \\"hi\\" \\\\ # not a comment" success {\n        status: "a\\\\b"\n    }\n}\n'
    out = fmt(src)
    assert '    end "Say \\"hi\\" \\\\ # not a comment" success {' in out
    assert compiled(out) == compiled(src)
    assert load_workflow(out, "t.flow").config.steps[0].name == 'Say "hi" \\ # not a comment'


def test_fields_come_in_canonical_order_and_requires_any_is_dropped() -> None:
    src = (HEADER.replace("    tool: payments\n", "") + "    tool: payments\n"
           '    response "C" {\n'
           '        on "Approve" -> "E"\n'
           '        due: 1 business day\n'
           '        notify: creator, assignees\n'
           '        requires: any\n'
           '        status: "S"\n'
           '        assignees: role "R", user "u@example.com", group "G"\n'
           '    }\n'
           '    response "D" {\n        requires: all\n        on "Approve" -> "E"\n    }\n'
           '    end "E" failure {\n        notify: manager\n        status: "X"\n    }\n}\n')
    assert fmt(src) == (
        'workflow "W" {\n    tool: payments\n    manager: role "M"\n    start: "C"\n\n'
        '    response "C" {\n'
        '        assignees: role "R", user "u@example.com", group "G"\n'
        '        status: "S"\n'
        '        notify: creator, assignees\n'
        '        due: 1 business day\n'
        '        on "Approve" -> "E"\n'
        '    }\n\n'
        '    response "D" {\n        requires: all\n        on "Approve" -> "E"\n    }\n\n'
        '    end "E" failure {\n        status: "X"\n        notify: manager\n    }\n}\n'
    )


def test_a_missing_tool_is_written_out_and_empty_blocks_stay_valid() -> None:
    out = fmt('workflow "W" { condition "C" { } }')
    assert out == 'workflow "W" {\n    tool: payments\n\n    condition "C" {\n    }\n}\n'
    assert fmt(out) == out


# ---------------------------------------------------------------- comments


def test_comments_stay_with_the_element_they_precede_or_follow() -> None:
    src = (
        "# file header\n"
        'workflow "W" {  # trailing the header\n'
        '    start: "C"\n'
        "    # about the manager\n"
        '    manager: role "M"\n'
        "    tool: payments\n"
        '    response "C" {\n'
        '        on "Approve" -> "E"  # the happy path\n'
        "        # who answers\n"
        '        assignees: role "R"\n'
        "        # nothing after this\n"
        "    }  # end of C\n"
        '    end "E" success {\n'
        "    }\n"
        "    # before the last brace\n"
        "}\n"
        "# footer\n"
    )
    out = fmt(src)
    assert out == (
        "# file header\n"
        'workflow "W" {  # trailing the header\n'
        "    tool: payments\n"
        "    # about the manager\n"
        '    manager: role "M"\n'
        '    start: "C"\n\n'
        '    response "C" {\n'
        "        # who answers\n"
        '        assignees: role "R"\n'
        '        on "Approve" -> "E"  # the happy path\n'
        "        # nothing after this\n"
        "    }  # end of C\n\n"
        '    end "E" success {\n'
        "    }\n"
        "    # before the last brace\n"
        "}\n"
        "# footer\n"
    )
    assert fmt(out) == out


def test_a_comment_inside_a_multi_line_element_moves_before_it() -> None:
    src = HEADER + (
        '    condition "C" {\n'
        "        when invoice_count > 1 and  # first half\n"
        "             # still inside\n"
        '             invoice_count < 9 -> "E"\n'
        '        otherwise -> "E"\n'
        "    }\n}\n"
    )
    out = fmt(src)
    assert "        # first half\n        # still inside\n        when invoice_count > 1 and invoice_count < 9" in out
    assert fmt(out) == out


def test_a_blank_line_next_to_a_comment_is_kept_once() -> None:
    src = REFERENCE.replace(
        '    response "CFO Review" {',
        "\n\n    # ---- executives ----\n\n\n    response \"CFO Review\" {",
    )
    out = fmt(src)
    assert '    }\n\n    # ---- executives ----\n\n    response "CFO Review" {' in out
    assert fmt(out) == out


def test_a_comment_on_a_dropped_setting_is_not_lost() -> None:
    src = HEADER + '    response "C" {\n        requires: any  # the default\n        on "Approve" -> "E"\n    }\n}\n'
    out = fmt(src)
    assert '        # the default\n        on "Approve" -> "E"\n' in out
    assert fmt(out) == out


def test_without_a_source_map_comments_are_kept_at_the_top() -> None:
    loaded = load_workflow(REFERENCE, "r.flow")
    out = format_config(loaded.config, loaded.comments)
    assert out.startswith("# Example Payments Workflow\nworkflow")
    assert out == REFERENCE


# ---------------------------------------------------------------- what the language cannot spell


@pytest.mark.parametrize("config", [
    WorkflowConfig(name="W", tool="Pay Ments"),
    WorkflowConfig(name="line\nbreak"),
    WorkflowConfig(name="W", steps=(ConditionStep(kind="condition", name="C", branches=(), otherwise="x\ny"),)),
], ids=["tool", "newline-name", "newline-target"])
def test_unspellable_models_raise_format_error(config: WorkflowConfig) -> None:
    with pytest.raises(FormatError):
        format_config(config)


@pytest.mark.parametrize("expr", [
    Compare(op=">", left=FactRef("Disbursement Amount"), right=MoneyLit("1")),
    Compare(op="==", left=FactRef("not"), right=IntLit(1)),
    Compare(op=">", left=FactRef("invoice_count"), right=IntLit(-1)),
    Logical(op="and", args=(FactRef("a"),)),
    Not(op="not", arg=InList(op="in", left=StringLit("x"), right=ListLit(("a\nb",)))),
])
def test_unspellable_expressions_raise_format_error(expr: object) -> None:
    with pytest.raises(FormatError):
        format_expr(expr)
