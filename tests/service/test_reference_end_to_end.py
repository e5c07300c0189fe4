"""The reference workflow end to end on a real database (DSB-8, RESP-*, END-*, AUD-*)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.service import audit, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import OutboxEmail
from tests.world import build_world


def _emails(svc, event: str | None = None) -> list[tuple[str, str]]:
    with svc.db.sessions() as s:
        q = select(OutboxEmail).order_by(OutboxEmail.created_at, OutboxEmail.id)
        rows = [(r.recipients[0], r.event) for r in s.scalars(q)]
    return [r for r in rows if event is None or r[1] == event]


@pytest.mark.rule("DSB-8", "COND-1", "STEP-3", "STEP-11", "END-3")
def test_controller_then_cfo_approve_a_large_disbursement(svc, clock) -> None:
    w = build_world(svc)
    inv = w.invoice("120000.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(inv)]).id
    view = instances.view(svc, w.admin, w.company, d)
    assert view is not None
    assert (view.workflow_status, view.current_step, view.awaited) == ("Under Review", "Controller Review",
                                                                         (w.controller,))
    step_mail = _emails(svc, "step_entered")
    assert sorted(step_mail) == sorted([("controller@gc.example", "step_entered"),
                                        ("manager@gc.example", "step_entered"),
                                        ("creator@gc.example", "step_entered")])

    clock.advance(hours=1)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    view = instances.view(svc, w.admin, w.company, d)
    assert view.current_step == "CFO Review"
    assert view.path == ("Controller Review", "> $100,000.00", "CFO Review")

    clock.advance(hours=1)
    instances.respond(svc, w.cfo, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    view = instances.view(svc, w.admin, w.company, d)
    assert view.workflow_status == "Approved"
    assert view.path[-1] == "Approved"

    end_mail = {r for r, _ in _emails(svc, "end_reached")}
    # END-3: assignees of every response occurrence, the manager, the creator
    assert end_mail == {"controller@gc.example", "cfo@gc.example", "manager@gc.example", "creator@gc.example"}
    assert _emails(svc, "approved")  # END-4

    with svc.db.sessions() as s:
        assert audit.verify(s) == []
        actions = [e.action for e in audit.entries(s, audit.disbursement_chain(d))]
    assert actions == ["disbursement_created", "workflow_started", "step_entered", "response_submitted",
                       "step_decided", "condition_decided", "step_entered", "response_submitted",
                       "step_decided", "end_reached"]
    with svc.db.sessions() as s:
        cond = [e for e in audit.entries(s, audit.disbursement_chain(d)) if e.action == "condition_decided"][0]
    assert cond.details["text"] == ["disbursement_amount $120,000.00 > $100,000.00: true → CFO Review"]
