"""After authorization: the drawdown and the payment orders, as a pure state machine (ST-3..ST-6, FLOW-1..FLOW-9).

The disbursement's money moves in two stages: one drawdown from the funding
account into the deposit account for exactly the aggregate (FLOW-1), then, once
it settles, one payment order per invoice payment to the payee's account
snapshotted at authorization (FLOW-4). The bank answers asynchronously and
maybe more than once, so every answer is an :data:`BankEvent` applied with
:func:`apply`, which never raises for the bank's sake (FLOW-9): a repeated
event is a no-op, and an event that would move a status backward or out of a
final state is *ignored* — returned as an :class:`Ignored` effect for the
audit log, the state unchanged.

Like :mod:`engine.runtime.instance`, functions take the state and return the
new state and its effects; the service writes both in one transaction and the
worker sends the :class:`SubmitDrawdown` / :class:`SubmitPaymentOrder`
instructions after commit, each carrying its own idempotency id (the order or
drawdown id), so a resent instruction is not a second payment.

Commands a *user* gives (authorize, re-issue) refuse with a
:class:`engine.errors.DomainError`; bank events never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal, TypeVar

from engine.errors import DomainError, InvariantBroken

T = TypeVar("T")

DrawdownStatus = Literal["Draft", "Funding Requested", "Funding Completed", "Funding Failed"]
OrderStatus = Literal["Requested", "Completed", "Failed"]
PaymentStatus = Literal["Not Initiated", "Requested", "Completed", "Failed"]

#: ST-4: Funding Completed and Funding Failed are final
FINAL_DRAWDOWN: frozenset[str] = frozenset({"Funding Completed", "Funding Failed"})
#: ST-6: Completed and Failed are final (a re-issue is a new order)
FINAL_ORDER: frozenset[str] = frozenset({"Completed", "Failed"})


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Order:
    """One payment order: its own id (the bank's idempotency id), to the account it pays."""

    id: str
    beneficiary_account: str
    amount: Decimal
    status: OrderStatus = "Requested"
    reason: str | None = None
    #: FLOW-8: the failed order this one re-issues
    reissue_of: str | None = None


@dataclass(frozen=True)
class Payment:
    """One invoice payment of the disbursement and the orders sent for it (the last one counts)."""

    invoice_id: str
    payee: str
    amount: Decimal
    #: AUTH-11: the payee's designated account at authorization (BANK-15)
    beneficiary_account: str
    orders: tuple[Order, ...] = ()

    @property
    def status(self) -> PaymentStatus:
        """ST-5: Not Initiated until an order is sent, then the latest order's status."""
        return self.orders[-1].status if self.orders else "Not Initiated"


@dataclass(frozen=True)
class Funds:
    """Where a disbursement's money stands."""

    drawdown_status: DrawdownStatus
    payments: tuple[Payment, ...]
    funding_account: str
    deposit_account: str
    #: the drawdown's id (the bank's idempotency id), once requested
    drawdown_id: str | None = None
    drawdown_reason: str | None = None

    @property
    def aggregate(self) -> Decimal:
        """GEN-3: the exact sum of the payments, what the drawdown asks for (FLOW-1)."""
        return sum((p.amount for p in self.payments), Decimal("0.00"))

    def order(self, order_id: str) -> tuple[int, int] | None:
        """(payment index, order index) of ``order_id``."""
        for i, payment in enumerate(self.payments):
            for j, order in enumerate(payment.orders):
                if order.id == order_id:
                    return i, j
        return None


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class SubmitDrawdown:
    """Send the drawdown to the bank (after commit): from the funding account into the deposit account."""

    drawdown_id: str
    funding_account: str
    deposit_account: str
    amount: Decimal


@dataclass(frozen=True)
class SubmitPaymentOrder:
    """Send one payment order to the bank (after commit)."""

    order_id: str
    invoice_id: str
    deposit_account: str
    beneficiary_account: str
    amount: Decimal


@dataclass(frozen=True)
class Changed:
    """An audited change of status: the drawdown's, or one order's (with its invoice)."""

    action: str
    before: str
    after: str
    rules: tuple[str, ...]
    order_id: str | None = None
    invoice_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReleaseInvoices:
    """FLOW-6: the invoices may join a new disbursement."""

    invoice_ids: tuple[str, ...]


@dataclass(frozen=True)
class PaymentCompletedEffect:
    """DSB-14: the invoice's amount due drops by the amount paid."""

    invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class Notify:
    """AUD-6: funding failed or payment failed — to the Admins and the creator."""

    event: Literal["funding_failed", "payment_failed"]
    reason: str | None
    invoice_id: str | None = None


@dataclass(frozen=True)
class Ignored:
    """FLOW-9: a bank event that changed nothing, and why (recorded in the audit log)."""

    event: str
    reason: str
    duplicate: bool


Effect = SubmitDrawdown | SubmitPaymentOrder | Changed | ReleaseInvoices | PaymentCompletedEffect | Notify | Ignored


@dataclass(frozen=True)
class Transition:
    """The new state and what the service must write and send for it."""

    state: Funds
    effects: tuple[Effect, ...]


# ---------------------------------------------------------------- bank events


@dataclass(frozen=True)
class DrawdownSettled:
    drawdown_id: str


@dataclass(frozen=True)
class DrawdownRejected:
    drawdown_id: str
    reason: str


@dataclass(frozen=True)
class OrderCompleted:
    order_id: str


@dataclass(frozen=True)
class OrderFailed:
    order_id: str
    reason: str


BankEvent = DrawdownSettled | DrawdownRejected | OrderCompleted | OrderFailed

NewId = Callable[[str], str]


# ---------------------------------------------------------------- user commands


def authorize(funds: Funds, *, new_id: NewId) -> Transition:
    """AUTH-11, FLOW-1: request the drawdown for exactly the aggregate; Draft → Funding Requested."""
    if funds.drawdown_status != "Draft":
        raise DomainError("invalid_state", f"the drawdown is {funds.drawdown_status}, not Draft: "
                                           "a disbursement is authorized once", rule="AUTH-11")
    if not funds.payments or funds.aggregate <= 0:
        raise InvariantBroken("an authorized disbursement pays at least one invoice a positive amount")
    drawdown_id = new_id("drawdown")
    state = replace(funds, drawdown_status="Funding Requested", drawdown_id=drawdown_id)
    return Transition(state, (
        Changed("funding_requested", "Draft", "Funding Requested", ("AUTH-11", "ST-4", "FLOW-1")),
        SubmitDrawdown(drawdown_id, funds.funding_account, funds.deposit_account, funds.aggregate)))


def reissue(funds: Funds, invoice_id: str, *, beneficiary_account: str, new_id: NewId) -> Transition:
    """FLOW-8: a Failed payment gets a new order to the payee's current designated account; the
    failed order stays Failed."""
    index = next((i for i, p in enumerate(funds.payments) if p.invoice_id == invoice_id), None)
    if index is None:
        raise DomainError("not_found", "the disbursement pays no such invoice", rule="FLOW-8")
    payment = funds.payments[index]
    if payment.status != "Failed":
        raise DomainError("invalid_state", f"only a Failed payment is re-issued; this one is {payment.status}",
                          rule="FLOW-8")
    failed = payment.orders[-1]
    order = Order(new_id("payment_order"), beneficiary_account, payment.amount, reissue_of=failed.id)
    payments = _with(funds.payments, index, replace(payment, orders=(*payment.orders, order)))
    return Transition(replace(funds, payments=payments), (
        Changed("payment_reissued", "Failed", "Requested", ("FLOW-8", "ST-6"), order.id, invoice_id),
        SubmitPaymentOrder(order.id, invoice_id, funds.deposit_account, beneficiary_account, payment.amount)))


# ---------------------------------------------------------------- bank events


def apply(funds: Funds, event: BankEvent, *, new_id: NewId) -> Transition:
    """Apply one bank event (FLOW-9: never refused; what cannot apply is :class:`Ignored`)."""
    if isinstance(event, (DrawdownSettled, DrawdownRejected)):
        return _drawdown_event(funds, event, new_id)
    return _order_event(funds, event)


def _ignored(funds: Funds, event: BankEvent, reason: str, *, duplicate: bool) -> Transition:
    return Transition(funds, (Ignored(type(event).__name__, reason, duplicate),))


def _drawdown_event(funds: Funds, event: DrawdownSettled | DrawdownRejected, new_id: NewId) -> Transition:
    if funds.drawdown_id is None or event.drawdown_id != funds.drawdown_id:
        return _ignored(funds, event, "the event names another drawdown", duplicate=False)
    target: DrawdownStatus = "Funding Completed" if isinstance(event, DrawdownSettled) else "Funding Failed"
    if funds.drawdown_status == target:
        return _ignored(funds, event, f"the drawdown is already {target}", duplicate=True)
    if funds.drawdown_status != "Funding Requested":
        return _ignored(funds, event, f"the drawdown is {funds.drawdown_status}, final: it cannot become {target}",
                        duplicate=False)
    if isinstance(event, DrawdownRejected):
        state = replace(funds, drawdown_status="Funding Failed", drawdown_reason=event.reason)
        return Transition(state, (
            Changed("funding_failed", "Funding Requested", "Funding Failed", ("FLOW-3", "FLOW-6", "ST-4"),
                    reason=event.reason),
            ReleaseInvoices(tuple(p.invoice_id for p in funds.payments)),
            Notify("funding_failed", event.reason)))
    effects: list[Effect] = [Changed("funding_completed", "Funding Requested", "Funding Completed",
                                     ("FLOW-3", "ST-4"))]
    payments = []
    for payment in funds.payments:
        order = Order(new_id("payment_order"), payment.beneficiary_account, payment.amount)
        payments.append(replace(payment, orders=(order,)))
        effects.append(Changed("payment_requested", "Not Initiated", "Requested", ("FLOW-4", "ST-6"),
                               order.id, payment.invoice_id))
        effects.append(SubmitPaymentOrder(order.id, payment.invoice_id, funds.deposit_account,
                                          payment.beneficiary_account, payment.amount))
    state = replace(funds, drawdown_status="Funding Completed", payments=tuple(payments))
    if sum((o.amount for p in state.payments for o in p.orders), Decimal("0.00")) != funds.aggregate:
        raise InvariantBroken("FLOW-4: the payment orders must sum to exactly the drawdown")
    return Transition(state, tuple(effects))


def _order_event(funds: Funds, event: OrderCompleted | OrderFailed) -> Transition:
    found = funds.order(event.order_id)
    if found is None:
        return _ignored(funds, event, "the event names no payment order of this disbursement", duplicate=False)
    i, j = found
    payment = funds.payments[i]
    order = payment.orders[j]
    target: OrderStatus = "Completed" if isinstance(event, OrderCompleted) else "Failed"
    if order.status == target:
        return _ignored(funds, event, f"the payment order is already {target}", duplicate=True)
    if order.status in FINAL_ORDER:
        return _ignored(funds, event, f"the payment order is {order.status}, final: it cannot become {target}",
                        duplicate=False)
    reason = event.reason if isinstance(event, OrderFailed) else None
    orders = _with(payment.orders, j, replace(order, status=target, reason=reason))
    state = replace(funds, payments=_with(funds.payments, i, replace(payment, orders=orders)))
    change = Changed("payment_completed" if target == "Completed" else "payment_failed", "Requested", target,
                     ("FLOW-5", "ST-6"), order.id, payment.invoice_id, reason)
    if target == "Completed":
        return Transition(state, (change, PaymentCompletedEffect(payment.invoice_id, order.amount)))
    # FLOW-7: the funds stay in the deposit account and the invoice stays reserved
    return Transition(state, (change, Notify("payment_failed", reason, payment.invoice_id)))


def _with(items: tuple[T, ...], index: int, value: T) -> tuple[T, ...]:
    return (*items[:index], value, *items[index + 1:])


# ---------------------------------------------------------------- where a disbursement stands

Stage = Literal["draft", "in_review", "rejected", "approved", "canceled", "authorized", "funding_failed",
                "paying", "payment_failed", "paid"]


def stage(*, is_draft: bool, canceled: bool, workflow_applies: bool, workflow_status: str | None,
          drawdown_status: str, payment_statuses: tuple[str, ...]) -> Stage:
    """The disbursement's lifecycle in one word, from its statuses (ST-1, ST-3, ST-5): what a page
    or an app shows first. ``payment_failed``: the drawdown settled and some payment Failed (FLOW-7),
    waiting for a re-issue (FLOW-8); ``paid``: every payment Completed."""
    if is_draft:
        return "draft"
    if canceled:
        return "canceled"
    if drawdown_status == "Funding Requested":
        return "authorized"
    if drawdown_status == "Funding Failed":
        return "funding_failed"
    if drawdown_status == "Funding Completed":
        if payment_statuses and all(p == "Completed" for p in payment_statuses):
            return "paid"
        return "payment_failed" if "Failed" in payment_statuses else "paying"
    if not workflow_applies or workflow_status == "Approved":
        return "approved"
    return "rejected" if workflow_status == "Rejected" else "in_review"
