"""Signing in through the engine (ROLE-10, MFA-2, MFA-4, MFA-6, MFA-10..MFA-12, AUD-4): a password, TOTP for
payments roles, recovery codes at login only, one failure count with the challenges, and sessions."""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import select, text

from engine.errors import DomainError
from engine.security import enrollment, sign_in, totp
from engine.security.permissions import BENEFICIARY_APPROVER, DISBURSEMENT_CONTRIBUTOR, PAYMENTS_DISBURSER
from engine.service import audit, directory
from engine.store.tables import AuditEntry, MfaEnrollment, OutboxEmail, User, UserSession
from tests.payments.banking import authenticator
from tests.roles import grant_role
from tests.world import build_world

PASSWORD = "correct horse battery staple"
OTHER = "another long passphrase"


def code_now(svc, secret: str, offset: int = 0) -> str:
    return totp.code_at_step(secret, totp.step_at(svc.now()) + offset)


def wrong_code(svc, secret: str) -> str:
    right = {code_now(svc, secret, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in right)


def enroll(svc, company: str, user: str, clock) -> tuple[str, tuple[str, ...]]:
    started = enrollment.start_enrollment(svc, user, company)
    codes = enrollment.confirm_enrollment(svc, user, company, code=code_now(svc, started.setup_key))
    clock.advance(seconds=30)  # the next code is a new step (MFA-3)
    return started.setup_key, codes.codes


def refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def entries(svc, company: str, action: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        return [e for e in audit.entries(s, audit.company_chain(company)) if e.action == action]


def failures(svc, user: str) -> int:
    with svc.db.sessions() as s:
        return s.get(MfaEnrollment, user).failures


def member(svc, w, name: str, *grants: str) -> str:
    """A member of GC Builders called ``name`` with ``grants``, and the password :data:`PASSWORD`."""
    user = directory.create_user(svc, f"{name}@gc.example", name.title()).id
    directory.add_member(svc, w.admin, w.company, f"{name}@gc.example")
    for permission in grants:
        grant_role(svc, w.admin, w.company, user, permission)
    sign_in.set_password(svc, f"{name}@gc.example", PASSWORD)
    return user


@pytest.mark.rule("ROLE-10", "AUD-4")
def test_the_right_password_signs_in_and_a_wrong_one_or_an_unknown_email_get_the_same_refusal(
        svc, clock, monkeypatch) -> None:
    w = build_world(svc)
    contributor = member(svc, w, "sam", DISBURSEMENT_CONTRIBUTOR)  # ROLE-4: needs no MFA
    signed = sign_in.sign_in(svc, " Sam@GC.example ", PASSWORD)
    assert signed.session.user_id == contributor and not signed.session.mfa_passed and not signed.session.enroll_only
    assert signed.token.startswith("prs_") and len(signed.token) == 47 and signed.token not in repr(signed)
    assert sign_in.authenticate_session(svc, signed.token).user_id == contributor
    with svc.db.sessions() as s:  # only the token's SHA-256 is stored
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM user_sessions")) for v in row)
    assert signed.token not in dump and hashlib.sha256(signed.token.encode()).hexdigest() in dump

    verified: list[str] = []
    real = sign_in._verify
    monkeypatch.setattr(sign_in, "_verify", lambda hashed, pw: verified.append(hashed) or real(hashed, pw))
    wrong = refusal(sign_in.sign_in, svc, "sam@gc.example", PASSWORD + "!")
    unknown = refusal(sign_in.sign_in, svc, "nobody@gc.example", PASSWORD)
    directory.create_user(svc, "nopass@gc.example", "No Password")
    no_password = refusal(sign_in.sign_in, svc, "nopass@gc.example", PASSWORD)
    garbage = refusal(sign_in.sign_in, svc, None, None)
    assert {(e.code, e.message, e.rule, e.kind) for e in (wrong, unknown, no_password, garbage)} == {
        ("sign_in_failed", "the email address or the password is wrong", "ROLE-10", "unauthenticated")}
    assert len(verified) == 4  # each refusal cost one argon2 verification, a dummy hash for no user
    refused = entries(svc, w.company, "sign_in_refused")
    assert [(e.actor_id, e.details["reason"]) for e in refused] == [(contributor, "password")]
    assert [e.details["method"] for e in entries(svc, w.company, "signed_in")] == ["password"]


def test_a_password_has_twelve_characters_and_is_not_the_email_and_is_kept_as_argon2id(svc) -> None:
    directory.create_user(svc, "pat@gc.example", "Pat")
    for weak in ("short pass", "a" * 20, "pat@gc.example-2026", "xxPAT-secret-xx", "tab\tinside it!", "x" * 257):
        assert refusal(sign_in.set_password, svc, "pat@gc.example", weak).code == "weak_password", weak
    assert refusal(sign_in.set_password, svc, "nobody@gc.example", PASSWORD).code == "not_found"
    sign_in.set_password(svc, "pat@gc.example", PASSWORD)
    with svc.db.sessions() as s:
        stored = s.scalars(select(User.password_hash).where(User.email == "pat@gc.example")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert sign_in.sign_in(svc, "pat@gc.example", PASSWORD).session.mfa_passed is False


@pytest.mark.rule("ROLE-10")
def test_payments_roles_pass_totp_at_every_login_and_without_mfa_may_only_enroll(svc, clock) -> None:
    w = build_world(svc)
    approver = member(svc, w, "bea", BENEFICIARY_APPROVER)
    # not enrolled: a session that may only enroll (ROLE-10), whatever code is sent
    first = sign_in.sign_in(svc, "bea@gc.example", PASSWORD, code="123456")
    assert first.session.enroll_only and not first.session.mfa_passed
    assert first.session.expires_at - first.session.created_at == sign_in.ENROLL_LIFETIME
    assert refusal(sign_in.authenticate_session, svc, first.token).code == "mfa_enrollment_required"
    principal = sign_in.authenticate_session(svc, first.token, purpose="enroll")
    assert principal.user_id == approver and principal.enroll_only
    secret, _ = enroll(svc, w.company, principal.user_id, clock)
    assert refusal(sign_in.authenticate_session, svc, first.token).code == "mfa_enrollment_required"  # sign in again
    # enrolled: every login needs the code
    needs = refusal(sign_in.sign_in, svc, "bea@gc.example", PASSWORD)
    assert (needs.code, needs.rule, needs.kind) == ("mfa_required", "ROLE-10", "unauthenticated")
    full = sign_in.sign_in(svc, "bea@gc.example", PASSWORD, code=code_now(svc, secret))
    assert full.session.mfa_passed and not full.session.enroll_only
    assert sign_in.authenticate_session(svc, full.token).user_id == approver
    clock.advance(seconds=30)
    assert refusal(sign_in.sign_in, svc, "bea@gc.example", PASSWORD).code == "mfa_required"  # again, every login
    assert sign_in.sign_in(svc, "bea@gc.example", PASSWORD, code=code_now(svc, secret)).session.mfa_passed
    # a password-only session whose user is then given a payments role must sign in again with a code
    member(svc, w, "casey")
    casual = sign_in.sign_in(svc, "casey@gc.example", PASSWORD)
    sign_in.authenticate_session(svc, casual.token)
    grant_role(svc, w.admin, w.company, casual.session.user_id, PAYMENTS_DISBURSER)
    assert refusal(sign_in.authenticate_session, svc, casual.token).code == "mfa_required"
    assert sign_in.sign_in(svc, "casey@gc.example", PASSWORD).session.enroll_only


@pytest.mark.rule("MFA-2", "ROLE-10")
def test_at_login_a_code_one_step_either_side_passes_and_two_steps_away_does_not(svc, clock) -> None:
    w = build_world(svc)
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    secret, _ = enroll(svc, w.company, w.cfo, clock)
    clock.advance(seconds=30)  # the step before now is not the activation's
    for offset in (-2, 2):  # ±60 s
        refused = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret, offset))
        assert (refused.code, refused.rule) == ("mfa_failed", "MFA-2")
    assert failures(svc, w.cfo) == 2
    assert sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret, -1)).session.mfa_passed
    assert sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret, 1)).session.mfa_passed
    assert failures(svc, w.cfo) == 0  # a success resets the count
    replayed = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret, 1))
    assert (replayed.code, replayed.rule) == ("mfa_failed", "MFA-3")


