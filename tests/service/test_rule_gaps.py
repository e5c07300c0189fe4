"""Rules the ledger review (issue 7) found named by a test but asserted by none: each test
here asserts behaviour the engine already has, through its public functions, so that
docs/rules.md can call the rule tested."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import EDIT_TEMPLATES, VIEW_TEMPLATES
from engine.service import audit, directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.service.templates import PublishRefused
from engine.store.tables import Disbursement, OutboxEmail, Template
from tests.roles import grant_role
from tests.world import REFERENCE, build_world


def _create(w, amount: str = "10.00") -> str:
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=[PaymentLine(w.invoice(amount))]).id


def _mail(svc, event: str) -> list[str]:
    with svc.db.sessions() as s:
        return sorted(r.recipients[0] for r in s.scalars(select(OutboxEmail).where(OutboxEmail.event == event)))


@pytest.mark.rule("WF-1")
def test_a_company_keeps_more_than_five_templates(svc) -> None:
    w = build_world(svc)
    for n in range(6):
        t = templates.create_template(svc, w.admin, w.company, f"Payments {n}").id
        templates.publish(svc, w.admin, w.company, t, load_workflow(REFERENCE, "w.flow"))
    with svc.db.sessions() as s:
        names = sorted(s.scalars(select(Template.name).where(Template.company_id == w.company)))
    assert len(names) == 7 and names[1:] == [f"Payments {n}" for n in range(6)]


@pytest.mark.rule("WF-11")
def test_a_new_instance_runs_the_defaults_newest_published_version(svc) -> None:
    w = build_world(svc)
    lower = REFERENCE.replace("disbursement_amount > $100,000.00", "disbursement_amount > $10,000.00")
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(lower, "w.flow"))
    d = _create(w, "50000.00")
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"


@pytest.mark.rule("WF-5")
def test_warnings_do_not_stop_a_publish(svc) -> None:
    w = build_world(svc, configure=False)
    spare = REFERENCE.rstrip().removesuffix("}") + '    end "Spare" failure {\n        status: "Rejected"\n    }\n}\n'
    loaded = load_workflow(spare, "w.flow")
    assert [(d.severity, d.code) for d in loaded.diagnostics] == [("warning", "graph_unreachable_step")]
    assert templates.publish(svc, w.admin, w.company, w.template, loaded).label == "2.0"


@pytest.mark.rule("ROLE-7")
def test_view_workflow_templates_reads_but_does_not_edit(svc) -> None:
    """A payment role gives no template rights; each workflow permission gives its own."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        templates.list_versions(svc, w.controller, w.company, w.template)
    assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-7")
    grant_role(svc, w.admin, w.company, w.controller, VIEW_TEMPLATES)
    assert [v.label for v in templates.list_versions(svc, w.controller, w.company, w.template)] == ["1.0"]
    with pytest.raises(DomainError) as e:
        templates.publish(svc, w.controller, w.company, w.template, load_workflow(REFERENCE, "w.flow"))
    assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-7")
    grant_role(svc, w.admin, w.company, w.controller, EDIT_TEMPLATES)
    other = templates.create_template(svc, w.controller, w.company, "Controller's").id
    templates.publish(svc, w.controller, w.company, other, load_workflow(REFERENCE, "w.flow"))


@pytest.mark.rule("STEP-1")
def test_a_user_reached_twice_is_one_assignee(svc) -> None:
    """The Controller is bound to the role directly and through a group: awaited once."""
    w = build_world(svc, configure=False)
    g = directory.create_group(svc, w.admin, w.company, "Finance", [w.controller, w.cfo]).id
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]}, groups={"Controller": [g]})
    templates.set_default(svc, w.admin, w.company, w.template)
    d = _create(w)
    assert sorted(instances.view(svc, w.admin, w.company, d).awaited) == sorted([w.controller, w.cfo])
    assert _mail(svc, "step_entered").count("controller@gc.example") == 1


