"""The request and response bodies of ``POST .../disbursements/{id}/authorize`` (AUTH-2..AUTH-11).

The MFA code travels in the body as ``mfa_code`` and goes to the engine only: it is never in
a response, a problem, a log line or the idempotency fingerprint (GEN-8 excludes it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from web.api.disbursement_models import money


class AuthorizeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mfa_code: StrictStr = Field(min_length=1, max_length=12, description="the authorizer's current TOTP code "
                                "(MFA-8), checked after every other rule (AUTH-4); never echoed or logged")
    confirm_partial: StrictBool = Field(default=False, description="AUTH-10: confirm the changed amounts when any "
                                                                   "payment is partial")


class PaymentOrderOut(BaseModel):
    """One payment order (FLOW-4): the payee's account as snapshotted at authorization (BANK-15),
    by its last four digits only (BANK-8), and its check number (BANK-11)."""

    id: str
    invoice: str
    invoice_number: str
    payee: str
    amount: str
    status: str = Field(description="ST-5: Not Initiated until the drawdown settles")
    check_number: str
    beneficiary_account: str
    beneficiary_bank_name: str | None
    beneficiary_last4: str | None


class Authorization(BaseModel):
    """What authorizing did (AUTH-11): the authorizer and moment, the drawdown and its orders."""

    disbursement: str
    workflow_status: str | None
    drawdown_status: str = Field(description="ST-3: Funding Requested")
    authorized_by: str
    authorized_at: datetime
    drawdown: str
    drawdown_amount: str = Field(description="exactly the sum of the payment orders (FLOW-1)")
    drawdown_request_date: date = Field(description="FLOW-2: the banking day the drawdown is requested on")
    payment_orders: list[PaymentOrderOut]
    version: int | None = Field(description="the disbursement's new ETag value")


def authorization_data(view: Any) -> dict[str, Any]:
    """An :class:`engine.payments.authorization.AuthorizationView` as its JSON."""
    return Authorization(
        disbursement=view.disbursement_id, workflow_status=view.workflow_status, drawdown_status=view.drawdown_status,
        authorized_by=view.authorized_by, authorized_at=view.authorized_at, drawdown=view.drawdown_id,
        drawdown_amount=money(view.drawdown_amount), drawdown_request_date=view.drawdown_request_date,
        payment_orders=[PaymentOrderOut(
            id=o.id, invoice=o.invoice_id, invoice_number=o.invoice_number, payee=o.payee_company_id,
            amount=money(o.amount), status=o.status, check_number=o.check_number,
            beneficiary_account=o.beneficiary_account_id, beneficiary_bank_name=o.beneficiary_bank_name,
            beneficiary_last4=o.beneficiary_last4) for o in view.orders],
        version=view.version).model_dump(mode="json")
