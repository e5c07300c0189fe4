"""/v1/companies/{cid}/bank-accounts: find the funding account a disbursement draws from (DSB-7), add one
(BANK-7), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.security.permissions import PAYMENTS_DISBURSER
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_problems import assert_problem


@pytest.mark.rule("BANK-1", "DSB-7")
def test_the_funding_account_is_listed_and_read_and_a_disbursement_can_name_it(api: Api) -> None:
    listed = api.admin.get(f"{api.c}/bank-accounts")
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [{"id": api.w.funding, "kind": "funding", "nickname": "Operating",
                                            "verification_status": "Pending Verification", "active": True}],
                                 "next_cursor": None}
    one = api.admin.get(f"{api.c}/bank-accounts/{api.w.funding}")
    assert one.status_code == 200 and one.get_json()["nickname"] == "Operating"
    invoice = api.w.invoice("1200.00")
    made = api.client(api.w.creator).post(f"{api.c}/disbursements", json={
        "project": api.w.project, "funding_account": listed.get_json()["items"][0]["id"],
        "payments": [{"invoice": invoice}]})
    assert made.status_code == 201 and made.get_json()["funding_account"] == api.w.funding


@pytest.mark.rule("BANK-7", "GEN-8")
def test_an_admin_adds_a_funding_account_once_per_key_and_nicknames_are_unique(api: Api) -> None:
    first = api.admin.post(f"{api.c}/bank-accounts", json={"nickname": "Payroll"},
                           headers={"Idempotency-Key": "add-payroll"})
    assert first.status_code == 201
    assert first.headers["Location"] == f"{api.c}/bank-accounts/{first.get_json()['id']}"
    again = api.admin.post(f"{api.c}/bank-accounts", json={"nickname": "Payroll"},
                           headers={"Idempotency-Key": "add-payroll"})
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert_problem(api.admin.post(f"{api.c}/bank-accounts", json={"nickname": "payroll"}), 409, "duplicate_nickname")
    page = api.admin.get(f"{api.c}/bank-accounts?kind=funding&limit=1").get_json()
    rest = api.admin.get(f"{api.c}/bank-accounts?kind=funding&limit=1&cursor={page['next_cursor']}").get_json()
    assert [a["nickname"] for a in page["items"] + rest["items"]] == ["Operating", "Payroll"]
    assert rest["next_cursor"] is None
    assert_problem(api.admin.post(f"{api.c}/bank-accounts", json={"nickname": "X", "number": "1"}), 422,
                   "validation_failed")


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_strangers_find_nothing_and_a_disburser_reads_but_does_not_add(api: Api) -> None:
    boss, other = api.other_company()
    stranger = api.client(boss)
    assert_problem(stranger.get(f"{api.c}/bank-accounts"), 404, "not_found")
    assert_problem(stranger.get(f"{api.c}/bank-accounts/{api.w.funding}"), 404, "not_found")
    assert_problem(api.admin.get(f"/v1/companies/{other}/bank-accounts"), 404, "not_found")
    disburser = api.client(api.person("dana", PAYMENTS_DISBURSER))
    assert disburser.get(f"{api.c}/bank-accounts").status_code == 200
    assert_problem(disburser.post(f"{api.c}/bank-accounts", json={"nickname": "Mine"}), 403, "permission_denied")
    outsider = api.client(api.person("olly"))
    assert_problem(outsider.get(f"{api.c}/bank-accounts"), 403, "permission_denied")
