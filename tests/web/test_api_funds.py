"""The money after authorization over HTTP (FLOW-3..FLOW-8, ROLL-3, ROLL-5), on SQLite and PostgreSQL:
GET .../funds, POST .../payments/{invoice}/reissue, the test drawdowns, and a project's sandbox switch.
The bank is the stored simulated one; the worker's work runs through its engine functions."""

from __future__ import annotations

import pytest

from engine.payments import stored_bank
from engine.payments.dispatch import move_money
from tests.payments.authorizing import make_ready
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_problems import assert_problem


@pytest.fixture
def ready(api: Api, clock):
    api.svc.clock = clock
    return api, make_ready(api.svc, clock, api.w)


def evening(clock) -> None:
    clock.moment = clock.moment.replace(hour=23, minute=0)  # 18:00 New York in March


@pytest.mark.rule("FLOW-3", "FLOW-4", "FLOW-5", "FLOW-8", "ST-5", "ST-6")
def test_the_funds_show_each_stage_and_a_failed_payment_is_reissued_once_per_key(ready) -> None:
    from engine.payments import account_lifecycle
    from engine.service.demo import seed_beneficiary_account

    api, r = ready
    stored_bank.credit(api.svc.db, stored_bank.PRODUCTION, r.w.funding, "5000.00", now=api.svc.now())
    d = r.disbursement(("800.00", None))
    url = f"{api.c}/disbursements/{d}/funds"
    before = api.admin.get(url).get_json()
    assert (before["stage"], before["drawdown"], before["payment_orders"]) == ("approved", None, [])
    made = api.admin.post(f"{api.c}/disbursements/{d}/authorize", json={"mfa_code": r.admin.code()},
                          headers={"Idempotency-Key": "a1"})
    assert made.status_code == 200, made.get_json()
    authorized = api.admin.get(url).get_json()
    assert authorized["stage"] == "authorized" and authorized["drawdown"]["status"] == "Funding Requested"
    [order] = authorized["payment_orders"]
    assert (order["status"], order["amount"], order["beneficiary_last4"]) == ("Not Initiated", "800.00", "9876")
    stored_bank.close(api.svc.db, stored_bank.PRODUCTION, order["beneficiary_account"], now=api.svc.now())
    move_money(api.svc)  # the drawdown is taken for today
    evening(r.w.svc.clock)
    move_money(api.svc)  # it settles; the order leaves
    r.w.svc.clock.advance(days=1)
    move_money(api.svc)  # the order fails: its account is closed
    failed = api.admin.get(url).get_json()
    assert failed["stage"] == "payment_failed" and failed["drawdown"]["status"] == "Funding Completed"
    assert [(o["status"], o["reason"]) for o in failed["payment_orders"]] == [("Failed", "the account is closed")]
    assert api.admin.get(f"{api.c}/disbursements/{d}").get_json()["stage"] == "payment_failed"
    listed = {i["id"]: i for i in api.admin.get(f"{api.c}/disbursements").get_json()["items"]}
    assert (listed[d]["stage"], listed[d]["sandbox"]) == ("payment_failed", False)  # the list says it too

    reissue = f"{api.c}/disbursements/{d}/payments/{order['invoice']}/reissue"
    assert_problem(api.admin.post(reissue, json={"mfa_code": r.admin.code()}), 400, "idempotency_key_required")
    # the payee designates a new account: the closed one deactivated, the new one Verified
    account_lifecycle.deactivate(api.svc, r.w.admin, r.w.company, order["beneficiary_account"],
                                 mfa_code=r.admin.code())
    r.w.svc.clock.advance(seconds=30)
    new = seed_beneficiary_account(api.svc, r.w.admin, r.w.company, r.w.payee("Acme Concrete"), approver=r.w.admin,
                                   account_number="771234567890")
    account_lifecycle.verify(api.svc, r.w.admin, r.w.company, new)
    r.w.svc.clock.advance(seconds=30)
    first = api.admin.post(reissue, json={"mfa_code": r.admin.code()}, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert (body["status"], body["reissue_of"], body["amount"], body["beneficiary_account"]) == (
        "Requested", order["id"], "800.00", new)
    assert body["check_number"] != order["check_number"] and body["requested_at"] is not None
    r.w.svc.clock.advance(seconds=30)
    again = api.admin.post(reissue, json={"mfa_code": r.admin.code()}, headers={"Idempotency-Key": "r1"})
    assert again.status_code == 200 and again.get_json() == body
    r.w.svc.clock.advance(seconds=30)
    assert_problem(api.admin.post(reissue, json={"mfa_code": r.admin.code()}, headers={"Idempotency-Key": "r2"}),
                   409, "invalid_state")
    move_money(api.svc)  # the new order leaves (after the cut-off: for the next banking day)
    r.w.svc.clock.advance(days=1)
    move_money(api.svc)
    paid = api.admin.get(url).get_json()
    assert paid["stage"] == "paid"
    assert [o["status"] for o in paid["payment_orders"]] == ["Failed", "Completed"]
    assert_problem(api.client(r.w.controller).post(reissue, json={"mfa_code": r.controller.code()},
                                                   headers={"Idempotency-Key": "r3"}), 403, "permission_denied")


@pytest.mark.rule("ROLL-5")
def test_a_test_drawdown_is_requested_listed_and_proves_the_account(ready) -> None:
    from engine.payments import account_lifecycle
    from engine.service.demo import seed_funding_account

    api, r = ready
    account = seed_funding_account(api.svc, r.w.admin, r.w.company, "Brand New", account_number="000999888777",
                                   tested=False)
    url = f"{api.c}/bank-accounts/{account}/test-drawdowns"
    assert_problem(api.admin.post(url, json={}), 409, "funding_account_not_ready")  # not Verified yet
    account_lifecycle.verify(api.svc, r.w.admin, r.w.company, account)
    made = api.admin.post(url, json={})
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["status"], made.get_json()["amount"]) == ("Funding Requested", "1.00")
    assert_problem(api.admin.post(url, json={"amount": "5.00"}), 422, "validation_failed")
    assert api.admin.get(f"{api.c}/bank-accounts/{account}").get_json()["tested_at"] is None
    stored_bank.credit(api.svc.db, stored_bank.PRODUCTION, account, "10.00", now=api.svc.now())
    move_money(api.svc)
    evening(r.w.svc.clock)
    move_money(api.svc)
    [done] = api.admin.get(url).get_json()["items"]
    assert done["status"] == "Funding Completed" and done["settled_at"] is not None
    assert api.admin.get(f"{api.c}/bank-accounts/{account}").get_json()["tested_at"] is not None
    assert_problem(api.client(r.w.controller).get(url), 403, "permission_denied")


@pytest.mark.rule("ROLL-3")
def test_a_project_and_a_company_are_put_in_sandbox_mode_by_an_admin(ready) -> None:
    api, r = ready
    project = api.admin.patch(f"{api.c}/projects/{r.w.project}", json={"sandbox": True})
    assert project.status_code == 200 and project.get_json()["sandbox"] is True
    company = api.admin.patch(api.c, json={"sandbox": True})
    assert company.status_code == 200 and company.get_json()["sandbox"] is True
    assert_problem(api.admin.patch(api.c, json={"sandbox": "yes"}), 422, "validation_failed")
    assert_problem(api.client(r.w.controller).patch(api.c, json={"sandbox": False}), 403, "permission_denied")
