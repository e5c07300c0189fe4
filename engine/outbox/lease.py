"""The life of a queued outbox row: claimed under a lease, handed to a sender, marked (AUD-5).

This module owns everything that happens to a row between the transaction
that queued it and its last state — and nothing about what the row says or
how it leaves. A sender (:mod:`engine.outbox.smtp` today; the bank-instruction
dispatch next) is one callable that takes a :class:`Claimed` row and either
returns (sent) or raises :class:`Failed` / :class:`Unreachable`;
:func:`deliver_batch` does the rest: claim, lease check, retry bounds, backoff,
dead letters, the report. The operator's side — :func:`outbox_status`,
:func:`dead_letter_ids`, :func:`requeue` — is here too: it is about the same
row states.

Delivery guarantee — *at least once*:

1. **Claim** (one short transaction): due rows (``pending``, or ``sending``
   whose lease ran out) are selected with ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serialises writers), set
   to ``sending``, ``attempts + 1``, and ``next_attempt_at`` = the lease
   expiry. The commit hands the row to this worker alone: another worker's
   claim neither sees it as due (status/lease) nor waits for it (skip locked).
2. **Send** outside any transaction — a slow far end never holds a row
   lock or a database connection.
3. **Mark** (one short transaction per row, right after its send): ``sent``
   with ``sent_at``; on failure back to ``pending`` with an exponential
   backoff (capped) and the sender's credential-free error in ``last_error``.
   The failure update is fenced by the ``attempts`` value of the claim, so a
   worker whose lease expired cannot undo a newer claim; a successful send is
   always recorded.

A row is never started once its lease has run out (the rest of the batch is
left for the next claim), and each send is marked before the next one starts,
so a worker that dies between a send and its mark re-sends one row at most,
after the lease. Duplicates are the sender's to make droppable (the SMTP
sender's stable Message-ID).

**Dead letters.** A row stops being retried — status ``dead``, audited on its
company's chain — when the sender says retrying cannot help (``final``: the
same row fails the same way), after ``permanent_attempts`` permanent
refusals (default 2: one confirmation that a permanent refusal was not a
passing condition), or after ``max_attempts`` failures in all (default 10,
about three hours of backoff); the bounds are
:mod:`engine.outbox.retry_policy`'s. :func:`requeue` hands one back to the
worker with fresh bounds, audited too.

The rows are those of the ``outbox`` table, in two channels: ``email``
(recipients, subject, body; audited as ``email_dead_lettered`` and
``email_requeued`` with masked recipients, never the subject or the body) and
``bank`` (``payload`` is a bank instruction, FLOW-9; audited as
``bank_instruction_dead_lettered`` and ``bank_instruction_requeued`` with the
instruction's id, kind and amount, never an account number). Each channel is
claimed on its own (``channel=``) with its own sender, and shares everything
else: the claim, the marks, the bounds, :func:`deliver_batch`.

A send failure never touches the state change that wrote the row (AUD-5):
that transaction committed long before.

These are operator and worker functions (``payroute worker``), not user
commands: they act for no user of any company, so they take no ``(actor,
company_id)`` and check no permission (ROLE-12: no service identity acts in a
company's workflow; the worker only delivers what commands already wrote).
Their caller is trusted to be the operator.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import DomainError, scrub_credentials
from engine.outbox.emails import header_text, mask_address, mask_addresses
from engine.outbox.retry_policy import MAX_ATTEMPTS, PERMANENT_ATTEMPTS
from engine.service import audit
from engine.services import Services
from engine.store.tables import Company, OutboxEmail
from engine.text import is_id

log = logging.getLogger("payroute.worker")

#: first retry after 30 s, doubling per attempt, never more than an hour apart
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
#: how long a claim is exclusive; it must outlast sending one batch
DEFAULT_LEASE = timedelta(minutes=5)

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
STATUSES = (PENDING, SENDING, SENT, DEAD)


# ---------------------------------------------------------------- a claimed row


@dataclass(frozen=True)
class Claimed:
    """An outbox row this worker holds until ``lease_until``: its columns, as claimed."""

    id: str
    attempt: int
    recipients: tuple[str, ...]
    subject: str
    body: str
    lease_until: datetime
    company_id: str = ""
    event: str = ""
    #: ``attempts`` at the last requeue (the retry bounds count from there)
    requeued_attempts: int = 0
    #: ``email`` or ``bank``; a bank row's instruction is its ``payload``
    channel: str = "email"
    payload: dict[str, Any] | None = None

    @property
    def tries(self) -> int:
        """Attempts since the row was written or last requeued, this one included."""
        return self.attempt - self.requeued_attempts


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min, … ≤ 1 h."""
    step = BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20))
    return min(step, BACKOFF_CAP)


