"""The workflow configuration page (/workflows/<id>/configure, issue 13) through Flask's test client, on
SQLite and PostgreSQL: a save is the engine's ``templates.configure`` (WF-6), the page shows Configured or
the engine's list of what is missing (WF-7, WF-8), and a refusal is the engine's words at its field with a
4xx status and nothing changed (WF-9, GEN-5, ROLE-1). The browser test walks the page in Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dsl.load import load_workflow
from engine.security.permissions import VIEW_TEMPLATES
from engine.service import directory, templates
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_bank_accounts_page import _browser, _csrf, _text, pages  # noqa: F401 - the fixture
from tests.world import REFERENCE


def _bindings(api: Api) -> tuple[Any, dict[str, tuple[str, ...]]]:
    detail = templates.read_template(api.svc, api.w.admin, api.w.company, api.w.template)
    return detail.template.manager_id, detail.roles


def _checked(html: str, role: str) -> list[str]:
    """The user ids checked in a role's checkbox list."""
    return re.findall(rf'name="role:{re.escape(role)}" value="user:([0-9a-f]+)" checked', html)


@pytest.mark.rule("WF-6", "WF-7")
def test_the_page_shows_the_configuration_and_a_save_is_the_engines_configure(pages: Api, clock) -> None:
    api, w = pages, pages.w
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    page = admin.get(f"/workflows/{w.template}/configure")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = _text(page)
    assert "Configured" in html and "Not configured" not in html
    assert _checked(html, "Controller") == [w.controller] and _checked(html, "CFO") == [w.cfo]
    assert re.search(rf'<option value="{w.manager}" selected>', html)  # the manager preselected
    # the list and the editor link here
    assert f"/workflows/{w.template}/configure" in _text(admin.get("/workflows"))
    assert f"/workflows/{w.template}/configure" in _text(admin.get(f"/workflows/{w.template}/edit"))

    board = directory.create_group(api.svc, w.admin, w.company, "Finance board", members=[w.cfo]).id
    page = _text(admin.get(f"/workflows/{w.template}/configure"))
    assert f'name="role:CFO" value="group:{board}"' in page and "Group Finance board" in page

    saved = admin.post(f"/workflows/{w.template}/configure", data={
        "csrf_token": _csrf(html), "manager": w.manager, "role:Controller": [f"user:{w.controller}", f"user:{w.cfo}"],
        "role:CFO": [f"user:{w.cfo}", f"group:{board}"], "role:Workflow Manager": f"user:{w.manager}"})
    assert saved.status_code == 302 and saved.location.endswith(f"/workflows/{w.template}/configure")
    assert _bindings(api) == (w.manager, {"Controller": (w.controller, w.cfo), "CFO": (w.cfo,),
                                          "Workflow Manager": (w.manager,)})
    detail = templates.read_template(api.svc, w.admin, w.company, w.template)
    assert detail.groups == {"CFO": (board,)}
    after = _text(admin.get(saved.location))
    assert "it is Configured" in after and _checked(after, "Controller") == [w.controller, w.cfo]
    assert f'name="role:CFO" value="group:{board}" checked' in after


