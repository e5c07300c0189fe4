"""MFA for real: enrollment, the transactional challenge, recovery codes and reset, one transaction each.

The rules are :mod:`engine.security.mfa`'s (a pure machine); this module loads a
user's :class:`~engine.store.tables.MfaEnrollment`, unseals the secret
(:mod:`engine.security.secret_box`, MFA-5), runs the machine, and writes the new
state with its audit entries (AUD-4) and emails (MFA-11, MFA-15) in the caller's
transaction.

Commands take ``(svc, actor, company_id, ...)``: the company is where the user acts
(its chain records the enrollment, its name is in the emails), and the actor must be
an active member of it. None of them is idempotent (GEN-8's replay stores the
first result, and these results are a setup key or recovery codes shown once,
which must never be stored in clear); a retry starts a new enrollment or asks
for a new code instead.

:func:`challenge` is the transactional challenge (MFA-8) that a sensitive
command calls last, inside its own transaction (AUTH-4): a wrong code refuses
the command, and the failure is still counted and audited by the refusal's
follow-up (:class:`engine.errors.Refusal`), since the command's own
transaction rolls back.

:func:`acknowledge_recovery_codes` records the user's confirmation that they saved
the codes (MFA-4); each new set asks for it again. Signing out everywhere (a
lockout, a reset) also ends every open sign-in session (:mod:`engine.security.sign_in`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import segno
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import DomainError, Refusal
from engine.outbox import emails
from engine.security import mfa, secret_box, totp
from engine.security.permissions import PAYEE_ADMIN, PAYMENTS_ADMIN, LABELS, held, membership, require_member
from engine.security.recovery_codes import display
from engine.service import audit
from engine.services import Services
from engine.store.tables import Company, MfaEnrollment, User, UserSession

ISSUER = "payroute"


@dataclass(frozen=True)
class EnrollmentStart:
    """What the user scans or types into an authenticator app, shown once (MFA-4)."""

    setup_key: str
    otpauth_uri: str
    #: the otpauth URI as a QR code, an SVG document (segno)
    qr_svg: str


@dataclass(frozen=True)
class RecoveryCodes:
    """MFA-7: the 10 codes, shown once, as the user will type them (``1234-5678-9012``)."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class MfaStatus:
    """What a user (and their admin) may know about their MFA: never the secret."""

    user_id: str
    enrolled: bool
    pending: bool
    locked: bool
    must_enroll: bool
    recovery_codes_left: int
    #: MFA-4: the user confirmed saving the current recovery codes (:func:`acknowledge_recovery_codes`)
    recovery_codes_acknowledged: bool = False


def _context(user_id: str) -> str:
    return f"totp:user:{user_id}"


def _load(s: Session, user_id: str, *, lock: bool = False) -> tuple[MfaEnrollment | None, mfa.MfaState]:
    q = select(MfaEnrollment).where(MfaEnrollment.user_id == user_id)
    row = s.scalars(q.with_for_update() if lock else q).first()
    if row is None:
        return None, mfa.MfaState()
    secret = None
    if row.secret_sealed is not None:
        secret = secret_box.from_environment().open(row.secret_sealed, context=_context(user_id))
    return row, mfa.MfaState(secret=secret, active=row.active, last_step=row.last_step, failures=row.failures,
                             locked=row.locked, locked_attempt_step=row.locked_attempt_step,
                             must_enroll=row.must_enroll, recovery_hashes=tuple(row.recovery_hashes or ()))


def _save(s: Session, user_id: str, row: MfaEnrollment | None, state: mfa.MfaState, now: datetime, *,
          new_codes: bool = False) -> None:
    """Write ``state``; ``new_codes``: a new set of recovery codes was issued, so MFA-4's
    confirmation that they were saved is asked again."""
    if row is None:
        row = MfaEnrollment(user_id=user_id, lock_version=0)
        s.add(row)
    box = secret_box.from_environment()
    row.secret_sealed = box.seal(state.secret, context=_context(user_id)) if state.secret is not None else None
    row.key_id = box.key_id if state.secret is not None else None
    row.active, row.must_enroll, row.locked = state.active, state.must_enroll, state.locked
    row.last_step, row.failures, row.locked_attempt_step = state.last_step, state.failures, state.locked_attempt_step
    row.recovery_hashes = list(state.recovery_hashes)
    if new_codes or not state.recovery_hashes:
        row.recovery_codes_acknowledged_at = None
    row.updated_at = now
    s.flush()


def _status(user_id: str, state: mfa.MfaState, row: MfaEnrollment | None = None) -> MfaStatus:
    acknowledged = row is not None and row.recovery_codes_acknowledged_at is not None and bool(state.recovery_hashes)
    return MfaStatus(user_id, state.enrolled, state.secret is not None and state.must_enroll, state.locked,
                     state.must_enroll, len(state.recovery_hashes), acknowledged)


def _company(s: Session, company_id: str, actor: str) -> Company:
    member = membership(s, company_id, actor)
    company = s.get(Company, company_id) if member is not None and member.active else None
    if company is None:
        raise DomainError("not_found", "no such company", rule="GEN-5")
    return company


