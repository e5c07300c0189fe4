"""No email can stall the outbox: each fails on its own, and a hopeless one becomes a dead letter.

Rules: AUD-5 (emails leave after commit, at least once; a send failure never
undoes a state change — and never holds back the other emails, of any
company: the outbox is shared), AUD-1 (the dead-letter transition and its
audit entry commit together), AUD-6 (the rendered step-entered email).

Every test runs a real SMTP server on loopback (aiosmtpd) and a real database.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.outbox import emails
from engine.outbox.lease import BACKOFF_BASE, MAX_ATTEMPTS, requeue
from engine.outbox.smtp import message_id, send_pending
from engine.service import audit, directory, disbursements, instances
from engine.service.demo import seed_company
from engine.service.disbursements import PaymentLine
from engine.store.tables import OutboxEmail, new_id
from tests.world import REFERENCE, build_world

from .conftest import Collector, SmtpServer, free_port


def _rows(svc) -> list[OutboxEmail]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail).order_by(OutboxEmail.created_at, OutboxEmail.id)))


def _row(svc, row_id: str) -> OutboxEmail:
    with svc.db.sessions() as s:
        return s.get(OutboxEmail, row_id)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _raw_row(svc, company_id: str, *, subject: str = "[payroute] hand-written",
             recipients: Any = ("controller@gc.example",), body: str = "Hello,\nsecret body text\n",
             event: str = "step_entered", minutes_early: int = 1) -> str:
    """An outbox row written straight into the table (not rendered by engine.outbox.emails), due first."""
    row_id = new_id()
    at = svc.now() - timedelta(minutes=minutes_early)
    with svc.db.transaction() as s:
        s.execute(insert(OutboxEmail).values(
            id=row_id, company_id=company_id, created_at=at, event=event,
            recipients=list(recipients) if isinstance(recipients, tuple) else recipients,
            subject=subject, body=body, status="pending", attempts=0, next_attempt_at=at))
    return row_id


def _second_company(svc) -> tuple[str, str]:
    """"Other GC" (other.example) running the reference workflow, with one disbursement rejected:
    emails of its own in the shared outbox, and no reminder for a wall-clock worker to add."""
    seeded = seed_company(svc, load_workflow(REFERENCE, "workflow.flow"),
                          people=("creator", "manager", "controller", "cfo"),
                          roles={"Controller": ["controller"], "CFO": ["cfo"], "Workflow Manager": ["manager"]},
                          manager="manager", company_name="Other GC", domain="other.example")
    u = seeded.users
    invoice = directory.create_invoice(svc, u["admin"], seeded.company, seeded.project, payee=seeded.payee,
                                       number="O-1", amount_due="300.00").id
    d = disbursements.create_disbursement(svc, u["creator"], seeded.company, project_id=seeded.project,
                                          funding_account=seeded.funding, payments=[PaymentLine(invoice)]).id
    instances.respond(svc, u["controller"], seeded.company, d,
                      occurrence=instances.view(svc, seeded["admin"], seeded.company, d).current_occurrence,
                      answer="Reject")
    return seeded.company, d


def _start(w, amount: str = "250.00") -> str:
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=[PaymentLine(w.invoice(amount))]).id


def _rejected(w) -> str:
    """A finished workflow: the CLI worker runs on the wall clock, so no reminder is due (deterministic)."""
    d = _start(w)
    instances.respond(w.svc, w.controller, w.company, d,
                      occurrence=instances.view(w.svc, w.admin, w.company, d).current_occurrence, answer="Reject")
    return d


def _audited(svc, company_id: str, action: str) -> list[Any]:
    with svc.db.sessions() as s:
        return [e for e in audit.entries(s, audit.company_chain(company_id)) if e.action == action]


@dataclass
class Rejecting(Collector):
    """Refuses RCPT for addresses starting with ``refuse`` with ``reply`` while ``active``."""

    refuse: str = "manager@"
    reply: str = "550 5.1.1 <manager@gc.example>: mailbox unavailable"
    active: bool = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        if self.active and address.startswith(self.refuse):
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def rejecting() -> Any:
    server = SmtpServer(free_port(), Rejecting()).start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- one bad email, the rest goes out


@pytest.mark.rule("AUD-5", "AUD-1")
def test_a_cr_subject_fails_alone_and_every_company_s_healthy_emails_go_out(
        svc, database_url, smtp_server, cli) -> None:
    """AUD-5: a row whose subject carries a CR (``Bcc:`` smuggled in) is first in the shared outbox,
    before three healthy emails of each of two companies. `worker --once` sends the six, fails the
    bad one with its reason (a dead letter: the same row can never be built), prints one line and
    no traceback; the bad row is audited on its own company's chain (AUD-1), without its body."""
    w = build_world(svc)
    _rejected(w)
    other, _ = _second_company(svc)
    bad = _raw_row(svc, w.company, subject="[payroute] Action required: Controller\rBcc: thief@evil.example",
                   minutes_early=10)
    healthy = {r.id for r in _rows(svc)} - {bad}
    assert len(healthy) == 12

    r = cli("worker", "--once", "--database-url", database_url, "--smtp-url", smtp_server.url)
    assert "Traceback" not in r.out + r.err
    assert r.out.startswith("queued 0 reminder(s); sent 12, failed 1 (1 dead-lettered) via smtp://127.0.0.1:")
    lines = r.err.strip().splitlines()
    assert r.code == 2 and len(lines) == 1
    assert lines[0].startswith("payroute worker: 1 email(s) not sent: 1 dead-lettered (see `payroute worker status`)")

    assert Counter(m.message_id for m in smtp_server.messages) == Counter(message_id(i) for i in healthy)
    assert {m.rcpt_tos[0].split("@")[1] for m in smtp_server.messages} == {"gc.example", "other.example"}
    assert not any("thief" in str(m.raw) for m in smtp_server.messages)
    assert {r.status for r in _rows(svc) if r.id in healthy} == {"sent"}
    row = _row(svc, bad)
    assert (row.status, row.attempts) == ("dead", 1) and row.dead_at is not None
    assert row.last_error == "cannot build the message: the subject holds the control character U+000D"

    (entry,) = _audited(svc, w.company, "email_dead_lettered")
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("email", bad, None)
    assert entry.details == {"event": "step_entered", "recipients": ["c***@gc.example"], "attempts": 1,
                             "permanent": True}
    assert "secret body text" not in json.dumps([entry.details, entry.reason, entry.before, entry.after])
    assert _audited(svc, other, "email_dead_lettered") == []
    with svc.db.sessions() as s:
        assert audit.verify(s) == []

    again = cli("worker", "--once", "--database-url", database_url, "--smtp-url", smtp_server.url)
    assert again.code == 0 and "sent 0, failed 0 via" in again.out  # the dead letter is not retried
    assert len(smtp_server.messages) == 12


