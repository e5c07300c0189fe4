"""MFA through the engine's commands (MFA-4..MFA-15, AUD-4): sealed at rest, counted, locked, reset."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from engine.errors import DomainError
from engine.security import enrollment, totp
from engine.service import audit, directory
from engine.store.tables import AuditEntry, MfaEnrollment, OutboxEmail, User
from tests.world import build_world


def code_now(svc, secret: str, offset: int = 0) -> str:
    return totp.code_at_step(secret, totp.step_at(svc.now()) + offset)


def wrong_code(svc, secret: str) -> str:
    right = {code_now(svc, secret, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in right)


def enroll(w, user: str, clock) -> str:
    started = enrollment.start_enrollment(w.svc, user, w.company)
    enrollment.confirm_enrollment(w.svc, user, w.company, code=code_now(w.svc, started.setup_key))
    clock.advance(seconds=30)  # the next code is a new step (MFA-3)
    return started.setup_key


def entries(svc, company: str, action: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        return [e for e in audit.entries(s, audit.company_chain(company)) if e.action == action]


@pytest.mark.rule("MFA-4", "MFA-5", "MFA-7")
def test_enrollment_shows_the_secret_once_keeps_it_sealed_and_issues_ten_codes(svc, clock) -> None:
    w = build_world(svc)
    started = enrollment.start_enrollment(svc, w.cfo, w.company)
    assert started.otpauth_uri.startswith("otpauth://totp/payroute:cfo@gc.example?secret=" + started.setup_key)
    assert started.qr_svg.startswith("<svg") and "</svg>" in started.qr_svg
    assert enrollment.status(svc, w.cfo, w.company).pending
    codes = enrollment.confirm_enrollment(svc, w.cfo, w.company, code=code_now(svc, started.setup_key))
    assert len(codes.codes) == 10 and all(len(c) == 14 for c in codes.codes)  # 1234-5678-9012
    state = enrollment.status(svc, w.cfo, w.company)
    assert state.enrolled and state.recovery_codes_left == 10 and not state.pending
    with svc.db.sessions() as s:
        row = s.get(MfaEnrollment, w.cfo)
        assert row is not None and row.secret_sealed is not None and started.setup_key not in row.secret_sealed
        dump = " ".join(str(v) for v in s.execute(text("SELECT * FROM mfa_enrollments")).one())
    assert started.setup_key not in dump and not any(c.replace("-", "") in dump for c in codes.codes)
    # MFA-5: no secret or code in the audit log
    with svc.db.sessions() as s:
        log = " ".join(str((e.details, e.reason)) for e in audit.entries(s, audit.company_chain(w.company)))
    assert started.setup_key not in log
    assert [e.action for e in entries(svc, w.company, "mfa_enrolled")] == ["mfa_enrolled"]


@pytest.mark.rule("MFA-8", "MFA-9", "MFA-3", "AUD-4")
def test_a_challenge_passes_once_per_code_and_a_failure_is_counted_and_audited(svc, clock) -> None:
    w = build_world(svc)
    secret = enroll(w, w.cfo, clock)
    good = code_now(svc, secret)
    codes = enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=good)
    assert len(codes.codes) == 10
    with pytest.raises(DomainError) as replay:  # the same code again (MFA-3, MFA-9)
        enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=good)
    assert (replay.value.code, replay.value.rule) == ("mfa_failed", "MFA-3")
    with pytest.raises(DomainError) as wrong:
        enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=wrong_code(svc, secret))
    assert (wrong.value.code, wrong.value.rule) == ("mfa_failed", "MFA-2")
    with svc.db.sessions() as s:
        assert s.get(MfaEnrollment, w.cfo).failures == 2  # counted though the commands rolled back
    refused = entries(svc, w.company, "refused")
    assert [e.details["code"] for e in refused][-2:] == ["mfa_failed", "mfa_failed"]
    assert all(good not in str(e.details) for e in refused)


@pytest.mark.rule("MFA-11")
def test_ten_failed_codes_lock_out_sign_out_everywhere_audit_and_email(svc, clock) -> None:
    w = build_world(svc)
    secret = enroll(w, w.cfo, clock)
    with svc.db.sessions() as s:
        assert s.get(User, w.cfo).signed_out_at is None
    for _ in range(10):
        with pytest.raises(DomainError):
            enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=wrong_code(svc, secret))
    state = enrollment.status(svc, w.cfo, w.company)
    assert state.locked
    with pytest.raises(DomainError) as locked:
        enrollment.regenerate_recovery_codes(svc, w.cfo, w.company, code=code_now(svc, secret))
    assert locked.value.code == "mfa_locked"
    assert len(entries(svc, w.company, "mfa_locked_out")) == 1
    with svc.db.sessions() as s:
        assert s.get(User, w.cfo).signed_out_at is not None  # every session made before it is void
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "mfa_locked_out")).all()
    assert [m.recipients for m in mail] == [["cfo@gc.example"]]
    assert secret not in mail[0].body


@pytest.mark.rule("MFA-14", "MFA-15")
def test_a_payments_admin_resets_another_users_mfa_never_their_own(svc, clock) -> None:
    w = build_world(svc)
    cfo_secret = enroll(w, w.cfo, clock)
    admin_secret = enroll(w, w.admin, clock)
    with pytest.raises(DomainError) as own:
        enrollment.reset(svc, w.admin, w.company, w.admin, code=code_now(svc, admin_secret), reason="lost phone")
    assert (own.value.code, own.value.rule) == ("permission_denied", "MFA-14")
    with pytest.raises(DomainError) as not_admin:
        enrollment.reset(svc, w.controller, w.company, w.cfo, code="123456", reason="lost phone")
    assert not_admin.value.missing == "Payments Admin"
    done = enrollment.reset(svc, w.admin, w.company, w.cfo, code=code_now(svc, admin_secret), reason="lost phone")
    assert not done.enrolled and done.must_enroll and done.recovery_codes_left == 0
    with svc.db.sessions() as s:
        row = s.get(MfaEnrollment, w.cfo)
        assert row.secret_sealed is None and row.recovery_hashes == []
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "mfa_reset")).all()
    assert [m.recipients for m in mail] == [["cfo@gc.example"]] and "lost phone" in mail[0].body
    reset_entry = entries(svc, w.company, "mfa_reset")[0]
    assert (reset_entry.actor_id, reset_entry.object_id, reset_entry.reason) == (w.admin, w.cfo, "lost phone")
    # the user enrolls again with a new secret; the old one is gone
    again = enrollment.start_enrollment(svc, w.cfo, w.company)
    assert again.setup_key != cfo_secret


@pytest.mark.rule("MFA-4")
def test_an_active_enrollment_is_not_replaced_and_strangers_find_no_company(svc, clock) -> None:
    w = build_world(svc)
    enroll(w, w.cfo, clock)
    with pytest.raises(DomainError) as again:
        enrollment.start_enrollment(svc, w.cfo, w.company)
    assert again.value.rule == "MFA-4"
    stranger = directory.create_user(svc, "someone@elsewhere.example", "Someone").id
    with pytest.raises(DomainError) as hidden:
        enrollment.start_enrollment(svc, stranger, w.company)
    assert hidden.value.code == "not_found"
