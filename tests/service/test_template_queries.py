"""The template read queries: list_templates (pages), read_template (versions, configuration, the
model in force) and published_workflow (what /v1/evaluate routes through), with who may read them."""

from __future__ import annotations

import pytest

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import CAN_BE_MANAGER, EDIT_TEMPLATES, VIEW_TEMPLATES
from engine.service import directory, templates
from engine.service.templates import PublishedWorkflow, TemplateDetail, VersionInfo
from engine.spec.compiler import compile_workflow
from engine.spec.evaluator import evaluate
from engine.spec.facts import compute_facts
from tests.roles import grant_role
from tests.world import REFERENCE, World, build_world

#: the reference workflow with the CFO threshold moved (another content hash, another route)
LOWER = REFERENCE.replace("100000.00", "50000.00").replace("100,000.00", "50,000.00")


def _member(w: World, name: str, *grants: str) -> str:
    user = directory.create_user(w.svc, f"{name}@gc.example", name.title()).id
    directory.add_member(w.svc, w.admin, w.company, f"{name}@gc.example")
    for permission in grants:
        grant_role(w.svc, w.admin, w.company, user, permission)
    return user


def _refused(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args, **kwargs)
    return e.value


def _stranger(w: World) -> tuple[str, str]:
    boss = directory.create_user(w.svc, "boss@other.example", "Boss").id
    return boss, directory.create_company(w.svc, "Other GC", first_admin=boss).id


@pytest.mark.rule("ROLE-7", "GEN-5", "WF-1")
def test_templates_page_oldest_first_for_template_readers_only(svc, clock) -> None:
    w = build_world(svc)
    made = [w.template]
    for i in range(6):
        clock.advance(seconds=1)
        made.append(templates.create_template(svc, w.admin, w.company, f"T{i}").id)
    templates.archive(svc, w.admin, w.company, made[3])
    seen, after, pages = [], None, 0
    while True:
        page = templates.list_templates(svc, w.admin, w.company, after=after, limit=4)
        seen += page.items
        pages += 1
        after = page.next_after
        if after is None:
            break
    assert [t.id for t in seen] == made and pages == 2
    assert seen[0].is_default and seen[0].configured and seen[3].archived
    for actor in (_member(w, "viewer", VIEW_TEMPLATES), _member(w, "editor", EDIT_TEMPLATES)):
        assert templates.list_templates(svc, actor, w.company, limit=200).items == tuple(seen)
    for actor in (w.creator, w.manager):  # a Disburser, a manager: no template permission
        e = _refused(templates.list_templates, svc, actor, w.company)
        assert (e.code, e.rule) == ("permission_denied", "ROLE-7")
        assert "View Workflow Templates" in e.missing
    boss, other = _stranger(w)
    assert _refused(templates.list_templates, svc, boss, w.company).code == "not_found"
    assert templates.list_templates(svc, boss, other).items == ()
    assert _refused(templates.list_templates, svc, boss, other, after=w.template).code == "invalid_value"


@pytest.mark.rule("WF-3", "WF-4", "WF-6", "ROLE-7", "GEN-5")
def test_read_template_has_its_versions_configuration_and_the_model_in_force(svc) -> None:
    w = build_world(svc)
    panel = directory.create_group(svc, w.admin, w.company, "Panel", [w.cfo]).id
    t = templates.create_template(svc, w.admin, w.company, "Capital").id
    empty = templates.read_template(svc, w.admin, w.company, t)
    assert (empty.versions, empty.roles, empty.groups, empty.active_config) == ((), {}, {}, None)
    assert empty.template.problems == ("it has no published version",)
    draft = templates.save_draft(svc, w.admin, w.company, t, load_workflow("workflow broken", "x.flow"))
    first = templates.publish(svc, w.admin, w.company, t, load_workflow(REFERENCE, "x.flow"))
    second = templates.publish(svc, w.admin, w.company, t, load_workflow(LOWER, "x.flow"))
    templates.configure(svc, w.admin, w.company, t, manager=w.manager, roles={"Controller": [w.controller]},
                        groups={"CFO": [panel]})
    detail = templates.read_template(svc, _member(w, "viewer", VIEW_TEMPLATES), w.company, t)
    assert isinstance(detail, TemplateDetail) and detail.id == t
    assert [(v.label, v.state) for v in detail.versions] == [("0.1", "draft"), ("1.0", "inactive"),
                                                             ("2.0", "active")]
    assert detail.versions == (VersionInfo(draft.id, "0.1", "draft", None),
                               VersionInfo(first.id, "1.0", "inactive", first.content_hash), second)
    assert (detail.roles, detail.groups) == ({"Controller": (w.controller,)}, {"CFO": (panel,)})
    assert detail.template.active_version == "2.0" and detail.template.configured
    assert detail.active_config is not None
    assert compile_workflow(detail.active_config).content_hash == second.content_hash
    assert _refused(templates.read_template, svc, w.creator, w.company, t).code == "permission_denied"
    boss, other = _stranger(w)
    assert _refused(templates.read_template, svc, boss, w.company, t).code == "not_found"
    assert _refused(templates.read_template, svc, boss, other, t).code == "not_found"  # another company's
    assert _refused(templates.read_template, svc, w.admin, w.company, "nope").code == "not_found"


