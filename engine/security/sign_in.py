"""Signing in: a password, then TOTP for payments roles, gives a session token (ROLE-10, MFA-6, MFA-10..MFA-12).

What the web pages call (email + password + code, a cookie holding the session
token); the MFA rules are :mod:`engine.security.mfa`'s machine, run on the state
:mod:`engine.security.enrollment` loads and saves, so a login verification and a
transactional challenge share one failure count and one lockout (MFA-11).

Passwords (a decision: domain.md has no password rule). :func:`set_password` takes
12 to 256 characters, none of them a control character, not one character
repeated, and not containing the user's email address or the part before its
``@`` (ignoring case); it is stored only as an argon2id hash (argon2-cffi,
OWASP's minimum cost: 19 MiB, 2 passes, 1 lane, ~40 ms here), re-hashed at the
next sign-in when the cost changes. There is no composition rule (digits,
symbols): length is what makes a password hard to guess. Setting a password signs
the user out everywhere.

:func:`sign_in` checks, in order:

1. The email and the password. An unknown email, a user without a password and a
   wrong password are the same ``sign_in_failed``, and each costs one argon2
   verification (against a dummy hash when there is no user), so neither the
   answer nor, to within the audit write of a known user's failure, its time says
   whether the address exists. The password is verified before any transaction
   opens, so slow hashing never holds a write lock.
2. The second factor. Needed when the user holds Payments Admin, Payments
   Disburser, Payments Beneficiary Approver or Payee Admin in any company they are
   an active member of (ROLE-10), and also whenever the user has a factor at all (an
   active secret, or recovery codes left): once enrolled, a password alone never
   signs in. ``code`` is a TOTP code (±1 step, MFA-2; never the same step twice,
   MFA-3); ``recovery_code`` replaces it for a lost device (MFA-6: spent for good;
   MFA-10: only here, never at a transactional challenge). Without either:
   ``mfa_required``. A wrong code is ``mfa_failed`` and counts (MFA-11: the tenth
   in a row, login or challenge, locks the user out and signs them out
   everywhere); while locked out, one login verification per 30 s step is
   evaluated and the others are ``mfa_throttled``, unread (MFA-12).
3. A payments-role holder with no factor yet (never enrolled, or reset, MFA-15)
   gets an *enroll-only* session: :func:`authenticate_session` accepts it only
   with ``purpose="enroll"`` (for ``enrollment.start_enrollment`` and
   ``confirm_enrollment``), for 15 minutes; every other purpose is
   ``mfa_enrollment_required``. Once enrolled, the user signs in again with a code
   (ROLE-10: the factor is passed at a login).

After a recovery code the user's MFA needs a new enrollment (the machine's
``must_enroll``): every transactional challenge refuses them (``mfa_not_enrolled``,
MFA-10) until they enroll a new secret and confirm it, on every device, not only in
this session. The session records that it was made with a recovery code
(``needs_reenrollment``), which :func:`authenticate_session` reports for as long as
the new enrollment is missing, so a page can send the user to it.

Sessions: the token is ``prs_`` and 256 random bits (43 URL-safe characters),
returned once; ``user_sessions`` keeps only its SHA-256 (why a fast hash suffices
for a random secret: :mod:`engine.service.tokens`). A session lasts 12 hours at
most and ends after 30 minutes unseen (``last_seen_at`` is written at most once a
minute); it is void once signed out, or made before the user was signed out
everywhere (``users.signed_out_at``: a lockout, a reset, a new password,
:func:`sign_out_everywhere`, which also mark every open session).

Audit (AUD-4): every sign-in, refusal, sign-out and password change is an entry on
the chain of every company the user is a member of, naming the user and the
session id, never the password, a code, the token or its hash. A refusal for an
unknown address is only logged, without the address (people type passwords into
the email field).

These functions act for a person before any company is chosen, so they take no
``(actor, company_id)``; :func:`set_password` is an operator tool (``payroute
users set-password``) and a bootstrap for the demo.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.outbox import emails
from engine.security import enrollment, mfa
from engine.security.permissions import BENEFICIARY_APPROVER, PAYEE_ADMIN, PAYMENTS_ADMIN, PAYMENTS_DISBURSER
from engine.service import audit
from engine.services import Services
from engine.store.tables import Company, Grant, Membership, MfaEnrollment, User, UserSession

log = logging.getLogger("payroute.sign_in")

#: ROLE-10: the roles whose holders pass MFA at every login
MFA_ROLES = (PAYMENTS_ADMIN, PAYMENTS_DISBURSER, BENEFICIARY_APPROVER, PAYEE_ADMIN)
PASSWORD_MIN = 12
PASSWORD_MAX = 256
#: a session's longest life, and how long it may go unseen
SESSION_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT = timedelta(minutes=30)
#: an enroll-only session (ROLE-10) lives this long
ENROLL_LIFETIME = timedelta(minutes=15)
#: ``last_seen_at`` is refreshed once this much time has passed since it was last written
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
TOKEN_PREFIX = "prs_"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")

#: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane), as the recovery codes
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

_FAILED = "the email address or the password is wrong"
_SESSION_REFUSED = "the session is unknown, expired or signed out: sign in again"

Purpose = Literal["act", "enroll"]


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class SessionView:
    """A session as its holder may see it: never the token or its hash."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    #: the second factor passed at this login (TOTP or a recovery code)
    mfa_passed: bool
    #: ROLE-10: may only enroll in MFA
    enroll_only: bool
    #: MFA-10: made with a recovery code, and the new enrollment is still missing
    needs_reenrollment: bool


