"""The Bank accounts page's refusals through Flask's test client (issue 13, BANK-8, BANK-9, ROLE-2, GEN-5),
on SQLite and PostgreSQL: every refusal is the engine's, shown in words on the page with a 4xx status
and nothing changed; a form without its CSRF token changes nothing either. The browser test
(tests/browser/test_bank_accounts_page.py) walks the page's successes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.payments import bank_accounts
from engine.security import sign_in
from engine.service.demo import seed_funding_account
from tests.payments.banking import Authenticator
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture

PASSWORD = "a long enough test password"


@pytest.fixture
def pages(api: Api, clock, monkeypatch) -> Api:  # noqa: F811 - the fixture above
    monkeypatch.setenv("PAYROUTE_COOKIE_SECURE", "0")  # the test client speaks plain http
    api.app.config["SESSION_COOKIE_SECURE"] = False
    api.app.config["SECRET_KEY"] = "a test secret key of thirty-two+ chars"  # signs the CSRF token
    api.svc.clock = clock
    return api


def _browser(api: Api, clock, user: str, email: str, *, code: bool = True) -> Any:
    """A test client signed in as ``user`` through the engine's sign-in, its session in the cookie."""
    sign_in.set_password(api.svc, email, PASSWORD)
    kwargs = {"code": Authenticator(api.svc, clock, api.w.company, user).code()} if code else {}
    signed = sign_in.sign_in(api.svc, email, PASSWORD, **kwargs)
    client = api.app.test_client()
    client.set_cookie("payroute_session", signed.token, domain="localhost")
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found[1]


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.mark.rule("BANK-8", "BANK-9", "GEN-5")
def test_refusals_are_the_engines_words_on_the_page_and_change_nothing(pages: Api, clock) -> None:
    api, w = pages, pages.w
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    pending = seed_funding_account(api.svc, w.admin, w.company, "Payroll Reserve", account_number="000555000111",
                                   tested=False)
    page = admin.get("/bank-accounts")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = _text(page)
    assert "····0111" in html and "000555000111" not in html  # BANK-8: the last four only
    token = _csrf(html)

    # BANK-9: only a Verified account is made default: refused in the engine's words at its form
    refused = admin.post(f"/bank-accounts/{pending}/default", data={"csrf_token": token,
                                                                   "mfa_code": "123456"})
    assert refused.status_code == 409 and refused.mimetype == "text/html"
    body = _text(refused)
    assert "Only a Verified account can be the default" in body
    assert 'role="alert"' in body and f'id="err-default-{pending}"' in body and "Traceback" not in body
    assert "123456" not in body  # a code is never echoed
    assert not bank_accounts.read_bank_account(api.svc, w.admin, w.company, pending).is_default

    # GEN-5: an account id that is not the company's finds nothing
    missing = admin.post("/bank-accounts/0123456789abcdef0123456789abcdef/verify", data={"csrf_token": token})
    assert missing.status_code == 404 and "No such bank account" in _text(missing)

    # a form without its CSRF token is refused before the engine is asked
    forged = admin.post(f"/bank-accounts/{pending}/verify", data={})
    assert forged.status_code == 400 and "CSRF" in _text(forged)
    assert bank_accounts.read_bank_account(api.svc, w.admin, w.company, pending).verification_status \
        == "Pending Verification"


@pytest.mark.rule("ROLE-2")
def test_a_member_who_may_not_read_bank_accounts_is_told_why(pages: Api, clock) -> None:
    api = pages
    viewer = api.person("viewer")  # a member with no role that reads bank accounts
    response = _browser(api, clock, viewer, "viewer@gc.example", code=False).get("/bank-accounts")
    assert response.status_code == 403 and response.mimetype == "text/html"
    body = _text(response)
    assert "viewing bank accounts" in body.lower() and "Ask an Admin" in body and "····" not in body
