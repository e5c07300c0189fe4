"""Facts computed from a disbursement (COND-6..COND-9), two ways with one meaning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.spec.disbursement import parse_disbursement
from engine.spec.facts import FACTS, compute_facts, raw_fact_plan
from tests.payroute_docs import disbursement, invoice


def facts_of(*invoices: dict[str, object], **extra: object) -> dict[str, object]:
    return compute_facts(parse_disbursement(disbursement(*invoices, **extra)))


@pytest.mark.rule("COND-6", "GEN-3")
def test_disbursement_amount_is_the_exact_sum_of_the_payments() -> None:
    """COND-6, GEN-3: exact to the cent, no float drift (0.1 + 0.2 is 0.3)."""
    facts = facts_of(invoice("0.10"), invoice("0.20"), invoice("99999.70"))
    assert facts["disbursement_amount"] == Decimal("100000.00")


@pytest.mark.rule("COND-7")
def test_highest_invoice_amount_is_the_payment_not_the_amount_due() -> None:
    """COND-7: the amount paid now, not the invoice's amount due."""
    facts = facts_of(invoice("500.00", amount_due="900000.00"), invoice("700.00", amount_due="700.00"))
    assert facts["highest_invoice_amount"] == Decimal("700.00")


@pytest.mark.rule("COND-8")
def test_highest_retainage_release_is_the_largest_one() -> None:
    """COND-8."""
    facts = facts_of(invoice(retainage_released="10.00"), invoice(retainage_released="2500.50"), invoice())
    assert facts["highest_retainage_release"] == Decimal("2500.50")


@pytest.mark.rule("COND-9")
def test_money_facts_and_count_always_have_a_value() -> None:
    """COND-9: no retainage released means $0.00, never empty."""
    facts = facts_of(invoice(), invoice())
    assert facts["highest_retainage_release"] == Decimal("0")
    assert facts["invoice_count"] == 2
    assert all(facts[name] is not None for name in FACTS)


@pytest.mark.rule("COND-9")
def test_project_fields_are_empty_when_the_project_has_no_value() -> None:
    """COND-9: absent, null and "" are all empty; start_date is a date."""
    facts = facts_of(project={"office": "", "sector": None, "start_date": "2024-03-01", "market": "West"})
    assert facts["project.office"] is None
    assert facts["project.sector"] is None
    assert facts["project.start_date"] == date(2024, 3, 1)
    assert facts["project.market"] == "West"
    assert facts["project.name"] == "Tower"
    assert "project.region" not in facts  # a reader's facts.get() sees it as empty


def test_only_the_facts_asked_for_are_computed() -> None:
    d = parse_disbursement(disbursement(invoice("5.00")))
    assert compute_facts(d, ["disbursement_amount"]) == {"disbursement_amount": Decimal("5.00")}
    assert compute_facts(d, ["project.region"]) == {"project.region": None}


amounts = st.integers(1, 10**17 - 1).map(lambda n: str(Decimal(n).scaleb(-2)))
retainages = st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: str(Decimal(n).scaleb(-2))))
names = st.sets(st.sampled_from([*FACTS, "project.office", "project.start_date", "project.market",
                                 "project.sector", "project.name"]), min_size=1)


@pytest.mark.rule("COND-6", "COND-7", "COND-8", "COND-9", "GEN-3")
@settings(max_examples=150)
@given(st.lists(st.tuples(amounts, retainages), min_size=1, max_size=100), names,
       st.sampled_from([None, "", "2024-02-29"]))
def test_the_fast_plan_and_the_model_compute_the_same_facts(pairs: list[tuple[str, str | None]],
                                                           wanted: set[str], start: str | None) -> None:
    """The simulator's fast path (raw JSON) and compute_facts (the model) agree (COND-6..COND-9)."""
    invs = [invoice(a, **({} if r is None else {"retainage_released": r})) for a, r in pairs]
    doc = disbursement(*invs, project={"start_date": start, "market": "West"})
    expected = compute_facts(parse_disbursement(doc), wanted)
    assert raw_fact_plan(wanted)(doc["invoices"], doc["project"]) == expected
    total = sum((Decimal(a) for a, _ in pairs), Decimal(0))
    if "disbursement_amount" in wanted:
        assert expected["disbursement_amount"] == total  # GEN-3: exact, never rounded
