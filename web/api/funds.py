"""The money after authorization over HTTP: where it stands, re-issuing a failed payment, test drawdowns.

``GET …/disbursements/{id}/funds`` shows the drawdown and every payment order
(ST-3..ST-6); ``POST …/disbursements/{id}/payments/{invoice}/reissue`` re-issues
a Failed payment (FLOW-8, MFA-8; ``Idempotency-Key`` required, as for authorize:
a retried money command must not send a second order); ``POST
…/bank-accounts/{id}/test-drawdowns`` requests a funding account's test drawdown
(ROLL-5) and ``GET`` lists them. The bank itself is never called from a request:
the worker sends what these commands queue.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from web.api.authorization_models import PaymentOrderOut
from web.api.common import actor, created, idempotency_key, required_idempotency_key
from web.api.directory import CHANGE_ERRORS, READ_ERRORS, CompanyPath
from web.api.disbursement_models import money
from web.api.disbursements import WRITE_ERRORS, DisbursementPath
from web.api.models import BEARER

bp = APIBlueprint("funds", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="funds", description="the drawdown and the payments after authorization "
                                                          "(FLOW-1..FLOW-9)")],
                  abp_security=BEARER)

class Drawdown(BaseModel):
    """FLOW-1: the one drawdown, from the funding account into its deposit account, for the aggregate."""

    id: str
    status: Literal["Draft", "Funding Requested", "Funding Completed", "Funding Failed"] = Field(description="ST-3")
    amount: str
    funding_account: str
    deposit_account: str
    request_date: date = Field(description="FLOW-2: the banking day it is asked of the bank (16:00 New York cut-off)")
    reason: str | None = Field(description="FLOW-3: the bank's reason, when it failed")
    settled_at: datetime | None = Field(description="when the bank's final answer was applied")


class PaymentOrder(PaymentOrderOut):
    """One payment order (FLOW-4) and how it went at the bank (ST-6)."""

    status: Literal["Not Initiated", "Requested", "Completed", "Failed"] = Field(description="ST-5, ST-6")
    reason: str | None = Field(description="the bank's reason, when it failed (FLOW-5)")
    reissue_of: str | None = Field(description="FLOW-8: the failed order this one re-issues")
    requested_at: datetime | None = Field(description="FLOW-4: when it was sent")
    settled_at: datetime | None = Field(description="when the bank's final answer was applied")


class Funds(BaseModel):
    disbursement: str
    stage: str = Field(description="the lifecycle in one word: approved, authorized, paying, paid, funding_failed, "
                                   "payment_failed, ...")
    sandbox: bool = Field(description="ROLL-4: a test; no money moves")
    total: str
    drawdown: Drawdown | None = Field(description="null before authorization")
    payment_orders: list[PaymentOrder] = Field(description="every order, failed ones and re-issues included")


class ReissuePath(DisbursementPath):
    invoice_id: str = Field(description="the invoice whose Failed payment is re-issued")


class ReissueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mfa_code: StrictStr = Field(min_length=1, max_length=12, description="the Admin's current TOTP code (MFA-8), "
                                                                         "checked last; never echoed or logged")


class AccountPath(CompanyPath):
    account_id: str = Field(description="the funding account's id")


class TestDrawdownBody(BaseModel):
    """Nothing to say: the amount is fixed ($1.00) and the accounts are the funding account's."""

    model_config = ConfigDict(extra="forbid")


class TestDrawdown(BaseModel):
    """ROLL-5: a funding account's test drawdown."""

    id: str
    funding_account: str
    deposit_account: str
    amount: str
    status: Literal["Funding Requested", "Funding Completed", "Funding Failed"]
    reason: str | None
    request_date: date
    requested_by: str
    created_at: datetime
    settled_at: datetime | None


class TestDrawdownList(BaseModel):
    items: list[TestDrawdown]


def _svc() -> Any:
    return current_app.extensions["payroute"]


