"""``payroute worker``'s bank half: hand each queued instruction to the bank, under the outbox's lease.

The sender given to :func:`engine.outbox.lease.deliver_batch` for the ``bank``
channel: one instruction per claimed row, submitted to the adapter of its mode
(``Services.bank(sandbox)``, ROLL-3). What the bank answers decides the row:

- a receipt → the row is sent (the note records the banking day it will act on);
- :class:`~engine.payments.bank.BankTimeout` → not known to be taken: retried with the
  *same* instruction id after the backoff (the bank deduplicates, FLOW-9);
- :class:`~engine.payments.bank.BankRefused` → a configuration error or a bug, not a
  money outcome: dead-lettered at once and audited, for an operator;
- a row whose payload is malformed → dead-lettered at once.

Money outcomes (settled, rejected, failed) are not answers to a submission:
:mod:`engine.payments.settlement` asks for them afterwards.

Operator and worker functions, exempt from the commands' ``(actor, company_id)``: they act
for no user (ROLE-12) and only deliver what commands already wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from engine.outbox.lease import (
    BANK,
    DEFAULT_LEASE,
    MAX_ATTEMPTS,
    PERMANENT_ATTEMPTS,
    Claimed,
    Failed,
    SendReport,
    Sender,
    deliver_batch,
    drain_batches,
    error_text,
)
from engine.payments import instructions
from engine.payments.bank import BankRefused, BankTimeout
from engine.payments.settlement import PollReport, poll
from engine.services import Services


def sender(svc: Services) -> Sender:
    def send(item: Claimed) -> str | None:
        try:
            instruction, sandbox = instructions.decode(item.payload)
        except ValueError as exc:
            raise Failed(f"malformed bank instruction: {exc}", permanent=True, final=True) from None
        try:
            receipt = svc.bank(sandbox).submit(instruction, at=svc.now())
        except BankTimeout as exc:
            raise Failed(error_text(str(exc)) or "the bank timed out", permanent=False) from None
        except BankRefused as exc:
            raise Failed(error_text(str(exc)) or "the bank refused the instruction", permanent=True,
                         final=True) from None
        return f"taken by the bank for {receipt.request_date.isoformat()}"

    return send


def dispatch(svc: Services, *, batch: int = 50, worker_id: str | None = None,
             lease: timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS,
             permanent_attempts: int = PERMANENT_ATTEMPTS) -> SendReport:
    """Submit every due bank instruction (in batches), each once per claim; the summed report."""
    send = sender(svc)
    return drain_batches(lambda: deliver_batch(svc, send, batch=batch, worker_id=worker_id, lease=lease,
                                               max_attempts=max_attempts, permanent_attempts=permanent_attempts,
                                               noun="bank instruction", channel=BANK), batch=batch)


@dataclass
class MoneyRound:
    """One worker round's bank work: instructions submitted, answers applied."""

    sent: SendReport = field(default_factory=SendReport)
    polled: PollReport = field(default_factory=PollReport)

    @property
    def busy(self) -> bool:
        return bool(self.sent.claimed or self.polled.applied or self.polled.errors)

    def line(self) -> str:
        dead = f" ({self.sent.dead} dead-lettered)" if self.sent.dead else ""
        errors = f", {self.polled.errors} not answered now" if self.polled.errors else ""
        return (f"bank: submitted {self.sent.sent}, failed {self.sent.failed}{dead}; "
                f"answers applied {self.polled.applied}, pending {self.polled.pending}{errors}")


def move_money(svc: Services, *, batch: int = 50, worker_id: str | None = None,
               max_attempts: int = MAX_ATTEMPTS, permanent_attempts: int = PERMANENT_ATTEMPTS) -> MoneyRound:
    """Submit due instructions and apply the bank's answers, twice at most: a drawdown that settles
    queues its payment orders (FLOW-4), which the second pass submits (and may see settle)."""
    done = MoneyRound()
    for _ in range(2):
        sent = dispatch(svc, batch=batch, worker_id=worker_id, max_attempts=max_attempts,
                        permanent_attempts=permanent_attempts)
        polled = poll(svc)
        done.sent.absorb(sent)
        done.polled = PollReport(done.polled.asked + polled.asked, done.polled.applied + polled.applied,
                                 polled.pending, done.polled.errors + polled.errors,
                                 polled.error or done.polled.error)
        if not (sent.claimed or polled.applied):
            break
    return done
