"""FLOW-8: an Admin re-issues a Failed payment, with an MFA challenge, as a new payment order.

A payment fails on its own (FLOW-5), typically because the payee's account was
closed; its money stays in the deposit account and its invoice stays reserved
(FLOW-7). Once the payee has designated a working account, an Admin re-issues
the payment: a *new* order (new id, new check number) to the payee's current
designated, Verified, approved account — snapshotted now, as authorization
snapshots (BANK-15) — for the same amount; the failed order stays Failed. The
order is sent by the worker like every instruction. The MFA code is checked
last (MFA-8, AUTH-4's rule for every sensitive command).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.payments import instructions
from engine.payments.authorization import PaymentOrderView, designated_account
from engine.payments.bank import Instruction
from engine.payments.bank_accounts import take_check_number
from engine.payments.settlement import Rows, load
from engine.runtime import funds
from engine.security import enrollment
from engine.security.permissions import PAYMENTS_ADMIN, require, standing
from engine.service import audit
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.service.instance_store import bump, lock_disbursement
from engine.services import Services
from engine.store.tables import BankAccount, Disbursement, Invoice, PaymentOrder, new_id

ACTION = "reissue_payment"


@idempotent(ACTION, standing=standing(PAYMENTS_ADMIN, rule="FLOW-8", action="re-issuing a payment", audited=True),
            strangers_not_found=True)
def reissue_payment(svc: Services, actor: str, company_id: str, disbursement_id: str, invoice_id: str, *,
                    mfa_code: str) -> PaymentOrderView:
    """FLOW-8: a new order for the Failed payment of ``invoice_id``, to the payee's current account."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        d = lock_disbursement(s, company_id, disbursement_id)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="FLOW-8", action="re-issuing a payment", audited=True,
                target=("disbursement", d.id))
        loaded = load(s, d)
        if loaded is None:
            raise DomainError("invalid_state", "the disbursement is not authorized: nothing was paid", rule="FLOW-8")
        state, rows = loaded
        if invoice_id not in rows.items:
            raise DomainError("not_found", "the disbursement pays no such invoice", rule="FLOW-8")
        invoice = s.get(Invoice, invoice_id)
        assert invoice is not None  # a disbursement item's foreign key
        payment = next(p for p in state.payments if p.invoice_id == invoice_id)
        if payment.status != "Failed":
            raise DomainError("invalid_state", f"only a Failed payment is re-issued; this one is {payment.status}",
                              rule="FLOW-8")
        account = designated_account(s, company, invoice.payee_company_id, invoice.number,
                                     sandbox=bool(rows.drawdown.sandbox))
        transition = funds.reissue(state, invoice_id, beneficiary_account=account.id, new_id=lambda _kind: new_id())
        enrollment.challenge(s, svc, company, actor, mfa_code, action=ACTION, object_type="disbursement",
                             object_id=d.id)  # last (AUTH-4's rule)
        return _write(s, svc, d, rows, transition, invoice, account, actor, failed=payment.orders[-1].id)


def _write(s: Session, svc: Services, d: Disbursement, rows: Rows, transition: funds.Transition, invoice: Invoice,
           account: BankAccount, actor: str, *, failed: str) -> PaymentOrderView:
    now = svc.now()
    submit = next(e for e in transition.effects if isinstance(e, funds.SubmitPaymentOrder))
    change = next(e for e in transition.effects if isinstance(e, funds.Changed))
    order = PaymentOrder(id=submit.order_id, company_id=d.company_id, drawdown_id=rows.drawdown.id,
                         disbursement_id=d.id, invoice_id=invoice.id, payee_company_id=invoice.payee_company_id,
                         beneficiary_account_id=account.id, beneficiary_bank_name=account.bank_name,
                         beneficiary_holder_name=account.holder_name, beneficiary_routing_number=account.routing_number,
                         beneficiary_last4=account.last4, amount=submit.amount,
                         check_number=take_check_number(s, rows.drawdown.funding_account_id), status="Requested",
                         reissue_of=failed, created_at=now, updated_at=now, requested_at=now, lock_version=0)
    s.add(order)
    rows.items[invoice.id].payment_status = "Requested"
    instructions.queue(s, now=now, company_id=d.company_id, sandbox=bool(rows.drawdown.sandbox),
                       instruction=Instruction(order.id, "payment_order", submit.deposit_account,
                                               submit.beneficiary_account, submit.amount))
    bump(d, now)
    s.flush()
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=d.company_id, at=now, actor_id=actor,
                 action="payment_reissued", object_type="payment_order", object_id=order.id,
                 before={"status": change.before, "order": failed}, after={"status": change.after},
                 rules=("FLOW-8", "ST-6", "BANK-11", "BANK-15", "MFA-8"),
                 details={"invoice": invoice.id, "number": invoice.number, "amount": f"{order.amount:.2f}",
                          "check_number": order.check_number, "beneficiary_account": account.id,
                          "last4": account.last4, "reissue_of": failed}, sandbox=bool(d.sandbox))
    return PaymentOrderView(order.id, invoice.id, invoice.number, order.payee_company_id, order.amount, order.status,
                            order.check_number, account.id, account.bank_name, account.last4, reissue_of=failed,
                            requested_at=now)