@dataclass(frozen=True)
class SignedIn:
    """A new session and its token: the only time the token exists outside its holder's cookie."""

    session: SessionView
    token: str

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"SignedIn(session={self.session!r}, token='{TOKEN_PREFIX}…')"


@dataclass(frozen=True)
class SessionPrincipal:
    """Who a request signed in with a session acts as: exactly one person (ROLE-12)."""

    user_id: str
    session_id: str
    enroll_only: bool
    #: MFA-10: a recovery code was used and no new secret is enrolled yet: sensitive actions are refused
    needs_reenrollment: bool


# ---------------------------------------------------------------- helpers


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@cache
def _dummy_hash() -> str:
    """What an unknown user's password is verified against, so the refusal costs the same."""
    return _HASHER.hash(secrets.token_urlsafe(24))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _address(email: object) -> str | None:
    if not isinstance(email, str):
        return None
    address = email.strip().lower()
    return address if 0 < len(address) <= 320 and address.isprintable() else None


def password_problem(password: object, email: str) -> str | None:
    """Why ``password`` may not be ``email``'s password, or None (the rules: module docstring)."""
    if not isinstance(password, str):
        return "a password is text"
    if len(password) < PASSWORD_MIN:
        return f"a password has at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"a password has at most {PASSWORD_MAX} characters"
    if any(not ch.isprintable() and ch != " " for ch in password) or "\x00" in password:
        return "a password holds no control characters"
    if len(set(password)) == 1:
        return "a password is not one character repeated"
    folded, address = password.casefold(), email.casefold()
    local = address.partition("@")[0]
    if address in folded or (len(local) >= 3 and local in folded):
        return "a password does not contain the email address"
    return None


def _companies(s: Session, user_id: str) -> list[Company]:
    """The companies whose chains record this person's sign-ins, each row locked (the chain head is
    read under it), in id order so two transactions lock them alike."""
    ids = s.scalars(select(Membership.company_id).where(Membership.user_id == user_id)
                    .order_by(Membership.company_id)).all()
    found = [s.scalars(select(Company).where(Company.id == c).with_for_update()).first() for c in ids]
    return [c for c in found if c is not None]


def _audit(s: Session, user_id: str, at: datetime, action: str, rules: tuple[str, ...],
           details: dict[str, Any] | None = None, companies: list[Company] | None = None) -> list[Company]:
    """``action`` on the chain of every company of ``user_id``: the user, the rules and plain details
    (a session id, a reason word), never a secret (MFA-5)."""
    chosen = _companies(s, user_id) if companies is None else companies
    for company in chosen:
        audit.append(s, chain=audit.company_chain(company.id), company_id=company.id, at=at, actor_id=user_id,
                     action=action, object_type="user", object_id=user_id, rules=rules, details=details)
    if not chosen:
        log.info("user %s: %s not audited: they belong to no company", user_id, action)
    return chosen