def _audit(s: Session, company_id: str, at: datetime, actor: str | None, action: str, user_id: str,
           rules: tuple[str, ...], reason: str | None = None) -> None:
    """An MFA event on the company's chain: who, whose MFA, which rule; never a secret or a code (MFA-5)."""
    s.scalars(select(Company.id).where(Company.id == company_id).with_for_update()).first()
    audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=at, actor_id=actor,
                 action=action, object_type="user", object_id=user_id, reason=reason, rules=rules)


def _sign_out_everywhere(s: Session, user_id: str, at: datetime) -> None:
    """MFA-11, MFA-15: every sign-in session of the user ends (engine.security.sign_in refuses one made
    before ``users.signed_out_at``, and each open one is marked signed out too)."""
    user = s.get(User, user_id)
    if user is not None:
        user.signed_out_at = at
    s.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.signed_out_at.is_(None))
              .values(signed_out_at=at))


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True,
                                    title="Scan with your authenticator app")
    return out.getvalue().decode("utf-8")


# ---------------------------------------------------------------- commands


def status(svc: Services, actor: str, company_id: str) -> MfaStatus:
    """The actor's own MFA status."""
    with svc.db.sessions() as s:
        _company(s, company_id, actor)
        row, state = _load(s, actor)
        return _status(actor, state, row)


def start_enrollment(svc: Services, actor: str, company_id: str) -> EnrollmentStart:
    """MFA-4: a new random secret, pending until a first valid code confirms it; the setup key, the
    otpauth URI and its QR code are returned once. Refused for an active enrollment (MFA-14: an
    Admin resets it first)."""
    now = svc.now()
    with svc.tx() as s:
        _company(s, company_id, actor)
        user = s.get(User, actor)
        assert user is not None
        row, state = _load(s, actor, lock=True)
        pending = mfa.enroll(state, totp.new_secret())
        _save(s, actor, row, pending, now)
        _audit(s, company_id, now, actor, "mfa_enrollment_started", actor, ("MFA-4",))
        assert pending.secret is not None
        uri = totp.provisioning_uri(pending.secret, account=user.email, issuer=ISSUER)
        return EnrollmentStart(pending.secret, uri, _qr_svg(uri))


def _failure_follow_up(user_id: str, company_id: str, company_name: str,
                       outcome_kind: str) -> Callable[[Session, datetime], None]:
    """What a refused code leaves behind (MFA-11): the count, and at the tenth the lockout, its
    audit entry, the sign-out everywhere and the email — read fresh under the row's lock, since
    the refused command's transaction rolled back."""

    def record(s: Session, at: datetime) -> None:
        row, fresh = _load(s, user_id, lock=True)
        counted = mfa.record_failure(fresh, outcome_kind)
        _save(s, user_id, row, counted.state, at)
        if counted.email_lockout:
            _sign_out_everywhere(s, user_id, at)
            _audit(s, company_id, at, user_id, "mfa_locked_out", user_id, ("MFA-11", "AUD-4"))
            emails.enqueue_account_email(s, now=at, company_id=company_id, company_name=company_name,
                                         user_id=user_id, event="mfa_locked_out")
    return record


def _refuse(company: Company, user_id: str, attempted: str, object_type: str, object_id: str,
            verdict: mfa.Outcome) -> DomainError:
    kind = "replayed" if "mfa_replayed" in verdict.events else "wrong"
    message = ("this code was already used: wait for the next one" if kind == "replayed"
               else "the code is wrong or expired")
    return DomainError("mfa_failed", message, rule="MFA-3" if kind == "replayed" else "MFA-2",
                       audit=Refusal(company.id, user_id, attempted, object_type, object_id,
                                     follow_up=_failure_follow_up(user_id, company.id, company.name, kind)))


def confirm_enrollment(svc: Services, actor: str, company_id: str, *, code: str) -> RecoveryCodes:
    """MFA-4, MFA-7: the first valid code activates the pending secret; the 10 recovery codes are
    returned once. A wrong code refuses and counts (MFA-11)."""
    now = svc.now()
    with svc.tx() as s:
        company = _company(s, company_id, actor)
        row, state = _load(s, actor, lock=True)
        verdict = mfa.activate(state, code, at=now)
        if not verdict.accepted:
            raise _refuse(company, actor, "mfa_enrollment", "user", actor, verdict)
        _save(s, actor, row, verdict.state, now, new_codes=True)
        _audit(s, company_id, now, actor, "mfa_enrolled", actor, ("MFA-4", "MFA-7"))
        return RecoveryCodes(tuple(display(c) for c in verdict.recovery_codes))


