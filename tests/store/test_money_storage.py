"""Money in the database: exact cents on every backend, bounded at parse time (GEN-1, GEN-2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from engine.errors import DomainError
from engine.service import disbursements
from engine.service.disbursements import PaymentLine
from engine.store.tables import DisbursementItem, Invoice
from tests.world import build_world

LARGEST = "999999999999999.99"


@pytest.mark.rule("GEN-1")
def test_the_largest_amount_round_trips_exactly(svc) -> None:
    """GEN-1: 15 digits and cents come back exactly, not as a float's neighbour."""
    w = build_world(svc)
    invoice = w.invoice(LARGEST)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(invoice, retainage_released="999999999999999.97")]).id
    with svc.db.sessions() as s:
        inv = s.get(Invoice, invoice)
        assert inv is not None and inv.amount_due == Decimal(LARGEST) and str(inv.amount_due) == LARGEST
        item = s.scalars(select(DisbursementItem).where(DisbursementItem.disbursement_id == d)).one()
        assert (str(item.amount), str(item.retainage_released)) == (LARGEST, "999999999999999.97")
        # stored as whole cents, so no backend can round it
        stored = s.scalar(text("SELECT amount_due FROM invoices WHERE id = :i"), {"i": invoice})
        assert isinstance(stored, int) and stored == 99999999999999999


@pytest.mark.rule("GEN-1")
@pytest.mark.parametrize("amount", ["0.01", "0.10", "5", "1234567890123.45", "100000000000000.00"])
def test_amounts_read_back_with_two_decimals(svc, amount: str) -> None:
    w = build_world(svc)
    invoice = w.invoice(amount)
    with svc.db.sessions() as s:
        inv = s.get(Invoice, invoice)
        assert inv is not None and inv.amount_due == Decimal(amount)
        assert inv.amount_due.as_tuple().exponent == -2


@pytest.mark.rule("GEN-1")
def test_sixteen_digits_are_refused_with_a_clear_error(svc) -> None:
    """GEN-1: too large for the column is a refusal at parse time, never a raw database error."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        w.invoice("1000000000000000.00")
    assert (e.value.code, e.value.rule) == ("invalid_amount", "GEN-1")
    assert e.value.message == ("amount_due: `1000000000000000.00` is too large: "
                               "at most 15 digits before the decimal point")
    invoice = w.invoice("20.00")
    for line in (PaymentLine(invoice, amount="1000000000000000"),
                 PaymentLine(invoice, retainage_released="9999999999999999.00")):
        with pytest.raises(DomainError) as e:
            disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                              funding_account=w.funding, payments=[line])
        assert (e.value.code, e.value.rule) == ("invalid_amount", "GEN-1")
        assert "too large: at most 15 digits before the decimal point" in e.value.message
    with svc.db.sessions() as s:
        assert s.scalars(select(DisbursementItem)).all() == []


@pytest.mark.rule("GEN-1")
def test_thirteen_digits_are_stored_not_a_database_error(svc) -> None:
    """GEN-1: PostgreSQL's NUMERIC(14, 2) overflowed at 13 digits; integer cents do not."""
    w = build_world(svc)
    invoice = w.invoice("1234567890123.45")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(invoice, amount="1234567890123.44", note="less")]).id
    with svc.db.sessions() as s:
        item = s.scalars(select(DisbursementItem).where(DisbursementItem.disbursement_id == d)).one()
        assert item.amount == Decimal("1234567890123.44")


@pytest.mark.rule("GEN-1", "GEN-2")
@pytest.mark.parametrize(("bad", "why"), [(Decimal("10.005"), "more than two decimals"),
                                          (10.5, "not float"),
                                          (Decimal("10000000000000000.00"), "too large to store")])
def test_the_column_refuses_what_it_cannot_store_exactly(svc, bad: object, why: str) -> None:
    """GEN-1, GEN-2: a third decimal, a float or an oversized amount reaching the store is refused, never
    rounded (every engine entry point parses first, so this guards against a bug, not a user)."""
    w = build_world(svc)
    invoice = w.invoice("10.00")
    with svc.db.sessions() as s:
        inv = s.get(Invoice, invoice)
        assert inv is not None
        inv.amount_due = bad  # type: ignore[assignment]
        with pytest.raises(StatementError) as e:
            s.flush()
        assert isinstance(e.value.orig, (TypeError, ValueError)) and why in str(e.value.orig)
    with svc.db.sessions() as s:
        inv = s.get(Invoice, invoice)
        assert inv is not None and inv.amount_due == Decimal("10.00")
