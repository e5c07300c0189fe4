"""Condition semantics: boundaries (COND-10), empty facts and three-valued logic (COND-2..COND-4)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.spec.compiler import compile_expression
from engine.spec.evaluator import decide, evaluate
from engine.spec.model import Compare, FactRef, InList, ListLit, Logical, MoneyLit, Not, StringLit
from tests.payroute_docs import compile_text, reference_text

CENT = Decimal("0.01")
CFO = ("Controller Review", "> $100,000.00", "CFO Review", "Approved")
NO_CFO = ("Controller Review", "> $100,000.00", "Approved")


@pytest.fixture(scope="module")
def at_or_above():
    """The reference workflow with `>=` instead of `>`."""
    return compile_text(reference_text().replace("disbursement_amount > $100,000.00",
                                                 "disbursement_amount >= $100,000.00"))


@pytest.mark.rule("COND-10")
@pytest.mark.parametrize(("amount", "path"), [
    ("99999.99", NO_CFO), ("100000.00", NO_CFO), ("100000.01", CFO)])
def test_reference_uses_greater_than_at_the_boundary(reference, amount: str, path: tuple[str, ...]) -> None:
    """COND-10: the reference workflow uses `>`: exactly $100,000.00 skips the CFO."""
    route = evaluate(reference, {"disbursement_amount": Decimal(amount)})
    assert route.path == path and route.end == "Approved"


@pytest.mark.rule("COND-10")
@pytest.mark.parametrize(("amount", "path"), [
    ("99999.99", NO_CFO), ("100000.00", CFO), ("100000.01", CFO)])
def test_at_or_above_takes_the_cfo_at_exactly_the_threshold(at_or_above, amount: str,
                                                            path: tuple[str, ...]) -> None:
    """COND-10: `>=` sends exactly $100,000.00 to the CFO; the engine never guesses."""
    assert evaluate(at_or_above, {"disbursement_amount": Decimal(amount)}).path == path


thresholds = st.integers(1, 10**14).map(lambda n: Decimal(n).scaleb(-2))


@pytest.mark.rule("COND-10")
@given(thresholds, st.sampled_from([">", ">="]), st.sampled_from([-1, 0, 1]))
def test_boundary_of_gt_and_ge_at_t_minus_t_and_t_plus_one_cent(threshold: Decimal, op: str, step: int) -> None:
    """COND-10 for every threshold T: T-0.01, T and T+0.01 go exactly where the operator says."""
    expr = compile_expression(Compare(op=op, left=FactRef(fact="disbursement_amount"),
                                      right=MoneyLit(money=f"{threshold:f}")))
    amount = threshold + step * CENT
    expected = amount > threshold if op == ">" else amount >= threshold
    assert expr.test({"disbursement_amount": amount}) is expected
    assert expected is (step > 0 or (step == 0 and op == ">="))


# ---------------------------------------------------------------- COND-4: three-valued logic

T, F, U = True, False, None
VALUE = {T: "yes", F: "no", U: None}  # the fact value that makes `project.x == "yes"` T, F or unknown


def atom(name: str) -> Compare:
    return Compare(op="==", left=FactRef(fact=f"project.{name}"), right=StringLit(string="yes"))


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    return F if F in (a, b) else U if U in (a, b) else T


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    return T if T in (a, b) else U if U in (a, b) else F


@pytest.mark.rule("COND-4")
@pytest.mark.parametrize(("a", "b"), list(product([T, F, U], repeat=2)))
def test_and_or_follow_the_three_valued_table(a: bool | None, b: bool | None) -> None:
    """COND-4: false and unknown = false; true or unknown = true; otherwise unknown spreads."""
    facts = {"project.a": VALUE[a], "project.b": VALUE[b]}
    both = (atom("a"), atom("b"))
    assert compile_expression(Logical(op="and", args=both)).test(facts) is kleene_and(a, b)
    assert compile_expression(Logical(op="or", args=both)).test(facts) is kleene_or(a, b)


@pytest.mark.rule("COND-4")
@pytest.mark.parametrize(("a", "expected"), [(T, F), (F, T), (U, U)])
def test_not_unknown_is_unknown(a: bool | None, expected: bool | None) -> None:
    """COND-4."""
    assert compile_expression(Not(op="not", arg=atom("a"))).test({"project.a": VALUE[a]}) is expected


@pytest.mark.rule("COND-4")
def test_a_comparison_or_in_reading_an_empty_fact_is_unknown() -> None:
    """COND-4: empty is neither equal nor unequal to anything."""
    for op in ("==", "!="):
        expr = Compare(op=op, left=FactRef(fact="project.office"), right=StringLit(string="Denver"))
        assert compile_expression(expr).test({}) is None
        assert compile_expression(expr).test({"project.office": None}) is None
    in_list = InList(op="in", left=FactRef(fact="project.office"), right=ListLit(list=("Denver",)))
    assert compile_expression(in_list).test({}) is None
    assert compile_expression(in_list).test({"project.office": "Denver"}) is True


OFFICE = '''workflow "Offices" {
    manager: role "Workflow Manager"
    start: "Route"
    condition "Route" {
        when not (project.office == "Denver") -> "Elsewhere"
        when project.office in ["Denver"] or disbursement_amount > $5.00 -> "Denver"
        otherwise -> "Unknown office"
    }
    end "Elsewhere" success { status: "Approved" }
    end "Denver" success { status: "Approved" }
    end "Unknown office" failure { status: "Rejected" }
}
'''


@pytest.mark.rule("COND-2", "COND-3", "COND-4")
@pytest.mark.parametrize(("office", "amount", "end"), [
    ("Boulder", "1.00", "Elsewhere"),
    ("Denver", "1.00", "Denver"),
    (None, "1.00", "Unknown office"),   # COND-3: empty fact → otherwise
    (None, "9.00", "Denver"),           # true or unknown = true (COND-4)
])
def test_when_lines_are_tried_in_order_and_only_true_routes(office: str | None, amount: str, end: str) -> None:
    """COND-2, COND-3, COND-4."""
    compiled = compile_text(OFFICE)
    facts = {"project.office": office, "disbursement_amount": Decimal(amount)}
    assert evaluate(compiled, facts).end == end


@pytest.mark.rule("COND-13")
def test_the_decision_records_facts_results_and_route() -> None:
    """COND-13: every fact read with its value or "empty", each `when` result, and the route."""
    compiled = compile_text(OFFICE)
    outcome = decide(compiled, "Route", {"disbursement_amount": Decimal("120000")})
    assert (outcome.target, outcome.otherwise) == ("Denver", False)
    assert outcome.lines() == [
        'not (project.office (empty) == "Denver"): unknown',
        'project.office (empty) in ["Denver"] or disbursement_amount $120,000.00 > $5.00: true → Denver',
    ]
    assert outcome.to_data()["facts"] == [
        {"fact": "project.office", "value": None, "text": "empty"},
        {"fact": "disbursement_amount", "value": "120000", "text": "$120,000.00"},
    ]


@pytest.mark.rule("COND-13")
def test_the_reference_explanation_reads_like_the_rule(reference) -> None:
    """COND-13's own example."""
    outcome = decide(reference, "> $100,000.00", {"disbursement_amount": Decimal("120000.00")})
    assert outcome.lines() == ["disbursement_amount $120,000.00 > $100,000.00: true → CFO Review"]
    low = decide(reference, "> $100,000.00", {"disbursement_amount": Decimal("100000.00")})
    assert low.lines() == ["disbursement_amount $100,000.00 > $100,000.00: false", "otherwise → Approved"]


@pytest.mark.rule("COND-13")
def test_the_explanation_quotes_the_line_as_fmt_writes_it() -> None:
    """COND-13: a reason quotes the `when` line in fmt's form (nested and/or in parentheses),
    with each fact's value after its name."""
    from dsl.formatter import format_expr

    when = Logical("or", (
        Compare(">", FactRef("disbursement_amount"), MoneyLit("100000")),
        Logical("and", (Compare(">", FactRef("disbursement_amount"), MoneyLit("5000")),
                        Compare("==", FactRef("project.office"), StringLit("Denver")))),
    ))
    facts = {"disbursement_amount": Decimal("6000"), "project.office": "Denver"}
    assert format_expr(when) == ('disbursement_amount > $100,000.00 or '
                                 '(disbursement_amount > $5,000.00 and project.office == "Denver")')
    assert compile_expression(when).explain(facts) == (
        'disbursement_amount $6,000.00 > $100,000.00 or '
        '(disbursement_amount $6,000.00 > $5,000.00 and project.office "Denver" == "Denver")')