def challenge(s: Session, svc: Services, company: Company, user_id: str, code: object, *, action: str,
              object_type: str, object_id: str) -> None:
    """MFA-8, MFA-9: the transactional challenge, inside the sensitive command's transaction and
    after its every other check (AUTH-4). Passing it spends the code's step (MFA-3) and is audited
    with the action it covers; failing refuses the command (``mfa_failed``) and the refusal counts
    the failure; a locked-out user is refused (``mfa_locked``), audited, and nothing is counted. An internal helper: the calling command checked its actor."""
    now = svc.now()
    row, state = _load(s, user_id, lock=True)
    try:
        verdict = mfa.challenge(state, code, at=now)  # mfa_not_enrolled / mfa_locked raise from here
    except DomainError as exc:
        if exc.code != "mfa_locked":
            raise
        # AUD-4: a locked-out user's attempt at a sensitive action is a security refusal, recorded
        # though nothing changes; the code is not read, so it counts nothing more (MFA-11)
        raise DomainError("mfa_locked", exc.message, rule=exc.rule,
                          audit=Refusal(company.id, user_id, action, object_type, object_id)) from None
    if not verdict.accepted:
        raise _refuse(company, user_id, action, object_type, object_id, verdict)
    _save(s, user_id, row, verdict.state, now)
    _audit(s, company.id, now, user_id, "mfa_verified", user_id, ("MFA-8", "MFA-9"), reason=action)


def regenerate_recovery_codes(svc: Services, actor: str, company_id: str, *, code: str) -> RecoveryCodes:
    """MFA-7: a new set of 10, after a challenge (MFA-8); the previous set is void."""
    now = svc.now()
    with svc.tx() as s:
        company = _company(s, company_id, actor)
        challenge(s, svc, company, actor, code, action="regenerate_recovery_codes", object_type="user",
                  object_id=actor)
        row, state = _load(s, actor, lock=True)
        outcome = mfa.regenerate_recovery_codes(state)
        _save(s, actor, row, outcome.state, now, new_codes=True)
        _audit(s, company_id, now, actor, "mfa_recovery_codes_regenerated", actor, ("MFA-7",))
        return RecoveryCodes(tuple(display(c) for c in outcome.recovery_codes))


def acknowledge_recovery_codes(svc: Services, actor: str, company_id: str) -> MfaStatus:
    """MFA-4: the user confirms they saved the recovery codes just shown; until then their status
    says ``recovery_codes_acknowledged`` False. Again after it changes nothing; with no codes to
    save (not enrolled) ``invalid_state``. Audited."""
    now = svc.now()
    with svc.tx() as s:
        _company(s, company_id, actor)
        row, state = _load(s, actor, lock=True)
        if row is None or not state.recovery_hashes or not state.active:
            raise DomainError("invalid_state", "there are no recovery codes to confirm: enroll first", rule="MFA-4")
        if row.recovery_codes_acknowledged_at is None:
            row.recovery_codes_acknowledged_at = now
            row.updated_at = now
            s.flush()
            _audit(s, company_id, now, actor, "mfa_recovery_codes_acknowledged", actor, ("MFA-4",))
        return _status(actor, state, row)


def reset(svc: Services, actor: str, company_id: str, user_id: str, *, code: str, reason: str) -> MfaStatus:
    """MFA-14, MFA-15: a Payments Admin of the user's company (a Payee Admin, for a payee company's
    user) resets another user's MFA, never their own, after passing a challenge: the secret and the
    recovery codes go, the count clears, the user is signed out everywhere and emailed, and the
    reset is audited with actor, target and reason."""
    from engine.text import text_problem

    now = svc.now()
    with svc.tx() as s:
        company = _company(s, company_id, actor)
        needed = PAYEE_ADMIN if company.is_payee else PAYMENTS_ADMIN
        # a payee company's first admin holds Payments Admin, which is its Payee Admin (ROLE-6,
        # directory.create_company), as beneficiaries.is_payee_admin also reads it
        accepted = {PAYEE_ADMIN, PAYMENTS_ADMIN} if company.is_payee else {PAYMENTS_ADMIN}
        if not accepted & held(s, company_id, actor):
            raise DomainError("permission_denied", f"resetting a user's MFA needs {LABELS[needed]}", rule="MFA-14",
                              missing=LABELS[needed],
                              audit=Refusal(company_id, actor, "mfa_reset", "user", user_id[:32]))
        require_member(s, company_id, user_id)
        if user_id == actor:
            raise DomainError("permission_denied", "no one resets their own MFA: another admin must",
                              rule="MFA-14", audit=Refusal(company_id, actor, "mfa_reset", "user", user_id))
        problem = text_problem(reason, limit=500)
        if problem is not None:
            raise DomainError("invalid_value", f"reason: {problem}", rule="MFA-15")
        challenge(s, svc, company, actor, code, action="mfa_reset", object_type="user", object_id=user_id)
        row, state = _load(s, user_id, lock=True)
        outcome = mfa.reset(state)
        _save(s, user_id, row, outcome.state, now)
        _sign_out_everywhere(s, user_id, now)
        _audit(s, company_id, now, actor, "mfa_reset", user_id, ("MFA-14", "MFA-15"), reason=reason.strip())
        emails.enqueue_account_email(s, now=now, company_id=company_id, company_name=company.name,
                                     user_id=user_id, event="mfa_reset", details={"reason": reason.strip()})
        return _status(user_id, outcome.state, row)
