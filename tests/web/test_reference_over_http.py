"""The reference workflow end to end over HTTP (DSB-8, RESP-*, END-*, AUD-7): create, answer, approve
or reject, read the history and the queued emails — through Flask's test client, on SQLite and on
PostgreSQL when PAYROUTE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import pytest

from tests.web.http_world import HttpWorld, http_world


@pytest.fixture
def hw(make_app, database_url, clock) -> HttpWorld:
    return http_world(make_app, database_url, clock)


def _history(hw: HttpWorld, d: str) -> list[str]:
    response = hw.as_("admin").get(f"{hw.base}/disbursements/{d}/history")
    assert response.status_code == 200
    body = response.get_json()
    assert body["disbursement"] == d and body["scope"] == "complete"
    return [e["action"] for e in body["events"]]


@pytest.mark.rule("DSB-8", "COND-10", "STEP-11", "END-2", "END-3", "END-4", "AUD-7", "GEN-2")
def test_over_100k_the_controller_then_the_cfo_approve(hw: HttpWorld, clock) -> None:
    created = hw.create("120000.00", "5000.50")
    d = created["id"]
    assert (created["workflow_status"], created["total"], created["is_draft"]) == ("Under Review", "125000.50", False)
    assert [p["amount"] for p in created["payments"]] == ["120000.00", "5000.50"]  # money as strings (GEN-2)

    got = hw.get(d)
    assert got.status_code == 200 and got.headers["ETag"] == f'"{got.get_json()["version"]}"'
    flow = got.get_json()["workflow"]
    assert (flow["status"], flow["workflow_status"], flow["manager"]) == ("active", "Under Review", hw.world.manager)
    current = flow["current"]
    assert (current["step"], current["awaited"], current["answers"]) == (
        "Controller Review", [hw.world.controller], ["Approve", "Reject"])
    assert current["due_date"] == "2026-03-07" and current["overdue"] is False  # 5 calendar days (STEP-9)
    assert current["status_text"] == "Under Review" == flow["status_text"]
    assert sorted(hw.emails("step_entered")) == sorted([("controller@gc.example", "step_entered"),
                                                        ("manager@gc.example", "step_entered"),
                                                        ("creator@gc.example", "step_entered")])

    clock.advance(hours=1)
    first = hw.answer(d, "controller", "Approve")
    assert first.status_code == 200
    assert first.get_json()["current_step"] == "CFO Review" and first.get_json()["workflow_status"] == "Under Review"
    assert first.headers["ETag"] == f'"{first.get_json()["version"]}"' == hw.get(d).headers["ETag"]
    flow = hw.get(d).get_json()["workflow"]
    assert flow["path"] == ["Controller Review", "> $100,000.00", "CFO Review"]
    assert flow["current"]["awaited"] == [hw.world.cfo]

    clock.advance(hours=1)
    second = hw.answer(d, "cfo", "Approve")
    assert second.status_code == 200 and second.get_json()["workflow_status"] == "Approved"
    final = hw.get(d).get_json()
    assert final["workflow_status"] == "Approved"
    assert (final["workflow"]["status"], final["workflow"]["end_step"], final["workflow"]["outcome"],
            final["workflow"]["current"], final["workflow"]["status_text"]) == (
        "ended", "Approved", "success", None, "Approved")

    assert _history(hw, d) == ["workflow_started", "step_entered", "response_submitted", "step_decided",
                               "condition_decided", "step_entered", "response_submitted", "step_decided",
                               "end_reached"]
    ends = {r for r, _ in hw.emails("end_reached")}
    assert ends == {"controller@gc.example", "cfo@gc.example", "manager@gc.example", "creator@gc.example"}
    assert hw.emails("approved")  # END-4: who may authorize is invited


@pytest.mark.rule("COND-10", "END-2")
def test_at_most_100k_the_controller_alone_approves(hw: HttpWorld) -> None:
    d = hw.create("100000.00")["id"]  # `>` $100,000.00: exactly $100,000.00 skips the CFO (COND-10)
    response = hw.answer(d, "controller", "Approve")
    assert response.status_code == 200
    assert (response.get_json()["workflow_status"], response.get_json()["current_step"]) == ("Approved", None)
    flow = hw.get(d).get_json()["workflow"]
    assert flow["path"] == ["Controller Review", "> $100,000.00", "Approved"]
    assert "cfo@gc.example" not in {r for r, _ in hw.emails("step_entered")}  # no CFO Review was entered
    assert _history(hw, d)[-1] == "end_reached"


@pytest.mark.rule("END-2", "END-3")
def test_the_controller_rejects(hw: HttpWorld) -> None:
    d = hw.create("250000.00")["id"]
    response = hw.answer(d, "controller", "Reject")
    assert response.status_code == 200 and response.get_json()["workflow_status"] == "Rejected"
    flow = hw.get(d).get_json()["workflow"]
    assert (flow["status"], flow["outcome"], flow["end_step"], flow["status_text"]) == (
        "ended", "failure", "Rejected", "Rejected")
    assert flow["path"] == ["Controller Review", "Rejected"]
    assert _history(hw, d) == ["workflow_started", "step_entered", "response_submitted", "step_decided",
                               "end_reached"]
    assert {r for r, _ in hw.emails("end_reached")} == {"controller@gc.example", "manager@gc.example",
                                                        "creator@gc.example"}
    assert hw.emails("approved") == []
    # the Rejected disbursement is listed as such (ST-1)
    listed = hw.as_("admin").get(f"{hw.base}/disbursements?status=Rejected").get_json()["items"]
    assert [i["id"] for i in listed] == [d]