def _order(o: Any) -> dict[str, Any]:
    return PaymentOrder(id=o.id, invoice=o.invoice_id, invoice_number=o.invoice_number, payee=o.payee_company_id,
                        amount=money(o.amount), status=o.status, reason=o.reason, check_number=o.check_number,
                        beneficiary_account=o.beneficiary_account_id, beneficiary_bank_name=o.beneficiary_bank_name,
                        beneficiary_last4=o.beneficiary_last4, reissue_of=o.reissue_of, requested_at=o.requested_at,
                        settled_at=o.settled_at).model_dump(mode="json")


def funds_data(view: Any) -> dict[str, Any]:
    dd = view.drawdown
    drawdown = None if dd is None else Drawdown(
        id=dd.id, status=dd.status, amount=money(dd.amount), funding_account=dd.funding_account_id,
        deposit_account=dd.deposit_account_id, request_date=dd.request_date, reason=dd.reason,
        settled_at=dd.settled_at).model_dump(mode="json")
    return {"disbursement": view.disbursement_id, "stage": view.stage, "sandbox": view.sandbox,
            "total": money(view.total), "drawdown": drawdown, "payment_orders": [_order(o) for o in view.orders]}


def _test(view: Any) -> dict[str, Any]:
    return TestDrawdown(id=view.id, funding_account=view.funding_account_id, deposit_account=view.deposit_account_id,
                        amount=money(view.amount), status=view.status, reason=view.reason,
                        request_date=view.request_date, requested_by=view.requested_by, created_at=view.created_at,
                        settled_at=view.settled_at).model_dump(mode="json")


@bp.get("/companies/<company_id>/disbursements/<disbursement_id>/funds",
        responses={200: Funds, **READ_ERRORS})
def read_funds(path: DisbursementPath) -> Response:
    """Where the disbursement's money stands: the drawdown (ST-3) and every payment order (ST-5), each
    payee's account by its last four digits; readable by whoever may see the disbursement."""
    from engine.payments.funds_queries import funds_view

    return jsonify(funds_data(funds_view(_svc(), actor(), path.company_id, path.disbursement_id)))


@bp.post("/companies/<company_id>/disbursements/<disbursement_id>/payments/<invoice_id>/reissue",
         responses={200: PaymentOrder, **WRITE_ERRORS})
def reissue(path: ReissuePath, body: ReissueBody) -> Response:
    """FLOW-8, MFA-8: a Payments Admin re-issues a Failed payment as a new order to the payee's current
    designated, Verified account; the failed order stays Failed. Requires `Idempotency-Key`."""
    from engine.payments.reissue import reissue_payment

    key = required_idempotency_key()
    return jsonify(_order(reissue_payment(_svc(), actor(), path.company_id, path.disbursement_id, path.invoice_id,
                                          mfa_code=body.mfa_code, idempotency_key=key)))


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/test-drawdowns",
         responses={201: TestDrawdown, **CHANGE_ERRORS})
def request_test_drawdown(path: AccountPath, body: TestDrawdownBody) -> Response:
    """ROLL-5: a Payments Admin asks the bank for a $1.00 test drawdown of a Verified production funding
    account; once the bank completes it, the account may fund disbursements. The body is `{}`."""
    from engine.payments import test_drawdowns

    view = test_drawdowns.request_test_drawdown(_svc(), actor(), path.company_id, path.account_id,
                                                idempotency_key=idempotency_key())
    return created(_test(view), f"/v1/companies/{path.company_id}/bank-accounts/{path.account_id}/test-drawdowns")


@bp.get("/companies/<company_id>/bank-accounts/<account_id>/test-drawdowns",
        responses={200: TestDrawdownList, **READ_ERRORS})
def list_test_drawdowns(path: AccountPath) -> Response:
    """The funding account's test drawdowns, newest first (Payments Admin)."""
    from engine.payments import test_drawdowns

    return jsonify({"items": [_test(v) for v in test_drawdowns.list_test_drawdowns(
        _svc(), actor(), path.company_id, path.account_id)]})

