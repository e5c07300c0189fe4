"""Issue 7, runtime: the workflow rules that failed as written, each asserted through the
engine's public functions (RESP-2, RESP-4, STEP-2, STEP-4, MGR-1, MGR-2, MGR-5, MGR-8,
ROLE-8, WF-14, END-2, END-4, AUTH-5, AUTH-7, AUTH-13, STEP-7)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from sqlalchemy import func, select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine, create_disbursement
from engine.service.history import history
from engine.service.instance_store import load_state
from engine.store.tables import AuditEntry, Instance, OutboxEmail
from tests.roles import grant_role, revoke_role
from tests.world import REFERENCE, build_world

from .test_responding import exec_world


def audit_count(svc) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(AuditEntry.id)))


def written(svc) -> tuple[int, ...]:
    """How many audit entries, responses, occurrences and queued emails exist."""
    with svc.db.sessions() as s:
        states = [load_state(s, i) for i in s.scalars(select(Instance))]
        return (s.scalar(select(func.count()).select_from(AuditEntry)),
                sum(len(o.responses) for st in states for o in st.occurrences),
                sum(len(st.occurrences) for st in states),
                s.scalar(select(func.count()).select_from(OutboxEmail)))


def new(w, amount: str = "10.00", *, approved_by: str | None = None) -> str:
    inv = directory.create_invoice(w.svc, w.admin, w.company, w.project, payee=w.payee("Acme"),
                                   number=f"N-{audit_count(w.svc)}", amount_due=amount, approved_by=approved_by).id
    return create_disbursement(w.svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                               payments=[PaymentLine(inv)]).id


def view(w, d: str) -> instances.InstanceView:
    v = instances.view(w.svc, w.admin, w.company, d)
    assert v is not None
    return v


def responses_of(svc, instance_id: str) -> list[tuple[str, str]]:
    with svc.db.sessions() as s:
        state = load_state(s, s.get(Instance, instance_id))
        return [(r.user, r.answer) for o in state.occurrences for r in o.responses]


def outbox(svc, event: str) -> list[str]:
    with svc.db.sessions() as s:
        return sorted(r.recipients[0] for r in s.scalars(select(OutboxEmail).where(OutboxEmail.event == event)))


def refused(call) -> DomainError:
    with pytest.raises(DomainError) as e:
        call()
    return e.value


# ---------------------------------------------------------------- RESP-2, RESP-4


@pytest.mark.rule("RESP-2")
def test_an_answer_read_before_a_restart_never_lands_on_the_new_instance(svc) -> None:
    w = build_world(svc)
    d = new(w)
    read = view(w, d)  # the controller opens the page: occurrence 1
    instances.restart(svc, w.manager, w.company, d, reason="wrong cost code")
    after = view(w, d)
    assert after.instance_id != read.instance_id
    assert after.current_occurrence != read.current_occurrence  # numbers continue across instances
    e = refused(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=read.current_occurrence,
                                          answer="Approve"))
    assert (e.code, e.rule) == ("stale", "RESP-2")
    assert responses_of(svc, after.instance_id) == []
    assert view(w, d).workflow_status == "Under Review"
    # naming the old instance explicitly is refused the same way
    e = refused(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=read.current_occurrence,
                                          answer="Approve", instance_id=read.instance_id))
    assert (e.code, e.rule) == ("stale", "RESP-2")


@pytest.mark.rule("RESP-2", "DSB-12")
def test_an_approval_for_the_old_amount_never_counts_after_an_edit(svc) -> None:
    w = build_world(svc)
    inv = directory.create_invoice(svc, w.admin, w.company, w.project, payee=w.payee("Acme"), number="E-1",
                                   amount_due="250000.00").id
    d = create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                            payments=[PaymentLine(inv)]).id
    read = view(w, d)  # the controller reads the $250,000.00 disbursement
    disbursements.edit_payments(svc, w.creator, w.company, d, reason="paying part now",
                                amounts={inv: PaymentLine(inv, amount="150000.00", note="first half")})
    e = refused(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=read.current_occurrence,
                                          answer="Approve"))
    assert (e.code, e.rule) == ("stale", "RESP-2")
    restarted = view(w, d)
    assert restarted.instance_id != read.instance_id and restarted.current_step == "Controller Review"
    assert responses_of(svc, restarted.instance_id) == []
    # answered against the new instance, the approval is for the new amount
    instances.respond(svc, w.controller, w.company, d, occurrence=restarted.current_occurrence, answer="Approve")
    assert view(w, d).current_step == "CFO Review"


@pytest.mark.rule("RESP-4", "RESP-2")
def test_an_identical_resubmit_after_the_answer_ended_the_instance_is_a_no_op(svc) -> None:
    w = build_world(svc)
    d = new(w)
    o = view(w, d).current_occurrence
    first = instances.respond(svc, w.controller, w.company, d, occurrence=o, answer="Reject")
    assert view(w, d).status == "ended"
    n = written(svc)
    again = instances.respond(svc, w.controller, w.company, d, occurrence=o, answer="Reject")
    assert written(svc) == n
    assert (again.instance_id, again.occurrence, again.workflow_status) == (first.instance_id, o, "Rejected")
    e = refused(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=o, answer="Approve"))
    assert (e.code, e.rule) == ("already_responded", "RESP-4")
    # and after a restart, the identical retry still changes nothing on the new instance
    instances.restart(svc, w.manager, w.company, d, reason="new invoice attached")
    n = written(svc)
    retry = instances.respond(svc, w.controller, w.company, d, occurrence=o, answer="Reject")
    assert written(svc) == n and retry.instance_id == first.instance_id
    assert retry.current_occurrence == view(w, d).current_occurrence != o
    assert responses_of(svc, view(w, d).instance_id) == []


@pytest.mark.rule("RESP-2")
def test_respond_returns_a_frozen_result_naming_the_instance_and_occurrence(svc) -> None:
    w = build_world(svc)
    d = new(w, "200000.00")
    v = view(w, d)
    result = instances.respond(svc, w.controller, w.company, d, occurrence=v.current_occurrence,
                               answer="Approve", instance_id=v.instance_id)
    assert isinstance(result, instances.RespondResult)
    assert (result.instance_id, result.occurrence) == (v.instance_id, v.current_occurrence)
    now = view(w, d)
    assert (result.workflow_status, result.current_step, result.current_occurrence) == \
        ("Under Review", "CFO Review", now.current_occurrence)
    with pytest.raises(FrozenInstanceError):
        result.occurrence = 99  # type: ignore[misc]


# ---------------------------------------------------------------- STEP-2


@pytest.mark.rule("STEP-2", "ROLE-8")
def test_revoking_the_only_awaited_assignee_blocks_the_instance(svc) -> None:
    w = build_world(svc)
    d = new(w)
    revoke_role(svc, w.admin, w.company, w.controller, PAYMENTS_DISBURSER)
    v = view(w, d)
    assert v.blocked and v.current_step == "Controller Review" and v.awaited == ()
    assert outbox(svc, "blocked") == ["admin@gc.example", "manager@gc.example"]
    with svc.db.sessions() as s:
        blocked = s.scalars(select(AuditEntry).where(AuditEntry.action == "instance_blocked")).all()
    assert [(e.actor_id, e.object_id, e.details["step"]) for e in blocked] == [(w.admin, d, "Controller Review")]
    # the manager unblocks it by adding an assignee (MGR-7)
    instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="left_company",
                            replacing=[w.controller])
    v = view(w, d)
    assert not v.blocked and v.awaited == (w.cfo,)


@pytest.mark.rule("MGR-5")
def test_a_restart_terminates_the_active_instance_and_starts_afresh_at_the_first_step(svc) -> None:
    w, execs = exec_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    instances.respond(svc, execs[0], w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    old = view(w, d)
    assert (old.status, old.current_step) == ("active", "Executive Review")
    instances.restart(svc, w.manager, w.company, d, reason="the lien waiver changed")
    v = view(w, d)
    assert v.instance_id != old.instance_id and v.status == "active"
    assert (v.current_step, v.path, v.awaited) == ("Controller Review", ("Controller Review",), (w.controller,))
    assert responses_of(svc, v.instance_id) == []  # the earlier approvals do not count
    with svc.db.sessions() as s:
        assert s.get(Instance, old.instance_id).status == "terminated"


@pytest.mark.rule("STEP-2", "MGR-5")
def test_the_manager_unblocks_a_blocked_instance_by_restarting_it(svc) -> None:
    w = build_world(svc)
    d = new(w)
    directory.set_user_active(svc, w.admin, w.company, w.controller, False)
    directory.set_user_active(svc, w.admin, w.company, w.controller, True)
    v = view(w, d)
    assert v.blocked  # eligible again, yet the instance stays Blocked (STEP-2)
    instances.restart(svc, w.manager, w.company, d, reason="the controller is back")
    v = view(w, d)
    assert not v.blocked and v.current_step == "Controller Review" and v.awaited == (w.controller,)
    instances.respond(svc, w.controller, w.company, d, occurrence=v.current_occurrence, answer="Reject")
    assert view(w, d).workflow_status == "Rejected"


@pytest.mark.rule("STEP-2", "ROLE-8")
def test_deactivating_every_awaited_assignee_blocks_but_one_left_does_not(svc) -> None:
    w, execs = exec_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    assert view(w, d).current_step == "Executive Review"
    directory.set_user_active(svc, w.admin, w.company, execs[0], False)
    revoke_role(svc, w.admin, w.company, execs[1], PAYMENTS_DISBURSER)
    v = view(w, d)
    assert not v.blocked and v.awaited == (execs[2],)  # the view lists only who is still eligible
    assert outbox(svc, "blocked") == []
    directory.set_user_active(svc, w.admin, w.company, execs[2], False)
    v = view(w, d)
    assert v.blocked and v.awaited == ()
    assert outbox(svc, "blocked") == ["admin@gc.example", "manager@gc.example"]


# ---------------------------------------------------------------- STEP-4 / MGR-8


@pytest.mark.rule("STEP-4", "MGR-8")
def test_replacing_the_last_unapproved_assignee_with_an_approver_decides_the_all_step(svc) -> None:
    w, execs = exec_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    o = view(w, d).current_occurrence
    instances.respond(svc, execs[0], w.company, d, occurrence=o, answer="Approve")
    instances.respond(svc, execs[1], w.company, d, occurrence=o, answer="Approve")
    instances.add_assignees(svc, w.manager, w.company, d, users=[execs[0]], reason="left_company",
                            replacing=[execs[2]])
    v = view(w, d)
    assert (v.status, v.workflow_status) == ("ended", "Approved")
    assert v.path == ("Controller Review", "Executive Review", "Approved")


# ---------------------------------------------------------------- MGR-2, MGR-5, WF-14


@pytest.mark.rule("MGR-2")
def test_an_admin_reassigns_the_manager_of_a_rejected_disbursement_who_then_restarts_it(svc) -> None:
    w = build_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Reject")
    revoke_role(svc, w.admin, w.company, w.manager, PAYMENTS_DISBURSER)  # the manager left
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="manager left")
    instances.restart(svc, w.cfo, w.company, d, reason="invoice corrected", mode="current")
    assert view(w, d).workflow_status == "Under Review"


@pytest.mark.rule("MGR-2")
def test_only_an_admin_reassigns_with_a_reason_to_an_eligible_manager_and_never_on_a_canceled_one(svc) -> None:
    w = build_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    assert view(w, d).workflow_status == "Approved"
    revoke_role(svc, w.admin, w.company, w.manager, PAYMENTS_DISBURSER)  # the manager left
    e = refused(lambda: instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="left"))
    assert (e.code, e.rule) == ("ineligible_manager", "ROLE-8")  # the CFO cannot be a manager yet
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    e = refused(lambda: instances.reassign_manager(svc, w.cfo, w.company, d, manager=w.cfo, reason="left"))
    assert (e.code, e.rule) == ("permission_denied", "MGR-2")  # a Disburser is not an Admin
    e = refused(lambda: instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason=" "))
    assert (e.code, e.rule) == ("reason_required", "MGR-2")
    instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="manager left")  # Approved: ended
    instances.restart(svc, w.cfo, w.company, d, reason="second look", mode="current")
    assert view(w, d).workflow_status == "Under Review"
    disbursements.cancel(svc, w.admin, w.company, d, reason="paid by check instead")
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER)
    e = refused(lambda: instances.reassign_manager(svc, w.admin, w.company, d, manager=w.admin, reason="left"))
    assert (e.code, e.rule) == ("disbursement_canceled", "AUTH-12")


@pytest.mark.rule("MGR-2", "MGR-5")
def test_a_terminated_instance_is_neither_reassigned_nor_restarted(svc) -> None:
    w = build_world(svc)
    d = new(w)
    instances.terminate(svc, w.manager, w.company, d, reason="vendor dispute")
    e = refused(lambda: instances.restart(svc, w.manager, w.company, d, reason="dispute settled"))
    assert (e.code, e.rule) == ("instance_not_active", "MGR-5")
    revoke_role(svc, w.admin, w.company, w.manager, PAYMENTS_DISBURSER)
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    e = refused(lambda: instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="left"))
    assert (e.code, e.rule) == ("instance_not_active", "MGR-2")
    assert view(w, d).workflow_status == "Not Started"


@pytest.mark.rule("WF-14", "MGR-5")
def test_restart_in_current_mode_on_an_archived_template_is_refused(svc) -> None:
    w = build_world(svc)
    d = new(w)
    other = templates.create_template(svc, w.admin, w.company, "Payments 2026").id
    templates.publish(svc, w.admin, w.company, other, load_workflow(REFERENCE, "workflow.flow"))
    templates.configure(svc, w.admin, w.company, other, manager=w.manager,
                        roles={"Controller": [w.cfo], "CFO": [w.cfo]})
    templates.set_default(svc, w.admin, w.company, other)
    templates.archive(svc, w.admin, w.company, w.template)
    before = view(w, d).instance_id
    e = refused(lambda: instances.restart(svc, w.manager, w.company, d, reason="again", mode="current"))
    assert (e.code, e.rule) == ("template_archived", "WF-14")
    assert view(w, d).instance_id == before
    instances.restart(svc, w.manager, w.company, d, reason="again", mode="defaults")
    assert view(w, d).awaited == (w.cfo,)  # the new default's configuration


# ---------------------------------------------------------------- ROLE-8 / MGR-1


@pytest.mark.rule("MGR-1")
def test_an_eligible_manager_who_is_not_the_instances_manager_takes_no_manager_action(svc) -> None:
    w = build_world(svc)
    d = new(w, "200000.00")
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)  # could manage, but does not manage this one
    before = (audit_count(svc), view(w, d))
    for call in (
        lambda: instances.terminate(svc, w.cfo, w.company, d, reason="x"),
        lambda: instances.restart(svc, w.cfo, w.company, d, reason="x"),
        lambda: instances.return_to(svc, w.cfo, w.company, d, step="Controller Review", reason="x"),
        lambda: instances.add_assignees(svc, w.cfo, w.company, d, users=[w.creator], reason="vacation"),
    ):
        e = refused(call)
        assert (e.code, e.rule) == ("permission_denied", "MGR-1")
    assert (audit_count(svc), view(w, d)) == before
    instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="recheck the lien waiver")
    assert view(w, d).current_step == "Controller Review"


@pytest.mark.rule("ROLE-8", "MGR-1")
def test_a_deactivated_manager_can_take_no_manager_action(svc) -> None:
    w = build_world(svc)
    d = new(w, "200000.00")
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    directory.set_user_active(svc, w.admin, w.company, w.manager, False)
    before = audit_count(svc)
    for call in (
        lambda: instances.terminate(svc, w.manager, w.company, d, reason="x"),
        lambda: instances.restart(svc, w.manager, w.company, d, reason="x"),
        lambda: instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="x"),
        lambda: instances.add_assignees(svc, w.manager, w.company, d, users=[w.creator], reason="vacation"),
        lambda: history(svc, w.manager, w.company, d),
    ):
        e = refused(call)
        assert e.code == "permission_denied" and e.rule in ("ROLE-8", "ROLE-9")
    assert audit_count(svc) == before


@pytest.mark.rule("ROLE-8", "MGR-1")
def test_a_manager_without_can_be_workflow_manager_cannot_start_or_terminate(svc) -> None:
    w = build_world(svc)
    d, d2 = new(w), new(w)
    instances.terminate(svc, w.manager, w.company, d, reason="vendor dispute")
    revoke_role(svc, w.admin, w.company, w.manager, CAN_BE_MANAGER)
    e = refused(lambda: instances.start(svc, w.manager, w.company, d))
    assert (e.code, e.rule) == ("permission_denied", "ROLE-8")
    e = refused(lambda: instances.terminate(svc, w.manager, w.company, d2, reason="x"))
    assert (e.code, e.rule) == ("permission_denied", "ROLE-8")
    assert history(svc, w.admin, w.company, d2).scope == "complete"  # Admins still read it all
    e = refused(lambda: history(svc, w.manager, w.company, d2))
    assert e.code == "permission_denied"


# ---------------------------------------------------------------- END-4 / AUTH-5 / AUTH-7


@pytest.mark.rule("END-4", "AUTH-5")
def test_ready_to_authorize_skips_the_invoice_approver(svc) -> None:
    w = build_world(svc)
    d = new(w, approved_by=w.cfo)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    assert view(w, d).workflow_status == "Approved"
    # eligible: admin, creator, manager, controller (the final approver, AUTH-6), cfo (approved the invoice)
    assert outbox(svc, "approved") == ["admin@gc.example", "controller@gc.example", "creator@gc.example",
                                       "manager@gc.example"]


@pytest.mark.rule("END-4", "AUTH-5", "AUTH-7")
def test_ready_to_authorize_in_strict_mode_also_skips_responders_and_the_creator(svc) -> None:
    w = build_world(svc)
    directory.update_settings(svc, w.admin, w.company, segregation="strict")
    d = new(w, approved_by=w.cfo)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Approve")
    assert outbox(svc, "approved") == ["admin@gc.example", "manager@gc.example"]


# ---------------------------------------------------------------- AUTH-13


@pytest.mark.rule("AUTH-13")
@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_canceling_an_approved_or_rejected_disbursement_emails_manager_and_creator(svc, answer: str) -> None:
    w = build_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer=answer)
    disbursements.cancel(svc, w.admin, w.company, d, reason="paid by check instead")
    assert outbox(svc, "canceled") == ["creator@gc.example", "manager@gc.example"]


# ---------------------------------------------------------------- STEP-7 / END-2

STATUS_FLOW = """workflow "Status Flow" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        status: "With the controller"
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    end "Approved" success {
        status: "Cleared for payment"
        notify: creator
    }

    end "Rejected" failure {
        status: "Sent back to the vendor"
        notify: creator
    }
}
"""


@pytest.mark.rule("STEP-7", "END-2")
def test_the_view_shows_the_step_and_end_step_status_text(svc) -> None:
    w = build_world(svc, STATUS_FLOW)
    d = new(w)
    assert view(w, d).status_text == "With the controller"
    instances.respond(svc, w.controller, w.company, d, occurrence=view(w, d).current_occurrence, answer="Reject")
    v = view(w, d)
    assert (v.workflow_status, v.status_text) == ("Rejected", "Sent back to the vendor")
    ok = new(w)
    instances.respond(svc, w.controller, w.company, ok, occurrence=view(w, ok).current_occurrence, answer="Approve")
    v = view(w, ok)
    assert (v.workflow_status, v.status_text) == ("Approved", "Cleared for payment")
