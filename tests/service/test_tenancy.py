"""Tenancy: people are global, membership and deactivation are per company (GEN-5, ROLE-8, ROLE-11)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.errors import DomainError
from engine.security import permissions
from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.tables import AuditEntry, Grant, Group, Invoice
from tests.roles import grant_role, revoke_role
from tests.world import World, build_world


def other_company(svc: Services) -> tuple[str, str]:
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    return directory.create_company(svc, "Other GC", first_admin=boss).id, boss


def held(svc: Services, company: str, user: str) -> set[str]:
    with svc.db.sessions() as s:
        return permissions.held(s, company, user)


def eligible(svc: Services, company: str) -> frozenset[str]:
    with svc.db.sessions() as s:
        return permissions.eligible_users(s, company)


def refused(call: Callable[..., object], *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def grant_rows(svc: Services) -> list[tuple[str, str, str]]:
    with svc.db.sessions() as s:
        return sorted(tuple(r) for r in s.execute(select(Grant.company_id, Grant.user_id, Grant.permission)))


def start(w: World) -> str:
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=[PaymentLine(w.invoice("5.00"))]).id


@pytest.mark.rule("GEN-5", "ROLE-8")
def test_a_foreign_admin_cannot_deactivate_or_grant_to_your_user(svc) -> None:
    """GEN-5: only that company's Admins act on its people; anyone else is told "not found"."""
    w = build_world(svc)
    other, boss = other_company(svc)
    grants_before = grant_rows(svc)
    unknown = refused(directory.set_user_active, svc, boss, other, "f" * 32, False)
    for call, args in ((directory.set_user_active, (w.controller, False)),
                       (directory.grant, (w.controller, PAYMENTS_ADMIN)),
                       (directory.revoke, (w.controller, PAYMENTS_DISBURSER))):
        err = refused(call, svc, boss, other, *args)
        assert (err.code, err.rule, err.message) == ("not_found", "GEN-5", unknown.message)
    assert grant_rows(svc) == grants_before
    assert held(svc, other, w.controller) == set()
    # the controller still acts in their own company
    d = start(w)
    instances.respond(svc, w.controller, w.company, d, answer="Approve",
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence)
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"


@pytest.mark.rule("GEN-5", "ROLE-8")
def test_deactivation_in_one_company_changes_nothing_in_another(svc) -> None:
    """GEN-5: one person, two memberships, each active or deactivated on its own."""
    w = build_world(svc)
    other, boss = other_company(svc)
    assert directory.add_member(svc, boss, other, "Controller@GC.example").id == w.controller
    grant_role(svc, boss, other, w.controller, PAYMENTS_DISBURSER)

    directory.set_user_active(svc, w.admin, w.company, w.controller, False)
    assert w.controller not in eligible(svc, w.company) and held(svc, w.company, w.controller) == set()
    assert w.controller in eligible(svc, other) and held(svc, other, w.controller) == {PAYMENTS_DISBURSER}

    directory.set_user_active(svc, w.admin, w.company, w.controller, True)
    directory.set_user_active(svc, boss, other, w.controller, False)
    assert w.controller in eligible(svc, w.company) and w.controller not in eligible(svc, other)
    d = start(w)
    instances.respond(svc, w.controller, w.company, d, answer="Approve",
                      occurrence=instances.view(svc, w.admin, w.company, d).current_occurrence)
    with svc.db.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.company_id == other))]
    assert actions.count("user_deactivated") == 1 and "member_added" in actions


