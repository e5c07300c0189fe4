"""Revision 0004 seals an existing audit log with the key: chains written before it still verify,
chains already broken stay broken, companies without a chain get one (AUD-3, issue 8)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from engine.security import keys
from engine.service import audit
from engine.services import Services
from engine.store.db import Database, make_engine
from engine.store.migrate import alembic_config, current_heads, upgrade
from tests.store.test_migrations import HEAD
from tests.world import build_world


def _engine_log_then_0002b(database_url: str, clock) -> tuple[str, str]:
    """A log the engine wrote (a company, its payee, a template...), taken back to 0002b: no MACs."""
    upgrade(database_url)
    db = Database(database_url)
    try:
        w = build_world(Services(db, clock=clock))
    finally:
        db.dispose()
    command.downgrade(alembic_config(database_url), "0002b")
    return w.company, w.payees["Acme Concrete"]


def _sql(url: str, statement: str, **params: object) -> list[sa.Row]:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _verify(url: str) -> list[audit.Break]:
    db = Database(url)
    try:
        with db.sessions() as s:
            return audit.verify(s)
    finally:
        db.dispose()


@pytest.mark.rule("AUD-3")
def test_chains_written_before_0004_still_verify_and_broken_ones_stay_broken(database_url: str, clock,
                                                                            cli) -> None:
    company, payee = _engine_log_then_0002b(database_url, clock)
    # while unkeyed, someone edits the payee's chain (no recompute): that break must survive the sealing
    _sql(database_url, "UPDATE audit_entries SET reason = 'edited' WHERE chain = :c AND seq = 1",
         c=audit.company_chain(payee))
    orphan = uuid.uuid4().hex  # a company as revision 0002b's data migration made them: no chain
    _sql(database_url, "INSERT INTO companies (id, name, time_zone, holidays, workflows_enabled, segregation, "
         "is_payee, lock_version) VALUES (:i, 'Migrated payee', 'America/New_York', '[]', true, "
         "'invoice_approver', true, 0)", i=orphan)
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    breaks = _verify(database_url)
    assert [(b.chain, b.seq, b.code) for b in breaks] == [(audit.company_chain(payee), 1, "altered")]
    opened = _sql(database_url, "SELECT action, object_type, seq FROM audit_entries WHERE chain = :c",
                  c=audit.company_chain(orphan))
    assert [tuple(r) for r in opened] == [("chain_opened", "company", 1)]
    unsealed = _sql(database_url, "SELECT count(*) FROM audit_entries WHERE mac IS NULL")[0][0]
    assert unsealed == 1  # only the edited entry
    assert _sql(database_url, "SELECT count(*) FROM audit_entries WHERE chain = :c AND mac IS NULL",
                c=audit.company_chain(company))[0][0] == 0
    result = cli("audit", "verify", "--database-url", database_url)
    assert result.code == 1 and result.out.count("broken:") == 1


@pytest.mark.rule("AUD-3")
def test_sealing_without_a_key_changes_nothing(database_url: str, clock, monkeypatch) -> None:
    _engine_log_then_0002b(database_url, clock)
    monkeypatch.delenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY")
    with pytest.raises(keys.KeyConfigError, match="revision 0004 seals the existing audit log"):
        upgrade(database_url)
    assert current_heads(database_url) == ["0002b"]
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", "k" * 40)
    upgrade(database_url)
    assert _verify(database_url) == []


def test_an_empty_database_needs_no_key(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY")
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
