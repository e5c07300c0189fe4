"""The inbox page in a browser: the steps waiting for the signed-in reviewer, overdue first with a
badge, due dates in the company's time zone, and each row's reason in words (STEP-5, STEP-9,
COND-13); `/` opens it; it works with the keyboard; screenshots and axe-core on each state."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, sign_out, totp_for
from tests.browser.workflow_history import make_history


def _demo(live: Live) -> Any:
    from engine.service.demo import find_demo
    from engine.services import Services
    from engine.store.db import Database

    svc = Services(Database(live.database_url))
    try:
        return find_demo(svc)
    finally:
        svc.db.dispose()


@pytest.fixture(scope="module")
def late(live: Live) -> Iterator[str]:
    """A disbursement left at Controller Review for eight days (overdue), made through the engine."""
    yield make_history(live.database_url)


@pytest.mark.rule("STEP-5", "STEP-9", "GEN-6")
def test_the_controller_sees_what_waits_overdue_first_with_the_reason(page, live, late) -> None:
    demo = _demo(live)
    sign_in(page, live, "controller@demo.example", totp_for(live, "controller@demo.example")())
    page.goto(f"{live.url}/")
    page.wait_for_url(re.compile(r".*/inbox$"))  # a signed-in person's day starts at the inbox
    assert page.get_by_role("link", name="Inbox").get_attribute("aria-current") == "page"
    rows = page.locator("tbody tr.inbox-row")
    assert rows.count() == 2
    first, second = rows.nth(0), rows.nth(1)
    assert first.get_attribute("data-disbursement") == late
    assert first.locator(".badge-bad").inner_text() == "Overdue"
    assert second.get_attribute("data-disbursement") == demo.disbursements["controller_review"]
    assert second.locator(".badge-bad").count() == 0
    assert second.locator(".inbox-reason").inner_text() == "Needs Controller review: the first step of the workflow"
    assert "$60,250.00" in second.inner_text() and "Riverside Tower" in second.inner_text()
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", second.locator(".inbox-due").inner_text())
    assert "time zone (America/New York)" in page.locator(".page-head").inner_text()
    assert page.locator(".inbox-stat.is-bad dd").inner_text() == "1"
    shoot(page, "inbox-controller")
    assert_accessible(page)

    # the keyboard alone: Tab to the first row's link, Enter opens the disbursement
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('inbox-link')"):
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/disbursements/{late}"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/disbursements/{late}$"))
    sign_out(page)


@pytest.mark.rule("COND-13")
def test_the_cfo_sees_the_disbursement_over_100k_and_why(page, live, late) -> None:
    demo = _demo(live)
    sign_in(page, live, "cfo@demo.example", totp_for(live, "cfo@demo.example")())
    page.goto(f"{live.url}/inbox")
    [row] = page.locator("tbody tr.inbox-row").all()
    assert row.get_attribute("data-disbursement") == demo.disbursements["cfo_review"]
    assert row.locator(".inbox-reason").inner_text() == \
        "Needs CFO review: disbursement amount $120,000.00 is over $100,000.00"
    assert "$120,000.00" in row.locator("td.num").inner_text()
    link = row.get_by_role("link", name="Riverside Tower")
    assert link.get_attribute("href") == f"/disbursements/{demo.disbursements['cfo_review']}"
    shoot(page, "inbox-cfo")
    assert_accessible(page)
    sign_out(page)


def test_someone_nothing_waits_for_sees_an_empty_inbox(page, live, late) -> None:
    sign_in(page, live, "disburser@demo.example", totp_for(live, "disburser@demo.example")())
    page.goto(f"{live.url}/inbox")
    assert page.get_by_role("heading", name="Nothing is waiting for you").is_visible()
    assert page.locator("tbody tr.inbox-row").count() == 0
    shoot(page, "inbox-empty")
    assert_accessible(page)


def test_the_inbox_needs_a_sign_in(page, live) -> None:
    page.goto(f"{live.url}/inbox")
    page.wait_for_url(re.compile(r".*/sign-in\?next=/inbox$"))
