"""A user's MFA as a machine (MFA-3..MFA-15): enrollment, login, challenges, lockout, recovery, reset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import DomainError
from engine.security import mfa, recovery_codes, totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
CODES = tuple(f"{i:012d}" for i in range(1, 11))


def code(at: datetime, offset: int = 0) -> str:
    return totp.code_at_step(SECRET, totp.step_at(at) + offset)


def wrong(at: datetime) -> str:
    right = {code(at, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in right)


def enrolled(at: datetime = T0) -> mfa.MfaState:
    outcome = mfa.activate(mfa.enroll(mfa.MfaState(), SECRET), code(at), at=at, new_codes=CODES)
    assert outcome.accepted
    return outcome.state


@pytest.mark.rule("MFA-4")
def test_mfa_4_a_pending_secret_is_active_only_after_a_valid_code() -> None:
    pending = mfa.enroll(mfa.MfaState(), SECRET)
    assert not pending.enrolled and not pending.active
    refused = mfa.activate(pending, wrong(T0), at=T0)
    assert not refused.accepted and not refused.state.active and refused.events == ("mfa_failed",)
    done = mfa.activate(pending, code(T0), at=T0, new_codes=CODES)
    assert done.accepted and done.state.enrolled and done.events == ("mfa_enrolled",)
    with pytest.raises(DomainError) as again:
        mfa.enroll(done.state, totp.new_secret())
    assert again.value.rule == "MFA-4"


@pytest.mark.rule("MFA-7")
def test_mfa_7_activation_shows_ten_codes_once_and_keeps_only_hashes() -> None:
    done = mfa.activate(mfa.enroll(mfa.MfaState(), SECRET), code(T0), at=T0)
    assert len(done.recovery_codes) == 10 and len(done.state.recovery_hashes) == 10
    assert not set(done.recovery_codes) & set(done.state.recovery_hashes)
    again = mfa.regenerate_recovery_codes(done.state)
    assert recovery_codes.matching(done.recovery_codes[0], again.state.recovery_hashes) is None  # the old set is void
    assert recovery_codes.matching(again.recovery_codes[0], again.state.recovery_hashes) is not None


@pytest.mark.rule("MFA-3", "MFA-9")
def test_mfa_9_one_verification_covers_one_action_and_mfa_3_the_code_cannot_be_reused() -> None:
    state = enrolled(T0 - timedelta(minutes=5))
    first = mfa.challenge(state, code(T0), at=T0)
    assert first.accepted and first.events == ("mfa_verified",)
    second = mfa.challenge(first.state, code(T0), at=T0 + timedelta(seconds=3))
    assert not second.accepted and second.events == ("mfa_replayed",) and second.state.failures == 1
    later = mfa.challenge(second.state, code(T0 + timedelta(seconds=30)), at=T0 + timedelta(seconds=30))
    assert later.accepted and later.state.failures == 0  # a success resets the count (MFA-11)


@pytest.mark.rule("MFA-11")
def test_mfa_11_ten_consecutive_failures_lock_the_user_out_everywhere_once() -> None:
    state = enrolled(T0 - timedelta(minutes=5))
    for n in range(1, 10):
        outcome = mfa.challenge(state, wrong(T0), at=T0)
        state = outcome.state
        assert state.failures == n and not state.locked and not outcome.sign_out_everywhere
    tenth = mfa.challenge(state, wrong(T0), at=T0)
    assert tenth.state.locked and tenth.sign_out_everywhere and tenth.email_lockout
    assert tenth.events == ("mfa_failed", "mfa_locked_out")
    with pytest.raises(DomainError) as locked:
        mfa.challenge(tenth.state, code(T0, 1), at=T0)
    assert (locked.value.code, locked.value.rule) == ("mfa_locked", "MFA-11")
    # signing in again with a valid code unlocks and resets the count
    back = mfa.login(tenth.state, code(T0, 1), at=T0)
    assert back.accepted and not back.state.locked and back.state.failures == 0


@pytest.mark.rule("MFA-12")
def test_mfa_12_while_locked_out_one_login_verification_per_step_is_evaluated() -> None:
    state = enrolled(T0 - timedelta(minutes=5))
    for _ in range(10):
        state = mfa.login(state, wrong(T0), at=T0).state
    assert state.locked
    at = T0 + timedelta(seconds=60)
    first = mfa.login(state, wrong(at), at=at)
    assert first.events == ("mfa_failed",) and first.state.failures == 11
    throttled = mfa.login(first.state, code(at), at=at + timedelta(seconds=1))  # same step: unread
    assert not throttled.accepted and throttled.events == ("mfa_throttled",) and throttled.state == first.state
    next_step = at + timedelta(seconds=30)
    assert mfa.login(first.state, code(next_step), at=next_step).accepted


@pytest.mark.rule("MFA-6", "MFA-10")
def test_mfa_10_a_recovery_code_only_signs_in_is_spent_and_forces_a_new_enrollment() -> None:
    state = enrolled(T0 - timedelta(minutes=5))
    used = mfa.login_with_recovery_code(state, recovery_codes.display(CODES[3]), at=T0)
    assert used.accepted and used.events == ("mfa_recovery_code_used",)
    assert len(used.state.recovery_hashes) == 9 and not used.state.enrolled  # MFA-10
    again = mfa.login_with_recovery_code(used.state, CODES[3], at=T0 + timedelta(seconds=30))
    assert not again.accepted  # MFA-6: spent for good
    with pytest.raises(DomainError) as refused:
        mfa.challenge(used.state, code(T0, 1), at=T0)
    assert (refused.value.code, refused.value.rule) == ("mfa_not_enrolled", "MFA-8")
    # a recovery code is never accepted where a TOTP code is asked for
    assert not mfa.challenge(state, CODES[4], at=T0).accepted
    renewed = mfa.activate(mfa.enroll(used.state, totp.new_secret()), "000000", at=T0)
    assert not renewed.accepted  # the new secret needs its own first code


@pytest.mark.rule("MFA-15")
def test_mfa_15_a_reset_removes_the_secret_and_the_codes_and_signs_out() -> None:
    state = enrolled()
    outcome = mfa.reset(state)
    assert outcome.state == mfa.MfaState() and outcome.sign_out_everywhere and outcome.events == ("mfa_reset",)
    assert not outcome.state.enrolled and outcome.state.must_enroll and outcome.state.recovery_hashes == ()
