"""/v1 disbursements, drafts and workflow actions over HTTP: who may (GEN-5: a stranger or another
company's object is 404 on every endpoint), ETag/If-Match (412, 428, 400), Idempotency-Key replays
(GEN-8), lists with filters and stable pages — on SQLite, and PostgreSQL when configured."""

from __future__ import annotations

from typing import Any

import pytest

from engine.service import directory
from engine.security.permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
from tests.roles import grant_role, revoke_role
from tests.web.http_world import HttpWorld, http_world
from tests.web.test_problems import assert_problem


@pytest.fixture
def hw(make_app, database_url, clock) -> HttpWorld:
    return http_world(make_app, database_url, clock)


def _transitions(hw: HttpWorld, d: str) -> list[str]:
    events = hw.as_("admin").get(f"{hw.base}/disbursements/{d}/history").get_json()["events"]
    return [e["action"] for e in events if e["action"] == "response_submitted"]


# ---------------------------------------------------------------- GEN-5: strangers find nothing


def _every_endpoint(base: str, d: str, draft: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    one = f"{base}/disbursements/{d}"
    return [
        ("GET", f"{base}/disbursements", None),
        ("POST", f"{base}/disbursements", {"project": "p" * 32, "funding_account": "f" * 32,
                                           "payments": [{"invoice": "i" * 32}]}),
        ("GET", one, None),
        ("PUT", f"{one}/payments", {"payments": [{"invoice": "i" * 32}]}),
        ("POST", f"{one}/cancel", {"reason": "duplicate"}),
        ("GET", f"{one}/workflow", None),
        ("POST", f"{one}/workflow/start", {}),
        ("POST", f"{one}/workflow/responses", {"occurrence": 1, "answer": "Approve"}),
        ("POST", f"{one}/workflow/restart", {"reason": "again"}),
        ("POST", f"{one}/workflow/return", {"step": "Controller Review", "reason": "again"}),
        ("POST", f"{one}/workflow/assignees", {"users": ["u" * 32], "reason": "vacation"}),
        ("POST", f"{one}/workflow/terminate", {"reason": "wrong payee"}),
        ("POST", f"{one}/workflow/manager", {"manager": "u" * 32, "reason": "left"}),
        ("GET", f"{one}/history", None),
        ("GET", f"{base}/disbursement-drafts", None),
        ("POST", f"{base}/disbursement-drafts", {"project": "p" * 32}),
        ("GET", f"{base}/disbursement-drafts/{draft}", None),
        ("PUT", f"{base}/disbursement-drafts/{draft}/payments", {"payments": []}),
        ("POST", f"{base}/disbursement-drafts/{draft}/create", {"funding_account": "f" * 32}),
    ]


def _draft(hw: HttpWorld) -> str:
    response = hw.as_("creator").post(f"{hw.base}/disbursement-drafts", json={
        "project": hw.world.project, "payments": [{"invoice": hw.world.invoice("10.00")}]})
    assert response.status_code == 201
    return response.get_json()["id"]


@pytest.mark.rule("GEN-5")
def test_a_stranger_gets_404_on_every_endpoint(hw: HttpWorld) -> None:
    d, draft = hw.create("10.00")["id"], _draft(hw)
    directory.create_user(hw.svc, "stranger@else.example", "Stranger")
    stranger = hw.client("stranger@else.example")
    for method, url, body in _every_endpoint(hw.base, d, draft):
        headers = {"If-Match": '"1"'} if method == "PUT" else {}
        response = stranger.open(url, method=method, json=body, headers=headers)
        assert_problem(response, 404, "not_found")
    assert hw.get(d).get_json()["workflow_status"] == "Under Review"  # nothing changed


@pytest.mark.rule("GEN-5")
def test_another_companys_disbursement_is_404_not_403_on_every_endpoint(hw: HttpWorld) -> None:
    """The other company's admin asks through their own company's path for ours, and through ours."""
    d, draft = hw.create("10.00")["id"], _draft(hw)
    boss = directory.create_user(hw.svc, "boss@other.example", "Boss").id
    other = directory.create_company(hw.svc, "Other GC", first_admin=boss).id
    grant_role(hw.svc, boss, other, boss, CAN_BE_MANAGER)
    client = hw.client("boss@other.example")
    for base in (f"/v1/companies/{other}", hw.base):
        for method, url, body in _every_endpoint(base, d, draft):
            if base != hw.base and url.endswith(("/disbursements", "/disbursement-drafts")):
                continue  # their own company's collections exist for them
            headers = {"If-Match": '"1"'} if method == "PUT" else {}
            response = client.open(url, method=method, json=body, headers=headers)
            assert_problem(response, 404, "not_found")
    assert client.get(f"/v1/companies/{other}/disbursements").get_json() == {"items": [], "next_cursor": None}


@pytest.mark.rule("RESP-1")
def test_an_answer_from_someone_not_awaited_is_403(hw: HttpWorld) -> None:
    d = hw.create("10.00")["id"]
    for who in ("cfo", "creator", "manager"):
        assert_problem(hw.answer(d, who, "Approve"), 403, "permission_denied")
    assert _transitions(hw, d) == []
    assert hw.answer(d, "controller", "Approve").status_code == 200


@pytest.mark.rule("ROLE-7", "ROLE-9")
def test_a_member_without_a_role_may_not_look(hw: HttpWorld) -> None:
    d = hw.create("10.00")["id"]
    directory.create_user(hw.svc, "nobody@gc.example", "Nobody")
    directory.add_member(hw.svc, hw.world.admin, hw.world.company, "nobody@gc.example")
    nobody = hw.client("nobody@gc.example")
    assert_problem(nobody.get(f"{hw.base}/disbursements/{d}"), 403, "permission_denied")
    assert_problem(nobody.get(f"{hw.base}/disbursements/{d}/history"), 403, "permission_denied")
    assert nobody.get(f"{hw.base}/disbursements").get_json()["items"] == []  # only what they take part in


# ---------------------------------------------------------------- ETag / If-Match


@pytest.mark.rule("GEN-7")
def test_a_stale_if_match_is_412_on_every_action_and_changes_nothing(hw: HttpWorld) -> None:
    d = hw.create("150000.00")["id"]
    etag = hw.get(d).headers["ETag"]
    assert hw.answer(d, "controller", "Approve", **{"If-Match": etag}).status_code == 200
    one = f"{hw.base}/disbursements/{d}"
    current = hw.get(d).get_json()
    occurrence = current["workflow"]["current"]["occurrence"]
    actions = [
        ("cfo", "POST", f"{one}/workflow/responses", {"occurrence": occurrence, "answer": "Approve"}),
        ("manager", "POST", f"{one}/workflow/restart", {"reason": "again"}),
        ("manager", "POST", f"{one}/workflow/return", {"step": "Controller Review", "reason": "recheck"}),
        ("manager", "POST", f"{one}/workflow/assignees", {"users": [hw.world.admin], "reason": "vacation"}),
        ("manager", "POST", f"{one}/workflow/terminate", {"reason": "wrong payee"}),
        ("admin", "POST", f"{one}/workflow/manager", {"manager": hw.world.admin, "reason": "left"}),
        ("creator", "POST", f"{one}/cancel", {"reason": "duplicate"}),
        ("creator", "PUT", f"{one}/payments", {"payments": [], "reason": "x"}),
    ]
    for who, method, url, body in actions:
        response = hw.as_(who).open(url, method=method, json=body, headers={"If-Match": etag})
        problem = assert_problem(response, 412, "precondition_failed")
        assert problem["rule"] == "GEN-7"
    assert hw.get(d).get_json() == current  # nothing changed
    # the same request with the current ETag goes through
    now = hw.get(d).headers["ETag"]
    moved = hw.as_("manager").post(f"{one}/workflow/terminate", json={"reason": "wrong payee"},
                                   headers={"If-Match": now})
    assert moved.status_code == 200 and moved.get_json()["workflow_status"] == "Not Started"
    assert moved.headers["ETag"] == hw.get(d).headers["ETag"] != now
    started = hw.as_("manager").post(f"{one}/workflow/start", json={}, headers={"If-Match": now})
    assert_problem(started, 412, "precondition_failed")
    started = hw.as_("manager").post(f"{one}/workflow/start", json={}, headers={"If-Match": moved.headers["ETag"]})
    assert started.status_code == 200 and started.get_json()["current_step"] == "Controller Review"


@pytest.mark.rule("DSB-12", "GEN-7")
def test_editing_payments_needs_if_match(hw: HttpWorld) -> None:
    created = hw.create("100.00", "200.00")
    d = created["id"]
    first, second = (p["invoice"] for p in created["payments"])
    url = f"{hw.base}/disbursements/{d}/payments"
    body = {"payments": [{"invoice": first}, {"invoice": second, "amount": "50.00", "note": "half"}],
            "reason": "pay half now"}
    assert_problem(hw.as_("creator").put(url, json=body), 428, "precondition_required")
    for bad in ("7", '"x"', "*", '"1", "2"'):
        assert_problem(hw.as_("creator").put(url, json=body, headers={"If-Match": bad}), 400, "bad_if_match")
    etag = hw.get(d).headers["ETag"]
    edited = hw.as_("creator").put(url, json=body, headers={"If-Match": etag})
    assert edited.status_code == 200
    assert [(p["invoice"], p["amount"], p["note"]) for p in edited.get_json()["payments"]] == [
        (first, "100.00", None), (second, "50.00", "half")]
    assert edited.get_json()["total"] == "150.00" and edited.headers["ETag"] != etag
    assert_problem(hw.as_("creator").put(url, json=body, headers={"If-Match": etag}), 412, "precondition_failed")
    # the same list again changes nothing (DSB-12): no restart, the version stays
    again = hw.as_("creator").put(url, json=body, headers={"If-Match": edited.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] == edited.headers["ETag"]
    # dropping an invoice removes it; the workflow restarted on the edit (DSB-12)
    dropped = hw.as_("creator").put(url, json={"payments": [{"invoice": first}], "reason": "later"},
                                    headers={"If-Match": again.headers["ETag"]})
    assert [p["invoice"] for p in dropped.get_json()["payments"]] == [first]
    assert hw.get(d).get_json()["workflow"]["number"] == 3  # restarted twice, by the two edits
    # a JSON number is no amount (GEN-2)
    number = {"payments": [{"invoice": first, "amount": 100}], "reason": "x"}
    problem = assert_problem(hw.as_("creator").put(url, json=number, headers={"If-Match": dropped.headers["ETag"]}),
                             422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/payments/0/amount"


def test_a_malformed_if_match_is_400_on_an_action(hw: HttpWorld) -> None:
    d = hw.create("10.00")["id"]
    response = hw.answer(d, "controller", "Approve", **{"If-Match": "W/nope"})
    assert_problem(response, 400, "bad_if_match")
    assert _transitions(hw, d) == []


# ---------------------------------------------------------------- Idempotency-Key


@pytest.mark.rule("GEN-8")
def test_a_replayed_answer_is_the_same_answer_and_one_transition(hw: HttpWorld) -> None:
    d = hw.create("150000.00")["id"]
    occurrence = hw.get(d).get_json()["workflow"]["current"]["occurrence"]
    url = f"{hw.base}/disbursements/{d}/workflow/responses"
    body = {"occurrence": occurrence, "answer": "Approve", "comment": "ok"}
    first = hw.as_("controller").post(url, json=body, headers={"Idempotency-Key": "answer-1"})
    again = hw.as_("controller").post(url, json=body, headers={"Idempotency-Key": "answer-1"})
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() and first.headers["ETag"] == again.headers["ETag"]
    assert _transitions(hw, d) == ["response_submitted"]
    other = hw.as_("controller").post(url, json={**body, "answer": "Reject"}, headers={"Idempotency-Key": "answer-1"})
    assert_problem(other, 422, "idempotency_conflict")
    assert _transitions(hw, d) == ["response_submitted"]
    # without a key, the identical answer again is RESP-4's no-op: 200, and still one transition
    assert hw.as_("controller").post(url, json=body).status_code == 200
    assert _transitions(hw, d) == ["response_submitted"]


@pytest.mark.rule("GEN-8")
def test_a_replayed_create_is_the_same_201_and_one_disbursement(hw: HttpWorld) -> None:
    body = {"project": hw.world.project, "funding_account": hw.world.funding,
            "payments": [{"invoice": hw.world.invoice("10.00")}]}
    url = f"{hw.base}/disbursements"
    first = hw.as_("creator").post(url, json=body, headers={"Idempotency-Key": "create-1"})
    again = hw.as_("creator").post(url, json=body, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and first.headers["Location"] == again.headers["Location"]
    assert len(hw.as_("admin").get(url).get_json()["items"]) == 1
    assert_problem(hw.as_("creator").post(url, json={**body, "payments": []}, headers={"Idempotency-Key": "create-1"}),
                   422, "validation_failed")
    changed = {**body, "funding_account": hw.world.funding.upper()}
    assert_problem(hw.as_("creator").post(url, json=changed, headers={"Idempotency-Key": "create-1"}),
                   422, "idempotency_conflict")


# ---------------------------------------------------------------- lists


def test_pages_walk_every_disbursement_once_in_a_stable_order(hw: HttpWorld, clock) -> None:
    made = []
    for k in range(7):
        clock.advance(minutes=1)
        made.append(hw.create(f"{k + 1}.00")["id"])
    seen: list[str] = []
    url = f"{hw.base}/disbursements?limit=3"
    pages = 0
    while url:
        response = hw.as_("admin").get(url)
        assert response.status_code == 200
        body = response.get_json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        if pages == 1:
            hw.create("99.00")  # one created meanwhile is newer than every page still to come
        url = f"{hw.base}/disbursements?limit=3&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert seen == list(reversed(made)) and pages == 3  # newest first, none twice, none missing
    assert_problem(hw.as_("admin").get(f"{hw.base}/disbursements?cursor=!!"), 400, "bad_cursor")
    assert_problem(hw.as_("admin").get(f"{hw.base}/disbursements?limit=0"), 422, "validation_failed")
    assert_problem(hw.as_("admin").get(f"{hw.base}/disbursements?status=Pending"), 422, "validation_failed")


@pytest.mark.rule("STEP-5", "STEP-9", "ST-1")
def test_filters_awaiting_me_overdue_status_and_project(hw: HttpWorld, clock) -> None:
    small, big = hw.create("10.00")["id"], hw.create("150000.00")["id"]
    assert hw.answer(big, "controller", "Approve").status_code == 200  # now at CFO Review
    url = f"{hw.base}/disbursements"

    def ids(who: str, query: str) -> set[str]:
        response = hw.as_(who).get(f"{url}?{query}")
        assert response.status_code == 200, response.get_json()
        return {i["id"] for i in response.get_json()["items"]}

    assert ids("controller", "awaiting=me") == {small}
    assert ids("cfo", "awaiting=me") == {big}
    assert ids("creator", "awaiting=me") == set()
    assert ids("admin", "status=Under Review") == {small, big}
    assert ids("admin", "status=Approved") == set()
    assert ids("admin", "drawdown_status=Draft") == {small, big}
    assert ids("admin", f"project={hw.world.project}") == {small, big}
    assert ids("admin", "project=" + "0" * 32) == set()
    assert ids("admin", "overdue=true") == set()
    row = next(i for i in hw.as_("cfo").get(url).get_json()["items"] if i["id"] == big)
    assert (row["current_step"], row["awaiting_me"], row["total"], row["invoice_count"]) == (
        "CFO Review", True, "150000.00", 1)
    clock.advance(days=6)  # due 5 calendar days after entry (STEP-9)
    assert ids("admin", "overdue=true") == {small, big}
    assert ids("cfo", "awaiting=me&overdue=true") == {big}
    assert hw.get(big).get_json()["workflow"]["current"]["overdue"] is True
    assert hw.get(big).get_json()["workflow"]["overdue_steps"] == ["CFO Review"]


# ---------------------------------------------------------------- drafts, cancel, manager actions


@pytest.mark.rule("DSB-6", "ROLE-4")
def test_a_draft_is_saved_listed_edited_and_created(hw: HttpWorld) -> None:
    from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR

    directory.create_user(hw.svc, "helper@gc.example", "Helper")
    helper_id = directory.add_member(hw.svc, hw.world.admin, hw.world.company, "helper@gc.example").id
    grant_role(hw.svc, hw.world.admin, hw.world.company, helper_id, DISBURSEMENT_CONTRIBUTOR)
    helper = hw.client("helper@gc.example")
    first = hw.world.invoice("30.00")
    made = helper.post(f"{hw.base}/disbursement-drafts", json={"project": hw.world.project,
                                                              "payments": [{"invoice": first}]})
    assert made.status_code == 201 and made.headers["Location"].endswith(f"/disbursement-drafts/{made.get_json()['id']}")
    draft = made.get_json()["id"]
    assert (made.get_json()["is_draft"], made.get_json()["drafted_by"], made.get_json()["total"]) == (
        True, helper_id, "30.00")
    listed = helper.get(f"{hw.base}/disbursement-drafts").get_json()["items"]
    assert [i["id"] for i in listed] == [draft]
    assert hw.as_("admin").get(f"{hw.base}/disbursements").get_json()["items"] == []  # not a disbursement yet
    assert_problem(hw.get(draft), 404, "not_found")
    got = helper.get(f"{hw.base}/disbursement-drafts/{draft}")
    assert got.status_code == 200 and got.get_json()["workflow"] is None
    second = hw.world.invoice("40.00")
    edited = helper.put(f"{hw.base}/disbursement-drafts/{draft}/payments",
                        json={"payments": [{"invoice": first}, {"invoice": second}]},
                        headers={"If-Match": got.headers["ETag"]})
    assert edited.status_code == 200 and edited.get_json()["total"] == "70.00"
    partial = helper.put(f"{hw.base}/disbursement-drafts/{draft}/payments",
                         json={"payments": [{"invoice": first, "amount": "1.00", "note": "part"}]},
                         headers={"If-Match": edited.headers["ETag"]})
    assert_problem(partial, 403, "permission_denied")  # a Contributor sets no amounts (ROLE-4)
    assert_problem(helper.post(f"{hw.base}/disbursement-drafts/{draft}/create",
                               json={"funding_account": hw.world.funding}), 403, "permission_denied")
    created = hw.as_("creator").post(f"{hw.base}/disbursement-drafts/{draft}/create",
                                     json={"funding_account": hw.world.funding},
                                     headers={"If-Match": edited.headers["ETag"]})
    assert created.status_code == 201 and created.headers["Location"].endswith(f"/disbursements/{draft}")
    assert (created.get_json()["id"], created.get_json()["is_draft"], created.get_json()["workflow_status"]) == (
        draft, False, "Under Review")
    assert_problem(helper.get(f"{hw.base}/disbursement-drafts/{draft}"), 404, "not_found")
    assert hw.get(draft).get_json()["workflow"]["current"]["step"] == "Controller Review"


@pytest.mark.rule("AUTH-13", "AUTH-14", "AUTH-15")
def test_cancel_needs_a_reason_and_hides_the_history(hw: HttpWorld) -> None:
    d = hw.create("10.00")["id"]
    url = f"{hw.base}/disbursements/{d}/cancel"
    assert_problem(hw.as_("creator").post(url, json={}), 422, "validation_failed")
    assert_problem(hw.as_("creator").post(url, json={"reason": " "}), 422, "reason_required")
    canceled = hw.as_("creator").post(url, json={"reason": "duplicate"})
    assert canceled.status_code == 200
    assert (canceled.get_json()["workflow_status"], canceled.get_json()["canceled"]) == ("Canceled", True)
    again = hw.as_("creator").post(url, json={"reason": "again"})
    assert again.status_code == 200 and again.get_json() == canceled.get_json()  # AUTH-14
    history = hw.as_("admin").get(f"{hw.base}/disbursements/{d}/history").get_json()
    assert (history["scope"], history["events"]) == ("hidden", [])
    assert_problem(hw.answer(d, "controller", "Approve", occurrence=1), 409, "disbursement_canceled")


@pytest.mark.rule("MGR-2", "MGR-5", "MGR-6", "MGR-7", "MGR-9")
def test_the_managers_actions(hw: HttpWorld) -> None:
    d = hw.create("150000.00")["id"]
    one = f"{hw.base}/disbursements/{d}/workflow"
    assert hw.answer(d, "controller", "Approve").status_code == 200
    assert_problem(hw.as_("controller").post(f"{one}/terminate", json={"reason": "x"}), 403, "permission_denied")
    returned = hw.as_("manager").post(f"{one}/return", json={"step": "Controller Review", "reason": "recheck"})
    assert returned.status_code == 200 and returned.get_json()["current_step"] == "Controller Review"
    added = hw.as_("manager").post(f"{one}/assignees", json={"users": [hw.world.cfo], "reason": "vacation"})
    assert added.status_code == 200
    assert set(hw.get(d).get_json()["workflow"]["current"]["awaited"]) == {hw.world.controller, hw.world.cfo}
    restarted = hw.as_("manager").post(f"{one}/restart", json={"reason": "new facts", "mode": "current"})
    assert restarted.status_code == 200 and restarted.get_json()["instance"] != returned.get_json()["instance"]
    state = hw.as_("admin").get(one)
    assert state.status_code == 200 and state.headers["ETag"] == hw.get(d).headers["ETag"]
    assert state.get_json()["instance"]["number"] == 2 and state.get_json()["workflow_status"] == "Under Review"
    ended = hw.as_("manager").post(f"{one}/terminate", json={"reason": "wrong payee"})
    assert ended.status_code == 200 and ended.get_json()["workflow_status"] == "Not Started"
    assert_problem(hw.as_("manager").post(f"{one}/terminate", json={"reason": "again"}), 409, "instance_not_active")
    assert hw.as_("manager").post(f"{one}/start", json={}).get_json()["current_step"] == "Controller Review"
    # MGR-2: only once the manager is no longer eligible may an Admin hand the instance on
    grant_role(hw.svc, hw.world.admin, hw.world.company, hw.world.cfo, CAN_BE_MANAGER)
    assert_problem(hw.as_("admin").post(f"{one}/manager", json={"manager": hw.world.cfo, "reason": "x"}),
                   409, "manager_still_eligible")
    revoke_role(hw.svc, hw.world.admin, hw.world.company, hw.world.manager, PAYMENTS_DISBURSER)
    handed = hw.as_("admin").post(f"{one}/manager", json={"manager": hw.world.cfo, "reason": "left the team"})
    assert handed.status_code == 200 and handed.get_json()["manager"] == hw.world.cfo
    kinds = [e["action"] for e in hw.as_("admin").get(f"{hw.base}/disbursements/{d}/history").get_json()["events"]]
    assert {"returned", "assignees_added", "restarted", "terminated", "manager_reassigned"} <= set(kinds)


# ---------------------------------------------------------------- audit verify


@pytest.mark.rule("AUD-3", "GEN-5")
def test_an_admin_verifies_the_companys_audit_chains(hw: HttpWorld) -> None:
    from sqlalchemy import update

    from engine.store.tables import AuditEntry

    d = hw.create("10.00")["id"]
    assert hw.answer(d, "controller", "Approve").status_code == 200
    url = f"/v1/audit/verify?company={hw.world.company}"
    report = hw.as_("admin").get(url)
    assert report.status_code == 200
    body = report.get_json()
    assert (body["company"], body["result"], body["ok"], body["breaks"]) == (hw.world.company, "ok", True, [])
    assert body["entries"] > 5 and body["development_key"] is True
    assert_problem(hw.as_("creator").get(url), 403, "permission_denied")
    directory.create_user(hw.svc, "stranger@else.example", "Stranger")
    assert_problem(hw.client("stranger@else.example").get(url), 404, "not_found")
    assert_problem(hw.as_("admin").get("/v1/audit/verify"), 422, "validation_failed")
    # another company's break is not this company's business, and is not reported here
    boss = directory.create_user(hw.svc, "boss@other.example", "Boss").id
    other = directory.create_company(hw.svc, "Other GC", first_admin=boss).id
    with hw.svc.db.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.chain == f"disbursement:{d}", AuditEntry.seq == 3)
                  .values(reason="rewritten"))
    broken = hw.as_("admin").get(url).get_json()
    assert (broken["result"], broken["ok"]) == ("error", False)
    assert [(b["chain"], b["seq"], b["code"]) for b in broken["breaks"]] == [(f"disbursement:{d}", 3, "altered")]
    theirs = hw.client("boss@other.example").get(f"/v1/audit/verify?company={other}").get_json()
    assert (theirs["ok"], theirs["breaks"]) == (True, [])
