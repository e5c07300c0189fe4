"""Workflow insights (engine.service.insights over engine.runtime.step_insights): per response
step, visits, the median and 90th percentile time to respond, the overdue rate and rejections,
from the occurrences the instances recorded, on an injected clock (STEP-9, GEN-6, ROLE-7)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine.errors import DomainError
from engine.runtime.step_insights import median, nearest_rank
from engine.service import directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.service.insights import workflow_insights
from tests.world import World, build_world


def _new(w: World, amount: str) -> str:
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=[PaymentLine(w.invoice(amount))]).id


def _answer(w: World, who: str, d: str, answer: str) -> None:
    where = instances.view(w.svc, who, w.company, d)
    assert where is not None and where.current_occurrence is not None
    instances.respond(w.svc, who, w.company, d, occurrence=where.current_occurrence, answer=answer)


@pytest.mark.rule("STEP-9", "GEN-6")
def test_times_to_respond_overdue_rate_and_rejections_per_step(svc, clock) -> None:
    """Monday 2026-03-02 09:00 New York; the reference workflow's steps are due in 5 calendar days
    (March 7), so overdue from March 8 00:00 New York."""
    w = build_world(svc)
    fast, late, waiting = _new(w, "150000.00"), _new(w, "10.00"), _new(w, "10.00")
    clock.advance(hours=2)
    _answer(w, w.controller, fast, "Approve")  # 2 h at Controller Review, then CFO Review
    clock.advance(hours=24)
    _answer(w, w.cfo, fast, "Approve")  # 24 h at CFO Review
    clock.advance(hours=6 * 24 - 26)  # Sunday March 8, 10:00 New York (EDT from 02:00)
    _answer(w, w.controller, late, "Reject")  # 6 days: answered after it became overdue
    fresh = _new(w, "10.00")  # due March 13: open, not overdue
    assert waiting and fresh

    report = workflow_insights(svc, w.manager, w.company)
    assert (report.template_id, report.template_name, report.instances, report.active) == (w.template, "Payments", 4, 2)
    controller, cfo = report.steps
    assert controller.step == "Controller Review"
    assert (controller.visits, controller.answered, controller.open) == (4, 2, 2)
    assert controller.median == timedelta(days=3, hours=1)  # the mean of 2 h and 6 days
    assert controller.p90 == timedelta(days=6)
    # late (answered overdue) and waiting (open, overdue now), out of the 4 with a due date
    assert (controller.overdue, controller.overdue_base, controller.overdue_rate) == (2, 4, Decimal("0.5000"))
    assert controller.rejections == 1
    assert controller.decisions == (("Approve", 1), ("Reject", 1))
    assert cfo.step == "CFO Review"
    assert (cfo.visits, cfo.answered, cfo.open, cfo.median, cfo.p90) == (1, 1, 0, timedelta(hours=24),
                                                                          timedelta(hours=24))
    assert (cfo.overdue, cfo.overdue_base, cfo.rejections) == (0, 1, 0)
    assert report.time_zone == "America/New_York" and report.today.isoformat() == "2026-03-08"


@pytest.mark.rule("STEP-9")
def test_an_open_step_becomes_overdue_at_midnight_company_time(svc, clock) -> None:
    w = build_world(svc)
    _new(w, "10.00")
    clock.advance(days=5, hours=14, minutes=59)  # March 7, 23:59 New York (EST): due today, not overdue
    [step, _] = workflow_insights(svc, w.admin, w.company).steps
    assert (step.overdue, step.overdue_base) == (0, 1)
    clock.advance(minutes=1)  # March 8, 00:00 New York
    [step, _] = workflow_insights(svc, w.admin, w.company).steps
    assert (step.overdue, step.overdue_base, step.overdue_rate) == (1, 1, Decimal("1.0000"))
    assert step.median is None and step.p90 is None  # nothing answered yet


@pytest.mark.rule("MGR-6")
def test_a_step_the_manager_closed_is_a_visit_but_not_an_answer(svc, clock) -> None:
    """MGR-6: returning from CFO Review closes it unanswered; it is visited, never timed."""
    w = build_world(svc)
    d = _new(w, "150000.00")
    _answer(w, w.controller, d, "Approve")
    clock.advance(days=9)  # CFO Review is overdue, but the manager takes it back
    instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="retainage is wrong")
    clock.advance(hours=1)
    _answer(w, w.controller, d, "Approve")
    controller, cfo = workflow_insights(svc, w.manager, w.company).steps
    assert (cfo.visits, cfo.answered, cfo.open, cfo.overdue_base, cfo.median) == (2, 0, 1, 1, None)
    assert (controller.visits, controller.answered, controller.median) == (2, 2, timedelta(minutes=30))


def test_a_step_never_visited_still_has_its_row() -> None:
    """The workflow's own steps are listed even with no visit: a manager sees the step exists."""
    from datetime import datetime, timezone

    from engine.runtime.calendar import CompanyCalendar
    from engine.runtime.step_insights import step_insights

    [row] = step_insights([], ["CFO Review"], CompanyCalendar(), datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert (row.step, row.visits, row.median, row.p90, row.overdue_rate, row.rejections) == (
        "CFO Review", 0, None, None, None, 0)


def test_median_and_nearest_rank_percentile() -> None:
    minutes = [timedelta(minutes=m) for m in (7, 1, 10, 3, 2, 9, 4, 8, 6, 5)]
    assert median(minutes) == timedelta(minutes=5, seconds=30)
    assert nearest_rank(minutes, 90) == timedelta(minutes=9)
    assert nearest_rank(minutes, 100) == timedelta(minutes=10)
    assert median(minutes[:3]) == timedelta(minutes=7)
    assert nearest_rank([timedelta(hours=1)], 90) == timedelta(hours=1)
    assert median([]) is None and nearest_rank([], 90) is None
    with pytest.raises(ValueError):
        nearest_rank(minutes, 0)


@pytest.mark.rule("ROLE-7", "ROLE-8", "GEN-5")
def test_only_payments_admins_and_workflow_managers_may_look(svc) -> None:
    w = build_world(svc)
    assert workflow_insights(svc, w.admin, w.company).template_id == w.template
    assert [(c.id, c.name, c.is_default) for c in workflow_insights(svc, w.manager, w.company).templates] == [
        (w.template, "Payments", True)]
    with pytest.raises(DomainError) as e:
        workflow_insights(svc, w.controller, w.company)
    assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-7")
    assert "Can Be Workflow Manager" in e.value.message
    stranger = directory.create_user(svc, "stranger@else.example", "Stranger").id
    with pytest.raises(DomainError) as e:
        workflow_insights(svc, stranger, w.company)
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    for bad in ("0" * 32, "not an id"):
        with pytest.raises(DomainError) as e:
            workflow_insights(svc, w.admin, w.company, template_id=bad)
        assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")


def test_a_company_without_a_default_template_has_nothing_to_show(svc) -> None:
    w = build_world(svc, configure=False)
    report = workflow_insights(svc, w.admin, w.company)
    assert (report.template_id, report.steps, report.instances) == (None, (), 0)
    assert [c.id for c in report.templates] == [w.template]
    assert [s.step for s in workflow_insights(svc, w.admin, w.company, template_id=w.template).steps] == [
        "Controller Review", "CFO Review"]
