"""The engine's read queries for the HTTP API (engine.service.disbursement_queries), the in-transaction
version check (``expected_version`` → ``precondition_failed``, GEN-7), ``replace_payments`` (DSB-12 as a
whole list), a company Admin's audit verify (engine.service.audit_verification, AUD-3), and strangers
finding nothing (GEN-5)."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update

from engine.errors import DomainError
from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR, PAYMENTS_DISBURSER, VIEW_TEMPLATES
from engine.service import directory, disbursements, instances
from engine.service.audit_verification import AuditReport, verify_company
from engine.service.disbursement_queries import (
    CurrentStep,
    DisbursementDetail,
    DisbursementList,
    DisbursementSummary,
    WorkflowDetail,
    get_disbursement,
    list_disbursements,
)
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry
from tests.roles import grant_role, revoke_role
from tests.world import World, build_world


def _new(w: World, *amounts: str, who: str | None = None) -> str:
    return disbursements.create_disbursement(w.svc, who or w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding,
                                             payments=[PaymentLine(w.invoice(a)) for a in amounts]).id


def _member(w: World, name: str, *grants: str) -> str:
    user = directory.create_user(w.svc, f"{name}@gc.example", name.title()).id
    directory.add_member(w.svc, w.admin, w.company, f"{name}@gc.example")
    for permission in grants:
        grant_role(w.svc, w.admin, w.company, user, permission)
    return user


def _refused(call, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def _stranger(w: World) -> str:
    return directory.create_user(w.svc, "stranger@else.example", "Stranger").id


# ---------------------------------------------------------------- the views


def _plain(kind: object) -> bool:
    """Text, numbers, flags, exact money, dates and times, or tuples, optionals and views of them."""
    if kind in (str, int, bool, Decimal, date, datetime, type(None)):
        return True
    if dataclasses.is_dataclass(kind):
        return kind.__dataclass_params__.frozen and all(_plain(t) for t in typing.get_type_hints(kind).values())
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    return origin in (typing.Union, tuple, __import__("types").UnionType) and all(
        a is Ellipsis or _plain(a) for a in args)


def test_the_query_views_are_frozen_and_plain() -> None:
    from engine.service.audit import Break

    for view in (CurrentStep, WorkflowDetail, DisbursementDetail, DisbursementSummary, DisbursementList,
                 AuditReport, Break):
        assert _plain(view), view.__name__
        assert float not in typing.get_type_hints(view).values()


# ---------------------------------------------------------------- one disbursement


@pytest.mark.rule("STEP-5", "STEP-7", "STEP-9", "RESP-3", "ROLE-8")
def test_the_detail_shows_the_current_step_its_answers_and_who_is_awaited(svc, clock) -> None:
    w = build_world(svc)
    d = _new(w, "150000.00")
    detail = get_disbursement(svc, w.admin, w.company, d)
    assert detail.id == d and detail.version == detail.disbursement.version
    assert detail.disbursement.total == Decimal("150000.00")
    flow = detail.workflow
    assert flow is not None and (flow.number, flow.status, flow.manager, flow.blocked) == (1, "active", w.manager, False)
    assert flow.current == CurrentStep(flow.current.occurrence, "Controller Review", flow.current.entered_at,
                                       date(2026, 3, 7), False, (w.controller,), (), ("Approve", "Reject"),
                                       "Under Review", "needs Controller review: the first step of the workflow")
    instances.respond(svc, w.controller, w.company, d, occurrence=flow.current.occurrence, answer="Approve")
    later = get_disbursement(svc, w.admin, w.company, d)
    assert later.version > detail.version
    assert later.workflow.current.step == "CFO Review" and later.workflow.path == (
        "Controller Review", "> $100,000.00", "CFO Review")
    assert later.workflow.current.reason == ("needs CFO review: disbursement amount $150,000.00 is over "
                                             "$100,000.00")  # COND-13, in words
    # ROLE-8: an awaited assignee who is no longer eligible is not shown as awaited
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER)
    blocked = get_disbursement(svc, w.admin, w.company, d).workflow
    assert blocked.current.awaited == () and blocked.blocked is True
    clock.advance(days=6)
    overdue = get_disbursement(svc, w.admin, w.company, d).workflow
    assert overdue.current.overdue is True and overdue.overdue_steps == ("CFO Review",)


@pytest.mark.rule("GEN-5", "ROLE-7", "DSB-6")
def test_who_may_read_a_disbursement_and_a_draft_is_not_a_disbursement(svc) -> None:
    w = build_world(svc)
    d = _new(w, "10.00")
    for actor in (_stranger(w), w.payee("Acme Concrete")):
        assert (_refused(get_disbursement, svc, actor, w.company, d).code) == "not_found"
    nobody = _member(w, "nobody")
    e = _refused(get_disbursement, svc, nobody, w.company, d)
    assert (e.code, e.rule) == ("permission_denied", "ROLE-7")
    assert get_disbursement(svc, _member(w, "reader", VIEW_TEMPLATES), w.company, d).id == d
    assert get_disbursement(svc, w.controller, w.company, d).id == d
    helper = _member(w, "helper", DISBURSEMENT_CONTRIBUTOR)
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("5.00"))]).id
    assert get_disbursement(svc, helper, w.company, draft, draft=True).workflow is None
    assert _refused(get_disbursement, svc, helper, w.company, draft).code == "not_found"
    assert _refused(get_disbursement, svc, helper, w.company, d, draft=True).code == "not_found"


# ---------------------------------------------------------------- the list


@pytest.mark.rule("GEN-5", "ROLE-7")
def test_the_list_shows_what_the_actor_may_see(svc) -> None:
    w = build_world(svc)
    mine, theirs = _new(w, "10.00"), _new(w, "20.00", who=w.cfo)
    assert {i.id for i in list_disbursements(svc, w.admin, w.company).items} == {mine, theirs}
    assert _refused(list_disbursements, svc, _stranger(w), w.company).code == "not_found"
    # the creator loses every role: they still see the one they made, and only it
    revoke_role(svc, w.admin, w.company, w.creator, PAYMENTS_DISBURSER)
    assert [i.id for i in list_disbursements(svc, w.creator, w.company).items] == [mine]
    # the controller, without a role, still sees both: assigned on both
    revoke_role(svc, w.admin, w.company, w.controller, PAYMENTS_DISBURSER)
    assert {i.id for i in list_disbursements(svc, w.controller, w.company).items} == {mine, theirs}
    assert list_disbursements(svc, _member(w, "nobody"), w.company).items == ()


@pytest.mark.rule("GEN-3")
def test_pages_are_stable_and_complete(svc, clock) -> None:
    w = build_world(svc)
    made = []
    for k in range(5):
        clock.advance(seconds=1)
        made.append(_new(w, f"{k + 1}.00", f"{k + 1}.50"))
    clock.advance(seconds=1)
    made += [_new(w, "7.00"), _new(w, "8.00")]  # the same creation time: the id orders them
    seen, after = [], None
    while True:
        page = list_disbursements(svc, w.admin, w.company, after=after, limit=2)
        seen += [i.id for i in page.items]
        if page.next_after is None:
            break
        assert page.next_after == page.items[-1].id
        after = page.next_after
    newest = sorted(made[5:], reverse=True)
    assert seen == newest + list(reversed(made[:5]))
    summary = next(i for i in list_disbursements(svc, w.admin, w.company, limit=200).items if i.id == made[0])
    assert (summary.total, summary.invoice_count, summary.current_step, summary.project_name) == (
        Decimal("2.50"), 2, "Controller Review", "Tower A")
    for bad in ({"after": "f" * 32}, {"limit": 0}, {"limit": 201}, {"status": "Pending"},
                {"drawdown_status": "Paid"}):
        assert _refused(list_disbursements, svc, w.admin, w.company, **bad).code == "invalid_value", bad


@pytest.mark.rule("STEP-5", "STEP-9", "RESP-1", "RESP-4", "MGR-8")
def test_awaiting_me_and_overdue(svc, clock) -> None:
    w = build_world(svc)
    small, big = _new(w, "10.00"), _new(w, "150000.00")
    occ = instances.view(svc, w.admin, w.company, big).current_occurrence
    instances.respond(svc, w.controller, w.company, big, occurrence=occ, answer="Approve")

    def waiting(actor: str, **filters: object) -> set[str]:
        return {i.id for i in list_disbursements(svc, actor, w.company, awaiting_me=True, **filters).items}

    assert waiting(w.controller) == {small} and waiting(w.cfo) == {big} and waiting(w.manager) == set()
    # MGR-8: replaced, the controller is no longer awaited; the one added is
    instances.add_assignees(svc, w.manager, w.company, small, users=[w.cfo], reason="vacation",
                            replacing=[w.controller])
    assert waiting(w.controller) == set() and waiting(w.cfo) == {small, big}
    assert next(i for i in list_disbursements(svc, w.cfo, w.company).items if i.id == small).awaiting_me
    assert {i.id for i in list_disbursements(svc, w.admin, w.company, overdue=True).items} == set()
    clock.advance(days=6)
    assert {i.id for i in list_disbursements(svc, w.admin, w.company, overdue=True).items} == {small, big}
    assert waiting(w.cfo, overdue=True, status="Under Review") == {small, big}
    # ROLE-8: an ineligible user awaits nothing
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER)
    assert waiting(w.cfo) == set()


# ---------------------------------------------------------------- expected_version


@pytest.mark.rule("GEN-7")
def test_a_stale_expected_version_is_refused_inside_the_transaction(svc) -> None:
    w = build_world(svc)
    d = _new(w, "150000.00")
    seen = get_disbursement(svc, w.admin, w.company, d)
    occ = seen.workflow.current.occurrence
    result = instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve",
                               expected_version=seen.version)
    assert result.version == get_disbursement(svc, w.admin, w.company, d).version > seen.version
    now = get_disbursement(svc, w.admin, w.company, d)
    stale = seen.version
    for call in (
        lambda: instances.respond(svc, w.cfo, w.company, d, occurrence=now.workflow.current.occurrence,
                                  answer="Approve", expected_version=stale),
        lambda: instances.terminate(svc, w.manager, w.company, d, reason="x", expected_version=stale),
        lambda: instances.restart(svc, w.manager, w.company, d, reason="x", expected_version=stale),
        lambda: instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="x",
                                    expected_version=stale),
        lambda: instances.add_assignees(svc, w.manager, w.company, d, users=[w.admin], reason="vacation",
                                        expected_version=stale),
        lambda: instances.reassign_manager(svc, w.admin, w.company, d, manager=w.admin, reason="x",
                                           expected_version=stale),
        lambda: disbursements.cancel(svc, w.creator, w.company, d, reason="x", expected_version=stale),
        lambda: disbursements.edit_payments(svc, w.creator, w.company, d, remove=[], reason="x",
                                            expected_version=stale),
    ):
        e = _refused(call)
        assert (e.code, e.kind, e.rule) == ("precondition_failed", "precondition", "GEN-7")
    assert get_disbursement(svc, w.admin, w.company, d) == now and get_disbursement(svc, w.admin, w.company,
                                                                                    d).version == now.version
    assert _refused(instances.terminate, svc, w.manager, w.company, d, reason="x", expected_version=-1).code == \
        "invalid_value"
    ended = instances.terminate(svc, w.manager, w.company, d, reason="x", expected_version=now.version)
    assert ended.version > now.version
    assert instances.start(svc, w.manager, w.company, d, expected_version=ended.version).current_step == \
        "Controller Review"


@pytest.mark.rule("GEN-7")
def test_every_change_raises_the_version_even_when_the_clock_stands_still(svc) -> None:
    w = build_world(svc)  # the injected clock does not move in this test
    d = _new(w, "10.00", "20.00")
    versions = [get_disbursement(svc, w.admin, w.company, d).version]
    first = get_disbursement(svc, w.admin, w.company, d).disbursement.payments[0].invoice_id
    disbursements.edit_payments(svc, w.creator, w.company, d, remove=[first], reason="later")
    versions.append(get_disbursement(svc, w.admin, w.company, d).version)
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    versions.append(get_disbursement(svc, w.admin, w.company, d).version)
    assert versions == sorted(set(versions))


# ---------------------------------------------------------------- replace_payments


@pytest.mark.rule("DSB-12", "DSB-2", "DSB-3", "ROLE-4")
def test_replace_payments_sets_the_whole_list(svc) -> None:
    w = build_world(svc)
    a, b, c = w.invoice("100.00"), w.invoice("200.00"), w.invoice("300.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(a), PaymentLine(b)])
    same = disbursements.replace_payments(svc, w.creator, w.company, d.id, payments=[PaymentLine(a), PaymentLine(b)],
                                          expected_version=d.version)
    assert same == d and same.version == d.version  # nothing differs: nothing written (no reason needed)
    e = _refused(disbursements.replace_payments, svc, w.creator, w.company, d.id,
                 payments=[PaymentLine(a, "50.00", "half")])
    assert e.code == "reason_required"  # after the start, an edit needs a reason (DSB-12)
    changed = disbursements.replace_payments(svc, w.creator, w.company, d.id, reason="half now",
                                             payments=[PaymentLine(a, "50.00", "half"), PaymentLine(c)])
    assert [(p.invoice_id, p.amount, p.note) for p in changed.payments] == [
        (a, Decimal("50.00"), "half"), (c, Decimal("300.00"), None)]
    assert _refused(disbursements.replace_payments, svc, w.creator, w.company, d.id,
                    payments=[PaymentLine(a), PaymentLine(a)]).code == "invalid_disbursement"
    # b was released by the edit: another disbursement may pay it (DSB-5)
    assert _new(w, "1.00") and disbursements.create_disbursement(
        svc, w.creator, w.company, project_id=w.project, funding_account=w.funding, payments=[PaymentLine(b)])
    helper = _member(w, "helper", DISBURSEMENT_CONTRIBUTOR)
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("10.00"))])
    more = w.invoice("20.00")
    grown = disbursements.replace_payments(svc, helper, w.company, draft.id,
                                           payments=[PaymentLine(draft.payments[0].invoice_id), PaymentLine(more)])
    assert grown.total == Decimal("30.00")
    assert _refused(disbursements.replace_payments, svc, helper, w.company, draft.id,
                    payments=[PaymentLine(more, "1.00", "part")]).code == "permission_denied"


# ---------------------------------------------------------------- strangers (GEN-5)


@pytest.mark.rule("GEN-5", "ROLE-8")
def test_a_stranger_is_told_not_found_by_every_command_on_a_disbursement(svc) -> None:
    w = build_world(svc)
    d = _new(w, "10.00")
    stranger = _stranger(w)
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    for call in (
        lambda: instances.respond(svc, stranger, w.company, d, occurrence=occ, answer="Approve"),
        lambda: instances.respond(svc, stranger, w.company, d, occurrence=occ + 99, answer="Approve"),
        lambda: instances.terminate(svc, stranger, w.company, d, reason="x", expected_version=0),
        lambda: instances.start(svc, stranger, w.company, d),
        lambda: disbursements.cancel(svc, stranger, w.company, d, reason="x"),
        lambda: disbursements.cancel(svc, stranger, w.company, d, reason=" "),
        lambda: disbursements.replace_payments(svc, stranger, w.company, d, payments=[], expected_version=0),
        lambda: disbursements.create_draft(svc, stranger, w.company, project_id=w.project),
    ):
        e = _refused(call)
        assert (e.code, e.rule) == ("not_found", "GEN-5")
    # a member deactivated here knew the disbursement: they are told the rule (ROLE-8)
    directory.set_user_active(svc, w.admin, w.company, w.controller, False)
    e = _refused(instances.respond, svc, w.controller, w.company, d, occurrence=occ, answer="Approve")
    assert e.code == "permission_denied"


# ---------------------------------------------------------------- audit verify


@pytest.mark.rule("AUD-3", "ROLE-1", "GEN-5")
def test_a_company_admin_verifies_the_companys_chains_only(svc) -> None:
    w = build_world(svc)
    d = _new(w, "10.00")
    report = verify_company(svc, w.admin, w.company)
    assert (report.company_id, report.ok, report.breaks, report.development_key) == (w.company, True, (), True)
    assert report.entries > 3
    assert _refused(verify_company, svc, w.creator, w.company).code == "permission_denied"
    assert _refused(verify_company, svc, _stranger(w), w.company).code == "not_found"
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    with svc.db.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.chain == f"disbursement:{d}", AuditEntry.seq == 1)
                  .values(reason="rewritten"))
    broken = verify_company(svc, w.admin, w.company)
    assert broken.ok is False and [(b.chain, b.seq, b.code) for b in broken.breaks] == [
        (f"disbursement:{d}", 1, "altered")]
    assert verify_company(svc, boss, other).ok is True  # another company's break is not theirs
