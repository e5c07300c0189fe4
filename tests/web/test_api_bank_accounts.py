"""/v1/companies/{cid}/bank-accounts and the additions and actions on them (BANK-1..BANK-14, MFA-8, DSB-7),
on SQLite and PostgreSQL. The service's clock is the test's, so TOTP codes come from it."""

from __future__ import annotations

import logging

import pytest

from engine.security.permissions import BENEFICIARY_APPROVER, PAYMENTS_DISBURSER
from tests.payments.banking import ROUTING, Authenticator
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_problems import assert_problem

FULL = "000123456789"


def typed(number: str = FULL, routing: str = ROUTING, **extra: object) -> dict[str, object]:
    return {"routing_number": routing, "routing_number_confirmation": routing, "account_number": number,
            "account_number_confirmation": number, **extra}


@pytest.fixture
def bank(api: Api, clock) -> tuple[Api, Authenticator, str]:
    """The API with the service on the test clock, the Admin enrolled, and a deposit account."""
    api.svc.clock = clock
    admin = Authenticator(api.svc, clock, api.w.company, api.w.admin)
    made = api.admin.post(f"{api.c}/deposit-accounts", json=typed(
        "55550000111", nickname="Main deposit", bank_name="Partner Bank", holder_name="GC Builders"))
    assert made.status_code == 201, made.get_json()
    return api, admin, made.get_json()["id"]


def funding_body(deposit: str, code: str, **extra: object) -> dict[str, object]:
    return typed(**{"nickname": "Payroll", "bank_name": "First Bank", "holder_name": "GC Builders",
                    "deposit_account": deposit, "mfa_code": code, **extra})


@pytest.mark.rule("BANK-1", "DSB-7")
def test_the_funding_account_is_listed_and_read_and_a_disbursement_can_name_it(api: Api) -> None:
    listed = api.admin.get(f"{api.c}/bank-accounts?kind=funding")
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert (item["id"], item["kind"], item["nickname"], item["verification_status"], item["active"]) == (
        api.w.funding, "funding", "Operating", "Pending Verification", True)
    assert item["last4"] == "6789" and item["routing_number"] == ROUTING and item["is_default"] is False
    assert listed.get_json()["next_cursor"] is None
    one = api.admin.get(f"{api.c}/bank-accounts/{api.w.funding}")
    assert one.status_code == 200 and one.get_json()["nickname"] == "Operating"
    invoice = api.w.invoice("1200.00")
    made = api.client(api.w.creator).post(f"{api.c}/disbursements", json={
        "project": api.w.project, "funding_account": item["id"], "payments": [{"invoice": invoice}]})
    assert made.status_code == 201 and made.get_json()["funding_account"] == api.w.funding


@pytest.mark.rule("BANK-7", "BANK-8", "MFA-8", "GEN-8")
def test_an_admin_adds_a_funding_account_with_a_code_once_per_key_and_never_sees_the_number(
        bank, caplog) -> None:
    api, admin, deposit = bank
    caplog.set_level(logging.DEBUG)
    code = admin.code()
    mismatch = funding_body(deposit, code)
    mismatch["account_number_confirmation"] = "000123456780"
    problem = api.admin.post(f"{api.c}/funding-accounts", json=mismatch).get_json()
    assert_problem(api.admin.post(f"{api.c}/funding-accounts", json=mismatch), 422, "invalid_bank_account")
    assert problem["rule"] == "BANK-7" and FULL not in str(problem)
    assert_problem(api.admin.post(f"{api.c}/funding-accounts", json=funding_body(
        deposit, code, routing_number="021000022", routing_number_confirmation="021000022")), 422,
        "invalid_bank_account")
    first = api.admin.post(f"{api.c}/funding-accounts", json=funding_body(deposit, code),
                           headers={"Idempotency-Key": "add-payroll"})
    assert first.status_code == 201, first.get_json()  # the refusals above did not spend the code
    body = first.get_json()
    assert first.headers["Location"] == f"{api.c}/bank-accounts/{body['id']}"
    assert (body["last4"], body["deposit_account"], body["is_default"]) == ("6789", deposit, False)
    assert FULL not in first.get_data(as_text=True) and "mfa_code" not in body
    again = api.admin.post(f"{api.c}/funding-accounts", json=funding_body(deposit, admin.code()),
                           headers={"Idempotency-Key": "add-payroll"})
    assert (again.status_code, again.get_json()) == (201, body)
    assert_problem(api.admin.post(f"{api.c}/funding-accounts", json=funding_body(deposit, admin.code(),
                                                                                nickname="payroll")),
                   409, "duplicate_nickname")
    assert_problem(api.admin.post(f"{api.c}/funding-accounts", json=funding_body(deposit, admin.wrong(),
                                                                                nickname="Reserve")),
                   403, "mfa_failed")
    assert_problem(api.admin.post(f"{api.c}/funding-accounts", json={"nickname": "X"}), 422, "validation_failed")
    assert FULL not in caplog.text and code not in caplog.text


