"""A locked-out user (MFA-11: 10 failed codes in a row) is refused at every action that takes an MFA
challenge (MFA-8) — with ``mfa_locked``, the refusal audited (AUD-4), and nothing else changed —
even with their authenticator's right code, on SQLite and PostgreSQL.

The actions are every caller of ``engine.security.enrollment.challenge`` that moves money or
decides who may: authorize (AUTH-11), re-issue a failed payment (FLOW-8), add a funding or a
beneficiary account, approve or designate a beneficiary account, make a funding account the
default, deactivate a funding account (BANK-*), grant or revoke a payments role (ROLE-11) and
reset another user's MFA (MFA-14). A test drawdown (ROLL-5) takes no challenge, so it is not
among them. Each case sets the action up so that every other check passes — the challenge is
the last check (AUTH-4) — then locks the acting Admin out and calls it with a fresh valid code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import DomainError
from engine.payments import account_lifecycle, authorization, bank_accounts, beneficiaries
from engine.payments.reissue import reissue_payment
from engine.security import enrollment
from engine.security.permissions import BENEFICIARY_APPROVER, PAYMENTS_DISBURSER
from engine.service import audit, directory
from engine.store.tables import AuditEntry, AuditHead, Base, MfaEnrollment
from tests.payments.authorizing import Ready, make_ready
from tests.payments.banking import numbers
from tests.payments.test_funds_flow import failed_payment

#: an action set up to pass every check but the challenge: ``call(code)`` runs it as the Admin
Action = Callable[[str], Any]


@dataclass(frozen=True)
class Case:
    #: what the refusal entry says was attempted (the challenge's ``action``)
    attempted: str
    object_type: str
    prepare: Callable[[Ready, Any], tuple[str, Action]]


def _authorize(r: Ready, clock) -> tuple[str, Action]:
    d = r.disbursement(("1200.00", None))
    return d, lambda code: authorization.authorize(r.svc, r.w.admin, r.w.company, d, mfa_code=code)


def _reissue(r: Ready, clock) -> tuple[str, Action]:
    d, failed = failed_payment(r, clock)
    return d, lambda code: reissue_payment(r.svc, r.w.admin, r.w.company, d, failed.invoice_id, mfa_code=code)


def _deposit(r: Ready) -> str:
    return bank_accounts.read_bank_account(r.svc, r.w.admin, r.w.company, r.w.funding).deposit_account_id


def _add_funding(r: Ready, clock) -> tuple[str, Action]:
    deposit = _deposit(r)
    return "", lambda code: bank_accounts.add_funding_account(
        r.svc, r.w.admin, r.w.company, "Second operating", bank_name="First Bank", holder_name="GC Builders",
        numbers=numbers("000987654321"), deposit_account_id=deposit, mfa_code=code)


def _second_funding(r: Ready) -> str:
    """A Verified production funding account beside the default one."""
    account = bank_accounts.add_funding_account(
        r.svc, r.w.admin, r.w.company, "Second operating", bank_name="First Bank", holder_name="GC Builders",
        numbers=numbers("000987654321"), deposit_account_id=_deposit(r), mfa_code=r.admin.code()).id
    account_lifecycle.verify(r.svc, r.w.admin, r.w.company, account)
    return account


def _set_default(r: Ready, clock) -> tuple[str, Action]:
    account = _second_funding(r)
    return account, lambda code: account_lifecycle.set_default_funding(r.svc, r.w.admin, r.w.company, account,
                                                                       mfa_code=code)


def _deactivate_funding(r: Ready, clock) -> tuple[str, Action]:
    account = _second_funding(r)
    return account, lambda code: account_lifecycle.deactivate(r.svc, r.w.admin, r.w.company, account, mfa_code=code)


def _add_beneficiary(r: Ready, clock) -> tuple[str, Action]:
    payee = r.w.payee("Acme Concrete")
    return "", lambda code: beneficiaries.add_beneficiary_account(
        r.svc, r.w.admin, r.w.company, payee, bank_name="Payee Bank", holder_name="Acme Concrete",
        numbers=numbers("000555666777"), mfa_code=code)


def _second_beneficiary(r: Ready) -> str:
    """Acme's second account: unapproved and not designated (its first one is)."""
    return beneficiaries.add_beneficiary_account(
        r.svc, r.w.admin, r.w.company, r.w.payee("Acme Concrete"), bank_name="Payee Bank",
        holder_name="Acme Concrete", numbers=numbers("000555666777"), mfa_code=r.admin.code()).id


def _approve(r: Ready, clock) -> tuple[str, Action]:
    account = _second_beneficiary(r)
    return account, lambda code: beneficiaries.approve(r.svc, r.w.admin, r.w.company, account, mfa_code=code)


