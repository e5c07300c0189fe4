"""``payroute tokens create|list|revoke`` (ROLE-12), in-process on a fresh SQLite database."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from engine.service import directory, tokens
from engine.services import Services
from engine.store.db import Database

pytestmark = pytest.mark.rule("ROLE-12")

SECRET = re.compile(r"prt_[A-Za-z0-9_-]{43,}")


@pytest.fixture
def url(tmp_path: Path, cli) -> str:
    url = f"sqlite:///{tmp_path / 'payroute.sqlite3'}"
    assert cli("db", "upgrade", "--database-url", url).code == 0
    db = Database(url)
    try:
        directory.create_user(Services(db), "ops@gc.example", "Ops")
    finally:
        db.dispose()
    return url


def _stored(url: str) -> str:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))


def test_create_prints_the_secret_and_nothing_else(cli, url: str) -> None:
    result = cli("tokens", "create", "ops@gc.example", "--name", "deploy", "--database-url", url)
    assert result.code == 0 and result.err == ""
    assert result.out.endswith("\n") and len(result.out.splitlines()) == 1
    secret = result.out.strip()
    assert SECRET.fullmatch(secret) and len(secret) >= 47
    assert secret not in _stored(url) and secret[4:] not in _stored(url) and secret[10:] not in _stored(url)
    db = Database(url)
    try:
        assert tokens.authenticate(Services(db), secret).user_id == tokens.list_tokens(Services(db))[0].user_id
    finally:
        db.dispose()


def test_an_unknown_user_is_exit_1_with_one_line(cli, url: str) -> None:
    result = cli("tokens", "create", "nobody@gc.example", "--database-url", url)
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == ["payroute tokens: no user with email `nobody@gc.example`"]
    garbage = cli("tokens", "create", "not an email\x1b[2J", "--database-url", url)
    assert garbage.code == 1 and len(garbage.err.splitlines()) == 1 and "\x1b" not in garbage.err
    assert cli("tokens", "list", "nobody@gc.example", "--database-url", url).code == 1


def test_usage_errors_are_exit_2(cli, url: str, tmp_path: Path) -> None:
    assert cli("tokens", "--database-url", url).code == 2
    assert cli("tokens", "create", "--database-url", url).code == 2
    bad_label = cli("tokens", "create", "ops@gc.example", "--name", "x" * 201, "--database-url", url)
    assert bad_label.code == 2 and bad_label.err.startswith("payroute tokens: name: at most 200")
    empty = cli("tokens", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert empty.code == 2 and "payroute db upgrade" in empty.err and len(empty.err.splitlines()) == 1
    assert cli("tokens", "list", "--database-url", "postgresql://u:hunter2@127.0.0.1:1/x").code == 2


def test_list_shows_the_prefix_never_the_secret_and_revoke_stops_it(cli, url: str) -> None:
    secret = cli("tokens", "create", "ops@gc.example", "--database-url", url).out.strip()
    text = cli("tokens", "list", "--database-url", url)
    assert text.code == 0 and secret not in text.out and secret[:10] + "…" in text.out
    assert "ops@gc.example" in text.out and "last used never" in text.out and "active" in text.out
    listed = json.loads(cli("tokens", "list", "ops@gc.example", "--format", "json", "--database-url", url).out)
    assert [t["prefix"] for t in listed] == [secret[:10]] and secret not in json.dumps(listed)
    assert set(listed[0]) == {"id", "user_id", "email", "name", "prefix", "created_at", "last_used_at",
                              "revoked_at"}
    token_id = listed[0]["id"]
    revoked = cli("tokens", "revoke", token_id, "--database-url", url)
    assert revoked.code == 0 and token_id in revoked.out and secret not in revoked.out
    db = Database(url)
    try:
        with pytest.raises(Exception) as e:
            tokens.authenticate(Services(db), secret)
        assert getattr(e.value, "code", None) == "unauthenticated"
    finally:
        db.dispose()
    after = json.loads(cli("tokens", "list", "--format", "json", "--database-url", url).out)
    assert after[0]["revoked_at"] is not None
    assert cli("tokens", "revoke", "f" * 32, "--database-url", url).code == 1


def test_help_lists_the_verb(cli) -> None:
    result = cli("--help")
    assert result.code == 0 and "    tokens" in result.out


def test_without_an_audit_key_a_member_gets_no_token(cli, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Minting is audited on the user's companies' chains: without the key nothing is written (exit 2)."""
    db = Database(url)
    try:
        svc = Services(db)
        user = directory.create_user(svc, "admin@gc.example", "Admin").id
        directory.create_company(svc, "GC Builders", first_admin=user)
    finally:
        db.dispose()
    monkeypatch.delenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY")
    result = cli("tokens", "create", "admin@gc.example", "--database-url", url)
    assert (result.code, result.out) == (2, "") and len(result.err.splitlines()) == 1
    assert "api_tokens" not in result.err and "PAYROUTE_AUDIT_KEY" in result.err
    assert json.loads(cli("tokens", "list", "--format", "json", "--database-url", url).out) == []