@pytest.mark.rule("BANK-3", "BANK-9", "BANK-10", "BANK-4")
def test_verification_default_and_deactivation_over_http(bank) -> None:
    api, admin, deposit = bank
    a = api.admin.post(f"{api.c}/funding-accounts", json=funding_body(deposit, admin.code())).get_json()["id"]
    b = api.admin.post(f"{api.c}/funding-accounts", json=funding_body(
        deposit, admin.code(), nickname="Reserve")).get_json()["id"]
    url = f"{api.c}/bank-accounts"
    assert_problem(api.admin.post(f"{url}/{b}/default", json={"mfa_code": admin.code()}), 409,
                   "bank_account_not_verified")
    assert api.admin.post(f"{url}/{a}/verification", json={"outcome": "verified"}).get_json()["is_default"] is True
    failed = api.admin.post(f"{url}/{b}/verification", json={"outcome": "failed", "reason": "old statement"})
    assert failed.get_json()["verification_status"] == "Verification Failed"
    assert_problem(api.admin.post(f"{url}/{b}/verification", json={"outcome": "verified"}), 409,
                   "verification_not_allowed")
    today = api.svc.now().date().isoformat()
    back = api.admin.post(f"{url}/{b}/verification", json={"outcome": "evidence", "statement_date": today,
                                                           "last4": "6789"})
    assert back.get_json()["verification_status"] == "Pending Verification"
    api.admin.post(f"{url}/{b}/verification", json={"outcome": "verified"})
    assert_problem(api.admin.post(f"{url}/{a}/deactivate", json={"mfa_code": admin.code()}), 409,
                   "default_funding_account")
    made = api.admin.post(f"{url}/{b}/default", json={"mfa_code": admin.code()})
    assert made.status_code == 200 and made.get_json()["is_default"]
    gone = api.admin.post(f"{url}/{a}/deactivate", json={"mfa_code": admin.code()})
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    assert_problem(api.admin.post(f"{url}/{a}/deactivate", json={"mfa_code": admin.code()}), 409,
                   "bank_account_deactivated")


@pytest.mark.rule("BANK-12", "BANK-14", "ROLE-5")
def test_beneficiary_accounts_are_added_designated_and_approved_over_http(bank) -> None:
    api, admin, _ = bank
    payee = api.w.payee("Acme Concrete")
    body = typed("44443333", payee_company=payee, bank_name="Acme Bank", holder_name="Acme Concrete LLC")
    first = api.admin.post(f"{api.c}/beneficiary-accounts", json={**body, "mfa_code": admin.code()})
    assert first.status_code == 201, first.get_json()
    one = first.get_json()
    assert (one["payee_company"], one["designated"], one["approved"], one["last4"]) == (payee, True, False, "3333")
    second = api.admin.post(f"{api.c}/beneficiary-accounts", json={
        **typed("55556666", payee_company=payee, bank_name="Acme Bank", holder_name="Acme Concrete LLC"),
        "mfa_code": admin.code()}).get_json()
    assert second["designated"] is False
    moved = api.admin.post(f"{api.c}/bank-accounts/{second['id']}/designate", json={"mfa_code": admin.code()})
    assert moved.status_code == 200 and moved.get_json()["designated"]
    assert api.admin.get(f"{api.c}/bank-accounts/{one['id']}").get_json()["designated"] is False
    assert_problem(api.admin.post(f"{api.c}/bank-accounts/{one['id']}/approve", json={"mfa_code": admin.code()}),
                   403, "permission_denied")
    approver_id = api.person("abby", BENEFICIARY_APPROVER)
    approver = Authenticator(api.svc, admin.clock, api.w.company, approver_id)
    approved = api.client(approver_id).post(f"{api.c}/bank-accounts/{second['id']}/approve",
                                            json={"mfa_code": approver.code()})
    assert approved.status_code == 200 and approved.get_json()["approved"] is True


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_strangers_find_nothing_and_a_disburser_reads_but_does_not_add(api: Api) -> None:
    boss, other = api.other_company()
    stranger = api.client(boss)
    assert_problem(stranger.get(f"{api.c}/bank-accounts"), 404, "not_found")
    assert_problem(stranger.get(f"{api.c}/bank-accounts/{api.w.funding}"), 404, "not_found")
    assert_problem(api.admin.get(f"/v1/companies/{other}/bank-accounts"), 404, "not_found")
    disburser = api.client(api.person("dana", PAYMENTS_DISBURSER))
    assert disburser.get(f"{api.c}/bank-accounts").status_code == 200
    body = typed(nickname="Mine", bank_name="B", holder_name="H")
    assert_problem(disburser.post(f"{api.c}/deposit-accounts", json=body), 403, "permission_denied")
    assert_problem(stranger.post(f"{api.c}/deposit-accounts", json=body), 404, "not_found")
    outsider = api.client(api.person("olly"))
    assert_problem(outsider.get(f"{api.c}/bank-accounts"), 403, "permission_denied")


@pytest.mark.rule("ROLE-6", "BANK-12", "GEN-5")
def test_a_payee_admin_adds_its_own_beneficiary_account_on_the_payor_list(bank) -> None:
    from tests.payments.test_bank_accounts import payee_admin

    api, admin, _ = bank
    payee = api.w.payee("Acme Concrete")
    theirs_id = payee_admin(api.svc, payee)
    theirs = Authenticator(api.svc, admin.clock, payee, theirs_id)
    body = typed("77778888", payee_company=payee, bank_name="Acme Bank", holder_name="Acme Concrete LLC")
    code = theirs.code()
    made = api.client(theirs_id).post(f"{api.c}/beneficiary-accounts", json={**body, "mfa_code": code})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["designated"] and code not in made.get_data(as_text=True)
    assert "77778888" not in made.get_data(as_text=True)
    other = api.w.payee("Bay Steel")  # the admin of Acme is a stranger to Bay Steel's accounts
    assert_problem(api.client(theirs_id).post(f"{api.c}/beneficiary-accounts", json={
        **body, "payee_company": other, "mfa_code": theirs.code()}), 404, "not_found")
