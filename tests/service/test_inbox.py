"""The inbox (engine.service.inbox): the steps waiting for me, most urgent first, each with the
reason in words it reached me, read from the route its instance recorded (COND-13, STEP-5,
STEP-9, GEN-6, WF-12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.service import directory, disbursements, instances, templates
from engine.service.demo import seed_demo
from engine.service.disbursements import PaymentLine
from engine.service.inbox import inbox
from tests.world import REFERENCE, World, build_world

#: two condition steps in a row, an `in` list, an `and`, and three review steps they route to
OFFICES = """workflow "Offices" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        due: 2 business days
        on "Approve" -> "Office?"
        on "Reject" -> "Rejected"
    }

    condition "Office?" {
        when project.office in ["Denver", "Austin"] -> "Regional Review"
        otherwise -> "Size?"
    }

    condition "Size?" {
        when invoice_count >= 3 and highest_invoice_amount > $50,000.00 -> "CFO Review"
        otherwise -> "Desk Review"
    }

    response "Regional Review" {
        assignees: role "CFO"
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    response "CFO Review" {
        assignees: role "CFO"
        due: 1 calendar days
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    response "Desk Review" {
        assignees: role "CFO"
        due: 3 calendar days
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    end "Approved" success {
        notify: creator
    }

    end "Rejected" failure {
        notify: creator
    }
}
"""


def _new(w: World, *amounts: str, project: str | None = None) -> str:
    if project is None:
        lines = [PaymentLine(w.invoice(a)) for a in amounts]
    else:
        lines = [PaymentLine(directory.create_invoice(w.svc, w.admin, w.company, project, payee=w.payee("Acme Concrete"),
                                                      number=f"{project[:6]}-{n}", amount_due=a).id)
                 for n, a in enumerate(amounts)]
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=project or w.project,
                                             funding_account=w.funding, payments=lines).id


def _approve(w: World, who: str, d: str) -> None:
    where = instances.view(w.svc, who, w.company, d)
    assert where is not None and where.current_occurrence is not None
    instances.respond(w.svc, who, w.company, d, occurrence=where.current_occurrence, answer="Approve")


def _offices(svc) -> World:  # type: ignore[no-untyped-def]
    w = build_world(svc)
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(OFFICES, "offices.flow"))
    return w


@pytest.mark.rule("STEP-5", "COND-13")
def test_each_assignee_sees_the_steps_awaiting_them_with_the_reason(svc) -> None:
    """The Controller's inbox holds the disbursement at Controller Review (the first step); once
    approved over $100,000 it leaves theirs and reaches the CFO's, saying why in words."""
    w = build_world(svc)
    small, large = _new(w, "60250.00"), _new(w, "100000.00", "20000.00")
    box = inbox(svc, w.controller, w.company)
    assert {(i.id, i.step) for i in box.items} == {(small, "Controller Review"), (large, "Controller Review")}
    first = next(i for i in box.items if i.id == large)
    assert first.reason == "needs Controller review: the first step of the workflow"
    assert (first.project_name, first.total, first.invoice_count) == ("Tower A", Decimal("120000.00"), 2)
    assert inbox(svc, w.cfo, w.company).items == ()

    _approve(w, w.controller, large)
    assert [i.id for i in inbox(svc, w.controller, w.company).items] == [small]
    cfo = inbox(svc, w.cfo, w.company).items
    assert [(i.id, i.step) for i in cfo] == [(large, "CFO Review")]
    assert cfo[0].reason == "needs CFO review: disbursement amount $120,000.00 is over $100,000.00"
    assert (cfo[0].needs, cfo[0].because) == ("needs CFO review",
                                              "disbursement amount $120,000.00 is over $100,000.00")
    # the manager and the creator are awaited nowhere
    assert inbox(svc, w.manager, w.company).items == inbox(svc, w.creator, w.company).items == ()


@pytest.mark.rule("STEP-9", "GEN-6")
def test_overdue_first_then_by_due_date_in_the_company_time_zone(svc, clock) -> None:
    """Three disbursements made days apart: the overdue one comes first whatever its age, then
    the earliest due; the due dates are the company's calendar dates (STEP-9, GEN-6)."""
    w = build_world(svc)
    directory.update_settings(svc, w.admin, w.company, time_zone="Pacific/Auckland")
    # 2026-03-02 14:00 UTC is 03:00 on March 3 in Auckland: 5 calendar days later is March 8
    oldest = _new(w, "10.00")
    clock.advance(days=3)
    middle = _new(w, "20.00")
    clock.advance(days=3)  # March 9 in Auckland: the oldest is overdue since 00:00
    newest = _new(w, "30.00")
    box = inbox(svc, w.controller, w.company)
    assert box.time_zone == "Pacific/Auckland" and box.today == date(2026, 3, 9)
    assert [(i.id, i.due_date, i.overdue) for i in box.items] == [
        (oldest, date(2026, 3, 8), True), (middle, date(2026, 3, 11), False), (newest, date(2026, 3, 14), False)]
    assert box.overdue_count == 1
    assert box.items[0].waiting_since < box.items[1].waiting_since


@pytest.mark.rule("COND-13", "COND-2")
def test_the_reason_follows_every_condition_passed_and_its_otherwise(svc) -> None:
    """Two condition steps in a row: each says its part — the `when` that routed, or why none of
    its lines held when `otherwise` routed."""
    w = _offices(svc)
    denver = directory.create_project(svc, w.admin, w.company, directory.ProjectInfo(name="Mile High",
                                                                                   office="Denver")).id
    desk, regional = _new(w, "10.00"), _new(w, "10.00", project=denver)
    big = _new(w, "60000.00", "1.00", "2.00")
    for d in (desk, regional, big):
        _approve(w, w.controller, d)
    reasons = {i.id: (i.step, i.reason) for i in inbox(svc, w.cfo, w.company).items}
    assert reasons == {
        desk: ("Desk Review", 'needs Desk review: project office "Boston" is not one of "Denver", "Austin"; '
                              "invoice count 1 is fewer than 3 or highest invoice amount $10.00 is not over "
                              "$50,000.00"),
        regional: ("Regional Review", 'needs Regional review: project office "Denver" is one of "Denver", "Austin"'),
        big: ("CFO Review", 'needs CFO review: project office "Boston" is not one of "Denver", "Austin"; '
                            "invoice count 3 is at least 3 and highest invoice amount $60,000.00 is over "
                            "$50,000.00"),
    }
    # no due period: no due date, never overdue, and last in the order
    box = inbox(svc, w.cfo, w.company).items
    assert box[-1].id == regional and box[-1].due_date is None and not box[-1].overdue
    assert [i.id for i in box[:2]] == [big, desk]  # due in 1 day, then in 3


@pytest.mark.rule("WF-12", "COND-13")
def test_the_reason_is_the_route_taken_not_the_workflow_or_invoices_of_today(svc) -> None:
    """A new version with another threshold, published after the instance took its route, changes
    nothing in the reason: it is read from the recorded evaluation of the pinned version."""
    w = build_world(svc)
    d = _new(w, "150000.00")
    _approve(w, w.controller, d)
    templates.publish(svc, w.admin, w.company, w.template,
                      load_workflow(REFERENCE.replace("$100,000.00", "$500,000.00"), "workflow.flow"))
    [item] = inbox(svc, w.cfo, w.company).items
    assert item.reason == "needs CFO review: disbursement amount $150,000.00 is over $100,000.00"


@pytest.mark.rule("MGR-6")
def test_a_step_the_manager_returned_to_says_so(svc) -> None:
    w = build_world(svc)
    d = _new(w, "150000.00")
    _approve(w, w.controller, d)
    instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="wrong retainage")
    [item] = inbox(svc, w.controller, w.company).items
    assert item.reason == "needs Controller review: the workflow manager returned it here from CFO Review"
    assert inbox(svc, w.cfo, w.company).items == ()


@pytest.mark.rule("GEN-5", "ROLE-8")
def test_strangers_find_nothing_and_the_ineligible_are_awaited_nowhere(svc) -> None:
    w = build_world(svc)
    _new(w, "10.00")
    stranger = directory.create_user(svc, "stranger@else.example", "Stranger").id
    with pytest.raises(DomainError) as e:
        inbox(svc, stranger, w.company)
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    outsider = directory.create_user(svc, "outsider@gc.example", "Outsider").id
    directory.add_member(svc, w.admin, w.company, "outsider@gc.example")
    assert inbox(svc, outsider, w.company).items == ()


def test_the_demo_inboxes(svc) -> None:
    """The demo company as `payroute serve --demo` seeds it: the Controller has the disbursement
    at Controller Review, the CFO the one over $100,000 with its reason."""
    demo = seed_demo(svc, load_workflow(REFERENCE, "workflow.flow"))
    [controller] = inbox(svc, demo.users["controller@demo.example"], demo.company).items
    assert (controller.id, controller.total) == (demo.disbursements["controller_review"], Decimal("60250.00"))
    [cfo] = inbox(svc, demo.users["cfo@demo.example"], demo.company).items
    assert cfo.id == demo.disbursements["cfo_review"]
    assert cfo.reason == "needs CFO review: disbursement amount $120,000.00 is over $100,000.00"


SENT_BACK = """workflow "Sent back" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        due: 2 business days
        on "Approve" -> "CFO Review"
        on "Reject" -> "Rejected"
    }

    response "CFO Review" {
        assignees: role "CFO"
        on "Approve" -> "Approved"
        on "Send back" -> "Controller Review"
    }

    end "Approved" success {
        notify: creator
    }

    end "Rejected" failure {
        notify: creator
    }
}
"""


@pytest.mark.rule("STEP-6")
def test_a_step_reached_by_an_answer_names_the_answer(svc) -> None:
    """No condition on the way: the step follows the answer given at the step before (STEP-6),
    a loop back included."""
    w = build_world(svc)
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(SENT_BACK, "sent_back.flow"))
    d = _new(w, "10.00")
    _approve(w, w.controller, d)
    [at_cfo] = inbox(svc, w.cfo, w.company).items
    assert at_cfo.reason == 'needs CFO review: Controller Review answered "Approve"'
    where = instances.view(svc, w.cfo, w.company, d)
    assert where is not None and where.current_occurrence is not None
    instances.respond(svc, w.cfo, w.company, d, occurrence=where.current_occurrence, answer="Send back")
    [back] = inbox(svc, w.controller, w.company).items
    assert back.reason == 'needs Controller review: CFO Review answered "Send back"'
