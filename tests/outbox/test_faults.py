"""Faults around the outbox: SMTP down, crashes, expired claims, two workers.

Rules: AUD-1 (state change and outbox row commit together or not at all),
AUD-5 (sent after commit, at least once, a stable unique Message-ID, a send
failure never undoes a state change; SMTP down: emails wait and go out later).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from engine.outbox import lease
from engine.outbox.lease import BACKOFF_BASE, DEFAULT_LEASE, claim
from engine.outbox.smtp import message_id, send_pending
from engine.service import disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.db import Database
from engine.service.instance_store import load_state
from engine.store.tables import Instance, OutboxEmail
from tests.world import build_world


def _rows(svc) -> list[OutboxEmail]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def _start(svc, amount: str = "120000.00"):
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(w.invoice(amount))]).id
    return w, d


@pytest.mark.rule("AUD-5")
def test_smtp_down_keeps_emails_pending_with_backoff_and_sends_them_when_it_is_up(
        svc, clock, idle_port_server) -> None:
    """AUD-5: nothing listens on the port — each due row fails, stays pending with a growing
    backoff and a readable error; the state change stands; once a server listens and the
    backoff has passed, every email goes out exactly once."""
    w, d = _start(svc)
    url = idle_port_server.url
    start = clock()

    down = send_pending(svc, url)
    assert (down.claimed, down.sent, down.failed) == (3, 0, 3)
    rows = _rows(svc)
    assert {r.status for r in rows} == {"pending"}
    assert all(r.attempts == 1 and r.sent_at is None for r in rows)
    assert all(r.next_attempt_at.replace(tzinfo=None) == (start + BACKOFF_BASE).replace(tzinfo=None)
               for r in rows)
    assert all("ConnectionRefusedError" in r.last_error for r in rows)
    assert instances.view(svc, w.admin, w.company, d).current_step == "Controller Review"  # state kept

    assert send_pending(svc, url).claimed == 0  # still backing off
    clock.advance(seconds=30)
    again = send_pending(svc, url)
    assert again.failed == 3
    assert all(r.attempts == 2 and r.next_attempt_at.replace(tzinfo=None)
               == (clock() + 2 * BACKOFF_BASE).replace(tzinfo=None) for r in _rows(svc))  # doubled

    idle_port_server.start()
    assert send_pending(svc, url).claimed == 0  # the backoff is honoured even when the server is up
    clock.advance(minutes=1)
    up = send_pending(svc, url)
    assert (up.sent, up.failed) == (3, 0)
    assert send_pending(svc, url).claimed == 0
    assert sorted(m.message_id for m in idle_port_server.messages) == sorted(message_id(r.id) for r in _rows(svc))
    assert all(r.status == "sent" and r.attempts == 3 for r in _rows(svc))


@pytest.mark.rule("AUD-5")
def test_backoff_doubles_and_is_capped() -> None:
    """AUD-5: retries spread out (30 s, 1 min, 2 min …) but never wait more than an hour."""
    assert [lease.backoff(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert lease.backoff(8) == timedelta(hours=1) == lease.backoff(500)


@pytest.mark.rule("AUD-1", "RESP-8")
def test_a_failed_transaction_leaves_neither_state_nor_email(svc, clock, smtp_server) -> None:
    """AUD-1: the process dies between the state change and its commit (here: the commit
    itself fails) — the response, the new step and its outbox rows are all absent, so the
    worker has nothing to send; the retried request then commits both together."""
    w, d = _start(svc)
    assert send_pending(svc, smtp_server.url).sent == 3
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence

    class Crash(RuntimeError):
        pass

    def crash(session) -> None:  # noqa: ANN001
        raise Crash("power cut before COMMIT")

    event.listen(svc.db.sessions, "before_commit", crash)
    try:
        with pytest.raises(Crash):
            instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    finally:
        event.remove(svc.db.sessions, "before_commit", crash)

    view = instances.view(svc, w.admin, w.company, d)
    assert (view.current_step, view.current_occurrence) == ("Controller Review", occ)
    with svc.db.sessions() as s:
        assert [r for i in s.scalars(select(Instance)) for o in load_state(s, i).occurrences for r in o.responses] == []
    assert len(_rows(svc)) == 3
    assert send_pending(svc, smtp_server.url).claimed == 0

    instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    assert send_pending(svc, smtp_server.url).sent == 3
    assert {m.rcpt_tos[0] for m in smtp_server.messages if "CFO Review" in m.subject} == {
        "cfo@gc.example", "manager@gc.example", "creator@gc.example"}


@pytest.mark.rule("AUD-5")
def test_a_worker_that_dies_after_claiming_leaves_the_emails_to_the_next_after_the_lease(
        svc, clock, smtp_server) -> None:
    """AUD-5: a claim is exclusive for its lease; when the claimer vanished, the rows are
    claimed again once the lease expires and sent once."""
    _start(svc)
    held = claim(svc, batch=50)  # the worker claims, then its process is killed
    assert len(held) == 3
    assert send_pending(svc, smtp_server.url).claimed == 0
    clock.advance(seconds=DEFAULT_LEASE.total_seconds() - 1)
    assert send_pending(svc, smtp_server.url).claimed == 0
    clock.advance(seconds=1)
    report = send_pending(svc, smtp_server.url)
    assert report.sent == 3
    assert Counter(m.message_id for m in smtp_server.messages) == Counter(message_id(c.id) for c in held)
    assert all(r.status == "sent" and r.attempts == 2 for r in _rows(svc))


@pytest.mark.rule("AUD-5")
def test_a_crash_after_the_server_accepted_resends_with_the_same_message_id(
        svc, clock, smtp_server, monkeypatch) -> None:
    """AUD-5 (at least once, duplicates droppable): the worker dies after the server took the
    first message but before marking it sent. After the lease, that message goes out again
    with the same Message-ID — the receiver can drop it — and no other message is doubled."""
    _start(svc)

    class Killed(BaseException):
        pass

    real_mark = lease.mark_sent

    def die(*_args, **_kwargs):  # noqa: ANN002, ANN003
        raise Killed()

    monkeypatch.setattr(lease, "mark_sent", die)
    with pytest.raises(Killed):
        send_pending(svc, smtp_server.url)
    monkeypatch.setattr(lease, "mark_sent", real_mark)
    assert len(smtp_server.messages) == 1
    first_id = smtp_server.messages[0].message_id

    assert send_pending(svc, smtp_server.url).claimed == 0  # leased by the dead worker
    clock.advance(seconds=DEFAULT_LEASE.total_seconds())
    assert send_pending(svc, smtp_server.url).sent == 3
    counts = Counter(m.message_id for m in smtp_server.messages)
    assert counts[first_id] == 2
    assert set(counts) == {message_id(r.id) for r in _rows(svc)}
    assert sum(counts.values()) == 4  # one duplicate, carrying the same id


@pytest.mark.rule("AUD-5")
def test_a_message_the_server_refuses_is_retried_without_holding_back_the_others(svc, clock) -> None:
    """AUD-5: a per-message refusal (here 550 for one recipient) backs off that row only."""
    from .conftest import Collector, SmtpServer, free_port

    class Picky(Collector):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
            if address.startswith("manager@"):
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    server = SmtpServer(free_port(), Picky()).start()
    try:
        _start(svc)
        report = send_pending(svc, server.url)
        assert (report.sent, report.failed) == (2, 1)
        failed = [r for r in _rows(svc) if r.status == "pending"]
        assert [r.recipients for r in failed] == [["manager@gc.example"]]
        assert "550" in failed[0].last_error
        assert {m.rcpt_tos[0] for m in server.messages} == {"controller@gc.example", "creator@gc.example"}
    finally:
        server.stop()


@pytest.mark.rule("AUD-5")
def test_two_workers_drain_one_outbox_and_send_every_email_exactly_once(
        svc, clock, database_url, smtp_server) -> None:
    """AUD-5 / scale-out: two workers, each with its own connection pool, claim with
    FOR UPDATE SKIP LOCKED (PostgreSQL) or BEGIN IMMEDIATE (SQLite) from one outbox while
    the server is slow; every email arrives exactly once and every row ends sent."""
    w = build_world(svc)
    for k in range(12):
        disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5000.00", vendor=f"Vendor {k}"))])
    expected = {message_id(r.id) for r in _rows(svc)}
    assert len(expected) == 36
    smtp_server.handler.delay = 0.01

    sent: dict[str, int] = {}
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def run(name: str) -> None:
        db = Database(database_url)
        try:
            own = Services(db, clock=clock)
            go.wait()
            total = 0
            while True:
                r = send_pending(own, smtp_server.url, batch=4, worker_id=name)
                assert r.failed == 0, r.error
                total += r.sent
                if r.claimed == 0:
                    break
            sent[name] = total
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = Counter(m.message_id for m in smtp_server.messages)
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert sum(sent.values()) == 36
    assert {r.status for r in _rows(svc)} == {"sent"}
