"""The Bank accounts page's refusals through Flask's test client (issue 13, BANK-8, BANK-9, ROLE-2, GEN-5),
on SQLite and PostgreSQL: every refusal is the engine's, shown in words on the page with a 4xx status
and nothing changed; a form without its CSRF token changes nothing either. The browser test
(tests/browser/test_bank_accounts_page.py) walks the page's successes. Adding an account (BANK-1, BANK-5..BANK-8,
BANK-12, MFA-8) is tested here too: each refusal at its field, the numbers never echoed back."""

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


# ---------------------------------------------------------------- adding an account

ROUTING = "021000021"  # passes the ABA checksum
NUMBER = "000444000987"


def _field_error(html: str, name: str) -> str:
    """The error shown at the form field ``name`` (the field macro's ``f-<name>-error``)."""
    found = re.search(rf'<input id="f-{name}"[^>]*aria-invalid="true"[^>]*>\s*<p class="field-error" '
                      rf'id="f-{name}-error">([^<]+)</p>', html)
    assert found, f"no error at {name}"
    return found[1]


def _numbers_empty(html: str) -> None:
    """BANK-8: a re-rendered form gives none of the four number fields a value back, and says so."""
    for name in ("routing_number", "routing_number_confirmation", "account_number", "account_number_confirmation"):
        tag = re.search(rf'<input id="f-{name}"[^>]*>', html)
        assert tag and 'value=""' in tag[0] and 'autocomplete="off"' in tag[0] and 'inputmode="numeric"' in tag[0]
    assert "not shown again" in html


def _funding(token: str, code: str, deposit: str, **changes: str) -> dict[str, str]:
    return {"csrf_token": token, "nickname": "Equipment Reserve", "bank_name": "First Harbor Bank",
            "holder_name": "GC Builders LLC", "routing_number": ROUTING, "routing_number_confirmation": ROUTING,
            "account_number": NUMBER, "account_number_confirmation": NUMBER, "deposit_account": deposit,
            "mfa_code": code, **changes}


def _funding_count(api: Api) -> int:
    w = api.w
    return len([a for a in bank_accounts.list_bank_accounts(api.svc, w.admin, w.company, limit=100).items
                if a.kind == "funding"])


@pytest.mark.rule("BANK-1", "BANK-5", "BANK-6", "BANK-7", "BANK-8", "MFA-8")
def test_an_admin_adds_accounts_each_refusal_at_its_field_and_the_numbers_never_echoed(pages: Api, clock) -> None:
    api, w = pages, pages.w
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    codes = Authenticator(api.svc, clock, w.company, w.admin)
    form = admin.get("/bank-accounts/new?kind=deposit")
    assert form.status_code == 200 and "New deposit account" in _text(form)
    token = _csrf(_text(form))

    # a deposit account first (no code: BANK-5), through the engine's add_deposit_account
    made = admin.post("/bank-accounts/new/deposit", data={
        "csrf_token": token, "nickname": "Main Transaction", "bank_name": "First Harbor Bank",
        "holder_name": "GC Builders LLC", "routing_number": ROUTING, "routing_number_confirmation": ROUTING,
        "account_number": "000444000555", "account_number_confirmation": "000444000555"})
    assert made.status_code == 302 and "/bank-accounts#acct-" in made.headers["Location"]
    deposit = made.headers["Location"].rsplit("#acct-", 1)[1]
    assert bank_accounts.read_bank_account(api.svc, w.admin, w.company, deposit).kind == "deposit"
    before = _funding_count(api)

    # BANK-7: the second account number differs: refused at that field, no number echoed, nothing added
    mismatched = admin.post("/bank-accounts/new/funding",
                            data=_funding(token, codes.code(), deposit, account_number_confirmation="000444000988"))
    html = _text(mismatched)
    assert mismatched.status_code == 422 and mismatched.mimetype == "text/html"
    assert "match" in _field_error(html, "account_number_confirmation").lower()
    assert NUMBER not in html and "000444000988" not in html and ROUTING not in html
    _numbers_empty(html)
    assert 'value="Equipment Reserve"' in html  # what is not a number is kept
    assert _funding_count(api) == before

    # BANK-8: a routing number failing the ABA checksum, refused at the routing number
    bad = admin.post("/bank-accounts/new/funding", data=_funding(token, codes.code(), deposit,
                                                                  routing_number="021000022",
                                                                  routing_number_confirmation="021000022"))
    html = _text(bad)
    assert bad.status_code == 422 and "021000022" not in html and NUMBER not in html
    assert "checksum" in _field_error(html, "routing_number").lower() or \
        "routing" in _field_error(html, "routing_number").lower()
    _numbers_empty(html)
    assert _funding_count(api) == before

    # MFA-8: a wrong code, refused at the code field (checked last, AUTH-4), never echoed
    wrong = codes.wrong()
    refused = admin.post("/bank-accounts/new/funding", data=_funding(token, wrong, deposit))
    html = _text(refused)
    assert refused.status_code == 403 and _field_error(html, "mfa_code")
    assert f'value="{wrong}"' not in html and NUMBER not in html
    assert _funding_count(api) == before

    # done: listed Pending Verification by its last four digits only
    added = admin.post("/bank-accounts/new/funding", data=_funding(token, codes.code(), deposit))
    assert added.status_code == 302
    new_id = added.headers["Location"].rsplit("#acct-", 1)[1]
    view = bank_accounts.read_bank_account(api.svc, w.admin, w.company, new_id)
    assert (view.kind, view.nickname, view.last4, view.deposit_account_id, view.verification_status) \
        == ("funding", "Equipment Reserve", "0987", deposit, "Pending Verification")
    listed = _text(admin.get("/bank-accounts"))
    assert "Equipment Reserve" in listed and "····0987" in listed and NUMBER not in listed
    assert "(····0987) is added" in listed  # the flashed message, by the last four too

    # BANK-7: the nickname is unique ignoring case: refused at the nickname
    again = admin.post("/bank-accounts/new/funding", data=_funding(token, codes.code(), deposit,
                                                                    nickname="equipment reserve"))
    assert again.status_code == 409 and "equipment reserve" in _field_error(_text(again), "nickname").lower()
    assert _funding_count(api) == before + 1