@pytest.mark.rule("STEP-6")
def test_an_answer_offered_twice_is_refused_at_publish(svc) -> None:
    w = build_world(svc, configure=False)
    twice = REFERENCE.replace('on "Reject" -> "Rejected"\n', 'on "Reject" -> "Rejected"\n        on "Reject" -> "Approved"\n', 1)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, load_workflow(twice, "w.flow"))
    assert [d.code for d in e.value.diagnostics] == ["response_duplicate_answer"]


@pytest.mark.rule("STEP-8")
@pytest.mark.parametrize("due", ["0 calendar days", "1.5 business days"])
def test_a_due_period_that_is_not_a_positive_whole_number_is_refused(svc, due: str) -> None:
    w = build_world(svc, configure=False)
    bad = REFERENCE.replace("due: 5 calendar days", f"due: {due}", 1)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, load_workflow(bad, "w.flow"))
    assert {d.code for d in e.value.diagnostics} == {"due_days_invalid"}
    business = REFERENCE.replace("due: 5 calendar days", "due: 3 business days", 1)
    assert templates.publish(svc, w.admin, w.company, w.template, load_workflow(business, "w.flow")).label == "2.0"


@pytest.mark.rule("STEP-11")
def test_assignees_are_emailed_whether_or_not_the_step_names_them(svc) -> None:
    w = build_world(svc, REFERENCE.replace("notify: assignees, manager, creator", "notify: creator", 1))
    _create(w)
    assert _mail(svc, "step_entered") == ["controller@gc.example", "creator@gc.example"]


@pytest.mark.rule("DSB-1")
def test_one_invoice_is_paid_once_per_disbursement(svc) -> None:
    w = build_world(svc)
    inv = w.invoice("10.00")
    with pytest.raises(DomainError) as e:
        disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(inv), PaymentLine(inv)])
    assert (e.value.code, e.value.rule) == ("invalid_disbursement", "DSB-1")


@pytest.mark.rule("DSB-9", "ST-2")
def test_without_a_configured_default_the_workflow_status_is_not_started(svc) -> None:
    w = build_world(svc, configure=False)
    d = _create(w)
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert (row.workflow_applies, row.workflow_status) == (True, "Not Started")


@pytest.mark.rule("MGR-3", "AUD-6")
def test_a_manager_action_is_audited_with_its_reason_and_emails_those_it_affects(svc) -> None:
    w = build_world(svc)
    d = _create(w)
    for blank in ("", "  "):
        with pytest.raises(DomainError) as e:
            instances.restart(svc, w.manager, w.company, d, reason=blank)
        assert e.value.code == "reason_required"
        with pytest.raises(DomainError) as e:
            instances.return_to(svc, w.manager, w.company, d, step="Controller Review", reason=blank)
        assert e.value.code == "reason_required"
    instances.terminate(svc, w.manager, w.company, d, reason="vendor dispute")
    with svc.db.sessions() as s:
        done = [e for e in audit.entries(s, audit.disbursement_chain(d)) if e.action == "terminated"]
    assert [(e.actor_id, e.details["reason"]) for e in done] == [(w.manager, "vendor dispute")]
    assert _mail(svc, "manager_action") == ["controller@gc.example", "creator@gc.example", "manager@gc.example"]
    instances.start(svc, w.manager, w.company, d)
    disbursements.cancel(svc, w.creator, w.company, d, reason="duplicate")
    with pytest.raises(DomainError) as e:
        instances.restart(svc, w.manager, w.company, d, reason="try again")
    assert e.value.code == "disbursement_canceled"


@pytest.mark.rule("MGR-7", "AUD-6")
def test_added_assignees_get_the_managers_message(svc) -> None:
    w = build_world(svc)
    d = _create(w)
    instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="vacation",
                            message="please cover for the Controller")
    with svc.db.sessions() as s:
        rows = list(s.scalars(select(OutboxEmail).where(OutboxEmail.event == "assignees_added")))
    assert [r.recipients[0] for r in rows] == ["cfo@gc.example"]
    assert "Message: please cover for the Controller" in rows[0].body
    assert sorted(instances.view(svc, w.admin, w.company, d).awaited) == sorted([w.controller, w.cfo])
