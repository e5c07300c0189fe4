"""Migration 0003 (outbox dead letters): existing rows keep their place in the queue; going back
loses no email."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from engine.outbox.lease import outbox_status, requeue
from engine.services import Services
from engine.store.db import Database, make_engine
from engine.store.migrate import alembic_config, current_heads, upgrade

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
#: written with raw SQL, as a 0002b database holds them (naive UTC binds read back on both backends)
RAW_NOW = NOW.replace(tzinfo=None)


@pytest.mark.rule("AUD-5")
def test_0003_keeps_the_queue_and_the_downgrade_turns_dead_letters_back_into_pending_rows(
        database_url: str) -> None:
    """AUD-5: after 0003 the pending row is still due with its attempts (never requeued: 0); a dead
    letter made afterwards is pending and due again after a downgrade, so no email is lost."""
    upgrade(database_url, "0002b")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO outbox (id, company_id, created_at, event, recipients, subject, body, status, "
                "attempts, next_attempt_at, last_error) VALUES "
                "('o0', 'c-1', :now, 'step_entered', '[\"a@gc.example\"]', 's', 'b', 'pending', 3, :now, "
                "'451 busy'), "
                "('o1', 'c-1', :now, 'step_entered', '[\"a@gc.example\"]', 's', 'b', 'sent', 1, :now, NULL)"),
                {"now": RAW_NOW})
    finally:
        engine.dispose()
    upgrade(database_url, "0003")
    assert current_heads(database_url) == ["0003"]
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            rows = {r.id: r for r in conn.execute(sa.text(
                "SELECT id, status, attempts, requeued_attempts, dead_at FROM outbox"))}
            assert {k: (r.status, r.attempts, r.requeued_attempts, r.dead_at) for k, r in rows.items()} == {
                "o0": ("pending", 3, 0, None), "o1": ("sent", 1, 0, None)}
            conn.execute(sa.text("UPDATE outbox SET status = 'dead', dead_at = :now WHERE id = 'o0'"),
                         {"now": RAW_NOW + timedelta(minutes=1)})
    finally:
        db.dispose()
    upgrade(database_url, "head")  # today's operator functions read today's schema
    db = Database(database_url)
    try:
        svc = Services(db, clock=lambda: NOW + timedelta(minutes=2))
        status = outbox_status(svc)
        assert status.counts == {"pending": 0, "sending": 0, "sent": 1, "dead": 1}
        assert [(d.id, d.recipients, d.attempts) for d in status.dead_letters] == [("o0", ("a***@gc.example",), 3)]
        requeue(svc, "o0")  # no company c-1: requeued all the same, logged rather than audited
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT requeued_attempts FROM outbox WHERE id = 'o0'")).scalar() == 3
            conn.execute(sa.text("UPDATE outbox SET status = 'dead' WHERE id = 'o0'"))
    finally:
        db.dispose()

    command.downgrade(alembic_config(database_url), "0002b")
    assert current_heads(database_url) == ["0002b"]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert dict(conn.execute(sa.text("SELECT id, status FROM outbox")).all()) == {"o0": "pending",
                                                                                           "o1": "sent"}
            assert "dead_at" not in {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
    finally:
        engine.dispose()
