"""API tokens: a secret that acts as exactly one user, with that user's permissions (ROLE-12).

A token's secret is ``prt_`` followed by :func:`secrets.token_urlsafe` of 32
bytes (256 random bits, 43 URL-safe characters): the prefix makes a leaked
token recognisable to secret scanners and to people. The database keeps only
the SHA-256 of the whole secret (``api_tokens.token_hash``, unique and
indexed) and a short prefix of it for display (``prt_`` and its first six
characters, 36 bits; 220 unknown bits remain), never the secret itself.

Why a plain SHA-256 and not a slow password hash (bcrypt, scrypt, Argon2): a
slow hash protects *guessable* secrets from an offline search after the
database leaks. A 256-bit random secret is not guessable — no search of
2^256 (or the 2^220 left after the shown prefix) finishes, however fast each
try — so stretching buys nothing, and it would cost every API request a
deliberate delay. A fast, unsalted hash also lets :func:`authenticate` find
the token by an indexed equality lookup on the hash: the secret is never
compared character by character with anything stored, so there is no timing
side channel on the secret (an attacker who could steer the hash's value
would need a SHA-256 preimage).

:func:`authenticate` is what the HTTP layer calls on every request; the
others are operator tools (``payroute tokens create|list|revoke``), which act
for no user and are exempt from ``(svc, actor, company_id)``: an operator at
the server's console mints and revokes tokens, not a user through the API.

``last_used_at`` is written at most once a minute per token
(:data:`LAST_USED_RESOLUTION`), so a busy client does not turn every read
into a write; it is a "when was this token last seen" for the operator, to
the minute, not an access log.

Minting and revoking are audited (``api_token_created``,
``api_token_revoked``) on the chain of every company the user is a member
of, naming the token's id, label and display prefix — never its secret or
hash. A user who is a member of no company has no chain: nothing is written
there, and once they join a company the token acts only as what the
membership allows.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.service import audit
from engine.services import Services
from engine.store.tables import ApiToken, Company, Membership, User
from engine.text import is_id, text_problem

log = logging.getLogger("payroute.tokens")

#: what every secret starts with, so a leaked token is recognisable
SECRET_PREFIX = "prt_"
#: random bytes in a secret: 256 bits
SECRET_BYTES = 32
#: characters of the random part shown in :attr:`TokenView.prefix`
SHOWN = 6
#: the exact shape of a secret: the prefix and 43 URL-safe base64 characters
_SECRET = re.compile(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_-]{43}")
#: ``last_used_at`` is refreshed once this much time has passed since it was last written
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: a token's label: the length of ``api_tokens.name``
NAME_LIMIT = 200

_REFUSED = "the API token is unknown, malformed or revoked"


@dataclass(frozen=True)
class TokenView:
    """A token as an operator sees it: who it acts as, its label and display prefix, and when it was
    created, last used and revoked (UTC). Never the secret or its hash."""

    id: str
    user_id: str
    email: str
    name: str | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class MintedToken:
    """A new token and its secret: the only time the secret exists outside its holder's hands."""

    token: TokenView
    secret: str

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"MintedToken(token={self.token!r}, secret='{self.token.prefix}…')"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as (ROLE-12): exactly one user, through one token."""

    user_id: str
    token_id: str


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite gives back the wall clock without its offset; everything is stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _moment(value: object) -> datetime | None:
    """A DateTime column's value as the driver gives it: a datetime (PostgreSQL) or SQLite's stored text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _view(token: ApiToken, email: str) -> TokenView:
    created = _utc(token.created_at)
    assert created is not None
    return TokenView(token.id, token.user_id, email, token.name, token.prefix, created,
                     _utc(token.last_used_at), _utc(token.revoked_at))


def _user_by_email(s: Session, email: object) -> User:
    address = email.strip().lower() if isinstance(email, str) else None
    if address is None or text_problem(address, limit=320) is not None:
        raise DomainError("not_found", "no user with that email address", rule="ROLE-12")
    user = s.scalars(select(User).where(User.email == address)).first()
    if user is None:
        raise DomainError("not_found", f"no user with email `{address}`", rule="ROLE-12")
    return user


def _audit(s: Session, token: ApiToken, at: datetime, action: str) -> None:
    """``action`` on the chain of every company ``token``'s user belongs to, each under its company
    row's lock (the chain head is read under it), in the caller's transaction."""
    companies = s.scalars(select(Membership.company_id).where(Membership.user_id == token.user_id)
                          .order_by(Membership.company_id)).all()
    for company_id in companies:
        if s.scalars(select(Company.id).where(Company.id == company_id).with_for_update()).first() is None:
            continue
        audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=at, actor_id=None,
                     action=action, object_type="api_token", object_id=token.id, rules=("ROLE-12",),
                     details={"user_id": token.user_id, "name": token.name, "prefix": token.prefix})
    if not companies:
        log.info("api token %s: %s not audited: its user belongs to no company", token.id, action)


