"""Outbox delivery over a real SMTP server (aiosmtpd on loopback): recipients, subjects, once.

Rules: AUD-5 (after commit, at least once, unique id), AUD-6 (email events),
STEP-11 (step entered), END-3 (end emails), END-4 (approved).
"""

from __future__ import annotations

from collections import Counter

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from engine.outbox.smtp import message_id, send_pending
from engine.payments import bank_accounts
from engine.service import disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import OutboxEmail
from engine.service.demo import seed_funding_account
from tests.world import build_world

from .conftest import Collector, SmtpServer, free_port


def _outbox(svc) -> list[OutboxEmail]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail).order_by(OutboxEmail.created_at, OutboxEmail.id)))


def _by_subject_start(messages, start: str) -> set[str]:
    return {m.rcpt_tos[0] for m in messages if m.subject.startswith(start)}


@pytest.mark.rule("STEP-11", "END-3", "END-4", "AUD-5", "AUD-6")
def test_reference_workflow_emails_arrive_once_with_right_recipients_and_subjects(svc, clock, smtp_server) -> None:
    """STEP-11, END-3, END-4, AUD-5, AUD-6: Controller then CFO approve $120,000.00; every
    email arrives once, addressed to the user it names, with its event's subject; a second
    worker run sends nothing more."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(w.invoice("120000.00"))]).id
    first = send_pending(svc, smtp_server.url)
    assert (first.claimed, first.sent, first.failed) == (3, 3, 0)
    assert _by_subject_start(smtp_server.messages, "[payroute] Action required: Controller Review") == {
        "controller@gc.example", "manager@gc.example", "creator@gc.example"}

    clock.advance(hours=1)
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    clock.advance(hours=1)
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    instances.respond(svc, w.cfo, w.company, d, occurrence=occ, answer="Approve")

    second = send_pending(svc, smtp_server.url)
    again = send_pending(svc, smtp_server.url)
    assert (second.sent, second.failed) == (12, 0)
    assert (again.claimed, again.sent) == (0, 0)  # AUD-5: nothing twice

    msgs = smtp_server.messages
    assert _by_subject_start(msgs, "[payroute] Action required: CFO Review") == {
        "cfo@gc.example", "manager@gc.example", "creator@gc.example"}
    assert _by_subject_start(msgs, "[payroute] Disbursement Approved") == {          # END-3
        "controller@gc.example", "cfo@gc.example", "manager@gc.example", "creator@gc.example"}
    assert _by_subject_start(msgs, "[payroute] Ready to authorize") == {            # END-4
        "admin@gc.example", "creator@gc.example", "manager@gc.example", "controller@gc.example",
        "cfo@gc.example"}
    assert all(m.subject.endswith(f"disbursement {d[:8]} ($120,000.00)") for m in msgs)

    rows = _outbox(svc)
    assert len(msgs) == len(rows) == 15
    # AUD-5: one message per outbox row, carrying the row's stable unique id
    assert Counter(m.message_id for m in msgs) == Counter(message_id(r.id) for r in rows)
    assert all(r.status == "sent" and r.sent_at is not None and r.attempts == 1 for r in rows)
    for m in msgs:
        assert m.rcpt_tos == [str(m.message["To"])]  # one user per message: envelope = header
        assert m.message["Auto-Submitted"] == "auto-generated"
    controller_mail = next(m for m in msgs if m.rcpt_tos == ["controller@gc.example"])
    body = controller_mail.message.get_content()
    assert "Hello Controller," in body and "“Controller Review”" in body and "$120,000.00" in body


@pytest.mark.rule("AUD-5")
def test_messages_carry_no_secrets_and_the_password_only_reaches_auth(svc, clock) -> None:
    """AUD-5 and the no-secrets rule of engine.outbox.emails: with an authenticated relay, the SMTP
    password is used for AUTH only — it is in no message, subject, body or stored error —
    and neither the funding account nor internal hashes leak into emails."""
    password = "s3cret-Pa55word!"
    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == password.encode(), handled=False)

    server = SmtpServer(free_port(), Collector()).start(
        authenticator=authenticator, auth_require_tls=False)
    try:
        w = build_world(svc)
        chase = seed_funding_account(svc, w.admin, w.company, "FA-CHASE-00998877")
        d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                              funding_account=chase,
                                              payments=[PaymentLine(w.invoice("900.00"))]).id
        instances.respond(svc, w.controller, w.company, d,
                          occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence, answer="Approve")

        wrong = send_pending(svc, f"smtp://relay%40gc.example:wrong-{password}@127.0.0.1:{server.port}")
        assert wrong.sent == 0 and wrong.failed == wrong.claimed > 0
        for row in _outbox(svc):
            assert row.status == "pending" and "535" in (row.last_error or "")
            assert password not in row.last_error
        clock.advance(minutes=1)
        ok = send_pending(svc, f"smtp://relay%40gc.example:{password}@127.0.0.1:{server.port}")
        assert ok.sent == ok.claimed == len(_outbox(svc)) > 0
        assert seen[-1] == (b"relay@gc.example", password.encode())
        with svc.db.sessions() as s:
            ids = [i for (i,) in s.execute(select(OutboxEmail.id))]
        for m in server.messages:
            assert password.encode() not in m.raw
            assert b"FA-CHASE-00998877" not in m.raw
            text = m.subject + m.message.get_content()
            assert "lock_version" not in text and "hash" not in text.lower()
            assert all(i not in m.message.get_content() for i in ids)  # ids only in Message-ID
    finally:
        server.stop()
