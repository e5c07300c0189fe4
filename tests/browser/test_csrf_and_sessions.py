"""Every form carries its CSRF token: a POST without it is refused with a page that says why, and
changes nothing; the session cookie is HttpOnly and SameSite; sign-in attempts are rate-limited."""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for


@pytest.mark.rule("ROLE-10")
def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(page, live) -> None:
    codes = totp_for(live, "admin@demo.example")
    sign_in(page, live, "admin@demo.example", codes())
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["payroute_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["secure"]
    assert not page.evaluate("document.cookie").count("payroute_session")  # JavaScript cannot read it

    # a form another site would post: the browser sends the cookie, but not the page's token
    response = page.request.post(f"{live.url}/sign-out", form={})
    assert response.status == 400
    assert "CSRF" in response.text() and "text/html" in response.headers["content-type"]
    page.goto(f"{live.url}/disbursements")
    assert "/sign-in" not in page.url  # still signed in: the forged sign-out did nothing

    page.set_content(response.text())  # the refusal page, as a person would see it
    shoot(page, "csrf-refused")


def test_sign_in_attempts_from_one_address_are_limited(page, live) -> None:
    """10 a minute per address and worker process (the default store is each worker's memory; a
    redis:// PAYROUTE_RATE_LIMIT_STORAGE shares one count): the demo's 2 workers allow 10 to 20."""
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 25:
        page.goto(f"{live.url}/sign-in")
        page.get_by_label("Email address").fill("nobody@demo.example")
        page.get_by_label("Password").fill("wrong wrong wrong")
        with page.expect_response(lambda r: r.url.endswith("/sign-in") and r.request.method == "POST") as sent:
            page.get_by_role("button", name="Sign in").click()
        statuses.append(sent.value.status)
    assert 429 in statuses and 11 <= len(statuses) <= 21, statuses
    assert set(statuses[:-1]) == {422}, statuses
    assert "Too many attempts" in page.locator("h1").inner_text()
    shoot(page, "sign-in-rate-limited")
    assert_accessible(page)
