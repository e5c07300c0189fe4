"""API tokens (ROLE-12): a random secret stored only as its hash, acting as exactly one user."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import timedelta, timezone

import pytest
from sqlalchemy import select, text

from engine.errors import DomainError
from engine.security.permissions import PAYMENTS_ADMIN
from engine.service import audit, directory, tokens
from engine.service.tokens import MintedToken, Principal, TokenView
from engine.store.tables import ApiToken
from tests.roles import grant_role
from tests.world import build_world

pytestmark = pytest.mark.rule("ROLE-12")

SECRET = re.compile(r"prt_[A-Za-z0-9_-]{43,}")


def _refused(call, *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def _everything_stored(svc) -> str:
    """Every value of every api_tokens and audit_entries row, as one text to search."""
    with svc.db.sessions() as s:
        rows = [*s.execute(text("SELECT * FROM api_tokens")).all(), *s.execute(text("SELECT * FROM audit_entries")).all()]
    return "\n".join(repr(tuple(r)) for r in rows)


def test_a_minted_token_is_a_long_random_secret_with_a_recognisable_prefix(svc, clock) -> None:
    user = directory.create_user(svc, "ada@gc.example", "Ada").id
    minted = tokens.mint(svc, " Ada@GC.example ", name="ci deploy")
    assert isinstance(minted, MintedToken) and SECRET.fullmatch(minted.secret)
    assert len(minted.secret) >= 4 + 43  # token_urlsafe(32): 256 bits
    view = minted.token
    assert view == TokenView(view.id, user, "ada@gc.example", "ci deploy", minted.secret[:10],
                             clock().astimezone(timezone.utc), None, None)
    assert minted.secret not in repr(minted) and minted.secret not in repr(view)
    assert {f.name for f in dataclasses.fields(TokenView)} == {
        "id", "user_id", "email", "name", "prefix", "created_at", "last_used_at", "revoked_at"}
    others = {tokens.mint(svc, "ada@gc.example").secret for _ in range(5)}
    assert len(others | {minted.secret}) == 6
    assert tokens.mint(svc, "ada@gc.example", name="   ").token.name is None


def test_the_database_holds_only_the_hash_of_a_secret(svc) -> None:
    w = build_world(svc)
    minted = tokens.mint(svc, "admin@gc.example", name="laptop")
    random_part = minted.secret.removeprefix("prt_")
    stored = _everything_stored(svc)
    assert random_part not in stored and random_part[10:30] not in stored
    digest = hashlib.sha256(minted.secret.encode()).hexdigest()
    with svc.db.sessions() as s:
        row = s.scalars(select(ApiToken)).one()
        assert (row.token_hash, row.prefix, row.user_id) == (digest, minted.secret[:10], w.admin)
        entries = [e for e in audit.entries(s, audit.company_chain(w.company)) if e.object_type == "api_token"]
    assert [(e.action, e.object_id, e.actor_id) for e in entries] == [("api_token_created", minted.token.id, None)]
    assert digest not in repr(entries[0].details) and entries[0].details["prefix"] == minted.secret[:10]


def test_authenticate_acts_as_the_user_and_records_when_it_was_last_used(svc, clock) -> None:
    w = build_world(svc)
    minted = tokens.mint(svc, "admin@gc.example")
    principal = tokens.authenticate(svc, minted.secret)
    assert principal == Principal(w.admin, minted.token.id)
    first = clock().astimezone(timezone.utc)
    (view,) = tokens.list_tokens(svc, "admin@gc.example")
    assert view.last_used_at == first
    clock.advance(seconds=30)  # within the minute: no write
    assert tokens.authenticate(svc, minted.secret) == principal
    assert tokens.list_tokens(svc)[0].last_used_at == first
    clock.advance(seconds=31)
    tokens.authenticate(svc, minted.secret)
    assert tokens.list_tokens(svc)[0].last_used_at == first + timedelta(seconds=61)
    # the token carries exactly its user's permissions: the engine checks them as for the user
    member = grant_role(svc, principal.user_id, w.company, w.cfo, PAYMENTS_ADMIN)
    assert PAYMENTS_ADMIN in member.permissions
    cfo = tokens.authenticate(svc, tokens.mint(svc, "controller@gc.example").secret)
    assert cfo.user_id == w.controller
    e = _refused(directory.grant, svc, cfo.user_id, w.company, w.cfo, PAYMENTS_ADMIN)
    assert e.code == "permission_denied"


@pytest.mark.parametrize("garbage", [
    None, 42, b"prt_" + b"a" * 43, ["prt_"], "", "prt_", "prt_" + "a" * 42, "prt_" + "a" * 44,
    "PRT_" + "a" * 43, "prt_" + "a" * 42 + "\x00", "prt_" + "\x00" * 43, "prt_" + "a" * 42 + "\udc80",
    "prt_" + "a" * 42 + "=", "x" * 1_000_000, "prt_" + "a" * 43 + "\n", " prt_" + "a" * 43,
])
def test_authenticate_refuses_garbage_the_same_way(svc, garbage) -> None:
    directory.create_user(svc, "ada@gc.example", "Ada")
    tokens.mint(svc, "ada@gc.example")
    e = _refused(tokens.authenticate, svc, garbage)
    assert (e.code, e.kind, e.rule) == ("unauthenticated", "unauthenticated", "ROLE-12")
    assert e.message == "the API token is unknown, malformed or revoked"


def test_authenticate_refuses_an_unknown_or_revoked_token(svc, clock) -> None:
    directory.create_user(svc, "ada@gc.example", "Ada")
    minted = tokens.mint(svc, "ada@gc.example")
    tokens.authenticate(svc, minted.secret)
    flipped = minted.secret[:-1] + ("A" if minted.secret[-1] != "A" else "B")
    unknown = "prt_" + "A" * 43
    for secret in (flipped, unknown):
        e = _refused(tokens.authenticate, svc, secret)
        assert e.code == "unauthenticated" and secret not in str(e) and secret not in repr(e)
    clock.advance(minutes=5)
    revoked = tokens.revoke(svc, minted.token.id)
    assert revoked.revoked_at == clock().astimezone(timezone.utc)
    e = _refused(tokens.authenticate, svc, minted.secret)
    assert e.code == "unauthenticated" and minted.secret not in e.message
    assert tokens.list_tokens(svc)[0].last_used_at < revoked.revoked_at  # a refused use is no use
    clock.advance(minutes=5)
    assert tokens.revoke(svc, minted.token.id) == revoked  # again: nothing changes


def test_list_shows_the_prefix_never_the_secret(svc, clock) -> None:
    directory.create_user(svc, "ada@gc.example", "Ada")
    directory.create_user(svc, "bob@gc.example", "Bob")
    a = tokens.mint(svc, "ada@gc.example", name="one")
    clock.advance(seconds=1)  # oldest first
    b = tokens.mint(svc, "bob@gc.example")
    listed = tokens.list_tokens(svc)
    assert [t.id for t in listed] == [a.token.id, b.token.id]
    assert [t.prefix for t in listed] == [a.secret[:10], b.secret[:10]]
    assert a.secret not in repr(listed) and b.secret not in repr(listed)
    assert tokens.list_tokens(svc, "BOB@gc.example") == [b.token]
    assert _refused(tokens.list_tokens, svc, "nobody@gc.example").code == "not_found"


@pytest.mark.parametrize("email", ["nobody@gc.example", "not an email", "", None, 7, "a\x00@gc.example",
                                   "x" * 100_000 + "@gc.example"])
def test_mint_refuses_an_unknown_or_invalid_email_as_not_found(svc, email) -> None:
    directory.create_user(svc, "ada@gc.example", "Ada")
    e = _refused(tokens.mint, svc, email)
    assert (e.code, e.kind, e.rule) == ("not_found", "not_found", "ROLE-12")
    with svc.db.sessions() as s:
        assert s.scalars(select(ApiToken)).first() is None


@pytest.mark.parametrize("name", ["x" * 201, "a\nb", "a\x00b", 5])
def test_mint_refuses_a_bad_label(svc, name) -> None:
    directory.create_user(svc, "ada@gc.example", "Ada")
    assert _refused(tokens.mint, svc, "ada@gc.example", name=name).code == "invalid_value"


@pytest.mark.parametrize("token_id", ["f" * 32, "", None, "x" * 1000, "a\x00"])
def test_revoke_refuses_an_unknown_token(svc, token_id) -> None:
    assert _refused(tokens.revoke, svc, token_id).code == "not_found"


def test_revoking_is_audited_and_the_chain_still_verifies(svc) -> None:
    w = build_world(svc)
    minted = tokens.mint(svc, "manager@gc.example", name="bot")
    tokens.revoke(svc, minted.token.id)
    tokens.revoke(svc, minted.token.id)
    with svc.db.sessions() as s:
        entries = [e for e in audit.entries(s, audit.company_chain(w.company)) if e.object_type == "api_token"]
        assert [e.action for e in entries] == ["api_token_created", "api_token_revoked"]
        assert entries[1].details == {"user_id": w.manager, "name": "bot", "prefix": minted.secret[:10]}
        assert audit.verify(s) == []
    assert minted.secret.removeprefix("prt_") not in _everything_stored(svc)