def _designate(r: Ready, clock) -> tuple[str, Action]:
    account = _second_beneficiary(r)
    return account, lambda code: beneficiaries.designate(r.svc, r.w.admin, r.w.company, account, mfa_code=code)


def _grant(r: Ready, clock) -> tuple[str, Action]:
    cfo = r.w.cfo  # a Disburser already (seed_company): the role granted is one they lack
    return cfo, lambda code: directory.grant(r.svc, r.w.admin, r.w.company, cfo, BENEFICIARY_APPROVER, mfa_code=code)


def _revoke(r: Ready, clock) -> tuple[str, Action]:
    controller = r.w.controller  # a Disburser (tests.payments.authorizing)
    return controller, lambda code: directory.revoke(r.svc, r.w.admin, r.w.company, controller, PAYMENTS_DISBURSER,
                                                     mfa_code=code)


def _reset(r: Ready, clock) -> tuple[str, Action]:
    controller = r.w.controller  # enrolled by make_ready
    return controller, lambda code: enrollment.reset(r.svc, r.w.admin, r.w.company, controller, code=code,
                                                     reason="lost phone")


CASES = {
    "authorize": Case("authorize", "disbursement", _authorize),
    "reissue": Case("reissue_payment", "disbursement", _reissue),
    "add_funding_account": Case("add_funding_account", "bank_account", _add_funding),
    "set_default_funding": Case("set_default_funding_account", "bank_account", _set_default),
    "deactivate_funding": Case("deactivate_funding_account", "bank_account", _deactivate_funding),
    "add_beneficiary_account": Case("add_beneficiary_account", "bank_account", _add_beneficiary),
    "approve_beneficiary": Case("approve_beneficiary_account", "bank_account", _approve),
    "designate_beneficiary": Case("designate_beneficiary_account", "bank_account", _designate),
    "grant_payments_role": Case("grant_role", "user", _grant),
    "revoke_payments_role": Case("revoke_role", "user", _revoke),
    "mfa_reset": Case("mfa_reset", "user", _reset),
}

#: what an audited refusal may add: its entry and its chain's head
_AUDIT_TABLES = {AuditEntry.__tablename__, AuditHead.__tablename__}


def _everything(svc) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table but the audit chain's, as sorted text: "nothing changed" is equality."""
    out: dict[str, list[tuple[str, ...]]] = {}
    with svc.db.sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name not in _AUDIT_TABLES:
                out[table.name] = sorted(tuple(repr(v) for v in row) for row in s.execute(select(table)))
    return out


def _lock_out(r: Ready) -> None:
    """MFA-11: ten wrong codes in a row at a challenge lock the Admin out."""
    for _ in range(10):
        with pytest.raises(DomainError) as e:
            enrollment.regenerate_recovery_codes(r.svc, r.w.admin, r.w.company, code=r.admin.wrong())
        assert e.value.code == "mfa_failed"
    assert enrollment.status(r.svc, r.w.admin, r.w.company).locked


@pytest.mark.rule("MFA-11", "AUD-4", "MFA-8")
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_locked_out_user_is_refused_at_every_money_action_audited_and_nothing_changes(svc, clock,
                                                                                        name: str) -> None:
    case = CASES[name]
    r = make_ready(svc, clock)
    target, act = case.prepare(r, clock)
    _lock_out(r)
    with svc.db.sessions() as s:
        seen = s.scalar(select(AuditEntry.seq).where(AuditEntry.chain == audit.company_chain(r.w.company))
                        .order_by(AuditEntry.seq.desc()).limit(1))
    before = _everything(svc)
    code = r.admin.code()  # the authenticator's right code, of a step never used: the lockout alone refuses

    with pytest.raises(DomainError) as refused:
        act(code)

    assert (refused.value.code, refused.value.rule) == ("mfa_locked", "MFA-11")
    assert "too many failed codes" in refused.value.message
    assert _everything(svc) == before  # no state, no email, no count, no idempotency record
    with svc.db.sessions() as s:
        new = list(s.scalars(select(AuditEntry).where(AuditEntry.chain == audit.company_chain(r.w.company),
                                                      AuditEntry.seq > seen).order_by(AuditEntry.seq)))
        assert s.get(MfaEnrollment, r.w.admin).failures == 10  # a refusal unread counts nothing more
    assert [(e.action, e.actor_id, e.object_type, e.details["attempted"], e.details["code"]) for e in new] == [
        ("refused", r.w.admin, case.object_type, case.attempted, "mfa_locked")]
    if target:
        assert new[0].object_id == target
    assert "MFA-11" in new[0].rules and code not in repr(new[0].details) + (new[0].reason or "")
