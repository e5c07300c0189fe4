"""``/v1/companies/{company_id}/...``: the company's bank accounts (BANK-1..BANK-14).

Reads: the list and one account (``/bank-accounts``). Additions, one path per kind since each
takes other fields: ``/deposit-accounts``, ``/funding-accounts``, ``/beneficiary-accounts``. Changes
to one account, as actions on it: ``/bank-accounts/{id}/verification`` (BANK-3), ``/deactivate``
(BANK-4), ``/default`` (BANK-9), ``/approve`` (BANK-14), ``/designate`` (BANK-12).

Numbers travel in the request only (each twice, BANK-7) and never come back: an account is
shown by its last four digits (BANK-8). The MFA code of a sensitive action (MFA-8) travels in
the body as ``mfa_code`` and is handed to the engine, never echoed or logged. Views parse, make
one engine call (:mod:`engine.payments.bank_accounts`, ``account_lifecycle``, ``beneficiaries``)
and render it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from web.api import paging
from web.api.common import Page, PageQuery, actor, created, idempotency_key
from web.api.directory import CHANGE_ERRORS, LIST_ERRORS, READ_ERRORS, CompanyPath
from web.api.models import BEARER

bp = APIBlueprint("bank_accounts", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="bank accounts", description="the accounts money moves through (BANK-1)")],
                  abp_security=BEARER)

Kind = Literal["funding", "deposit", "beneficiary"]


class BankAccount(BaseModel):
    """A bank account (BANK-1, BANK-3, BANK-4); never its full number (BANK-8)."""

    id: str
    kind: Kind
    nickname: str
    verification_status: str = Field(description="BANK-3: Pending Verification, Verified or Verification Failed")
    active: bool = Field(description="BANK-4: false once deactivated, which is final")
    bank_name: str | None = None
    holder_name: str | None = None
    routing_number: str | None = Field(default=None, description="public: it names the bank (BANK-8)")
    last4: str | None = Field(default=None, description="the account number's last four digits, all that is "
                                                        "ever shown of it (BANK-8)")
    deposit_account: str | None = Field(default=None, description="a funding account's deposit account (BANK-6)")
    is_default: bool = Field(default=False, description="the company's default funding account (BANK-9)")
    payee_company: str | None = Field(default=None, description="a beneficiary account's payee (BANK-13)")
    designated: bool = Field(default=False, description="receives the payee's payments (BANK-12)")
    approved: bool = Field(default=False, description="approved by a Beneficiary Approver (BANK-14)")
    sandbox: bool = Field(default=False, description="a sandbox-only account (ROLL-3, ROLL-4)")
    tested_at: datetime | None = Field(default=None, description="ROLL-5 (funding): when its test drawdown "
                                                                 "completed; a production disbursement needs it")


class BankAccountQuery(PageQuery):
    kind: Kind | None = Field(default=None, description="only accounts of this kind")


_DIGITS = r"^[0-9]+$"


class Numbers(BaseModel):
    """The numbers, each typed twice (BANK-7); they are checked by the engine (ABA checksum, BANK-8)
    and never answered back."""

    model_config = ConfigDict(extra="forbid")

    routing_number: StrictStr = Field(max_length=9, pattern=_DIGITS)
    routing_number_confirmation: StrictStr = Field(max_length=9, pattern=_DIGITS)
    account_number: StrictStr = Field(max_length=17, pattern=_DIGITS)
    account_number_confirmation: StrictStr = Field(max_length=17, pattern=_DIGITS)


class MfaCode(BaseModel):
    """The current code of the actor's authenticator app (MFA-1, MFA-8)."""

    model_config = ConfigDict(extra="forbid")

    mfa_code: StrictStr = Field(min_length=1, max_length=12, description="never echoed or logged")


class NewDeposit(Numbers):
    """A deposit account (BANK-1, BANK-5)."""

    nickname: StrictStr = Field(min_length=1, max_length=100)
    bank_name: StrictStr = Field(min_length=1, max_length=200)
    holder_name: StrictStr = Field(min_length=1, max_length=200)
    sandbox: StrictBool = False


class NewFunding(NewDeposit):
    """A funding account (BANK-6, BANK-7, BANK-11, MFA-8): its nickname is unique in the company,
    ignoring case; it maps to an active deposit account of the company."""

    deposit_account: StrictStr = Field(min_length=1, max_length=32)
    mfa_code: StrictStr = Field(min_length=1, max_length=12, description="never echoed or logged")
    bank_id_prefix: StrictStr = Field(default="", max_length=10, pattern=r"^[A-Za-z0-9]*$")


