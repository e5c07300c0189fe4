"""Credentials never reach an error message, whatever the password holds.

``scrub_credentials`` used to stop at the first ``@`` of a URL, so a password
with an unencoded ``@`` (``p@ss@host``) left its tail in the text; and
SQLAlchemy, which splits a URL at its first ``@``, tried to resolve the host
``ss@host`` and the driver printed that name. Both now read the credentials up
to the last ``@``, like urlsplit does for the SMTP URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from engine.errors import scrub_credentials
from engine.store.db import Database
from tests.db_fixtures import PG_URL

#: passwords as an operator may type them into a URL, unencoded; each ends in a
#: marker that must never appear in an error
PASSWORDS = ["Tail@LEAK-1", "a:b@LEAK-2", "Pa/ss@LEAK-3", "x@y@LEAK-4", "p%40LEAK-5"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("template", [
    "postgresql://nobody:{pw}@127.0.0.1:1/none",
    "could not connect to postgresql+psycopg://nobody:{pw}@db.internal:5432/payroute?sslmode=require: refused",
    "invalid SMTP URL 'smtp://relay:{pw}@mail.example:99999': bad port",
    "smtp://relay%40gc.example:{pw}@mail.example:587?starttls=1&from=payments%40gc.example",
    "smtp://relay@gc.example:{pw}@mail.example:25?from=payments@gc.example",
])
def test_scrub_hides_the_whole_password(template: str, password: str) -> None:
    """Every character of the password is gone; the host, port, path and query stay readable."""
    scrubbed = scrub_credentials(template.format(pw=password))
    assert "LEAK" not in scrubbed
    assert ":***@" in scrubbed
    tail = template.split("{pw}@", 1)[1]
    assert scrubbed.endswith(tail)  # nothing after the credentials is lost


def test_scrub_leaves_urls_without_a_password_alone() -> None:
    for plain in ("postgresql://postgres@127.0.0.1:5432/test", "sqlite:////tmp/a@b/payroute.sqlite3",
                  "smtp://127.0.0.1:25 refused; write to admin@gc.example",
                  "smtp://mail.example:25?from=payments@gc.example"):
        assert scrub_credentials(plain) == plain


@pytest.mark.parametrize("password", PASSWORDS)
def test_db_upgrade_audit_verify_and_worker_errors_never_show_the_password(cli, password: str) -> None:
    """The three commands that print database errors: one line, exit 2, no part of the password."""
    url = f"postgresql://nobody:{password}@127.0.0.1:1/none"
    for args in (("db", "upgrade"), ("audit", "verify"), ("worker", "--once", "--smtp-url", "smtp://127.0.0.1:1")):
        r = cli(*args, "--database-url", url)
        assert r.code == 2, (args, r.err)
        assert "LEAK" not in r.out + r.err
        # the tests run with the development audit key, which the audit verbs announce on a line of its own
        errors = [line for line in r.err.strip().splitlines() if "development key" not in line]
        assert len(errors) == 1 and "Traceback" not in r.err


@pytest.mark.parametrize("password", PASSWORDS)
def test_worker_smtp_url_errors_never_show_the_password(cli, password: str, tmp_path) -> None:
    r = cli("worker", "--once", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "--smtp-url", f"smtp://relay:{password}@mail.example:99999")
    assert r.code == 2 and "bad port" in r.err
    assert "LEAK" not in r.out + r.err


@pytest.mark.skipif(not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set (CI sets it)")
def test_a_password_with_at_signs_reaches_the_server_intact() -> None:
    """``user:p@ss@host`` connects to ``host`` (the credentials end at the last ``@``), where
    SQLAlchemy alone would have looked for a host called ``ss@host``."""
    parts = urlsplit(PG_URL or "")
    user = parts.username or "postgres"
    where = parts.hostname + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, f"{user}:p@ss:w/rd@LEAK@{where}", parts.path, parts.query, ""))
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert db.engine.url.password == "p@ss:w/rd@LEAK" and db.engine.url.host == parts.hostname
    finally:
        db.dispose()
