"""Bank instructions as outbox rows: queued in the command's transaction, sent by the worker after commit.

Why the outbox: a bank instruction is an effect of a state change exactly as
an email is (AUD-1): authorization writes the drawdown and *its instruction*
together or neither, and the bank is called only after the commit, by
``payroute worker`` (:mod:`engine.payments.dispatch`), under the outbox's
claim, lease, backoff and dead letters (:mod:`engine.outbox.lease`). The row's
``dedupe_key`` is ``bank:<instruction id>``, unique, so an instruction is
queued once however often its command is retried, and the instruction id is the
bank's idempotency id, so a resend after a crash is not a second payment (FLOW-9).

The payload names accounts by their ids (references the adapter resolves), never
by number, and carries the amount as a string of exact cents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.money import MoneyError, parse_money
from engine.payments.bank import Instruction
from engine.store.tables import OutboxEmail, new_id

CHANNEL = "bank"
KINDS = ("drawdown", "payment_order", "test_drawdown")


def dedupe_key(instruction_id: str) -> str:
    return f"bank:{instruction_id}"


def payload(instruction: Instruction, *, sandbox: bool) -> dict[str, Any]:
    return {"id": instruction.id, "kind": instruction.kind, "source": instruction.source,
            "destination": instruction.destination, "amount": f"{instruction.amount:.2f}", "sandbox": sandbox}


def decode(data: object) -> tuple[Instruction, bool]:
    """The instruction and its mode (sandbox or not) from a row's payload; ValueError if malformed
    (a row written by hand: the worker dead-letters it, it never guesses)."""
    if not isinstance(data, dict):
        raise ValueError("the payload is not an object")
    fields = ("id", "kind", "source", "destination", "amount")
    if not all(isinstance(data.get(f), str) and data.get(f) for f in fields):
        raise ValueError("the payload lacks " + ", ".join(f for f in fields if not isinstance(data.get(f), str)
                                                          or not data.get(f)))
    if data["kind"] not in KINDS:
        raise ValueError(f"unknown instruction kind {data['kind']!r}")
    try:
        amount = parse_money(data["amount"])  # GEN-1: a decimal string, bounded, at most two decimals
    except MoneyError as exc:
        raise ValueError(f"the amount: {exc}") from None
    if amount <= 0:
        raise ValueError("the amount is not a positive number of cents")
    return (Instruction(data["id"], data["kind"], data["source"], data["destination"], amount),
            data.get("sandbox") is True)


def queue(s: Session, *, now: datetime, company_id: str, instruction: Instruction, sandbox: bool) -> None:
    """Queue ``instruction`` in the caller's transaction (sent after commit)."""
    s.execute(insert(OutboxEmail), [{
        "id": new_id(), "company_id": company_id, "created_at": now, "event": f"submit_{instruction.kind}",
        "recipients": [], "subject": f"{instruction.kind} {instruction.id}", "body": "",
        "dedupe_key": dedupe_key(instruction.id), "status": "pending", "attempts": 0, "next_attempt_at": now,
        "requeued_attempts": 0, "channel": CHANNEL, "payload": payload(instruction, sandbox=sandbox)}])