@pytest.mark.rule("WF-6", "WF-7", "WF-8")
def test_a_new_template_shows_what_is_missing_until_every_role_and_the_manager_are_bound(pages: Api, clock) -> None:
    api, w = pages, pages.w
    made = templates.create_template(api.svc, w.admin, w.company, "Capital projects").id
    templates.publish(api.svc, w.admin, w.company, made, load_workflow(REFERENCE, "workflow.flow"))
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    html = _text(admin.get(f"/workflows/{made}/configure"))
    problems = re.search(r'<ul class="config-problems">(.*?)</ul>', html, re.S)
    assert "Not configured" in html and problems
    assert "it names no workflow manager" in problems[1]  # WF-8
    assert "role <code>CFO</code> resolves to no eligible user" in problems[1]  # WF-7
    # the roles its version names: the manager's role and each step's, none bound yet
    assert re.findall(r"<legend>([^<]+)</legend>", html) == ["Workflow Manager", "Controller", "CFO"]

    # not the default: a partial configuration is saved, and the page says what is still missing
    partly = admin.post(f"/workflows/{made}/configure", data={
        "csrf_token": _csrf(html), "manager": w.manager, "role:Controller": f"user:{w.controller}"})
    assert partly.status_code == 302
    html = _text(admin.get(partly.location))
    assert "It is Not Configured yet" in html and "names no workflow manager" not in html
    assert "role <code>CFO</code> resolves to no eligible user" in html
    whole = admin.post(f"/workflows/{made}/configure", data={
        "csrf_token": _csrf(html), "manager": w.manager, "role:Controller": f"user:{w.controller}",
        "role:CFO": f"user:{w.cfo}", "role:Workflow Manager": f"user:{w.manager}"})
    assert "it is Configured" in _text(admin.get(whole.location))
    assert templates.is_configured(api.svc, w.admin, w.company, made) == (True, [])


@pytest.mark.rule("WF-8", "WF-9", "GEN-5")
def test_a_refusal_is_the_engines_words_at_its_field_and_changes_nothing(pages: Api, clock) -> None:
    api, w = pages, pages.w
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    token = _csrf(_text(admin.get(f"/workflows/{w.template}/configure")))
    before = _bindings(api)
    full = {"csrf_token": token, "manager": w.manager, "role:Controller": f"user:{w.controller}",
            "role:CFO": f"user:{w.cfo}", "role:Workflow Manager": f"user:{w.manager}"}

    # WF-9: the default template must stay Configured; leaving the CFO role empty is refused at its field
    refused = admin.post(f"/workflows/{w.template}/configure", data={**full, "role:CFO": []})
    assert refused.status_code == 409 and refused.mimetype == "text/html"
    body = _text(refused)
    field = re.search(r'<fieldset class="role-field has-error" id="(role-\d+)"[^>]*>\s*<legend>([^<]+)</legend>\s*'
                      r'<p class="field-error" id="role-\d+-error">([^<]*(?:<code>[^<]*</code>[^<]*)*)</p>', body)
    assert field and field[2] == "CFO"
    assert "The default template must stay Configured" in field[3] and "<code>CFO</code>" in field[3]
    assert "Nothing was changed" in body and "Traceback" not in body
    assert _checked(body, "CFO") == [] and _checked(body, "Controller") == [w.controller]  # the form as sent
    assert _bindings(api) == before

    # WF-8: no manager on the default template: refused at the manager field
    no_manager = admin.post(f"/workflows/{w.template}/configure", data={**full, "manager": ""})
    assert no_manager.status_code == 409
    html = _text(no_manager)
    assert 'id="f-manager-error"' in html and "names no workflow manager" in html
    assert _bindings(api) == before

    # GEN-5: a manager who is not a member of the company is "no such" user, at the manager field
    stranger = admin.post(f"/workflows/{w.template}/configure", data={**full, "manager": "f" * 32})
    assert stranger.status_code == 404
    html = _text(stranger)
    assert re.search(r'id="f-manager-error">No such manager user in this company', html)
    assert _bindings(api) == before

    # a form without its CSRF token changes nothing either
    assert admin.post(f"/workflows/{w.template}/configure", data={**full, "csrf_token": ""}).status_code == 400
    assert _bindings(api) == before


@pytest.mark.rule("ROLE-7")
def test_a_reader_who_may_not_read_the_people_is_told_why(pages: Api, clock) -> None:
    api, w = pages, pages.w
    api.person("viewer", VIEW_TEMPLATES)
    viewer = _browser(api, clock, "", "viewer@gc.example", code=False)
    page = viewer.get(f"/workflows/{w.template}/configure")
    assert page.status_code == 403 and page.mimetype == "text/html"
    html = _text(page)
    assert 'role="alert"' in html and "viewing the company" in html.lower()
    assert f'action="/workflows/{w.template}/configure"' not in html  # no form to send
