"""The pages work with the keyboard alone: the skip link first, every control reachable with Tab,
forms sent with Enter, focus always visible."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import PASSWORD, totp_for


def _tab_to(page: Any, predicate: str, limit: int = 80) -> str:
    """Press Tab until the focused element satisfies ``predicate`` (a JS expression over ``el``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", "the focused control shows no focus ring"
            return str(page.evaluate("document.activeElement.outerHTML"))
    raise AssertionError(f"no focusable element matching {predicate} within {limit} Tabs")


@pytest.mark.rule("ROLE-10")
def test_a_controller_signs_in_finds_the_disbursement_and_approves_with_the_keyboard_only(page, live) -> None:
    from tests.browser.test_story import _demo

    at_controller = _demo(live).disbursements["controller_review"]
    codes = totp_for(live, "controller@demo.example")
    page.goto(f"{live.url}/sign-in")
    assert page.evaluate("document.activeElement.id") == "f-email"  # the form starts focused
    page.keyboard.type("controller@demo.example")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    _tab_to(page, "el.id === 'f-code'")
    page.keyboard.type(codes())
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/sign-in" not in url)

    page.goto(f"{live.url}/disbursements?view=mine")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"  # the first stop skips the bar
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    _tab_to(page, f"el.getAttribute('href') === '/disbursements/{at_controller}'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/disbursements/{at_controller}")
    _tab_to(page, "el.id === 'respond-comment'")
    page.keyboard.type("Matches the pay application.")
    _tab_to(page, "el.tagName === 'BUTTON' && el.value === 'Approve'")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "is recorded" in page.get_by_role("status").first.inner_text()
