"""Overdue reminders: once per awaited user per overdue day at 08:00 company time.

Rules: STEP-9 (overdue from 00:00 the day after the due date), STEP-10 (a new
occurrence gets a fresh due date), STEP-12 (a reminder every day to each
awaited assignee who has not answered, until the occurrence closes), STEP-13
(08:00 company time, the manager too on the first overdue day), AUD-5.

The world starts Monday 2026-03-02 09:00 New York; the reference steps are due
in 5 calendar days, so Controller Review is due Saturday 03-07 and overdue from
Sunday 03-08 00:00 — the day US daylight saving time starts (08:00 EDT = 12:00 UTC).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from engine.outbox.smtp import send_pending
from engine.security.permissions import PAYMENTS_DISBURSER
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.service.reminders import queue_reminders
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import OutboxEmail
from tests.roles import grant_role
from tests.world import REFERENCE, build_world


def _at(clock, text: str) -> None:
    clock.moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _overdue(svc) -> list[tuple[str, str]]:
    """(recipient, overdue day) of every queued reminder, in order."""
    with svc.db.sessions() as s:
        rows = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "overdue")
                         .order_by(OutboxEmail.created_at, OutboxEmail.dedupe_key))
        return [(r.recipients[0], r.dedupe_key.split(":")[3]) for r in rows]


def _start(svc, w):
    return disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding,
                                             payments=[PaymentLine(w.invoice("120000.00"))]).id


@pytest.mark.rule("STEP-9", "STEP-10", "STEP-12", "STEP-13", "END-1", "AUD-6")
def test_daily_reminders_at_eight_local_manager_on_first_day_none_after_the_answer(
        svc, clock, smtp_server) -> None:
    """STEP-9, STEP-12, STEP-13, STEP-10: nothing before 08:00 on the first overdue day;
    at 08:00 the awaited Controller and the manager; the next day the Controller only;
    once answered, nothing for that step, and the next step counts its own due date."""
    w = build_world(svc)
    d = _start(svc, w)

    _at(clock, "2026-03-07T23:59:00")  # Saturday 18:59 EST: due today, not overdue
    assert queue_reminders(svc) == 0
    _at(clock, "2026-03-08T11:59:00")  # Sunday 07:59 EDT: overdue, but before 08:00
    assert instances.view(svc, w.admin, w.company, d).overdue_steps == ("Controller Review",)
    assert queue_reminders(svc) == 0
    _at(clock, "2026-03-08T12:00:00")  # Sunday 08:00 EDT
    assert queue_reminders(svc) == 2
    assert queue_reminders(svc) == 0  # once per user per day
    _at(clock, "2026-03-08T22:00:00")
    assert queue_reminders(svc) == 0
    assert sorted(_overdue(svc)) == [("controller@gc.example", "2026-03-08"),
                                     ("manager@gc.example", "2026-03-08")]

    send_pending(svc, smtp_server.url)
    overdue_mail = {m.rcpt_tos[0]: m for m in smtp_server.messages if "Overdue" in m.subject}
    assert set(overdue_mail) == {"controller@gc.example", "manager@gc.example"}
    assert all(m.subject.startswith("[payroute] Overdue: Controller Review") for m in overdue_mail.values())
    assert "still waits for your answer" in overdue_mail["controller@gc.example"].message.get_content()
    manager_body = overdue_mail["manager@gc.example"].message.get_content()
    assert "a workflow you manage, is overdue" in manager_body and "Waiting for: Controller" in manager_body
    assert "Due: 2026-03-07" in manager_body

    _at(clock, "2026-03-09T12:00:00")  # Monday 08:00 EDT: second overdue day
    assert queue_reminders(svc) == 1
    assert _overdue(svc)[-1] == ("controller@gc.example", "2026-03-09")

    _at(clock, "2026-03-09T13:00:00")
    instances.respond(svc, w.controller, w.company, d,
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence, answer="Approve")
    for day in ("2026-03-10", "2026-03-14"):  # CFO Review entered 03-09, due 03-14 (STEP-10)
        _at(clock, f"{day}T12:00:00")
        assert queue_reminders(svc) == 0
    _at(clock, "2026-03-15T12:00:00")
    assert queue_reminders(svc) == 2
    assert sorted(_overdue(svc)[-2:]) == [("cfo@gc.example", "2026-03-15"), ("manager@gc.example", "2026-03-15")]

    _at(clock, "2026-03-15T13:00:00")
    instances.respond(svc, w.cfo, w.company, d,
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence, answer="Approve")
    _at(clock, "2026-03-16T12:00:00")
    assert queue_reminders(svc) == 0  # ended: END-1, no more reminders


@pytest.mark.rule("STEP-12")
def test_requires_all_reminds_only_those_who_have_not_answered(svc, clock) -> None:
    """STEP-12 with STEP-4: on an `all` step, an assignee who approved gets no more reminders;
    the one still awaited keeps getting one a day."""
    source = REFERENCE.replace('assignees: role "Controller"', 'assignees: role "Controller"\n        requires: all', 1)
    w = build_world(svc, source, configure=False)

    second = directory.create_user(svc, "controller2@gc.example", "Second Controller").id
    directory.add_member(svc, w.admin, w.company, "controller2@gc.example")
    grant_role(svc, w.admin, w.company, second, PAYMENTS_DISBURSER)
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller, second], "CFO": [w.cfo],
                               "Workflow Manager": [w.manager]})
    templates.set_default(svc, w.admin, w.company, w.template)
    d = _start(svc, w)
    assert instances.view(svc, w.admin, w.company, d).awaited == (w.controller, second)

    _at(clock, "2026-03-08T12:00:00")
    assert queue_reminders(svc) == 3
    assert sorted(u for u, _ in _overdue(svc)) == ["controller2@gc.example", "controller@gc.example",
                                                   "manager@gc.example"]
    instances.respond(svc, w.controller, w.company, d,
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence, answer="Approve")
    _at(clock, "2026-03-09T12:00:00")
    assert queue_reminders(svc) == 1
    assert _overdue(svc)[-1] == ("controller2@gc.example", "2026-03-09")


@pytest.mark.rule("STEP-12", "STEP-13")
def test_after_an_outage_only_the_newest_day_is_reminded_and_the_manager_once(svc, clock) -> None:
    """STEP-12/13: a worker that was down for days does not send a pile of stale reminders:
    the awaited user gets today's, the manager gets the first-day email once, late."""
    w = build_world(svc)
    _start(svc, w)
    _at(clock, "2026-03-11T12:30:00")  # fourth overdue day, 08:30 EDT
    assert queue_reminders(svc) == 2
    assert sorted(_overdue(svc)) == [("controller@gc.example", "2026-03-11"),
                                     ("manager@gc.example", "2026-03-08")]
    _at(clock, "2026-03-12T12:00:00")
    assert queue_reminders(svc) == 1
    assert _overdue(svc)[-1] == ("controller@gc.example", "2026-03-12")


