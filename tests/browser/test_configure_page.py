"""The workflow configuration page in a browser, as the demo's Payments Admin (admin@demo.example) uses
it: the demo's Payments template shows its current bindings (Controller, CFO, Workflow Manager and the
manager), a refusal to leave the default template's CFO role empty is shown at that role in the engine's
words, and binding the disburser to the Controller role too saves and shows Configured (WF-6..WF-9)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for

EMAIL = "admin@demo.example"


def _role(page: Any, name: str) -> Any:
    return page.get_by_role("group", name=name, exact=True)


def _person(group: Any, email: str) -> Any:
    return group.get_by_role("checkbox", name=re.compile(re.escape(email)))


@pytest.mark.rule("WF-6", "WF-7", "WF-8", "WF-9")
def test_the_payments_template_is_configured_from_its_page(page, live: Live) -> None:
    sign_in(page, live, EMAIL, totp_for(live, EMAIL)())
    page.goto(f"{live.url}/workflows")
    row = page.locator("tr", has=page.locator(".badge", has_text="Default"))
    assert "Payments" in row.inner_text()
    row.get_by_role("link", name=re.compile(r"^Configure")).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Configure Payments").is_visible()
    assert page.locator("#config-state").inner_text() == "Configured"

    # the current configuration, preselected
    controller, cfo = _role(page, "Controller"), _role(page, "CFO")
    assert _person(controller, "controller@demo.example").is_checked()
    assert not _person(controller, "disburser@demo.example").is_checked()
    assert _person(cfo, "cfo@demo.example").is_checked()
    assert _person(_role(page, "Workflow Manager"), "admin@demo.example").is_checked()
    assert "admin@demo.example" in page.get_by_label("Manager").locator("option:checked").inner_text()
    shoot(page, "configure")
    assert_accessible(page)

    # WF-9: the default template must stay Configured: the CFO role left empty is refused at its field
    _person(cfo, "cfo@demo.example").uncheck()
    page.get_by_role("button", name="Save configuration").click()
    page.wait_for_load_state()
    error = _role(page, "CFO").locator(".field-error")
    assert "The default template must stay Configured" in error.inner_text()
    assert "Nothing was changed" in page.get_by_role("alert").first.inner_text()
    assert_accessible(page)

    # bind the disburser to the Controller role as well (and the CFO back): saved, Configured
    _person(_role(page, "CFO"), "cfo@demo.example").check()
    _person(_role(page, "Controller"), "disburser@demo.example").check()
    page.get_by_role("button", name="Save configuration").click()
    page.wait_for_load_state()
    assert "it is Configured" in page.locator("main").inner_text()
    assert page.locator("#config-state").inner_text() == "Configured"
    controller = _role(page, "Controller")
    assert _person(controller, "disburser@demo.example").is_checked()
    assert _person(controller, "controller@demo.example").is_checked()
    shoot(page, "configure-saved")
    assert_accessible(page)
