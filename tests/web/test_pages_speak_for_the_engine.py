"""GEN-4: a page decides nothing. The same refused action through a page and through /v1 is the
same engine refusal — the page shows the problem's detail in words, with the status the API
gives — and neither changes anything; a page's success is the engine's command's success."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.store.tables import AuditEntry, Drawdown
from tests.payments.authorizing import make_ready
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture
from tests.web.test_bank_accounts_page import _browser, _csrf, _text, pages  # noqa: F401 - the fixture


def _count(api: Api, table) -> int:
    with api.svc.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(table)))


@pytest.mark.rule("GEN-4", "AUTH-5")
def test_a_refused_authorization_is_the_same_refusal_on_the_page_and_over_the_api(pages: Api, clock) -> None:
    api, w = pages, pages.w
    r = make_ready(api.svc, clock, w)
    d = r.disbursement(("640.00", None), approved_by=w.admin)  # the Admin approved its invoice: AUTH-5
    refusals = _count(api, AuditEntry)

    over_api = api.client(w.admin).post(f"{api.c}/disbursements/{d}/authorize", json={"mfa_code": r.admin.code()},
                                        headers={"Idempotency-Key": "gen-4"})
    problem = over_api.get_json()
    assert (over_api.status_code, problem["code"], problem["rule"]) == (403, "sod_violation", "AUTH-5")

    browser = _browser(api, clock, w.admin, "admin@gc.example")
    page = browser.get(f"/disbursements/{d}")
    assert page.status_code == 200 and "Authorize $640.00" in _text(page)
    sent = browser.post(f"/disbursements/{d}/authorize",
                        data={"csrf_token": _csrf(_text(page)), "mfa_code": r.admin.code()})
    assert sent.status_code == over_api.status_code and sent.mimetype == "text/html"
    assert problem["detail"] in _text(sent).replace("&#39;", "'")  # the engine's words, not the page's

    assert _count(api, Drawdown) == 0  # neither moved money
    assert _count(api, AuditEntry) >= refusals + 2  # each refusal audited by the engine (AUTH-8)
    assert api.client(w.admin).get(f"{api.c}/disbursements/{d}").get_json()["stage"] == "approved"

    # and what the page does is the engine's command: another Disburser authorizes there
    controller = _browser(api, clock, w.controller, "controller@gc.example")
    page = controller.get(f"/disbursements/{d}")
    done = controller.post(f"/disbursements/{d}/authorize",
                           data={"csrf_token": _csrf(_text(page)), "mfa_code": r.controller.code()})
    assert done.status_code == 302
    assert api.client(w.admin).get(f"{api.c}/disbursements/{d}").get_json()["stage"] == "authorized"
    assert _count(api, Drawdown) == 1