@pytest.mark.rule("AUD-5")
def test_rows_that_cannot_be_built_are_each_dead_lettered_with_their_reason(svc, smtp_server) -> None:
    """AUD-5: whatever a hand-written row holds — a line or paragraph separator or an escape
    sequence in the subject, a recipient with a CR, a lone surrogate or a second address, no
    recipient, recipients that are not a list — that row alone fails with its reason (and its
    audit entry still hashes); the others are sent."""
    w = build_world(svc)
    _start(w)
    cases = {
        _raw_row(svc, w.company, subject="Overdue\x0bBcc: thief@evil.example"):
            "the subject holds the control character U+000B",
        _raw_row(svc, w.company, subject="Overdue\u2028Bcc: thief@evil.example"):
            "the subject holds the control character U+2028",
        _raw_row(svc, w.company, subject="Overdue \x1b[2J"):
            "the subject holds the control character U+001B",
        _raw_row(svc, w.company, recipients=("cfo@gc.example\r\nBcc: thief@evil.example",)):
            "a recipient address holds the control character U+000D",
        _raw_row(svc, w.company, recipients=("cfo@gc.example, thief@evil.example",)):
            "a recipient address is not one plain address",
        _raw_row(svc, w.company, recipients=("cfo@gc\ud800.example\x1b",)):
            "a recipient address holds the control character U+D800",
        _raw_row(svc, w.company, recipients=()): "no recipient address",
        _raw_row(svc, w.company, recipients={"to": "cfo@gc.example"}): "no recipient address",
    }
    report = send_pending(svc, smtp_server.url)
    assert (report.claimed, report.sent, report.failed, report.dead) == (11, 3, 8, 8)
    assert not report.unreachable
    for row_id, reason in cases.items():
        row = _row(svc, row_id)
        assert (row.status, row.last_error) == ("dead", f"cannot build the message: {reason}")
    assert len(smtp_server.messages) == 3
    assert not any(b"thief" in m.raw for m in smtp_server.messages)
    assert len(_audited(svc, w.company, "email_dead_lettered")) == 8
    with svc.db.sessions() as s:
        assert audit.verify(s) == []


