"""Authorizing a disbursement (AUTH-2..AUTH-12, FLOW-1, BANK-11, BANK-15), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from engine.errors import DomainError
from engine.payments import authorization
from engine.service import directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import (
    AuditEntry,
    BankAccount,
    Company,
    Disbursement,
    Drawdown,
    MfaEnrollment,
    OutboxEmail,
    PaymentOrder,
)
from tests.payments.authorizing import Ready, make_ready
from tests.payments.banking import count, refused


def enrollment(svc, user: str) -> tuple[int, int | None]:
    with svc.db.sessions() as s:
        row = s.get(MfaEnrollment, user)
        return row.failures, row.last_step


def authorize(r: Ready, d: str, *, code: str | None = None, user: str | None = None, **kw):
    who = r.admin if user is None else r.controller
    return authorization.authorize(r.svc, who.user, r.w.company, d, mfa_code=code or who.code(), **kw)


def nothing_written(svc, d: str) -> None:
    assert count(svc, Drawdown) == 0 and count(svc, PaymentOrder) == 0
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert row.authorized_at is None and row.authorized_by is None and row.drawdown_status == "Draft"


def set_row(svc, model, row_id: str, **values) -> None:
    with svc.db.sessions() as s, s.begin():
        s.execute(update(model).where(model.id == row_id).values(**values))


# ---------------------------------------------------------------- the happy path


@pytest.mark.rule("AUTH-1")
@pytest.mark.rule("AUTH-11")
@pytest.mark.rule("FLOW-1")
@pytest.mark.rule("BANK-11")
@pytest.mark.rule("AUD-6")
def test_authorize_creates_one_drawdown_and_one_order_per_payment_money_conserved(svc, clock) -> None:
    """One transaction: authorizer and time, Funding Requested, the drawdown for exactly the
    aggregate, one order per invoice payment (summing to it), check numbers from the funding
    account, the audit entry, the "authorized" emails to creator, manager and authorizer."""
    r = make_ready(svc, clock)
    d = r.disbursement(("1000.10", None), ("2500.00", None), ("0.01", None))
    view = authorize(r, d)
    assert view.drawdown_status == "Funding Requested" and view.authorized_by == r.w.admin
    assert view.drawdown_amount == Decimal("3500.11")
    assert sum(o.amount for o in view.orders) == view.drawdown_amount
    assert [o.check_number for o in view.orders] == ["1", "2", "3"]
    assert all(o.status == "Not Initiated" and o.beneficiary_last4 == "9876" for o in view.orders)
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert row.authorized_by == r.w.admin and row.authorized_at is not None
        assert row.drawdown_status == "Funding Requested"
        drawdown = s.scalars(select(Drawdown)).one()
        assert drawdown.amount == Decimal("3500.11") == disbursements.disbursement_view(s, row).total
        assert drawdown.funding_account_id == r.w.funding and drawdown.instruction_id == drawdown.id
        assert drawdown.deposit_account_id == s.get(BankAccount, r.w.funding).deposit_account_id
        orders = list(s.scalars(select(PaymentOrder)))
        assert sum(o.amount for o in orders) == drawdown.amount and len(orders) == 3
        assert s.get(BankAccount, r.w.funding).next_check_number == 4
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "disbursement_authorized")).one()
        assert entry.actor_id == r.w.admin and entry.details["amount"] == "3500.11"
        mails = list(s.scalars(select(OutboxEmail).where(OutboxEmail.event == "authorized")))
        to = sorted(m.recipients[0] for m in mails)
        assert to == ["admin@gc.example", "creator@gc.example", "manager@gc.example"]
        assert all(view.orders[0].id not in m.body for m in mails)


@pytest.mark.rule("BANK-15")
def test_the_payee_account_is_snapshotted_at_authorization(svc, clock) -> None:
    """Deactivating or redesignating the payee's account afterwards leaves the order's account."""
    r = make_ready(svc, clock)
    d = r.disbursement()
    view = authorize(r, d)
    account = r.beneficiary["Acme Concrete"]
    set_row(svc, BankAccount, account, active=False, designated=False, last4="0000", bank_name="Changed")
    with svc.db.sessions() as s:
        order = s.scalars(select(PaymentOrder)).one()
        assert order.beneficiary_account_id == account and order.beneficiary_last4 == "9876"
        assert order.beneficiary_bank_name == "Payee Bank" and view.orders[0].beneficiary_last4 == "9876"


# ---------------------------------------------------------------- AUTH-2, AUTH-3


@pytest.mark.rule("AUTH-2")
def test_only_an_approved_created_disbursement_is_authorized(svc, clock) -> None:
    r = make_ready(svc, clock)
    pending = r.disbursement(approve=False)
    e = refused(lambda: authorize(r, pending), "workflow_not_approved", "AUTH-2")
    assert "Under Review" in e.message
    canceled = r.disbursement()
    disbursements.cancel(svc, r.w.admin, r.w.company, canceled, reason="wrong project")
    refused(lambda: authorize(r, canceled), "disbursement_canceled", "AUTH-2")
    inv = r.w.invoice("10.00")
    draft = disbursements.create_draft(svc, r.w.admin, r.w.company, project_id=r.w.project,
                                       payments=[PaymentLine(inv)]).id
    refused(lambda: authorize(r, draft), "invalid_state", "AUTH-2")
    assert count(svc, Drawdown) == 0
    assert enrollment(svc, r.w.admin)[0] == 0


@pytest.mark.rule("AUTH-2")
def test_without_a_configured_default_workflow_authorize_is_refused(svc, clock) -> None:
    from tests.world import build_world

    r = make_ready(svc, clock, build_world(svc, configure=False))
    d = r.disbursement(approve=False)
    with svc.db.sessions() as s:
        assert s.get(Disbursement, d).workflow_status == "Not Started"
    refused(lambda: authorize(r, d), "no_workflow_configured", "AUTH-2")
    nothing_written(svc, d)


@pytest.mark.rule("AUTH-3")
def test_the_authorizer_is_an_admin_or_disburser_enrolled_in_mfa(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement()
    e = refused(lambda: authorization.authorize(svc, r.w.cfo, r.w.company, d, mfa_code="123456"),
                "mfa_not_enrolled", "AUTH-3")
    assert "123456" not in e.message
    outsider = directory.create_user(svc, "out@gc.example", "Out").id
    directory.add_member(svc, r.w.admin, r.w.company, "out@gc.example")
    refused(lambda: authorization.authorize(svc, outsider, r.w.company, d, mfa_code="123456"),
            "permission_denied", "AUTH-3")
    nothing_written(svc, d)


# ---------------------------------------------------------------- AUTH-5..AUTH-8


@pytest.mark.rule("AUTH-5")
@pytest.mark.rule("AUTH-8")
@pytest.mark.rule("AUD-4")
def test_an_invoice_approver_is_refused_naming_the_invoice_audited(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement(approved_by=r.w.admin)
    with svc.db.sessions() as s:
        from engine.store.tables import DisbursementItem
        from engine.store.tables import Invoice
        invoice = s.scalar(select(DisbursementItem.invoice_id).where(DisbursementItem.disbursement_id == d))
        number = s.scalar(select(Invoice.number).where(Invoice.id == invoice))
    before = enrollment(svc, r.w.admin)
    e = refused(lambda: authorize(r, d), "sod_violation", "AUTH-5")
    assert e.details["role"] == "invoice approver" and e.details["objects"] == [invoice]  # ids, for programs
    assert f"approved invoice(s) {number}" in e.message and "AUTH-5" in e.message  # numbers, for people
    with svc.db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "refused",
                                                   AuditEntry.object_id == d)).one()
        assert entry.details["code"] == "sod_violation" and entry.rules == ["AUTH-5"] and number in entry.reason
    assert enrollment(svc, r.w.admin) == before  # AUTH-4: the code was neither spent nor counted
    nothing_written(svc, d)
    assert authorize(r, d, user="controller").authorized_by == r.w.controller  # another one may


@pytest.mark.rule("AUTH-6")
@pytest.mark.rule("AUTH-7")
def test_strict_mode_bars_responders_and_the_creator(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement()
    assert authorize(r, d, user="controller").authorized_by == r.w.controller  # AUTH-6: default mode
    set_row(svc, Company, r.w.company, segregation="strict")
    d2 = r.disbursement()
    e = refused(lambda: authorize(r, d2, user="controller"), "sod_violation", "AUTH-7")
    assert "Controller Review" in e.message and e.details["role"] == "workflow responder"
    assert authorize(r, d2).authorized_by == r.w.admin


# ---------------------------------------------------------------- AUTH-9, AUTH-10


@pytest.mark.rule("AUTH-9")
def test_a_payment_above_the_current_amount_due_needs_review(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement(("800.00", None))
    with svc.db.sessions() as s, s.begin():
        from engine.store.tables import Invoice
        s.execute(update(Invoice).values(amount_due=Decimal("700.00")))
    e = refused(lambda: authorize(r, d), "payment_amounts_need_review", "AUTH-9")
    assert "INV-" in e.message
    nothing_written(svc, d)


@pytest.mark.rule("AUTH-9")
@pytest.mark.rule("BANK-2")
def test_unverified_deactivated_or_unapproved_accounts_are_refused_clearly(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement()
    account = r.beneficiary["Acme Concrete"]
    cases = [
        (BankAccount, account, {"verification_status": "Pending Verification"}, "beneficiary_account_not_ready",
         "Pending Verification"),
        (BankAccount, account, {"active": False}, "beneficiary_account_not_ready", "no designated"),
        (BankAccount, account, {"approved_at": None}, "beneficiary_account_not_ready", "approved"),
        (BankAccount, r.w.funding, {"verification_status": "Verification Failed"}, "funding_account_not_ready",
         "Verification Failed"),
        (BankAccount, r.w.funding, {"active": False}, "funding_account_not_ready", "deactivated"),
    ]
    with svc.db.sessions() as s:
        saved = {a: (x.verification_status, x.active, x.approved_at) for a in (account, r.w.funding)
                 for x in [s.get(BankAccount, a)]}
    for model, row_id, values, code, words in cases:
        set_row(svc, model, row_id, **values)
        e = refused(lambda: authorize(r, d), code, "AUTH-9")
        assert words in e.message, e.message
        status, active, approved = saved[row_id]
        set_row(svc, model, row_id, verification_status=status, active=active, approved_at=approved)
    assert enrollment(svc, r.w.admin)[0] == 0
    nothing_written(svc, d)
    assert authorize(r, d).drawdown_status == "Funding Requested"


@pytest.mark.rule("AUTH-10")
def test_a_partial_payment_needs_an_explicit_confirmation(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement(("1000.00", "400.00"), ("50.00", None))
    e = refused(lambda: authorize(r, d), "partial_payment_unconfirmed", "AUTH-10")
    assert e.details["invoices"] == ["INV-0001"]
    nothing_written(svc, d)
    view = authorize(r, d, confirm_partial=True)
    assert view.drawdown_amount == Decimal("450.00") == sum(o.amount for o in view.orders)


# ---------------------------------------------------------------- AUTH-4


@pytest.mark.rule("AUTH-4")
def test_the_code_is_checked_last_wrong_and_replayed_codes_refuse_and_count(svc, clock) -> None:
    """A refusal for another reason neither spends the code nor counts; then a wrong code is
    refused and counted (audited), a replayed one is refused, and the right one passes once."""
    r = make_ready(svc, clock)
    d = r.disbursement(("1000.00", "400.00"))
    code = r.admin.code()
    refused(lambda: authorize(r, d, code=code), "partial_payment_unconfirmed")
    assert enrollment(svc, r.w.admin)[0] == 0
    refused(lambda: authorize(r, d, code=r.admin.wrong(), confirm_partial=True), "mfa_failed", "MFA-2")
    assert enrollment(svc, r.w.admin)[0] == 1
    nothing_written(svc, d)
    view = authorize(r, d, code=code, confirm_partial=True)  # the code refused first is still good
    assert view.drawdown_status == "Funding Requested"
    d2 = r.disbursement()
    refused(lambda: authorize(r, d2, code=code), "mfa_failed", "MFA-3")  # replayed (MFA-9)
    with svc.db.sessions() as s:
        refusals = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "refused")))
        assert [e.details["code"] for e in refusals] == ["mfa_failed", "mfa_failed"]
        assert all(code not in (e.reason or "") and code not in str(e.details) for e in refusals)


# ---------------------------------------------------------------- AUTH-11, AUTH-12, GEN-8


@pytest.mark.rule("AUTH-11")
@pytest.mark.rule("AUTH-12")
@pytest.mark.rule("AUTH-14")
def test_after_authorization_nothing_changes(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement(("900.00", None), ("100.00", None))
    authorize(r, d)
    refused(lambda: authorize(r, d), "disbursement_authorized", "AUTH-11")
    refused(lambda: disbursements.cancel(svc, r.w.admin, r.w.company, d, reason="late"), "disbursement_authorized",
            "AUTH-14")
    with svc.db.sessions() as s:
        first = s.scalars(select(PaymentOrder.invoice_id).order_by(PaymentOrder.check_number)).first()
    refused(lambda: disbursements.edit_payments(svc, r.w.admin, r.w.company, d, remove=[first], reason="x"),
            "disbursement_closed", "AUTH-12")
    refused(lambda: disbursements.change_funding_account(svc, r.w.admin, r.w.company, d,
                                                         funding_account=r.w.funding, reason="x"),
            "disbursement_closed", "AUTH-12")
    refused(lambda: instances.terminate(svc, r.w.manager, r.w.company, d, reason="x"), "disbursement_authorized",
            "AUTH-12")
    refused(lambda: instances.restart(svc, r.w.manager, r.w.company, d, reason="again"), "disbursement_authorized",
            "AUTH-12")
    with pytest.raises(DomainError) as e:
        instances.respond(svc, r.w.controller, r.w.company, d, occurrence=1, answer="Reject")
    assert e.value.code == "disbursement_authorized", (e.value.code, e.value.message)
    assert count(svc, Drawdown) == 1 and count(svc, PaymentOrder) == 2


@pytest.mark.rule("GEN-8")
def test_a_retry_with_the_key_and_a_fresh_code_replays_the_first_result(svc, clock) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement()
    first = authorize(r, d, idempotency_key="auth-1")
    again = authorize(r, d, idempotency_key="auth-1")
    assert again == first and count(svc, Drawdown) == 1 and count(svc, PaymentOrder) == 1
