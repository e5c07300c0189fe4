"""The simulated bank: deterministic, with balances, the 16:00 cut-off and scripted failures (ROLL-3).

It is the only bank payroute ships (a real bank is a later adapter with the
same :class:`engine.payments.bank.BankAdapter` interface), so sandbox companies,
the demo and the tests run the whole funds flow against it:

- accounts have balances; a drawdown moves money from a funding account into a
  deposit account, a payment order from a deposit account to a beneficiary;
- an instruction is requested on its banking day (FLOW-2, :mod:`.bank_calendar`)
  and settles at :data:`SETTLES_AT` New York time that day — nothing moves
  before, whoever asks;
- outcomes follow from the state, deterministically: a drawdown larger than
  the funding account's balance is rejected for insufficient funds (FLOW-3); a
  payment to a closed account fails (FLOW-5);
- ``settle_after`` (seconds, for the demo and sandbox companies that should not
  wait for evening): when set, an instruction settles that long after it was
  taken instead, still in the order taken;
- a script can add what a state cannot: ``timeouts`` (an instruction id whose
  first ``n`` submissions time out, then succeed: the worker's retry is
  exercised) and ``failures`` (an instruction id that fails with a reason).

The book is plain data (:class:`Book`), so the service can persist it and
several processes can share one; :class:`SimulatedBank` applies the rules to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.payments import bank_calendar
from engine.payments.bank import BankRefused, BankTimeout, Instruction, Receipt, Status

#: when a requested instruction settles on its banking day, New York time
SETTLES_AT = time(18, 0)


@dataclass
class Account:
    balance: Decimal = Decimal("0.00")
    closed: bool = False


@dataclass
class Taken:
    """An instruction the bank took, and its outcome once settled."""

    instruction: Instruction
    request_date: date
    status: str = "pending"
    reason: str | None = None
    #: when it was taken (``settle_after`` counts from here)
    taken_at: datetime | None = None


@dataclass
class Book:
    """Everything the simulated bank knows."""

    accounts: dict[str, Account] = field(default_factory=dict)
    taken: dict[str, Taken] = field(default_factory=dict)
    #: instruction id -> submissions still to time out
    timeouts: dict[str, int] = field(default_factory=dict)
    #: instruction id -> the reason it fails with
    failures: dict[str, str] = field(default_factory=dict)
    #: the order instructions were taken in (settlement order within a day)
    order: list[str] = field(default_factory=list)
    #: seconds from taking to settling; None: at :data:`SETTLES_AT` on the request date
    settle_after: int | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "accounts": {k: {"balance": f"{a.balance:.2f}", "closed": a.closed} for k, a in sorted(self.accounts.items())},
            "taken": [{"id": i, "kind": t.instruction.kind, "source": t.instruction.source,
                       "destination": t.instruction.destination, "amount": f"{t.instruction.amount:.2f}",
                       "request_date": t.request_date.isoformat(), "status": t.status, "reason": t.reason,
                       "taken_at": t.taken_at.isoformat() if t.taken_at else None}
                      for i in self.order for t in (self.taken[i],)],
            "timeouts": dict(sorted(self.timeouts.items())), "failures": dict(sorted(self.failures.items())),
            "settle_after": self.settle_after,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Book:
        book = cls(accounts={k: Account(Decimal(v["balance"]), bool(v["closed"])) for k, v in data["accounts"].items()},
                   timeouts=dict(data.get("timeouts", {})), failures=dict(data.get("failures", {})),
                   settle_after=data.get("settle_after"))
        for t in data["taken"]:
            instruction = Instruction(t["id"], t["kind"], t["source"], t["destination"], Decimal(t["amount"]))
            taken_at = datetime.fromisoformat(t["taken_at"]) if t.get("taken_at") else None
            book.taken[t["id"]] = Taken(instruction, date.fromisoformat(t["request_date"]), t["status"], t["reason"],
                                        taken_at)
            book.order.append(t["id"])
        return book


class SimulatedBank:
    """A :class:`engine.payments.bank.BankAdapter` over a :class:`Book`."""

    def __init__(self, book: Book | None = None) -> None:
        self.book = book if book is not None else Book()

    # -------------------------------------------------------- set-up (sandbox, tests)

    def open_account(self, ref: str, balance: str = "0.00") -> None:
        self.book.accounts[ref] = Account(Decimal(balance))

    def close_account(self, ref: str) -> None:
        self.book.accounts[ref].closed = True

    def balance(self, ref: str) -> Decimal:
        return self.book.accounts[ref].balance

    # -------------------------------------------------------- the adapter

    def submit(self, instruction: Instruction, *, at: datetime) -> Receipt:
        earlier = self.book.taken.get(instruction.id)
        if earlier is not None:
            if earlier.instruction != instruction:
                raise BankRefused(f"instruction {instruction.id} was already taken with other content")
            return Receipt(instruction.id, earlier.request_date)
        pending_timeouts = self.book.timeouts.get(instruction.id, 0)
        if pending_timeouts > 0:
            self.book.timeouts[instruction.id] = pending_timeouts - 1
            raise BankTimeout(f"the simulated bank timed out on {instruction.id} (scripted)")
        for ref in (instruction.source, instruction.destination):
            if ref not in self.book.accounts:
                raise BankRefused(f"no account {ref} at the simulated bank")
        if instruction.amount <= 0 or instruction.amount != instruction.amount.quantize(Decimal("0.01")):
            raise BankRefused("an instruction moves a positive amount in cents")
        taken = Taken(instruction, bank_calendar.request_date(at), taken_at=at)
        self.book.taken[instruction.id] = taken
        self.book.order.append(instruction.id)
        return Receipt(instruction.id, taken.request_date)

    def status(self, instruction_id: str, *, at: datetime) -> Status:
        self._settle(at)
        taken = self.book.taken.get(instruction_id)
        if taken is None:
            raise BankRefused(f"the simulated bank has no instruction {instruction_id}")
        return Status(instruction_id, "pending" if taken.status == "pending" else
                      "completed" if taken.status == "completed" else "failed", taken.reason)

    def statuses(self, instruction_ids: Sequence[str], *, at: datetime) -> dict[str, Status | BankRefused]:
        out: dict[str, Status | BankRefused] = {}
        for instruction_id in instruction_ids:
            try:
                out[instruction_id] = self.status(instruction_id, at=at)
            except BankRefused as exc:
                out[instruction_id] = exc
        return out

    # -------------------------------------------------------- settlement

    def _settle(self, at: datetime) -> None:
        """Settle, in the order taken, every pending instruction whose settlement moment has come."""
        local = at.astimezone(bank_calendar.BANK_TIME_ZONE)
        for instruction_id in self.book.order:
            taken = self.book.taken[instruction_id]
            if taken.status != "pending":
                continue
            if self.book.settle_after is not None and taken.taken_at is not None:
                due = taken.taken_at + timedelta(seconds=self.book.settle_after)
            else:
                due = datetime.combine(taken.request_date, SETTLES_AT, bank_calendar.BANK_TIME_ZONE)
            if local < due:
                continue
            self._apply(taken)

    def _apply(self, taken: Taken) -> None:
        i = taken.instruction
        source, destination = self.book.accounts[i.source], self.book.accounts[i.destination]
        scripted = self.book.failures.get(i.id)
        if scripted is not None:
            taken.status, taken.reason = "failed", scripted
        elif destination.closed or source.closed:
            taken.status, taken.reason = "failed", "the account is closed"
        elif source.balance < i.amount:
            taken.status, taken.reason = "failed", "insufficient funds"
        else:
            source.balance -= i.amount
            destination.balance += i.amount
            taken.status = "completed"
