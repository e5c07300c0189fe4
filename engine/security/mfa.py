"""A user's MFA as a pure state machine: enrollment, login and transactional challenges, lockout, reset.

The rules (domain.md section 11) are about sequences — ten failures in a row,
one evaluation per step while locked out, a recovery code that forces a new
enrollment — so they live here as ``(state, input, now) -> outcome`` with no
database, no clock and no secret box: :mod:`engine.service` unseals the secret,
calls these, and writes the new state, the audit entries and the emails the
outcome lists in the command's transaction (AUD-1, AUD-4).

- MFA-4: :func:`enroll` makes a pending secret; :func:`activate` turns it on with a first valid code.
- MFA-3: every accepted code's step is kept; a code for it or an earlier one is ``replayed``.
- MFA-8, MFA-9: :func:`challenge` is one verification for one sensitive action: it returns
  ``accepted`` once, and the same code cannot be accepted again (MFA-3), so there is no grace window.
- MFA-10: a recovery code is taken only by :func:`login_with_recovery_code` (never by a
  challenge), and leaves the user needing a new enrollment before any sensitive action.
- MFA-11: 10 consecutive failures (login or challenge) lock the user out: signed out everywhere,
  audited and emailed; a success resets the count.
- MFA-12: while locked out, at most one login verification per 30 s step is evaluated; the others
  are refused unread (``throttled``), and do not count as failures.
- MFA-15: :func:`reset` removes the secret and the recovery codes and clears the count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from engine.errors import DomainError
from engine.security import recovery_codes, totp

#: MFA-11
LOCKOUT_AFTER = 10


@dataclass(frozen=True)
class MfaState:
    """One user's MFA. ``secret`` is the plaintext base32 secret, unsealed by the caller."""

    secret: str | None = None
    #: MFA-4: activated by a first valid code
    active: bool = False
    #: MFA-3: the step of the last accepted code
    last_step: int | None = None
    #: MFA-11: consecutive failures
    failures: int = 0
    locked: bool = False
    #: MFA-12: the step of the last login verification evaluated while locked out
    locked_attempt_step: int | None = None
    #: MFA-10 and MFA-15: a new enrollment is needed before any sensitive action
    must_enroll: bool = True
    #: MFA-7: argon2 hashes of the unused recovery codes
    recovery_hashes: tuple[str, ...] = ()

    @property
    def enrolled(self) -> bool:
        """Whether the user can pass a transactional challenge (AUTH-3: "enrolled in MFA")."""
        return self.active and self.secret is not None and not self.must_enroll


Event = Literal["mfa_enrolled", "mfa_verified", "mfa_failed", "mfa_replayed", "mfa_locked_out",
                "mfa_recovery_code_used", "mfa_reset", "mfa_throttled"]


@dataclass(frozen=True)
class Outcome:
    """What a verification did: the new state, whether it passed, what to audit (AUD-4) and whether
    to sign the user out everywhere and email them (MFA-11)."""

    state: MfaState
    accepted: bool
    events: tuple[Event, ...]
    sign_out_everywhere: bool = False
    email_lockout: bool = False
    #: MFA-7: the recovery codes to show once (after activation or regeneration)
    recovery_codes: tuple[str, ...] = ()


# ---------------------------------------------------------------- enrollment


def enroll(state: MfaState, secret: str) -> MfaState:
    """MFA-4: a new pending secret (not active until :func:`activate`). An enrolled user resets first
    (MFA-14) or regenerates nothing here: replacing a working secret silently would let a stolen
    session move the second factor."""
    if state.enrolled:
        raise DomainError("invalid_state", "MFA is already enrolled; an Admin resets it first", rule="MFA-4")
    return replace(state, secret=secret, active=False, last_step=None, must_enroll=True)


def activate(state: MfaState, code: object, *, at: datetime, new_codes: tuple[str, ...] | None = None) -> Outcome:
    """MFA-4: the first valid code turns the pending secret on and issues 10 recovery codes (MFA-7),
    hashed into the state and returned once in the outcome."""
    if state.secret is None or (state.active and not state.must_enroll):
        raise DomainError("invalid_state", "there is no pending enrollment to confirm", rule="MFA-4")
    verdict = totp.check(state.secret, code, at=at, last_step=state.last_step)
    if not verdict.accepted:
        return _failed(state, verdict.outcome)
    codes = tuple(new_codes if new_codes is not None else recovery_codes.new_codes())
    done = replace(state, active=True, must_enroll=False, last_step=verdict.step, failures=0, locked=False,
                   locked_attempt_step=None, recovery_hashes=tuple(recovery_codes.hash_codes(codes)))
    return Outcome(done, True, ("mfa_enrolled",), recovery_codes=codes)


