"""Bank accounts (BANK-1..BANK-11): deposit and funding accounts, their views and the shared internals.

A payor company holds deposit accounts (its transaction accounts, BANK-1, at least one
before any funding account, BANK-5) and funding accounts ("pay from", each mapped to one
active deposit account of the company, BANK-6). Beneficiary accounts (the payees' "pay to"
accounts) live in :mod:`engine.payments.beneficiaries`; verification, deactivation and the
default account in :mod:`engine.payments.account_lifecycle`. This module holds what they share:
the view, the typed-twice numbers, sealing, loading an account in its company and its audit.

Numbers: the routing number is public (it names a bank and is printed on every check) and
is kept and shown in clear; the account number is sealed with the secret box for a context
naming the account (so a sealed value copied to another row does not open there) and shown
only as its last four digits — in views, audit entries, idempotency records, errors and
emails (BANK-8).

Commands take ``(svc, actor, company_id, ...)``, check the actor (ROLE-1), run one
transaction with its audit entry, and return the frozen :class:`BankAccountView`. The
sensitive ones (MFA-8) take ``mfa_code`` and run the challenge after every other check
(AUTH-4 style), so a request refused for another reason neither spends nor counts the code.
:func:`usable_funding_account` and :func:`take_check_number` are internal helpers inside
another command's transaction (they check no actor).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.payments import account_numbers, verification
from engine.security import enrollment, keys, secret_box
from engine.security.permissions import BENEFICIARY_APPROVER, PAYMENTS_ADMIN, membership, require, standing
from engine.service import audit
from engine.service.directory import PAYMENTS_READERS, ListPage, get_company
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.store.db import aware
from engine.store.tables import BankAccount, Company, new_id
from engine.text import text_problem

FUNDING = "funding"
DEPOSIT = "deposit"
BENEFICIARY = "beneficiary"
KINDS = (FUNDING, DEPOSIT, BENEFICIARY)

MAX_NICKNAME = 100
MAX_NAME = 200
MAX_PREFIX = 10

#: who reads the company's accounts: who works with disbursements, and the Beneficiary Approver
READERS = (*PAYMENTS_READERS, BENEFICIARY_APPROVER)


@dataclass(frozen=True)
class BankAccountView:
    """A bank account as the payment settings page shows it (BANK-1, BANK-3, BANK-4, BANK-9,
    BANK-12, BANK-14, ROLL-3): never its full number, only ``last4`` (BANK-8). The routing number
    is shown: it is public. Accounts from before the money milestone have no numbers (None)."""

    id: str
    kind: str
    nickname: str
    verification_status: str
    active: bool
    bank_name: str | None = None
    holder_name: str | None = None
    routing_number: str | None = None
    last4: str | None = None
    deposit_account_id: str | None = None
    is_default: bool = False
    payee_company_id: str | None = None
    designated: bool = False
    approved: bool = False
    approved_by: str | None = None
    sandbox: bool = False
    #: ROLL-5 (funding): when its test drawdown completed; None until then
    tested_at: datetime | None = None
    #: a beneficiary account's payee company, by name (the lists read it; other views may leave it None)
    payee_name: str | None = None


def account_view(account: BankAccount, payee_name: str | None = None) -> BankAccountView:
    return BankAccountView(
        account.id, account.kind, account.nickname, account.verification_status, bool(account.active),
        bank_name=account.bank_name, holder_name=account.holder_name, routing_number=account.routing_number,
        last4=account.last4, deposit_account_id=account.deposit_account_id, is_default=bool(account.is_default),
        payee_company_id=account.payee_company_id, designated=bool(account.designated),
        approved=account.approved_at is not None, approved_by=account.approved_by, sandbox=bool(account.sandbox),
        tested_at=aware(account.tested_at), payee_name=payee_name)


def _payee_names(s: Session, accounts: list[BankAccount]) -> dict[str, str]:
    """Payee company id → name for the beneficiary accounts among ``accounts``, in one read."""
    ids = {a.payee_company_id for a in accounts if a.payee_company_id}
    if not ids:
        return {}
    return {cid: name for cid, name in s.execute(select(Company.id, Company.name).where(Company.id.in_(ids)))}


# ---------------------------------------------------------------- what a user types


@dataclass(frozen=True)
class AccountNumbers:
    """The routing and account numbers as a user types them, each twice (BANK-7).

    ``repr`` shows neither (a traceback or a log line must not carry the number, BANK-8), and
    the idempotency fingerprint of a request holding them is a keyed MAC, not a plain hash:
    an account number has too few digits for an unkeyed SHA-256 of it to stay secret."""

    routing_number: str = field(repr=False)
    routing_number_confirmation: str = field(repr=False)
    account_number: str = field(repr=False)
    account_number_confirmation: str = field(repr=False)

    def idempotency_form(self) -> str:
        """What :mod:`engine.service.idempotency` hashes instead of the numbers (GEN-8)."""
        raw = json.dumps([self.routing_number, self.routing_number_confirmation, self.account_number,
                          self.account_number_confirmation], default=str)
        key = keys.load(secret_box.SECRET_KEY).derive("idempotency fingerprint of account numbers")
        return hmac.new(key, raw.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def checked_numbers(numbers: object) -> tuple[str, str]:
    """BANK-7, BANK-8: (routing, account) once both were entered twice the same and are valid;
    refused with the field at fault, never a number."""
    if not isinstance(numbers, AccountNumbers):
        raise DomainError("invalid_bank_account", "the account and routing numbers are required", rule="BANK-7",
                          field="account_number")
    problems = [*account_numbers.entered_twice_problems(numbers.routing_number, numbers.routing_number_confirmation,
                                                       field="routing_number", check="routing"),
                *account_numbers.entered_twice_problems(numbers.account_number, numbers.account_number_confirmation,
                                                       field="account_number", check="account")]
    if problems:
        first = problems[0]
        rule = "BANK-7" if first.field.endswith("_confirmation") else "BANK-8"
        raise DomainError("invalid_bank_account", f"{first.field}: {first.message}", rule=rule, field=first.field)
    return numbers.routing_number, numbers.account_number


def checked_text(value: object, field_name: str, *, limit: int = MAX_NAME, rule: str = "BANK-3") -> str:
    """A required one-line name (bank name, account holder, nickname), stripped."""
    if not isinstance(value, str) or not value.strip():
        raise DomainError("invalid_bank_account", f"{field_name}: required", rule=rule, field=field_name)
    problem = text_problem(value.strip(), limit=limit)
    if problem is not None:
        raise DomainError("invalid_bank_account", f"{field_name}: at most {limit} printable characters: {problem}",
                          rule=rule, field=field_name)
    return value.strip()


def checked_nickname(value: object, *, kind: str = FUNDING) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError("invalid_bank_account", f"a {kind} account needs a nickname", rule="BANK-7",
                          field="nickname")
    name = value.strip() if isinstance(value, str) else value
    problem = text_problem(name, limit=MAX_NICKNAME)
    if problem is not None:
        raise DomainError("invalid_bank_account",
                          f"a {kind} account nickname has at most {MAX_NICKNAME} printable characters: {problem}",
                          rule="BANK-7", field="nickname")
    assert isinstance(name, str)
    return name


# ---------------------------------------------------------------- sealing


def number_context(account_id: str) -> str:
    """The secret box context of an account's number: the value opens only in its own row."""
    return f"bank_account:{account_id}:number"


