"""After authorization: the worker draws down and pays out through the bank (FLOW-1..FLOW-9, ST-3..ST-6,
DSB-14, AUD-6), on SQLite and PostgreSQL, against the simulated bank stored in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.outbox.lease import outbox_status
from engine.payments import authorization, stored_bank
from engine.payments.dispatch import dispatch
from engine.payments.settlement import apply_event, poll
from engine.runtime import funds
from engine.store.tables import (
    AuditEntry,
    Disbursement,
    DisbursementItem,
    Drawdown,
    Invoice,
    OutboxEmail,
    PaymentOrder,
)
from tests.payments.authorizing import Ready, make_ready


def authorized(r: Ready, *lines: tuple[str, str | None]) -> str:
    d = r.disbursement(*lines)
    authorization.authorize(r.svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code(),
                            confirm_partial=any(paid for _, paid in lines))
    return d


def fund(r: Ready, amount: str = "1000000.00") -> None:
    stored_bank.credit(r.svc.db, stored_bank.PRODUCTION, r.w.funding, amount, now=r.svc.now())


def to_evening(clock) -> None:
    """To 18:00 New York (23:00 UTC in March) of the clock's day: what was requested today settles."""
    clock.moment = clock.moment.replace(hour=23, minute=0)


def statuses(svc, d: str) -> tuple[str, list[str], list[str]]:
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        orders = [o.status for o in s.scalars(select(PaymentOrder).where(PaymentOrder.disbursement_id == d)
                                              .order_by(PaymentOrder.check_number))]
        items = [i.payment_status for i in s.scalars(select(DisbursementItem)
                                                     .where(DisbursementItem.disbursement_id == d)
                                                     .order_by(DisbursementItem.position))]
        return row.drawdown_status, orders, items


def actions(svc, d: str) -> list[str]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.chain == f"disbursement:{d}")
                              .order_by(AuditEntry.seq)))


def bank_emails(svc, event: str) -> list[OutboxEmail]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail).where(OutboxEmail.event == event)))


@pytest.mark.rule("FLOW-1", "FLOW-2", "FLOW-3", "FLOW-4", "FLOW-5", "ST-3", "ST-4", "ST-5", "ST-6", "DSB-14")
def test_the_worker_draws_down_then_pays_each_invoice_and_the_invoices_are_paid(svc, clock) -> None:
    """Authorized at 09:00 New York: the drawdown is taken for that day and settles at 18:00; the
    payment orders leave in the same transaction as Funding Completed and are paid the next banking
    day; each invoice's amount due drops by what was paid (Paid at $0.00, DSB-14)."""
    r = make_ready(svc, clock)
    fund(r)
    d = authorized(r, ("1000.10", None), ("2500.00", "2000.00"))
    assert statuses(svc, d) == ("Funding Requested", ["Not Initiated", "Not Initiated"],
                                ["Not Initiated", "Not Initiated"])

    sent = dispatch(svc)
    assert (sent.claimed, sent.sent, sent.failed) == (1, 1, 0)
    assert poll(svc).pending == 1  # taken for today, settles at 18:00
    assert statuses(svc, d)[0] == "Funding Requested"

    to_evening(clock)
    assert poll(svc).applied == 1
    assert statuses(svc, d) == ("Funding Completed", ["Requested", "Requested"], ["Requested", "Requested"])
    with svc.db.sessions() as s:
        queued = list(s.scalars(select(OutboxEmail).where(OutboxEmail.channel == "bank",
                                                          OutboxEmail.status == "pending")))
        orders = {o.id: o for o in s.scalars(select(PaymentOrder))}
        drawdown = s.scalars(select(Drawdown)).one()
    assert sorted(q.payload["id"] for q in queued) == sorted(orders)  # FLOW-4: the prepared orders
    assert sum(Decimal(q.payload["amount"]) for q in queued) == drawdown.amount == Decimal("3000.10")

    assert dispatch(svc).sent == 2
    bank = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    assert bank.taken[next(iter(orders))].request_date.isoformat() == "2026-03-03"  # after the cut-off
    assert poll(svc).pending == 2
    clock.advance(days=1)
    assert poll(svc).applied == 2
    assert statuses(svc, d) == ("Funding Completed", ["Completed", "Completed"], ["Completed", "Completed"])
    with svc.db.sessions() as s:
        invoices = sorted((i.number, i.amount_due, i.status, i.reserved_by)
                          for i in s.scalars(select(Invoice).join(DisbursementItem, DisbursementItem.invoice_id
                                                                  == Invoice.id)
                                             .where(DisbursementItem.disbursement_id == d)))
    assert [(due, st, res) for _, due, st, res in invoices] == [
        (Decimal("0.00"), "Paid", None), (Decimal("500.00"), "Unpaid", None)]
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    deposit = drawdown.deposit_account_id
    assert book.accounts[r.w.funding].balance == Decimal("996999.90")
    assert book.accounts[deposit].balance == Decimal("0.00")  # everything drawn was paid out
    after = actions(svc, d)[actions(svc, d).index("disbursement_authorized"):]
    assert after[:4] == ["disbursement_authorized", "funding_completed", "payment_requested", "payment_requested"]
    assert sorted(after[4:-1]) == ["invoice_paid", "invoice_paid_in_part", "payment_completed", "payment_completed"]
    assert after[-1] == "disbursement_paid"
    assert poll(svc).asked == 0  # nothing open is left