@pytest.mark.rule("MFA-6", "MFA-10")
def test_a_recovery_code_signs_in_once_and_no_sensitive_action_passes_until_a_new_enrollment(svc, clock) -> None:
    w = build_world(svc)
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    secret, codes = enroll(svc, w.company, w.cfo, clock)
    assert refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret),
                   recovery_code=codes[0]).code == "invalid_value"
    lost = sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, recovery_code=codes[0])
    assert lost.session.mfa_passed and lost.session.needs_reenrollment
    assert sign_in.authenticate_session(svc, lost.token).needs_reenrollment
    assert [e.details["left"] for e in entries(svc, w.company, "mfa_recovery_code_used")] == [9]
    # MFA-6: spent for good
    again = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, recovery_code=codes[0])
    assert again.code == "mfa_failed" and failures(svc, w.cfo) == 1
    # MFA-10: no transactional challenge passes, with a TOTP code or a recovery code, until a new secret
    for offered in (code_now(svc, secret), codes[1]):
        blocked = refusal(enrollment.regenerate_recovery_codes, svc, w.cfo, w.company, code=offered)
        assert (blocked.code, blocked.rule) == ("mfa_not_enrolled", "MFA-8")
    # a new secret is pending: the old one no longer signs in, a remaining recovery code still does
    started = enrollment.start_enrollment(svc, w.cfo, w.company)
    pending = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret))
    assert (pending.code, pending.rule) == ("mfa_required", "MFA-10")
    assert sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, recovery_code=codes[1]).session.needs_reenrollment
    enrollment.confirm_enrollment(svc, w.cfo, w.company, code=code_now(svc, started.setup_key))
    assert not sign_in.authenticate_session(svc, lost.token).needs_reenrollment
    assert not sign_in.read_session(svc, lost.token).needs_reenrollment
    clock.advance(seconds=30)
    new_codes = enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=code_now(svc, started.setup_key))
    assert len(new_codes.codes) == 10  # a challenge passes again


