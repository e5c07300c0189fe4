"""AUD-3 against someone who can write the database: MACed entries and heads, a chain required for
every company and disbursement, signed checkpoints kept outside the database (issue 8).

Every attack is done with raw SQL, as an attacker with database access would; the attacker knows
the (public) hashing scheme but not the audit key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from engine.security import keys
from engine.service import audit, instances
from engine.service.disbursements import PaymentLine, create_disbursement
from engine.store.tables import AuditEntry
from tests.world import World, build_world

KEY_A = "a" * 40
KEY_B = "b" * 40


def _url(svc) -> str:
    return svc.db.engine.url.render_as_string(hide_password=False)


def _flow(svc) -> tuple[World, str]:
    """The reference workflow's company and one disbursement whose Controller approved (7+ entries)."""
    w = build_world(svc)
    d = create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                            payments=[PaymentLine(w.invoice("120000.00"))]).id
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    return w, d


def _rows(svc, chain: str) -> list[Any]:
    with svc.db.sessions() as s:
        return list(s.execute(select(AuditEntry.__table__).where(AuditEntry.chain == chain)
                              .order_by(AuditEntry.seq)))


def _sql(svc, statement: str, *params: dict[str, Any]) -> None:
    with svc.db.engine.begin() as conn:
        for p in params or ({},):
            conn.execute(text(statement), p)


def _breaks(svc, chain: str | None = None, against: audit.Checkpoint | None = None) -> list[audit.Break]:
    with svc.db.sessions() as s:
        return audit.verify(s, chain, against=against)


def _rewrite(svc, chain: str, seq: int, reason: str, *, strip_macs: bool = False) -> None:
    """Rewrite entry ``seq``'s reason and recompute every hash and link after it, and the head
    (``strip_macs``: and blank the MACs it cannot recompute, as if written before MACs existed)."""
    _sql(svc, "UPDATE audit_entries SET reason = :r WHERE chain = :c AND seq = :s",
         {"r": reason, "c": chain, "s": seq})
    prev = audit.GENESIS
    for row in _rows(svc, chain):
        if row.seq >= seq:
            new = audit.entry_hash(row, prev)
            _sql(svc, "UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE id = :i",
                 {"p": prev, "h": new, "i": row.id})
            prev = new
        else:
            prev = row.hash
    last = _rows(svc, chain)[-1]
    _sql(svc, "UPDATE audit_heads SET seq = :s, hash = :h WHERE chain = :c", {"s": last.seq, "h": prev, "c": chain})
    if strip_macs:
        _sql(svc, "UPDATE audit_entries SET mac = NULL WHERE chain = :c AND seq >= :s", {"c": chain, "s": seq})
        _sql(svc, "UPDATE audit_heads SET mac = NULL WHERE chain = :c", {"c": chain})


# ------------------------------------------------------------------ the attacks, without a checkpoint


@pytest.mark.rule("AUD-3")
@pytest.mark.parametrize("strip_macs,code", [(False, "bad_mac"), (True, "no_mac")])
def test_a_rewritten_entry_with_recomputed_hashes_is_found(svc, cli, strip_macs: bool, code: str) -> None:
    """Rewriting an entry and recomputing the hashes after it (and the head) fails without the key."""
    _, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    _rewrite(svc, chain, 3, "nothing to see", strip_macs=strip_macs)
    breaks = _breaks(svc)
    assert [(b.chain, b.seq, b.code) for b in breaks] == [(chain, 3, code)]
    result = cli("audit", "verify", "--database-url", _url(svc))
    assert result.code == 1 and f"broken: {chain} entry 3:" in result.out


@pytest.mark.rule("AUD-3")
def test_deleting_the_newest_entries_with_the_head_row_is_found(svc, cli) -> None:
    _, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    rows = _rows(svc, chain)
    _sql(svc, "DELETE FROM audit_entries WHERE chain = :c AND seq > :s", {"c": chain, "s": rows[-3].seq})
    _sql(svc, "DELETE FROM audit_heads WHERE chain = :c", {"c": chain})
    assert [(b.chain, b.code) for b in _breaks(svc)] == [(chain, "no_head")]
    assert cli("audit", "verify", "--database-url", _url(svc)).code == 1


@pytest.mark.rule("AUD-3")
def test_rewinding_the_head_is_found(svc) -> None:
    """The newest entries deleted and the head moved back to the last one left: its MAC no longer fits."""
    _, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    rows = _rows(svc, chain)
    keep = rows[-3]
    _sql(svc, "DELETE FROM audit_entries WHERE chain = :c AND seq > :s", {"c": chain, "s": keep.seq})
    _sql(svc, "UPDATE audit_heads SET seq = :s, hash = :h, mac = :m WHERE chain = :c",
         {"s": keep.seq, "h": keep.hash, "m": keep.mac, "c": chain})
    breaks = _breaks(svc)
    assert [(b.chain, b.seq, b.code) for b in breaks] == [(chain, keep.seq, "bad_head")]


