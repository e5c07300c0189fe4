"""A user's inbox: the workflow steps waiting for their answer, each with why it reached them.

Which disbursements wait on the user is not decided here: it is
:func:`engine.service.disbursement_queries.list_disbursements` with ``awaiting_me`` — the one
definition of "awaited" (an eligible assignee of the current step, not replaced, who has not
answered it: STEP-5, ROLE-8, RESP-1, RESP-4), the viewer checks (GEN-4, GEN-5) and the
overdue test (STEP-9, in the company's time zone, GEN-6). This module adds what a to-do list
needs on top: every page of that list at once, in the order of urgency (overdue first, then the
earliest due date), and a reason in words for each row, read from the route the instance took
(:func:`engine.runtime.arrival.arrival`, COND-13).

:func:`inbox` is a query of the engine's contract ``(svc, actor, company_id)``; it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from engine.runtime.arrival import arrival
from engine.service.directory import get_company
from engine.service.disbursement_queries import MAX_LIMIT, DisbursementSummary, list_disbursements
from engine.service.instance_store import calendar_of, compiled_of, load_state
from engine.services import Services
from engine.store.tables import Instance

__all__ = ["Inbox", "InboxItem", "inbox"]


@dataclass(frozen=True)
class InboxItem:
    """One step waiting for the viewer's answer."""

    #: the disbursement's id (its page is /disbursements/<id>)
    id: str
    project_id: str
    project_name: str
    #: GEN-3: the exact total of its invoice payments
    total: Decimal
    invoice_count: int
    #: the response step waiting, and its occurrence (what an answer names, RESP-2)
    step: str
    occurrence: int
    #: when the step was entered (an aware instant; show it in :attr:`Inbox.time_zone`)
    waiting_since: datetime
    #: STEP-9: already a date in the company's time zone; None for a step without a due period
    due_date: date | None
    overdue: bool
    #: "needs CFO review"
    needs: str
    #: "disbursement amount $120,000.00 is over $100,000.00"
    because: str
    #: the disbursement's version (GEN-7), for an answer sent from the inbox
    version: int

    @property
    def reason(self) -> str:
        """The one line: ``needs CFO review: disbursement amount $120,000.00 is over $100,000.00``."""
        return f"{self.needs}: {self.because}"


@dataclass(frozen=True)
class Inbox:
    """Every step waiting for the viewer, most urgent first."""

    items: tuple[InboxItem, ...]
    #: GEN-6: the company's IANA time zone, the one the due dates are in
    time_zone: str
    #: the company's date today, in that zone (what "overdue" was judged against)
    today: date

    @property
    def overdue_count(self) -> int:
        return sum(1 for item in self.items if item.overdue)


def _urgency(item: InboxItem) -> tuple[bool, date, datetime, str]:
    """Overdue first; then by due date (a step with no due date last); then the longest waiting."""
    return (not item.overdue, item.due_date or date.max, item.waiting_since, item.id)


def _awaiting(svc: Services, actor: str, company_id: str) -> list[DisbursementSummary]:
    """Every disbursement whose current step awaits ``actor``: all pages of the list."""
    rows: list[DisbursementSummary] = []
    after: str | None = None
    while True:
        page = list_disbursements(svc, actor, company_id, awaiting_me=True, after=after, limit=MAX_LIMIT)
        rows.extend(page.items)
        if page.next_after is None:
            return rows
        after = page.next_after


def inbox(svc: Services, actor: str, company_id: str) -> Inbox:
    """The steps waiting for ``actor``'s answer in the company, overdue first, then by due date.

    Who is awaited, who may look and what is overdue are :func:`list_disbursements`'s answers
    (a stranger or deactivated member is ``not_found``, GEN-5; someone who is not an eligible
    payments user is awaited nowhere, ROLE-8). Each row's reason comes from the occurrences its
    instance recorded on the way to the step, against the version it runs (WF-12, COND-13). A
    step answered between the list's read and this one's is left out: it no longer waits."""
    summaries = _awaiting(svc, actor, company_id)
    with svc.db.sessions() as s:
        company = get_company(s, company_id)
        today = calendar_of(company).local_date(svc.now())
        ids = [row.id for row in summaries]
        instances = {inst.disbursement_id: inst for inst in s.scalars(
            select(Instance).where(Instance.disbursement_id.in_(ids), Instance.status == "active"))} if ids else {}
        items: list[InboxItem] = []
        for row in summaries:
            inst = instances.get(row.id)
            if inst is None or row.current_step is None or row.current_occurrence is None:
                continue
            state = load_state(s, inst)
            current = state.current
            if current is None or current.seq != row.current_occurrence:
                continue
            why = arrival(state, compiled_of(s, svc, inst).config, current.seq)
            assert why is not None  # the current occurrence exists
            items.append(InboxItem(row.id, row.project_id, row.project_name, row.total, row.invoice_count,
                                   current.step, current.seq, current.entered_at, row.due_date, row.overdue,
                                   why.needs, why.because, row.version))
        return Inbox(tuple(sorted(items, key=_urgency)), company.time_zone, today)
