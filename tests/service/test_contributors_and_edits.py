"""What a Contributor may put in a Draft (ROLE-4), and edits that conflict or change nothing (DSB-12)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR
from engine.service import audit, directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, Disbursement, DisbursementItem, Instance, Invoice, OutboxEmail
from tests.roles import grant_role
from tests.world import build_world


def snapshot(svc, d: str | None = None) -> tuple[object, ...]:
    """Everything an edit could change: counts, and the disbursement's lines and status."""
    with svc.db.sessions() as s:
        counts = tuple(s.scalar(select(func.count(t.id))) for t in (Disbursement, DisbursementItem, Instance,
                                                                     AuditEntry, OutboxEmail))
        if d is None:
            return counts
        lines = tuple((i.invoice_id, i.amount, i.retainage_released, i.note) for i in s.scalars(
            select(DisbursementItem).where(DisbursementItem.disbursement_id == d).order_by(DisbursementItem.position)))
        row = s.get(Disbursement, d)
        return counts + (lines, row.workflow_status, row.updated_at)


def contributor(w) -> str:
    helper = directory.create_user(w.svc, "helper@gc.example", "Helper").id
    directory.add_member(w.svc, w.admin, w.company, "helper@gc.example")
    grant_role(w.svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    return helper


@pytest.mark.rule("ROLE-4")
@pytest.mark.parametrize("line", [
    {"amount": "4.00", "note": "part"},            # a partial payment
    {"retainage_released": "1.00"},                # a retainage release at the amount due
])
def test_a_contributor_cannot_set_amounts_when_saving_a_draft(svc, line: dict[str, str]) -> None:
    w = build_world(svc)
    helper = contributor(w)
    inv = w.invoice("10.00")
    before = snapshot(svc)
    with pytest.raises(DomainError) as e:
        disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                   payments=[PaymentLine(inv, **line)])
    assert (e.value.code, e.value.rule, e.value.missing) == ("permission_denied", "ROLE-4", "Payments Disburser")
    after = snapshot(svc)
    assert after[:3] == before[:3] and after[4] == before[4]  # no draft, line, instance or email
    assert after[3] == before[3] + 1  # only the refusal's audit entry (AUD-4)
    with svc.db.sessions() as s:
        assert s.get(Invoice, inv).reserved_by is None
    # the amount due, even written out, is what a Contributor may pay; a Disburser may pay part
    disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                               payments=[PaymentLine(inv, amount="10.00", note="in full")])
    disbursements.create_draft(svc, w.creator, w.company, project_id=w.project,
                               payments=[PaymentLine(w.invoice("10.00"), **line)])


@pytest.mark.rule("ROLE-4")
@pytest.mark.parametrize("line", [
    {"amount": "4.00", "note": "part"},
    {"retainage_released": "1.00"},
])
def test_a_contributor_cannot_set_amounts_when_adding_to_a_draft(svc, line: dict[str, str]) -> None:
    w = build_world(svc)
    helper = contributor(w)
    first, second = w.invoice("10.00"), w.invoice("20.00")
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project, payments=[PaymentLine(first)]).id
    before = snapshot(svc, draft)
    with pytest.raises(DomainError) as e:
        disbursements.edit_payments(svc, helper, w.company, draft, remove=[first],
                                    add=[PaymentLine(second, **line)])
    assert (e.value.code, e.value.rule, e.value.missing) == ("permission_denied", "ROLE-4", "Payments Disburser")
    after = snapshot(svc, draft)
    assert after[:3] + after[4:] == before[:3] + before[4:]  # the removal rolled back too
    assert after[3] == before[3] + 1  # only the refusal's audit entry (AUD-4)
    with svc.db.sessions() as s:
        assert (s.get(Invoice, first).reserved_by, s.get(Invoice, second).reserved_by) == (draft, None)
    disbursements.edit_payments(svc, helper, w.company, draft, remove=[first], add=[PaymentLine(second)])
    disbursements.edit_payments(svc, w.creator, w.company, draft, add=[PaymentLine(first, **line)])


@pytest.mark.rule("DSB-12")
def test_removing_and_re_amounting_one_invoice_is_refused_by_name(svc) -> None:
    w = build_world(svc)
    a, b = w.invoice("10.00"), w.invoice("20.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(a), PaymentLine(b)]).id
    before = snapshot(svc, d)
    with pytest.raises(DomainError) as e:
        disbursements.edit_payments(svc, w.creator, w.company, d, remove=[a], reason="fix",
                                    amounts={a: PaymentLine(a, "5.00", "half")})
    assert (e.value.code, e.value.rule, e.value.details) == ("invalid_disbursement", "DSB-12", {"invoice": a})
    assert a in e.value.message
    assert snapshot(svc, d) == before


@pytest.mark.rule("DSB-12")
def test_an_edit_that_changes_nothing_keeps_the_approvals(svc) -> None:
    """Restating the same amounts, notes and retainage (or nothing at all) writes nothing and restarts
    nothing, so an Approved workflow stays Approved; a real change still restarts it."""
    w = build_world(svc)
    inv = w.invoice("150000.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(inv, amount="90000.00", note="first half")]).id
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"
    before = snapshot(svc, d)
    disbursements.edit_payments(svc, w.cfo, w.company, d, reason="just saving",
                                amounts={inv: PaymentLine(inv, amount="90000.0", note="first half")})
    disbursements.edit_payments(svc, w.cfo, w.company, d)
    assert snapshot(svc, d) == before
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"
    disbursements.edit_payments(svc, w.cfo, w.company, d, reason="retainage too",
                                amounts={inv: PaymentLine(inv, amount="90000.00", note="first half",
                                                          retainage_released="100.00")})
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"
    with svc.db.sessions() as s:
        assert audit.verify(s) == []