def _utc(moment: datetime) -> datetime:
    # SQLite stores the wall clock without its offset: compare in UTC everywhere.
    return moment.astimezone(timezone.utc)


EMAIL, BANK = "email", "bank"
CHANNELS = (EMAIL, BANK)


def claim(svc: Services, *, batch: int = 50, lease: timedelta = DEFAULT_LEASE,
          channel: str = EMAIL) -> list[Claimed]:
    """Take up to ``batch`` due rows of ``channel`` for this worker in one short transaction."""
    now = _utc(svc.now())
    until = now + lease
    with svc.db.transaction() as s:
        q = (select(OutboxEmail)
             .where(OutboxEmail.channel == channel, OutboxEmail.status.in_((PENDING, SENDING)),
                    OutboxEmail.next_attempt_at <= now)
             .order_by(OutboxEmail.next_attempt_at, OutboxEmail.created_at, OutboxEmail.id)
             .limit(batch))
        if svc.db.is_postgres:
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        out = []
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = SENDING, row.attempts + 1, until
            out.append(Claimed(row.id, row.attempts, _recipients(row.recipients), row.subject, row.body, until,
                               row.company_id, row.event, row.requeued_attempts or 0, row.channel,
                               row.payload if isinstance(row.payload, dict) else None))
        return out


def _recipients(value: Any) -> tuple[str, ...]:
    """The row's addresses; a malformed value (not a list of strings) claims as none, and the
    sender refuses it — a bad row never aborts a claim."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


# ---------------------------------------------------------------- marking the outcome


def mark_sent(svc: Services, item: Claimed, note: str | None = None) -> None:
    """Record that the row left. Unfenced on purpose: it left, whoever holds the lease now."""
    values: dict[str, object] = {"status": SENT, "sent_at": _utc(svc.now())}
    if note:
        values["last_error"] = note
    with svc.db.transaction() as s:
        s.execute(update(OutboxEmail)
                  .where(OutboxEmail.id == item.id, OutboxEmail.status != SENT)
                  .values(**values))


def mark_failed(svc: Services, item: Claimed, error: str) -> None:
    """Back to pending with backoff, unless another worker has claimed the row since."""
    with svc.db.transaction() as s:
        s.execute(update(OutboxEmail)
                  .where(OutboxEmail.id == item.id, OutboxEmail.status == SENDING,
                         OutboxEmail.attempts == item.attempt)
                  .values(status=PENDING, next_attempt_at=_utc(svc.now()) + backoff(item.tries),
                          last_error=error))


def mark_dead(svc: Services, item: Claimed, error: str, *, permanent: bool) -> bool:
    """Dead-letter the row and audit it on its company's chain, in one transaction (AUD-1);
    False (and nothing written) if another worker has claimed the row since.

    The entry names the row (id, event, masked recipients), the attempts and the
    error — never its content (subject, body), which is the company's."""
    now = _utc(svc.now())
    with svc.db.transaction() as s:
        done = s.execute(update(OutboxEmail)
                         .where(OutboxEmail.id == item.id, OutboxEmail.status == SENDING,
                                OutboxEmail.attempts == item.attempt)
                         .values(status=DEAD, dead_at=now, last_error=error))
        if done.rowcount != 1:
            return False
        _audit(s, item.company_id, now, action=f"{_noun(item.channel)}_dead_lettered", outbox_id=item.id,
               reason=mask_addresses(error), channel=item.channel,
               details={**_what(item.channel, item.event, item.recipients, item.payload),
                        "attempts": item.tries, "permanent": permanent})
    return True


