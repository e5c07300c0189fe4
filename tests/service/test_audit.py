"""The audit log: every change audited in its transaction, hash-chained, verifiable (AUD-1..AUD-3, AUD-7)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from engine.errors import DomainError
from engine.service import audit, instances
from engine.service.disbursements import PaymentLine, create_disbursement
from engine.store.tables import AuditEntry, OutboxEmail
from tests.world import build_world


def _flow(svc):
    w = build_world(svc)
    d = create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                            payments=[PaymentLine(w.invoice("120000.00"))]).id
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve",
                      comment="lien waivers attached")
    return w, d


@pytest.mark.rule("AUD-2", "COND-13")
def test_entries_carry_actor_rules_version_and_fact_values(svc) -> None:
    """AUD-2, COND-13: actor, action, before/after, rule IDs, version hash, the facts compared."""
    w, d = _flow(svc)
    with svc.db.sessions() as s:
        entries = audit.entries(s, audit.disbursement_chain(d))
    resp = next(e for e in entries if e.action == "response_submitted")
    assert resp.actor_id == w.controller and "RESP-1" in resp.rules
    assert resp.content_hash.startswith("sha256:") and resp.version_id
    assert resp.details["comment"] == "lien waivers attached"
    cond = next(e for e in entries if e.action == "condition_decided")
    assert cond.details["facts"] == [{"fact": "disbursement_amount", "value": "120000.00",
                                      "text": "$120,000.00"}]
    assert cond.before == {"workflow_status": "Under Review"}


@pytest.mark.rule("AUD-3")
@pytest.mark.parametrize("tamper,expected_seq", [
    ("alter", 3), ("delete_middle", 3), ("delete_last", None), ("reorder", 2),
])
def test_verify_reports_the_first_broken_entry(svc, tamper: str, expected_seq: int | None, cli) -> None:
    """AUD-3: altered, deleted (middle or newest) and reordered entries are found."""
    w, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    with svc.db.transaction() as s:
        entries = audit.entries(s, chain)
        last_seq = entries[-1].seq
        if tamper == "alter":
            s.execute(update(AuditEntry).where(AuditEntry.id == entries[2].id).values(reason="nothing to see"))
        elif tamper == "delete_middle":
            s.execute(delete(AuditEntry).where(AuditEntry.id == entries[2].id))
        elif tamper == "delete_last":
            s.execute(delete(AuditEntry).where(AuditEntry.id == entries[-1].id))
        else:
            (a, sa), (b, sb) = (entries[1].id, entries[1].seq), (entries[2].id, entries[2].seq)
            s.execute(update(AuditEntry).where(AuditEntry.id == a).values(seq=-1))
            s.execute(update(AuditEntry).where(AuditEntry.id == b).values(seq=sa))
            s.execute(update(AuditEntry).where(AuditEntry.id == a).values(seq=sb))
    with svc.db.sessions() as s:
        breaks = audit.verify(s)
    assert [b.chain for b in breaks] == [chain]
    assert breaks[0].seq == (expected_seq if expected_seq is not None else last_seq)
    result = cli("audit", "verify", "--database-url", svc.db.engine.url.render_as_string(hide_password=False))
    assert result.code == 1 and f"broken: {chain}" in result.out


def test_verify_passes_on_an_untouched_log(svc, cli) -> None:
    _flow(svc)
    result = cli("audit", "verify", "--database-url", svc.db.engine.url.render_as_string(hide_password=False),
                 "--format", "json")
    assert result.code == 0 and '"result": "ok"' in result.out


@pytest.mark.rule("AUD-1")
def test_a_refused_command_writes_nothing(svc) -> None:
    """AUD-1 and "refused means nothing changes": no audit entry, no email."""
    w, d = _flow(svc)
    with svc.db.sessions() as s:
        before = (s.scalar(select(func.count(AuditEntry.id))), s.scalar(select(func.count(OutboxEmail.id))))
    with pytest.raises(DomainError):
        instances.respond(svc, w.creator, w.company, d, occurrence=4, answer="Approve")
    with svc.db.sessions() as s:
        after = (s.scalar(select(func.count(AuditEntry.id))), s.scalar(select(func.count(OutboxEmail.id))))
    assert after == before


def test_db_upgrade_cli(tmp_path, cli) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = cli("db", "upgrade", "--database-url", url)
    from tests.store.test_migrations import HEAD

    assert result.code == 0 and f"revision {HEAD}" in result.out
    bad = cli("db", "upgrade", "--database-url", "postgresql://nobody:secret@127.0.0.1:1/none")
    assert bad.code == 2 and "secret" not in bad.err and "Traceback" not in bad.err
