"""The company's default template is an Admin's to change (ROLE-1), and it stays Configured (WF-9).

A template editor who is also a Disburser must not be able to raise the CFO
threshold of the workflow every new disbursement runs, or name themself CFO.
"""

from __future__ import annotations

import pytest

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import EDIT_TEMPLATES
from engine.service import templates
from engine.store.tables import Template
from tests.roles import grant_role
from tests.world import REFERENCE, build_world

LAX = REFERENCE.replace("$100,000.00", "$900,000.00")


def src(text: str = REFERENCE):
    return load_workflow(text, "workflow.flow")


def state(w) -> tuple[object, ...]:
    """The default template as a new instance would see it: versions, name, configuration."""
    versions = tuple(templates.list_versions(w.svc, w.admin, w.company, w.template))
    with w.svc.db.sessions() as s:
        t = s.get(Template, w.template)
        return versions, t.name, templates.configuration(s, t).snapshot


@pytest.mark.rule("ROLE-1")
def test_only_an_admin_changes_the_default_template(svc) -> None:
    w = build_world(svc)
    grant_role(svc, w.admin, w.company, w.controller, EDIT_TEMPLATES)
    before = state(w)
    attempts = {
        "publishing a new version of the default template needs Payments Admin":
            lambda: templates.publish(svc, w.controller, w.company, w.template, src(LAX)),
        "configuring the default template needs Payments Admin":
            lambda: templates.configure(svc, w.controller, w.company, w.template, manager=w.manager,
                                        roles={"Controller": [w.controller], "CFO": [w.controller]}),
        "renaming the default template needs Payments Admin":
            lambda: templates.rename(svc, w.controller, w.company, w.template, "Mine now"),
    }
    for message, attempt in attempts.items():
        with pytest.raises(DomainError) as e:
            attempt()
        assert (e.value.code, e.value.rule, e.value.missing, e.value.message) == (
            "permission_denied", "ROLE-1", "Payments Admin", message)
    assert state(w) == before
    # drafts stay open to editors, and so does every other template
    draft = templates.save_draft(svc, w.controller, w.company, w.template, src(LAX))
    assert (draft.label, draft.state) == ("1.1", "draft")
    other = templates.create_template(svc, w.controller, w.company, "Small jobs").id
    templates.publish(svc, w.controller, w.company, other, src(LAX))
    templates.configure(svc, w.controller, w.company, other, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    templates.rename(svc, w.controller, w.company, other, "Small jobs (lax)")
    # the Admin may
    assert templates.publish(svc, w.admin, w.company, w.template, src(LAX)).label == "2.0"
    templates.rename(svc, w.admin, w.company, w.template, "Payments 2026")


@pytest.mark.rule("WF-9")
def test_configuring_the_default_cannot_leave_it_not_configured(svc) -> None:
    w = build_world(svc)
    before = state(w)
    for manager, roles, problem in (
        (None, {"Controller": [w.controller], "CFO": [w.cfo]}, "it names no workflow manager"),
        (w.manager, {"Controller": [w.controller]}, "role `CFO` resolves to no eligible user"),
    ):
        with pytest.raises(DomainError) as e:
            templates.configure(svc, w.admin, w.company, w.template, manager=manager, roles=roles)
        assert (e.value.code, e.value.rule) == ("template_not_configured", "WF-9")
        assert problem in e.value.message
    assert state(w) == before
    assert templates.is_configured(svc, w.admin, w.company, w.template) == (True, [])
    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.cfo], "CFO": [w.controller]})
    assert templates.is_configured(svc, w.admin, w.company, w.template) == (True, [])
