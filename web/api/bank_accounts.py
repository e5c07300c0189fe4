"""``/v1/companies/{company_id}/bank-accounts``: the company's bank accounts, and adding a funding account.

What a disbursement needs today (DSB-7: it names the funding account it draws from by id), so
a client can find that id and an Admin can add an account. The account numbers, verification,
the deposit mapping and the MFA challenge of BANK-3..BANK-10 arrive with the money milestone,
and these resources grow with them. Views parse, make one engine call
(:mod:`engine.payments.bank_accounts`) and render it.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from web.api import paging
from web.api.common import Page, PageQuery, actor, created, idempotency_key
from web.api.directory import CHANGE_ERRORS, LIST_ERRORS, READ_ERRORS, CompanyPath
from web.api.models import BEARER

bp = APIBlueprint("bank_accounts", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="bank accounts", description="the accounts money moves through (BANK-1)")],
                  abp_security=BEARER)

Kind = Literal["funding", "deposit", "beneficiary"]


class BankAccount(BaseModel):
    """A bank account (BANK-1, BANK-3, BANK-4); never its numbers (BANK-8)."""

    id: str
    kind: Kind
    nickname: str
    verification_status: str = Field(description="BANK-3: Pending Verification, Verified or Verification Failed")
    active: bool = Field(description="BANK-4")


class BankAccountQuery(PageQuery):
    kind: Kind | None = Field(default=None, description="only accounts of this kind")


class NewFundingAccount(BaseModel):
    """A funding account (BANK-7): its nickname is unique in the company, ignoring case."""

    model_config = ConfigDict(extra="forbid")

    nickname: StrictStr = Field(min_length=1, max_length=100)


def account_json(view: Any) -> dict[str, Any]:
    return {"id": view.id, "kind": view.kind, "nickname": view.nickname,
            "verification_status": view.verification_status, "active": view.active}


@bp.get("/companies/<company_id>/bank-accounts", responses={200: Page[BankAccount], **LIST_ERRORS})
def list_bank_accounts(path: CompanyPath, query: BankAccountQuery) -> Response:
    """The company's bank accounts, by kind then nickname (Payments Admin, Disburser or Disbursement
    Contributor): a disbursement names its funding account's `id` (DSB-7)."""
    from engine.payments import bank_accounts

    return paging.page(bank_accounts.list_bank_accounts(current_app.extensions["payroute"], actor(), path.company_id,
                                                        kind=query.kind, after=paging.after(query),
                                                        limit=query.limit), account_json)


class AccountPath(CompanyPath):
    account_id: str = Field(description="the bank account's id")


@bp.get("/companies/<company_id>/bank-accounts/<account_id>", responses={200: BankAccount, **READ_ERRORS})
def read_bank_account(path: AccountPath) -> Response:
    """One bank account, readable as the list."""
    from engine.payments import bank_accounts

    return jsonify(account_json(bank_accounts.read_bank_account(current_app.extensions["payroute"], actor(),
                                                                 path.company_id, path.account_id)))


@bp.post("/companies/<company_id>/bank-accounts", responses={201: BankAccount, **CHANGE_ERRORS})
def add_funding_account(path: CompanyPath, body: NewFundingAccount) -> Response:
    """Add a funding account (Payments Admin, BANK-7); it starts Pending Verification (BANK-3)."""
    from engine.payments import bank_accounts

    view = bank_accounts.add_funding_account(current_app.extensions["payroute"], actor(), path.company_id,
                                             body.nickname, idempotency_key=idempotency_key())
    return created(account_json(view), f"/v1/companies/{path.company_id}/bank-accounts/{view.id}")
