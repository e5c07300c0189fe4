"""Follow-ups of issue 7: the default template stays Configured whatever is published to it
(WF-9), instances keep running on a template archived under them (WF-14), and a person's
address and name are fit for an email header before they are stored (GEN-5, AUD-5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.service import directory, instances, templates
from engine.service.disbursements import PaymentLine, create_disbursement
from engine.store.tables import TemplateVersion, User
from tests.roles import grant_role
from tests.world import REFERENCE, build_world

#: the reference workflow with a third response step whose role the configuration does not fill
WITH_AUDITOR = REFERENCE.replace('assignees: role "CFO"', 'assignees: role "CFO", role "Auditor"')


def versions(svc, template: str) -> int:
    with svc.db.sessions() as s:
        return s.scalar(select(func.count(TemplateVersion.id)).where(TemplateVersion.template_id == template))


@pytest.mark.rule("WF-9")
def test_publishing_to_the_default_cannot_leave_it_not_configured(svc) -> None:
    w = build_world(svc)
    assert 'role "Auditor"' in WITH_AUDITOR
    before = versions(svc, w.template)
    with pytest.raises(DomainError) as e:
        templates.publish(svc, w.admin, w.company, w.template, load_workflow(WITH_AUDITOR, "workflow.flow"))
    assert (e.value.code, e.value.rule) == ("template_not_configured", "WF-9")
    assert "role `Auditor` resolves to no eligible user" in e.value.message
    assert versions(svc, w.template) == before
    assert templates.is_configured(svc, w.admin, w.company, w.template) == (True, [])
    # the same version on a template that is not the default is fine: it is simply Not Configured
    other = templates.create_template(svc, w.admin, w.company, "Draft flow").id
    templates.publish(svc, w.admin, w.company, other, load_workflow(WITH_AUDITOR, "workflow.flow"))
    assert templates.is_configured(svc, w.admin, w.company, other)[0] is False


@pytest.mark.rule("WF-14")
def test_an_instance_keeps_running_on_a_template_archived_under_it(svc) -> None:
    w = build_world(svc)
    d = create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                            payments=[PaymentLine(w.invoice("150000.00"))]).id
    t2 = templates.create_template(svc, w.admin, w.company, "Next year").id
    templates.publish(svc, w.admin, w.company, t2, load_workflow(REFERENCE, "workflow.flow"))
    templates.configure(svc, w.admin, w.company, t2, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    templates.set_default(svc, w.admin, w.company, t2)
    templates.archive(svc, w.admin, w.company, w.template)
    view = instances.view(svc, w.admin, w.company, d)
    first = instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert (first.workflow_status, first.current_step) == ("Under Review", "CFO Review")
    done = instances.respond(svc, w.cfo, w.company, d, occurrence=first.current_occurrence, answer="Approve")
    assert done.workflow_status == "Approved"
    # ...but it starts nothing new: a restart in `current` mode counts as a start
    with pytest.raises(DomainError) as e:
        instances.restart(svc, w.manager, w.company, d, reason="again", mode="current")
    assert (e.value.code, e.value.rule) == ("template_archived", "WF-14")


@pytest.mark.rule("GEN-5", "AUD-5")
@pytest.mark.parametrize("email", [
    "ana@gc.example\r\nBcc: all@elsewhere.example", "ana@gc.example, eve@elsewhere.example",
    "ana@gc", "@gc.example", "ana@", "ana gc@gc.example", "<ana@gc.example>", "ana\x00@gc.example",
    "a" * 320 + "@gc.example",
])
def test_an_address_that_is_not_one_plain_address_is_refused(svc, email: str) -> None:
    with pytest.raises(DomainError) as e:
        directory.create_user(svc, email, "Ana")
    assert e.value.code == "invalid_email"
    assert "\r" not in e.value.message and "\n" not in e.value.message
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(User.id))) == 0


@pytest.mark.rule("GEN-5")
def test_a_name_is_printable_text(svc) -> None:
    for name in ("", "   ", "Ana\nBcc: eve@elsewhere.example", "x" * 201):
        with pytest.raises(DomainError) as e:
            directory.create_user(svc, "ana@gc.example", name)
        assert e.value.code == "invalid_name"
    assert directory.create_user(svc, "  Ana@GC.example ", "Ana Lima").id
    with svc.db.sessions() as s:
        assert s.scalars(select(User.email)).all() == ["ana@gc.example"]


@pytest.mark.rule("GEN-5", "ROLE-11")
def test_people_and_permission_refusals_name_their_rule(svc) -> None:
    """GEN-5: creating people (address, name, one user per address) and a company whose first
    admin is nobody are refused under the people-and-membership rule; ROLE-11: granting a
    permission that does not exist is refused under the granting rule. Every refusal names
    the rule it enforces, so a client can be told why."""
    ana = directory.create_user(svc, "ana@gc.example", "Ana").id
    company = directory.create_company(svc, "GC", first_admin=ana).id
    calls = {
        "invalid_email": lambda: directory.create_user(svc, "not an address", "Bo"),
        "invalid_name": lambda: directory.create_user(svc, "bo@gc.example", "  "),
        "duplicate_user": lambda: directory.create_user(svc, "ANA@gc.example", "Ana Again"),
        "not_found": lambda: directory.create_company(svc, "Nobody's GC", first_admin="0" * 32),
        "invalid_permission": lambda: grant_role(svc, ana, company, ana, "Payments Emperor"),
    }
    refusals = {}
    for code, call in calls.items():
        with pytest.raises(DomainError) as e:
            call()
        refusals[code] = (e.value.code, e.value.rule)
    assert refusals == {
        "invalid_email": ("invalid_email", "GEN-5"),
        "invalid_name": ("invalid_name", "GEN-5"),
        "duplicate_user": ("duplicate_user", "GEN-5"),
        "not_found": ("not_found", "GEN-5"),
        "invalid_permission": ("invalid_permission", "ROLE-11"),
    }
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(User.id))) == 1
