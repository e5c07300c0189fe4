"""Templates, versions, configuration and the default (WF-1..WF-14, ROLE-7, ROLE-8)."""

from __future__ import annotations

import pytest

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import CAN_BE_MANAGER, EDIT_TEMPLATES, PAYMENTS_DISBURSER
from engine.service import directory, templates
from engine.service.templates import PublishRefused
from engine.store.tables import Company
from tests.roles import grant_role, revoke_role
from tests.world import REFERENCE, build_world

BROKEN = REFERENCE.replace('on "Approve" -> "Approved"', 'on "Approve" -> "Aproved"')


def src(text: str = REFERENCE):
    return load_workflow(text, "workflow.flow")


@pytest.mark.rule("WF-2")
def test_names_are_unique_ignoring_case(svc) -> None:
    """WF-2."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        templates.create_template(svc, w.admin, w.company, "PAYMENTS")
    assert (e.value.code, e.value.rule) == ("duplicate_name", "WF-2")
    other = templates.create_template(svc, w.admin, w.company, "Large payments").id
    with pytest.raises(DomainError):
        templates.rename(svc, w.admin, w.company, other, "payments")


@pytest.mark.rule("WF-3", "WF-4")
def test_versions_number_drafts_minor_and_publishes_major(svc) -> None:
    """WF-3, WF-4: 0.1, 0.2 … 1.0, 1.1, 2.0; only the newest published one is active."""
    w = build_world(svc, configure=False)
    t = templates.create_template(svc, w.admin, w.company, "Second").id
    assert templates.save_draft(svc, w.admin, w.company, t, src(BROKEN)).label == "0.1"  # drafts may fail
    assert templates.save_draft(svc, w.admin, w.company, t, src()).label == "0.2"
    v1 = templates.publish(svc, w.admin, w.company, t, src())
    assert (v1.label, v1.state) == ("1.0", "active") and v1.content_hash.startswith("sha256:")
    assert templates.save_draft(svc, w.admin, w.company, t, src()).label == "1.1"
    v2 = templates.publish(svc, w.admin, w.company, t, src(REFERENCE.replace("$100,000.00 ->", "$50,000.00 ->")))
    states = [(v.label, v.state) for v in templates.list_versions(svc, w.admin, w.company, t)]
    assert states == [("0.1", "draft"), ("0.2", "draft"), ("1.0", "inactive"), ("1.1", "draft"), ("2.0", "active")]
    assert v2.content_hash != v1.content_hash


@pytest.mark.rule("WF-5")
def test_publish_refuses_a_workflow_with_errors_listing_them(svc) -> None:
    """WF-5: the publish error lists the diagnostics; nothing is created."""
    w = build_world(svc, configure=False)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, src(BROKEN))
    assert [d.code for d in e.value.diagnostics] == ["name_unknown_step"]
    assert e.value.rule == "WF-5"
    assert [v.label for v in templates.list_versions(svc, w.admin, w.company, w.template)] == ["1.0"]


@pytest.mark.rule("WF-5")
def test_a_hand_written_json_config_gets_the_same_checks(svc) -> None:
    """WF-5: a JSON config is checked like a .flow file."""
    from engine.spec.export import document_text

    w = build_world(svc, configure=False)
    broken_json = document_text(load_workflow(BROKEN, "w.flow").config)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, load_workflow(broken_json, "w.json"))
    assert [d.code for d in e.value.diagnostics] == ["name_unknown_step"]


@pytest.mark.rule("ROLE-7")
def test_editing_templates_needs_the_workflow_permission(svc) -> None:
    """ROLE-7: Create and Edit Workflow Templates is its own permission."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        templates.create_template(svc, w.controller, w.company, "Mine")
    assert e.value.code == "permission_denied" and "Create and Edit Workflow Templates" in e.value.message
    grant_role(svc, w.admin, w.company, w.controller, EDIT_TEMPLATES)
    templates.create_template(svc, w.controller, w.company, "Mine")