@pytest.mark.rule("BANK-12", "MFA-8")
def test_an_admin_adds_a_payees_beneficiary_account(pages: Api, clock) -> None:
    api, w = pages, pages.w
    payee = w.payee("Acme Concrete")
    admin = _browser(api, clock, w.admin, "admin@gc.example")
    codes = Authenticator(api.svc, clock, w.company, w.admin)
    page = admin.get("/bank-accounts/new?kind=beneficiary")
    assert page.status_code == 200
    body = {"csrf_token": _csrf(_text(page)), "payee_company": payee, "nickname": "", "bank_name": "Harbor Savings",
            "holder_name": "Acme Concrete Inc.", "routing_number": ROUTING, "routing_number_confirmation": ROUTING,
            "account_number": "000999000444", "account_number_confirmation": "000999000444"}
    unknown = admin.post("/bank-accounts/new/beneficiary",
                         data={**body, "payee_company": w.company, "mfa_code": codes.code()})  # not a payee
    assert unknown.status_code == 404 and "no such payee company" in \
        _text(unknown).lower() and "000999000444" not in _text(unknown)
    added = admin.post("/bank-accounts/new/beneficiary", data={**body, "mfa_code": codes.code()})
    assert added.status_code == 302
    view = bank_accounts.read_bank_account(api.svc, w.admin, w.company, added.headers["Location"].rsplit("#acct-")[1])
    assert (view.kind, view.payee_company_id, view.last4, view.approved) == ("beneficiary", payee, "0444", False)
    assert view.designated  # BANK-12: the payee's only active account


@pytest.mark.rule("ROLE-1")
def test_only_a_payments_admin_is_given_the_forms_and_the_engine_refuses_anyone_else(pages: Api, clock) -> None:
    api, w = pages, pages.w
    disburser = api.person("disburser", "payments_disburser")
    client = _browser(api, clock, disburser, "disburser@gc.example")
    listing = _text(client.get("/bank-accounts"))
    assert "/bank-accounts/new" not in listing
    form = client.get("/bank-accounts/new?kind=deposit")
    assert form.status_code == 403 and "Payments Admin" in _text(form) and "Routing number" not in _text(form)
    refused = client.post("/bank-accounts/new/deposit", data={
        "csrf_token": _csrf(listing), "nickname": "Sneaky", "bank_name": "B", "holder_name": "H",
        "routing_number": ROUTING, "routing_number_confirmation": ROUTING, "account_number": "000111",
        "account_number_confirmation": "000111"})
    assert refused.status_code == 403 and "Adding a deposit account needs Payments Admin" in _text(refused)
    assert not [a for a in bank_accounts.list_bank_accounts(api.svc, w.admin, w.company, limit=100).items
                if a.nickname == "Sneaky"]
