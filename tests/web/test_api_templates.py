"""/v1/companies/{id}/workflow-templates and POST /v1/evaluate with a template, through the HTTP API
(Flask's test client) on a real database: SQLite, and PostgreSQL when PAYROUTE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.security.permissions import CAN_BE_MANAGER, EDIT_TEMPLATES, VIEW_TEMPLATES
from engine.service import directory, templates
from tests.web.test_api_directory import Api, _pages
from tests.web.test_problems import assert_problem

#: the reference workflow with the CFO threshold at $50,000.00 (another version, another route)
LOWER_AT = ("100,000.00", "50,000.00")


@pytest.fixture
def api(make_app, database_url) -> Api:
    return Api(make_app(PAYROUTE_DATABASE_URL=database_url))


def _summary(tid: str, name: str, **changes: Any) -> dict[str, Any]:
    return {"id": tid, "name": name, "archived": False, "is_default": False, "manager_id": None,
            "active_version": None, "configured": False, "problems": ["it has no published version"], **changes}


def _t(api: Api, tid: str) -> str:
    return f"{api.c}/workflow-templates/{tid}"


@pytest.mark.rule("WF-1", "WF-2", "ROLE-7", "GEN-5", "GEN-8")
def test_create_list_and_rename_templates(api: Api) -> None:
    w = api.w
    made = api.admin.post(api.c + "/workflow-templates", json={"name": " Capital "},
                          headers={"Idempotency-Key": "t-1"})
    assert made.status_code == 201
    tid = made.get_json()["id"]
    assert made.get_json() == _summary(tid, "Capital")
    assert made.headers["Location"] == _t(api, tid)
    replay = api.admin.post(api.c + "/workflow-templates", json={"name": " Capital "},
                            headers={"Idempotency-Key": "t-1"})
    assert (replay.status_code, replay.get_json()) == (201, made.get_json())
    assert_problem(api.admin.post(api.c + "/workflow-templates", json={"name": "Other"},
                                  headers={"Idempotency-Key": "t-1"}), 422, "idempotency_conflict")
    assert_problem(api.admin.post(api.c + "/workflow-templates", json={"name": "capital"}), 409, "duplicate_name")
    editor = api.person("editor", EDIT_TEMPLATES)
    more = [api.client(editor).post(api.c + "/workflow-templates", json={"name": f"T{i}"}).get_json()["id"]
            for i in range(3)]
    viewer = api.client(api.person("viewer", VIEW_TEMPLATES))
    items, pages = _pages(viewer, api.c + "/workflow-templates", limit=2)
    assert len(items) == 5 and len({t["id"] for t in items}) == 5 and pages == 3
    assert {t["id"] for t in items} == {w.template, tid, *more}
    default = next(t for t in items if t["id"] == w.template)
    assert default == {"id": w.template, "name": "Payments", "archived": False, "is_default": True,
                       "manager_id": w.manager, "active_version": "1.0", "configured": True, "problems": []}

    renamed = api.client(editor).patch(_t(api, tid), json={"name": "Capital Projects"})
    assert (renamed.status_code, renamed.get_json()) == (200, _summary(tid, "Capital Projects"))
    # ROLE-1: only an Admin renames the default template
    assert_problem(api.client(editor).patch(_t(api, w.template), json={"name": "Mine"}), 403, "permission_denied")
    assert_problem(api.client(w.creator).get(api.c + "/workflow-templates"), 403, "permission_denied")
    assert_problem(viewer.post(api.c + "/workflow-templates", json={"name": "V"}), 403, "permission_denied")
    for bad, where in (({"name": 3}, "/name"), ({}, "/name"), ({"name": "X", "archived": True}, "/archived")):
        problem = assert_problem(api.admin.post(api.c + "/workflow-templates", json=bad), 422, "validation_failed")
        assert [e["pointer"] for e in problem["errors"]] == [where], bad
    boss, other = api.other_company()
    assert_problem(api.client(boss).get(api.c + "/workflow-templates"), 404, "not_found")
    assert_problem(api.client(boss).get(_t(api, tid)), 404, "not_found")
    assert_problem(api.client(boss).get(f"/v1/companies/{other}/workflow-templates/{tid}"), 404, "not_found")
    assert_problem(api.admin.patch(f"/v1/companies/{other}/workflow-templates/{tid}", json={"name": "Y"}),
                   403, "permission_denied")  # a command by a stranger: the engine's `require` refuses it


@pytest.mark.rule("WF-3", "WF-4", "WF-5", "WF-6", "WF-7", "WF-9", "WF-14", "GEN-8")
def test_draft_publish_configure_default_and_archive(api: Api, reference_flow: str) -> None:
    w = api.w
    tid = api.admin.post(api.c + "/workflow-templates", json={"name": "Capital"}).get_json()["id"]
    broken = reference_flow.replace('-> "CFO Review"', '-> "CFO Reveiw"')
    draft = api.admin.put(_t(api, tid) + "/draft", json={"flow": broken}, headers={"Idempotency-Key": "d-1"})
    assert draft.status_code == 200
    body = draft.get_json()
    assert {k: body[k] for k in ("label", "state", "content_hash")} == {"label": "0.1", "state": "draft",
                                                                          "content_hash": None}
    (diag,) = body["diagnostics"]
    assert (diag["code"], diag["line"], diag["column"], diag["severity"]) == ("name_unknown_step", 17, 51, "error")
    replay = api.admin.put(_t(api, tid) + "/draft", json={"flow": broken}, headers={"Idempotency-Key": "d-1"})
    assert (replay.status_code, replay.get_json()) == (200, body)

    refused = assert_problem(api.admin.post(_t(api, tid) + "/publish", json={"flow": broken},
                                            headers={"Idempotency-Key": "pub-0"}), 422, "workflow_invalid")
    (error,) = refused["errors"]
    assert (error["pointer"], error["code"], error["line"], error["column"]) == ("/flow", "name_unknown_step", 17, 51)
    assert "did you mean" in error["hint"] and refused["rule"] == "WF-5"
    syntax = assert_problem(api.admin.post(_t(api, tid) + "/publish", json={"flow": "workflow {\n"}),
                            422, "workflow_invalid")
    assert syntax["errors"][0]["line"] >= 1 and syntax["errors"][0]["pointer"] == "/flow"

    published = api.admin.post(_t(api, tid) + "/publish", json={"flow": reference_flow},
                               headers={"Idempotency-Key": "pub-1"})
    assert published.status_code == 200
    version = published.get_json()
    assert (version["label"], version["state"]) == ("1.0", "active") and version["content_hash"].startswith("sha256:")
    replay = api.admin.post(_t(api, tid) + "/publish", json={"flow": reference_flow},
                            headers={"Idempotency-Key": "pub-1"})
    assert (replay.status_code, replay.get_json()) == (200, version)
    assert [v["label"] for v in api.admin.get(_t(api, tid)).get_json()["versions"]] == ["0.1", "1.0"]  # one effect

    lower = reference_flow.replace(*LOWER_AT)
    second = api.admin.post(_t(api, tid) + "/publish", json={"flow": lower}).get_json()
    assert second["label"] == "2.0"
    assert_problem(api.admin.post(_t(api, tid) + "/default", json={}), 409, "template_not_configured")
    roles = {"Controller": [w.controller], "CFO": [w.cfo]}
    configured = api.admin.put(_t(api, tid) + "/configuration", json={"manager": w.manager, "roles": roles},
                               headers={"Idempotency-Key": "c-1"})
    assert configured.status_code == 200
    assert configured.get_json() == _summary(tid, "Capital", manager_id=w.manager, active_version="2.0",
                                             configured=True, problems=[])
    problem = assert_problem(api.admin.put(_t(api, tid) + "/configuration", json={"manager": w.manager,
                                                                                   "roles": {"CFO": w.cfo}}),
                             422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/roles/CFO"
    boss, _ = api.other_company()
    assert_problem(api.admin.put(_t(api, tid) + "/configuration", json={"manager": boss}), 404, "not_found")

    detail = api.client(api.person("viewer", VIEW_TEMPLATES)).get(_t(api, tid))
    assert detail.status_code == 200
    got = detail.get_json()
    assert got == {**configured.get_json(), "versions": [
        {"id": body["id"], "label": "0.1", "state": "draft", "content_hash": None},
        {**version, "state": "inactive"}, second],
        "roles": {"Controller": [w.controller], "CFO": [w.cfo]}, "groups": {}, "diagram": got["diagram"]}
    from dsl.diagram import render
    from dsl.load import load_workflow

    assert got["diagram"] == render(load_workflow(lower, "x.flow").config, "mermaid")
    assert "\nflowchart TD\n" in got["diagram"] and "50,000.00" in got["diagram"]

    made_default = api.admin.post(_t(api, tid) + "/default", json={}, headers={"Idempotency-Key": "def-1"})
    assert made_default.status_code == 200 and made_default.get_json()["is_default"] is True
    assert api.admin.get(api.c).get_json()["default_template_id"] == tid
    assert_problem(api.admin.post(_t(api, tid) + "/archive", json={}), 409, "template_is_default")
    archived = api.admin.post(_t(api, w.template) + "/archive", json={}, headers={"Idempotency-Key": "arc-1"})
    assert archived.status_code == 200
    assert (archived.get_json()["archived"], archived.get_json()["is_default"]) == (True, False)
    assert "it is archived" in archived.get_json()["problems"]
    assert_problem(api.admin.post(_t(api, w.template) + "/publish", json={"flow": reference_flow}),
                   409, "template_archived")
    problem = assert_problem(api.admin.post(_t(api, tid) + "/archive", json={"now": True}), 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/now"
    assert_problem(api.admin.post(_t(api, tid) + "/archive"), 415, "unsupported_media_type")  # the body is {}


@pytest.mark.rule("WF-5", "ROLE-1", "ROLE-7", "GEN-5")
def test_a_json_config_drafts_and_publishes_and_its_errors_point_into_it(api: Api, cli, reference_flow) -> None:
    w = api.w
    editor = api.client(api.person("editor", EDIT_TEMPLATES))
    config = json.loads(cli("compile", "-", stdin=reference_flow).out)
    tid = editor.post(api.c + "/workflow-templates", json={"name": "From JSON"}).get_json()["id"]
    broken = {**config, "start": "Nowhere"}
    refused = assert_problem(editor.post(_t(api, tid) + "/publish", json={"config": broken}), 422, "workflow_invalid")
    assert [e["pointer"] for e in refused["errors"]] == ["/config/start"]
    drafted = editor.put(_t(api, tid) + "/draft", json={"config": broken}).get_json()
    assert drafted["label"] == "0.1" and [d["pointer"] for d in drafted["diagnostics"]] == ["/start"]
    assert editor.post(_t(api, tid) + "/publish", json={"config": config}).get_json()["label"] == "1.0"
    # ROLE-1: the default template's new version is an Admin's to publish
    assert_problem(editor.post(_t(api, w.template) + "/publish", json={"config": config}), 403, "permission_denied")
    assert_problem(editor.post(_t(api, w.template) + "/default", json={}), 403, "permission_denied")
    for bad in ({}, {"flow": "x", "config": {}}, {"flow": 3}, {"text": "x"}):
        assert_problem(editor.put(_t(api, tid) + "/draft", json=bad), 422, "validation_failed")
    assert_problem(editor.put(f"{api.c}/workflow-templates/{'f' * 32}/draft", json={"config": config}),
                   404, "not_found")


# ---------------------------------------------------------------- evaluate with a template


def _evaluate(client: Any, workflow: dict[str, Any], documents: list[dict[str, Any]]) -> Any:
    return client.post("/v1/evaluate", json={"workflow": workflow, "disbursements": documents})


@pytest.mark.rule("ROLL-6", "WF-4", "GEN-5", "ROLE-7")
def test_evaluate_with_a_template_routes_like_its_flow_inline(api: Api, reference_flow,
                                                              reference_disbursements) -> None:
    w = api.w
    inline = _evaluate(api.admin, {"flow": reference_flow}, reference_disbursements)
    by_id = _evaluate(api.admin, {"template": w.template}, reference_disbursements)
    assert by_id.status_code == inline.status_code == 200
    assert by_id.get_json() == inline.get_json()  # the same hash, paths, ends and reasons
    lower = reference_flow.replace(*LOWER_AT)
    templates.publish(api.svc, w.admin, w.company, w.template, _loaded(lower))
    now = _evaluate(api.admin, {"template": w.template}, reference_disbursements).get_json()
    assert now == _evaluate(api.admin, {"flow": lower}, reference_disbursements).get_json()
    assert now["workflow_hash"] != inline.get_json()["workflow_hash"]
    named = _evaluate(api.client(api.person("viewer", VIEW_TEMPLATES)),
                      {"template": w.template, "version": "1.0"}, reference_disbursements)
    assert named.get_json() == inline.get_json()  # the version named, not the one in force

    one = reference_disbursements[0]
    assert_problem(_evaluate(api.admin, {"template": w.template, "version": "7.0"}, [one]), 404, "not_found")
    assert_problem(_evaluate(api.client(w.creator), {"template": w.template}, [one]), 403, "permission_denied")
    boss, other = api.other_company()
    leaver = api.person("leaver", VIEW_TEMPLATES, CAN_BE_MANAGER)
    directory.set_user_active(api.svc, w.admin, w.company, leaver, False)
    for client in (api.client(boss), api.client(leaver)):
        assert_problem(_evaluate(client, {"template": w.template}, [one]), 404, "not_found")
    assert_problem(_evaluate(api.admin, {"template": "f" * 32}, [one]), 404, "not_found")
    for workflow, where in (({"template": w.template, "version": "v1"}, "/workflow/version"),
                            ({"template": w.template.upper()}, "/workflow/template"),
                            ({"flow": reference_flow, "version": "1.0"}, "/workflow"),
                            ({"flow": reference_flow, "template": w.template}, "/workflow")):
        problem = assert_problem(_evaluate(api.admin, workflow, [one]), 422, "validation_failed")
        assert [e["pointer"] for e in problem["errors"]] == [where], workflow


def _loaded(text: str) -> Any:
    from dsl.load import load_workflow

    return load_workflow(text, "workflow.flow")