def open_number(account: BankAccount) -> str:
    """The full account number, for the bank adapter's instructions only (never a view, BANK-8)."""
    if account.number_sealed is None:
        raise DomainError("invalid_bank_account", "the account has no account number on file", rule="BANK-8")
    return secret_box.from_environment().open(account.number_sealed, context=number_context(account.id))


def new_account(now: datetime, company_id: str, kind: str, *, nickname: str, bank_name: str, holder_name: str,
                routing: str, number: str, sandbox: bool, account_id: str | None = None,
                **columns: Any) -> BankAccount:
    """A Pending Verification (BANK-3), active row with its number sealed; the caller adds it."""
    account_id = account_id or new_id()
    box = secret_box.from_environment()
    return BankAccount(id=account_id, company_id=company_id, kind=kind, nickname=nickname,
                       nickname_key=nickname.casefold(), verification_status=verification.PENDING, active=True,
                       created_at=now, bank_name=bank_name, holder_name=holder_name, routing_number=routing,
                       number_sealed=box.seal(number, context=number_context(account_id)), key_id=box.key_id,
                       last4=account_numbers.last_four(number), sandbox=bool(sandbox), is_default=False,
                       designated=False, **columns)


# ---------------------------------------------------------------- loading, checking, auditing


def summary(account: BankAccount) -> dict[str, Any]:
    """What an audit entry says about an account: never the number beyond its last four (BANK-8)."""
    out: dict[str, Any] = {"kind": account.kind, "nickname": account.nickname,
                           "verification_status": account.verification_status, "active": bool(account.active)}
    for name in ("bank_name", "routing_number", "last4", "deposit_account_id", "payee_company_id"):
        if getattr(account, name) is not None:
            out[name] = getattr(account, name)
    for flag in ("is_default", "designated", "sandbox"):
        if getattr(account, flag):
            out[flag] = True
    if account.approved_at is not None:
        out["approved_by"] = account.approved_by
    return out