@pytest.mark.rule("AUD-5", "AUD-6", "STEP-11")
def test_a_step_name_with_line_breaks_is_rendered_on_one_line(svc, smtp_server) -> None:
    """STEP-11/AUD-6 rendering (defence in depth, engine.outbox.emails): a step name carrying CR, LF, a
    line separator and a lone surrogate is queued as a one-line subject, so the email is sent —
    to its one recipient, with no smuggled header — and a very long name is cut to the column."""
    w = build_world(svc)
    subject = emails.Subject(w.company, "GC Builders", "d" * 32, Decimal("10.00"), "Tower A")
    evil = "Controller\r\nBcc: thief@evil.example\r\n\r\nReview\u2028\ud800"
    with svc.db.transaction() as s:
        assert emails.enqueue(s, now=svc.now(), subject=subject, event="step_entered",
                              recipients=[w.controller], step=evil) == 1
        emails.enqueue(s, now=svc.now(), subject=subject, event="step_entered", recipients=[w.cfo],
                       step="Review " * 100)
    rows = {r.recipients[0]: r for r in _rows(svc)}
    assert rows["controller@gc.example"].subject == (
        "[payroute] Action required: Controller Bcc: thief@evil.example Review \ufffd"
        " — disbursement dddddddd ($10.00)")
    assert "\r" not in rows["controller@gc.example"].body and "\ud800" not in rows["controller@gc.example"].body
    long = rows["cfo@gc.example"].subject
    assert len(long) <= emails.SUBJECT_WIDTH and "Review…" in long and long.endswith("($10.00)")

    report = send_pending(svc, smtp_server.url)
    assert (report.sent, report.failed) == (2, 0)
    got = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert set(got) == {"controller@gc.example", "cfo@gc.example"}
    msg = got["controller@gc.example"].message
    assert msg["Bcc"] is None and msg["Subject"] == rows["controller@gc.example"].subject


# ---------------------------------------------------------------- permanent and transient refusals


@pytest.mark.rule("AUD-5", "AUD-1")
def test_a_550_is_dead_lettered_after_two_tries_and_shown_by_worker_status(
        svc, clock, database_url, rejecting, cli) -> None:
    """AUD-5: the server answers 550 for the manager. The first refusal backs off (a 5xx may be
    misused for a passing condition); the second makes it a dead letter: never claimed again,
    audited (AUD-1), and listed by `worker status` (text and JSON) with a masked address, the
    attempts and the error — while the other emails went out at the first try."""
    w = build_world(svc)
    _start(w)
    first = send_pending(svc, rejecting.url)
    assert (first.sent, first.failed, first.dead) == (2, 1, 0)
    (refused,) = [r for r in _rows(svc) if r.status != "sent"]
    assert (refused.status, refused.attempts) == ("pending", 1) and "550" in refused.last_error
    clock.advance(seconds=30)
    second = send_pending(svc, rejecting.url)
    assert (second.claimed, second.failed, second.dead) == (1, 1, 1)
    row = _row(svc, refused.id)
    assert (row.status, row.attempts) == ("dead", 2)
    clock.advance(days=2)
    assert send_pending(svc, rejecting.url).claimed == 0
    assert len(rejecting.messages) == 2

    (entry,) = _audited(svc, w.company, "email_dead_lettered")
    assert entry.details == {"event": "step_entered", "recipients": ["m***@gc.example"], "attempts": 2,
                             "permanent": True}
    assert "manager@" not in (entry.reason or "") and "550" in entry.reason and entry.rules == ["AUD-5"]

    text = cli("worker", "status", "--database-url", database_url)
    assert text.code == 0, text.err
    assert text.out.splitlines()[0] == "outbox: 0 pending, 0 sending, 2 sent, 1 dead"
    assert f"  {refused.id}  step_entered  to m***@gc.example  company {w.company}  attempts 2" in text.out
    assert "last error: SMTPRecipientsRefused: m***@gc.example: 550 5.1.1 <m***@gc.example>" in text.out
    assert "manager@gc.example" not in text.out
    out = cli("worker", "--database-url", database_url, "status", "--format", "json")
    data = json.loads(out.out)
    assert data["counts"] == {"pending": 0, "sending": 0, "sent": 2, "dead": 1}
    (dead,) = data["dead_letters"]
    assert {k: dead[k] for k in ("id", "company_id", "event", "recipients", "attempts")} == {
        "id": refused.id, "company_id": w.company, "event": "step_entered", "recipients": ["m***@gc.example"],
        "attempts": 2}
    assert "550" in dead["last_error"] and dead["dead_at"].startswith("2026-03-02T14:00:30")


