"""``payroute users set-password EMAIL`` (ROLE-10), in-process on a fresh SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.security import sign_in
from engine.service import directory
from engine.services import Services
from engine.store.db import Database

PASSWORD = "correct horse battery staple"


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


@pytest.mark.rule("ROLE-10")
def test_set_password_reads_stdin_and_the_user_then_signs_in(cli, url: str) -> None:
    result = cli("users", "set-password", "Ops@GC.example", "--database-url", url, stdin=PASSWORD + "\n")
    assert (result.code, result.err) == (0, "")
    assert result.out == "password set for ops@gc.example; their sessions are signed out\n"
    assert PASSWORD not in _stored(url) and PASSWORD not in result.out
    db = Database(url)
    try:
        assert sign_in.sign_in(Services(db), "ops@gc.example", PASSWORD).session.mfa_passed is False
    finally:
        db.dispose()


def test_a_weak_password_an_unknown_user_and_no_input_are_refused_in_one_line(cli, url: str) -> None:
    weak = cli("users", "set-password", "ops@gc.example", "--database-url", url, stdin="ops@gc.example!!\n")
    assert weak.code == 2 and weak.err.splitlines() == [
        "payroute users: a password does not contain the email address"]
    unknown = cli("users", "set-password", "nobody@gc.example", "--database-url", url, stdin=PASSWORD + "\n")
    assert (unknown.code, unknown.err) == (1, "payroute users: no user with that email address\n")
    empty = cli("users", "set-password", "ops@gc.example", "--database-url", url, stdin="")
    assert empty.code == 2 and "no password on stdin" in empty.err
    assert PASSWORD not in weak.err + unknown.err + empty.err
    assert "$argon2" not in _stored(url)  # nothing was set