@pytest.mark.rule("AUD-3")
def test_a_head_rewound_behind_its_entries_is_found(svc) -> None:
    _, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    rows = _rows(svc, chain)
    _sql(svc, "UPDATE audit_heads SET seq = :s, hash = :h WHERE chain = :c",
         {"s": rows[-2].seq, "h": rows[-2].hash, "c": chain})
    assert [(b.chain, b.seq, b.code) for b in _breaks(svc)] == [(chain, rows[-1].seq, "head_rewound")]


@pytest.mark.rule("AUD-3")
def test_deleting_a_whole_chain_is_found(svc, cli) -> None:
    """A disbursement (or company) that exists must have its chain, with a head."""
    w, d = _flow(svc)
    for chain in (audit.disbursement_chain(d), audit.company_chain(w.company)):
        _sql(svc, "DELETE FROM audit_entries WHERE chain = :c", {"c": chain})
        _sql(svc, "DELETE FROM audit_heads WHERE chain = :c", {"c": chain})
    breaks = _breaks(svc)
    assert {(b.chain, b.code) for b in breaks} == {(audit.disbursement_chain(d), "missing_chain"),
                                                   (audit.company_chain(w.company), "missing_chain")}
    result = cli("audit", "verify", "--database-url", _url(svc), "--format", "json")
    data = json.loads(result.out)
    assert result.code == 1 and data["result"] == "error"
    assert {b["code"] for b in data["breaks"]} == {"missing_chain"}


@pytest.mark.rule("AUD-3")
def test_truncating_both_audit_tables_is_found(svc, cli) -> None:
    w, d = _flow(svc)
    _sql(svc, "DELETE FROM audit_entries")
    _sql(svc, "DELETE FROM audit_heads")
    chains = {b.chain for b in _breaks(svc)}
    assert {audit.company_chain(w.company), audit.company_chain(w.payees["Acme Concrete"]),
            audit.disbursement_chain(d)} <= chains
    result = cli("audit", "verify", "--database-url", _url(svc))
    assert result.code == 1 and "verified 0 audit entries" in result.out
    assert f"broken: {audit.disbursement_chain(d)} entry 1: the disbursement exists but has no audit chain" \
        in result.out


# ------------------------------------------------------------------ the key


@pytest.mark.rule("AUD-3")
def test_a_log_written_with_another_key_does_not_verify(svc, monkeypatch) -> None:
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", KEY_A)
    _, d = _flow(svc)
    assert _breaks(svc) == []
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", KEY_B)
    codes = {b.code for b in _breaks(svc)}
    assert codes == {"bad_mac"}


@pytest.mark.rule("AUD-3")
def test_without_a_key_nothing_is_written(svc, monkeypatch, cli) -> None:
    """No key and no development switch: a state change is refused whole, and verify says why (exit 2)."""
    w, d = _flow(svc)
    before = len(_rows(svc, audit.disbursement_chain(d)))
    monkeypatch.delenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY")
    with pytest.raises(keys.KeyConfigError, match="PAYROUTE_AUDIT_KEY"):
        instances.respond(svc, w.cfo, w.company, d, answer="Approve",
                          occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence)
    assert len(_rows(svc, audit.disbursement_chain(d))) == before
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"
    result = cli("audit", "verify", "--database-url", _url(svc))
    assert result.code == 2 and "PAYROUTE_AUDIT_KEY" in result.err and "Traceback" not in result.err


def test_the_key_comes_from_the_environment_or_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY")
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", KEY_A)
    from_env = keys.audit_key()
    assert (from_env.origin, from_env.development) == ("PAYROUTE_AUDIT_KEY", False)
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY_A + "\n")
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY_FILE", str(key_file))
    with pytest.raises(keys.KeyConfigError, match="both"):
        keys.audit_key()
    monkeypatch.delenv("PAYROUTE_AUDIT_KEY")
    from_file = keys.audit_key()
    assert from_file.origin == "PAYROUTE_AUDIT_KEY_FILE" and from_file.key_id == from_env.key_id
    assert KEY_A not in repr(from_file)
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(keys.KeyConfigError, match="cannot read"):
        keys.audit_key()
    monkeypatch.delenv("PAYROUTE_AUDIT_KEY_FILE")
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", "short")
    with pytest.raises(keys.KeyConfigError, match="too short"):
        keys.audit_key()
    monkeypatch.delenv("PAYROUTE_AUDIT_KEY")
    with pytest.raises(keys.KeyConfigError, match="no key"):
        keys.audit_key()
    monkeypatch.setenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY", "1")
    dev = keys.audit_key()
    assert dev.development and dev.key_id != from_env.key_id
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", KEY_A)  # a real key wins over the switch
    assert not keys.audit_key().development


