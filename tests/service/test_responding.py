"""Responding and manager actions on a stored instance (RESP-*, STEP-*, MGR-*, WF-12, END-1)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
from engine.service import audit, directory, instances, templates
from engine.service.disbursements import PaymentLine, create_disbursement
from engine.service.templates import PublishRefused
from engine.store.tables import AuditEntry, OutboxEmail
from tests.roles import grant_role, revoke_role
from tests.world import REFERENCE, build_world

EXEC = """workflow "Exec" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        due: 2 business days
        on "Approve" -> "Executive Review"
        on "Reject" -> "Rejected"
    }

    response "Executive Review" {
        assignees: role "Executives"
        requires: all
        due: 3 business days
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
        on "Return" -> "Controller Review"
    }

    end "Approved" success {
        notify: assignees, creator
    }

    end "Rejected" failure {
        notify: creator
    }
}
"""


def audit_count(svc) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(AuditEntry.id)))


def new(w, amount: str = "10.00") -> str:
    return create_disbursement(w.svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                               payments=[PaymentLine(w.invoice(amount))]).id


def occ(w, d: str) -> int:
    return instances.view(w.svc, w.admin, w.company, d).current_occurrence


def exec_world(svc):
    w = build_world(svc, configure=False)
    execs = [directory.create_user(svc, f"exec{i}@gc.example", f"Exec {i}").id for i in range(3)]
    for i, u in enumerate(execs):
        directory.add_member(svc, w.admin, w.company, f"exec{i}@gc.example")
        grant_role(svc, w.admin, w.company, u, PAYMENTS_DISBURSER)
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(EXEC, "exec.flow"))
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "Executives": execs})
    templates.set_default(svc, w.admin, w.company, w.template)
    return w, execs


@pytest.mark.rule("RESP-1")
def test_only_awaited_assignees_respond(svc) -> None:
    """RESP-1: anyone else is refused and nothing changes."""
    w = build_world(svc)
    d = new(w)
    before = audit_count(svc)
    for who in (w.cfo, w.creator, w.manager):
        with pytest.raises(DomainError) as e:
            instances.respond(svc, who, w.company, d, occurrence=occ(w, d), answer="Approve")
        assert (e.value.code, e.value.rule) == ("permission_denied", "RESP-1")
    assert audit_count(svc) == before


@pytest.mark.rule("RESP-3", "RESP-2", "RESP-4")
def test_unknown_answer_and_stale_occurrence_are_refused(svc) -> None:
    """RESP-3, RESP-2; RESP-4 wins over RESP-2 for the same user's identical answer (issue 7:
    the controller's identical resubmit is now a no-op, no longer refused as stale)."""
    w = build_world(svc, )
    d = new(w, "200000.00")
    first = occ(w, d)
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=first, answer="Approved")
    assert e.value.rule == "RESP-3" and "`Approve`" in e.value.message
    instances.respond(svc, w.controller, w.company, d, occurrence=first, answer="Approve")
    n = audit_count(svc)
    instances.respond(svc, w.controller, w.company, d, occurrence=first, answer="Approve")  # RESP-4 no-op
    assert audit_count(svc) == n
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=first, answer="Reject")
    assert (e.value.code, e.value.rule) == ("already_responded", "RESP-4")
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.cfo, w.company, d, occurrence=first, answer="Approve")
    assert (e.value.code, e.value.rule) == ("stale", "RESP-2")