def write_audit(s: Session, svc: Services, account: BankAccount, actor: str, action: str, *,
                before: dict[str, Any] | None, rules: tuple[str, ...], reason: str | None = None,
                details: dict[str, Any] | None = None) -> None:
    """One entry on the account's company chain (the caller holds the company's lock); a sandbox
    account's entries say so (ROLL-4)."""
    audit.append(s, chain=audit.company_chain(account.company_id), company_id=account.company_id, at=svc.now(),
                 actor_id=actor, action=action, object_type="bank_account", object_id=account.id,
                 before=before, after=summary(account), reason=reason, rules=rules, details=details,
                 sandbox=bool(account.sandbox))


def require_admin(s: Session, company_id: str, actor: str, *, action: str,
                  target: tuple[str, str] | None = None) -> None:
    """ROLE-1: a Payments Admin of the company; a stranger or a deactivated member finds nothing
    (GEN-5); a member without the role is refused, audited (AUD-4: a money action)."""
    member = membership(s, company_id, actor) if isinstance(actor, str) else None
    if member is None or not member.active:
        raise DomainError("not_found", "no such company", rule="GEN-5")
    require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action=action, audited=True, target=target)


def load_account(s: Session, company_id: str, account_id: object, *, lock: bool = True) -> BankAccount:
    """The company's account (under its row lock), or ``not_found``: another company's account is as
    unknown as a missing one (GEN-5)."""
    if not isinstance(account_id, str) or not account_id or len(account_id) > 32:
        raise DomainError("not_found", "no such bank account", rule="GEN-5")
    q = select(BankAccount).where(BankAccount.id == account_id)
    account = s.scalars(q.with_for_update() if lock else q).first()
    if account is None or account.company_id != company_id:
        raise DomainError("not_found", "no such bank account", rule="GEN-5")
    return account


def require_active(account: BankAccount) -> None:
    if not account.active:
        raise DomainError("bank_account_deactivated", "the bank account is deactivated, which is final",
                          rule="BANK-4")


def mfa(s: Session, svc: Services, company: Company, actor: str, code: object, *, action: str,
        account_id: str) -> None:
    """MFA-8: the challenge, called by a command after its every other check (AUTH-4)."""
    enrollment.challenge(s, svc, company, actor, code, action=action, object_type="bank_account",
                         object_id=account_id)


# ---------------------------------------------------------------- deposit and funding accounts


@idempotent("add_deposit_account", standing=standing(
    PAYMENTS_ADMIN, rule="ROLE-1", action="adding deposit accounts"))
def add_deposit_account(svc: Services, actor: str, company_id: str, nickname: str, *, bank_name: str,
                        holder_name: str, numbers: AccountNumbers, sandbox: bool = False) -> BankAccountView:
    """BANK-1, BANK-5: an Admin records a deposit account (the transaction account opened with the
    banking partner); a company may have several. It starts Pending Verification (BANK-3). Not an
    MFA-8 action (mapping one to a funding account is, and happens when the funding account is
    added)."""
    name = checked_nickname(nickname, kind=DEPOSIT)
    bank = checked_text(bank_name, "bank_name")
    holder = checked_text(holder_name, "holder_name")
    routing, number = checked_numbers(numbers)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require_admin(s, company_id, actor, action="adding a deposit account")
        account = new_account(svc.now(), company_id, DEPOSIT, nickname=name, bank_name=bank, holder_name=holder,
                              routing=routing, number=number, sandbox=sandbox)
        s.add(account)
        s.flush()
        write_audit(s, svc, account, actor, "deposit_account_added", before=None, rules=("BANK-1", "BANK-5", "BANK-8"))
        return account_view(account)