def _noun(channel: str) -> str:
    return "bank_instruction" if channel == BANK else "email"


def _instruction(payload: Any) -> dict[str, str]:
    """What an audit entry or an operator may see of a bank instruction: its id, kind and amount
    (its accounts are references, but they are left out all the same: the instruction is named,
    not described)."""
    p = payload if isinstance(payload, dict) else {}
    return {"instruction": str(p.get("id", "")), "kind": str(p.get("kind", "")), "amount": str(p.get("amount", ""))}


def _what(channel: str, event: str, recipients: tuple[str, ...], payload: Any) -> dict[str, Any]:
    """What an audit entry may say of a row: its event, and an email's masked recipients or a
    bank instruction's :func:`_instruction`."""
    if channel == BANK:
        return {"event": event, **_instruction(payload)}
    return {"event": event, "recipients": [mask_address(r) for r in recipients]}


def _entry_text(value: str) -> str:
    """Audit text from a row nobody vouches for: one line, bounded, encodable (a lone surrogate
    would make the entry's hash fail, and with it every round that reaches the row)."""
    return header_text(value)[:500]


def _audit(s: Session, company_id: str, now: datetime, *, action: str, outbox_id: str, reason: str | None,
           details: dict[str, Any], channel: str = EMAIL) -> None:
    """An entry on the company's chain, under the company row's lock (the chain head is read under
    it). A row naming no existing company (written by hand) has no chain to go on: logged only."""
    if s.scalars(select(Company.id).where(Company.id == company_id).with_for_update()).first() is None:
        log.warning("outbox %s: %s not audited: no company %r", outbox_id, action, company_id)
        return
    details = {k: ([_entry_text(x) for x in v] if isinstance(v, list) else _entry_text(v) if isinstance(v, str)
                   else v) for k, v in details.items()}
    audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=now, actor_id=None,
                 action=action, object_type=_noun(channel), object_id=outbox_id,
                 reason=_entry_text(reason) if reason else None, rules=("AUD-5",), details=details)


# ---------------------------------------------------------------- one batch: claim, hand to a sender, mark