@pytest.mark.rule("STEP-4", "RESP-4")
def test_requires_all_needs_every_approval_and_one_reject_decides(svc) -> None:
    """STEP-4, RESP-4: identical resubmit is a no-op, a different one is refused."""
    w, execs = exec_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    o = occ(w, d)
    instances.respond(svc, execs[0], w.company, d, occurrence=o, answer="Approve")
    n = audit_count(svc)
    instances.respond(svc, execs[0], w.company, d, occurrence=o, answer="Approve")  # no-op
    assert audit_count(svc) == n
    with pytest.raises(DomainError) as e:
        instances.respond(svc, execs[0], w.company, d, occurrence=o, answer="Reject")
    assert e.value.rule == "RESP-4"
    instances.respond(svc, execs[1], w.company, d, occurrence=o, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "Executive Review"
    instances.respond(svc, execs[2], w.company, d, occurrence=o, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"

    d2 = new(w)
    instances.respond(svc, w.controller, w.company, d2, occurrence=occ(w, d2), answer="Approve")
    instances.respond(svc, execs[0], w.company, d2, occurrence=occ(w, d2), answer="Approve")
    instances.respond(svc, execs[1], w.company, d2, occurrence=occ(w, d2), answer="Reject")
    assert instances.view(svc, w.admin, w.company, d2).workflow_status == "Rejected"


@pytest.mark.rule("STEP-4", "STEP-10")
def test_return_answer_loops_with_a_fresh_due_date(svc, clock) -> None:
    """STEP-4 (Return decides at once), STEP-10: each occurrence gets its own due date."""
    w, execs = exec_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    clock.advance(days=4)
    instances.respond(svc, execs[2], w.company, d, occurrence=occ(w, d), answer="Return")
    view = instances.view(svc, w.admin, w.company, d)
    assert view.path == ("Controller Review", "Executive Review", "Controller Review")
    assert view.overdue_steps == ()


@pytest.mark.rule("STEP-2", "MGR-7", "ROLE-8")
def test_empty_assignees_block_until_manager_adds(svc) -> None:
    """STEP-2, MGR-7: Blocked, manager and Admins emailed; adding assignees unblocks."""
    w = build_world(svc)
    d = new(w, "200000.00")
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER)  # the CFO leaves meanwhile
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    view = instances.view(svc, w.admin, w.company, d)
    assert view.blocked and view.current_step == "CFO Review" and view.awaited == ()
    with svc.db.sessions() as s:
        blocked_to = {r.recipients[0] for r in s.scalars(select(OutboxEmail).where(OutboxEmail.event == "blocked"))}
    assert blocked_to == {"manager@gc.example", "admin@gc.example"}
    with pytest.raises(DomainError) as e:
        instances.add_assignees(svc, w.manager, w.company, d, users=[w.creator], reason="other")
    assert e.value.rule == "MGR-7"  # `other` needs a comment
    with pytest.raises(DomainError) as e:
        instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="vacation")
    assert e.value.rule == "ROLE-8"
    instances.add_assignees(svc, w.manager, w.company, d, users=[w.creator], reason="vacation",
                            message="please cover for the CFO")
    view = instances.view(svc, w.admin, w.company, d)
    assert not view.blocked and view.awaited == (w.creator,)
    instances.respond(svc, w.creator, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"


@pytest.mark.rule("MGR-8", "STEP-5")
def test_replaced_assignees_can_no_longer_respond(svc) -> None:
    """MGR-8, STEP-5."""
    w = build_world(svc)
    d = new(w)
    instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="left_company",
                            replacing=[w.controller])
    assert instances.view(svc, w.admin, w.company, d).awaited == (w.cfo,)  # STEP-5: the replaced one is not awaited
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    assert e.value.rule == "RESP-1"
    instances.respond(svc, w.cfo, w.company, d, occurrence=occ(w, d), answer="Reject")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Rejected"


@pytest.mark.rule("MGR-1", "MGR-3", "MGR-9")
def test_manager_actions_need_the_manager_and_a_reason(svc) -> None:
    """MGR-1, MGR-3."""
    w = build_world(svc)
    d = new(w)
    with pytest.raises(DomainError) as e:
        instances.terminate(svc, w.admin, w.company, d, reason="x")
    assert e.value.rule == "MGR-1"
    with pytest.raises(DomainError) as e:
        instances.terminate(svc, w.manager, w.company, d, reason=" ")
    assert e.value.code == "reason_required"
    instances.terminate(svc, w.manager, w.company, d, reason="vendor dispute")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Not Started"  # MGR-9


