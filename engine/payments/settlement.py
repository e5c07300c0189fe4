"""The bank's answers, applied: drawdowns settle or fail, payment orders complete or fail (FLOW-3..FLOW-9).

After the worker has submitted an instruction (:mod:`engine.payments.dispatch`),
:func:`poll` asks the bank where each open one stands — a drawdown Funding
Requested, a payment order Requested, a test drawdown — and hands every final
answer to :func:`apply_event`, which runs :func:`engine.runtime.funds.apply` on
the disbursement's money and writes what it returns in one transaction, under
the disbursement's lock: statuses, the audit entries, the payment orders'
instructions (FLOW-4, all in the drawdown's transaction), released or paid
invoices (FLOW-6, DSB-14) and the funding- or payment-failed emails (AUD-6).

Bank events are never refused (FLOW-9): a repeated one writes nothing; one that
would move a status backward or out of a final state is recorded as
``bank_event_ignored`` and changes nothing else. :func:`apply_event` is also
the entry point for a bank that calls back (a webhook) instead of being asked.

A bank that cannot answer now (a timeout) is asked again next round; it never
stops the others.

Operator and worker functions, exempt from the commands' ``(actor, company_id)``: the bank
answers, no user acts (ROLE-12: no service identity acts in a company's workflow).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from engine.errors import InvariantBroken
from engine.outbox import emails
from engine.outbox.lease import SENT
from engine.payments import instructions
from engine.payments.bank import BankTimeout, Instruction, InstructionKind, Status
from engine.runtime import funds
from engine.security.permissions import admins
from engine.service import audit
from engine.service.directory import get_company
from engine.service.instance_store import bump, lock_disbursement
from engine.service.instances import email_subject
from engine.services import Services
from engine.store.tables import (
    BankAccount,
    Disbursement,
    DisbursementItem,
    Drawdown,
    Invoice,
    OutboxEmail,
    PaymentOrder,
    TestDrawdown,
)

log = logging.getLogger("payroute.worker")

NOT_INITIATED = "Not Initiated"
PAID = "Paid"


# ---------------------------------------------------------------- the money as the runtime sees it


@dataclass
class Rows:
    """The rows behind a :class:`funds.Funds`, to write the transition back to."""

    drawdown: Drawdown
    orders: dict[str, PaymentOrder]
    items: dict[str, DisbursementItem]
    #: invoice id -> the order prepared at authorization and not yet sent (FLOW-4)
    prepared: dict[str, str] = field(default_factory=dict)


def load(s: Session, d: Disbursement) -> tuple[funds.Funds, Rows] | None:
    """The disbursement's money (None before authorization), from its drawdown and orders."""
    drawdown = s.scalars(select(Drawdown).where(Drawdown.disbursement_id == d.id)).first()
    if drawdown is None:
        return None
    items = {i.invoice_id: i for i in s.scalars(select(DisbursementItem)
                                                 .where(DisbursementItem.disbursement_id == d.id)
                                                 .order_by(DisbursementItem.position))}
    rows = list(s.scalars(select(PaymentOrder).where(PaymentOrder.disbursement_id == d.id)
                          .order_by(PaymentOrder.created_at, PaymentOrder.id)))
    by_invoice: dict[str, list[PaymentOrder]] = {}
    for o in rows:
        by_invoice.setdefault(o.invoice_id, []).append(o)
    payments, prepared = [], {}
    for invoice_id, item in items.items():
        mine = by_invoice.get(invoice_id, [])
        if not mine:
            raise InvariantBroken(f"AUTH-11: invoice {invoice_id} of an authorized disbursement has no payment order")
        sent = []
        for o in mine:
            if o.status == NOT_INITIATED:
                prepared[invoice_id] = o.id
            else:
                sent.append(funds.Order(o.id, o.beneficiary_account_id, o.amount, o.status,  # type: ignore[arg-type]
                                        o.reason, o.reissue_of))
        payments.append(funds.Payment(invoice_id, mine[0].payee_company_id, item.amount,
                                      mine[0].beneficiary_account_id, tuple(sent)))
    state = funds.Funds(drawdown.status, tuple(payments), drawdown.funding_account_id,  # type: ignore[arg-type]
                        drawdown.deposit_account_id, drawdown.instruction_id, drawdown.reason)
    return state, Rows(drawdown, {o.id: o for o in rows}, items, prepared)