@pytest.mark.rule("GEN-5")
def test_users_who_are_not_members_are_not_found(svc) -> None:
    """GEN-5: grants, groups, invoice approvers, template managers and role members are members."""
    w = build_world(svc, configure=False)
    stranger = directory.create_user(svc, "stranger@elsewhere.example", "Stranger").id
    payee = w.payee("V")
    grants_before = grant_rows(svc)
    checks = [
        (directory.grant, (svc, w.admin, w.company, stranger, PAYMENTS_DISBURSER)),
        (directory.create_group, (svc, w.admin, w.company, "Execs", [w.cfo, stranger])),
        (directory.create_invoice, (svc, w.admin, w.company, w.project),
         {"payee": payee, "number": "N-1", "amount_due": "1.00", "approved_by": stranger}),
        (templates.configure, (svc, w.admin, w.company, w.template), {"manager": stranger}),
        (templates.configure, (svc, w.admin, w.company, w.template),
         {"manager": w.manager, "roles": {"Controller": [w.controller], "CFO": [stranger]}}),
    ]
    for call, args, *kw in checks:
        err = refused(call, *args, **(kw[0] if kw else {}))
        assert (err.code, err.rule) == ("not_found", "GEN-5"), call
    assert grant_rows(svc) == grants_before
    with svc.db.sessions() as s:
        assert s.scalars(select(Group)).all() == [] and s.scalars(select(Invoice)).all() == []
    assert templates.is_configured(svc, w.admin, w.company, w.template)[0] is False

    # once a member, each of them is accepted
    assert directory.add_member(svc, w.admin, w.company, "stranger@elsewhere.example").id == stranger
    grant_role(svc, w.admin, w.company, stranger, PAYMENTS_DISBURSER)
    directory.create_group(svc, w.admin, w.company, "Execs", [w.cfo, stranger])
    directory.create_invoice(svc, w.admin, w.company, w.project, payee=payee, number="N-1", amount_due="1.00",
                             approved_by=stranger)
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [stranger]})
    assert held(svc, w.company, stranger) == {PAYMENTS_DISBURSER}


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_adding_members_is_an_audited_admin_action(svc) -> None:
    """GEN-5: the person must exist; adding twice changes nothing; a deactivated member stays so."""
    w = build_world(svc)
    directory.create_user(svc, "new@gc.example", "New")
    err = refused(directory.add_member, svc, w.creator, w.company, "new@gc.example")
    assert (err.code, err.rule) == ("permission_denied", "ROLE-1")
    err = refused(directory.add_member, svc, w.admin, w.company, "nobody@gc.example")
    assert (err.code, err.rule) == ("not_found", "GEN-5") and "create the user first" in err.message
    new = directory.add_member(svc, w.admin, w.company, " new@gc.example ").id
    directory.set_user_active(svc, w.admin, w.company, new, False)
    assert directory.add_member(svc, w.admin, w.company, "new@gc.example").id == new
    with svc.db.sessions() as s:
        added = s.scalars(select(AuditEntry).where(AuditEntry.action == "member_added",
                                                   AuditEntry.object_id == new)).all()
    assert len(added) == 1 and added[0].actor_id == w.admin and added[0].chain.endswith(w.company)
    grant_role(svc, w.admin, w.company, new, PAYMENTS_DISBURSER)
    assert held(svc, w.company, new) == set()  # still deactivated


@pytest.mark.rule("ROLE-11")
def test_the_only_active_admin_cannot_deactivate_themself(svc) -> None:
    """ROLE-11: deactivation never leaves the company without an active Admin."""
    w = build_world(svc)
    err = refused(directory.set_user_active, svc, w.admin, w.company, w.admin, False)
    assert (err.code, err.rule) == ("last_admin", "ROLE-11")
    assert held(svc, w.company, w.admin) >= {PAYMENTS_ADMIN}
    # with a second active Admin it is allowed, and the second cannot then leave too
    grant_role(svc, w.admin, w.company, w.cfo, PAYMENTS_ADMIN)
    directory.set_user_active(svc, w.admin, w.company, w.admin, False)
    err = refused(directory.set_user_active, svc, w.cfo, w.company, w.cfo, False)
    assert (err.code, err.rule) == ("last_admin", "ROLE-11")
    directory.set_user_active(svc, w.cfo, w.company, w.admin, True)
    directory.set_user_active(svc, w.cfo, w.company, w.cfo, False)
    with svc.db.sessions() as s:
        assert permissions.admins(s, w.company) == (w.admin,)


@pytest.mark.rule("ROLE-11")
def test_revoking_does_not_count_deactivated_admins(svc) -> None:
    """ROLE-11: a deactivated Admin is no remaining Admin."""
    w = build_world(svc)
    grant_role(svc, w.admin, w.company, w.cfo, PAYMENTS_ADMIN)
    directory.set_user_active(svc, w.admin, w.company, w.cfo, False)
    grants_before = grant_rows(svc)
    err = refused(directory.revoke, svc, w.admin, w.company, w.admin, PAYMENTS_ADMIN)
    assert (err.code, err.rule) == ("last_admin", "ROLE-11")
    assert grant_rows(svc) == grants_before
    # revoking the deactivated Admin leaves the active one: allowed
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_ADMIN)
    with svc.db.sessions() as s:
        assert permissions.admins(s, w.company) == (w.admin,)