@pytest.mark.rule("FLOW-3", "FLOW-6", "ST-4", "AUD-6")
def test_insufficient_funds_fail_the_drawdown_release_the_invoices_and_email_admins_and_creator(svc, clock) -> None:
    r = make_ready(svc, clock)
    fund(r, "100.00")
    d = authorized(r, ("5000.00", None))
    dispatch(svc)
    to_evening(clock)
    poll(svc)
    assert statuses(svc, d) == ("Funding Failed", ["Not Initiated"], ["Not Initiated"])
    with svc.db.sessions() as s:
        assert s.scalars(select(Drawdown)).one().reason == "insufficient funds"
        assert s.scalars(select(Invoice.reserved_by).where(Invoice.number == "INV-0001")).one() is None
        assert not list(s.scalars(select(OutboxEmail).where(OutboxEmail.channel == "bank",
                                                            OutboxEmail.status == "pending")))
    failed = bank_emails(svc, "funding_failed")
    assert failed and all("Funding failed" in e.subject for e in failed)
    assert sorted(e.recipients[0] for e in failed) == ["admin@gc.example", "creator@gc.example"]
    assert "Reason: insufficient funds" in failed[0].body and "a new disbursement is needed" in failed[0].body
    clock.advance(days=3)
    assert poll(svc).asked == 0  # FLOW-6: nothing retries by itself


@pytest.mark.rule("FLOW-5", "FLOW-7", "AUD-6")
def test_one_failed_payment_leaves_the_others_paid_and_its_invoice_reserved(svc, clock) -> None:
    r = make_ready(svc, clock)
    fund(r)
    d = authorized(r, ("100.00", None), ("200.00", None))
    dispatch(svc)
    to_evening(clock)
    poll(svc)
    with svc.db.sessions() as s:
        first = s.scalars(select(PaymentOrder).where(PaymentOrder.check_number == "1")).one()
    stored_bank.script_failure(svc.db, stored_bank.PRODUCTION, first.id, "the account is closed", now=clock())
    dispatch(svc)
    clock.advance(days=1)
    poll(svc)
    assert statuses(svc, d) == ("Funding Completed", ["Failed", "Completed"], ["Failed", "Completed"])
    with svc.db.sessions() as s:
        inv = s.get(Invoice, first.invoice_id)
        assert (inv.reserved_by, inv.amount_due, inv.status) == (d, Decimal("100.00"), "Unpaid")
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    with svc.db.sessions() as s:
        drawdown = s.scalars(select(Drawdown)).one()
        second = s.scalars(select(PaymentOrder).where(PaymentOrder.check_number == "2")).one()
    assert book.accounts[drawdown.deposit_account_id].balance == Decimal("100.00")  # FLOW-7: kept there
    assert book.accounts[second.beneficiary_account_id].balance == Decimal("200.00")  # only the other was paid
    assert bank_emails(svc, "payment_failed")
    assert "disbursement_paid" not in actions(svc, d)


@pytest.mark.rule("FLOW-9")
def test_a_repeated_event_writes_nothing_and_a_backward_one_is_recorded_and_ignored(svc, clock) -> None:
    r = make_ready(svc, clock)
    fund(r)
    d = authorized(r, ("100.00", None))
    dispatch(svc)
    to_evening(clock)
    poll(svc)
    with svc.db.sessions() as s:
        drawdown = s.scalars(select(Drawdown)).one().id
    before = actions(svc, d)
    apply_event(svc, r.w.company, d, funds.DrawdownSettled(drawdown))
    assert actions(svc, d) == before
    apply_event(svc, r.w.company, d, funds.DrawdownRejected(drawdown, "late reject"))
    assert actions(svc, d) == [*before, "bank_event_ignored"]
    assert statuses(svc, d)[0] == "Funding Completed"