@pytest.mark.rule("MGR-6")
def test_return_to_a_previous_step(svc) -> None:
    """MGR-6: only to a response step with a closed occurrence; later conditions re-evaluated."""
    w = build_world(svc)
    d = new(w, "200000.00")
    with pytest.raises(DomainError) as e:
        instances.return_to(svc, w.manager, w.company, d, step="CFO Review", reason="redo")
    assert e.value.rule == "MGR-6"
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="missing lien waiver")
    view = instances.view(svc, w.admin, w.company, d)
    assert view.current_step == "Controller Review" and view.awaited == (w.controller,)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"


@pytest.mark.rule("WF-12", "MGR-5")
def test_running_instance_keeps_its_version_until_restart(svc) -> None:
    """WF-12, MGR-5: publishing and reconfiguring affect only later instances; restart modes."""
    w = build_world(svc)
    d = new(w, "50000.00")
    lower = REFERENCE.replace("when disbursement_amount > $100,000.00", "when disbursement_amount > $10,000.00")
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(lower, "w.flow"))
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"  # old threshold
    instances.restart(svc, w.manager, w.company, d, reason="new policy", mode="current")
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"  # still the pinned version
    instances.restart(svc, w.manager, w.company, d, reason="new policy", mode="defaults")
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"  # the new version
    with svc.db.sessions() as s:
        assert audit.verify(s) == []


@pytest.mark.rule("END-1", "MGR-5")
def test_ended_instance_refuses_everything_but_restart(svc) -> None:
    """END-1."""
    w = build_world(svc)
    d = new(w)
    instances.respond(svc, w.controller, w.company, d, occurrence=occ(w, d), answer="Reject")
    for call in (lambda: instances.terminate(svc, w.manager, w.company, d, reason="x"),
                 lambda: instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason="x"),
                 lambda: instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="vacation")):
        with pytest.raises(DomainError) as e:
            call()
        assert e.value.code == "instance_not_active"
    instances.restart(svc, w.manager, w.company, d, reason="fixed the invoice")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"


@pytest.mark.rule("MGR-2")
def test_admin_reassigns_an_ineligible_manager(svc) -> None:
    """MGR-2."""
    w = build_world(svc)
    d = new(w)
    with pytest.raises(DomainError) as e:
        instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="x")
    assert e.value.code == "manager_still_eligible"
    revoke_role(svc, w.admin, w.company, w.manager, PAYMENTS_DISBURSER)
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="manager left")
    instances.terminate(svc, w.cfo, w.company, d, reason="now I can")


@pytest.mark.rule("STEP-9")
def test_overdue_steps_are_known(svc, clock) -> None:
    """STEP-9: overdue from 00:00 company time the day after the due date."""
    w = build_world(svc)
    d = new(w)
    clock.advance(days=5)
    assert instances.view(svc, w.admin, w.company, d).overdue_steps == ()
    clock.advance(days=1)
    assert instances.view(svc, w.admin, w.company, d).overdue_steps == ("Controller Review",)


@pytest.mark.rule("STEP-4")
def test_a_requires_all_step_without_approve_fails_its_checks_and_is_not_published(svc) -> None:
    no_approve = EXEC.replace('''        requires: all
        due: 3 business days
        on "Approve" -> "Approved"
''', '''        requires: all
        due: 3 business days
''')
    assert no_approve != EXEC
    loaded = load_workflow(no_approve, "w.flow")
    assert [d.code for d in loaded.errors()] == ["response_all_without_approve"]
    w = build_world(svc)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, loaded)
    assert [d.code for d in e.value.diagnostics] == ["response_all_without_approve"]
    assert [v.label for v in templates.list_versions(svc, w.admin, w.company, w.template)] == ["1.0"]