@pytest.mark.rule("MFA-11", "AUD-4")
def test_ten_failures_across_login_and_challenges_lock_out_and_void_every_session(svc, clock) -> None:
    w = build_world(svc)
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    secret, _ = enroll(svc, w.company, w.cfo, clock)
    here = sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret))
    clock.advance(seconds=30)
    there = sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret))
    for _ in range(5):  # transactional challenges
        refusal(enrollment.regenerate_recovery_codes, svc, w.cfo, w.company, code=wrong_code(svc, secret))
    for _ in range(4):  # login verifications
        refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=wrong_code(svc, secret))
    assert sign_in.authenticate_session(svc, here.token).user_id == w.cfo  # nine: still signed in
    tenth = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=wrong_code(svc, secret))
    assert tenth.code == "mfa_failed" and "signed out everywhere" in tenth.message
    for token in (here.token, there.token):
        gone = refusal(sign_in.authenticate_session, svc, token)
        assert (gone.code, gone.kind) == ("unauthenticated", "unauthenticated")
    assert enrollment.status(svc, w.cfo, w.company).locked
    assert len(entries(svc, w.company, "mfa_locked_out")) == 1
    with svc.db.sessions() as s:
        assert s.get(User, w.cfo).signed_out_at is not None
        assert all(r.signed_out_at is not None for r in s.scalars(select(UserSession)))
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "mfa_locked_out")).all()
    assert [m.recipients for m in mail] == [["cfo@gc.example"]]
    # sign in again with password and TOTP: unlocked, the old sessions stay void
    clock.advance(seconds=30)
    back = sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret))
    assert sign_in.authenticate_session(svc, back.token).user_id == w.cfo
    assert not enrollment.status(svc, w.cfo, w.company).locked and failures(svc, w.cfo) == 0
    assert refusal(sign_in.authenticate_session, svc, here.token).code == "unauthenticated"


