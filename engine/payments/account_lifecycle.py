"""What happens to a bank account after it is added: verification (BANK-3), the default funding
account (BANK-9, BANK-10) and deactivation (BANK-4).

Who verifies: in the product, the banking partner's operations team checks the evidence (a
statement showing bank name, account name and last four digits) and moves the account to
Verified or Verification Failed. payroute has no operator identity (ROLE-12: only people act),
so verification is an Admin action of the account's company, audited like every other
change; a deployment that wants a separate operator gives that person the Payments Admin role
in the company. New evidence (after a failure) may also come from the payee's own admin for a
beneficiary account, since the payee holds the statement.

Each command is one transaction with its audit entry; the sensitive ones (MFA-8: setting the
default funding account, deactivating a funding account) check the MFA code last (AUTH-4).
"""

from __future__ import annotations

import calendar
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.payments import verification
from engine.payments.bank_accounts import (
    BENEFICIARY,
    DEPOSIT,
    FUNDING,
    BankAccountView,
    account_view,
    load_account,
    mfa,
    require_active,
    require_admin,
    summary,
    write_audit,
)
from engine.payments.beneficiaries import account_manager_standing, beneficiary_actor, designate_only_active, \
    is_payee_admin
from engine.security.permissions import PAYMENTS_ADMIN, standing
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.store.tables import BankAccount, Company
from engine.text import text_problem

#: BANK-3: a statement is evidence for at most three months
EVIDENCE_MONTHS = 3


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _today(company: Company, svc: Services) -> date:
    try:
        zone = ZoneInfo(company.time_zone or "America/New_York")
    except Exception:  # an unusable stored zone: the default (GEN-6)
        zone = ZoneInfo("America/New_York")
    return svc.now().astimezone(zone).date()


def _default_of(s: Session, company_id: str) -> BankAccount | None:
    return s.scalars(select(BankAccount).where(BankAccount.company_id == company_id,
                                               BankAccount.is_default.is_(True)).with_for_update()).first()


def _move(account: BankAccount, event: str) -> str:
    new = verification.next_status(account.verification_status, event)
    if new is None:
        raise DomainError("verification_not_allowed", verification.refusal(account.verification_status, event),
                          rule="BANK-3")
    return new


# ---------------------------------------------------------------- verification


def _for_verification(s: Session, company_id: str, actor: str, account_id: str) -> BankAccount:
    """The active account an Admin verifies or fails, locked after the company (the bank-account
    commands' lock order)."""
    get_company(s, company_id, lock=True)
    require_admin(s, company_id, actor, action="verifying a bank account", target=("bank_account", account_id))
    account = load_account(s, company_id, account_id)
    require_active(account)
    return account


@idempotent("verify_bank_account", standing=standing(PAYMENTS_ADMIN, rule="BANK-3", action="verifying bank accounts"))
def verify(svc: Services, actor: str, company_id: str, account_id: str) -> BankAccountView:
    """BANK-3: Pending Verification → Verified (final), by an Admin standing in for the bank's
    operations (see the module). BANK-9: the first production funding account of the company to
    become Verified becomes its default automatically."""
    with svc.tx() as s:
        account = _for_verification(s, company_id, actor, account_id)
        before = summary(account)
        account.verification_status = _move(account, "verify")
        rules: tuple[str, ...] = ("BANK-3",)
        if account.kind == FUNDING and not account.sandbox and _default_of(s, company_id) is None:
            account.is_default = True
            rules = ("BANK-3", "BANK-9")
        s.flush()
        write_audit(s, svc, account, actor, "bank_account_verified", before=before, rules=rules)
        return account_view(account)


@idempotent("fail_bank_account_verification", standing=standing(
    PAYMENTS_ADMIN, rule="BANK-3", action="verifying bank accounts"))
def fail_verification(svc: Services, actor: str, company_id: str, account_id: str, *,
                      reason: str) -> BankAccountView:
    """BANK-3: Pending Verification → Verification Failed, with the reason the payee or payor
    reads to fix their evidence (for example "the statement is older than three months")."""
    problem = text_problem(reason.strip() if isinstance(reason, str) else reason, limit=500)
    if problem is not None:
        raise DomainError("reason_required", f"reason: {problem}", rule="BANK-3")
    with svc.tx() as s:
        account = _for_verification(s, company_id, actor, account_id)
        before = summary(account)
        account.verification_status = _move(account, "fail")
        s.flush()
        write_audit(s, svc, account, actor, "bank_account_verification_failed", before=before, rules=("BANK-3",),
                    reason=reason.strip())
        return account_view(account)


def _evidence_actor(s: Session, company_id: str, actor: str, account: BankAccount) -> None:
    """A payor Admin, or for a beneficiary account the payee's own admin (ROLE-6)."""
    if account.kind == BENEFICIARY and account.payee_company_id is not None \
            and is_payee_admin(s, account.payee_company_id, actor):
        return
    require_admin(s, company_id, actor, action="sending verification evidence", target=("bank_account", account.id))


