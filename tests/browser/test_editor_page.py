"""The rule editor in a browser, as the demo's workflow manager (admin@demo.example) uses it: a
misspelt step name is shown at its line with the suggestion, fixing it clears the problems and
draws the diagram, a sample disbursement shows its route and reasons, a workflow with an error is
refused publication with its diagnostics, and the editor works without JavaScript too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for
from tests.conftest import REFERENCE_FLOW

REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")
#: the reference workflow with the CFO step misspelt where the condition routes to it: line 17,
#: columns 51-63 (`"CFO Reveiw"`)
MISSPELT = REFERENCE.replace('-> "CFO Review"', '-> "CFO Reveiw"')
EMAIL = "admin@demo.example"


_CODES: dict[str, Any] = {}


@pytest.fixture
def codes(live: Live) -> Any:
    """The admin's TOTP codes: enrolled once per server (function-scoped, so the development key's
    environment of tests/conftest.py is in place)."""
    if live.url not in _CODES:
        _CODES[live.url] = totp_for(live, EMAIL)
    return _CODES[live.url]


def _type_text(page: Any, text: str) -> None:
    """Put ``text`` in the editor as a paste would (its `input` event asks for the live panel)."""
    page.wait_for_load_state()  # htmx is loaded (deferred) and listening
    page.locator("#flow").fill(text)


def _wait_for_panel(page: Any) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


@pytest.mark.rule("WF-3", "WF-5", "COND-13", "ROLL-6")
def test_a_misspelt_step_is_shown_at_its_line_and_fixing_it_draws_the_diagram(page, live, codes) -> None:
    sign_in(page, live, EMAIL, codes())
    page.goto(f"{live.url}/workflows")
    assert page.get_by_role("heading", name="Workflows").is_visible()
    row = _default_row(page)
    assert row.count() == 1 and "Configured" in row.inner_text()
    shoot(page, "workflows")
    assert_accessible(page)

    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Workflow name").fill("Capital projects")
    _type_text(page, MISSPELT)
    problem = page.locator(".diagnostic", has_text="unknown step CFO Reveiw")
    problem.wait_for()
    assert problem.locator("a.at").inner_text() == "line 17:51"
    assert "Hint: did you mean CFO Review?" in problem.inner_text()
    assert problem.locator(".diagnostic-hint code").inner_text() == "CFO Review"  # the name set as code
    assert page.locator("#diag-summary").inner_text().startswith("1 error")
    mark = page.locator("#flow-marks .mark-error")
    assert mark.count() == 1 and "--line: 17" in mark.get_attribute("style")
    assert page.locator("#diagram-box").inner_text().strip() == "Fix the errors to see the diagram."
    assert page.locator("#gutter").inner_text().split()[-1] == str(len(MISSPELT.split("\n")))
    shoot(page, "editor-error")
    assert_accessible(page)

    # the line link selects the misspelt name in the text
    problem.locator("a.at").click()
    selected = page.evaluate("() => { const a = document.getElementById('flow');"
                             " return a.value.slice(a.selectionStart, a.selectionEnd); }")
    assert selected == '"CFO Reveiw"'
    assert page.evaluate("() => document.activeElement.id") == "flow"

    # the suggestion fixes it: no problems, and the diagram is drawn as an SVG with the sample's route
    problem.get_by_role("button", name="Use “CFO Review”").click()
    page.locator("#diag-summary", has_text="No problems").wait_for()
    assert page.locator("#flow").input_value() == REFERENCE
    page.locator("#diagram-box svg").wait_for()
    assert page.locator("#flow-marks .mark").count() == 0
    route = page.locator(".route-card").first
    assert route.locator(".route li").all_inner_texts() == ["Controller Review", "> $100,000.00", "CFO Review",
                                                            "Approved"]
    reasons = route.locator(".reasons").inner_text()
    assert "disbursement_amount $110,250.00 > $100,000.00: true → CFO Review" in reasons
    assert "Approved · success" in route.inner_text()
    shoot(page, "editor-simulated")
    assert_accessible(page)

    # the CFO rejects: the route ends at Rejected, and the reasons say so
    page.get_by_label("CFO Review").select_option("Reject")
    page.locator(".route-card", has_text="Rejected · failure").wait_for()
    assert "CFO Review: Reject → Rejected" in page.locator(".route-card .reasons").inner_text()

    # a sample the disbursement model refuses is explained, not simulated
    sample = page.locator("#sample")
    sample.fill('{"id": "D-9", "invoices": []}')
    page.locator("#simulation .alert-error", has_text="cannot be simulated").wait_for()
    assert "project: required field is missing" in page.locator("#simulation").inner_text()

    # save the first draft: the template is created, then opened in the editor
    page.get_by_role("button", name="Create and save draft").click()
    page.wait_for_url(re.compile(r".*/workflows/[0-9a-f]{32}/edit$"))
    assert "Created Capital projects and saved draft 0.1." in page.locator(".alert-ok").inner_text()
    assert page.locator("#flow").input_value() == REFERENCE
    assert "Draft 0.1" in page.locator(".head-badges").inner_text()

    # publishing a workflow with an error is refused, with its diagnostics at their lines
    _type_text(page, MISSPELT)
    page.locator(".diagnostic", has_text="unknown step").wait_for()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state()
    refusal = page.locator(".alert-error[role=alert]")
    assert refusal.inner_text().startswith("The workflow has 1 error and cannot be published")
    assert page.locator(".diagnostic a.at").inner_text() == "line 17:51"
    assert page.locator("#flow").input_value() == MISSPELT  # what was typed is kept
    shoot(page, "editor-publish-refused")
    assert_accessible(page)

    # fixed, it publishes as version 1.0; it is not Configured yet, so it cannot be the default
    _type_text(page, REFERENCE)
    page.locator("#diag-summary", has_text="No problems").wait_for()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state()
    assert page.locator(".alert-ok").inner_text().startswith("Published version 1.0")
    assert "Published 1.0" in page.locator(".head-badges").inner_text()
    assert page.locator(".versions").inner_text() == "Versions: 0.1 draft, 1.0 in force"
    page.get_by_role("button", name="Set as default").click()
    page.wait_for_load_state()
    assert page.locator(".alert-error").inner_text().startswith(
        "Only a Configured template can be the default: it names no workflow manager")
    page.goto(f"{live.url}/workflows")
    mine = page.locator("tr", has_text="Capital projects")
    assert "version 1.0" in mine.inner_text() and "Not configured" in mine.inner_text()
    assert mine.get_by_role("button", name=re.compile("^Set as default")).count() == 0

    # configured like the demo's default (through the engine: no page configures yet), it can be the default
    href = mine.get_by_role("link", name="Capital projects", exact=True).get_attribute("href")  # /workflows/<id>/edit
    _configure_like_the_default(live, href.split("/")[2])
    page.reload()
    mine = page.locator("tr", has_text="Capital projects")
    mine.get_by_role("button", name=re.compile("^Set as default")).click()
    page.wait_for_load_state()
    assert page.locator(".alert-ok").inner_text().startswith("Capital projects is now the company's default")
    assert "Capital projects" in _default_row(page).inner_text() and _default_row(page).count() == 1


def _default_row(page: Any) -> Any:
    """The list's row of the company's default workflow (its "Default" badge)."""
    return page.locator("tr", has=page.locator(".badge", has_text="Default"))


def _configure_like_the_default(live: Live, template_id: str) -> None:
    """Bind the template's roles and manager as the demo's default template binds them (WF-6)."""
    from engine.service import directory, templates
    from engine.services import Services
    from engine.store.db import Database
    from engine.store.tables import User
    from sqlalchemy import select

    svc = Services(Database(live.database_url))
    try:
        with svc.db.sessions() as s:
            admin = s.scalars(select(User.id).where(User.email == EMAIL)).one()
        company = directory.account(svc, admin).companies[0].id
        default = next(t for t in templates.list_templates(svc, admin, company).items if t.is_default)
        like = templates.read_template(svc, admin, company, default.id)
        templates.configure(svc, admin, company, template_id, manager=default.manager_id,
                            roles={k: list(v) for k, v in like.roles.items()},
                            groups={k: list(v) for k, v in like.groups.items()})
    finally:
        svc.db.dispose()


def test_the_editor_works_without_javascript(browser, live, codes) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live, EMAIL, codes())
        page.goto(f"{live.url}/workflows")
        _default_row(page).get_by_role("link", name=re.compile("^Edit")).click()
        assert 'workflow "Example Payments Workflow" {' in page.locator("#flow").input_value()  # the demo's default
        page.locator("#flow").fill(MISSPELT)
        page.get_by_role("button", name="Check").click()
        page.wait_for_load_state()
        assert page.locator(".diagnostic a.at").inner_text() == "line 17:51"
        assert page.locator("button.suggestion").is_hidden()  # it needs JavaScript: not offered without
        page.locator("#flow").fill(REFERENCE)
        page.get_by_role("button", name="Check").click()
        page.wait_for_load_state()
        assert "No problems" in page.locator("#diag-summary").inner_text()
        assert "flowchart TD" in page.locator("#diagram-box pre.mermaid").inner_text()  # the text, undrawn
        assert page.locator(".route-card .route li").count() == 4
    finally:
        context.close()


def test_the_live_panel_takes_no_post_without_its_csrf_token(page, live, codes) -> None:
    sign_in(page, live, EMAIL, codes())
    refused = page.request.post(f"{live.url}/workflows/panel", form={"flow": REFERENCE})
    assert refused.status == 400 and "CSRF" in refused.text()
    page.goto(f"{live.url}/workflows/new")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answered = page.request.post(f"{live.url}/workflows/panel", form={"flow": MISSPELT, "csrf_token": token})
    assert answered.status == 200 and "unknown step <code>CFO Reveiw</code>" in answered.text()
    hostile = REFERENCE.replace('start: "Controller Review"', 'start: "<img src=x onerror=alert(1)>"')
    escaped = page.request.post(f"{live.url}/workflows/panel", form={"flow": hostile, "csrf_token": token}).text()
    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in escaped and "<img" not in escaped
    huge = page.request.post(f"{live.url}/workflows/panel", form={"flow": "x" * 200_001, "csrf_token": token})
    assert huge.status == 200 and "longer than 200,000 characters; nothing was checked" in huge.text()


@pytest.mark.rule("ROLE-7")
def test_only_template_editors_reach_the_editor_and_the_engine_refuses_the_rest(page, live) -> None:
    """contributor@ holds no template permission: the engine refuses the list, and a publish
    posted anyway (with a valid CSRF token) is refused by the engine too, whatever the page offers."""
    sign_in(page, live, "contributor@demo.example")
    response = page.goto(f"{live.url}/workflows")
    assert response.status == 403
    refusal = page.locator(".alert-error[role=alert]").inner_text()
    assert "View Workflow Templates" in refusal
    shoot(page, "workflows-refused")
    assert refusal.endswith("Ask a Payments Admin of your company to grant you one.")
    assert_accessible(page)
    page.goto(f"{live.url}/workflows/new")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    made = page.request.post(f"{live.url}/workflows/new",
                             form={"csrf_token": token, "name": "Mine", "flow": REFERENCE, "action": "save"})
    assert made.status == 403 and "Create and Edit Workflow Templates" in made.text()
    # the panel itself changes nothing, so anyone signed in may try a text (ROLL-6)
    tried = page.request.post(f"{live.url}/workflows/panel", form={"csrf_token": token, "flow": MISSPELT})
    assert tried.status == 200 and "did you mean <code>CFO Review</code>?" in tried.text()


def test_the_editor_works_with_the_keyboard_alone(page, live, codes) -> None:
    """Tab reaches the text; once typing, Tab indents; Esc then Tab moves on; a diagnostic's line
    link, reached with Tab and followed with Enter, puts the cursor on the problem."""
    from tests.browser.test_keyboard import _tab_to

    sign_in(page, live, EMAIL, codes())
    page.goto(f"{live.url}/workflows/new")
    page.wait_for_load_state()
    _tab_to(page, "el.id === 'f-name'")
    page.keyboard.type("Keyboard made")
    _tab_to(page, "el.id === 'flow'")
    page.keyboard.press("Control+End")
    page.keyboard.type("x")
    page.keyboard.press("Tab")  # typing: Tab indents
    assert page.locator("#flow").input_value().endswith("x    ")
    assert page.evaluate("document.activeElement.id") == "flow"
    page.locator(".diagnostic a.at").first.wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # after Esc, Tab leaves the text
    assert page.evaluate("document.activeElement.id") != "flow"
    _tab_to(page, "el.classList.contains('at')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "flow"
    line = page.evaluate("() => { const a = document.getElementById('flow');"
                         " return a.value.slice(0, a.selectionStart).split('\\n').length; }")
    assert page.locator(".diagnostic a.at").first.inner_text().startswith(f"line {line}:")
