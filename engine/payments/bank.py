"""The bank port: every movement of money goes through a :class:`BankAdapter` (FLOW-9).

Why a port: the engine must not know which bank it talks to, tests and sandbox
companies (ROLL-3) need a bank that is deterministic and can be told to fail,
and a real bank's adapter later has the same three calls. Every instruction
carries its own idempotency id (the drawdown's or the payment order's id): the
worker may resend an instruction after a timeout or a crash, and the bank must
treat the second one as the first (an instruction id reused for *different*
content is refused: that is a bug, not a retry).

What the bank answers is a :class:`Status` (:meth:`BankAdapter.statuses` asks about many at once); the worker turns a final one into
an :data:`engine.runtime.funds.BankEvent` and applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

from engine.runtime import funds

#: ``test_drawdown``: ROLL-5's proof of a funding account, which pays nobody
InstructionKind = Literal["drawdown", "payment_order", "test_drawdown"]
StatusName = Literal["pending", "completed", "failed"]


@dataclass(frozen=True)
class Instruction:
    """Move ``amount`` from ``source`` to ``destination`` (bank account references, never numbers in
    clear outside the adapter); ``id`` is the idempotency id."""

    id: str
    kind: InstructionKind
    source: str
    destination: str
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    """The bank took the instruction: it will act on ``request_date`` (FLOW-2)."""

    instruction_id: str
    request_date: date


@dataclass(frozen=True)
class Status:
    instruction_id: str
    status: StatusName
    reason: str | None = None

    def event(self, kind: InstructionKind) -> funds.BankEvent | None:
        """The runtime's event for a final status (None while pending)."""
        if self.status == "pending":
            return None
        if kind in ("drawdown", "test_drawdown"):
            if self.status == "completed":
                return funds.DrawdownSettled(self.instruction_id)
            return funds.DrawdownRejected(self.instruction_id, self.reason or "rejected by the bank")
        if self.status == "completed":
            return funds.OrderCompleted(self.instruction_id)
        return funds.OrderFailed(self.instruction_id, self.reason or "failed at the bank")


class BankTimeout(Exception):
    """The bank did not answer: the instruction may or may not have been taken. Retried with the
    same id (the bank deduplicates), under the worker's backoff."""


class BankRefused(Exception):
    """The bank refused the instruction itself (an id reused for other content, an unknown account):
    a bug or a configuration error, not a money outcome; the worker dead-letters it."""


class BankAdapter(Protocol):
    def submit(self, instruction: Instruction, *, at: datetime) -> Receipt:
        """Hand the instruction to the bank (idempotent by ``instruction.id``)."""
        ...

    def status(self, instruction_id: str, *, at: datetime) -> Status:
        """Where the instruction stands at ``at``."""
        ...

    def statuses(self, instruction_ids: Sequence[str], *, at: datetime) -> Mapping[str, Status | BankRefused]:
        """Where each instruction stands at ``at``, asked in one round trip (the worker's poll); an
        instruction the bank refuses to answer about maps to that refusal, not ending the others."""
        ...
