"""Beneficiary accounts: the payees' "pay to" accounts as a payor knows them (BANK-1, BANK-12..BANK-14).

A row belongs to the payor company (``company_id``) and names the payee company
(``payee_company_id``): approval is the payor's (its Beneficiary Approver, BANK-14) and the
designation is per payee company (BANK-13), both read by the payor's disbursements at
authorize (AUTH-9). Who may add and designate: the payor's Payments Admin (ROLE-1 manages
bank accounts) or the payee's own admin (ROLE-6: Payee Admin, or Payments Admin of the payee
company), acting on the payor's list from outside it. Anyone else — a stranger to both
companies — finds nothing (GEN-5).

MFA-8 lists adding, designating and approving a beneficiary account as sensitive: each takes
``mfa_code``, checked after every other rule (AUTH-4). The challenge runs in the company the
actor belongs to (the payor's, or the payee's for a payee admin), so a failure counts against
the actor where they sign in and is audited on that company's chain.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.payments.bank_accounts import (
    BENEFICIARY,
    AccountNumbers,
    BankAccountView,
    account_view,
    checked_nickname,
    checked_numbers,
    checked_text,
    load_account,
    mfa,
    new_account,
    require_active,
    summary,
    write_audit,
)
from engine.payments.account_numbers import masked
from engine.security.permissions import (
    BENEFICIARY_APPROVER,
    PAYEE_ADMIN,
    PAYMENTS_ADMIN,
    held,
    membership,
    require,
)
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.store.tables import BankAccount, Company, Grant, Membership, new_id
from engine.text import is_id


def is_payee_admin(s: Session, payee_company_id: str, actor: str) -> bool:
    """ROLE-6: an active member of the payee company holding Payee Admin or Payments Admin there."""
    return bool(held(s, payee_company_id, actor) & {PAYEE_ADMIN, PAYMENTS_ADMIN})


def _payee(s: Session, payee_company_id: object) -> Company:
    company = s.get(Company, payee_company_id) if is_id(payee_company_id) else None
    if company is None or not company.is_payee:
        raise DomainError("not_found", "payee_company: no such payee company", rule="GEN-5")
    return company


def beneficiary_actor(s: Session, payor: Company, payee_company_id: str | None, actor: str, *,
                      action: str) -> Company:
    """Who may manage a payee's beneficiary accounts on the payor's list: the payor's Admin or the
    payee's admin. Returns the company the actor acts from (where their MFA challenge is
    audited). A stranger to both is ``not_found`` (GEN-5); a payor member without the role is
    refused, audited (AUD-4)."""
    if payee_company_id is not None and is_payee_admin(s, payee_company_id, actor):
        payee = s.get(Company, payee_company_id)
        assert payee is not None
        return payee
    member = membership(s, payor.id, actor) if isinstance(actor, str) else None
    if member is None or not member.active:
        raise DomainError("not_found", "no such company", rule="GEN-5")
    require(s, payor.id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action=action, audited=True)
    return payor


def account_manager_standing(s: Session, company_id: str, actor: str) -> None:
    """GEN-8's standing for a replay of a command a payor Admin or a payee's admin may run: still a
    payor Admin, or still the admin of some payee company (the record is the actor's own, keyed by
    payor, actor and key, so it replays only what this actor did)."""
    if PAYMENTS_ADMIN in held(s, company_id, actor):
        return
    admin_somewhere = s.scalar(select(Grant.id).join(
        Membership, (Membership.company_id == Grant.company_id) & (Membership.user_id == Grant.user_id)
        & Membership.active.is_(True)).join(Company, Company.id == Grant.company_id).where(
        Grant.user_id == actor, Grant.permission.in_((PAYEE_ADMIN, PAYMENTS_ADMIN)), Company.is_payee.is_(True)))
    if admin_somewhere is None:
        raise DomainError("permission_denied", "managing beneficiary accounts needs Payments Admin or Payee Admin",
                          rule="ROLE-6", missing="Payments Admin or Payee Admin")


def _active_of(s: Session, company_id: str, payee_company_id: str) -> list[BankAccount]:
    return list(s.scalars(select(BankAccount).where(
        BankAccount.company_id == company_id, BankAccount.kind == BENEFICIARY,
        BankAccount.payee_company_id == payee_company_id, BankAccount.active.is_(True)).order_by(
        BankAccount.created_at, BankAccount.id).with_for_update()))


def designate_only_active(s: Session, svc: Services, company_id: str, payee_company_id: str, actor: str) -> None:
    """BANK-12: a payee's only active account is designated automatically. An internal helper
    inside the calling command's transaction (it checked its actor)."""
    active = _active_of(s, company_id, payee_company_id)
    if len(active) == 1 and not active[0].designated:
        before = summary(active[0])
        active[0].designated = True
        s.flush()
        write_audit(s, svc, active[0], actor, "beneficiary_account_designated", before=before,
                    rules=("BANK-12",), reason="the payee's only active account")


