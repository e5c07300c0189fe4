"""The directory's read queries: who may read the company's people, groups, projects and invoices,
how lists page, and update_project (both rollout switches in one command)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import DomainError
from engine.security.permissions import (
    BENEFICIARY_APPROVER,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    EDIT_TEMPLATES,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    VIEW_TEMPLATES,
)
from engine.service import directory
from engine.service.directory import (
    AccountView,
    CompanyMembership,
    GroupView,
    InvoiceView,
    ListPage,
    MemberView,
    ProjectInfo,
    ProjectView,
)
from tests.roles import grant_role
from tests.world import World, build_world


def _member(w: World, name: str, *grants: str) -> str:
    user = directory.create_user(w.svc, f"{name}@gc.example", name.title()).id
    directory.add_member(w.svc, w.admin, w.company, f"{name}@gc.example")
    for permission in grants:
        grant_role(w.svc, w.admin, w.company, user, permission)
    return user


def _refused(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def _all(call, *args, limit: int) -> list:
    """Every item of a list query, page by page, and the number of pages it took."""
    items, after, pages = [], None, 0
    while True:
        page = call(*args, after=after, limit=limit)
        assert isinstance(page, ListPage) and len(page.items) <= limit
        items += page.items
        pages += 1
        after = page.next_after
        if after is None:
            return items, pages


def _other_company(w: World) -> tuple[str, str]:
    boss = directory.create_user(w.svc, "boss@other.example", "Boss").id
    return boss, directory.create_company(w.svc, "Other GC", first_admin=boss).id


@pytest.mark.rule("GEN-5")
def test_the_account_lists_the_active_memberships_with_what_is_held_in_each(svc) -> None:
    w = build_world(svc)
    boss, other = _other_company(w)
    directory.add_member(svc, boss, other, "cfo@gc.example")
    grant_role(svc, boss, other, w.cfo, VIEW_TEMPLATES)
    me = directory.account(svc, w.cfo)
    assert me == AccountView(w.cfo, "cfo@gc.example", "Cfo", (
        CompanyMembership(w.company, "GC Builders", False, (PAYMENTS_DISBURSER,)),
        CompanyMembership(other, "Other GC", False, (VIEW_TEMPLATES,))))
    directory.set_user_active(svc, boss, other, w.cfo, False)  # deactivated there: gone from the list
    assert [c.id for c in directory.account(svc, w.cfo).companies] == [w.company]
    assert _refused(directory.account, svc, "f" * 32).code == "not_found"


@pytest.mark.rule("GEN-5", "GEN-6")
def test_any_active_member_reads_the_company_a_stranger_finds_nothing(svc) -> None:
    w = build_world(svc)
    nobody = _member(w, "nobody")
    assert directory.read_company(svc, nobody, w.company).time_zone == "America/New_York"
    boss, other = _other_company(w)
    directory.set_user_active(svc, w.admin, w.company, nobody, False)
    for actor, company in ((boss, w.company), (nobody, w.company), (w.admin, other), (w.admin, "x")):
        e = _refused(directory.read_company, svc, actor, company)
        assert (e.code, e.rule) == ("not_found", "GEN-5"), (actor, company)


@pytest.mark.rule("GEN-5", "ROLE-1", "ROLE-7")
def test_members_are_read_by_who_manages_or_picks_people(svc) -> None:
    w = build_world(svc)
    readers = [w.admin, w.manager, _member(w, "editor", EDIT_TEMPLATES), _member(w, "boss2", CAN_BE_MANAGER)]
    refused = [w.creator, _member(w, "viewer", VIEW_TEMPLATES), _member(w, "approver", BENEFICIARY_APPROVER)]
    expected = directory.list_members(svc, w.admin, w.company)
    assert [m.id for m in expected.items][:5] == [w.admin, w.creator, w.manager, w.controller, w.cfo]
    assert expected.items[0] == MemberView(w.admin, "admin@gc.example", "Admin", True, (PAYMENTS_ADMIN,))
    for actor in readers:
        assert directory.list_members(svc, actor, w.company) == expected, actor
    for actor in refused:
        e = _refused(directory.list_members, svc, actor, w.company)
        assert (e.code, e.kind) == ("permission_denied", "forbidden"), actor
        # yet everyone reads themselves
        assert directory.read_member(svc, actor, w.company, actor).id == actor
    e = _refused(directory.read_member, svc, w.creator, w.company, w.cfo)
    assert e.code == "permission_denied"
    boss, other = _other_company(w)
    for call, args in ((directory.list_members, ()), (directory.read_member, (w.cfo,))):
        assert _refused(call, svc, boss, w.company, *args).code == "not_found"
    assert _refused(directory.read_member, svc, w.admin, w.company, boss).code == "not_found"  # not a member here
    assert _refused(directory.read_member, svc, boss, other, w.cfo).code == "not_found"  # nor there


@pytest.mark.rule("GEN-5")
def test_member_pages_cover_every_member_once_in_join_order(svc) -> None:
    w = build_world(svc)
    for i in range(7):
        _member(w, f"m{i}")
    directory.set_user_active(svc, w.admin, w.company, w.controller, False)
    items, pages = _all(directory.list_members, svc, w.admin, w.company, limit=3)
    whole = directory.list_members(svc, w.admin, w.company, limit=200).items
    assert items == list(whole) and pages == 4 and len(items) == 12
    assert len({m.id for m in items}) == 12
    assert next(m for m in items if m.id == w.controller).active is False
    for bad in (0, 201, "5", True):
        assert _refused(directory.list_members, svc, w.admin, w.company, limit=bad).code == "invalid_value"
    boss, other = _other_company(w)
    for after in ("f" * 32, boss, "not an id"):  # a position this list never returned
        assert _refused(directory.list_members, svc, w.admin, w.company, after=after).code == "invalid_value"


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_groups_page_by_name_and_stay_in_their_company(svc) -> None:
    w = build_world(svc)
    made = [directory.create_group(svc, w.admin, w.company, name, [w.cfo])
            for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo")]
    items, pages = _all(directory.list_groups, svc, w.admin, w.company, limit=2)
    assert [g.name for g in items] == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"] and pages == 3
    assert directory.read_group(svc, w.manager, w.company, made[0].id) == GroupView(made[0].id, "Delta", (w.cfo,))
    assert _refused(directory.list_groups, svc, w.creator, w.company).code == "permission_denied"
    boss, other = _other_company(w)
    theirs = directory.create_group(svc, boss, other, "Theirs").id
    assert _refused(directory.read_group, svc, w.admin, w.company, theirs).code == "not_found"
    assert _refused(directory.read_group, svc, boss, w.company, made[0].id).code == "not_found"
    assert directory.list_groups(svc, boss, other).items == (GroupView(theirs, "Theirs", ()),)


@pytest.mark.rule("ROLE-2", "ROLE-4", "GEN-5", "GEN-1")
def test_projects_and_invoices_are_read_by_who_works_with_disbursements(svc) -> None:
    w = build_world(svc)
    b = directory.create_project(svc, w.admin, w.company, ProjectInfo(name="Annex", payments_enabled=False))
    helper = _member(w, "helper", DISBURSEMENT_CONTRIBUTOR)
    for actor in (w.admin, w.creator, helper):
        page = directory.list_projects(svc, actor, w.company)
        assert [p.name for p in page.items] == ["Annex", "Tower A"] and page.next_after is None
        assert directory.read_project(svc, actor, w.company, b.id) == b
    for actor in (_member(w, "viewer", VIEW_TEMPLATES), _member(w, "approver", BENEFICIARY_APPROVER)):
        assert _refused(directory.list_projects, svc, actor, w.company).code == "permission_denied"
        assert _refused(directory.list_invoices, svc, actor, w.company, w.project).code == "permission_denied"
    numbers = ["INV-0003", "INV-0001", "INV-0002"]
    ids = {}
    for n in numbers:
        ids[n] = directory.create_invoice(svc, w.admin, w.company, w.project, payee=w.payee("Acme Concrete"),
                                          number=n, amount_due="1250.5").id
    items, pages = _all(directory.list_invoices, svc, helper, w.company, w.project, limit=2)
    assert [i.number for i in items] == sorted(numbers) and pages == 2
    assert items[0] == InvoiceView(ids["INV-0001"], w.project, "INV-0001", w.payee("Acme Concrete"), "Acme Concrete",
                                   Decimal("1250.50"), "Unpaid", None)
    assert str(items[0].amount_due) == "1250.50"  # exact, two places (GEN-1)
    assert directory.read_invoice(svc, w.creator, w.company, ids["INV-0002"]).number == "INV-0002"
    assert directory.list_invoices(svc, w.admin, w.company, b.id).items == ()
    boss, other = _other_company(w)
    theirs = directory.create_project(svc, boss, other, ProjectInfo(name="Theirs")).id
    for call, args in ((directory.read_project, (theirs,)), (directory.list_invoices, (theirs,)),
                       (directory.read_invoice, ("f" * 32,))):
        assert _refused(call, svc, w.admin, w.company, *args).code == "not_found"
    for call, args in ((directory.read_project, (w.project,)), (directory.read_invoice, (ids["INV-0001"],)),
                       (directory.list_projects, ())):
        assert _refused(call, svc, boss, w.company, *args).code == "not_found"
    # an invoice's id from one project is no position in another project's list
    assert _refused(directory.list_invoices, svc, w.admin, w.company, b.id,
                    after=ids["INV-0001"]).code == "invalid_value"


@pytest.mark.rule("ROLL-1", "ROLL-2", "GEN-8")
def test_update_project_sets_both_switches_in_one_command(svc) -> None:
    from sqlalchemy import select

    from engine.store.tables import AuditEntry

    w = build_world(svc)
    both = directory.update_project(svc, w.admin, w.company, w.project, payments_enabled=False,
                                    payment_workflows_enabled=False, idempotency_key="p-1")
    assert both == ProjectView(w.project, "Tower A", "Boston", None, None, {}, False, False)
    assert directory.update_project(svc, w.admin, w.company, w.project, payments_enabled=False,
                                    payment_workflows_enabled=False, idempotency_key="p-1") == both
    assert _refused(directory.update_project, svc, w.admin, w.company, w.project, payments_enabled=True,
                    idempotency_key="p-1").code == "idempotency_conflict"
    with svc.db.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_id == w.project))]
    assert actions.count("project_payments_changed") == 1 and actions.count("project_workflows_changed") == 1
    one = directory.update_project(svc, w.admin, w.company, w.project, payment_workflows_enabled=True)
    assert (one.payments_enabled, one.payment_workflows_enabled) == (False, True)
    assert directory.update_project(svc, w.admin, w.company, w.project) == one  # nothing asked: as it is
    assert _refused(directory.update_project, svc, w.creator, w.company, w.project,
                    payments_enabled=True).code == "permission_denied"
    assert _refused(directory.update_project, svc, w.admin, w.company, "f" * 32,
                    payments_enabled=True).code == "not_found"


@pytest.mark.rule("ROLE-11")
def test_revoking_an_unknown_permission_is_refused_like_granting_one(svc) -> None:
    w = build_world(svc)
    e = _refused(directory.revoke, svc, w.admin, w.company, w.cfo, "payments_disburserr")
    assert (e.code, e.rule) == ("invalid_permission", "ROLE-11")
    assert directory.read_member(svc, w.admin, w.company, w.cfo).permissions == (PAYMENTS_DISBURSER,)
