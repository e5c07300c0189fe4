"""The Bank accounts page in a browser (issue 13; BANK-3, BANK-4, BANK-8, BANK-9, BANK-12, BANK-14, MFA-8, ROLL-4,
ROLL-5):
the demo's Payments Admin sees the funding, deposit and beneficiary accounts by their last four digits
with their status as badges, marks a new funding account verified, is refused a default with a wrong
code (the engine's words at the code field), makes it the default with the keyboard alone and a right
code, requests its test drawdown and deactivates a payee's old account; the Beneficiary Approver approves a payee's new account with a
code. Sandbox accounts are marked. Each state is screenshot and audited with axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, sign_out, totp_for

#: the numbers typed for the accounts this test adds: never on the page, only their last four
RESERVE_NUMBER = "000555000111"
SANDBOX_NUMBER = "000777000222"
NEW_PAYEE_NUMBER = "000999000333"


def _services(live: Live) -> Any:
    from engine.services import Services
    from engine.store.db import Database

    return Services(Database(live.database_url))


def _prepare(live: Live, admin_code: Any) -> dict[str, str]:
    """Through the engine, as an Admin would elsewhere: a second production funding account (Pending
    Verification, no test drawdown yet), a sandbox funding account, and a payee's second beneficiary
    account awaiting approval (added with the Admin's code, MFA-8)."""
    from sqlalchemy import select

    from engine.payments import beneficiaries
    from engine.payments.bank_accounts import AccountNumbers
    from engine.service.demo import seed_demo, seed_funding_account
    from engine.store.tables import Company

    svc = _services(live)
    try:
        demo = seed_demo(svc)  # finds the server's demo
        admin = demo.users["admin@demo.example"]
        reserve = seed_funding_account(svc, admin, demo.company, "Payroll Reserve", account_number=RESERVE_NUMBER,
                                       tested=False)
        sandbox = seed_funding_account(svc, admin, demo.company, "Sandbox Operating", account_number=SANDBOX_NUMBER,
                                       sandbox=True)
        with svc.db.sessions() as s:
            acme = s.scalars(select(Company.id).where(Company.name == "Acme Concrete")).one()
        payee = beneficiaries.add_beneficiary_account(
            svc, admin, demo.company, acme, bank_name="Harbor Savings", holder_name="Acme Concrete Inc.",
            numbers=AccountNumbers("021000021", "021000021", NEW_PAYEE_NUMBER, NEW_PAYEE_NUMBER),
            nickname="Acme new operating", mfa_code=admin_code()).id
        return {"reserve": reserve, "sandbox": sandbox, "payee": payee}
    finally:
        svc.db.dispose()


def _card(page: Any, account_id: str) -> Any:
    return page.locator(f"[data-account='{account_id}']")


def _badges(page: Any, account_id: str) -> list[str]:
    return [b.strip() for b in _card(page, account_id).locator(".acct-badges .badge").all_inner_texts()]


@pytest.mark.rule("BANK-3", "BANK-4", "BANK-8", "BANK-9", "BANK-12", "BANK-14", "MFA-8", "ROLL-4", "ROLL-5")
def test_an_admin_and_an_approver_manage_the_demos_bank_accounts_in_the_browser(page, live) -> None:
    admin_codes = totp_for(live, "admin@demo.example")
    made = _prepare(live, admin_codes)

    sign_in(page, live, "admin@demo.example", admin_codes())
    page.get_by_role("link", name="Bank accounts").click()
    page.wait_for_url(f"{live.url}/bank-accounts")
    assert page.get_by_role("heading", name="Bank accounts", level=1).is_visible()
    for title in ("Funding accounts", "Deposit accounts", "Beneficiary accounts"):
        assert page.get_by_role("heading", name=title, level=2).is_visible()
    text = page.locator("main").inner_text()
    # BANK-8: the last four digits only, never a number as typed
    for number in (RESERVE_NUMBER, SANDBOX_NUMBER, NEW_PAYEE_NUMBER, "000100000001", "000200000002"):
        assert number not in page.content()
    assert "····0111" in text and "····0333" in text
    # the demo's funding account: Verified, active, the default; the new one pending, its test drawdown due
    demo_funding = page.locator("[data-testid='account']", has=page.locator(".badge", has_text="Default"))
    assert demo_funding.count() == 1
    first_default = demo_funding.get_attribute("data-account")
    assert {"Verified", "Active", "Default"} <= set(_badges(page, first_default))
    assert _badges(page, made["reserve"]) == ["Pending verification", "Active"]
    assert "Needed before first use" in _card(page, made["reserve"]).inner_text()
    # ROLL-4: the sandbox account is marked, and the page says what that means
    assert "Sandbox" in _badges(page, made["sandbox"])
    assert "move no real money" in page.locator(".sandbox-banner").inner_text()
    # the payee's new account awaits approval; the Admin is no Beneficiary Approver, so no approve form
    assert "Awaiting approval" in _badges(page, made["payee"])
    assert _card(page, made["payee"]).get_by_role("button", name="Approve account").count() == 0
    assert "Acme Concrete" in _card(page, made["payee"]).inner_text()
    shoot(page, "bank-accounts")
    assert_accessible(page)

    # BANK-3: the Admin records the verification
    _card(page, made["reserve"]).get_by_role("button", name="Mark verified").click()
    page.wait_for_load_state()
    assert "Payroll Reserve is Verified." in page.locator(".alert-ok").inner_text()
    assert _badges(page, made["reserve"])[0] == "Verified"

    # BANK-9, MFA-8: a wrong code is refused in the engine's words, at the code field
    reserve = _card(page, made["reserve"])
    reserve.locator("form[data-action='default']").get_by_label("Authentication code").fill("000000")
    reserve.get_by_role("button", name="Make default").click()
    page.wait_for_load_state()
    reserve = _card(page, made["reserve"])
    code_field = reserve.locator("form[data-action='default'] input[name='mfa_code']")
    assert code_field.get_attribute("aria-invalid") == "true"
    error = reserve.locator("form[data-action='default'] .field-error").inner_text()
    assert "The code is wrong or expired" in error
    assert code_field.input_value() == ""  # a code is never shown again
    assert "Default" not in _badges(page, made["reserve"])
    shoot(page, "bank-accounts-refused")
    assert_accessible(page)

    # with the keyboard alone: the refused field has the focus, a code and Enter submit the form
    assert page.evaluate("document.activeElement.name") == "mfa_code"
    page.keyboard.type(admin_codes())
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Payroll Reserve is now the default funding account." in page.locator(".alert-ok").inner_text()
    assert "Default" in _badges(page, made["reserve"])
    assert "Default" not in _badges(page, first_default)  # one default (BANK-9)
    assert page.locator("[data-testid='account']", has=page.locator(".badge", has_text="Default")).count() == 1

    # ROLL-5: its test drawdown, $1.00 written as money
    _card(page, made["reserve"]).get_by_role("button", name="Request a $1.00 test drawdown").click()
    page.wait_for_load_state()
    assert "A $1.00 test drawdown of Payroll Reserve is requested" in page.locator(".alert-ok").inner_text()
    assert "$1.00" in _card(page, made["reserve"]).inner_text()
    shoot(page, "bank-accounts-default")
    assert_accessible(page)

    # BANK-4, BANK-12 with the keyboard: open the disclosure, Tab to its button, Enter; deactivating
    # Acme's old account leaves the new one its only active account, which is then designated
    old = page.locator("[data-testid='account']", has=page.locator(".acct-name", has_text="Payee Bank 0001"))
    old_id = old.get_attribute("data-account")
    old.locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Deactivate for good"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Payee Bank 0001 is deactivated." in page.locator(".alert-ok").inner_text()
    assert "Deactivated" in _badges(page, old_id)
    assert "Designated" in _badges(page, made["payee"])
    assert _card(page, old_id).locator("form").count() == 0  # final: nothing more to do with it
    sign_out(page)

    # BANK-14: the Beneficiary Approver approves the payee's account with a code
    approver_codes = totp_for(live, "approver@demo.example")
    sign_in(page, live, "approver@demo.example", approver_codes())
    page.goto(f"{live.url}/bank-accounts")
    payee = _card(page, made["payee"])
    assert payee.get_by_role("button", name="Make default").count() == 0
    assert page.get_by_role("button", name="Mark verified").count() == 0  # an Admin's action
    payee.get_by_label("Authentication code").fill(approver_codes())
    payee.get_by_role("button", name="Approve account").click()
    page.wait_for_load_state()
    assert "Acme new operating is approved to receive payments." in page.locator(".alert-ok").inner_text()
    assert "Approved" in _badges(page, made["payee"])
    assert "approved by\napprover" in _card(page, made["payee"]).inner_text().lower()  # by name
    shoot(page, "bank-accounts-approved")
    assert_accessible(page)