def mint(svc: Services, email: str, *, name: str | None = None) -> MintedToken:
    """A new API token acting as the user with ``email`` (ROLE-12); the secret is returned once and
    stored only as its SHA-256. Operator tool (``payroute tokens create``), exempt from
    ``(svc, actor, company_id)``: it acts for no user. An unknown or malformed email is
    ``not_found``; a label longer than 200 characters or holding control characters is
    ``invalid_value``. Audited on the user's companies' chains."""
    if name is not None:
        problem = text_problem(name, limit=NAME_LIMIT, required=False)
        if problem is not None:
            raise DomainError("invalid_value", f"name: {problem}", rule="ROLE-12")
        name = name.strip() or None
    random_part = secrets.token_urlsafe(SECRET_BYTES)
    secret = SECRET_PREFIX + random_part
    now = svc.now().astimezone(timezone.utc)
    with svc.tx() as s:
        user = _user_by_email(s, email)
        token = ApiToken(user_id=user.id, name=name, token_hash=_hash(secret),
                         prefix=SECRET_PREFIX + random_part[:SHOWN], created_at=now)
        s.add(token)
        s.flush()
        _audit(s, token, now, "api_token_created")
        return MintedToken(_view(token, user.email), secret)


#: The lookup of every request, built once (building a select costs more than running it from cache).
_LOOKUP = (select(ApiToken.id, ApiToken.user_id, ApiToken.revoked_at, ApiToken.last_used_at)
           .where(ApiToken.token_hash == bindparam("digest")))


def authenticate(svc: Services, secret: str) -> Principal:
    """The user a request's token acts as (ROLE-12), or ``unauthenticated`` for anything but a live
    token: unknown, revoked, malformed or not text at all, each with the same message. The
    token is found by the SHA-256 of ``secret`` (no comparison of secrets); its ``last_used_at``
    is refreshed when older than a minute. Called by the HTTP layer before any command, which
    then checks the user's permissions itself."""
    if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
        raise DomainError("unauthenticated", _REFUSED, rule="ROLE-12")
    digest = _hash(secret)
    now = svc.now().astimezone(timezone.utc)
    # One indexed read on the driver's connection (Database.first_row: no write lock on SQLite, none
    # of SQLAlchemy's per-statement machinery): the common case, a token seen this minute, writes
    # nothing, so two workers' requests never wait for each other here.
    row = svc.db.first_row(_LOOKUP, {"digest": digest})
    if row is None or row[2] is not None:  # unknown, or revoked
        raise DomainError("unauthenticated", _REFUSED, rule="ROLE-12")
    token_id, user_id, _, last_used = row
    seen = _utc(_moment(last_used))
    if seen is None or now - seen >= LAST_USED_RESOLUTION:
        try:
            with svc.tx() as s:  # conditional: concurrent requests at most race to write the same minute
                s.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None), or_(
                    ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_RESOLUTION))
                    .values(last_used_at=now))
        except DomainError as exc:  # a busy database: the request goes on, the next one writes it
            if exc.code != "state_conflict":
                raise
            log.info("api token %s: last_used_at not refreshed (%s)", token_id, exc.code)
    return Principal(user_id, token_id)


def list_tokens(svc: Services, email: str | None = None) -> list[TokenView]:
    """Every token, or the tokens of the user with ``email`` (``not_found`` if there is none), oldest
    first, revoked ones included. Operator tool (``payroute tokens list``), exempt from
    ``(svc, actor, company_id)``."""
    with svc.db.sessions() as s:
        q = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        if email is not None:
            q = q.where(ApiToken.user_id == _user_by_email(s, email).id)
        rows = s.execute(q.order_by(ApiToken.created_at, ApiToken.id)).all()
        return [_view(token, address) for token, address in rows]


def revoke(svc: Services, token_id: str) -> TokenView:
    """Revoke the token ``token_id``: it authenticates no more, at once (ROLE-12). Revoking a revoked
    token changes nothing and returns it as it is. Operator tool (``payroute tokens revoke``),
    exempt from ``(svc, actor, company_id)``; audited on the user's companies' chains."""
    now = svc.now().astimezone(timezone.utc)
    with svc.tx() as s:
        token = s.scalars(select(ApiToken).where(ApiToken.id == token_id).with_for_update()).first() \
            if is_id(token_id) else None
        if token is None:
            raise DomainError("not_found", "no API token with that id", rule="ROLE-12")
        email = s.scalars(select(User.email).where(User.id == token.user_id)).one()
        if token.revoked_at is None:
            token.revoked_at = now
            s.flush()
            _audit(s, token, now, "api_token_revoked")
        return _view(token, email)


__all__ = ["LAST_USED_RESOLUTION", "MintedToken", "Principal", "SECRET_PREFIX", "TokenView", "authenticate",
           "list_tokens", "mint", "revoke"]