@idempotent("resubmit_bank_account_evidence", standing=account_manager_standing)
def resubmit_evidence(svc: Services, actor: str, company_id: str, account_id: str, *, statement_date: date,
                      last4: str) -> BankAccountView:
    """BANK-3: new evidence moves Verification Failed back to Pending Verification.

    The evidence is a bank statement at most three months old (in the company's time zone,
    GEN-6) showing the bank name, the account name and the account's last four digits; the
    engine checks what it can (the date, the last four) and records the statement date in the
    audit entry; the document itself goes to the verifier outside payroute."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        account = load_account(s, company_id, account_id)
        _evidence_actor(s, company_id, actor, account)
        require_active(account)
        if not isinstance(statement_date, date):
            raise DomainError("invalid_evidence", "statement_date: the statement's date", rule="BANK-3")
        today = _today(company, svc)
        if statement_date > today or statement_date < _months_before(today, EVIDENCE_MONTHS):
            raise DomainError("invalid_evidence", f"the statement must be at most {EVIDENCE_MONTHS} months old "
                              "(and not dated in the future)", rule="BANK-3")
        if not isinstance(last4, str) or account.last4 is None or last4 != account.last4:
            raise DomainError("invalid_evidence", "the statement's last four digits are not this account's",
                              rule="BANK-3")
        before = summary(account)
        account.verification_status = _move(account, "resubmit")
        s.flush()
        write_audit(s, svc, account, actor, "bank_account_evidence_resubmitted", before=before, rules=("BANK-3",),
                    details={"statement_date": statement_date.isoformat()})
        return account_view(account)


# ---------------------------------------------------------------- the default funding account


@idempotent("set_default_funding_account", standing=standing(
    PAYMENTS_ADMIN, rule="ROLE-1", action="setting the default funding account"))
def set_default_funding(svc: Services, actor: str, company_id: str, account_id: str, *,
                        mfa_code: str) -> BankAccountView:
    """BANK-9, MFA-8: an Admin makes a Verified, active production funding account the company's
    default (the previous one stops being default, in the same transaction). Already default:
    nothing changes and no code is asked for."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require_admin(s, company_id, actor, action="setting the default funding account",
                      target=("bank_account", account_id))
        account = load_account(s, company_id, account_id)
        if account.kind != FUNDING:
            raise DomainError("invalid_funding_account", f"a {account.kind} account is not a funding account",
                              rule="BANK-9")
        require_active(account)
        if account.verification_status != verification.VERIFIED:
            raise DomainError("bank_account_not_verified", "only a Verified account can be the default",
                              rule="BANK-9")
        if account.sandbox:
            raise DomainError("invalid_funding_account", "a sandbox account is never the default: sandbox and "
                              "production never mix", rule="ROLL-4")
        if account.is_default:
            return account_view(account)
        mfa(s, svc, company, actor, mfa_code, action="set_default_funding_account", account_id=account.id)
        previous = _default_of(s, company_id)
        if previous is not None:
            old = summary(previous)
            previous.is_default = False
            s.flush()  # the one-default index is checked row by row
            write_audit(s, svc, previous, actor, "funding_account_default_cleared", before=old, rules=("BANK-9",))
        before = summary(account)
        account.is_default = True
        s.flush()
        write_audit(s, svc, account, actor, "funding_account_made_default", before=before,
                    rules=("BANK-9", "MFA-8"))
        return account_view(account)


# ---------------------------------------------------------------- deactivation


@idempotent("deactivate_bank_account", standing=account_manager_standing)
def deactivate(svc: Services, actor: str, company_id: str, account_id: str, *,
               mfa_code: str | None = None) -> BankAccountView:
    """BANK-4: deactivation is final (numbers and owner are never edited: add a new account
    instead). A funding account needs an Admin and an MFA challenge (MFA-8) and cannot be the
    default (BANK-10); a deposit account needs an Admin and no active funding account mapped to
    it (BANK-6); a beneficiary account, the payor's Admin or the payee's admin, and when one active
    account of the payee remains, that one is designated (BANK-12).
    An authorized disbursement keeps the accounts it snapshotted (BANK-15)."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        account = load_account(s, company_id, account_id)
        if account.kind == BENEFICIARY:
            challenged = beneficiary_actor(s, company, account.payee_company_id, actor,
                                                         action="deactivating a beneficiary account")
        else:
            require_admin(s, company_id, actor, action=f"deactivating a {account.kind} account",
                          target=("bank_account", account.id))
            challenged = company
        require_active(account)
        if account.kind == FUNDING and account.is_default:
            raise DomainError("default_funding_account", "make another funding account the default first",
                              rule="BANK-10")
        if account.kind == DEPOSIT:
            mapped = s.scalar(select(BankAccount.id).where(BankAccount.deposit_account_id == account.id,
                                                           BankAccount.active.is_(True)))
            if mapped is not None:
                raise DomainError("deposit_account_in_use", "an active funding account maps to this deposit "
                                  "account: deactivate it first", rule="BANK-6")
        if account.kind == FUNDING:
            mfa(s, svc, challenged, actor, mfa_code, action="deactivate_funding_account", account_id=account.id)
        before = summary(account)
        account.active = False
        account.designated = False
        account.deactivated_at = svc.now()
        s.flush()
        write_audit(s, svc, account, actor, "bank_account_deactivated", before=before, rules=("BANK-4",))
        if account.kind == BENEFICIARY and account.payee_company_id is not None:
            designate_only_active(s, svc, company_id, account.payee_company_id, actor)
        return account_view(account)
