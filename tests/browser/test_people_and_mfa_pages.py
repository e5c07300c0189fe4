"""A Payments Admin resets a member's MFA from the People page with a reason and their own code
(MFA-14, MFA-15), never their own; a member makes a new set of recovery codes (MFA-7)."""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_accessible, shoot, sign_in, sign_out, totp_for


@pytest.mark.rule("MFA-14", "MFA-15", "MFA-7")
def test_an_admin_resets_a_members_mfa_and_a_member_renews_recovery_codes(page, live) -> None:
    disburser = totp_for(live, "disburser@demo.example")
    sign_in(page, live, "disburser@demo.example", disburser())
    page.goto(f"{live.url}/mfa/enroll")
    assert "MFA is on" in page.locator("main").inner_text()
    page.get_by_label("Authentication code").fill(disburser())
    page.get_by_role("button", name="Make new recovery codes").click()
    assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
    assert page.get_by_role("link", name="People").count() == 0  # not a Payments Admin
    page.get_by_label("I have saved these recovery codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    assert "recovery codes are saved" in page.get_by_role("status").first.inner_text()
    sign_out(page)

    admin = totp_for(live, "admin@demo.example")
    sign_in(page, live, "admin@demo.example", admin())
    page.get_by_role("link", name="People").click()
    row = page.get_by_role("row").filter(has_text="disburser@demo.example")
    assert row.get_by_text("Payments Disburser").count() == 1
    shoot(page, "people")
    assert_accessible(page)
    assert page.get_by_role("row").filter(has_text="admin@demo.example").get_by_text("Reset MFA").count() == 0

    row.get_by_text("Reset MFA").click()
    row.get_by_label("Reason").fill("Lost phone, confirmed by call")
    row.get_by_label("Your authentication code").fill(admin())
    row.get_by_role("button", name="Reset Disburser's MFA").click()
    assert "MFA is reset" in page.get_by_role("status").first.inner_text()
    sign_out(page)

    # the Disburser is signed out everywhere and must enroll again at the next sign-in (MFA-15)
    sign_in(page, live, "disburser@demo.example", expect_ok=False)
    page.wait_for_url("**/mfa/enroll")
    assert "Show my QR code" in page.locator("main").inner_text()