def _mark_signed_out(s: Session, user_id: str, at: datetime) -> None:
    """Sign ``user_id`` out everywhere: ``users.signed_out_at`` and every open session."""
    s.execute(update(User).where(User.id == user_id).values(signed_out_at=at))
    s.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.signed_out_at.is_(None))
              .values(signed_out_at=at))


def _holds_mfa_role(s: Session | Connection, user_id: str) -> bool:
    """ROLE-10: a payments role in a company the user is an active member of."""
    return s.scalar(select(Grant.permission).join(Membership, (Membership.company_id == Grant.company_id)
                                                  & (Membership.user_id == Grant.user_id)
                                                  & Membership.active.is_(True))
                    .where(Grant.user_id == user_id, Grant.permission.in_(MFA_ROLES)).limit(1)) is not None


def _view(row: Any, *, needs_reenrollment: bool) -> SessionView:
    created, expires = _utc(row.created_at), _utc(row.expires_at)
    assert created is not None and expires is not None
    return SessionView(row.id, row.user_id, created, expires, row.mfa_passed_at is not None, row.enroll_only,
                       needs_reenrollment)


# ---------------------------------------------------------------- passwords


def set_password(svc: Services, email: str, password: str) -> None:
    """Set the password of the user with ``email`` (``not_found`` if none; ``weak_password`` if it
    breaks a rule of the module docstring): stored as an argon2id hash only, audited
    (``password_set``), and the user is signed out everywhere. Operator tool and demo bootstrap,
    exempt from ``(svc, actor, company_id)``."""
    address = _address(email)
    now = svc.now().astimezone(timezone.utc)
    with svc.db.read() as conn:
        found = conn.execute(select(User.id, User.email).where(User.email == address)).first() if address else None
    if found is None:
        raise DomainError("not_found", "no user with that email address", rule="ROLE-10")
    user_id, stored_email = found
    problem = password_problem(password, stored_email)
    if problem is not None:
        raise DomainError("weak_password", problem, rule="ROLE-10")
    hashed = _HASHER.hash(password)  # slow: outside the transaction
    with svc.tx() as s:
        user = s.scalars(select(User).where(User.id == user_id).with_for_update()).one()
        user.password_hash = hashed
        _mark_signed_out(s, user_id, now)
        _audit(s, user_id, now, "password_set", ("ROLE-10",))


# ---------------------------------------------------------------- signing in


def _refused(s: Session, user_id: str, at: datetime, reason: str, rules: tuple[str, ...]) -> None:
    _audit(s, user_id, at, "sign_in_refused", ("AUD-4", *rules), details={"reason": reason})