def _prepared_ids(state: funds.Funds, rows: Rows) -> Iterator[str]:
    """FLOW-4: the orders sent when the drawdown settles are the ones authorization prepared (their
    ids, check numbers and account snapshots, BANK-11/15), in the payments' order."""
    for payment in state.payments:
        found = rows.prepared.get(payment.invoice_id)
        if found is None:
            raise InvariantBroken(f"FLOW-4: no prepared payment order for invoice {payment.invoice_id}")
        yield found


# ---------------------------------------------------------------- one event, one transaction


def apply_event(svc: Services, company_id: str, disbursement_id: str, event: funds.BankEvent) -> funds.Transition:
    """Apply one bank event to the disbursement's money and write the result (FLOW-9: never refused)."""
    with svc.tx() as s:
        d = lock_disbursement(s, company_id, disbursement_id)
        loaded = load(s, d)
        if loaded is None:
            raise InvariantBroken("a bank event names a disbursement that was never authorized")
        state, rows = loaded
        prepared = _prepared_ids(state, rows) if isinstance(event, funds.DrawdownSettled) else iter(())
        transition = funds.apply(state, event, new_id=lambda _kind: next(prepared))
        _write(s, svc, d, rows, transition, event)
        return transition


def _write(s: Session, svc: Services, d: Disbursement, rows: Rows, transition: funds.Transition,
          event: funds.BankEvent) -> None:
    """Everything ``transition`` says, in the caller's transaction, its entries on the disbursement's chain."""
    now = svc.now()
    records: list[audit.Record] = []
    notices: list[funds.Notify] = []
    changed = False
    for effect in transition.effects:
        if isinstance(effect, funds.Changed):
            changed = True
            records.append(_changed(rows, d, effect, now))
        elif isinstance(effect, funds.SubmitPaymentOrder):
            instructions.queue(s, now=now, company_id=d.company_id, sandbox=bool(rows.drawdown.sandbox),
                               instruction=Instruction(effect.order_id, "payment_order", effect.deposit_account,
                                                       effect.beneficiary_account, effect.amount))
        elif isinstance(effect, funds.ReleaseInvoices):
            for inv in s.scalars(select(Invoice).where(Invoice.id.in_(effect.invoice_ids),
                                                       Invoice.reserved_by == d.id).with_for_update()):
                inv.reserved_by = None  # FLOW-6: they may join a new disbursement
        elif isinstance(effect, funds.PaymentCompletedEffect):
            records.append(_paid_invoice(s, d, effect))
        elif isinstance(effect, funds.Notify):
            notices.append(effect)
        elif isinstance(effect, funds.Ignored) and not effect.duplicate:
            records.append(audit.Record("bank_event_ignored", "disbursement", d.id, None, reason=effect.reason,
                                        rules=("FLOW-9",), details={"event": effect.event, **_event_ids(event)}))
    if changed and all(p.status == "Completed" for p in transition.state.payments):
        records.append(audit.Record("disbursement_paid", "disbursement", d.id, None,
                                    after={"payments": "Completed"}, rules=("FLOW-5", "ST-6", "DSB-14"),
                                    details={"amount": f"{transition.state.aggregate:.2f}"}))
    if changed:
        bump(d, now)
    if records:
        audit.append_many(s, chain=audit.disbursement_chain(d.id), company_id=d.company_id, at=now, records=records,
                          sandbox=bool(d.sandbox))
    if notices:
        _notify(s, d, notices, now)


def _event_ids(event: funds.BankEvent) -> dict[str, str]:
    if isinstance(event, (funds.DrawdownSettled, funds.DrawdownRejected)):
        return {"drawdown": event.drawdown_id}
    return {"order": event.order_id}


