"""``payroute worker``: one round with --once, defaults from the environment, one-line errors.

Rules: AUD-5 (queued emails go out; SMTP down keeps them for retry), STEP-12
(reminders are queued by the same round); CLI contract: exit 2 for usage/I-O
errors, one line, no traceback, no password.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.payments import authorization, instructions, stored_bank
from engine.payments.bank import Instruction
from engine.service import disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import OutboxEmail
from tests.payments.authorizing import make_ready
from tests.world import build_world


def _rejected_disbursement(svc):
    """A finished workflow, so the wall-clock worker has no reminder to add (deterministic)."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(w.invoice("250.00"))]).id
    instances.respond(svc, w.controller, w.company, d,
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence, answer="Reject")
    return w, d


@pytest.mark.rule("AUD-5")
def test_worker_once_sends_the_outbox(svc, database_url, smtp_server, cli) -> None:
    """AUD-5: one round delivers every queued email, then a second round has nothing to do."""
    _rejected_disbursement(svc)
    r = cli("worker", "--once", "--database-url", database_url, "--smtp-url", smtp_server.url)
    assert (r.code, r.err) == (0, "")
    assert r.out.startswith("queued 0 reminder(s); sent 6, failed 0 via smtp://127.0.0.1:")
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages if "Disbursement Rejected" in m.subject) == [
        "controller@gc.example", "creator@gc.example", "manager@gc.example"]
    again = cli("worker", "--once", "--database-url", database_url, "--smtp-url", smtp_server.url)
    assert again.code == 0 and "sent 0" in again.out
    assert len(smtp_server.messages) == 6


def test_worker_reads_its_urls_from_the_environment(svc, database_url, smtp_server, cli, monkeypatch) -> None:
    """PAYROUTE_DATABASE_URL and PAYROUTE_SMTP_URL are the defaults."""
    _rejected_disbursement(svc)
    monkeypatch.setenv("PAYROUTE_DATABASE_URL", database_url)
    monkeypatch.setenv("PAYROUTE_SMTP_URL", smtp_server.url + "?from=payments%40gc.example")
    r = cli("worker", "--once")
    assert r.code == 0, r.err
    assert len(smtp_server.messages) == 6
    assert {m.mail_from for m in smtp_server.messages} == {"payments@gc.example"}


@pytest.mark.rule("AUD-5")
def test_worker_once_with_smtp_down_exits_2_and_keeps_the_emails(svc, database_url, idle_port_server, cli) -> None:
    """AUD-5: the mail server is down — exit 2 with one line, no password; the rows wait."""
    _rejected_disbursement(svc)
    url = f"smtp://mailer:Hunter2-secret@127.0.0.1:{idle_port_server.port}"
    r = cli("worker", "--once", "--database-url", database_url, "--smtp-url", url)
    assert r.code == 2
    assert "Hunter2-secret" not in r.out + r.err
    assert "smtp://mailer:***@127.0.0.1" in r.out
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("payroute worker: 6 email(s) not sent, kept for retry:")
    assert "Traceback" not in r.err
    with svc.db.sessions() as s:
        assert set(s.scalars(select(OutboxEmail.status))) == {"pending"}


@pytest.mark.parametrize("url, message", [
    (None, "no SMTP server: set PAYROUTE_SMTP_URL or pass --smtp-url"),
    ("http://mail.example", "the scheme must be smtp:// or smtps://"),
    ("smtp://", "no host"),
    ("smtp://mail.example:99999", "bad port"),
    ("smtps://u:Hunter2-secret@mail.example?starttls=1", "smtps:// is already TLS"),
    ("smtp://mail.example?tls=yes", "unknown option tls"),
    ("smtp://mail.example?from=nobody", "from= must be an email address"),
])
def test_missing_or_invalid_smtp_url_is_one_line_exit_2(url, message, cli, monkeypatch, tmp_path) -> None:
    """A missing or malformed SMTP URL: exit 2, one line naming the problem, never the password."""
    monkeypatch.delenv("PAYROUTE_SMTP_URL", raising=False)
    args = ["worker", "--once", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"]
    if url is not None:
        args += ["--smtp-url", url]
    r = cli(*args)
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("payroute worker: ") and message in lines[0]
    assert "Hunter2-secret" not in r.err


def test_worker_without_a_schema_says_to_upgrade(cli, smtp_server, tmp_path) -> None:
    """An empty database: one line pointing at `payroute db upgrade`, exit 2."""
    r = cli("worker", "--once", "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "--smtp-url", smtp_server.url)
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and "payroute db upgrade" in r.err


@pytest.mark.rule("FLOW-9", "AUD-5")
def test_worker_no_email_moves_bank_instructions_and_status_counts_them_by_channel(svc, clock, database_url,
                                                                                  cli) -> None:
    """--no-email needs no SMTP server: the round submits the drawdown to the (stored, simulated)
    bank and leaves the emails queued; ``status`` counts the bank channel and names a bank dead
    letter by its instruction, never by an address."""
    r = make_ready(svc, clock)
    d = r.disbursement(("300.00", None))
    authorization.authorize(svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())
    stored_bank.set_settle_after(svc.db, stored_bank.PRODUCTION, 10 ** 7, now=clock())  # not during this test
    with svc.db.sessions() as s:
        emails_before = s.query(OutboxEmail).filter(OutboxEmail.channel == "email",
                                                    OutboxEmail.status == "pending").count()
    ran = cli("worker", "--once", "--no-email", "--database-url", database_url)
    assert (ran.code, ran.err) == (0, "")
    assert "emails left queued (--no-email)" in ran.out
    assert "bank: submitted 1, failed 0; answers applied 0, pending 1" in ran.out
    status = json.loads(cli("worker", "status", "--format", "json", "--database-url", database_url).out)
    assert status["channels"]["bank"]["sent"] == 1
    assert status["channels"]["email"]["pending"] == emails_before > 0
    # a bank row nobody can send (its payload broken by hand) is dead-lettered and named by its instruction
    with svc.db.transaction() as s:
        instructions.queue(s, now=clock(), company_id=r.w.company, sandbox=False,
                           instruction=Instruction("broken-1", "drawdown", "nowhere", "nobody", Decimal("1.00")))
        row = s.scalars(select(OutboxEmail).where(OutboxEmail.dedupe_key == "bank:broken-1")).one()
        row.payload = {**row.payload, "amount": "1" + "0" * 40}
    again = cli("worker", "--once", "--no-email", "--database-url", database_url)
    assert again.code == 2 and "dead-lettered" in again.err
    shown = cli("worker", "status", "--database-url", database_url).out
    assert "drawdown broken-1 for 1000" in shown and "bank instructions: " in shown