def test_the_development_key_is_announced(svc, cli) -> None:
    _flow(svc)
    result = cli("audit", "verify", "--database-url", _url(svc))
    assert result.code == 0 and "INSECURE built-in development key" in result.err


# ------------------------------------------------------------------ checkpoints


def _checkpoint(svc, cli, path: Path, *extra: str) -> Any:
    result = cli("audit", "checkpoint", "--database-url", _url(svc), "-o", str(path), *extra)
    assert result.code == 0, result.err
    return result


@pytest.mark.rule("AUD-3")
def test_checkpoint_cli_text_and_verify_against_it(svc, cli, tmp_path: Path) -> None:
    w, d = _flow(svc)
    path = tmp_path / "audit.checkpoint"
    result = _checkpoint(svc, cli, path)
    assert result.out.startswith("wrote the checkpoint of ") and f"to {path}:" in result.out
    data = json.loads(path.read_text())
    chains = {c["chain"]: c for c in data["chains"]}
    assert data["format"] == "payroute-audit-checkpoint" and data["development_key"] is True
    assert chains[audit.disbursement_chain(d)]["seq"] == len(_rows(svc, audit.disbursement_chain(d)))
    assert audit.company_chain(w.company) in chains and len(data["signature"]) == 64
    # later entries are fine: a checkpoint is a lower bound
    instances.respond(svc, w.cfo, w.company, d, answer="Approve",
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence)
    ok = cli("audit", "verify", "--database-url", _url(svc), "--against", str(path))
    assert ok.code == 0 and f"against the checkpoint of {data['created_at']} ({len(chains)} chains): ok" in ok.out


@pytest.mark.rule("AUD-3")
def test_checkpoint_cli_json_and_standard_output(svc, cli, tmp_path: Path) -> None:
    _flow(svc)
    path = tmp_path / "cp.json"
    report = json.loads(_checkpoint(svc, cli, path, "--format", "json").out)
    written = json.loads(path.read_text())
    assert report["result"] == "ok" and report["file"] == str(path)
    assert report["chains"] == len(written["chains"]) and report["entries"] == written["entries"] > 0
    assert report["key_id"] == written["key_id"] == keys.audit_key().key_id
    to_stdout = cli("audit", "checkpoint", "--database-url", _url(svc))
    assert to_stdout.code == 0 and json.loads(to_stdout.out)["chains"] == written["chains"]
    assert "wrote the checkpoint" in to_stdout.err
    verified = json.loads(cli("audit", "verify", "--database-url", _url(svc), "--against", str(path),
                              "--format", "json").out)
    assert verified["result"] == "ok" and verified["checkpoint"]["signature"] == "ok"
    assert verified["checkpoint"]["chains"] == len(written["chains"])


@pytest.mark.rule("AUD-3")
def test_a_replayed_old_head_is_found_only_against_a_checkpoint(svc, cli, tmp_path: Path) -> None:
    """An attacker who kept an old head row (with its MAC) can rewind the chain to it; the chain alone
    cannot tell, a checkpoint taken after it can."""
    w, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    with svc.db.sessions() as s:
        old = s.execute(text("SELECT seq, hash, mac FROM audit_heads WHERE chain = :c"), {"c": chain}).one()
    instances.respond(svc, w.cfo, w.company, d, answer="Approve",
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence)
    path = tmp_path / "cp.json"
    _checkpoint(svc, cli, path)
    _sql(svc, "DELETE FROM audit_entries WHERE chain = :c AND seq > :s", {"c": chain, "s": old.seq})
    _sql(svc, "UPDATE audit_heads SET seq = :s, hash = :h, mac = :m WHERE chain = :c",
         {"s": old.seq, "h": old.hash, "m": old.mac, "c": chain})
    assert _breaks(svc) == []
    result = cli("audit", "verify", "--database-url", _url(svc), "--against", str(path))
    assert result.code == 1
    assert f"broken: {chain} entry {old.seq + 1}: it has {old.seq} entries, fewer than the" in result.out


