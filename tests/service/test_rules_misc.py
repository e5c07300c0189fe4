"""Smaller rules of sections 2, 4, 6 and 7 that the larger scenario tests do not pin down."""

from __future__ import annotations

import pytest

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import PAYMENTS_ADMIN
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.store.tables import Disbursement
from tests.roles import grant_role, revoke_role
from tests.world import REFERENCE, build_world


@pytest.mark.rule("ROLE-11")
def test_the_last_admin_cannot_be_revoked(svc) -> None:
    """ROLE-11: grants are Admin actions, audited, and never remove the last Admin."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        directory.grant(svc, w.creator, w.company, w.creator, PAYMENTS_ADMIN)
    assert e.value.code == "permission_denied"
    with pytest.raises(DomainError) as e:
        directory.revoke(svc, w.admin, w.company, w.admin, PAYMENTS_ADMIN)
    assert (e.value.code, e.value.rule) == ("last_admin", "ROLE-11")
    grant_role(svc, w.admin, w.company, w.creator, PAYMENTS_ADMIN)
    revoke_role(svc, w.admin, w.company, w.admin, PAYMENTS_ADMIN)


@pytest.mark.rule("STEP-7", "END-2")
def test_status_text_is_display_only(svc) -> None:
    """STEP-7, END-2: a failure end says "Approved" on screen yet the workflow status is Rejected."""
    w = build_world(svc, configure=False)
    tricky = REFERENCE.replace('end "Rejected" failure {\n        status: "Rejected"',
                               'end "Rejected" failure {\n        status: "Approved"')
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(tricky, "w.flow"))
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    templates.set_default(svc, w.admin, w.company, w.template)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Reject")
    after = instances.view(svc, w.admin, w.company, d)
    assert (after.workflow_status, after.status_text) == ("Rejected", "Approved")


@pytest.mark.rule("DSB-4")
def test_one_project_per_disbursement(svc) -> None:
    """DSB-4."""
    w = build_world(svc)
    other = directory.create_project(svc, w.admin, w.company, directory.ProjectInfo(name="Tower B")).id
    foreign = directory.create_invoice(svc, w.admin, w.company, other, payee=w.payee("V"), number="B-1",
                                       amount_due="5.00").id
    with pytest.raises(DomainError) as e:
        disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00")), PaymentLine(foreign)])
    assert e.value.rule == "DSB-4"


@pytest.mark.rule("RESP-6")
def test_a_late_answer_is_accepted(svc, clock) -> None:
    """RESP-6: overdue only triggers reminders."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    clock.advance(days=30)
    view = instances.view(svc, w.admin, w.company, d)
    assert view.overdue_steps == ("Controller Review",)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"


def test_a_canceled_disbursement_stays_draft_for_funding(svc) -> None:
    """ST-3, ST-4: drawdown status starts Draft and a cancel leaves it Draft."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    disbursements.cancel(svc, w.creator, w.company, d, reason="not needed")
    with svc.db.sessions() as s:
        assert s.get(Disbursement, d).drawdown_status == "Draft"


@pytest.mark.rule("WF-11", "WF-12")
def test_a_new_instance_uses_the_defaults_current_configuration(svc) -> None:
    """WF-11, WF-12: a configuration edit reaches instances started after it, not before."""
    w = build_world(svc)
    d1 = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                           payments=[PaymentLine(w.invoice("5.00"))]).id
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.cfo], "CFO": [w.cfo]})
    d2 = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                           payments=[PaymentLine(w.invoice("5.00"))]).id
    assert instances.view(svc, w.admin, w.company, d1).awaited == (w.controller,)
    assert instances.view(svc, w.admin, w.company, d2).awaited == (w.cfo,)


@pytest.mark.rule("COND-5", "DSB-12")
def test_conditions_read_the_facts_as_they_are_on_entry(svc) -> None:
    """COND-5: after an edit the condition is decided on the new payment amounts."""
    w = build_world(svc)
    inv = w.invoice("200000.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(inv, amount="1000.00", note="deposit")]).id
    disbursements.edit_payments(svc, w.creator, w.company, d, amounts={inv: PaymentLine(inv)}, reason="pay all")
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"


@pytest.mark.rule("GEN-5")
def test_a_payee_company_is_its_own_world(svc) -> None:
    """ROLE-6, GEN-5: a payee's Payee Admin acts in the payee company only."""
    w = build_world(svc)
    sub_admin = directory.create_user(svc, "owner@acme-concrete.example", "Acme Owner").id
    payee = directory.create_company(svc, "Acme Concrete", first_admin=sub_admin, is_payee=True).id
    with pytest.raises(DomainError) as e:
        directory.grant(svc, sub_admin, w.company, sub_admin, PAYMENTS_ADMIN)
    assert e.value.code == "permission_denied"
    directory.create_project(svc, sub_admin, payee, directory.ProjectInfo(name="Acme yard"))


@pytest.mark.rule("ROLE-8", "RESP-1", "STEP-2")
def test_a_deactivated_user_can_no_longer_answer(svc) -> None:
    """ROLE-8, RESP-1: only active Admins and Disbursers are eligible. STEP-2 (issue 7): the
    controller was the step's only awaited assignee, so the instance is Blocked until the
    manager adds an assignee, even once the controller is active again."""
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    directory.set_user_active(svc, w.admin, w.company, w.controller, False)
    view = instances.view(svc, w.admin, w.company, d)
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert e.value.rule == "RESP-1"
    directory.set_user_active(svc, w.admin, w.company, w.controller, True)
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert (e.value.code, e.value.rule) == ("instance_blocked", "STEP-2")
    instances.add_assignees(svc, w.manager, w.company, d, users=[w.controller], reason="other",
                            comment="back from leave")
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
