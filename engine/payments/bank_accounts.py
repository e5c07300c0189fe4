"""Bank accounts (BANK-1): for now, the funding accounts disbursements draw from.

A disbursement names its funding account by id (DSB-7), so the money
milestone fills these rows rather than migrating free strings later. What
arrives with it: account and routing numbers entered twice (BANK-7, BANK-8),
the MFA challenge on adding (BANK-7), the mapping to a deposit account
(BANK-5, BANK-6), verification (BANK-3), deactivation and the default account
(BANK-4, BANK-9, BANK-10). Until then an account is Pending Verification and
active, and a disbursement may use any active funding account of its company.

Commands take ``(svc, actor, company_id, ...)``, check the actor (ROLE-1) and return the
frozen :class:`BankAccountView` of the account; :func:`usable_funding_account` is an
internal helper inside another command's transaction (it checks no actor).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.security.permissions import PAYMENTS_ADMIN, require, standing
from engine.service import audit
from engine.service.directory import ListPage, get_company
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.store.tables import BankAccount
from engine.text import text_problem

FUNDING = "funding"
DEPOSIT = "deposit"
BENEFICIARY = "beneficiary"
KINDS = (FUNDING, DEPOSIT, BENEFICIARY)

MAX_NICKNAME = 100


@dataclass(frozen=True)
class BankAccountView:
    """A bank account as the payment settings page shows it (BANK-1, BANK-3, BANK-4); never its
    numbers (BANK-8: those arrive with the money milestone, and only their last four digits show)."""

    id: str
    kind: str
    nickname: str
    verification_status: str
    active: bool


def account_view(account: BankAccount) -> BankAccountView:
    return BankAccountView(account.id, account.kind, account.nickname, account.verification_status,
                           bool(account.active))


@idempotent("add_funding_account", standing=standing(
    PAYMENTS_ADMIN, rule="ROLE-1", action="adding funding accounts"))
def add_funding_account(svc: Services, actor: str, company_id: str, nickname: str) -> BankAccountView:
    """BANK-7: an Admin adds a funding account whose nickname is unique in the company, ignoring case.

    The MFA challenge, the account numbers and verification of BANK-7 arrive
    with the money milestone; the account starts Pending Verification (BANK-3).
    """
    if nickname is None or (isinstance(nickname, str) and not nickname.strip()):
        raise DomainError("invalid_bank_account", "a funding account needs a nickname", rule="BANK-7")
    name = nickname.strip() if isinstance(nickname, str) else nickname
    problem = text_problem(name, limit=MAX_NICKNAME)
    if problem is not None:
        raise DomainError("invalid_bank_account",
                          f"a funding account nickname has at most {MAX_NICKNAME} printable characters: {problem}",
                          rule="BANK-7")
    key = name.casefold()
    with svc.tx() as s:
        get_company(s, company_id, lock=True)  # serialises adds: the nickname check below cannot race
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="adding a funding account")
        taken = s.scalar(select(BankAccount.id).where(BankAccount.company_id == company_id,
                                                      BankAccount.kind == FUNDING,
                                                      BankAccount.nickname_key == key))
        if taken is not None:
            raise DomainError("duplicate_nickname", f"a funding account named `{name}` exists in this company",
                              rule="BANK-7")
        account = BankAccount(company_id=company_id, kind=FUNDING, nickname=name, nickname_key=key,
                              created_at=svc.now())
        s.add(account)
        s.flush()
        audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=svc.now(),
                     actor_id=actor, action="funding_account_added", object_type="bank_account",
                     object_id=account.id, after={"kind": FUNDING, "nickname": name,
                                                  "verification_status": account.verification_status},
                     rules=("BANK-1", "BANK-7"))
        return account_view(account)


def list_bank_accounts(svc: Services, actor: str, company_id: str, *, kind: str | None = None,
                       after: str | None = None, limit: int = 50) -> ListPage[BankAccountView]:
    """The company's bank accounts (BANK-1) by kind, then nickname, then id, so that a client can
    pick the funding account a disbursement draws from (DSB-7): readable by who works with
    disbursements (Payments Admin, Disburser, Disbursement Contributor, ROLE-1..ROLE-4); a
    stranger to the company is ``not_found`` (GEN-5). ``kind`` narrows to one of :data:`KINDS`."""
    from engine.service.directory import PAYMENTS_READERS, after_key, keyset, page_limit, paged, require_reader

    limit = page_limit(limit)
    if kind is not None and kind not in KINDS:
        raise DomainError("invalid_value", f"kind: one of {', '.join(KINDS)}", rule="BANK-1")
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing bank accounts")
        order = (BankAccount.kind, BankAccount.nickname_key, BankAccount.id)
        start = after_key(s, after, lambda aid: s.execute(select(*order).where(
            BankAccount.company_id == company_id, BankAccount.id == aid)).first())
        q = select(BankAccount).where(BankAccount.company_id == company_id)
        if kind is not None:
            q = q.where(BankAccount.kind == kind)
        if start is not None:
            q = q.where(keyset(order, tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(*order).limit(limit + 1))), limit, lambda a: a.id)
        return ListPage(tuple(account_view(a) for a in rows), next_after)


def read_bank_account(svc: Services, actor: str, company_id: str, account_id: str) -> BankAccountView:
    """One of the company's bank accounts, readable as :func:`list_bank_accounts`; another company's
    account is as unknown as a missing one (GEN-5)."""
    from engine.service.directory import PAYMENTS_READERS, require_reader

    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing bank accounts")
        account = s.get(BankAccount, account_id) if isinstance(account_id, str) and account_id else None
        if account is None or account.company_id != company_id:
            raise DomainError("not_found", "no such bank account", rule="GEN-5")
        return account_view(account)


def usable_funding_account(s: Session, company_id: str, account_id: str, where: str) -> BankAccount:
    """DSB-7: the account a disbursement may draw from — this company's, a funding account, active.

    Another company's account is as unknown as a missing one (GEN-5). Verification
    (DSB-7's "Verified") is checked once accounts can be verified, with the money milestone.
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
    return account