@pytest.mark.rule("AUD-5")
def test_a_451_is_retried_with_growing_backoff_and_dead_lettered_only_after_the_maximum(
        svc, clock, rejecting) -> None:
    """AUD-5: a 4xx is transient: the email is retried after 30 s, 1 min, 2 min … (capped at an
    hour) and becomes a dead letter only when the 10th attempt fails."""
    rejecting.handler.reply = "451 4.3.0 try again later"
    w = build_world(svc)
    _start(w)
    assert send_pending(svc, rejecting.url).sent == 2
    (row,) = [r for r in _rows(svc) if r.status != "sent"]
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        current = _row(svc, row.id)
        assert (current.status, current.attempts) == ("pending", attempt)
        waits.append(_naive(current.next_attempt_at) - _naive(clock()))
        clock.advance(seconds=waits[-1].total_seconds() - 1)
        assert send_pending(svc, rejecting.url).claimed == 0  # not before its time
        clock.advance(seconds=1)
        assert send_pending(svc, rejecting.url).failed == 1
    assert waits == [min(BACKOFF_BASE * 2 ** (n - 1), timedelta(hours=1)) for n in range(1, MAX_ATTEMPTS)]
    final = _row(svc, row.id)
    assert (final.status, final.attempts) == ("dead", MAX_ATTEMPTS) and "451" in final.last_error
    (entry,) = _audited(svc, w.company, "email_dead_lettered")
    assert entry.details["permanent"] is False and entry.details["attempts"] == MAX_ATTEMPTS


@pytest.mark.rule("AUD-5")
def test_the_maximum_is_configurable(svc, clock, rejecting) -> None:
    """AUD-5: `max_attempts` bounds transient failures (`--max-attempts` on the command line)."""
    rejecting.handler.reply = "450 4.2.1 mailbox busy"
    w = build_world(svc)
    _start(w)
    send_pending(svc, rejecting.url, max_attempts=2)
    clock.advance(seconds=30)
    r = send_pending(svc, rejecting.url, max_attempts=2)
    assert (r.failed, r.dead) == (1, 1)


@pytest.mark.rule("AUD-5")
def test_smtp_down_is_transient_and_bounded_by_the_maximum(svc, clock, idle_port_server) -> None:
    """AUD-5: a server that is down costs every due email one attempt per round and stops the
    batch; only after `max_attempts` rounds do they become dead letters."""
    w = build_world(svc)
    _start(w)
    first = send_pending(svc, idle_port_server.url, max_attempts=2)
    assert first.unreachable and (first.failed, first.dead) == (3, 0)
    clock.advance(seconds=30)
    second = send_pending(svc, idle_port_server.url, max_attempts=2)
    assert (second.failed, second.dead) == (3, 3)
    assert {r.status for r in _rows(svc)} == {"dead"}
    assert all("ConnectionRefusedError" in r.last_error for r in _rows(svc))


# ---------------------------------------------------------------- requeue


