"""Granting and revoking a payments role needs the acting Admin's MFA code, checked last (ROLE-11,
MFA-8), on SQLite and PostgreSQL: a valid code grants once and is audited, a wrong or replayed one
refuses and counts, a request refused for any other reason neither spends nor counts it, and a
workflow permission (ROLE-7) needs no code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.security.permissions import (
    ALL_PERMISSIONS,
    BENEFICIARY_APPROVER,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    PAYEE_ADMIN,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    VIEW_FULL_HISTORY,
    WORKFLOW_PERMISSIONS,
)
from engine.service import audit, directory
from engine.store.tables import AuditEntry, Grant, MfaEnrollment
from tests.payments.banking import Authenticator, refused
from tests.world import World, build_world


def _member(w: World, name: str) -> str:
    user = directory.create_user(w.svc, f"{name}@gc.example", name.title()).id
    directory.add_member(w.svc, w.admin, w.company, f"{name}@gc.example")
    return user


def _mfa(svc, user: str) -> tuple[int, int | None]:
    """(failures, last step accepted) of ``user``'s enrollment."""
    with svc.db.sessions() as s:
        row = s.get(MfaEnrollment, user)
        return row.failures, row.last_step


def _holds(svc, company: str, user: str) -> set[str]:
    with svc.db.sessions() as s:
        return set(s.scalars(select(Grant.permission).where(Grant.company_id == company, Grant.user_id == user)))


def _entries(svc, company: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        found = list(audit.entries(s, audit.company_chain(company)))
        for e in found:
            s.expunge(e)
        return found


@pytest.mark.rule("ROLE-11", "MFA-8")
def test_only_payments_roles_need_the_code() -> None:
    """ROLE-1..ROLE-6 are the payments roles MFA-8 names; ROLE-7's workflow permissions are apart."""
    assert {p for p in ALL_PERMISSIONS if directory.needs_mfa(p)} == {
        PAYMENTS_ADMIN, PAYMENTS_DISBURSER, DISBURSEMENT_CONTRIBUTOR, BENEFICIARY_APPROVER, PAYEE_ADMIN}
    assert not any(directory.needs_mfa(p) for p in WORKFLOW_PERMISSIONS)


@pytest.mark.rule("ROLE-11", "MFA-8", "MFA-9")
def test_a_grant_with_a_valid_code_works_once_and_is_audited(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    dana = _member(w, "dana")
    code = admin.code()
    member = directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER, mfa_code=code)
    assert member.permissions == (PAYMENTS_DISBURSER,)
    entries = _entries(svc, w.company)
    granted = [e for e in entries if e.action == "role_granted" and e.object_id == dana]
    assert len(granted) == 1
    assert (granted[0].actor_id, granted[0].after, tuple(granted[0].rules)) == (
        w.admin, {"permission": "Payments Disburser"}, ("ROLE-11", "MFA-8"))
    verified = [e for e in entries if e.action == "mfa_verified"][-1]
    assert (verified.actor_id, verified.reason) == (w.admin, "grant_role")
    assert code not in str([(e.before, e.after, e.details, e.reason) for e in entries])  # MFA-5
    # one code, one sensitive action (MFA-9): the same code does not grant a second role
    refused(lambda: directory.grant(svc, w.admin, w.company, dana, BENEFICIARY_APPROVER, mfa_code=code),
            "mfa_failed", "MFA-3")
    assert _holds(svc, w.company, dana) == {PAYMENTS_DISBURSER}
    # granting what the member holds changes nothing and asks for no code
    assert directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER).permissions == (PAYMENTS_DISBURSER,)
    with svc.db.sessions() as s:
        assert audit.verify(s) == []


