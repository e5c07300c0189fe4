"""A `when` line in words (engine.spec.expression_words): what an inbox reason says about the
condition that routed a disbursement, with the values the evaluation recorded (COND-13)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.spec.evaluator import decide
from engine.spec.expression_words import expression_words, fact_words, negated_words
from engine.spec.model import Compare, DateLit, FactRef, InList, IntLit, ListLit, Logical, MoneyLit, Not, StringLit
from tests.payroute_docs import compile_text, reference_text

AMOUNT = FactRef("disbursement_amount")
OFFICE = FactRef("project.office")


@pytest.mark.parametrize(("op", "held", "missed"), [
    (">", "is over", "is not over"), (">=", "is at least", "is under"),
    ("<", "is under", "is not under"), ("<=", "is at most", "is over"),
    ("==", "is", "is not"), ("!=", "is not", "is")])
def test_money_comparisons_read_as_words(op: str, held: str, missed: str) -> None:
    expr = Compare(op, AMOUNT, MoneyLit("100000"))  # type: ignore[arg-type]
    values = {"disbursement_amount": "$120,000.00"}
    assert expression_words(expr, values) == f"disbursement amount $120,000.00 {held} $100,000.00"
    assert negated_words(expr, values) == f"disbursement amount $120,000.00 {missed} $100,000.00"


def test_counts_dates_lists_and_a_literal_written_first() -> None:
    count = {"invoice_count": "4"}
    assert expression_words(Compare(">", FactRef("invoice_count"), IntLit(3)), count) == "invoice count 4 is more than 3"
    start = {"project.start_date": "2025-03-01"}
    assert expression_words(Compare("<", FactRef("project.start_date"), DateLit("2025-06-30")), start) == \
        "project start date 2025-03-01 is before 2025-06-30"
    # `$100 < amount` is said fact first: `amount ... is over $100`
    assert expression_words(Compare("<", MoneyLit("100"), AMOUNT), {"disbursement_amount": "$250.00"}) == \
        "disbursement amount $250.00 is over $100.00"
    listed = InList("in", OFFICE, ListLit(("Denver", "Austin")))
    assert expression_words(listed, {"project.office": '"Denver"'}) == \
        'project office "Denver" is one of "Denver", "Austin"'
    assert negated_words(listed, {"project.office": '"Boston"'}) == \
        'project office "Boston" is not one of "Denver", "Austin"'


@pytest.mark.rule("COND-3")
def test_an_empty_fact_is_said_to_be_empty_either_way() -> None:
    """COND-3: a line reading an empty fact is unknown, never true; the words say the fact was empty."""
    expr = Compare("==", FactRef("project.sector"), StringLit("Health"))
    for values in ({}, {"project.sector": "empty"}):
        assert expression_words(expr, values) == negated_words(expr, values) == "project sector is empty"


def test_not_and_or_negate_by_de_morgan() -> None:
    values = {"disbursement_amount": "$50.00", "project.office": '"Boston"'}
    big = Compare(">", AMOUNT, MoneyLit("100"))
    here = Compare("==", OFFICE, StringLit("Denver"))
    assert expression_words(Not("not", big), values) == "disbursement amount $50.00 is not over $100.00"
    both = Logical("and", (big, here))
    assert expression_words(both, values) == \
        'disbursement amount $50.00 is over $100.00 and project office "Boston" is "Denver"'
    assert negated_words(both, values) == \
        'disbursement amount $50.00 is not over $100.00 or project office "Boston" is not "Denver"'
    nested = Logical("or", (here, Logical("and", (big, here))))
    assert negated_words(nested, values) == ('project office "Boston" is not "Denver" and (disbursement amount '
                                             '$50.00 is not over $100.00 or project office "Boston" is not "Denver")')


def test_fact_names_as_words() -> None:
    assert fact_words("highest_retainage_release") == "highest retainage release"
    assert fact_words("project.start_date") == "project start date"


@pytest.mark.rule("COND-13")
@pytest.mark.parametrize(("amount", "text"), [
    ("120000.00", "disbursement amount $120,000.00 is over $100,000.00"),
    ("100000.00", "disbursement amount $100,000.00 is not over $100,000.00")])
def test_the_words_say_what_the_recorded_evaluation_decided(amount: str, text: str) -> None:
    """The reference workflow's condition, decided by the evaluator as the runtime decides it:
    its recorded values (COND-13) read back as words, through the `when` that routed or, for an
    `otherwise`, the line that did not hold."""
    compiled = compile_text(reference_text())
    outcome = decide(compiled, "> $100,000.00", {"disbursement_amount": Decimal(amount)})
    data = outcome.to_data()
    values = {f["fact"]: f["text"] for f in data["facts"]}
    [branch] = compiled.config.step_named("> $100,000.00").branches  # type: ignore[union-attr]
    said = expression_words(branch.when, values) if not data["otherwise"] else negated_words(branch.when, values)
    assert said == text
