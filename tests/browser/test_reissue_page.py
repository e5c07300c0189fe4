"""A payment to a closed account fails (FLOW-5) and the disbursement page says so with the bank's
reason; a Payments Admin re-issues it there with a code (FLOW-8): a new order, the failed one kept."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for


def _authorize_with_a_closed_beneficiary(live: Live, codes) -> str:
    from datetime import datetime, timezone

    from engine.payments import authorization, stored_bank
    from engine.service.demo import seed_demo
    from engine.services import Services
    from engine.store.db import Database

    svc = Services(Database(live.database_url))
    try:
        demo = seed_demo(svc)
        d = demo.disbursements["approved"]
        done = authorization.authorize(svc, demo.users["disburser@demo.example"], demo.company, d, mfa_code=codes())
        for order in done.orders:  # before the drawdown settles, so before any payment is sent
            stored_bank.close(svc.db, stored_bank.PRODUCTION, order.beneficiary_account_id,
                              now=datetime.now(timezone.utc))
        return d
    finally:
        svc.db.dispose()


@pytest.mark.rule("FLOW-5", "FLOW-8", "ST-5")
def test_a_failed_payment_shows_its_reason_and_an_admin_reissues_it_with_a_code(page, live) -> None:
    d = _authorize_with_a_closed_beneficiary(live, totp_for(live, "disburser@demo.example"))
    admin_codes = totp_for(live, "admin@demo.example")
    sign_in(page, live, "admin@demo.example", admin_codes())
    page.goto(f"{live.url}/disbursements/{d}")
    for _ in range(60):  # the worker draws down, the bank settles in 10 s, the payment fails
        if "Payment failed" in page.locator("h1").inner_text():
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert "Payment failed" in page.locator("h1").inner_text()
    orders = page.get_by_test_id("payment-orders")
    assert orders.get_by_text("Failed").count() >= 1
    shoot(page, "disbursement-payment-failed")
    assert_accessible(page)

    field = page.get_by_label("Re-issue DEMO-1006 to the payee's current account — authentication code")
    field.fill("000000")
    page.get_by_role("button", name="Re-issue payment").click()
    assert "wrong" in page.locator(".reissue-form .field-error").inner_text()
    page.get_by_label("Re-issue DEMO-1006 to the payee's current account — authentication code").fill(admin_codes())
    page.get_by_role("button", name="Re-issue payment").click()
    page.wait_for_load_state()
    assert "Re-issued DEMO-1006 as check" in page.get_by_role("status").first.inner_text()
    rows = page.get_by_test_id("payment-orders").locator("tbody tr:not(.note-row)")
    assert rows.count() == 2  # the failed order stays, the new one follows
    assert page.get_by_role("button", name="Re-issue payment").count() == 0
    shoot(page, "disbursement-reissued")