class Failed(Exception):
    """Raised by a sender: this row was not sent; the rest of the batch goes on.

    ``error`` is stored and logged as given, so the sender makes it credential-free
    and one line. ``permanent``: the far end refused it for good (bounded by
    ``permanent_attempts``). ``final``: retrying cannot help (the row itself is
    unusable), it is dead-lettered at once."""

    def __init__(self, error: str, *, permanent: bool, final: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent
        self.final = final


class Unreachable(Exception):
    """Raised by a sender: there is nobody to hand the row to (``via``, as shown in logs);
    this row and every one after it in the batch back off (a transient failure each)."""

    def __init__(self, error: str, *, via: str) -> None:
        super().__init__(error)
        self.error = error
        self.via = via


#: sends one claimed row; returns a note to keep on the sent row (or None), or raises
#: :class:`Failed` or :class:`Unreachable`; any other exception ends the batch unmarked
Sender = Callable[[Claimed], str | None]


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    #: not sent this round: kept for retry, or dead-lettered (``dead`` of them)
    failed: int = 0
    dead: int = 0
    #: claims whose lease ran out before their turn (left for the next claim)
    expired: int = 0
    #: the far end could not be reached: the rest of the batch waits for its backoff
    unreachable: bool = False
    #: the last failure, credential-free
    error: str | None = None

    def absorb(self, other: SendReport) -> None:
        """Add ``other`` (a later batch or round) to this report."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.expired += other.expired
        self.unreachable = self.unreachable or other.unreachable
        self.error = other.error or self.error


def default_worker_id() -> str:
    """This worker as its log lines name it: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def error_text(text: str) -> str:
    """An error text safe to store and log: one line, no URL credentials, bounded length."""
    return scrub_credentials(" ".join(text.split()))[:500]


def check_bounds(max_attempts: int, permanent_attempts: int) -> None:
    """Refuse retry bounds that would dead-letter a row before its first try."""
    if max_attempts < 1 or permanent_attempts < 1:
        raise ValueError("max_attempts and permanent_attempts must be at least 1")


def deliver_batch(svc: Services, send: Sender, *, batch: int = 50, worker_id: str | None = None,
                  lease: timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS,
                  permanent_attempts: int = PERMANENT_ATTEMPTS, redact: Callable[[str], str] = error_text,
                  noun: str = "row", channel: str = EMAIL) -> SendReport:
    """Claim up to ``batch`` due rows, hand each to ``send`` in turn, record each outcome.

    Rows are claimed before the sender is called, so a far end that is down
    costs each due row one attempt and a backoff — nothing is lost, and the
    next call after the backoff tries again. One row's failure is its own: the
    others of the batch are still handed over (see the module notes on dead
    letters). ``redact`` cleans the text of an exception this module logs
    itself; ``noun`` names the rows in the log line of an unreachable far end.
    """
    check_bounds(max_attempts, permanent_attempts)
    worker_id = worker_id or default_worker_id()
    report = SendReport()
    items = claim(svc, batch=batch, lease=lease, channel=channel)
    report.claimed = len(items)
    if not items:
        return report

    def fail(item: Claimed, error: str, *, permanent: bool, final: bool = False) -> None:
        report.failed += 1
        report.error = error
        bound = permanent_attempts if permanent else max_attempts
        if final or item.tries >= min(bound, max_attempts):
            try:
                dead = mark_dead(svc, item, error, permanent=permanent or final)
            except Exception as exc:  # noqa: BLE001 — the dead letter and its entry rolled back together
                # Never let one row's bookkeeping abort the round: it backs off and is tried again.
                log.error("worker %s: outbox %s could not be dead-lettered (%s: %s); retried later", worker_id,
                          item.id, type(exc).__name__, redact(str(exc))[:200])
            else:
                if dead:
                    report.dead += 1
                    log.warning("worker %s: outbox %s dead-lettered after %d attempt(s): %s", worker_id,
                                item.id, item.tries, error)
                return
        mark_failed(svc, item, error)
        log.warning("worker %s: outbox %s not sent (attempt %d): %s", worker_id, item.id, item.tries, error)

    for n, item in enumerate(items):
        if svc.now() >= item.lease_until:
            report.expired += len(items) - n  # another worker may own them now
            break
        try:
            note = send(item)
        except Failed as exc:
            fail(item, exc.error, permanent=exc.permanent, final=exc.final)
            continue
        except Unreachable as exc:
            # Nobody to talk to: this and every remaining claim wait for the backoff.
            for rest in items[n:]:
                fail(rest, exc.error, permanent=False)
            report.unreachable = True
            log.warning("worker %s: %d %s(s) not sent via %s: %s", worker_id, len(items) - n, noun,
                        exc.via, exc.error)
            break
        mark_sent(svc, item, note)
        report.sent += 1
    if report.sent or report.failed:
        log.info("worker %s: sent %d, failed %d (%d dead-lettered) of %d claimed", worker_id, report.sent,
                 report.failed, report.dead, report.claimed)
    return report


def drain_batches(one_batch: Callable[[], SendReport], *, batch: int) -> SendReport:
    """Run ``one_batch`` (a :func:`deliver_batch` of ``batch`` rows) until nothing is due or the
    far end cannot be reached (the rest waits for its backoff); the reports summed. A failed row
    does not stop the drain: it is backing off or dead, so the next batch holds other rows."""
    total = SendReport()
    while True:
        r = one_batch()
        total.absorb(r)
        if r.claimed < batch or r.unreachable or r.expired:
            return total


# ---------------------------------------------------------------- operators: status and requeue


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered row as an operator sees it: no subject, no body, masked addresses."""

    id: str
    company_id: str
    event: str
    recipients: tuple[str, ...]
    attempts: int
    last_error: str
    dead_at: datetime | None
    channel: str = EMAIL
    #: a bank instruction's id, kind and amount (empty for an email)
    instruction: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxStatus:
    #: rows per status, every status listed (0 when none), both channels together
    counts: dict[str, int]
    #: the newest dead letters first, at most the ``limit`` asked for
    dead_letters: list[DeadLetter]
    #: the same counts per channel (``email``, ``bank``)
    channels: dict[str, dict[str, int]] = field(default_factory=dict)


def outbox_status(svc: Services, *, limit: int = 100) -> OutboxStatus:
    """Counts by status and the newest dead letters (the outbox is shared by every company)."""
    with svc.db.sessions() as s:
        counts = dict.fromkeys(STATUSES, 0)
        channels = {c: dict.fromkeys(STATUSES, 0) for c in CHANNELS}
        for channel, status, n in s.execute(select(OutboxEmail.channel, OutboxEmail.status, func.count())
                                            .group_by(OutboxEmail.channel, OutboxEmail.status)):
            counts[status] = counts.get(status, 0) + n
            channels.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = n
        rows = s.execute(select(OutboxEmail.id, OutboxEmail.company_id, OutboxEmail.event, OutboxEmail.recipients,
                                OutboxEmail.attempts, OutboxEmail.last_error, OutboxEmail.dead_at,
                                OutboxEmail.channel, OutboxEmail.payload)
                         .where(OutboxEmail.status == DEAD)
                         .order_by(OutboxEmail.dead_at.desc(), OutboxEmail.id).limit(limit)).all()
    dead = [DeadLetter(r.id, r.company_id, r.event, tuple(mask_address(a) for a in _recipients(r.recipients)),
                       r.attempts, mask_addresses(scrub_credentials(r.last_error or "")),
                       r.dead_at.replace(tzinfo=timezone.utc) if r.dead_at and r.dead_at.tzinfo is None else r.dead_at,
                       r.channel, _instruction(r.payload) if r.channel == BANK else {})
            for r in rows]
    return OutboxStatus(counts, dead, channels)


def dead_letter_ids(svc: Services) -> list[str]:
    """Every dead letter's id, oldest first (``payroute worker retry --all``)."""
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail.id).where(OutboxEmail.status == DEAD)
                              .order_by(OutboxEmail.dead_at, OutboxEmail.id)))