@pytest.mark.rule("AUD-5")
def test_an_operator_requeues_a_dead_letter_and_it_goes_out(svc, clock, database_url, rejecting, cli) -> None:
    """AUD-5: `worker --once --max-permanent-attempts 1` dead-letters the manager's two emails (550);
    once the mailbox is fixed, `worker retry ID` (audited) hands one back and the next round sends
    it, once, with its original Message-ID; the other stays dead. Retrying a row that is not a dead
    letter, or an unknown id, is refused."""
    w = build_world(svc)
    _rejected(w)
    r = cli("worker", "--once", "--max-permanent-attempts", "1", "--database-url", database_url,
            "--smtp-url", rejecting.url)
    assert r.code == 2 and "Traceback" not in r.err
    assert r.err.startswith("payroute worker: 2 email(s) not sent: 2 dead-lettered (see `payroute worker status`)")
    dead, other = [row for row in _rows(svc) if row.status == "dead"]
    sent = next(row for row in _rows(svc) if row.status == "sent")

    rejecting.handler.active = False
    refused = cli("worker", "retry", sent.id, "--database-url", database_url)
    assert refused.code == 2
    assert refused.err.strip() == (f"payroute worker: outbox email {sent.id} is sent, not dead-lettered: "
                                   "only a dead letter can be requeued")
    ok = cli("worker", "retry", dead.id, "--database-url", database_url)
    assert (ok.code, ok.out, ok.err) == (0, f"requeued {dead.id}\n", "")
    row = _row(svc, dead.id)
    assert (row.status, row.dead_at, row.requeued_attempts) == ("pending", None, 1)
    (entry,) = _audited(svc, w.company, "email_requeued")
    assert (entry.object_id, entry.details["recipients"]) == (dead.id, ["m***@gc.example"])

    again = cli("worker", "--once", "--database-url", database_url, "--smtp-url", rejecting.url)
    assert again.code == 0 and "sent 1, failed 0" in again.out
    assert [m.message_id for m in rejecting.messages].count(message_id(dead.id)) == 1
    assert (_row(svc, dead.id).status, _row(svc, other.id).status) == ("sent", "dead")
    assert cli("worker", "retry", "nope", "--database-url", database_url).err.strip() == (
        "payroute worker: no outbox row 'nope'")


@pytest.mark.rule("AUD-5")
def test_a_requeued_email_gets_fresh_bounds(svc, clock, rejecting) -> None:
    """AUD-5: after a requeue the bounds count afresh (the first new 550 backs off again), while
    `attempts` keeps growing; `requeue` refuses an unknown id and a row that is not dead."""
    w = build_world(svc)
    _start(w)
    send_pending(svc, rejecting.url)
    clock.advance(seconds=30)
    assert send_pending(svc, rejecting.url).dead == 1
    (row,) = [r for r in _rows(svc) if r.status == "dead"]
    requeue(svc, row.id)
    with pytest.raises(DomainError) as e:
        requeue(svc, row.id)
    assert (e.value.code, e.value.rule) == ("invalid_state", "AUD-5")
    with pytest.raises(DomainError) as e:
        requeue(svc, "0" * 32)
    assert e.value.code == "not_found"
    r = send_pending(svc, rejecting.url)
    assert (r.claimed, r.failed, r.dead) == (1, 1, 0)
    current = _row(svc, row.id)
    assert (current.status, current.attempts) == ("pending", 3)
    assert _naive(current.next_attempt_at) == _naive(clock() + BACKOFF_BASE)  # backoff restarts too
    clock.advance(seconds=30)
    assert send_pending(svc, rejecting.url).dead == 1
    assert len(_audited(svc, w.company, "email_dead_lettered")) == 2


def test_worker_retry_all_and_status_hide_credentials(svc, database_url, cli) -> None:
    """`worker retry --all` requeues every dead letter; `worker status` never shows a password an
    error quoted, nor a raw control character."""
    w = build_world(svc)
    ids = [_raw_row(svc, w.company, subject=f"s{k}") for k in range(2)]
    with svc.db.transaction() as s:
        for k, row_id in enumerate(ids):
            row = s.get(OutboxEmail, row_id)
            row.status, row.attempts, row.dead_at = "dead", 2, svc.now()
            row.last_error = f"SMTPAuthenticationError via smtp://relay:Hunter2@LEAK@mail.example:25 \x1b[2J {k}"
    status = cli("worker", "status", "--database-url", database_url)
    assert "LEAK" not in status.out and "Hunter2" not in status.out and "\x1b" not in status.out
    assert "smtp://relay:***@mail.example:25 \\x1b[2J" in status.out
    r = cli("worker", "retry", "--all", "--database-url", database_url)
    assert r.code == 0 and sorted(r.out.split()) == sorted(["requeued"] * 2 + ids)
    assert {_row(svc, i).status for i in ids} == {"pending"}
    assert len(_audited(svc, w.company, "email_requeued")) == 2
    assert cli("worker", "retry", "--database-url", database_url).code == 2  # nothing named