def _deposit_for(s: Session, company_id: str, deposit_account_id: object, *, sandbox: bool) -> BankAccount:
    """BANK-5, BANK-6, ROLL-4: the active deposit account of this company a funding account maps to."""
    if deposit_account_id is None or deposit_account_id == "":
        anyone = s.scalar(select(BankAccount.id).where(BankAccount.company_id == company_id,
                                                       BankAccount.kind == DEPOSIT, BankAccount.active.is_(True)))
        if anyone is None:
            raise DomainError("deposit_account_required", "add a deposit account first: a funding account is "
                              "mapped to one", rule="BANK-5")
        raise DomainError("invalid_deposit_account", "deposit_account: name the deposit account this funding "
                          "account maps to", rule="BANK-6", field="deposit_account")
    try:
        deposit = load_account(s, company_id, deposit_account_id, lock=True)
    except DomainError:
        raise DomainError("not_found", "deposit_account: no such bank account", rule="GEN-5") from None
    if deposit.kind != DEPOSIT:
        raise DomainError("invalid_deposit_account", f"deposit_account: a {deposit.kind} account is not a "
                          "deposit account", rule="BANK-6", field="deposit_account")
    if not deposit.active:
        raise DomainError("invalid_deposit_account", "deposit_account: the deposit account is deactivated",
                          rule="BANK-6", field="deposit_account")
    if bool(deposit.sandbox) != bool(sandbox):
        raise DomainError("invalid_deposit_account", "deposit_account: sandbox and production accounts never mix",
                          rule="ROLL-4", field="deposit_account")
    return deposit


def _check_prefix(prefix: object) -> str:
    if prefix is None:
        return ""
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX or not (prefix == "" or prefix.isascii()
                                                                        and prefix.isalnum()):
        raise DomainError("invalid_bank_account", f"bank_id_prefix: at most {MAX_PREFIX} letters or digits",
                          rule="BANK-11", field="bank_id_prefix")
    return prefix


def _check_first_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**12:
        raise DomainError("invalid_bank_account", "first_check_number: a whole number from 1",
                          rule="BANK-11", field="first_check_number")
    return value


@idempotent("add_funding_account", standing=standing(
    PAYMENTS_ADMIN, rule="ROLE-1", action="adding funding accounts"))
def add_funding_account(svc: Services, actor: str, company_id: str, nickname: str, *, bank_name: str,
                        holder_name: str, numbers: AccountNumbers, deposit_account_id: str,
                        mfa_code: str, bank_id_prefix: str = "", first_check_number: int = 1,
                        sandbox: bool = False) -> BankAccountView:
    """BANK-5..BANK-8, BANK-11, MFA-8: an Admin adds a funding account.

    The nickname is unique in the company ignoring case; the routing and account numbers
    are entered twice and match, the routing number passes the ABA checksum; the account
    maps to an active deposit account of the same company (and mode, ROLL-4). The MFA code
    is checked last (AUTH-4): any other refusal leaves it unspent and uncounted. The account
    starts Pending Verification and not default: it becomes default when it is the first to
    be Verified (BANK-9, :mod:`engine.payments.account_lifecycle`).
    """
    name = checked_nickname(nickname)
    bank = checked_text(bank_name, "bank_name")
    holder = checked_text(holder_name, "holder_name")
    routing, number = checked_numbers(numbers)
    prefix = _check_prefix(bank_id_prefix)
    first = _check_first_number(first_check_number)
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)  # serialises adds: the nickname check cannot race
        require_admin(s, company_id, actor, action="adding a funding account")
        taken = s.scalar(select(BankAccount.id).where(BankAccount.company_id == company_id,
                                                      BankAccount.kind == FUNDING,
                                                      BankAccount.nickname_key == name.casefold()))
        if taken is not None:
            raise DomainError("duplicate_nickname", f"a funding account named `{name}` exists in this company",
                              rule="BANK-7")
        deposit = _deposit_for(s, company_id, deposit_account_id, sandbox=sandbox)
        account_id = new_id()
        mfa(s, svc, company, actor, mfa_code, action="add_funding_account", account_id=account_id)
        account = new_account(svc.now(), company_id, FUNDING, nickname=name, bank_name=bank, holder_name=holder,
                              routing=routing, number=number, sandbox=sandbox, account_id=account_id,
                              deposit_account_id=deposit.id, bank_id_prefix=prefix, next_check_number=first)
        s.add(account)
        s.flush()
        write_audit(s, svc, account, actor, "funding_account_added", before=None,
                    rules=("BANK-1", "BANK-6", "BANK-7", "BANK-8", "MFA-8"))
        return account_view(account)