class NewBeneficiary(Numbers):
    """A payee's beneficiary account on this payor's list (BANK-12, MFA-8), added by the payor's
    Payments Admin or the payee's admin."""

    payee_company: StrictStr = Field(min_length=1, max_length=32)
    bank_name: StrictStr = Field(min_length=1, max_length=200)
    holder_name: StrictStr = Field(min_length=1, max_length=200)
    nickname: StrictStr | None = Field(default=None, min_length=1, max_length=100)
    mfa_code: StrictStr = Field(min_length=1, max_length=12, description="never echoed or logged")
    sandbox: StrictBool = False


class Verification(BaseModel):
    """BANK-3: `verified` or `failed` (with a reason) by an Admin; `evidence` (a statement at most
    3 months old showing the last four digits) moves a failed account back to Pending."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["verified", "failed", "evidence"]
    reason: StrictStr | None = Field(default=None, max_length=500)
    statement_date: date | None = None
    last4: StrictStr | None = Field(default=None, min_length=4, max_length=4, pattern=_DIGITS)


class Deactivation(BaseModel):
    """BANK-4; a funding account needs the MFA code (MFA-8)."""

    model_config = ConfigDict(extra="forbid")

    mfa_code: StrictStr | None = Field(default=None, min_length=1, max_length=12,
                                       description="required for a funding account; never echoed or logged")


def account_json(view: Any) -> dict[str, Any]:
    return {"id": view.id, "kind": view.kind, "nickname": view.nickname,
            "verification_status": view.verification_status, "active": view.active,
            "bank_name": view.bank_name, "holder_name": view.holder_name, "routing_number": view.routing_number,
            "last4": view.last4, "deposit_account": view.deposit_account_id, "is_default": view.is_default,
            "payee_company": view.payee_company_id, "designated": view.designated, "approved": view.approved,
            "sandbox": view.sandbox,
            "tested_at": view.tested_at.isoformat() if view.tested_at else None}


def _numbers(body: Numbers) -> Any:
    from engine.payments.bank_accounts import AccountNumbers

    return AccountNumbers(body.routing_number, body.routing_number_confirmation, body.account_number,
                          body.account_number_confirmation)


def _svc() -> Any:
    return current_app.extensions["payroute"]


@bp.get("/companies/<company_id>/bank-accounts", responses={200: Page[BankAccount], **LIST_ERRORS})
def list_bank_accounts(path: CompanyPath, query: BankAccountQuery) -> Response:
    """The company's bank accounts, by kind then nickname (Payments Admin, Disburser or Disbursement
    Contributor): a disbursement names its funding account's `id` (DSB-7)."""
    from engine.payments import bank_accounts

    return paging.page(bank_accounts.list_bank_accounts(_svc(), actor(), path.company_id,
                                                        kind=query.kind, after=paging.after(query),
                                                        limit=query.limit), account_json)


class AccountPath(CompanyPath):
    account_id: str = Field(description="the bank account's id")


@bp.get("/companies/<company_id>/bank-accounts/<account_id>", responses={200: BankAccount, **READ_ERRORS})
def read_bank_account(path: AccountPath) -> Response:
    """One bank account, readable as the list."""
    from engine.payments import bank_accounts

    return jsonify(account_json(bank_accounts.read_bank_account(_svc(), actor(), path.company_id,
                                                                 path.account_id)))


def _created(company_id: str, view: Any) -> Response:
    return created(account_json(view), f"/v1/companies/{company_id}/bank-accounts/{view.id}")


@bp.post("/companies/<company_id>/deposit-accounts", responses={201: BankAccount, **CHANGE_ERRORS})
def add_deposit_account(path: CompanyPath, body: NewDeposit) -> Response:
    """Add a deposit account (Payments Admin, BANK-1, BANK-5); it starts Pending Verification (BANK-3)."""
    from engine.payments import bank_accounts

    view = bank_accounts.add_deposit_account(_svc(), actor(), path.company_id, body.nickname,
                                             bank_name=body.bank_name, holder_name=body.holder_name,
                                             numbers=_numbers(body), sandbox=body.sandbox,
                                             idempotency_key=idempotency_key())
    return _created(path.company_id, view)


@bp.post("/companies/<company_id>/funding-accounts", responses={201: BankAccount, **CHANGE_ERRORS})
def add_funding_account(path: CompanyPath, body: NewFunding) -> Response:
    """Add a funding account (Payments Admin with an MFA code, BANK-6, BANK-7, MFA-8), mapped to an
    active deposit account; it starts Pending Verification and becomes default when it is the first
    to be Verified (BANK-9). The code is checked after everything else (AUTH-4)."""
    from engine.payments import bank_accounts

    view = bank_accounts.add_funding_account(_svc(), actor(), path.company_id, body.nickname,
                                             bank_name=body.bank_name, holder_name=body.holder_name,
                                             numbers=_numbers(body), deposit_account_id=body.deposit_account,
                                             mfa_code=body.mfa_code, bank_id_prefix=body.bank_id_prefix,
                                             sandbox=body.sandbox,
                                             idempotency_key=idempotency_key())
    return _created(path.company_id, view)


