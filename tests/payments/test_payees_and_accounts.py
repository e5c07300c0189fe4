"""Invoices name their payee company; disbursements draw from a funding bank account, which an
Admin or Disburser may change before authorization (GEN-5, BANK-7, DSB-6, DSB-7, DSB-12, AUTH-12)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.payments import bank_accounts
from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR
from engine.service import audit, directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, BankAccount, Disbursement, Instance, Invoice
from engine.service.demo import seed_funding_account
from tests.roles import grant_role
from tests.world import World, build_world


def audit_count(svc) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(AuditEntry.id)))


def funding_of(svc, d: str) -> str | None:
    with svc.db.sessions() as s:
        return s.get(Disbursement, d).funding_account_id


def instance_count(svc, d: str) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(Instance.id)).where(Instance.disbursement_id == d))


def other_company(svc) -> tuple[str, str]:
    """Another general contractor (not a payee) and its Admin."""
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    return directory.create_company(svc, "Other GC", first_admin=boss).id, boss


def approved(w: World, amount: str = "5000.00") -> str:
    """A disbursement whose reference workflow the Controller approved (at most $100,000: no CFO step)."""
    d = disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(w.invoice(amount))]).id
    view = instances.view(w.svc, w.admin, w.company, d)
    instances.respond(w.svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(w.svc, w.admin, w.company, d).workflow_status == "Approved"
    return d


# ---------------------------------------------------------------- payees


@pytest.mark.rule("GEN-5")
def test_an_invoice_names_an_existing_payee_company(svc) -> None:
    """The payee is a company with is_payee; an unknown id or a company that is not a payee
    is "not found", and nothing is registered."""
    w = build_world(svc)
    other, _ = other_company(svc)
    for payee in ("0" * 32, other, w.company, ""):
        with pytest.raises(DomainError) as e:
            directory.create_invoice(svc, w.admin, w.company, w.project, payee=payee, number="X-1",
                                     amount_due="10.00")
        assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 0

    inv = w.invoice("10.00", vendor="Bay Steel")
    with svc.db.sessions() as s:
        row = s.get(Invoice, inv)
        assert row.payee_company_id == w.payees["Bay Steel"]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "invoice_registered",
                                                   AuditEntry.object_id == inv)).one()
        assert entry.after["payee"] == w.payees["Bay Steel"] and entry.after["payee_name"] == "Bay Steel"


# ---------------------------------------------------------------- funding accounts


def _set_account(svc, account: str, **values: object) -> None:
    """A row changed directly: a deposit account posing as a funding account, which no command makes
    (the commands are tested in tests/payments/test_bank_accounts.py)."""
    with svc.db.transaction() as s:
        row = s.get(BankAccount, account)
        for key, value in values.items():
            setattr(row, key, value)


@pytest.mark.rule("DSB-7", "GEN-5")
def test_a_disbursement_draws_from_an_active_funding_account_of_its_company(svc) -> None:
    """Creating directly or from a Draft: another company's or an unknown account is not found; a
    deactivated or non-funding account is refused (DSB-7); nothing is created either way."""
    w = build_world(svc)
    other, boss = other_company(svc)
    theirs = seed_funding_account(svc, boss, other, "Operating")
    closed = seed_funding_account(svc, w.admin, w.company, "Old operating")
    _set_account(svc, closed, active=False)
    deposit = seed_funding_account(svc, w.admin, w.company, "Transaction")
    _set_account(svc, deposit, kind="deposit")
    inv = w.invoice("10.00")
    draft = disbursements.create_draft(svc, w.creator, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("20.00"))]).id
    cases = [(theirs, "not_found", "GEN-5"), ("0" * 32, "not_found", "GEN-5"),
             (closed, "invalid_funding_account", "DSB-7"), (deposit, "invalid_funding_account", "DSB-7")]
    for account, code, rule in cases:
        with pytest.raises(DomainError) as e:
            disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                              funding_account=account, payments=[PaymentLine(inv)])
        assert (e.value.code, e.value.rule) == (code, rule)
    for account, code, rule in cases:
        with pytest.raises(DomainError) as e:
            disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=account)
        assert (e.value.code, e.value.rule) == (code, rule)
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(Disbursement.id)).where(Disbursement.is_draft.is_(False))) == 0
        assert s.get(Invoice, inv).reserved_by is None
    d = disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding).id
    assert funding_of(svc, d) == w.funding


# ---------------------------------------------------------------- DSB-12: changing the funding account


@pytest.mark.rule("DSB-12")
def test_changing_the_account_restarts_an_approved_workflow_with_a_reason(svc) -> None:
    """Earlier approvals saw the other account: the workflow restarts in `defaults` mode."""
    w = build_world(svc)
    d = approved(w)
    payroll = seed_funding_account(svc, w.admin, w.company, "Payroll")
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=payroll,
                                         reason="payroll account holds the project funds")
    assert funding_of(svc, d) == payroll
    view = instances.view(svc, w.admin, w.company, d)
    assert (view.workflow_status, view.current_step, view.awaited) == (
        "Under Review", "Controller Review", (w.controller,))
    assert instance_count(svc, d) == 2
    with svc.db.sessions() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.chain == audit.disbursement_chain(d))
                                 .order_by(AuditEntry.seq)))
        change = next(e for e in entries if e.action == "funding_account_changed")
        assert (change.before, change.after, change.reason, change.actor_id) == (
            {"funding_account": w.funding}, {"funding_account": payroll},
            "payroll account holds the project funds", w.creator)
        assert "restarted" in [e.action for e in entries if e.seq > change.seq]
        assert audit.verify(s) == []


@pytest.mark.rule("DSB-12")
def test_changing_the_account_after_a_start_needs_a_reason(svc) -> None:
    w = build_world(svc)
    d = approved(w)
    payroll = seed_funding_account(svc, w.admin, w.company, "Payroll")
    before = audit_count(svc)
    for reason in (None, "  "):
        with pytest.raises(DomainError) as e:
            disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=payroll,
                                                 reason=reason)
        assert (e.value.code, e.value.rule) == ("reason_required", "DSB-12")
    assert funding_of(svc, d) == w.funding and audit_count(svc) == before
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved" and instance_count(svc, d) == 1


@pytest.mark.rule("DSB-12")
def test_choosing_the_account_it_already_has_changes_nothing(svc) -> None:
    """No audit entry and no restart, so nobody can wipe approvals by "changing" nothing."""
    w = build_world(svc)
    d = approved(w)
    before = audit_count(svc)
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=w.funding,
                                         reason="same again")
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=w.funding)
    assert audit_count(svc) == before and instance_count(svc, d) == 1
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"


@pytest.mark.rule("GEN-5")
def test_another_companys_account_is_not_found(svc) -> None:
    w = build_world(svc)
    d = approved(w)
    other, boss = other_company(svc)
    theirs = seed_funding_account(svc, boss, other, "Operating")
    with pytest.raises(DomainError) as e:
        disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=theirs,
                                             reason="cheaper")
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    with pytest.raises(DomainError) as e:  # nor can the other company reach our disbursement
        disbursements.change_funding_account(svc, boss, other, d, funding_account=theirs, reason="mine")
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    assert funding_of(svc, d) == w.funding and instance_count(svc, d) == 1


@pytest.mark.rule("ROLE-2", "DSB-6", "AUTH-12", "DSB-12")
def test_who_may_change_the_account_and_when(svc) -> None:
    """An Admin or Disburser, not a Contributor (ROLE-2); not on a Draft, which gets its account
    when created from it (DSB-6); not after a cancel (AUTH-12); before a start, without a reason
    and without starting anything (DSB-12)."""
    w = build_world(svc)
    payroll = seed_funding_account(svc, w.admin, w.company, "Payroll")
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    d = approved(w)
    with pytest.raises(DomainError) as e:
        disbursements.change_funding_account(svc, helper, w.company, d, funding_account=payroll, reason="r")
    assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-2")

    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("30.00"))]).id
    with pytest.raises(DomainError) as e:
        disbursements.change_funding_account(svc, w.creator, w.company, draft, funding_account=payroll)
    assert e.value.rule == "DSB-6"
    assert funding_of(svc, draft) is None

    disbursements.cancel(svc, w.creator, w.company, d, reason="paid by check")
    with pytest.raises(DomainError) as e:
        disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=payroll, reason="r")
    assert (e.value.code, e.value.rule) == ("disbursement_closed", "AUTH-12")
    assert funding_of(svc, d) == w.funding

    directory.update_settings(svc, w.admin, w.company, workflows_enabled=False)
    quiet = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                              funding_account=w.funding, payments=[PaymentLine(w.invoice("40.00"))]).id
    disbursements.change_funding_account(svc, w.admin, w.company, quiet, funding_account=payroll)
    assert funding_of(svc, quiet) == payroll and instance_count(svc, quiet) == 0


@pytest.mark.rule("GEN-8")
def test_changing_the_account_takes_an_idempotency_key(svc) -> None:
    """A retry returns without a second effect, even after the account moved on; the same key
    for another change is refused."""
    w = build_world(svc)
    d = approved(w)
    payroll = seed_funding_account(svc, w.admin, w.company, "Payroll")
    reserve = seed_funding_account(svc, w.admin, w.company, "Reserve")
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=payroll,
                                         reason="payroll", idempotency_key="chg-1")
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=reserve,
                                         reason="reserve")
    before = audit_count(svc)
    disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=payroll,
                                         reason="payroll", idempotency_key="chg-1")
    assert funding_of(svc, d) == reserve and audit_count(svc) == before and instance_count(svc, d) == 3
    with pytest.raises(DomainError) as e:
        disbursements.change_funding_account(svc, w.creator, w.company, d, funding_account=w.funding,
                                             reason="back", idempotency_key="chg-1")
    assert (e.value.code, e.value.rule) == ("idempotency_conflict", "GEN-8")