@pytest.mark.rule("FLOW-9", "AUD-5")
def test_a_timeout_is_retried_with_the_same_id_and_taken_once(svc, clock) -> None:
    r = make_ready(svc, clock)
    fund(r)
    d = authorized(r, ("100.00", None))
    with svc.db.sessions() as s:
        drawdown = s.scalars(select(Drawdown)).one().id
    stored_bank.script_timeouts(svc.db, stored_bank.PRODUCTION, drawdown, 2, now=clock())
    first = dispatch(svc)
    assert (first.sent, first.failed, first.dead) == (0, 1, 0)
    clock.advance(seconds=31)
    assert dispatch(svc).failed == 1
    clock.advance(minutes=2)
    assert dispatch(svc).sent == 1
    assert list(stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock()).taken) == [drawdown]
    to_evening(clock)
    poll(svc)
    assert statuses(svc, d)[0] == "Funding Completed"
    bank = outbox_status(svc).channels["bank"]
    assert (bank["sent"], bank["pending"]) == (1, 1)  # the drawdown; its payment order is next


@pytest.mark.rule("FLOW-9", "AUD-5")
def test_an_instruction_the_bank_refuses_is_dead_lettered_and_audited(svc, clock) -> None:
    r = make_ready(svc, clock)
    authorized(r, ("100.00", None))
    with svc.db.sessions() as s, s.begin():
        row = s.scalars(select(OutboxEmail).where(OutboxEmail.channel == "bank")).one()
        row.payload = {**row.payload, "amount": "-1"}
    report = dispatch(svc)
    assert (report.failed, report.dead) == (1, 1)
    status = outbox_status(svc)
    assert status.channels["bank"]["dead"] == 1 and status.dead_letters[0].channel == "bank"
    with svc.db.sessions() as s:
        assert "bank_instruction_dead_lettered" in s.scalars(select(AuditEntry.action)).all()


@pytest.mark.rule("FLOW-2")
def test_a_drawdown_authorized_after_the_cut_off_is_requested_and_settled_the_next_banking_day(svc, clock) -> None:
    r = make_ready(svc, clock)
    fund(r)
    clock.moment = clock.moment.replace(hour=21, minute=30)  # 16:30 New York, Monday
    d = authorized(r, ("100.00", None))
    with svc.db.sessions() as s:
        assert s.scalars(select(Drawdown.request_date)).one().isoformat() == "2026-03-03"
    dispatch(svc)
    to_evening(clock)  # Monday 18:00: not its day yet
    assert poll(svc).pending == 1
    clock.advance(days=1)  # Tuesday 18:00
    poll(svc)
    assert statuses(svc, d)[0] == "Funding Completed"


# ---------------------------------------------------------------- FLOW-8: re-issuing a failed payment


def failed_payment(r: Ready, clock) -> tuple[str, PaymentOrder]:
    """A disbursement whose one payment Failed (the payee's account closed at the bank)."""
    fund(r)
    d = authorized(r, ("700.00", None))
    dispatch(r.svc)
    to_evening(clock)
    poll(r.svc)
    with r.svc.db.sessions() as s:
        order = s.scalars(select(PaymentOrder).where(PaymentOrder.disbursement_id == d)).one()
    stored_bank.close(r.svc.db, stored_bank.PRODUCTION, order.beneficiary_account_id, now=clock())
    dispatch(r.svc)
    clock.advance(days=1)
    poll(r.svc)
    assert statuses(r.svc, d) == ("Funding Completed", ["Failed"], ["Failed"])
    return d, order


