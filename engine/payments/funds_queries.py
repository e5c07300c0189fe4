"""Where a disbursement's money stands, as its page and the API show it (ST-3..ST-6, FLOW-1..FLOW-8).

One read, no writes: the drawdown with its request date and the bank's reason,
and every payment order — the failed ones and their re-issues included, each
with its check number and the payee's account by its last four digits only
(BANK-8) — plus the disbursement's stage in one word. Whoever may see the
disbursement may see this (ROLE-9's viewers, :func:`engine.service.instances.require_viewer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from engine.payments.authorization import PaymentOrderView
from engine.service.disbursements import disbursement_view
from engine.service.instances import require_viewer
from engine.services import Services
from engine.store.db import aware
from engine.store.tables import Drawdown, Invoice, PaymentOrder

CENT = Decimal("0.01")


@dataclass(frozen=True)
class DrawdownView:
    id: str
    status: str
    amount: Decimal
    funding_account_id: str
    deposit_account_id: str
    request_date: date
    reason: str | None
    settled_at: datetime | None


@dataclass(frozen=True)
class FundsView:
    disbursement_id: str
    stage: str
    sandbox: bool
    total: Decimal
    #: None before authorization
    drawdown: DrawdownView | None
    orders: tuple[PaymentOrderView, ...]


def funds_view(svc: Services, actor: str, company_id: str, disbursement_id: str) -> FundsView:
    with svc.db.sessions() as s:
        d = require_viewer(s, company_id, actor, disbursement_id)
        seen = disbursement_view(s, d)
        dd = s.scalars(select(Drawdown).where(Drawdown.disbursement_id == d.id)).first()
        drawdown = None if dd is None else DrawdownView(
            dd.id, dd.status, dd.amount.quantize(CENT), dd.funding_account_id, dd.deposit_account_id, dd.request_date,
            dd.reason, aware(dd.settled_at))
        orders = tuple(
            PaymentOrderView(o.id, o.invoice_id, number, o.payee_company_id, o.amount.quantize(CENT), o.status,
                             o.check_number, o.beneficiary_account_id, o.beneficiary_bank_name, o.beneficiary_last4,
                             o.reason, o.reissue_of, aware(o.requested_at), aware(o.settled_at))
            for o, number in s.execute(select(PaymentOrder, Invoice.number)
                                       .join(Invoice, Invoice.id == PaymentOrder.invoice_id)
                                       .where(PaymentOrder.disbursement_id == d.id)
                                       .order_by(PaymentOrder.created_at, PaymentOrder.check_number)))
        return FundsView(d.id, seen.stage, seen.sandbox, seen.total, drawdown, orders)
