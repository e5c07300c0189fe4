"""/v1/companies/{cid}/me/mfa, its enrollment, recovery codes, and /users/{uid}/mfa/reset (MFA-1..MFA-15)
through the HTTP API, on SQLite and PostgreSQL. The service runs on the test's clock, so the codes an
authenticator app would show come from pyotp at that clock's time."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from engine.security import mfa
from engine.service import audit
from engine.store.tables import AuditEntry, IdempotencyRecord, MfaEnrollment, OutboxEmail, User
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_problems import assert_problem


@pytest.fixture
def mfa_api(api: Api, clock) -> Api:  # noqa: F811 - the fixture above
    api.svc.clock = clock
    api.clock = clock  # type: ignore[attr-defined]
    return api


def code(api: Api, secret: str, seconds: int = 0) -> str:
    """What an authenticator app shows ``seconds`` from the service's now."""
    return pyotp.TOTP(secret).at(api.svc.now() + timedelta(seconds=seconds))


def wrong(api: Api, secret: str) -> str:
    near = {code(api, secret, s) for s in range(-90, 91, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def start(api: Api, user: str) -> dict[str, Any]:
    response = api.client(user).post(f"{api.c}/me/mfa/enrollment", json={})
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def enroll(api: Api, user: str) -> tuple[str, list[str]]:
    """Enroll ``user`` over HTTP; the clock then moves to the next step (so the next code is new, MFA-3)."""
    secret = start(api, user)["setup_key"]
    confirmed = api.client(user).post(f"{api.c}/me/mfa/enrollment/confirm", json={"code": code(api, secret)})
    assert confirmed.status_code == 200, confirmed.get_json()
    api.clock.advance(seconds=30)  # type: ignore[attr-defined]
    return secret, confirmed.get_json()["recovery_codes"]


def status(api: Api, user: str) -> dict[str, Any]:
    response = api.client(user).get(f"{api.c}/me/mfa")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def failures(api: Api, user: str) -> int:
    with api.svc.db.sessions() as s:
        return s.get(MfaEnrollment, user).failures


@pytest.mark.rule("MFA-1", "MFA-4", "MFA-7", "MFA-13")
def test_enroll_then_confirm_with_a_valid_code_and_the_status_says_enrolled(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    assert status(api, cfo) == {"user_id": cfo, "enrolled": False, "pending": False, "locked": False,
                                "must_enroll": True, "recovery_codes_left": 0,
                                "recovery_codes_acknowledged": False}
    started = start(api, cfo)
    assert set(started) == {"setup_key", "otpauth_uri", "qr_svg"}
    secret = started["setup_key"]
    assert len(secret) == 32 and pyotp.TOTP(secret).byte_secret()  # 160 bits, base32
    assert started["otpauth_uri"].startswith(f"otpauth://totp/payroute:cfo@gc.example?secret={secret}")
    assert started["qr_svg"].startswith("<svg") and started["qr_svg"].rstrip().endswith("</svg>")
    got = status(api, cfo)
    assert (got["pending"], got["enrolled"]) == (True, False) and secret not in str(got)
    confirmed = api.client(cfo).post(f"{api.c}/me/mfa/enrollment/confirm", json={"code": code(api, secret)})
    assert confirmed.status_code == 200 and confirmed.headers["Cache-Control"] == "no-store"
    codes = confirmed.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 14 and c.replace("-", "").isdigit() for c in codes)  # 12 digits, 1234-5678-9012
    assert status(api, cfo) == {"user_id": cfo, "enrolled": True, "pending": False, "locked": False,
                                "must_enroll": False, "recovery_codes_left": 10,
                                "recovery_codes_acknowledged": False}
    assert "Cache-Control" not in api.client(cfo).get(f"{api.c}/me/mfa").headers  # no secret there
    # an active enrollment is not replaced (an Admin resets it first, MFA-14)
    body = assert_problem(api.client(cfo).post(f"{api.c}/me/mfa/enrollment", json={}), 409, "invalid_state")
    assert body["rule"] == "MFA-4"


@pytest.mark.rule("MFA-4", "MFA-7")
def test_the_user_confirms_saving_the_recovery_codes_and_a_new_set_asks_again(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    acknowledge = f"{api.c}/me/mfa/recovery-codes/acknowledge"
    # nothing to confirm before enrolling: a clear 409, nothing recorded
    body = assert_problem(api.client(cfo).post(acknowledge, json={}), 409, "invalid_state")
    assert body["rule"] == "MFA-4" and "enroll first" in body["detail"]
    start(api, cfo)
    assert_problem(api.client(cfo).post(acknowledge, json={}), 409, "invalid_state")  # pending: no codes yet
    assert_problem(api.client(cfo).post(acknowledge, json={"code": "123456"}), 422, "validation_failed")  # the body is {}
    secret, _ = enroll(api, cfo)
    assert status(api, cfo)["recovery_codes_acknowledged"] is False
    done = api.client(cfo).post(acknowledge, json={}, headers={"Idempotency-Key": "ack-1"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"user_id": cfo, "enrolled": True, "pending": False, "locked": False,
                               "must_enroll": False, "recovery_codes_left": 10,
                               "recovery_codes_acknowledged": True}
    assert status(api, cfo)["recovery_codes_acknowledged"] is True
    again = api.client(cfo).post(acknowledge, json={})  # again: the same status, audited once
    assert again.status_code == 200 and again.get_json()["recovery_codes_acknowledged"] is True
    with api.svc.db.sessions() as s:
        chain = audit.entries(s, audit.company_chain(api.w.company))
    acks = [e for e in chain if e.action == "mfa_recovery_codes_acknowledged"]
    assert [(e.actor_id, e.object_id) for e in acks] == [(cfo, cfo)]
    # another member's status is their own: the CFO's confirmation is not the controller's
    assert status(api, api.w.controller)["recovery_codes_acknowledged"] is False
    # a new set is new codes to save: asked again
    fresh = api.client(cfo).post(f"{api.c}/me/mfa/recovery-codes", json={"code": code(api, secret)})
    assert fresh.status_code == 200
    assert status(api, cfo)["recovery_codes_acknowledged"] is False
    assert api.client(cfo).post(acknowledge, json={}).get_json()["recovery_codes_acknowledged"] is True


@pytest.mark.rule("MFA-2", "MFA-11")
def test_a_code_is_accepted_one_step_either_side_and_a_wrong_one_is_refused_and_counted(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    secret = start(api, cfo)["setup_key"]
    confirm = f"{api.c}/me/mfa/enrollment/confirm"
    for seconds in (60, -60):  # two steps away: refused, and counted
        body = assert_problem(api.client(cfo).post(confirm, json={"code": code(api, secret, seconds)}), 403,
                              "mfa_failed")
        assert body["rule"] == "MFA-2" and "wrong or expired" in body["detail"]
    body = assert_problem(api.client(cfo).post(confirm, json={"code": wrong(api, secret)}), 403, "mfa_failed")
    assert failures(api, cfo) == 3 and not status(api, cfo)["enrolled"]
    assert api.client(cfo).post(confirm, json={"code": code(api, secret, -30)}).status_code == 200  # 30 s late
    assert failures(api, cfo) == 0  # a success resets the count (MFA-11)
    api.clock.advance(seconds=60)  # type: ignore[attr-defined]
    regenerate = f"{api.c}/me/mfa/recovery-codes"
    assert_problem(api.client(cfo).post(regenerate, json={"code": code(api, secret, 60)}), 403, "mfa_failed")
    assert_problem(api.client(cfo).post(regenerate, json={"code": code(api, secret, -60)}), 403, "mfa_failed")
    assert failures(api, cfo) == 2
    assert api.client(cfo).post(regenerate, json={"code": code(api, secret, 30)}).status_code == 200  # 30 s early


@pytest.mark.rule("MFA-3", "MFA-9")
def test_the_same_code_is_never_accepted_twice(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    secret = start(api, cfo)["setup_key"]
    used = code(api, secret)
    assert api.client(cfo).post(f"{api.c}/me/mfa/enrollment/confirm", json={"code": used}).status_code == 200
    regenerate = f"{api.c}/me/mfa/recovery-codes"
    body = assert_problem(api.client(cfo).post(regenerate, json={"code": used}), 403, "mfa_failed")
    assert body["rule"] == "MFA-3" and "already used" in body["detail"]
    assert failures(api, cfo) == 1
    api.clock.advance(seconds=30)  # type: ignore[attr-defined]
    again = code(api, secret)
    assert api.client(cfo).post(regenerate, json={"code": again}).status_code == 200
    assert_problem(api.client(cfo).post(regenerate, json={"code": again}), 403, "mfa_failed")  # one action each


@pytest.mark.rule("MFA-11", "AUD-4", "AUD-6")
def test_ten_failed_codes_lock_the_user_out_with_a_clear_problem(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    secret, _ = enroll(api, cfo)
    regenerate = f"{api.c}/me/mfa/recovery-codes"
    for n in range(1, 11):
        assert_problem(api.client(cfo).post(regenerate, json={"code": wrong(api, secret)}), 403, "mfa_failed")
        assert status(api, cfo)["locked"] is (n == 10)
    body = assert_problem(api.client(cfo).post(regenerate, json={"code": code(api, secret)}), 403, "mfa_locked")
    assert body["rule"] == "MFA-11" and "too many failed codes" in body["detail"]
    assert "sign in again" in body["detail"]
    with api.svc.db.sessions() as s:
        assert s.get(User, cfo).signed_out_at is not None
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "mfa_locked_out")).all()
        chain = audit.entries(s, audit.company_chain(api.w.company))
    assert [m.recipients for m in mail] == [["cfo@gc.example"]]
    assert [e.action for e in chain].count("mfa_locked_out") == 1
    assert [e.details.get("code") for e in chain if e.action == "refused"].count("mfa_failed") == 10


@pytest.mark.rule("MFA-6", "MFA-7", "MFA-10")
def test_a_recovery_code_works_once_at_login_never_at_a_challenge_and_regenerating_voids_the_set(
        mfa_api: Api) -> None:
    from engine.security import enrollment

    api, cfo = mfa_api, mfa_api.w.cfo
    secret, codes = enroll(api, cfo)
    regenerate = f"{api.c}/me/mfa/recovery-codes"
    # MFA-10: not accepted at a transactional challenge
    assert_problem(api.client(cfo).post(regenerate, json={"code": codes[0].replace("-", "")}), 403, "mfa_failed")
    assert status(api, cfo)["recovery_codes_left"] == 10
    # MFA-6: at login (no HTTP route yet: the engine's machine on the state HTTP stored) it works once
    with api.svc.db.sessions() as s:
        _, state = enrollment._load(s, cfo)
    used = mfa.login_with_recovery_code(state, codes[1], at=api.svc.now())
    assert used.accepted and used.state.must_enroll and len(used.state.recovery_hashes) == 9
    assert not mfa.login_with_recovery_code(used.state, codes[1], at=api.svc.now()).accepted
    # MFA-7: a new set voids the old one
    fresh = api.client(cfo).post(regenerate, json={"code": code(api, secret)})
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    new_codes = fresh.get_json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    with api.svc.db.sessions() as s:
        _, state = enrollment._load(s, cfo)
    assert not mfa.login_with_recovery_code(state, codes[2], at=api.svc.now()).accepted
    assert mfa.login_with_recovery_code(state, new_codes[0], at=api.svc.now()).accepted


@pytest.mark.rule("MFA-14", "MFA-15", "AUD-6")
def test_a_payments_admin_resets_another_users_mfa_never_their_own_and_never_a_non_admin(mfa_api: Api) -> None:
    api, w = mfa_api, mfa_api.w
    cfo_secret, _ = enroll(api, w.cfo)
    admin_secret, _ = enroll(api, w.admin)
    controller_secret, _ = enroll(api, w.controller)
    reset = f"{api.c}/users/{{}}/mfa/reset"
    body = assert_problem(api.client(w.controller).post(reset.format(w.cfo), json={
        "code": code(api, controller_secret), "reason": "lost phone"}), 403, "permission_denied")
    assert (body["rule"], body["missing_permission"]) == ("MFA-14", "Payments Admin")
    body = assert_problem(api.admin.post(reset.format(w.admin), json={
        "code": code(api, admin_secret), "reason": "lost phone"}), 403, "permission_denied")
    assert body["rule"] == "MFA-14" and "own" in body["detail"]
    assert status(api, w.cfo)["enrolled"] and status(api, w.admin)["enrolled"]
    assert_problem(api.admin.post(reset.format(w.cfo), json={"code": wrong(api, admin_secret),
                                                              "reason": "lost phone"}), 403, "mfa_failed")
    assert status(api, w.cfo)["enrolled"]
    done = api.admin.post(reset.format(w.cfo), json={"code": code(api, admin_secret), "reason": "lost phone"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"user_id": w.cfo, "enrolled": False, "pending": False, "locked": False,
                               "must_enroll": True, "recovery_codes_left": 0,
                               "recovery_codes_acknowledged": False}
    assert status(api, w.cfo)["must_enroll"]
    with api.svc.db.sessions() as s:
        assert s.get(User, w.cfo).signed_out_at is not None  # signed out everywhere
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.event == "mfa_reset")).all()
        entry = [e for e in audit.entries(s, audit.company_chain(w.company)) if e.action == "mfa_reset"]
    assert [m.recipients for m in mail] == [["cfo@gc.example"]] and "lost phone" in mail[0].body
    assert [(e.actor_id, e.object_id, e.reason) for e in entry] == [(w.admin, w.cfo, "lost phone")]
    # the old secret is gone: the user enrolls a new one
    assert start(api, w.cfo)["setup_key"] != cfo_secret
    body = assert_problem(api.admin.post(reset.format("nobody"), json={"code": code(api, admin_secret, 30),
                                                                        "reason": "x"}), 404, "not_found")


@pytest.mark.rule("MFA-5", "AUD-4")
def test_secrets_and_codes_never_reach_logs_errors_audit_entries_or_emails(mfa_api: Api, caplog) -> None:
    api, w = mfa_api, mfa_api.w
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []

    def post(user: str, url: str, payload: dict[str, Any]) -> Any:
        response = api.client(user).post(f"{api.c}{url}", json=payload)
        if response.status_code >= 400:
            bodies.append(response.get_data(as_text=True))
        return response

    started = start(api, w.cfo)
    secret = started["setup_key"]
    typed = [wrong(api, secret), code(api, secret, 60)]
    for bad in typed:
        assert post(w.cfo, "/me/mfa/enrollment/confirm", {"code": bad}).status_code == 403
    good = code(api, secret)
    typed.append(good)
    recovery = post(w.cfo, "/me/mfa/enrollment/confirm", {"code": good}).get_json()["recovery_codes"]
    assert post(w.cfo, "/me/mfa/recovery-codes", {"code": good}).status_code == 403  # replayed
    api.clock.advance(seconds=30)  # type: ignore[attr-defined]
    typed.append(code(api, secret))
    recovery += post(w.cfo, "/me/mfa/recovery-codes", {"code": typed[-1]}).get_json()["recovery_codes"]
    assert post(w.cfo, "/me/mfa/recovery-codes", {"code": recovery[0].replace("-", "")}).status_code == 403
    admin_secret, admin_recovery = enroll(api, w.admin)
    recovery += admin_recovery
    typed.append(wrong(api, admin_secret))
    assert post(w.admin, f"/users/{w.cfo}/mfa/reset", {"code": typed[-1], "reason": "new phone"}).status_code == 403
    typed.append(code(api, admin_secret))
    assert post(w.admin, f"/users/{w.cfo}/mfa/reset", {"code": typed[-1], "reason": "new phone"}).status_code == 200
    assert post(w.admin, f"/users/{w.admin}/mfa/reset", {"code": typed[-1], "reason": "x"}).status_code == 403

    secrets = [secret, admin_secret, secret.lower(), *recovery, *(r.replace("-", "") for r in recovery)]
    logged = caplog.text + " ".join(str(r.args) + str(r.__dict__) for r in caplog.records)
    with api.svc.db.sessions() as s:
        entries = s.scalars(select(AuditEntry)).all()
        recorded = " ".join(str((e.action, e.actor_id, e.object_id, e.before, e.after, e.reason, e.rules,
                                 e.details)) for e in entries)
        mail = " ".join(f"{m.subject} {m.body}" for m in s.scalars(select(OutboxEmail)))
        stored = " ".join(str(r.result) for r in s.scalars(select(IdempotencyRecord)))
    assert {"mfa_enrollment_started", "mfa_enrolled", "mfa_recovery_codes_regenerated", "mfa_reset",
            "refused"} <= {e.action for e in entries}
    for where, text in (("log", logged), ("errors", " ".join(bodies)), ("audit", recorded), ("email", mail),
                        ("idempotency", stored)):
        leaked = [x for x in secrets if x in text] + [c for c in typed if c in text]
        assert leaked == [], where


@pytest.mark.rule("GEN-8", "MFA-4")
def test_an_idempotency_key_is_not_honoured_so_no_secret_is_stored_for_a_replay(mfa_api: Api) -> None:
    api, cfo = mfa_api, mfa_api.w.cfo
    url = f"{api.c}/me/mfa/enrollment"
    first = api.client(cfo).post(url, json={}, headers={"Idempotency-Key": "enroll-1"})
    second = api.client(cfo).post(url, json={}, headers={"Idempotency-Key": "enroll-1"})
    assert first.status_code == second.status_code == 200
    assert first.get_json()["setup_key"] != second.get_json()["setup_key"]  # a retry starts a new enrollment
    with api.svc.db.sessions() as s:
        assert s.scalars(select(IdempotencyRecord)).all() == []


@pytest.mark.rule("GEN-5")
def test_a_stranger_to_the_company_finds_nothing_and_bodies_are_checked(mfa_api: Api) -> None:
    api = mfa_api
    boss, other = api.other_company()
    assert_problem(api.client(boss).get(f"{api.c}/me/mfa"), 404, "not_found")
    assert_problem(api.client(boss).post(f"{api.c}/me/mfa/enrollment", json={}), 404, "not_found")
    assert api.client(boss).get(f"/v1/companies/{other}/me/mfa").status_code == 200
    assert_problem(api.client(api.w.cfo).post(f"{api.c}/me/mfa/enrollment", json={"secret": "x"}), 422,
                   "validation_failed")
    body = assert_problem(api.client(api.w.cfo).post(f"{api.c}/me/mfa/enrollment/confirm", json={"code": 123456}),
                          422, "validation_failed")
    assert "123456" not in str(body)
    assert_problem(api.client(api.w.cfo).post(f"{api.c}/me/mfa/enrollment/confirm", json={"code": "123456"}), 409,
                   "invalid_state")  # nothing pending to confirm
    assert_problem(api.client(api.w.cfo).post(f"{api.c}/me/mfa/recovery-codes", json={"code": "123456"}), 403,
                   "mfa_not_enrolled")


def _enroll_in(api: Api, company: str, user: str) -> str:
    started = api.client(user).post(f"/v1/companies/{company}/me/mfa/enrollment", json={})
    assert started.status_code == 200, started.get_json()
    secret = started.get_json()["setup_key"]
    confirmed = api.client(user).post(f"/v1/companies/{company}/me/mfa/enrollment/confirm",
                                      json={"code": code(api, secret)})
    assert confirmed.status_code == 200, confirmed.get_json()
    api.clock.advance(seconds=30)  # type: ignore[attr-defined]
    return secret


@pytest.mark.rule("MFA-14", "MFA-13")
def test_a_payee_users_mfa_is_reset_by_the_payee_admin_only(mfa_api: Api) -> None:
    from engine.security.permissions import PAYMENTS_ADMIN, held
    from engine.service import directory

    api, w = mfa_api, mfa_api.w
    payee = w.payees["Acme Concrete"]
    with api.svc.db.sessions() as s:
        from engine.store.tables import Membership

        [payee_admin] = s.scalars(select(Membership.user_id).where(Membership.company_id == payee)).all()
        assert held(s, payee, payee_admin) == {PAYMENTS_ADMIN}  # a payee's first admin is its Payee Admin (ROLE-6)
    clerk = directory.create_user(api.svc, "clerk@acme.example", "Clerk").id
    directory.add_member(api.svc, payee_admin, payee, "clerk@acme.example")
    admin_secret = _enroll_in(api, payee, payee_admin)  # payee users enroll in TOTP as payors do (MFA-13)
    _enroll_in(api, payee, clerk)
    reset = f"/v1/companies/{payee}/users/{clerk}/mfa/reset"
    # the payor's Payments Admin is a stranger to the payee company
    assert_problem(api.admin.post(reset, json={"code": "123456", "reason": "lost phone"}), 404, "not_found")
    done = api.client(payee_admin).post(reset, json={"code": code(api, admin_secret), "reason": "lost phone"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["must_enroll"] and not done.get_json()["enrolled"]
    body = assert_problem(api.client(clerk).post(f"/v1/companies/{payee}/users/{payee_admin}/mfa/reset",
                                                 json={"code": "123456", "reason": "x"}), 403, "permission_denied")
    assert (body["rule"], body["missing_permission"]) == ("MFA-14", "Payee Admin")