@pytest.mark.rule("FLOW-8", "MFA-8", "ST-6", "BANK-11")
def test_an_admin_reissues_a_failed_payment_to_the_payees_current_account_and_it_is_paid(svc, clock) -> None:
    from engine.payments import account_lifecycle
    from engine.payments.reissue import reissue_payment
    from engine.service.demo import seed_beneficiary_account

    r = make_ready(svc, clock)
    d, failed = failed_payment(r, clock)
    # the payee designates a new account (its old one is deactivated, the new one Verified)
    vendor = r.w.payee("Acme Concrete")
    account_lifecycle.deactivate(svc, r.w.admin, r.w.company, failed.beneficiary_account_id, mfa_code=r.admin.code())
    clock.advance(seconds=30)
    new = seed_beneficiary_account(svc, r.w.admin, r.w.company, vendor, approver=r.w.admin,
                                   account_number="551234567890")
    account_lifecycle.verify(svc, r.w.admin, r.w.company, new)
    # not by a Disburser, not with a wrong code, and only a Failed payment
    from engine.errors import DomainError
    with pytest.raises(DomainError) as e:
        reissue_payment(svc, r.controller.user, r.w.company, d, failed.invoice_id, mfa_code=r.controller.code())
    assert e.value.code == "permission_denied"
    with pytest.raises(DomainError) as e:
        reissue_payment(svc, r.w.admin, r.w.company, d, failed.invoice_id, mfa_code="000000")
    assert e.value.code == "mfa_failed"
    clock.advance(seconds=30)
    view = reissue_payment(svc, r.w.admin, r.w.company, d, failed.invoice_id, mfa_code=r.admin.code())
    assert (view.status, view.beneficiary_account_id, view.amount) == ("Requested", new, Decimal("700.00"))
    assert view.check_number != failed.check_number and view.id != failed.id
    with pytest.raises(DomainError) as e:
        clock.advance(seconds=30)
        reissue_payment(svc, r.w.admin, r.w.company, d, failed.invoice_id, mfa_code=r.admin.code())
    assert e.value.code == "invalid_state"  # Requested now, not Failed
    dispatch(svc)
    clock.advance(days=1)
    poll(svc)
    assert statuses(svc, d) == ("Funding Completed", ["Failed", "Completed"], ["Completed"])
    with svc.db.sessions() as s:
        assert s.get(PaymentOrder, failed.id).status == "Failed"  # the failed order stays Failed
        assert s.get(Invoice, failed.invoice_id).status == "Paid"
    assert "disbursement_paid" in actions(svc, d) and "payment_reissued" in actions(svc, d)
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    assert book.accounts[new].balance == Decimal("700.00")


# ---------------------------------------------------------------- ROLL-5: the test drawdown


@pytest.mark.rule("ROLL-5")
def test_a_new_funding_account_is_authorized_on_only_after_its_test_drawdown_completes(svc, clock) -> None:
    from engine.errors import DomainError
    from engine.payments import account_lifecycle, test_drawdowns
    from engine.service.demo import seed_funding_account
    from engine.store.tables import BankAccount

    r = make_ready(svc, clock)
    untested = seed_funding_account(svc, r.w.admin, r.w.company, "New Operating", account_number="000555666777",
                                    tested=False)
    with pytest.raises(DomainError) as e:
        test_drawdowns.request_test_drawdown(svc, r.w.admin, r.w.company, untested)
    assert (e.value.code, e.value.rule) == ("funding_account_not_ready", "ROLL-5")  # not Verified yet
    account_lifecycle.verify(svc, r.w.admin, r.w.company, untested)
    tested, r.w.funding = r.w.funding, untested
    d = r.disbursement(("300.00", None))  # drawn on the new account
    r.w.funding = tested
    with pytest.raises(DomainError) as e:
        authorization.authorize(svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())
    assert (e.value.code, e.value.rule) == ("funding_account_not_ready", "ROLL-5")
    test = test_drawdowns.request_test_drawdown(svc, r.w.admin, r.w.company, untested)
    assert (test.status, test.amount) == ("Funding Requested", Decimal("1.00"))
    with pytest.raises(DomainError) as e:
        test_drawdowns.request_test_drawdown(svc, r.w.admin, r.w.company, untested)
    assert e.value.code == "invalid_state"  # one open test at a time
    stored_bank.credit(svc.db, stored_bank.PRODUCTION, untested, "10000.00", now=clock())
    dispatch(svc)
    to_evening(clock)
    assert poll(svc).applied == 1
    with svc.db.sessions() as s:
        assert s.get(BankAccount, untested).tested_at is not None
    [done] = test_drawdowns.list_test_drawdowns(svc, r.w.admin, r.w.company, untested)
    assert done.status == "Funding Completed"
    clock.advance(days=1)
    view = authorization.authorize(svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())
    assert view.drawdown_status == "Funding Requested"


@pytest.mark.rule("ROLL-5", "FLOW-3")
def test_a_failed_test_drawdown_leaves_the_account_untested_with_the_reason(svc, clock) -> None:
    from engine.payments import account_lifecycle, test_drawdowns
    from engine.service.demo import seed_funding_account
    from engine.store.tables import BankAccount

    r = make_ready(svc, clock)
    untested = seed_funding_account(svc, r.w.admin, r.w.company, "Unfunded", account_number="000555666888",
                                    tested=False)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, untested)
    test_drawdowns.request_test_drawdown(svc, r.w.admin, r.w.company, untested)
    dispatch(svc)
    to_evening(clock)
    poll(svc)
    [failed] = test_drawdowns.list_test_drawdowns(svc, r.w.admin, r.w.company, untested)
    assert (failed.status, failed.reason) == ("Funding Failed", "insufficient funds")
    with svc.db.sessions() as s:
        assert s.get(BankAccount, untested).tested_at is None
    again = test_drawdowns.request_test_drawdown(svc, r.w.admin, r.w.company, untested)  # may try again
    assert again.status == "Funding Requested"