@pytest.mark.rule("AUD-3")
@pytest.mark.parametrize("attack", ["truncate", "delete_chain", "rewrite_with_key"])
def test_verify_against_a_checkpoint_finds_missing_and_different_chains(svc, cli, tmp_path: Path,
                                                                        attack: str) -> None:
    w, d = _flow(svc)
    chain = audit.disbursement_chain(d)
    path = tmp_path / "cp.json"
    _checkpoint(svc, cli, path)
    with svc.db.sessions() as s:
        cp, problem = audit.read_checkpoint(path.read_text(), keys.audit_key())
    assert problem is None
    if attack == "truncate":
        _sql(svc, "DELETE FROM audit_entries")
        _sql(svc, "DELETE FROM audit_heads")
        breaks = _breaks(svc, against=cp)
        assert {b.chain for b in breaks} == set(cp.heads) and {b.code for b in breaks} == {"checkpoint_missing"}
    elif attack == "delete_chain":
        _sql(svc, "DELETE FROM audit_entries WHERE chain = :c", {"c": chain})
        _sql(svc, "DELETE FROM audit_heads WHERE chain = :c", {"c": chain})
        breaks = _breaks(svc, chain, against=cp)  # one chain: only the checkpoint knows it existed
        assert [(b.chain, b.code) for b in breaks] == [(chain, "checkpoint_missing")]
        assert _breaks(svc, chain) == []
    else:
        # even someone holding the key (out of scope) cannot rewrite what a kept checkpoint covers
        _rewrite(svc, chain, 2, "rewritten")
        key = keys.audit_key()
        for row in _rows(svc, chain):
            _sql(svc, "UPDATE audit_entries SET mac = :m WHERE id = :i", {"m": audit.entry_mac(key, row.hash), "i": row.id})
        last = _rows(svc, chain)[-1]
        _sql(svc, "UPDATE audit_heads SET mac = :m WHERE chain = :c",
             {"m": audit.head_mac(key, chain, last.seq, last.hash), "c": chain})
        assert _breaks(svc) == []
        breaks = _breaks(svc, against=cp)
        assert [(b.chain, b.code) for b in breaks] == [(chain, "checkpoint_differs")]
    result = cli("audit", "verify", "--database-url", _url(svc), "--against", str(path), "--format", "json")
    assert result.code == 1 and json.loads(result.out)["result"] == "error"


@pytest.mark.rule("AUD-3")
def test_a_checkpoint_whose_signature_fails_is_reported(svc, cli, tmp_path: Path, monkeypatch) -> None:
    _flow(svc)
    path = tmp_path / "cp.json"
    _checkpoint(svc, cli, path)
    data = json.loads(path.read_text())
    data["chains"] = data["chains"][1:]  # hide a chain the attacker deleted
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    result = cli("audit", "verify", "--database-url", _url(svc), "--against", str(forged))
    assert result.code == 1
    assert f"broken: checkpoint {forged}: its signature does not verify (the file was altered)" in result.out
    monkeypatch.setenv("PAYROUTE_AUDIT_KEY", KEY_A)  # the log was written with the development key too
    other = cli("audit", "verify", "--database-url", _url(svc), "--against", str(path), "--format", "json")
    cp = json.loads(other.out)["checkpoint"]
    assert other.code == 1 and cp["signature"] == "invalid" and "names key" in cp["problem"]


def test_a_file_that_is_not_a_checkpoint_is_a_usage_error(svc, cli, tmp_path: Path) -> None:
    _flow(svc)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    result = cli("audit", "verify", "--database-url", _url(svc), "--against", str(bad))
    assert result.code == 2 and "not a checkpoint" in result.err
    missing = cli("audit", "verify", "--database-url", _url(svc), "--against", str(tmp_path / "none.json"))
    assert missing.code == 2 and "Traceback" not in missing.err


@pytest.mark.rule("AUD-3")
def test_no_checkpoint_of_a_broken_log(svc, cli, tmp_path: Path) -> None:
    _, d = _flow(svc)
    _rewrite(svc, audit.disbursement_chain(d), 2, "rewritten")
    path = tmp_path / "cp.json"
    result = cli("audit", "checkpoint", "--database-url", _url(svc), "-o", str(path))
    assert result.code == 1 and "no checkpoint written" in result.out and not path.exists()


# ------------------------------------------------------------------ unusable database URLs


@pytest.mark.parametrize("url", [
    "mysql+nodriver://admin:s3cret@db.example/payroute",
    "mysql://admin:s3cret@db.example/payroute",
    "not a url at all",
    "postgresql://admin:s3cret@127.0.0.1:1/none",
])
@pytest.mark.parametrize("action", ["verify", "checkpoint"])
def test_an_unusable_database_url_is_one_line_and_exit_2(cli, url: str, action: str) -> None:
    result = cli("audit", action, "--database-url", url)
    assert result.code == 2 and result.out == ""
    lines = [line for line in result.err.splitlines() if "development key" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"payroute audit: ") and "s3cret" not in result.err


def test_a_missing_sqlite_file_is_not_created(cli, tmp_path: Path) -> None:
    path = tmp_path / "nothing.sqlite3"
    result = cli("audit", "verify", "--database-url", f"sqlite:///{path}")
    assert result.code == 2 and "no database at" in result.err and not path.exists()