@pytest.mark.rule("ROLE-11", "MFA-8", "MFA-11")
def test_a_wrong_or_missing_code_refuses_the_grant_and_counts_a_failure(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    dana = _member(w, "dana")
    e = refused(lambda: directory.grant(svc, w.admin, w.company, dana, PAYMENTS_ADMIN, mfa_code=admin.wrong()),
                "mfa_failed", "MFA-2")
    assert e.audit is not None and e.audit.attempted == "grant_role"
    assert _holds(svc, w.company, dana) == set() and _mfa(svc, w.admin)[0] == 1
    refused(lambda: directory.grant(svc, w.admin, w.company, dana, PAYMENTS_ADMIN), "mfa_failed", "MFA-2")
    assert _holds(svc, w.company, dana) == set() and _mfa(svc, w.admin)[0] == 2
    last = [x for x in _entries(svc, w.company) if x.action == "refused"][-1]
    assert (last.actor_id, last.object_id, last.details["code"]) == (w.admin, dana, "mfa_failed")
    assert not [x for x in _entries(svc, w.company) if x.action == "role_granted" and x.object_id == dana]
    directory.grant(svc, w.admin, w.company, dana, PAYMENTS_ADMIN, mfa_code=admin.code())
    assert _holds(svc, w.company, dana) == {PAYMENTS_ADMIN} and _mfa(svc, w.admin)[0] == 0  # a pass clears it


@pytest.mark.rule("ROLE-11", "MFA-8", "MFA-3")
def test_a_replayed_code_refuses_the_grant(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    dana, eli = _member(w, "dana"), _member(w, "eli")
    code = admin.code()
    directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER, mfa_code=code)
    refused(lambda: directory.grant(svc, w.admin, w.company, eli, PAYMENTS_DISBURSER, mfa_code=code),
            "mfa_failed", "MFA-3")
    assert _holds(svc, w.company, eli) == set() and _mfa(svc, w.admin)[0] == 1


@pytest.mark.rule("ROLE-11", "MFA-8", "AUTH-4")
def test_a_grant_refused_for_another_reason_neither_spends_nor_counts_the_code(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    controller = Authenticator(svc, clock, w.company, w.controller)  # a Disburser, not an Admin
    dana = _member(w, "dana")
    theirs = controller.code()
    before = _mfa(svc, w.controller)
    refused(lambda: directory.grant(svc, w.controller, w.company, dana, PAYMENTS_DISBURSER, mfa_code=theirs),
            "permission_denied", "ROLE-11")
    assert _mfa(svc, w.controller) == before  # the non-admin's code is neither spent nor counted
    code = admin.code()
    before = _mfa(svc, w.admin)
    stranger = directory.create_user(svc, "x@elsewhere.example", "X").id
    refused(lambda: directory.grant(svc, w.admin, w.company, stranger, PAYMENTS_DISBURSER, mfa_code=code),
            "not_found", "GEN-5")
    refused(lambda: directory.grant(svc, w.admin, w.company, dana, "payments_emperor", mfa_code=code),
            "invalid_permission", "ROLE-11")
    assert _mfa(svc, w.admin) == before
    # the same code still works: no refusal above spent it
    assert directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER, mfa_code=code).permissions == (
        PAYMENTS_DISBURSER,)
    # the non-admin's unspent code works for what they may do: a challenge of their own
    from engine.security import enrollment

    enrollment.regenerate_recovery_codes(svc, w.controller, w.company, code=theirs)
    assert _mfa(svc, w.controller)[0] == 0


@pytest.mark.rule("ROLE-11", "MFA-8", "ROLE-7")
def test_a_workflow_permission_needs_no_code(svc, clock) -> None:
    w = build_world(svc)
    Authenticator(svc, clock, w.company, w.admin)
    dana = _member(w, "dana")
    before = _mfa(svc, w.admin)
    clock.advance(seconds=30)  # a code of this step would be taken if a challenge ran
    assert directory.grant(svc, w.admin, w.company, dana, VIEW_FULL_HISTORY).permissions == (VIEW_FULL_HISTORY,)
    assert directory.grant(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER).permissions == (
        PAYMENTS_DISBURSER, CAN_BE_MANAGER)
    assert directory.revoke(svc, w.admin, w.company, dana, VIEW_FULL_HISTORY).permissions == ()
    assert _mfa(svc, w.admin) == before  # no challenge ran: nothing spent, nothing counted
    entries = [e for e in _entries(svc, w.company) if e.action in ("role_granted", "role_revoked")
               and e.object_id in (dana, w.cfo)]
    assert [tuple(e.rules) for e in entries] == [("ROLE-11",)] * 3


@pytest.mark.rule("ROLE-11", "MFA-8")
def test_a_revoke_needs_the_code_too_checked_after_the_last_admin_check(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    controller = Authenticator(svc, clock, w.company, w.controller)
    # a wrong code refuses and counts; the role stays
    refused(lambda: directory.revoke(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER, mfa_code=admin.wrong()),
            "mfa_failed", "MFA-2")
    assert PAYMENTS_DISBURSER in _holds(svc, w.company, w.cfo) and _mfa(svc, w.admin)[0] == 1
    # a non-admin is refused before the challenge: their code is not spent
    theirs = controller.code()
    before = _mfa(svc, w.controller)
    refused(lambda: directory.revoke(svc, w.controller, w.company, w.cfo, PAYMENTS_DISBURSER, mfa_code=theirs),
            "permission_denied", "ROLE-11")
    assert _mfa(svc, w.controller) == before
    # the last Admin: refused as last_admin (ROLE-11), the code neither spent nor counted
    code = admin.code()
    before = _mfa(svc, w.admin)
    refused(lambda: directory.revoke(svc, w.admin, w.company, w.admin, PAYMENTS_ADMIN, mfa_code=code),
            "last_admin", "ROLE-11")
    assert _mfa(svc, w.admin) == before
    # a valid code revokes once, audited with the challenge
    member = directory.revoke(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER, mfa_code=code)
    assert PAYMENTS_DISBURSER not in member.permissions and _mfa(svc, w.admin)[0] == 0
    entries = _entries(svc, w.company)
    revoked = [e for e in entries if e.action == "role_revoked" and e.object_id == w.cfo]
    assert [(e.actor_id, e.before, tuple(e.rules)) for e in revoked] == [
        (w.admin, {"permission": "Payments Disburser"}, ("ROLE-11", "MFA-8"))]
    assert [e for e in entries if e.action == "mfa_verified"][-1].reason == "revoke_role"
    # the code is spent: replaying it refuses another revoke, which counts
    refused(lambda: directory.revoke(svc, w.admin, w.company, w.creator, PAYMENTS_DISBURSER, mfa_code=code),
            "mfa_failed", "MFA-3")
    assert PAYMENTS_DISBURSER in _holds(svc, w.company, w.creator) and _mfa(svc, w.admin)[0] == 1
    # revoking what is not held changes nothing and needs no code
    assert directory.revoke(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER) == member


@pytest.mark.rule("ROLE-11", "MFA-8", "GEN-8")
def test_a_retried_grant_with_a_fresh_code_replays_and_the_code_is_not_fingerprinted(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    dana = _member(w, "dana")
    first = directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER, mfa_code=admin.code(),
                            idempotency_key="g-1")
    again = directory.grant(svc, w.admin, w.company, dana, PAYMENTS_DISBURSER, mfa_code=admin.code(),
                            idempotency_key="g-1")
    assert again == first
    assert len([e for e in _entries(svc, w.company) if e.action == "role_granted" and e.object_id == dana]) == 1
    refused(lambda: directory.grant(svc, w.admin, w.company, dana, BENEFICIARY_APPROVER, mfa_code=admin.code(),
                                    idempotency_key="g-1"), "idempotency_conflict", "GEN-8")