# ---------------------------------------------------------------- ROLL-3, ROLL-4: sandbox mode


@pytest.mark.rule("ROLL-3", "ROLL-4")
def test_a_sandbox_project_pays_through_the_sandbox_bank_only_with_sandbox_accounts_marked_as_tests(svc, clock) -> None:
    from engine.errors import DomainError
    from engine.payments import account_lifecycle, funds_queries
    from engine.service import directory
    from engine.service.demo import seed_beneficiary_account, seed_funding_account

    r = make_ready(svc, clock)
    assert directory.update_project(svc, r.w.admin, r.w.company, r.w.project, sandbox=True).sandbox is True
    # a production funding account never pays a sandbox disbursement
    with pytest.raises(DomainError) as e:
        r.disbursement(("100.00", None), approve=False)
    assert (e.value.code, e.value.rule) == ("invalid_funding_account", "ROLL-4")
    sandbox_funding = seed_funding_account(svc, r.w.admin, r.w.company, "Sandbox Operating",
                                           account_number="000111222333", sandbox=True)
    view = bank_accounts_view(svc, r, sandbox_funding)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, view.deposit_account_id)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, sandbox_funding)
    vendor = "Sandbox Supply"
    payee = r.w.payee(vendor)
    account = seed_beneficiary_account(svc, r.w.admin, r.w.company, payee, approver=r.w.admin,
                                       account_number="660000000001", sandbox=True)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, account)
    r.beneficiary[vendor] = account
    production, r.w.funding = r.w.funding, sandbox_funding
    d = r.disbursement(("400.00", None), vendor=vendor)
    r.w.funding = production
    authorization.authorize(svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())  # no test drawdown needed
    assert funds_queries.funds_view(svc, r.w.admin, r.w.company, d).sandbox is True
    with svc.db.sessions() as s:
        subjects = list(s.scalars(select(OutboxEmail.subject).where(OutboxEmail.channel == "email",
                                                                    OutboxEmail.event == "authorized")))
    assert subjects and all(subject.startswith("[payroute] [TEST] ") for subject in subjects)
    stored_bank.credit(svc.db, stored_bank.SANDBOX, sandbox_funding, "1000.00", now=clock())
    dispatch(svc)
    to_evening(clock)
    poll(svc)
    dispatch(svc)
    clock.advance(days=1)
    poll(svc)
    assert statuses(svc, d) == ("Funding Completed", ["Completed"], ["Completed"])
    sandbox_book = stored_bank.book(svc.db, stored_bank.SANDBOX, now=clock())
    assert sandbox_book.accounts[account].balance == Decimal("400.00")
    assert not stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock()).taken  # production's bank saw nothing


def bank_accounts_view(svc, r: Ready, account: str):
    from engine.payments import bank_accounts

    return bank_accounts.read_bank_account(svc, r.w.admin, r.w.company, account)


@pytest.mark.rule("ROLL-4", "AUD-6")
def test_a_sandbox_emails_subject_keeps_its_test_mark_within_the_column_however_long_the_step() -> None:
    from engine.outbox.emails import SUBJECT_WIDTH, Subject, _subject_line

    subject = Subject("c", "GC", "d" * 32, Decimal("1.00"), "P", sandbox=True)
    line = _subject_line("step_entered", "x" * 1000, {}, subject)
    assert line.startswith("[payroute] [TEST] Action required: xxx") and len(line) == SUBJECT_WIDTH


@pytest.mark.rule("AUTH-1")
def test_no_money_moves_before_authorization_whatever_the_worker_does(svc, clock) -> None:
    from engine.payments.dispatch import move_money

    r = make_ready(svc, clock)
    fund(r)
    d = r.disbursement(("900.00", None))  # Approved by the workflow, not authorized
    for _ in range(3):
        move_money(svc)
        clock.advance(days=1)
    assert stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock()).taken == {}
    assert statuses(svc, d) == ("Draft", [], ["Not Initiated"])
    authorization.authorize(svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())
    assert move_money(svc).sent.sent == 1  # only now is anything asked of the bank
    assert len(stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock()).taken) == 1