@pytest.mark.rule("MFA-12", "MFA-11")
def test_while_locked_out_one_login_verification_per_step_is_evaluated_the_rest_unread(svc, clock) -> None:
    w = build_world(svc)
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    secret, _ = enroll(svc, w.company, w.cfo, clock)
    for _ in range(10):
        refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=wrong_code(svc, secret))
    assert enrollment.status(svc, w.cfo, w.company).locked and failures(svc, w.cfo) == 10
    clock.advance(seconds=30)
    assert refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=wrong_code(svc, secret)).code == "mfa_failed"
    assert failures(svc, w.cfo) == 11
    for offered in (code_now(svc, secret), wrong_code(svc, secret)):  # the step's one evaluation is spent
        throttled = refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=offered)
        assert (throttled.code, throttled.rule, throttled.kind) == ("mfa_throttled", "MFA-12", "conflict")
    assert failures(svc, w.cfo) == 11  # unread: not counted
    assert [e.details["reason"] for e in entries(svc, w.company, "sign_in_refused")] == ["throttled", "throttled"]
    clock.advance(seconds=30)
    assert sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, secret)).session.mfa_passed
    assert not enrollment.status(svc, w.cfo, w.company).locked and failures(svc, w.cfo) == 0


@pytest.mark.rule("MFA-11", "MFA-15")
def test_sessions_end_when_signed_out_idle_expired_or_signed_out_everywhere(svc, clock) -> None:
    w = build_world(svc)
    member(svc, w, "sam", DISBURSEMENT_CONTRIBUTOR)
    one = sign_in.sign_in(svc, "sam@gc.example", PASSWORD)
    assert sign_in.sign_out(svc, one.token) and not sign_in.sign_out(svc, one.token)
    assert refusal(sign_in.authenticate_session, svc, one.token).code == "unauthenticated"
    assert refusal(sign_in.authenticate_session, svc, "prs_" + "A" * 43).code == "unauthenticated"
    assert refusal(sign_in.authenticate_session, svc, 42).code == "unauthenticated"
    idle = sign_in.sign_in(svc, "sam@gc.example", PASSWORD)
    clock.advance(minutes=29)
    sign_in.authenticate_session(svc, idle.token)  # seen: the idle clock restarts
    clock.advance(minutes=29)
    sign_in.authenticate_session(svc, idle.token)
    clock.advance(minutes=30)
    assert refusal(sign_in.authenticate_session, svc, idle.token).code == "unauthenticated"
    busy = sign_in.sign_in(svc, "sam@gc.example", PASSWORD)
    for _ in range(30):  # seen every 29 minutes, yet over at 12 hours
        clock.advance(minutes=29)
        try:
            sign_in.authenticate_session(svc, busy.token)
        except DomainError:
            break
    assert clock.moment - busy.session.created_at <= sign_in.SESSION_LIFETIME + sign_in.IDLE_TIMEOUT
    assert refusal(sign_in.authenticate_session, svc, busy.token).code == "unauthenticated"
    a, b = (sign_in.sign_in(svc, "sam@gc.example", PASSWORD) for _ in range(2))
    assert sign_in.sign_out_everywhere(svc, a.token) == 2
    assert {refusal(sign_in.authenticate_session, svc, t.token).code for t in (a, b)} == {"unauthenticated"}
    assert sign_in.authenticate_session(svc, sign_in.sign_in(svc, "sam@gc.example", PASSWORD).token)
    # a new password (and an MFA reset, MFA-15) signs out everywhere too
    c = sign_in.sign_in(svc, "sam@gc.example", PASSWORD)
    sign_in.set_password(svc, "sam@gc.example", OTHER)
    assert refusal(sign_in.authenticate_session, svc, c.token).code == "unauthenticated"
    assert refusal(sign_in.sign_in, svc, "sam@gc.example", PASSWORD).code == "sign_in_failed"
    admin_secret = authenticator(svc, w.company, w.admin).secret  # enrolled already by grant_role
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    cfo_secret, _ = enroll(svc, w.company, w.cfo, clock)
    cfo = sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=code_now(svc, cfo_secret))
    enrollment.reset(svc, w.admin, w.company, w.cfo, code=code_now(svc, admin_secret), reason="lost phone")
    assert refusal(sign_in.authenticate_session, svc, cfo.token).code == "unauthenticated"
    assert sign_in.sign_in(svc, "cfo@gc.example", PASSWORD).session.enroll_only  # MFA-15: enroll at next login