def regenerate_recovery_codes(state: MfaState, *, new_codes: tuple[str, ...] | None = None) -> Outcome:
    """MFA-7: a new set replaces the whole previous one (the caller has passed a challenge, MFA-8)."""
    if not state.enrolled:
        raise DomainError("mfa_not_enrolled", "enroll in MFA first", rule="MFA-7")
    codes = tuple(new_codes if new_codes is not None else recovery_codes.new_codes())
    return Outcome(replace(state, recovery_hashes=tuple(recovery_codes.hash_codes(codes))), True, (),
                   recovery_codes=codes)


# ---------------------------------------------------------------- verification


def _failed(state: MfaState, outcome: str) -> Outcome:
    failures = state.failures + 1
    event: Event = "mfa_replayed" if outcome == "replayed" else "mfa_failed"
    if failures >= LOCKOUT_AFTER and not state.locked:
        return Outcome(replace(state, failures=failures, locked=True), False, (event, "mfa_locked_out"),
                       sign_out_everywhere=True, email_lockout=True)
    return Outcome(replace(state, failures=failures), False, (event,))


def record_failure(state: MfaState, kind: str) -> Outcome:
    """Count one failed verification (``"wrong"`` or ``"replayed"``) on ``state`` as it stands now:
    what a refusal writes after its command rolled back (MFA-11)."""
    return _failed(state, kind)


def _passed(state: MfaState, step: int | None) -> MfaState:
    return replace(state, last_step=step, failures=0, locked=False, locked_attempt_step=None)


def login(state: MfaState, code: object, *, at: datetime) -> Outcome:
    """The TOTP code at sign-in (ROLE-10). While locked out, one evaluation per step (MFA-12)."""
    if state.secret is None or not state.active:
        raise DomainError("mfa_not_enrolled", "this user has no active MFA: enroll first", rule="MFA-4")
    step = totp.step_at(at)
    if state.locked:
        if state.locked_attempt_step is not None and state.locked_attempt_step >= step:
            return Outcome(state, False, ("mfa_throttled",))
        state = replace(state, locked_attempt_step=step)
    verdict = totp.check(state.secret, code, at=at, last_step=state.last_step)
    if not verdict.accepted:
        return _failed(state, verdict.outcome)
    return Outcome(_passed(state, verdict.step), True, ("mfa_verified",))


def login_with_recovery_code(state: MfaState, typed: object, *, at: datetime) -> Outcome:
    """MFA-6, MFA-10: a lost device: the code is spent for good, and the user must enroll a new
    secret before any sensitive action. Subject to the lockout like any verification.

    Also taken while a new secret is pending after an earlier recovery code (not active, codes
    left): the old secret is gone and the new one unconfirmed, so a remaining code is the only way in."""
    if not state.active and not state.recovery_hashes:
        raise DomainError("mfa_not_enrolled", "this user has no active MFA: enroll first", rule="MFA-4")
    step = totp.step_at(at)
    if state.locked:
        if state.locked_attempt_step is not None and state.locked_attempt_step >= step:
            return Outcome(state, False, ("mfa_throttled",))
        state = replace(state, locked_attempt_step=step)
    index = recovery_codes.matching(typed, state.recovery_hashes)
    if index is None:
        return _failed(state, "wrong")
    spent = state.recovery_hashes[:index] + state.recovery_hashes[index + 1:]
    done = replace(_passed(state, state.last_step), recovery_hashes=spent, must_enroll=True)
    return Outcome(done, True, ("mfa_recovery_code_used",))


def challenge(state: MfaState, code: object, *, at: datetime) -> Outcome:
    """MFA-8, MFA-9: the transactional challenge before one sensitive action; TOTP only (MFA-10).

    A locked-out user is signed out, so a challenge reaching here while locked is refused as such."""
    if not state.enrolled:
        raise DomainError("mfa_not_enrolled", "this action needs MFA: enroll (again) first", rule="MFA-8")
    if state.locked:
        raise DomainError("mfa_locked", "too many failed codes: sign in again with your password and a code",
                          rule="MFA-11")
    assert state.secret is not None
    verdict = totp.check(state.secret, code, at=at, last_step=state.last_step)
    if not verdict.accepted:
        return _failed(state, verdict.outcome)
    return Outcome(_passed(state, verdict.step), True, ("mfa_verified",))


def reset(state: MfaState) -> Outcome:
    """MFA-15: the secret and the recovery codes go, the count clears, the user is signed out
    everywhere and must enroll at the next login (who may reset is the service's check, MFA-14)."""
    return Outcome(MfaState(), True, ("mfa_reset",), sign_out_everywhere=True)
