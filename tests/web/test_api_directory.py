"""/v1/me, /v1/companies and a company's users, grants, groups, projects and invoices, through the HTTP
API (Flask's test client) on a real database: SQLite, and PostgreSQL when PAYROUTE_TEST_DATABASE_URL is set."""

from __future__ import annotations

from typing import Any

import pytest

from engine.security.permissions import (
    ALL_PERMISSIONS,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
)
from engine.service import directory, tokens
from tests.payments.banking import authenticator
from tests.roles import grant_role
from tests.web.test_problems import assert_problem
from tests.world import World, build_world


class Api:
    """An app on its own database with GC Builders seeded, and a client per user."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.svc = app.extensions["payroute"]
        self.w: World = build_world(self.svc)
        self.c = f"/v1/companies/{self.w.company}"
        self._clients: dict[str, Any] = {}

    def client(self, user_id: str) -> Any:
        """A test client whose token acts as ``user_id``."""
        if user_id not in self._clients:
            with self.svc.db.sessions() as s:
                from engine.store.tables import User

                email = s.get(User, user_id).email
            client = self.app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.mint(self.svc, email).secret}"
            self._clients[user_id] = client
        return self._clients[user_id]

    @property
    def admin(self) -> Any:
        return self.client(self.w.admin)

    def person(self, name: str, *grants: str, company: str | None = None) -> str:
        """A new person, made a member of GC Builders (unless ``company`` is "none") with ``grants``."""
        user = directory.create_user(self.svc, f"{name}@gc.example", name.title()).id
        if company != "none":
            directory.add_member(self.svc, self.w.admin, self.w.company, f"{name}@gc.example")
            for permission in grants:
                grant_role(self.svc, self.w.admin, self.w.company, user, permission)
        return user

    def other_company(self) -> tuple[str, str]:
        boss = directory.create_user(self.svc, "boss@other.example", "Boss").id
        return boss, directory.create_company(self.svc, "Other GC", first_admin=boss).id


@pytest.fixture
def api(make_app, database_url) -> Api:
    return Api(make_app(PAYROUTE_DATABASE_URL=database_url))


def _pages(client: Any, url: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, following next_cursor, and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        response = client.get(url, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"} and len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


# ---------------------------------------------------------------- me and companies


@pytest.mark.rule("GEN-5", "ROLE-12")
def test_me_is_the_tokens_user_with_their_active_companies(api: Api) -> None:
    w = api.w
    boss, other = api.other_company()
    directory.add_member(api.svc, boss, other, "manager@gc.example")
    me = api.client(w.manager).get("/v1/me")
    assert me.status_code == 200
    assert me.get_json() == {"id": w.manager, "email": "manager@gc.example", "name": "Manager", "companies": [
        {"id": w.company, "name": "GC Builders", "is_payee": False,
         "permissions": [PAYMENTS_DISBURSER, CAN_BE_MANAGER]},
        {"id": other, "name": "Other GC", "is_payee": False, "permissions": []}]}
    assert api.client(w.manager).get("/v1/companies").get_json() == {"items": me.get_json()["companies"]}
    directory.set_user_active(api.svc, boss, other, w.manager, False)
    assert [c["id"] for c in api.client(w.manager).get("/v1/me").get_json()["companies"]] == [w.company]


@pytest.mark.rule("GEN-5", "GEN-6")
def test_a_company_with_its_settings_for_members_and_404_for_strangers(api: Api) -> None:
    w = api.w
    nobody = api.person("nobody")
    response = api.client(nobody).get(api.c)
    assert response.status_code == 200
    assert response.get_json() == {"id": w.company, "name": "GC Builders", "is_payee": False,
                                   "workflows_enabled": True, "time_zone": "America/New_York", "holidays": [],
                                   "segregation": "invoice_approver", "default_template_id": w.template,
                                   "sandbox": False}
    boss, other = api.other_company()
    assert_problem(api.client(boss).get(api.c), 404, "not_found")
    assert_problem(api.admin.get(f"/v1/companies/{other}"), 404, "not_found")
    assert_problem(api.admin.get("/v1/companies/" + "f" * 32), 404, "not_found")


@pytest.mark.rule("GEN-6", "AUTH-6", "ROLE-1", "GEN-8")
def test_patch_company_changes_the_settings_given(api: Api) -> None:
    body = {"time_zone": "America/Chicago", "holidays": ["2026-12-25", "2026-07-03"], "segregation": "strict"}
    first = api.admin.patch(api.c, json=body, headers={"Idempotency-Key": "s-1"})
    assert first.status_code == 200
    assert first.get_json() | {"default_template_id": None} == {
        "id": api.w.company, "name": "GC Builders", "is_payee": False, "workflows_enabled": True,
        "time_zone": "America/Chicago", "holidays": ["2026-07-03", "2026-12-25"], "segregation": "strict",
        "default_template_id": None, "sandbox": False}
    directory.update_settings(api.svc, api.w.admin, api.w.company, time_zone="America/Denver")
    again = api.admin.patch(api.c, json=body, headers={"Idempotency-Key": "s-1"})
    assert (again.status_code, again.get_json()) == (200, first.get_json())  # the first answer, replayed
    assert api.admin.get(api.c).get_json()["time_zone"] == "America/Denver"  # and no second effect
    assert_problem(api.admin.patch(api.c, json={"time_zone": "UTC"}, headers={"Idempotency-Key": "s-1"}),
                   422, "idempotency_conflict")
    assert_problem(api.admin.patch(api.c, json={"time_zone": "Mars/Base"}), 422, "invalid_time_zone")
    assert_problem(api.client(api.w.creator).patch(api.c, json={"workflows_enabled": False}),
                   403, "permission_denied")
    for bad, where in (({"color": "red"}, "/color"), ({}, ""), ({"time_zone": None}, ""),
                       ({"workflows_enabled": "yes"}, "/workflows_enabled"),
                       ({"segregation": "loose"}, "/segregation")):
        problem = assert_problem(api.admin.patch(api.c, json=bad), 422, "validation_failed")
        assert where in [e["pointer"] for e in problem["errors"]], (bad, problem)


# ---------------------------------------------------------------- users and grants


def _member_json(user_id: str, name: str, *permissions: str, active: bool = True) -> dict[str, Any]:
    return {"id": user_id, "email": f"{name}@gc.example", "name": name.title(), "active": active,
            "permissions": list(permissions)}


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_users_page_through_every_member_once(api: Api) -> None:
    w = api.w
    added = [api.person(f"m{i}") for i in range(6)]
    items, pages = _pages(api.admin, api.c + "/users", limit=4)
    assert pages == 3 and len(items) == 11 and len({m["id"] for m in items}) == 11
    assert [m["id"] for m in items] == [w.admin, w.creator, w.manager, w.controller, w.cfo, *added]
    assert items[0] == _member_json(w.admin, "admin", PAYMENTS_ADMIN)
    assert items[-1] == _member_json(added[-1], "m5")
    whole = api.admin.get(api.c + "/users", query_string={"limit": 200}).get_json()
    assert whole == {"items": items, "next_cursor": None}
    assert_problem(api.admin.get(api.c + "/users", query_string={"cursor": "garbage!"}), 400, "bad_cursor")
    problem = assert_problem(api.admin.get(api.c + "/users", query_string={"limit": 0}), 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/limit"


@pytest.mark.rule("GEN-5", "ROLE-1", "ROLE-7")
def test_users_are_readable_by_admins_editors_and_managers_only(api: Api) -> None:
    w = api.w
    assert api.client(w.manager).get(api.c + "/users").status_code == 200  # Can Be Workflow Manager
    body = assert_problem(api.client(w.creator).get(api.c + "/users"), 403, "permission_denied")
    assert "Payments Admin" in body["missing_permission"]
    assert api.client(w.creator).get(f"{api.c}/users/{w.creator}").get_json() == \
        _member_json(w.creator, "creator", PAYMENTS_DISBURSER)  # everyone reads themselves
    assert_problem(api.client(w.creator).get(f"{api.c}/users/{w.cfo}"), 403, "permission_denied")
    boss, other = api.other_company()
    for url in (api.c + "/users", f"{api.c}/users/{w.cfo}"):
        assert_problem(api.client(boss).get(url), 404, "not_found")
    assert_problem(api.admin.get(f"{api.c}/users/{boss}"), 404, "not_found")  # not a member here
    assert_problem(api.admin.get(f"/v1/companies/{other}/users"), 404, "not_found")


@pytest.mark.rule("GEN-5", "ROLE-8", "ROLE-11", "GEN-8")
def test_add_a_member_deactivate_them_grant_and_revoke(api: Api) -> None:
    w = api.w
    new = api.person("nina", company="none")
    added = api.admin.post(api.c + "/users", json={"email": "Nina@GC.example"}, headers={"Idempotency-Key": "a-1"})
    assert added.status_code == 201 and added.headers["Location"] == f"{api.c}/users/{new}"
    assert added.get_json() == _member_json(new, "nina")
    replay = api.admin.post(api.c + "/users", json={"email": "Nina@GC.example"}, headers={"Idempotency-Key": "a-1"})
    assert (replay.status_code, replay.get_json(), replay.headers["Location"]) == (
        201, added.get_json(), added.headers["Location"])
    assert_problem(api.admin.post(api.c + "/users", json={"email": "zed@gc.example"},
                                  headers={"Idempotency-Key": "a-1"}), 422, "idempotency_conflict")
    missing = assert_problem(api.admin.post(api.c + "/users", json={"email": "zed@gc.example"}), 404, "not_found")
    assert "create the user first" in missing["detail"]  # people are an operator's to create
    assert_problem(api.admin.post(api.c + "/users", json={"email": "not an address"}), 422, "invalid_email")
    problem = assert_problem(api.admin.post(api.c + "/users", json={"email": "x@y.example", "name": "X"}),
                             422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/name"]
    assert_problem(api.client(w.creator).post(api.c + "/users", json={"email": "nina@gc.example"}),
                   403, "permission_denied")

    code = authenticator(api.svc, w.company, w.admin).code()  # a payments role: the Admin's code (ROLE-11)
    granted = api.admin.post(f"{api.c}/users/{new}/grants", json={"permission": PAYMENTS_DISBURSER,
                                                                  "mfa_code": code},
                             headers={"Idempotency-Key": "g-1"})
    assert (granted.status_code, granted.get_json()) == (200, _member_json(new, "nina", PAYMENTS_DISBURSER))
    again = api.admin.post(f"{api.c}/users/{new}/grants", json={"permission": CAN_BE_MANAGER})
    assert again.get_json()["permissions"] == [PAYMENTS_DISBURSER, CAN_BE_MANAGER]
    problem = assert_problem(api.admin.post(f"{api.c}/users/{new}/grants", json={"permission": "god_mode"}),
                             422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/permission"]
    revoked = api.admin.delete(f"{api.c}/users/{new}/grants/{CAN_BE_MANAGER}", headers={"Idempotency-Key": "r-1"})
    assert (revoked.status_code, revoked.get_json()) == (200, _member_json(new, "nina", PAYMENTS_DISBURSER))
    assert api.admin.delete(f"{api.c}/users/{new}/grants/{CAN_BE_MANAGER}",
                            headers={"Idempotency-Key": "r-1"}).get_json() == revoked.get_json()
    assert_problem(api.admin.delete(f"{api.c}/users/{new}/grants/god_mode"), 422, "invalid_permission")
    assert_problem(api.admin.delete(f"{api.c}/users/{w.admin}/grants/{PAYMENTS_ADMIN}"), 409, "last_admin")

    off = api.admin.patch(f"{api.c}/users/{new}", json={"active": False}, headers={"Idempotency-Key": "d-1"})
    assert (off.status_code, off.get_json()) == (200, _member_json(new, "nina", PAYMENTS_DISBURSER, active=False))
    assert api.admin.get(f"{api.c}/users/{new}").get_json()["active"] is False
    assert_problem(api.client(new).get(api.c), 404, "not_found")  # deactivated here: a stranger (GEN-5)
    assert_problem(api.admin.patch(f"{api.c}/users/{w.admin}", json={"active": False}), 409, "last_admin")
    for bad in ({"active": "no"}, {"active": True, "email": "x"}, {}):
        assert_problem(api.admin.patch(f"{api.c}/users/{new}", json=bad), 422, "validation_failed")
    boss, other = api.other_company()
    assert_problem(api.admin.patch(f"{api.c}/users/{boss}", json={"active": False}), 404, "not_found")
    assert_problem(api.admin.post(f"{api.c}/users/{boss}/grants", json={"permission": PAYMENTS_DISBURSER}),
                   404, "not_found")


def _mfa(api: Api, user: str) -> tuple[int, int | None]:
    from engine.store.tables import MfaEnrollment

    with api.svc.db.sessions() as s:
        row = s.get(MfaEnrollment, user)
        return row.failures, row.last_step


@pytest.mark.rule("ROLE-11", "MFA-8")
def test_a_payments_role_is_granted_and_revoked_over_http_with_the_admins_code(api: Api) -> None:
    w = api.w
    admin = authenticator(api.svc, w.company, w.admin)
    new = api.person("nina")
    grants, revoke = f"{api.c}/users/{new}/grants", f"{api.c}/users/{new}/grants/{PAYMENTS_DISBURSER}"
    # a wrong code: 403 mfa_failed, counted, nothing granted
    wrong = assert_problem(api.admin.post(grants, json={"permission": PAYMENTS_DISBURSER, "mfa_code": admin.wrong()}),
                           403, "mfa_failed")
    assert wrong["rule"] == "MFA-2" and _mfa(api, w.admin)[0] == 1
    assert_problem(api.admin.post(grants, json={"permission": PAYMENTS_DISBURSER}), 403, "mfa_failed")
    assert api.admin.get(f"{api.c}/users/{new}").get_json()["permissions"] == []
    # refused for another reason (a non-admin; an unknown user): the code is neither spent nor counted
    code = admin.code()
    before = _mfa(api, w.admin)
    assert_problem(api.client(w.creator).post(grants, json={"permission": PAYMENTS_DISBURSER, "mfa_code": code}),
                   403, "permission_denied")
    assert_problem(api.admin.post(f"{api.c}/users/{'u' * 32}/grants",
                                  json={"permission": PAYMENTS_DISBURSER, "mfa_code": code}), 404, "not_found")
    assert _mfa(api, w.admin) == before
    granted = api.admin.post(grants, json={"permission": PAYMENTS_DISBURSER, "mfa_code": code},
                             headers={"Idempotency-Key": "g-1"})
    assert (granted.status_code, granted.get_json()["permissions"]) == (200, [PAYMENTS_DISBURSER])
    assert code not in granted.get_data(as_text=True)
    # a retry with a fresh code replays; the replayed code is refused for anything new (MFA-3)
    again = api.admin.post(grants, json={"permission": PAYMENTS_DISBURSER, "mfa_code": admin.code()},
                           headers={"Idempotency-Key": "g-1"})
    assert again.get_json() == granted.get_json()
    replayed = assert_problem(api.admin.post(grants, json={"permission": DISBURSEMENT_CONTRIBUTOR, "mfa_code": code}),
                              403, "mfa_failed")
    assert replayed["rule"] == "MFA-3"
    # a workflow permission needs no code
    assert api.admin.post(grants, json={"permission": CAN_BE_MANAGER}).status_code == 200
    assert api.admin.delete(f"{api.c}/users/{new}/grants/{CAN_BE_MANAGER}").status_code == 200
    # revoking a payments role: the code in the DELETE's body, checked after the last-Admin check
    assert_problem(api.admin.delete(revoke), 403, "mfa_failed")
    assert_problem(api.admin.delete(revoke, json={"mfa_code": admin.wrong()}), 403, "mfa_failed")
    code = admin.code()
    before = _mfa(api, w.admin)
    assert_problem(api.admin.delete(f"{api.c}/users/{w.admin}/grants/{PAYMENTS_ADMIN}", json={"mfa_code": code}),
                   409, "last_admin")
    assert_problem(api.client(w.creator).delete(revoke, json={"mfa_code": code}), 403, "permission_denied")
    assert _mfa(api, w.admin) == before
    assert api.admin.get(f"{api.c}/users/{new}").get_json()["permissions"] == [PAYMENTS_DISBURSER]
    revoked = api.admin.delete(revoke, json={"mfa_code": code}, headers={"Idempotency-Key": "r-1"})
    assert (revoked.status_code, revoked.get_json()["permissions"]) == (200, [])
    assert _mfa(api, w.admin)[0] == 0
    for bad in ({"mfa_code": 123456}, {"mfa_code": ""}, {"code": "123456"}):
        assert_problem(api.admin.delete(revoke, json=bad), 422, "validation_failed")
    assert_problem(api.admin.delete(revoke, data="{", content_type="application/json"), 400, "bad_request")


def test_the_permission_enum_is_documented(api: Api) -> None:
    doc = api.admin.get("/openapi.json").get_json()
    schema = doc["components"]["schemas"]["GrantBody"]["properties"]["permission"]
    assert schema["enum"] == list(ALL_PERMISSIONS)
    params = doc["paths"]["/v1/companies/{company_id}/users/{user_id}/grants/{permission}"]["delete"]["parameters"]
    assert next(p for p in params if p["name"] == "permission")["schema"]["enum"] == list(ALL_PERMISSIONS)


# ---------------------------------------------------------------- groups


@pytest.mark.rule("GEN-5", "ROLE-1")
def test_groups_create_list_and_read(api: Api) -> None:
    w = api.w
    made = api.admin.post(api.c + "/groups", json={"name": "Reviewers", "members": [w.cfo, w.controller, w.cfo]},
                          headers={"Idempotency-Key": "grp-1"})
    assert made.status_code == 201
    gid = made.get_json()["id"]
    assert made.get_json() == {"id": gid, "name": "Reviewers", "members": [w.cfo, w.controller]}
    assert made.headers["Location"] == f"{api.c}/groups/{gid}"
    replay = api.admin.post(api.c + "/groups", json={"name": "Reviewers", "members": [w.cfo, w.controller, w.cfo]},
                            headers={"Idempotency-Key": "grp-1"})
    assert (replay.status_code, replay.get_json()) == (201, made.get_json())
    for name in ("Alpha", "Zulu", "Mike"):
        assert api.admin.post(api.c + "/groups", json={"name": name}).status_code == 201
    items, pages = _pages(api.client(w.manager), api.c + "/groups", limit=3)
    assert [g["name"] for g in items] == ["Alpha", "Mike", "Reviewers", "Zulu"] and pages == 2
    assert api.admin.get(f"{api.c}/groups/{gid}").get_json() == made.get_json()
    assert_problem(api.admin.post(api.c + "/groups", json={"name": "Alpha"}), 409, "state_conflict")
    problem = assert_problem(api.admin.post(api.c + "/groups", json={"name": "X", "members": "u1"}),
                             422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/members"
    assert_problem(api.client(w.creator).get(api.c + "/groups"), 403, "permission_denied")
    boss, other = api.other_company()
    theirs = directory.create_group(api.svc, boss, other, "Theirs").id
    assert_problem(api.admin.get(f"{api.c}/groups/{theirs}"), 404, "not_found")
    assert_problem(api.client(boss).get(f"{api.c}/groups/{gid}"), 404, "not_found")
    assert_problem(api.admin.post(api.c + "/groups", json={"name": "Mixed", "members": [boss]}), 404, "not_found")


# ---------------------------------------------------------------- projects and invoices


def _project_json(pid: str, name: str, **changes: Any) -> dict[str, Any]:
    return {"id": pid, "name": name, "office": None, "sector": None, "start_date": None, "attributes": {},
            "payments_enabled": True, "payment_workflows_enabled": True, "sandbox": False, **changes}


@pytest.mark.rule("ROLL-1", "ROLL-2", "GEN-5", "GEN-8")
def test_projects_create_list_read_and_patch(api: Api) -> None:
    w = api.w
    body = {"name": "Annex", "office": "Austin", "start_date": "2026-01-05", "attributes": {"market": "health"},
            "payment_workflows_enabled": False}
    made = api.admin.post(api.c + "/projects", json=body, headers={"Idempotency-Key": "p-1"})
    assert made.status_code == 201
    pid = made.get_json()["id"]
    assert made.get_json() == _project_json(pid, "Annex", office="Austin", start_date="2026-01-05",
                                            attributes={"market": "health"}, payment_workflows_enabled=False)
    assert made.headers["Location"] == f"{api.c}/projects/{pid}"
    replay = api.admin.post(api.c + "/projects", json=body, headers={"Idempotency-Key": "p-1"})
    assert (replay.status_code, replay.get_json()) == (201, made.get_json())
    assert_problem(api.admin.post(api.c + "/projects", json={**body, "name": "Other"},
                                  headers={"Idempotency-Key": "p-1"}), 422, "idempotency_conflict")
    listed = api.client(w.creator).get(api.c + "/projects").get_json()  # a Disburser reads projects
    assert [p["name"] for p in listed["items"]] == ["Annex", "Tower A"] and listed["next_cursor"] is None
    assert listed["items"][1] == _project_json(w.project, "Tower A", office="Boston")
    for i in range(3):
        api.admin.post(api.c + "/projects", json={"name": f"B{i}"})
    items, pages = _pages(api.admin, api.c + "/projects", limit=2)
    assert [p["name"] for p in items] == ["Annex", "B0", "B1", "B2", "Tower A"] and pages == 3

    patched = api.admin.patch(f"{api.c}/projects/{pid}", json={"payments_enabled": False,
                                                               "payment_workflows_enabled": True},
                              headers={"Idempotency-Key": "pp-1"})
    assert patched.status_code == 200
    assert patched.get_json() == {**made.get_json(), "payments_enabled": False, "payment_workflows_enabled": True}
    assert api.admin.get(f"{api.c}/projects/{pid}").get_json() == patched.get_json()
    assert_problem(api.client(w.creator).patch(f"{api.c}/projects/{pid}", json={"payments_enabled": True}),
                   403, "permission_denied")
    for bad, where in (({"start_date": "2026-02-30"}, "/start_date"), ({"start_date": 20260105}, "/start_date"),
                       ({"payments_enabled": 1}, "/payments_enabled"), ({"budget": "1"}, "/budget")):
        problem = assert_problem(api.admin.post(api.c + "/projects", json={"name": "Bad", **bad}),
                                 422, "validation_failed")
        assert [e["pointer"] for e in problem["errors"]] == [where], bad
    problem = assert_problem(api.admin.patch(f"{api.c}/projects/{pid}", json={"name": "Renamed"}),
                             422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/name"]
    nobody = api.person("nobody")
    assert_problem(api.client(nobody).get(api.c + "/projects"), 403, "permission_denied")
    boss, other = api.other_company()
    theirs = directory.create_project(api.svc, boss, other, directory.ProjectInfo(name="Theirs")).id
    assert_problem(api.admin.get(f"{api.c}/projects/{theirs}"), 404, "not_found")
    assert_problem(api.admin.patch(f"{api.c}/projects/{theirs}", json={"payments_enabled": False}), 404, "not_found")
    assert_problem(api.client(boss).get(f"{api.c}/projects/{pid}"), 404, "not_found")


@pytest.mark.rule("GEN-1", "GEN-2", "GEN-5", "GEN-8")
def test_invoices_are_registered_with_money_as_strings(api: Api) -> None:
    w = api.w
    payee = w.payee("Acme Concrete")
    url = f"{api.c}/projects/{w.project}/invoices"
    body = {"payee": payee, "number": "A-7", "amount_due": "1250.5", "approved_by": w.cfo}
    made = api.admin.post(url, json=body, headers={"Idempotency-Key": "i-1"})
    assert made.status_code == 201
    iid = made.get_json()["id"]
    assert made.get_json() == {"id": iid, "project_id": w.project, "number": "A-7", "payee_id": payee,
                               "payee_name": "Acme Concrete", "amount_due": "1250.50", "status": "Unpaid",
                               "approved_by": w.cfo}
    assert made.headers["Location"] == f"{api.c}/invoices/{iid}"
    replay = api.admin.post(url, json=body, headers={"Idempotency-Key": "i-1"})
    assert (replay.status_code, replay.get_json()) == (201, made.get_json())
    assert_problem(api.admin.post(url, json={**body, "amount_due": "1250.51"}, headers={"Idempotency-Key": "i-1"}),
                   422, "idempotency_conflict")
    assert api.client(w.creator).get(f"{api.c}/invoices/{iid}").get_json() == made.get_json()
    for n in ("A-9", "A-8", "A-1"):
        assert api.admin.post(url, json={**body, "number": n, "amount_due": "99999999999.99"}).status_code == 201
    items, pages = _pages(api.client(w.creator), url, limit=3)
    assert [i["number"] for i in items] == ["A-1", "A-7", "A-8", "A-9"] and pages == 2
    assert items[0]["amount_due"] == "99999999999.99"  # exact: never through a float

    for amount, says in ((1250.5, "not a JSON number"), (1250, "not a JSON number"),
                         ("1.005", "more than two decimals"), ("1e3", "not a decimal amount")):
        problem = assert_problem(api.admin.post(url, json={**body, "amount_due": amount}), 422, "validation_failed")
        (error,) = problem["errors"]
        assert error["pointer"] == "/amount_due" and says in error["detail"], (amount, error)
    assert_problem(api.admin.post(url, json={**body, "amount_due": "0.00"}), 422, "invalid_amount")
    problem = assert_problem(api.admin.post(url, json={**body, "vendor": "x", "number": 7}), 422, "validation_failed")
    assert {e["pointer"] for e in problem["errors"]} == {"/vendor", "/number"}
    assert_problem(api.admin.post(url, json={**body, "payee": w.company}), 404, "not_found")  # not a payee
    assert_problem(api.client(w.creator).post(url, json=body), 403, "permission_denied")
    boss, other = api.other_company()
    theirs = directory.create_project(api.svc, boss, other, directory.ProjectInfo(name="Theirs")).id
    for path in (f"/projects/{theirs}/invoices", "/invoices/" + "f" * 32):
        assert_problem(api.admin.get(api.c + path), 404, "not_found")
    assert_problem(api.admin.post(f"{api.c}/projects/{theirs}/invoices", json=body), 404, "not_found")
    assert_problem(api.client(boss).get(f"{api.c}/invoices/{iid}"), 404, "not_found")
    assert_problem(api.client(boss).get(f"/v1/companies/{other}/invoices/{iid}"), 404, "not_found")