@bp.post("/companies/<company_id>/beneficiary-accounts", responses={201: BankAccount, **CHANGE_ERRORS})
def add_beneficiary_account(path: CompanyPath, body: NewBeneficiary) -> Response:
    """Add a payee's beneficiary account (the payor's Payments Admin or the payee's admin, with an
    MFA code, BANK-12, MFA-8); the payee's only active account is designated (BANK-12)."""
    from engine.payments import beneficiaries

    view = beneficiaries.add_beneficiary_account(_svc(), actor(), path.company_id, body.payee_company,
                                                 bank_name=body.bank_name, holder_name=body.holder_name,
                                                 numbers=_numbers(body), mfa_code=body.mfa_code,
                                                 nickname=body.nickname, sandbox=body.sandbox,
                                                 idempotency_key=idempotency_key())
    return _created(path.company_id, view)


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/verification",
         responses={200: BankAccount, **CHANGE_ERRORS})
def verification(path: AccountPath, body: Verification) -> Response:
    """BANK-3: record the verifier's outcome (Payments Admin, standing in for the bank's operations)
    or new evidence for a failed account (the Admin, or the payee's admin for a beneficiary account)."""
    from engine.errors import DomainError
    from engine.payments import account_lifecycle

    key = idempotency_key()
    if body.outcome == "verified":
        view = account_lifecycle.verify(_svc(), actor(), path.company_id, path.account_id, idempotency_key=key)
    elif body.outcome == "failed":
        view = account_lifecycle.fail_verification(_svc(), actor(), path.company_id, path.account_id,
                                                   reason=body.reason or "", idempotency_key=key)
    else:
        if body.statement_date is None or body.last4 is None:
            raise DomainError("invalid_evidence", "evidence needs the statement_date and the last4 it shows",
                              rule="BANK-3")
        view = account_lifecycle.resubmit_evidence(_svc(), actor(), path.company_id, path.account_id,
                                                   statement_date=body.statement_date, last4=body.last4,
                                                   idempotency_key=key)
    return jsonify(account_json(view))


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/deactivate",
         responses={200: BankAccount, **CHANGE_ERRORS})
def deactivate(path: AccountPath, body: Deactivation) -> Response:
    """BANK-4: deactivate for good (a funding account: Payments Admin with an MFA code, never the
    default, BANK-10; a deposit account: none mapped to it, BANK-6)."""
    from engine.payments import account_lifecycle

    return jsonify(account_json(account_lifecycle.deactivate(_svc(), actor(), path.company_id, path.account_id,
                                                             mfa_code=body.mfa_code,
                                                             idempotency_key=idempotency_key())))


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/default", responses={200: BankAccount, **CHANGE_ERRORS})
def make_default(path: AccountPath, body: MfaCode) -> Response:
    """BANK-9, MFA-8: make a Verified, active funding account the company's default (Payments Admin)."""
    from engine.payments import account_lifecycle

    return jsonify(account_json(account_lifecycle.set_default_funding(
        _svc(), actor(), path.company_id, path.account_id, mfa_code=body.mfa_code,
        idempotency_key=idempotency_key())))


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/approve", responses={200: BankAccount, **CHANGE_ERRORS})
def approve(path: AccountPath, body: MfaCode) -> Response:
    """BANK-14, MFA-8: approve a payee's beneficiary account (Payments Beneficiary Approver)."""
    from engine.payments import beneficiaries

    return jsonify(account_json(beneficiaries.approve(_svc(), actor(), path.company_id, path.account_id,
                                                      mfa_code=body.mfa_code, idempotency_key=idempotency_key())))


@bp.post("/companies/<company_id>/bank-accounts/<account_id>/designate",
         responses={200: BankAccount, **CHANGE_ERRORS})
def designate(path: AccountPath, body: MfaCode) -> Response:
    """BANK-12, BANK-13, MFA-8: the one account of its payee that receives payments (the payor's
    Payments Admin or the payee's admin)."""
    from engine.payments import beneficiaries

    return jsonify(account_json(beneficiaries.designate(_svc(), actor(), path.company_id, path.account_id,
                                                        mfa_code=body.mfa_code, idempotency_key=idempotency_key())))