@pytest.mark.rule("MFA-4")
def test_the_status_says_whether_the_recovery_codes_were_confirmed_saved(svc, clock) -> None:
    w = build_world(svc)
    assert refusal(enrollment.acknowledge_recovery_codes, svc, w.cfo, w.company).code == "invalid_state"
    secret, _ = enroll(svc, w.company, w.cfo, clock)
    assert not enrollment.status(svc, w.cfo, w.company).recovery_codes_acknowledged
    assert enrollment.acknowledge_recovery_codes(svc, w.cfo, w.company).recovery_codes_acknowledged
    assert enrollment.acknowledge_recovery_codes(svc, w.cfo, w.company).recovery_codes_acknowledged  # again: no-op
    assert len(entries(svc, w.company, "mfa_recovery_codes_acknowledged")) == 1
    enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=code_now(svc, secret))
    assert not enrollment.status(svc, w.cfo, w.company).recovery_codes_acknowledged  # a new set: confirm again


@pytest.mark.rule("MFA-5", "AUD-4")
def test_no_password_code_token_or_hash_reaches_audit_entries_or_the_log(svc, clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    w = build_world(svc)
    sign_in.set_password(svc, "cfo@gc.example", PASSWORD)
    secret, codes = enroll(svc, w.company, w.cfo, clock)
    typed = [code_now(svc, secret)]
    tokens = [sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, code=typed[-1]).token]
    refusal(sign_in.sign_in, svc, "cfo@gc.example", OTHER)
    refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=typed[-1])  # replayed
    right = {code_now(svc, secret, k) for k in (-1, 0, 1)}
    typed.append(next(c for c in ("739164", "582047", "916358") if c not in right))  # not a run of zeros
    refusal(sign_in.sign_in, svc, "cfo@gc.example", PASSWORD, code=typed[-1])
    refusal(sign_in.sign_in, svc, PASSWORD, PASSWORD)  # a password typed into the email field
    tokens.append(sign_in.sign_in(svc, "cfo@gc.example", PASSWORD, recovery_code=codes[0]).token)
    sign_in.sign_out(svc, tokens[0])
    sign_in.sign_out_everywhere(svc, tokens[1])
    with svc.db.sessions() as s:
        logged = " ".join(str(tuple(row)) for row in s.execute(text("SELECT * FROM audit_entries")))
        hashes = [h for (h,) in s.execute(select(UserSession.token_hash))]
        password_hash = s.get(User, w.cfo).password_hash
    logged += " " + caplog.text
    secrets_ = [PASSWORD, OTHER, secret, *typed, codes[0], codes[0].replace("-", ""), *tokens, *hashes,
                password_hash]
    assert [x for x in secrets_ if x in logged] == []
    actions = {e.action for e in entries(svc, w.company, "signed_in") + entries(svc, w.company, "sign_in_refused")
               + entries(svc, w.company, "mfa_failed") + entries(svc, w.company, "mfa_replayed")
               + entries(svc, w.company, "signed_out") + entries(svc, w.company, "signed_out_everywhere")}
    assert actions == {"signed_in", "sign_in_refused", "mfa_failed", "mfa_replayed", "signed_out",
                       "signed_out_everywhere"}
