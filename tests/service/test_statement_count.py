"""The respond-and-advance write path: two SQL statements on PostgreSQL, six on SQLite (issue 11).

Counted, not timed: a count cannot creep back unseen the way milliseconds can. Both start with
one locked read (the disbursement, its active instance with its whole state, the audit head,
and what the transition reads besides). On PostgreSQL every write is then one statement of
data-modifying ``WITH`` clauses; elsewhere it is one UPDATE of the instance, one of the
disbursement, one multi-row INSERT of audit entries, one UPDATE of the chain head and one
multi-row INSERT of outbox emails (engine/service/transition_rows.py). The transaction's own BEGIN and COMMIT are
not counted (SQLite's ``BEGIN IMMEDIATE`` is sent as a statement, PostgreSQL's BEGIN is not).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from sqlalchemy import event, func, select

from engine.service import audit, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, OutboxEmail
from tests.world import build_world


@contextmanager
def counted(svc) -> Iterator[Counter]:
    """The statements sent on ``svc``'s engine while the block runs, by their first keyword."""
    seen: Counter = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        keyword = statement.split(None, 1)[0].upper()
        if keyword != "BEGIN":
            seen[keyword] += 1

    event.listen(svc.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", count)


def _expected(svc) -> Counter:
    if svc.db.is_postgres:
        return Counter({"SELECT": 1, "WITH": 1})
    return Counter({"SELECT": 1, "UPDATE": 3, "INSERT": 2})


def _entries(svc, d: str) -> list[str]:
    with svc.db.sessions() as s:
        return [e.action for e in audit.entries(s, audit.disbursement_chain(d))]


def _outbox(svc) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(OutboxEmail.id)))


@pytest.mark.rule("RESP-8")
def test_respond_and_advance_is_at_most_six_statements_with_its_audit_entries_and_emails(svc) -> None:
    w = build_world(svc)
    inv = w.invoice("120000.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(inv)]).id
    svc_view = instances.view(svc, w.admin, w.company, d)
    assert svc_view is not None and svc_view.current_step == "Controller Review"
    before, emails_before = len(_entries(svc, d)), _outbox(svc)

    with counted(svc) as controller:  # Approve -> the condition (> $100,000) -> CFO Review
        first = instances.respond(svc, w.controller, w.company, d, occurrence=svc_view.current_occurrence,
                                  answer="Approve")
    assert first.current_step == "CFO Review"
    assert controller == _expected(svc) and sum(controller.values()) <= 6
    written = _entries(svc, d)[before:]
    assert written[:2] == ["response_submitted", "step_decided"] and "step_entered" in written
    assert _outbox(svc) > emails_before  # the CFO is told, in the same transaction

    with counted(svc) as cfo:  # Approve -> Approved (the end step)
        second = instances.respond(svc, w.cfo, w.company, d, occurrence=first.current_occurrence, answer="Approve")
    assert second.workflow_status == "Approved"
    assert cfo == _expected(svc)
    assert "end_reached" in _entries(svc, d)
    with svc.db.sessions() as s:
        assert audit.verify(s) == []
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "response_submitted")) == 2


def test_a_repeated_answer_reads_once_and_writes_nothing(svc) -> None:
    """RESP-4 on the hot path: the same user's identical answer again is one SELECT, no write."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("120000.00"))]).id
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    first = instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    with counted(svc) as again:
        same = instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    assert again == Counter({"SELECT": 1})
    assert (same.workflow_status, same.current_step, same.version) == (first.workflow_status, first.current_step,
                                                                        first.version)
