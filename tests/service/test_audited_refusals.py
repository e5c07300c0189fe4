"""Security refusals are audited though nothing else changes (AUD-4): permission refusals on money actions.

The refused command's transaction rolls back (AUD-1: none of its rows survive);
the refusal's own entry is written afterwards on the company's audit chain.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError, Refusal
from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR
from engine.service import audit, directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, Disbursement, DisbursementItem, Invoice, OutboxEmail
from tests.roles import grant_role
from tests.world import build_world


def rows(svc) -> dict[str, int]:
    with svc.db.sessions() as s:
        return {"disbursements": s.scalar(select(func.count(Disbursement.id))),
                "items": s.scalar(select(func.count(DisbursementItem.id))),
                "outbox": s.scalar(select(func.count(OutboxEmail.id))),
                "entries": s.scalar(select(func.count(AuditEntry.id)))}


def company_entries(svc, company: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        return audit.entries(s, audit.company_chain(company))


def chains_verify(svc) -> list[audit.Break]:
    with svc.db.sessions() as s:
        return audit.verify(s)


@pytest.mark.rule("AUD-4", "ROLE-3")
def test_a_refused_create_leaves_only_its_audited_refusal(svc) -> None:
    w = build_world(svc)
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    inv = w.invoice("10.00")
    before, chain_before = rows(svc), len(company_entries(svc, w.company))
    with pytest.raises(DomainError) as e:
        disbursements.create_disbursement(svc, helper, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(inv)])
    assert (e.value.code, e.value.rule, e.value.audited) == ("permission_denied", "ROLE-3", True)
    after = rows(svc)
    assert after == {**before, "entries": before["entries"] + 1}  # no disbursement, item or email
    with svc.db.sessions() as s:
        assert s.get(Invoice, inv).reserved_by is None
    entries = company_entries(svc, w.company)
    assert len(entries) == chain_before + 1
    refusal = entries[-1]
    assert (refusal.action, refusal.actor_id, refusal.object_type, refusal.object_id) == (
        "refused", helper, "project", w.project)
    assert refusal.rules == ["ROLE-3"]
    assert refusal.details == {"attempted": "creating a disbursement", "code": "permission_denied",
                               "missing_permission": "Payments Admin or Payments Disburser"}
    assert refusal.reason == "creating a disbursement needs Payments Admin or Payments Disburser"
    assert w.funding not in repr((refusal.before, refusal.after, refusal.details, refusal.reason))  # no request values
    assert chains_verify(svc) == []


@pytest.mark.rule("AUD-4", "ROLE-3", "AUTH-13", "DSB-12")
def test_refusals_on_a_disbursement_name_it(svc) -> None:
    """create from a draft, cancel, change amounts: each refusal is recorded against the disbursement."""
    w = build_world(svc)
    outsider = directory.create_user(svc, "outsider@gc.example", "Outsider").id
    directory.add_member(svc, w.admin, w.company, "outsider@gc.example")
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("10.00"))]).id
    inv = w.invoice("20.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(inv)]).id
    attempts = [
        ("creating a disbursement", draft,
         lambda: disbursements.create_from_draft(svc, helper, w.company, draft, funding_account=w.funding)),
        ("canceling a disbursement", d,
         lambda: disbursements.cancel(svc, outsider, w.company, d, reason="not mine")),
        ("changing payment amounts", d,
         lambda: disbursements.edit_payments(svc, helper, w.company, d, reason="cheaper",
                                             amounts={inv: PaymentLine(inv, "5.00", "half")})),
    ]
    for attempted, target, attempt in attempts:
        before = rows(svc)
        with pytest.raises(DomainError) as e:
            attempt()
        assert e.value.code == "permission_denied" and e.value.audited
        assert rows(svc) == {**before, "entries": before["entries"] + 1}
        last = company_entries(svc, w.company)[-1]
        assert (last.action, last.object_type, last.object_id, last.details["attempted"]) == (
            "refused", "disbursement", target, attempted)
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"
    with svc.db.sessions() as s:
        assert s.get(Disbursement, draft).is_draft and s.get(Disbursement, d).canceled_at is None
    assert chains_verify(svc) == []


@pytest.mark.rule("AUD-4", "AUD-1", "ROLE-4")
def test_a_refusal_after_writes_leaves_none_of_them(svc) -> None:
    """A Contributor's draft is written line by line; the partial amount on its second line refuses
    the whole command: no draft, no item, no reservation, no draft_saved entry — only the refusal."""
    w = build_world(svc)
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    full, partial = w.invoice("10.00"), w.invoice("20.00")
    before = rows(svc)
    with pytest.raises(DomainError) as e:
        disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                   payments=[PaymentLine(full), PaymentLine(partial, "5.00", "part")])
    assert (e.value.code, e.value.rule, e.value.audited) == ("permission_denied", "ROLE-4", True)
    assert rows(svc) == {**before, "entries": before["entries"] + 1}
    with svc.db.sessions() as s:
        assert s.get(Invoice, full).reserved_by is None
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "draft_saved")) == 0
    assert company_entries(svc, w.company)[-1].action == "refused"
    assert chains_verify(svc) == []


@pytest.mark.rule("AUD-4", "AUD-1")
def test_the_transaction_writer_records_after_rolling_back(svc) -> None:
    """Services.tx: rows written before an audited refusal are gone; the refusal entry commits alone.
    A refusal that is not audited writes nothing at all."""
    w = build_world(svc)
    inv = w.invoice("10.00")
    before = rows(svc)
    refusal = Refusal(w.company, w.creator, "paying twice", "invoice", inv)
    with pytest.raises(DomainError, match="paying twice needs nothing"):
        with svc.tx() as s:
            s.get(Invoice, inv).number = "CHANGED"
            audit.append(s, chain=audit.company_chain(w.company), company_id=w.company, at=svc.now(),
                         actor_id=w.creator, action="invoice_touched", object_type="invoice", object_id=inv)
            s.flush()
            raise DomainError("permission_denied", "paying twice needs nothing", rule="AUD-4", audit=refusal)
    assert rows(svc) == {**before, "entries": before["entries"] + 1}
    with svc.db.sessions() as s:
        assert s.get(Invoice, inv).number == "INV-0001"
    last = company_entries(svc, w.company)[-1]
    assert (last.action, last.object_id, last.rules) == ("refused", inv, ["AUD-4"])
    with pytest.raises(DomainError, match="not audited"):
        with svc.tx() as s:
            s.get(Invoice, inv).number = "CHANGED"
            raise DomainError("invalid_amount", "not audited")
    assert rows(svc) == {**before, "entries": before["entries"] + 1}
    assert chains_verify(svc) == []