@idempotent("add_beneficiary_account", standing=account_manager_standing)
def add_beneficiary_account(svc: Services, actor: str, company_id: str, payee_company_id: str, *,
                            bank_name: str, holder_name: str, numbers: AccountNumbers, mfa_code: str,
                            nickname: str | None = None, sandbox: bool = False) -> BankAccountView:
    """BANK-1, BANK-12, MFA-8: a beneficiary account of the payee ``payee_company_id`` on the payor
    ``company_id``'s list, added by the payor's Admin or the payee's admin. Numbers are entered
    twice (BANK-7's rule applies to every account number typed), the routing number passes the
    ABA checksum (BANK-8). It starts Pending Verification and unapproved (BANK-3, BANK-14); the
    payee's first (only active) account is designated automatically (BANK-12). Without a
    nickname it is called by its bank and last four digits."""
    bank = checked_text(bank_name, "bank_name")
    holder = checked_text(holder_name, "holder_name")
    routing, number = checked_numbers(numbers)
    name = checked_nickname(nickname, kind=BENEFICIARY) if nickname is not None \
        else f"{bank} {masked(number)}"[:100]
    with svc.tx() as s:
        payor = get_company(s, company_id, lock=True)
        if payor.is_payee:
            raise DomainError("not_found", "no such company", rule="GEN-5")
        payee = _payee(s, payee_company_id)
        acting = beneficiary_actor(s, payor, payee.id, actor, action="adding a beneficiary account")
        account_id = new_id()
        mfa(s, svc, acting, actor, mfa_code, action="add_beneficiary_account", account_id=account_id)
        account = new_account(svc.now(), company_id, BENEFICIARY, nickname=name, bank_name=bank, holder_name=holder,
                              routing=routing, number=number, sandbox=sandbox, account_id=account_id,
                              payee_company_id=payee.id)
        s.add(account)
        s.flush()
        write_audit(s, svc, account, actor, "beneficiary_account_added", before=None,
                    rules=("BANK-1", "BANK-8", "MFA-8"))
        designate_only_active(s, svc, company_id, payee.id, actor)
        return account_view(account)


@idempotent("approve_beneficiary_account", standing=lambda s, company_id, actor: require(
    s, company_id, actor, BENEFICIARY_APPROVER, rule="BANK-14", action="approving beneficiary accounts"))
def approve(svc: Services, actor: str, company_id: str, account_id: str, *, mfa_code: str) -> BankAccountView:
    """BANK-14, ROLE-5, MFA-8: the payor's Payments Beneficiary Approver approves a payee's
    beneficiary account for receiving payments, with an MFA challenge (checked last). Approval is
    independent of verification (both are needed before money arrives, AUTH-9) and is final for
    the account; an approved account cannot be approved again."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        member = membership(s, company_id, actor) if isinstance(actor, str) else None
        if member is None or not member.active:
            raise DomainError("not_found", "no such company", rule="GEN-5")
        require(s, company_id, actor, BENEFICIARY_APPROVER, rule="BANK-14",
                action="approving a beneficiary account", audited=True, target=("bank_account", str(account_id)[:32]))
        account = load_account(s, company_id, account_id)
        if account.kind != BENEFICIARY:
            raise DomainError("invalid_bank_account", f"a {account.kind} account is not a beneficiary account",
                              rule="BANK-14")
        require_active(account)
        if account.approved_at is not None:
            raise DomainError("already_approved", "the beneficiary account is approved already", rule="BANK-14")
        mfa(s, svc, company, actor, mfa_code, action="approve_beneficiary_account", account_id=account.id)
        before = summary(account)
        account.approved_by, account.approved_at = actor, svc.now()
        s.flush()
        write_audit(s, svc, account, actor, "beneficiary_account_approved", before=before,
                    rules=("BANK-14", "ROLE-5", "MFA-8"))
        return account_view(account)


@idempotent("designate_beneficiary_account", standing=account_manager_standing)
def designate(svc: Services, actor: str, company_id: str, account_id: str, *, mfa_code: str) -> BankAccountView:
    """BANK-12, BANK-13, MFA-8: the payee's one account that receives this payor's payments; the
    previously designated account of the same payee stops being designated in the same
    transaction. By the payor's Admin or the payee's admin; the account must be active
    (verification and approval are checked at authorize, AUTH-9). Already designated: nothing
    changes and no code is asked for."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        account = load_account(s, company_id, account_id)
        acting = beneficiary_actor(s, company, account.payee_company_id, actor,
                                   action="designating a beneficiary account")
        if account.kind != BENEFICIARY or account.payee_company_id is None:
            raise DomainError("invalid_bank_account", f"a {account.kind} account is not a beneficiary account",
                              rule="BANK-12")
        require_active(account)
        if account.designated:
            return account_view(account)
        mfa(s, svc, acting, actor, mfa_code, action="designate_beneficiary_account", account_id=account.id)
        for other in _active_of(s, company_id, account.payee_company_id):
            if other.designated:
                old = summary(other)
                other.designated = False
                s.flush()  # the one-designated index is checked row by row
                write_audit(s, svc, other, actor, "beneficiary_account_undesignated", before=old,
                            rules=("BANK-12", "BANK-13"))
        before = summary(account)
        account.designated = True
        s.flush()
        write_audit(s, svc, account, actor, "beneficiary_account_designated", before=before,
                    rules=("BANK-12", "BANK-13", "MFA-8"))
        return account_view(account)
