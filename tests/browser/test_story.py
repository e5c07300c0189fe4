"""The seed story in a browser (seeds 000-004): a Controller and a CFO approve, a Disburser enrolls in
MFA, signs in with a code and authorizes with another, and the worker pays every invoice; a
Disburser who approved an invoice is refused with the reason; a form without its CSRF token is
refused. Every page on the way is screenshot and audited with axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import PASSWORD, assert_accessible, code_source, shoot, sign_in, sign_out, totp_for


def _demo(live: Live) -> Any:
    from engine.service.demo import seed_demo
    from engine.services import Services
    from engine.store.db import Database

    svc = Services(Database(live.database_url))
    try:
        return seed_demo(svc)  # finds the demo the server seeded, and says what it holds
    finally:
        svc.db.dispose()


def _open(page: Any, live: Live, disbursement_id: str) -> None:
    page.goto(f"{live.url}/disbursements/{disbursement_id}")
    page.wait_for_load_state()


@pytest.mark.rule("ROLE-10", "MFA-4", "MFA-7", "AUTH-2", "AUTH-3", "AUTH-11", "ST-3")
def test_controller_and_cfo_approve_and_a_disburser_enrolls_authorizes_and_sees_the_payouts(page, live) -> None:
    demo = _demo(live)
    at_controller, at_cfo = demo.disbursements["controller_review"], demo.disbursements["cfo_review"]

    page.goto(f"{live.url}/")
    assert "/sign-in" in page.url
    shoot(page, "sign-in")
    assert_accessible(page)

    # a wrong password: the same refusal as an unknown email, at the field, nothing else said
    page.get_by_label("Email address").fill("controller@demo.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".field-error").first.inner_text().startswith("The email address or the password is wrong")
    shoot(page, "sign-in-refused")
    assert_accessible(page)

    # the demo's reviewers hold a payments role too, so they sign in with a code (ROLE-10)
    controller_codes, cfo_codes = totp_for(live, "controller@demo.example"), totp_for(live, "cfo@demo.example")
    sign_in(page, live, "controller@demo.example", controller_codes())
    page.goto(f"{live.url}/disbursements?view=mine")
    assert page.locator(f"a[href='/disbursements/{at_controller}']").count() == 1
    shoot(page, "disbursements-mine")
    assert_accessible(page)
    _open(page, live, at_controller)
    assert "$60,250.00" in page.locator(".big-money").inner_text()
    assert page.get_by_role("row").filter(has_text="DEMO-1003").get_by_text("$48,250.00").count() >= 1
    shoot(page, "disbursement-controller")
    assert_accessible(page)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "is recorded" in page.get_by_role("status").first.inner_text()
    assert "Approved" in page.locator("h1").inner_text()
    page.goto(f"{live.url}/disbursements")  # the list says where each one stands
    rows = page.get_by_role("row")
    assert rows.filter(has=page.locator(f"a[href='/disbursements/{at_controller}']")).get_by_text("Approved").count() == 1
    assert rows.filter(has=page.locator(f"a[href='/disbursements/{demo.disbursements['rejected']}']")) \
        .get_by_text("Rejected").count() == 1
    shoot(page, "disbursements-all")
    assert_accessible(page)
    sign_out(page)

    sign_in(page, live, "cfo@demo.example", cfo_codes())
    _open(page, live, at_cfo)
    assert "$120,000.00" in page.locator(".big-money").inner_text()
    assert page.get_by_test_id("step-reason").inner_text() == (
        "Needs CFO review: disbursement amount $120,000.00 is over $100,000.00")
    page.get_by_label("Comment (optional; needed to reject)").fill("Checked against the schedule of values.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "Approved" in page.locator("h1").inner_text()
    sign_out(page)

    # the Disburser's first sign-in may only enroll (ROLE-10): QR code, setup key, first code
    page.get_by_label("Email address").fill("disburser@demo.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/mfa/enroll"))
    shoot(page, "mfa-start")
    assert_accessible(page)
    page.get_by_role("button", name="Show my QR code").click()
    assert page.locator("figure.qr svg").count() == 1
    secret = page.get_by_test_id("setup-key").inner_text().strip()
    shoot(page, "mfa-qr")
    assert_accessible(page)
    codes = code_source(secret)
    page.get_by_label("6-digit code").fill(codes())
    page.get_by_role("button", name="Turn on MFA").click()
    recovery = page.get_by_test_id("recovery-codes").locator("li")
    assert recovery.count() == 10
    shoot(page, "mfa-recovery-codes")
    assert_accessible(page)
    page.get_by_label("I have saved these recovery codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/sign-in"))
    assert "Sign in again with a code" in page.get_by_role("status").first.inner_text()

    sign_in(page, live, "disburser@demo.example", codes())
    _open(page, live, at_cfo)
    shoot(page, "disbursement-approved")
    assert_accessible(page)
    page.get_by_label("Authentication code").fill("000000")  # wrong: refused, nothing moves
    page.get_by_role("button", name=re.compile(r"Authorize \$120,000\.00")).click()
    assert "wrong" in page.get_by_test_id("authorize-refusal").inner_text()
    page.get_by_label("Authentication code").fill(codes())
    page.get_by_role("button", name=re.compile(r"Authorize \$120,000\.00")).click()
    page.wait_for_load_state()
    assert "Authorized" in page.get_by_role("status").first.inner_text()
    orders = page.get_by_test_id("payment-orders")
    assert orders.get_by_text("$120,000.00").count() == 1
    shoot(page, "disbursement-authorized")
    assert_accessible(page)

    # the worker beside the server draws down, then pays out (the demo bank settles in 10 s)
    for _ in range(60):
        page.reload()
        if "Paid" in page.locator("h1").inner_text():
            break
        page.wait_for_timeout(1000)
    assert "Paid" in page.locator("h1").inner_text()
    assert orders.get_by_text("Completed").count() == 1  # the payment order (ST-5)
    shoot(page, "disbursement-paid")

    # AUTH-5: the same Disburser approved an invoice of another disbursement: refused, naming it
    refused = _approved_with_an_invoice_approved_by(live, "disburser@demo.example")
    _open(page, live, refused)
    page.get_by_label("Authentication code").fill(codes())
    page.get_by_role("button", name=re.compile(r"Authorize \$4,200\.00")).click()
    refusal = page.get_by_test_id("authorize-refusal").inner_text()
    assert "DEMO-2001" in refusal and "AUTH-5" in refusal, refusal
    assert page.get_by_test_id("payment-orders").count() == 0  # nothing moved
    shoot(page, "disbursement-sod-refused")
    assert_accessible(page)


def _approved_with_an_invoice_approved_by(live: Live, email: str) -> str:
    """A disbursement Approved by the Controller whose one invoice ``email`` approved (seeded
    through the engine, as the invoicing tool and the Controller would)."""
    from sqlalchemy import select

    from engine.service import directory, disbursements, instances
    from engine.service.demo import seed_demo
    from engine.service.disbursements import PaymentLine
    from engine.services import Services
    from engine.store.db import Database
    from engine.store.tables import Disbursement, Invoice

    svc = Services(Database(live.database_url))
    try:
        demo = seed_demo(svc)
        u = demo.users
        with svc.db.sessions() as s:
            payee = s.scalars(select(Invoice.payee_company_id).where(Invoice.number == "DEMO-1006")).one()
            funding = s.scalars(select(Disbursement.funding_account_id)
                                .where(Disbursement.id == demo.disbursements["approved"])).one()
        invoice = directory.create_invoice(svc, u["admin@demo.example"], demo.company, demo.projects[0],
                                           payee=payee, number="DEMO-2001", amount_due="4200.00",
                                           approved_by=u[email])
        made = disbursements.create_disbursement(svc, u["admin@demo.example"], demo.company,
                                                 project_id=demo.projects[0], funding_account=funding,
                                                 payments=[PaymentLine(invoice.id)])
        where = instances.view(svc, u["admin@demo.example"], demo.company, made.id)
        instances.respond(svc, u["controller@demo.example"], demo.company, made.id,
                          occurrence=where.current_occurrence, answer="Approve")
        return made.id
    finally:
        svc.db.dispose()


