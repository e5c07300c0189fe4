"""POST /v1/companies/{cid}/disbursements/{did}/authorize (AUTH-2..AUTH-11, GEN-8), on SQLite and
PostgreSQL: Idempotency-Key required (400 without), problems as problem+json, the code never echoed."""

from __future__ import annotations

import logging

import pytest

from tests.payments.authorizing import make_ready
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_problems import assert_problem


@pytest.fixture
def ready(api: Api, clock):
    api.svc.clock = clock
    return api, make_ready(api.svc, clock, api.w)


@pytest.mark.rule("AUTH-11", "GEN-8")
def test_an_admin_authorizes_once_per_key_and_the_code_is_never_echoed_or_logged(ready, caplog) -> None:
    api, r = ready
    caplog.set_level(logging.DEBUG)
    d = r.disbursement(("1000.00", None), ("250.50", None))
    url = f"{api.c}/disbursements/{d}/authorize"
    code = r.admin.code()
    assert_problem(api.admin.post(url, json={"mfa_code": code}), 400, "idempotency_key_required")
    first = api.admin.post(url, json={"mfa_code": code}, headers={"Idempotency-Key": "auth-1"})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["drawdown_status"] == "Funding Requested" and body["drawdown_amount"] == "1250.50"
    assert [o["amount"] for o in body["payment_orders"]] == ["1000.00", "250.50"]
    assert [o["check_number"] for o in body["payment_orders"]] == ["1", "2"]
    assert body["payment_orders"][0]["beneficiary_last4"] == "9876"
    assert first.headers["ETag"] == f'"{body["version"]}"'
    again = api.admin.post(url, json={"mfa_code": r.admin.code()}, headers={"Idempotency-Key": "auth-1"})
    assert again.status_code == 200 and again.get_json() == body
    later = api.admin.post(url, json={"mfa_code": r.admin.code()}, headers={"Idempotency-Key": "auth-2"})
    assert_problem(later, 409, "disbursement_authorized")
    shown = api.admin.get(f"{api.c}/disbursements/{d}").get_json()  # the detail GET shows who and when
    assert shown["authorized_by"] == body["authorized_by"] == api.w.admin
    assert shown["authorized_at"] is not None and shown["drawdown_status"] == "Funding Requested"
    for response in (first, again, later):
        assert code not in response.get_data(as_text=True)
    assert code not in caplog.text


@pytest.mark.rule("AUTH-4", "AUTH-5", "AUTH-10")
def test_refusals_are_problems_and_a_wrong_code_is_403(ready) -> None:
    api, r = ready
    d = r.disbursement(("1000.00", "100.00"))
    url = f"{api.c}/disbursements/{d}/authorize"
    key = {"Idempotency-Key": "k1"}
    wrong = r.admin.wrong()
    assert_problem(api.admin.post(url, json={"mfa_code": wrong}, headers=key), 422, "partial_payment_unconfirmed")
    refused = api.admin.post(url, json={"mfa_code": wrong, "confirm_partial": True}, headers={"Idempotency-Key": "k2"})
    assert_problem(refused, 403, "mfa_failed")
    assert wrong not in refused.get_data(as_text=True)
    barred = r.disbursement(approved_by=r.w.admin)
    sod = api.admin.post(f"{api.c}/disbursements/{barred}/authorize", json={"mfa_code": r.admin.code()},
                         headers={"Idempotency-Key": "k3"})
    assert_problem(sod, 403, "sod_violation")
    assert_problem(api.admin.post(url, json={"mfa_code": 123456}, headers={"Idempotency-Key": "k4"}), 422,
                   "validation_failed")
    long = api.admin.post(url, json={"mfa_code": "9876543210987"}, headers={"Idempotency-Key": "k6"})
    assert_problem(long, 422, "validation_failed")
    assert "9876543210987" not in long.get_data(as_text=True)
    ok = api.admin.post(url, json={"mfa_code": r.admin.code(), "confirm_partial": True},
                        headers={"Idempotency-Key": "k5", "If-Match": '"999"'})
    assert_problem(ok, 412, "precondition_failed")