@pytest.mark.rule("ROLL-6", "WF-4", "GEN-5", "ROLE-7")
def test_published_workflow_is_the_version_in_force_or_the_one_named(svc) -> None:
    w = build_world(svc)
    first = templates.list_versions(svc, w.admin, w.company, w.template)[0]
    second = templates.publish(svc, w.admin, w.company, w.template, load_workflow(LOWER, "x.flow"))
    templates.save_draft(svc, w.admin, w.company, w.template, load_workflow(REFERENCE, "x.flow"))  # 2.1
    now = templates.published_workflow(svc, w.admin, w.template)
    assert isinstance(now, PublishedWorkflow)
    assert (now.id, now.label, now.state, now.content_hash, now.company_id, now.template_id) == (
        second.id, "2.0", "active", second.content_hash, w.company, w.template)
    assert now.compiled.content_hash == second.content_hash
    old = templates.published_workflow(svc, _member(w, "viewer", VIEW_TEMPLATES), w.template, "1.0")
    assert (old.label, old.state, old.content_hash) == ("1.0", "inactive", first.content_hash)
    assert templates.published_workflow(svc, w.admin, w.template).compiled is now.compiled  # cached by hash
    doc = _disbursement()  # $60,250.00: over $50,000.00, not over $100,000.00
    routes = [evaluate(p.compiled, compute_facts(doc, p.compiled.facts_used), {}, "Approve").path
              for p in (now, old)]
    assert "CFO Review" in routes[0] and "CFO Review" not in routes[1]
    for version in ("2.1", "3.0", "9.9"):  # a draft is not published; no such version
        assert _refused(templates.published_workflow, svc, w.admin, w.template, version).code == "not_found"
    assert _refused(templates.published_workflow, svc, w.admin, w.template, "v2").code == "invalid_value"
    empty = templates.create_template(svc, w.admin, w.company, "Empty").id
    assert _refused(templates.published_workflow, svc, w.admin, empty).code == "not_found"
    e = _refused(templates.published_workflow, svc, w.creator, w.template)
    assert (e.code, e.rule) == ("permission_denied", "ROLE-7")
    boss, _ = _stranger(w)
    deactivated = _member(w, "leaver", VIEW_TEMPLATES, CAN_BE_MANAGER)
    directory.set_user_active(svc, w.admin, w.company, deactivated, False)
    for actor, template in ((boss, w.template), (deactivated, w.template), (w.admin, "f" * 32), (w.admin, "x")):
        e = _refused(templates.published_workflow, svc, actor, template)
        assert (e.code, e.rule, e.message) == ("not_found", "GEN-5", "no such template"), actor


def _disbursement():
    """The reference batch's first disbursement (two invoices, $60,250.00 in all)."""
    import json

    from engine.spec.disbursement import Disbursement
    from tests.conftest import EXAMPLES

    line = (EXAMPLES / "reference" / "disbursements.jsonl").read_text(encoding="utf-8").splitlines()[0]
    return Disbursement.model_validate(json.loads(line))


@pytest.mark.rule("WF-3", "ROLE-7", "ROLE-1", "GEN-5")
def test_read_source_opens_the_latest_version_with_the_reader_s_powers(svc) -> None:
    w = build_world(svc)
    t = templates.create_template(svc, w.admin, w.company, "Capital").id
    empty = templates.read_source(svc, w.admin, w.company, t)
    assert (empty.label, empty.state, empty.kind, empty.text) == (None, None, None, None)
    assert empty.template.name == "Capital" and (empty.can_edit, empty.can_publish, empty.can_set_default) == \
        (True, True, True)
    templates.publish(svc, w.admin, w.company, t, load_workflow(REFERENCE, "x.flow"))
    templates.save_draft(svc, w.admin, w.company, t, load_workflow("workflow broken", "x.flow"))
    latest = templates.read_source(svc, w.admin, w.company, t)
    assert (latest.label, latest.state, latest.kind, latest.text) == ("1.1", "draft", "flow", "workflow broken")
    published = templates.read_source(svc, w.admin, w.company, w.template)
    assert (published.label, published.state, published.text) == ("1.0", "active", REFERENCE)
    editor = _member(w, "editor", EDIT_TEMPLATES)
    viewer = _member(w, "viewer", VIEW_TEMPLATES)
    mine = templates.read_source(svc, editor, w.company, t)
    assert (mine.can_edit, mine.can_publish, mine.can_set_default) == (True, True, False)
    default = templates.read_source(svc, editor, w.company, w.template)  # ROLE-1: the default is the Admin's
    assert default.template.is_default and (default.can_edit, default.can_publish) == (True, False)
    looking = templates.read_source(svc, viewer, w.company, t)
    assert (looking.can_edit, looking.can_publish, looking.can_set_default) == (False, False, False)
    assert looking.text == "workflow broken"
    templates.archive(svc, w.admin, w.company, t)
    assert not templates.read_source(svc, w.admin, w.company, t).can_edit  # WF-14
    assert _refused(templates.read_source, svc, w.creator, w.company, t).code == "permission_denied"
    boss, other = _stranger(w)
    assert _refused(templates.read_source, svc, boss, w.company, t).code == "not_found"
    assert _refused(templates.read_source, svc, boss, other, t).code == "not_found"
    assert _refused(templates.read_source, svc, w.admin, w.company, "nope").code == "not_found"
