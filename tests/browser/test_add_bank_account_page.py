"""Adding a funding account on the Bank accounts page in a browser (issue 13; BANK-6, BANK-7, BANK-8, MFA-8):
the demo's Payments Admin opens the form from the Funding accounts section, types a second account
number that differs and is refused at that field with both numbers cleared (never typed back), then
adds it with the numbers twice and a code, and sees it listed Pending verification by its last four
digits only. Each state is screenshot at both sizes and audited with axe-core."""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for

NUMBER = "000888000246"
ROUTING = "021000021"


def _fill(form, nickname: str, second_number: str) -> None:
    form.get_by_label("Nickname").fill(nickname)
    form.get_by_label("Bank", exact=True).fill("First Harbor Bank")
    form.get_by_label("Account holder").fill("Demo Builders LLC")
    form.get_by_label("Routing number", exact=True).fill(ROUTING)
    form.get_by_label("Routing number again").fill(ROUTING)
    form.get_by_label("Account number", exact=True).fill(NUMBER)
    form.get_by_label("Account number again").fill(second_number)


@pytest.mark.rule("BANK-6", "BANK-7", "BANK-8", "MFA-8")
def test_an_admin_adds_a_funding_account_through_the_form(page, live) -> None:
    codes = totp_for(live, "admin@demo.example")
    sign_in(page, live, "admin@demo.example", codes())
    page.get_by_role("link", name="Bank accounts").click()
    page.wait_for_url(f"{live.url}/bank-accounts")
    page.get_by_role("link", name="Add funding account").click()
    page.wait_for_url(f"{live.url}/bank-accounts/new?kind=funding")
    assert page.get_by_role("heading", name="New funding account").is_visible()
    form = page.locator("form.acct-new-form")
    assert form.get_by_label("Deposits into").locator("option").count() >= 1
    shoot(page, "add-funding-account")
    assert_accessible(page)

    # BANK-7: the second account number differs: the engine's refusal at that field, the numbers cleared
    _fill(form, "Equipment Reserve", "000888000247")
    form.get_by_label("Authentication code").fill(codes())
    form.get_by_role("button", name="Add funding account").click()
    page.wait_for_load_state()
    again = page.get_by_label("Account number again")
    assert again.get_attribute("aria-invalid") == "true"
    assert "match" in page.locator("#f-account_number_confirmation-error").inner_text().lower()
    for label in ("Routing number", "Routing number again", "Account number", "Account number again"):
        assert page.get_by_label(label, exact=True).input_value() == ""
    assert page.get_by_label("Nickname").input_value() == "Equipment Reserve"
    html = page.content()
    assert NUMBER not in html and "000888000247" not in html
    assert "not shown again" in page.locator("main").inner_text()
    shoot(page, "add-funding-account-refused")
    assert_accessible(page)

    # done: listed Pending verification, by the last four digits only
    form = page.locator("form.acct-new-form")
    _fill(form, "Equipment Reserve", NUMBER)
    form.get_by_label("Authentication code").fill(codes())
    form.get_by_role("button", name="Add funding account").click()
    page.wait_for_url(f"{live.url}/bank-accounts#acct-*")
    assert "Funding account Equipment Reserve (····0246) is added" in page.locator(".alert-ok").inner_text()
    card = page.locator("[data-testid='account']", has_text="Equipment Reserve")
    assert card.locator(".acct-badges .badge").all_inner_texts()[:2] == ["Pending verification", "Active"]
    assert "····0246" in card.inner_text() and NUMBER not in page.content()
    shoot(page, "add-funding-account-added")
    assert_accessible(page)