@pytest.mark.rule("STEP-13", "GEN-6")
def test_reminders_follow_the_company_time_zone(svc, clock) -> None:
    """STEP-13, GEN-6: 08:00 is company time — for a Los Angeles company that is 15:00 UTC."""
    w = build_world(svc)
    directory.update_settings(svc, w.admin, w.company, time_zone="America/Los_Angeles")
    _start(svc, w)  # Monday 06:00 in Los Angeles: due Saturday 03-07 local
    _at(clock, "2026-03-08T14:59:00")
    assert queue_reminders(svc) == 0
    _at(clock, "2026-03-08T15:00:00")
    assert queue_reminders(svc) == 2


@pytest.mark.rule("STEP-12")
def test_concurrent_reminder_runs_queue_each_reminder_once(svc, clock, database_url) -> None:
    """STEP-12 with two workers: queue_reminders racing on two connections still queues each
    (occurrence, user, day) once — the unique dedupe key decides, a collision is 'already queued'."""
    w = build_world(svc)
    for _ in range(4):
        _start(svc, w)
    _at(clock, "2026-03-08T12:00:00")
    results: list[int] = []
    errors: list[BaseException] = []
    go = threading.Barrier(3)

    def run() -> None:
        db = Database(database_url)
        try:
            own = Services(db, clock=clock)
            go.wait()
            results.append(queue_reminders(own))
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sum(results) == 8  # 4 disbursements × (controller + manager)
    with svc.db.sessions() as s:
        keys = list(s.scalars(select(OutboxEmail.dedupe_key).where(OutboxEmail.event == "overdue")))
    assert len(keys) == len(set(keys)) == 8
