"""History per disbursement, read from the audit log, filtered by permission (AUD-7, ROLE-9, AUTH-15)."""

from __future__ import annotations

import pytest

from engine.errors import DomainError
from engine.security.permissions import VIEW_FULL_HISTORY, VIEW_PREVIOUS_STEP
from engine.service import instances
from engine.service.disbursements import PaymentLine, cancel, create_disbursement
from engine.service.history import history
from tests.roles import grant_role
from tests.world import build_world


def _approved_by_controller(svc):
    w = build_world(svc)
    d = create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                            payments=[PaymentLine(w.invoice("120000.00"))]).id
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    return w, d


@pytest.mark.rule("AUD-7", "ROLE-9")
def test_manager_and_admins_see_everything_in_order(svc) -> None:
    """AUD-7: started, response step, response, condition, … each with time and actor."""
    w, d = _approved_by_controller(svc)
    for viewer in (w.manager, w.admin):
        h = history(svc, viewer, w.company, d)
        assert h.scope == "complete"
        assert [e.kind for e in h.events] == ["workflow started", "response step", "response", "step decided",
                                            "condition", "response step"]
        response = h.events[2]
        assert (response.actor_name, response.text) == ("Controller", "Controller Review: Approve")
        assert h.events[4].text == ("> $100,000.00: disbursement_amount $120,000.00 > $100,000.00: true"
                                    " → CFO Review")


@pytest.mark.rule("ROLE-9")
def test_previous_step_only_shows_the_current_assignee_the_last_step(svc) -> None:
    """ROLE-9: View Previous Step History Only."""
    w, d = _approved_by_controller(svc)
    with pytest.raises(DomainError) as e:
        history(svc, w.cfo, w.company, d)
    assert e.value.rule == "ROLE-9"
    grant_role(svc, w.admin, w.company, w.cfo, VIEW_PREVIOUS_STEP)
    h = history(svc, w.cfo, w.company, d)
    assert h.scope == "previous_step"
    assert {e.step for e in h.events} == {"Controller Review"}
    grant_role(svc, w.admin, w.company, w.cfo, VIEW_FULL_HISTORY)
    assert history(svc, w.cfo, w.company, d).scope == "complete"


@pytest.mark.rule("AUTH-15")
def test_canceled_history_is_hidden_but_kept(svc) -> None:
    """AUTH-15."""
    w, d = _approved_by_controller(svc)
    cancel(svc, w.creator, w.company, d, reason="duplicate")
    h = history(svc, w.admin, w.company, d)
    assert (h.scope, h.events) == ("hidden", ())
    from engine.service import audit

    with svc.db.sessions() as s:
        assert len(audit.entries(s, audit.disbursement_chain(d))) > 6
