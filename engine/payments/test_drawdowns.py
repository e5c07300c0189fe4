"""ROLL-5: a funding account proves itself with one small test drawdown before its first production use.

Why: the first time a company's money moves from a new account should not be a
$35,000 disbursement that fails because the account was mistyped or the bank's
own approvals are not set up. An Admin requests a test drawdown of
:data:`TEST_AMOUNT` from a Verified, active funding account into its mapped
deposit account (the company's own money, paying nobody); the worker sends it
like any instruction and, when the bank completes it, the account is marked
tested (``tested_at``, audited). Authorizing a production disbursement on an
untested account is refused (``funding_account_not_ready``, ROLL-5). Sandbox
accounts need no test: their money is not real (ROLL-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from engine.errors import DomainError
from engine.payments import bank_accounts, bank_calendar, instructions
from engine.payments.authorization import ready_funding_account
from engine.payments.bank import Instruction
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.security.permissions import PAYMENTS_ADMIN, standing
from engine.services import Services
from engine.store.db import aware
from engine.store.tables import TestDrawdown, new_id

#: what a test drawdown moves: enough to exercise the path, too little to matter
TEST_AMOUNT = Decimal("1.00")
REQUESTED = "Funding Requested"


@dataclass(frozen=True)
class TestDrawdownView:
    __test__ = False  # not a pytest class

    id: str
    funding_account_id: str
    deposit_account_id: str
    amount: Decimal
    status: str
    reason: str | None
    request_date: date
    requested_by: str
    created_at: datetime
    settled_at: datetime | None


def view(row: TestDrawdown) -> TestDrawdownView:
    return TestDrawdownView(row.id, row.funding_account_id, row.deposit_account_id, row.amount.quantize(Decimal("0.01")),
                            row.status, row.reason, row.request_date, row.requested_by,
                            aware(row.created_at) or row.created_at, aware(row.settled_at))


@idempotent("request_test_drawdown", standing=standing(PAYMENTS_ADMIN, rule="ROLL-5",
                                                       action="requesting a test drawdown"),
            strangers_not_found=True)
def request_test_drawdown(svc: Services, actor: str, company_id: str, account_id: str) -> TestDrawdownView:
    """ROLL-5: an Admin asks the bank to move :data:`TEST_AMOUNT` from a Verified, active, mapped
    production funding account into its deposit account; one open test at a time."""
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        bank_accounts.require_admin(s, company_id, actor, action="requesting a test drawdown",
                                    target=("bank_account", str(account_id)))
        account = bank_accounts.load_account(s, company_id, account_id)
        if account.kind != bank_accounts.FUNDING:
            raise DomainError("invalid_funding_account", "a test drawdown is made from a funding account",
                              rule="ROLL-5")
        if account.sandbox:
            raise DomainError("invalid_funding_account", "a sandbox account moves no real money: it needs no test "
                              "drawdown", rule="ROLL-5")
        account, deposit = ready_funding_account(s, account, rule="ROLL-5")
        if account.tested_at is not None:
            raise DomainError("invalid_state", "the funding account's test drawdown already completed", rule="ROLL-5")
        if s.scalar(select(TestDrawdown.id).where(TestDrawdown.funding_account_id == account.id,
                                                  TestDrawdown.status == REQUESTED)) is not None:
            raise DomainError("invalid_state", "a test drawdown of this account is already requested: wait for "
                              "the bank's answer", rule="ROLL-5")
        now = svc.now()
        row = TestDrawdown(id=new_id(), company_id=company_id, funding_account_id=account.id,
                           deposit_account_id=deposit.id, amount=TEST_AMOUNT, status=REQUESTED, requested_by=actor,
                           request_date=bank_calendar.request_date(now), created_at=now)
        s.add(row)
        s.flush()
        instructions.queue(s, now=now, company_id=company_id, sandbox=False,
                           instruction=Instruction(row.id, "test_drawdown", account.id, deposit.id, TEST_AMOUNT))
        bank_accounts.write_audit(s, svc, account, actor, "test_drawdown_requested", before=None,
                                  rules=("ROLL-5", "FLOW-2"),
                                  details={"test_drawdown": row.id, "amount": f"{TEST_AMOUNT:.2f}",
                                           "request_date": row.request_date.isoformat()})
        return view(row)


def list_test_drawdowns(svc: Services, actor: str, company_id: str, account_id: str) -> list[TestDrawdownView]:
    """The account's test drawdowns, newest first (an Admin's view)."""
    with svc.db.sessions() as s:
        get_company(s, company_id)
        bank_accounts.require_admin(s, company_id, actor, action="reading test drawdowns")
        account = bank_accounts.load_account(s, company_id, account_id, lock=False)
        return [view(r) for r in s.scalars(select(TestDrawdown).where(TestDrawdown.funding_account_id == account.id)
                                           .order_by(TestDrawdown.created_at.desc(), TestDrawdown.id))]
