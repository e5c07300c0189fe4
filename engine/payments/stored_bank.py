"""The simulated bank kept in the database, so every worker process (and the operator) shares one.

:class:`engine.payments.simulated_bank.SimulatedBank` keeps its book in
memory; a worker that exits would forget what it was told, and two workers
would each run a bank of their own. :class:`StoredBank` is the same adapter
over a book stored in ``simulated_bank_books``: every call locks the book's row
(``FOR UPDATE``; SQLite serialises writers anyway), runs the simulated bank on
it and writes it back in one short transaction of its own — never the caller's,
exactly as a remote bank's answer is not part of our transaction.

Two books exist: ``production`` and ``sandbox`` (ROLL-3: a sandbox
disbursement never reaches the bank that production uses). Until a real bank
adapter ships, production's bank is this simulator too; ``payroute bank``
(:mod:`web.commands.bank`) is how an operator funds its accounts, scripts
failures and makes it settle quickly.

An account the bank has not seen opens with $0.00 when an instruction names it:
a funding account must be funded (:func:`credit`) before a drawdown from it can
settle, and otherwise the drawdown fails for insufficient funds (FLOW-3) —
deterministically, as ROLL-3 asks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.money import MoneyError, parse_money
from engine.payments.bank import BankRefused, BankTimeout, Instruction, Receipt, Status
from engine.payments.simulated_bank import Account, Book, SimulatedBank
from engine.store.db import Database
from engine.store.tables import SimulatedBankBook

PRODUCTION, SANDBOX = "production", "sandbox"
BOOKS = (PRODUCTION, SANDBOX)

T = TypeVar("T")


def book_name(sandbox: bool) -> str:
    return SANDBOX if sandbox else PRODUCTION


def _load(s: Session, name: str) -> tuple[SimulatedBankBook | None, Book]:
    q = select(SimulatedBankBook).where(SimulatedBankBook.name == name).with_for_update()
    row = s.scalars(q).first()
    return row, (Book.from_data(row.data) if row is not None else Book())


def _save(s: Session, row: SimulatedBankBook | None, name: str, data: dict[str, Any], now: datetime) -> None:
    if row is None:
        s.add(SimulatedBankBook(name=name, data=data, updated_at=now))
    else:
        row.data, row.updated_at = data, now


def with_book(db: Database, name: str, now: datetime, act: Callable[[SimulatedBank], T]) -> T:
    """Run ``act`` on the stored book ``name`` under its row lock and store what it changed (a
    call that changed nothing — a status still pending, a read — writes nothing).

    A :class:`BankTimeout` is what the simulated bank *answers*: the book it changed (one
    scripted timeout fewer) is stored before the timeout reaches the caller."""
    if name not in BOOKS:
        raise DomainError("invalid_value", f"no simulated bank book {name!r} (books: {', '.join(BOOKS)})",
                          rule="ROLL-3")
    timeout: BankTimeout | None = None
    with db.transaction() as s:
        row, book = _load(s, name)
        try:
            result = act(SimulatedBank(book))
        except BankTimeout as exc:
            timeout = exc
        data = book.to_data()
        if row is None or data != row.data:
            _save(s, row, name, data, now)
    if timeout is not None:
        raise timeout
    return result


class StoredBank:
    """A :class:`engine.payments.bank.BankAdapter`: the simulated bank over a stored book."""

    def __init__(self, db: Database, name: str = PRODUCTION) -> None:
        self.db = db
        self.name = name

    def submit(self, instruction: Instruction, *, at: datetime) -> Receipt:
        def take(bank: SimulatedBank) -> Receipt:
            for ref in (instruction.source, instruction.destination):
                bank.book.accounts.setdefault(ref, Account())
            return bank.submit(instruction, at=at)

        return with_book(self.db, self.name, at, take)

    def status(self, instruction_id: str, *, at: datetime) -> Status:
        return with_book(self.db, self.name, at, lambda bank: bank.status(instruction_id, at=at))

    def statuses(self, instruction_ids: Sequence[str], *, at: datetime) -> dict[str, Status | BankRefused]:
        """Every instruction's status in one locked read of the book (the worker's poll)."""
        return with_book(self.db, self.name, at, lambda bank: bank.statuses(instruction_ids, at=at))


# ---------------------------------------------------------------- the operator's levers (``payroute bank``)


def credit(db: Database, name: str, account: str, amount: str, *, now: datetime) -> Decimal:
    """Put ``amount`` into ``account`` at the simulated bank (opened if new); the new balance."""
    try:
        value = parse_money(amount)
    except MoneyError as exc:
        raise DomainError("invalid_value", f"the amount credited: {exc}", rule="GEN-1") from None
    if value <= 0:
        raise DomainError("invalid_value", "the amount credited must be more than $0.00", rule="GEN-1")

    def act(bank: SimulatedBank) -> Decimal:
        held = bank.book.accounts.setdefault(account, Account())
        held.balance += value
        return held.balance

    return with_book(db, name, now, act)


def close(db: Database, name: str, account: str, *, now: datetime) -> None:
    """Close ``account`` at the simulated bank: a payment to it fails (FLOW-5)."""
    def act(bank: SimulatedBank) -> None:
        bank.book.accounts.setdefault(account, Account()).closed = True

    with_book(db, name, now, act)


def script_failure(db: Database, name: str, instruction_id: str, reason: str, *, now: datetime) -> None:
    """The instruction fails with ``reason`` when it settles (ROLL-3's scripted outcomes)."""
    with_book(db, name, now, lambda bank: bank.book.failures.__setitem__(instruction_id, reason))


def script_timeouts(db: Database, name: str, instruction_id: str, times: int, *, now: datetime) -> None:
    """The instruction's next ``times`` submissions time out (the worker retries them)."""
    with_book(db, name, now, lambda bank: bank.book.timeouts.__setitem__(instruction_id, times))


def set_settle_after(db: Database, name: str, seconds: int | None, *, now: datetime) -> None:
    """Instructions settle ``seconds`` after they are taken (None: at 18:00 New York on the request date)."""
    if seconds is not None and seconds < 0:
        raise DomainError("invalid_value", "settle-after is a number of seconds, 0 or more", rule="ROLL-3")
    with_book(db, name, now, lambda bank: setattr(bank.book, "settle_after", seconds))


def book(db: Database, name: str, *, now: datetime) -> Book:
    """A copy of the book as stored (for ``payroute bank show`` and tests)."""
    return with_book(db, name, now, lambda bank: Book.from_data(bank.book.to_data()))