# ---------------------------------------------------------------- queries


def list_bank_accounts(svc: Services, actor: str, company_id: str, *, kind: str | None = None,
                       after: str | None = None, limit: int = 50) -> ListPage[BankAccountView]:
    """The company's bank accounts (BANK-1) by kind, then nickname, then id, so that a client can
    pick the funding account a disbursement draws from (DSB-7): readable by who works with
    disbursements (Payments Admin, Disburser, Disbursement Contributor, ROLE-1..ROLE-4) and by the
    Beneficiary Approver (ROLE-5, who approves the beneficiary accounts listed here); a stranger to
    the company is ``not_found`` (GEN-5). ``kind`` narrows to one of :data:`KINDS`."""
    from engine.service.directory import after_key, keyset, page_limit, paged, require_reader

    limit = page_limit(limit)
    if kind is not None and kind not in KINDS:
        raise DomainError("invalid_value", f"kind: one of {', '.join(KINDS)}", rule="BANK-1")
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, READERS, rule="ROLE-2", action="viewing bank accounts")
        order = (BankAccount.kind, BankAccount.nickname_key, BankAccount.id)
        start = after_key(s, after, lambda aid: s.execute(select(*order).where(
            BankAccount.company_id == company_id, BankAccount.id == aid)).first())
        q = select(BankAccount).where(BankAccount.company_id == company_id)
        if kind is not None:
            q = q.where(BankAccount.kind == kind)
        if start is not None:
            q = q.where(keyset(order, tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(*order).limit(limit + 1))), limit, lambda a: a.id)
        payees = _payee_names(s, rows)
        return ListPage(tuple(account_view(a, payees.get(a.payee_company_id or "")) for a in rows), next_after)


def read_bank_account(svc: Services, actor: str, company_id: str, account_id: str) -> BankAccountView:
    """One of the company's bank accounts, readable as :func:`list_bank_accounts`; another company's
    account is as unknown as a missing one (GEN-5)."""
    from engine.service.directory import require_reader

    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, READERS, rule="ROLE-2", action="viewing bank accounts")
        account = load_account(s, company_id, account_id, lock=False)
        return account_view(account, _payee_names(s, [account]).get(account.payee_company_id or ""))


# ---------------------------------------------------------------- helpers for other commands


def usable_funding_account(s: Session, company_id: str, account_id: str, where: str, *,
                           sandbox: bool | None = None) -> BankAccount:
    """DSB-7: the account a disbursement may draw from — this company's, a funding account, active.

    Another company's account is as unknown as a missing one (GEN-5). Verification (BANK-2,
    AUTH-9: "still Verified, active and mapped") is checked at authorize, where money is about to
    move; a disbursement may be prepared while its account is being verified.
    An internal helper inside the disbursement command's transaction, which checked its actor.
    """
    account = s.get(BankAccount, account_id) if isinstance(account_id, str) and account_id else None
    if account is None or account.company_id != company_id:
        raise DomainError("not_found", f"{where}: no such bank account", rule="GEN-5")
    if account.kind != FUNDING:
        raise DomainError("invalid_funding_account", f"{where}: a {account.kind} account is not a funding account",
                          rule="DSB-7")
    if not account.active:
        raise DomainError("invalid_funding_account", f"{where}: the funding account is deactivated",
                          rule="DSB-7")
    if sandbox is not None and bool(account.sandbox) != sandbox:
        raise DomainError("invalid_funding_account", f"{where}: " + (
            "a sandbox disbursement draws on a sandbox funding account" if sandbox else
            "a sandbox funding account pays only sandbox disbursements") + ": sandbox and production never mix",
            rule="ROLL-4")
    return account


def take_check_number(s: Session, account_id: str) -> str:
    """BANK-11: the next check number of a funding account — its Bank ID prefix plus its next
    number, which then increments under the row's lock, so numbers are unique per account. An
    internal helper inside the paying command's transaction."""
    account = s.scalars(select(BankAccount).where(BankAccount.id == account_id).with_for_update()).one()
    if account.kind != FUNDING:
        raise DomainError("invalid_funding_account", "checks are drawn on funding accounts", rule="BANK-11")
    number = account.next_check_number or 1
    account.next_check_number = number + 1
    account.lock_version = (account.lock_version or 0) + 1
    s.flush()
    return f"{account.bank_id_prefix or ''}{number}"