@pytest.mark.rule("WF-6", "WF-7", "WF-8", "WF-9", "ROLE-8")
def test_configured_needs_manager_and_every_role_resolved(svc) -> None:
    """WF-7, WF-8, ROLE-8: Not Configured until an eligible manager and every role resolve."""
    w = build_world(svc, configure=False)
    ok, problems = templates.is_configured(svc, w.admin, w.company, w.template)
    assert not ok and "it names no workflow manager" in problems
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller]})
    ok, problems = templates.is_configured(svc, w.admin, w.company, w.template)
    assert problems == ["role `CFO` resolves to no eligible user"]
    outsider = directory.create_user(svc, "out@elsewhere.example", "Out").id
    directory.add_member(svc, w.admin, w.company, "out@elsewhere.example")  # a member without any role
    templates.configure(svc, w.admin, w.company, w.template, manager=outsider,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    ok, problems = templates.is_configured(svc, w.admin, w.company, w.template)
    assert problems == ["its workflow manager is not an eligible user with Can Be Workflow Manager"]
    with pytest.raises(DomainError) as e:
        templates.set_default(svc, w.admin, w.company, w.template)
    assert e.value.rule == "WF-9"


@pytest.mark.rule("WF-6")
def test_groups_fill_roles(svc) -> None:
    """WF-6: a role may be bound to a group; STEP-1 resolves its members."""
    w = build_world(svc, configure=False)
    g = directory.create_group(svc, w.admin, w.company, "Finance", [w.controller, w.cfo]).id
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        groups={"Controller": [g], "CFO": [g]})
    assert templates.is_configured(svc, w.admin, w.company, w.template) == (True, [])


@pytest.mark.rule("WF-9", "WF-14")
def test_one_default_at_a_time_and_it_cannot_be_archived(svc) -> None:
    """WF-9, WF-14."""
    w = build_world(svc)
    t2 = templates.create_template(svc, w.admin, w.company, "Other").id
    templates.publish(svc, w.admin, w.company, t2, src())
    templates.configure(svc, w.admin, w.company, t2, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    with pytest.raises(DomainError) as e:
        templates.archive(svc, w.admin, w.company, w.template)
    assert e.value.rule == "WF-14"
    templates.set_default(svc, w.admin, w.company, t2)
    with svc.db.sessions() as s:
        assert s.get(Company, w.company).default_template_id == t2  # the one default, replacing the old
    templates.archive(svc, w.admin, w.company, w.template)  # no longer the default
    with pytest.raises(DomainError) as e:
        templates.publish(svc, w.admin, w.company, w.template, src())
    assert (e.value.code, e.value.rule) == ("template_archived", "WF-14")
    with pytest.raises(DomainError) as e:
        templates.set_default(svc, w.admin, w.company, w.template)
    assert (e.value.code, e.value.rule) == ("template_not_configured", "WF-9")  # archived: not Configured
    with svc.db.sessions() as s:
        assert s.get(Company, w.company).default_template_id == t2


@pytest.mark.rule("ROLE-1")
def test_only_admins_choose_the_default(svc) -> None:
    """ROLE-1."""
    w = build_world(svc)
    with pytest.raises(DomainError) as e:
        templates.set_default(svc, w.creator, w.company, w.template)
    assert e.value.code == "permission_denied"


@pytest.mark.rule("GEN-5")
def test_another_companys_template_is_not_found(svc) -> None:
    """GEN-5."""
    w = build_world(svc)
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    with pytest.raises(DomainError) as e:
        templates.publish(svc, boss, other, w.template, src())
    assert e.value.code == "not_found"


@pytest.mark.rule("ROLE-7", "ROLE-8", "WF-7")
def test_manager_needs_can_be_workflow_manager(svc) -> None:
    """ROLE-8: the manager also needs Can Be Workflow Manager."""
    w = build_world(svc, configure=False)
    templates.configure(svc, w.admin, w.company, w.template, manager=w.cfo,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    assert not templates.is_configured(svc, w.admin, w.company, w.template)[0]
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    assert templates.is_configured(svc, w.admin, w.company, w.template)[0]
    revoke_role(svc, w.admin, w.company, w.cfo, PAYMENTS_DISBURSER)
    assert not templates.is_configured(svc, w.admin, w.company, w.template)[0]
