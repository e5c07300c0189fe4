"""A Disburser makes a disbursement in the browser: a project, its Unpaid invoices, the default
funding account preselected (DSB-7); a partial payment without a note is refused at that line's
note (DSB-3), an amount over the amount due at its amount (DSB-2); then it is created and its
workflow starts (DSB-8)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, totp_for


def _unpaid_invoice(live: Live, number: str, amount: str) -> tuple[str, str]:
    from sqlalchemy import select

    from engine.service import directory
    from engine.service.demo import seed_demo
    from engine.services import Services
    from engine.store.db import Database
    from engine.store.tables import Invoice

    svc = Services(Database(live.database_url))
    try:
        demo = seed_demo(svc)
        with svc.db.sessions() as s:
            payee = s.scalars(select(Invoice.payee_company_id).where(Invoice.number == "DEMO-1006")).one()
        made = directory.create_invoice(svc, demo.users["admin@demo.example"], demo.company, demo.projects[0],
                                        payee=payee, number=number, amount_due=amount)
        return made.id, demo.projects[0]
    finally:
        svc.db.dispose()


@pytest.mark.rule("DSB-7", "DSB-3", "DSB-2", "DSB-8")
def test_a_disburser_picks_invoices_and_the_default_account_and_refusals_land_at_the_field(page, live) -> None:
    invoice, project = _unpaid_invoice(live, "DEMO-3001", "8800.00")
    sign_in(page, live, "disburser@demo.example", totp_for(live, "disburser@demo.example")())
    page.goto(f"{live.url}/disbursements")
    page.get_by_role("link", name="New disbursement").click()
    page.get_by_label("Project").select_option(project)
    page.get_by_role("button", name="Show its invoices").click()
    assert "(default)" in page.get_by_label("Funding account").locator("option:checked").inner_text()
    page.get_by_label("Pay DEMO-3001").check()
    page.get_by_label("Payment amount for DEMO-3001").fill("9000.00")
    page.get_by_role("button", name="Create disbursement").click()
    assert "More than the invoice's amount due" in page.locator(f"#amount-{invoice}-error").inner_text()
    shoot(page, "new-disbursement-refused")
    assert_accessible(page)

    page.get_by_label("Payment amount for DEMO-3001").fill("8000.00")
    page.get_by_role("button", name="Create disbursement").click()
    assert "A partial payment needs a note" in page.locator(f"#note-{invoice}-error").inner_text()
    page.get_by_label("Note for DEMO-3001").fill("Holding $800.00 until the punch list is done")
    page.get_by_role("button", name="Create disbursement").click()
    page.wait_for_url("**/disbursements/*")
    assert "$8,000.00" in page.locator(".big-money").inner_text()
    assert "In review" in page.locator("h1").inner_text()  # the default workflow started (DSB-8)
    assert page.get_by_text("Holding $800.00 until the punch list is done").count() == 1
    shoot(page, "new-disbursement-created")