def _new_session(s: Session, user_id: str, now: datetime, *, mfa_passed: bool, enroll_only: bool,
                 needs_reenrollment: bool) -> tuple[UserSession, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = UserSession(user_id=user_id, token_hash=_hash_token(token), created_at=now, last_seen_at=now,
                      expires_at=now + (ENROLL_LIFETIME if enroll_only else SESSION_LIFETIME),
                      mfa_passed_at=now if mfa_passed else None, enroll_only=enroll_only,
                      needs_reenrollment=needs_reenrollment)
    s.add(row)
    s.flush()
    return row, token


def sign_in(svc: Services, email: str, password: str, *, code: str | None = None,
            recovery_code: str | None = None) -> SignedIn:
    """A new session for the person with ``email`` and ``password`` (and ``code`` or ``recovery_code``
    when MFA is needed): the token once, or a refusal (the order and the rules: module docstring).

    Refusals: ``sign_in_failed`` (email or password), ``invalid_value`` (both a code and a recovery
    code), ``mfa_required``, ``mfa_failed``, ``mfa_throttled``. Each is audited on the user's
    companies; a failed code is counted (and a lockout signs out, audits and emails) in a
    transaction that commits before the refusal is raised. Exempt from ``(svc, actor, company_id)``:
    it finds the actor, so none exists yet."""
    now = svc.now().astimezone(timezone.utc)
    address = _address(email)
    with svc.db.read() as conn:  # no write lock while the slow verification runs
        found = conn.execute(select(User.id, User.password_hash).where(User.email == address)).first() \
            if address else None
    user_id, stored = (found[0], found[1]) if found is not None else (None, None)
    typed = password if isinstance(password, str) and len(password) <= PASSWORD_MAX else None
    right = _verify(stored or _dummy_hash(), typed if typed is not None else "") and stored is not None \
        and typed is not None
    if not right or user_id is None:
        if user_id is None:
            log.info("sign-in refused: no user with that address (the address is not logged)")
        else:
            with svc.tx() as s:
                _refused(s, user_id, now, "password", ("ROLE-10",))
        raise DomainError("sign_in_failed", _FAILED, rule="ROLE-10")
    if code is not None and recovery_code is not None:
        raise DomainError("invalid_value", "give a code or a recovery code, not both", rule="MFA-10")

    error: DomainError | None = None
    signed: SignedIn | None = None
    with svc.tx() as s:
        user = s.scalars(select(User).where(User.id == user_id).with_for_update()).one()
        if user.password_hash != stored:  # changed while this request verified the old one
            error = DomainError("sign_in_failed", _FAILED, rule="ROLE-10")
        else:
            assert typed is not None
            if _HASHER.check_needs_rehash(stored):
                user.password_hash = _HASHER.hash(typed)
            error, signed = _second_factor(s, svc, user, now, code, recovery_code)
    if error is not None:
        raise error
    assert signed is not None
    return signed


def _second_factor(s: Session, svc: Services, user: User, now: datetime, code: str | None,
                   recovery_code: str | None) -> tuple[DomainError | None, SignedIn | None]:
    """Step 2 and 3 of :func:`sign_in`, in its transaction: the session, or the refusal to raise after
    the failure count, the lockout and the audit entries are committed."""
    row, state = enrollment._load(s, user.id, lock=True)
    has_factor = state.active or bool(state.recovery_hashes)
    if not has_factor:
        if not _holds_mfa_role(s, user.id):  # no payments role, no MFA: the password is the login
            return None, _opened(s, user.id, now, method="password")
        return None, _opened(s, user.id, now, method="password", enroll_only=True)  # ROLE-10: enroll first
    if code is None and recovery_code is None:
        _refused(s, user.id, now, "mfa_required", ("ROLE-10",))
        return DomainError("mfa_required", "this sign-in needs the code from your authenticator app",
                           rule="ROLE-10"), None
    if recovery_code is not None:
        verdict = mfa.login_with_recovery_code(state, recovery_code, at=now)
    elif not state.active:
        # a new secret is pending after a recovery code (MFA-10): the old one is gone, the new one
        # unconfirmed, so no TOTP code can be right; a remaining recovery code still signs in
        _refused(s, user.id, now, "enrollment_pending", ("MFA-10",))
        return DomainError("mfa_required", "a new authenticator is not confirmed yet: sign in with a recovery "
                                           "code, then confirm it", rule="MFA-10"), None
    else:
        verdict = mfa.login(state, code, at=now)
    if "mfa_throttled" in verdict.events:  # MFA-12: refused unread; nothing else changes
        _refused(s, user.id, now, "throttled", ("MFA-12",))
        return DomainError("mfa_throttled", "too many failed codes: one attempt per 30 seconds until a code "
                                            "is right; wait for the next code", rule="MFA-12"), None
    enrollment._save(s, user.id, row, verdict.state, now)
    if not verdict.accepted:
        companies = _audit(s, user.id, now, "mfa_failed" if "mfa_failed" in verdict.events else "mfa_replayed",
                           ("AUD-4", "MFA-2", "MFA-11"), details={"at": "sign_in"})
        if verdict.email_lockout:
            _mark_signed_out(s, user.id, now)
            _audit(s, user.id, now, "mfa_locked_out", ("MFA-11", "AUD-4"), companies=companies)
            if companies:
                emails.enqueue_account_email(s, now=now, company_id=companies[0].id, company_name=companies[0].name,
                                             user_id=user.id, event="mfa_locked_out")
        replayed = "mfa_replayed" in verdict.events
        message = ("this code was already used: wait for the next one" if replayed
                   else "the code is wrong or expired")
        if verdict.state.locked:
            message += "; too many failed codes: you are signed out everywhere"
        return DomainError("mfa_failed", message, rule="MFA-3" if replayed else "MFA-2"), None
    if recovery_code is not None:
        _audit(s, user.id, now, "mfa_recovery_code_used", ("MFA-6", "MFA-10"),
               details={"left": len(verdict.state.recovery_hashes)})
    return None, _opened(s, user.id, now, method="recovery_code" if recovery_code is not None else "totp",
                         mfa_passed=True, needs_reenrollment=verdict.state.must_enroll)


def _opened(s: Session, user_id: str, now: datetime, *, method: str, mfa_passed: bool = False,
            enroll_only: bool = False, needs_reenrollment: bool = False) -> SignedIn:
    row, token = _new_session(s, user_id, now, mfa_passed=mfa_passed, enroll_only=enroll_only,
                              needs_reenrollment=needs_reenrollment)
    _audit(s, user_id, now, "signed_in", ("ROLE-10",),
           details={"session_id": row.id, "method": method, "enroll_only": enroll_only,
                    "needs_reenrollment": needs_reenrollment})
    return SignedIn(_view(row, needs_reenrollment=needs_reenrollment), token)


# ---------------------------------------------------------------- sessions


#: a session with its user's last sign-out everywhere and MFA state: one indexed read, plain columns
_LOOKUP = (select(UserSession.id, UserSession.user_id, UserSession.created_at, UserSession.expires_at,
                  UserSession.last_seen_at, UserSession.signed_out_at, UserSession.mfa_passed_at,
                  UserSession.enroll_only, UserSession.needs_reenrollment, User.signed_out_at.label("everywhere"),
                  MfaEnrollment.must_enroll)
           .join(User, User.id == UserSession.user_id)
           .outerjoin(MfaEnrollment, MfaEnrollment.user_id == UserSession.user_id))


def _live(conn: Session | Connection, token: object, now: datetime) -> tuple[Any, bool]:
    """The live session of ``token`` (a row of :data:`_LOOKUP`) and whether the user's MFA still needs
    a new enrollment, or ``unauthenticated``: unknown, malformed, signed out, expired, idle too long,
    or made before the user was signed out everywhere, each with the same message."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise DomainError("unauthenticated", _SESSION_REFUSED, rule="MFA-11")
    row = conn.execute(_LOOKUP.where(UserSession.token_hash == _hash_token(token))).first()
    if row is None or not _still_live(row, _utc(row.everywhere), now):
        raise DomainError("unauthenticated", _SESSION_REFUSED, rule="MFA-11")
    return row, bool(row.needs_reenrollment and (row.must_enroll is None or row.must_enroll))


def _still_live(row: Any, everywhere: datetime | None, now: datetime) -> bool:
    """Not signed out, not expired, seen within the idle timeout, made after the last sign-out everywhere."""
    created, expires, seen = _utc(row.created_at), _utc(row.expires_at), _utc(row.last_seen_at)
    assert created is not None and expires is not None and seen is not None
    return not (row.signed_out_at is not None or now >= expires or now - seen >= IDLE_TIMEOUT
                or (everywhere is not None and created < everywhere))


def authenticate_session(svc: Services, token: str, *, purpose: Purpose = "act") -> SessionPrincipal:
    """The person a request's session token acts as, or a refusal: ``unauthenticated`` for a token
    that is not a live session (see :func:`_live`); ``mfa_enrollment_required`` for an enroll-only
    session unless ``purpose`` is ``"enroll"`` (ROLE-10); ``mfa_required`` for a session made with a
    password only whose user has since been given a payments role (ROLE-10: sign in again with a
    code). ``last_seen_at`` is refreshed when older than a minute. Exempt from ``(svc, actor,
    company_id)``: the web layer's door, which finds the actor."""
    if purpose not in ("act", "enroll"):
        raise DomainError("invalid_value", "purpose: `act` or `enroll`", rule="ROLE-10")
    now = svc.now().astimezone(timezone.utc)
    # Database.read: no write lock on SQLite (every request passes here); writes only once a minute
    with svc.db.read() as conn:
        row, needs_reenrollment = _live(conn, token, now)
        if row.enroll_only and purpose != "enroll":
            raise DomainError("mfa_enrollment_required", "this session may only enroll in MFA: enroll, then sign "
                                                         "in again with a code", rule="ROLE-10")
        if not row.enroll_only and row.mfa_passed_at is None and _holds_mfa_role(conn, row.user_id):
            raise DomainError("mfa_required", "your roles now need MFA at sign-in: sign in again", rule="ROLE-10")
        session_id, user_id, enroll_only = row.id, row.user_id, bool(row.enroll_only)
        seen = _utc(row.last_seen_at)
    assert seen is not None
    if now - seen >= LAST_SEEN_RESOLUTION:
        try:
            with svc.tx() as s:  # conditional: concurrent requests at most race to write the same minute
                s.execute(update(UserSession).where(UserSession.id == session_id,
                                                    UserSession.last_seen_at <= now - LAST_SEEN_RESOLUTION)
                          .values(last_seen_at=now))
        except DomainError as exc:  # a busy database: the request goes on, the next one writes it
            if exc.code != "state_conflict":
                raise
    return SessionPrincipal(user_id, session_id, enroll_only, needs_reenrollment)


def read_session(svc: Services, token: str) -> SessionView:
    """The live session of ``token`` as its holder may see it (whatever its purpose). Exempt from
    ``(svc, actor, company_id)``: the token names its holder, before any company is chosen."""
    now = svc.now().astimezone(timezone.utc)
    with svc.db.read() as conn:
        row, needs_reenrollment = _live(conn, token, now)
        return _view(row, needs_reenrollment=needs_reenrollment)


def sign_out(svc: Services, token: str) -> bool:
    """End the session of ``token``: True if it was live; a token that is not (already signed out,
    expired, unknown) changes nothing and is False, so signing out twice is harmless. Audited.
    Exempt from ``(svc, actor, company_id)``: the token names its holder, across companies."""
    now = svc.now().astimezone(timezone.utc)
    with svc.tx() as s:
        try:
            row, _ = _live(s, token, now)
        except DomainError:
            return False
        s.execute(update(UserSession).where(UserSession.id == row.id).values(signed_out_at=now))
        _audit(s, row.user_id, now, "signed_out", ("ROLE-10",), details={"session_id": row.id})
        return True


def sign_out_everywhere(svc: Services, token: str) -> int:
    """The holder of the live session ``token`` signs out of every session (this one too): how many
    ended. ``unauthenticated`` if ``token`` is not live. Audited. Exempt from ``(svc, actor,
    company_id)``: the token names its holder, and a person's sessions span their companies."""
    now = svc.now().astimezone(timezone.utc)
    with svc.tx() as s:
        row, _ = _live(s, token, now)
        user_id = row.user_id
        everywhere = _utc(s.scalar(select(User.signed_out_at).where(User.id == user_id)))
        live = [r for r in s.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                               UserSession.signed_out_at.is_(None)))
                if _still_live(r, everywhere, now)]
        _mark_signed_out(s, user_id, now)
        _audit(s, user_id, now, "signed_out_everywhere", ("MFA-11",), details={"sessions": len(live)})
        return len(live)


__all__ = ["ENROLL_LIFETIME", "IDLE_TIMEOUT", "MFA_ROLES", "PASSWORD_MAX", "PASSWORD_MIN", "SESSION_LIFETIME",
           "SessionPrincipal", "SessionView", "SignedIn", "authenticate_session", "password_problem",
           "read_session", "set_password", "sign_in", "sign_out", "sign_out_everywhere"]
