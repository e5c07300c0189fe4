"""Daily overdue reminders (STEP-12, STEP-13), queued into the outbox by the worker.

Which reminders are due is the pure runtime's answer
(:func:`engine.runtime.instance.reminders_due` over the company calendar: every
overdue day whose 08:00 company time has passed, the awaited assignees who
have not answered, the manager on the first overdue day). This module turns
that answer into outbox rows, exactly once each:

- Each row's ``dedupe_key`` is ``overdue:<instance>:<occurrence>:<day>:<user>``
  and the column is unique, so a second run — or a second worker at the same
  moment — cannot queue the same reminder again. A unique-key collision is
  read as "already queued" (the insert sits in a savepoint, so the rest of
  the batch survives it).
- The disbursement row is locked while the instance is read (the same lock
  ``respond`` takes), so a reminder is never queued after the answer that
  closes the step committed.
- Missed days are not back-filled: after an outage only the newest overdue
  day is reminded (three "still waiting" emails at once say nothing more than
  one). The manager's first-day email (STEP-13) is still sent once, late,
  when its day was missed.

:func:`queue_reminders` is an operator/worker function (``payroute worker``), not a user
command: it acts for no user of any company, so it takes no ``(actor, company_id)`` and checks
no permission; it only queues what STEP-12/13 say is due, for every company at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.outbox import emails
from engine.runtime import instance
from engine.runtime.calendar import CompanyCalendar
from engine.runtime.instance import Snapshot
from engine.security.permissions import eligible_users
from engine.service.instance_store import calendar_of, load_state, lock_disbursement
from engine.service.instances import email_subject
from engine.services import Services
from engine.store.tables import (
    Company,
    Instance,
    OutboxEmail,
    User,
)

log = logging.getLogger("payroute.reminders")

EVENT = "overdue"


@dataclass(frozen=True)
class PlannedReminder:
    """One overdue email to one user for one overdue day of one occurrence."""

    user: str
    day: date
    occurrence: int
    step: str
    due: date
    to_manager: bool

    def key(self, instance_id: str) -> str:
        """The dedupe key before :func:`emails.enqueue` appends the user id."""
        return f"{EVENT}:{instance_id}:{self.occurrence}:{self.day.isoformat()}"


def plan(state: instance.InstanceState, calendar: CompanyCalendar, now: datetime, manager: str,
         eligible: frozenset[str]) -> list[PlannedReminder]:
    """STEP-12/13 for one instance: the newest overdue day's reminders, plus the manager's
    first-day one if that day has passed unsent (the caller drops what is already queued)."""
    due = instance.reminders_due(state, calendar, now, manager)
    current = state.current
    if not due or current is None or current.due is None:
        return []
    latest = due[-1]
    out = [PlannedReminder(u, latest.day, latest.occurrence, latest.step, current.due,
                           to_manager=(u == manager and u not in current.awaited))
           for u in latest.recipients if u == manager or u in eligible]
    first = due[0]
    if first is not latest and first.first_day and manager not in latest.recipients:
        out.append(PlannedReminder(manager, first.day, first.occurrence, first.step, current.due,
                                   to_manager=True))
    return out


def _candidates(s: Session, now: datetime) -> list[tuple[str, str, str]]:
    """Active, unblocked instances with an open response occurrence that may be overdue.

    Cheap SQL pre-filter: a company's local date is at most one day ahead of
    UTC, so nothing due on or after the day after tomorrow (UTC) can be overdue.
    """
    horizon = now.astimezone(timezone.utc).date() + timedelta(days=1)
    q = (select(Instance.id, Instance.company_id, Instance.disbursement_id)
         .where(Instance.status == "active", Instance.blocked.is_(False), Instance.open_seq.is_not(None),
                Instance.open_due.is_not(None), Instance.open_due <= horizon)
         .order_by(Instance.started_at, Instance.id))
    return [(i, c, d) for i, c, d in s.execute(q)]


def _missing(s: Session, inst: Instance, company: Company, now: datetime
             ) -> tuple[instance.InstanceState, list[PlannedReminder]]:
    """The instance's due reminders that are not in the outbox yet."""
    state = load_state(s, inst)
    manager = Snapshot.from_data(inst.snapshot).manager
    planned = plan(state, calendar_of(company), now, manager, eligible_users(s, company.id))
    if not planned:
        return state, []
    keys = {f"{p.key(inst.id)}:{p.user}" for p in planned}
    queued = set(s.scalars(select(OutboxEmail.dedupe_key).where(OutboxEmail.dedupe_key.in_(keys))))
    return state, [p for p in planned if f"{p.key(inst.id)}:{p.user}" not in queued]


def _needs_work(svc: Services, instance_id: str, company_id: str, now: datetime) -> bool:
    """Read-only look first: a worker polling every few seconds must not take the
    disbursement lock (or SQLite's write lock) for reminders that are already queued."""
    with svc.db.sessions() as s:
        company, inst = s.get(Company, company_id), s.get(Instance, instance_id)
        if company is None or inst is None or inst.status != "active":
            return False
        return bool(_missing(s, inst, company, now)[1])


def _queue_for(svc: Services, instance_id: str, company_id: str, disbursement_id: str,
               now: datetime) -> int:
    """One instance, one transaction: lock, re-read, enqueue what is missing."""
    if not _needs_work(svc, instance_id, company_id, now):
        return 0
    with svc.tx() as s:
        company = s.get(Company, company_id)
        if company is None:
            return 0
        d = lock_disbursement(s, company_id, disbursement_id)
        inst = s.get(Instance, instance_id)
        if inst is None or inst.status != "active" or d.canceled_at is not None:
            return 0
        state, missing = _missing(s, inst, company, now)
        current = state.current
        if not missing or current is None:
            return 0
        subject = email_subject(s, company, d)
        names = {u.id: u.name for u in s.scalars(select(User).where(User.id.in_(list(current.awaited))))}
        waiting = [names[u] for u in current.awaited if u in names and current.response_of(u) is None]
        count = 0
        for p in missing:
            details: dict[str, object] = {"due": p.due.isoformat(), "overdue_day": p.day.isoformat(),
                                          "overdue_days": (p.day - p.due).days}
            if p.to_manager:
                details["to_manager"] = True
                details["waiting_for"] = ", ".join(waiting)
            try:
                with s.begin_nested():
                    written = emails.enqueue(s, now=now, subject=subject, event=EVENT, recipients=[p.user],
                                          step=p.step, details=details, dedupe_key=p.key(inst.id))
            except IntegrityError:
                continue  # a concurrent run queued it first: already queued
            count += written
        return count


def queue_reminders(svc: Services) -> int:
    """Queue every overdue reminder that is due now and not yet queued; returns how many.

    Safe to run from any number of workers at once and as often as wanted.
    """
    now = svc.now()
    with svc.db.sessions() as s:
        candidates = _candidates(s, now)
    total = 0
    for instance_id, company_id, disbursement_id in candidates:
        try:
            total += _queue_for(svc, instance_id, company_id, disbursement_id, now)
        except DomainError as exc:
            if exc.code != "state_conflict":
                raise
            log.info("reminders for instance %s skipped this round: %s", instance_id, exc.message)
    return total