def requeue(svc: Services, outbox_id: str) -> None:
    """Hand a dead letter back to the worker: pending, due now, with fresh retry bounds; audited
    as ``email_requeued`` on its company's chain. Refused unless the row is a dead letter."""
    now = _utc(svc.now())
    with svc.db.transaction() as s:
        row = s.scalars(select(OutboxEmail).where(OutboxEmail.id == outbox_id).with_for_update()).first() \
            if is_id(outbox_id) else None
        if row is None:
            raise DomainError("not_found", f"no outbox row {outbox_id!r}", rule="AUD-5")
        noun = "bank instruction" if row.channel == BANK else "email"
        if row.status != DEAD:
            raise DomainError("invalid_state", f"outbox {noun} {outbox_id} is {row.status}, not dead-lettered: "
                              "only a dead letter can be requeued", rule="AUD-5")
        previous = mask_addresses(scrub_credentials(row.last_error or ""))
        row.status, row.next_attempt_at, row.dead_at = PENDING, now, None
        row.requeued_attempts = row.attempts
        _audit(s, row.company_id, now, action=f"{_noun(row.channel)}_requeued", outbox_id=row.id, reason=previous,
               channel=row.channel,
               details={**_what(row.channel, row.event, _recipients(row.recipients), row.payload),
                        "attempts": row.attempts})


__all__ = [
    "BACKOFF_BASE", "BACKOFF_CAP", "BANK", "CHANNELS", "Claimed", "EMAIL", "DEAD", "DEFAULT_LEASE", "DeadLetter", "Failed", "MAX_ATTEMPTS",
    "OutboxStatus", "PENDING", "PERMANENT_ATTEMPTS", "SENDING", "SENT", "STATUSES", "SendReport", "Sender",
    "Unreachable", "backoff", "check_bounds", "claim", "dead_letter_ids", "default_worker_id", "deliver_batch",
    "drain_batches", "error_text", "mark_dead", "mark_failed", "mark_sent", "outbox_status", "requeue",
]