def _changed(rows: Rows, d: Disbursement, e: funds.Changed, now: datetime) -> audit.Record:
    if e.order_id is None:  # the drawdown's own status (ST-4)
        dd = rows.drawdown
        dd.status, dd.reason, dd.settled_at, dd.updated_at = e.after, e.reason, now, now
        d.drawdown_status = e.after
        return audit.Record(e.action, "drawdown", dd.id, None, {"status": e.before}, {"status": e.after},
                            e.reason, e.rules, details={"disbursement": d.id, "amount": f"{dd.amount:.2f}"})
    order = rows.orders[e.order_id]
    order.status, order.reason, order.updated_at = e.after, e.reason, now
    if e.after == "Requested":
        order.requested_at = now
    else:
        order.settled_at = now
    item = rows.items.get(e.invoice_id or "")
    if item is not None:
        item.payment_status = e.after  # ST-5: the payment's status is its latest order's
    return audit.Record(e.action, "payment_order", order.id, None, {"status": e.before}, {"status": e.after},
                        e.reason, e.rules, details={"disbursement": d.id, "invoice": order.invoice_id,
                                                    "amount": f"{order.amount:.2f}",
                                                    "check_number": order.check_number,
                                                    "last4": order.beneficiary_last4})


def _paid_invoice(s: Session, d: Disbursement, e: funds.PaymentCompletedEffect) -> audit.Record:
    """DSB-14: the amount due drops by what was paid; Paid at $0.00, otherwise free to join another."""
    inv = s.scalars(select(Invoice).where(Invoice.id == e.invoice_id).with_for_update()).one()
    before = inv.amount_due
    inv.amount_due = (inv.amount_due - e.amount).quantize(Decimal("0.01"))
    if inv.amount_due < 0:
        raise InvariantBroken("AUTH-9: a payment never exceeds its invoice's amount due")
    if inv.amount_due == 0:
        inv.status = PAID
    if inv.reserved_by == d.id:
        inv.reserved_by = None
    inv.lock_version = (inv.lock_version or 0) + 1
    return audit.Record("invoice_paid" if inv.status == PAID else "invoice_paid_in_part", "invoice", inv.id, None,
                        {"amount_due": f"{before:.2f}"}, {"amount_due": f"{inv.amount_due:.2f}", "status": inv.status},
                        None, ("DSB-14",), details={"disbursement": d.id, "paid": f"{e.amount:.2f}",
                                                    "number": inv.number})


def _notify(s: Session, d: Disbursement, notices: list[funds.Notify], now: datetime) -> None:
    """AUD-6: funding or payment failed — to the company's Admins and the disbursement's creator."""
    company = get_company(s, d.company_id)
    subject = email_subject(s, company, d)
    recipients = [u for u in dict.fromkeys((*admins(s, company.id), d.created_by)) if isinstance(u, str)]
    numbers = dict(s.execute(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_([n.invoice_id for n in notices if n.invoice_id]))).all())
    messages = [emails.Message(n.event, recipients, details={
        "reason": n.reason or "", "invoice": numbers.get(n.invoice_id or "", "")})
        for n in notices]
    emails.enqueue_many(s, now=now, subject=subject, messages=messages)


# ---------------------------------------------------------------- ROLL-5: test drawdowns


def apply_test_result(svc: Services, test_id: str, status: Status) -> bool:
    """A test drawdown's final answer: Completed marks its funding account tested (ROLL-5); Failed
    keeps the reason. False when it was already final (a repeated answer: nothing written)."""
    with svc.tx() as s:
        test = s.scalars(select(TestDrawdown).where(TestDrawdown.id == test_id).with_for_update()).first()
        if test is None or test.status != "Funding Requested" or status.status == "pending":
            return False
        now = svc.now()
        test.status = "Funding Completed" if status.status == "completed" else "Funding Failed"
        test.reason, test.settled_at = status.reason, now
        account = s.get(BankAccount, test.funding_account_id)
        company = get_company(s, test.company_id, lock=True)
        if test.status == "Funding Completed" and account is not None and account.tested_at is None:
            account.tested_at = now
        audit.append(s, chain=audit.company_chain(company.id), company_id=company.id, at=now, actor_id=None,
                     action="test_drawdown_completed" if test.status == "Funding Completed" else "test_drawdown_failed",
                     object_type="bank_account", object_id=test.funding_account_id,
                     after={"status": test.status, "tested": account is not None and account.tested_at is not None},
                     reason=test.reason, rules=("ROLL-5", "FLOW-3"),
                     details={"test_drawdown": test.id, "amount": f"{test.amount:.2f}"})
        return True


# ---------------------------------------------------------------- asking the bank


@dataclass
class PollReport:
    asked: int = 0
    #: final answers applied (a status changed, or an ignored event recorded)
    applied: int = 0
    #: still pending at the bank
    pending: int = 0
    #: the bank could not answer now (asked again next round)
    errors: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Open:
    kind: InstructionKind
    instruction_id: str
    company_id: str
    disbursement_id: str | None
    sandbox: bool


def _submitted(instruction_id: Any) -> Any:
    """The instruction's outbox row has been sent: the bank took it."""
    return exists().where(and_(OutboxEmail.dedupe_key == "bank:" + instruction_id, OutboxEmail.status == SENT))


def open_instructions(svc: Services, *, limit: int = 500) -> list[Open]:
    """Every instruction the bank took whose answer has not been applied, oldest first."""
    with svc.db.sessions() as s:
        found = [Open("drawdown", r.instruction_id, r.company_id, r.disbursement_id, bool(r.sandbox))
                 for r in s.execute(select(Drawdown.instruction_id, Drawdown.company_id, Drawdown.disbursement_id,
                                           Drawdown.sandbox)
                                    .where(Drawdown.status == "Funding Requested",
                                           _submitted(Drawdown.instruction_id))
                                    .order_by(Drawdown.created_at).limit(limit))]
        found += [Open("payment_order", r.id, r.company_id, r.disbursement_id, bool(r.sandbox))
                  for r in s.execute(select(PaymentOrder.id, PaymentOrder.company_id, PaymentOrder.disbursement_id,
                                            Drawdown.sandbox)
                                     .join(Drawdown, Drawdown.id == PaymentOrder.drawdown_id)
                                     .where(PaymentOrder.status == "Requested", _submitted(PaymentOrder.id))
                                     .order_by(PaymentOrder.requested_at, PaymentOrder.id).limit(limit))]
        found += [Open("test_drawdown", r.id, r.company_id, None, False)
                  for r in s.execute(select(TestDrawdown.id, TestDrawdown.company_id)
                                     .where(TestDrawdown.status == "Funding Requested", _submitted(TestDrawdown.id))
                                     .order_by(TestDrawdown.created_at).limit(limit))]
    return found


def poll(svc: Services, *, limit: int = 500) -> PollReport:
    """Ask the bank about every open instruction — each mode's bank once, in one round trip — and
    apply each final answer (one transaction each)."""
    report = PollReport()
    items = open_instructions(svc, limit=limit)
    for sandbox in sorted({item.sandbox for item in items}):
        mine = [item for item in items if item.sandbox == sandbox]
        report.asked += len(mine)
        try:
            answers = svc.bank(sandbox).statuses([item.instruction_id for item in mine], at=svc.now())
        except BankTimeout as exc:
            report.errors += len(mine)
            report.error = f"BankTimeout: {exc}"
            log.warning("the %s bank did not answer now: %s", "sandbox" if sandbox else "production", exc)
            continue
        for item in mine:
            status = answers.get(item.instruction_id)
            if not isinstance(status, Status):
                report.errors += 1
                report.error = f"BankRefused: {status}" if status is not None else "the bank did not answer"
                log.warning("bank status of %s %s not known now: %s", item.kind, item.instruction_id, report.error)
            elif status.status == "pending":
                report.pending += 1
            elif item.kind == "test_drawdown":
                report.applied += apply_test_result(svc, item.instruction_id, status)
            else:
                event = status.event(item.kind)
                assert event is not None and item.disbursement_id is not None
                apply_event(svc, item.company_id, item.disbursement_id, event)
                report.applied += 1
    return report
