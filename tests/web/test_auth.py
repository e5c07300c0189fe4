"""Bearer tokens on /v1 (ROLE-12): a live token acts as its user; anything else is 401 problem+json."""

from __future__ import annotations

import pytest

from engine.service import directory, tokens
from tests.web.test_problems import assert_problem

pytestmark = pytest.mark.rule("ROLE-12")


def _unauthenticated(response) -> dict:
    body = assert_problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    return body


@pytest.fixture
def app(make_app):
    return make_app()


def test_v1_needs_a_bearer_token(app, reference_flow) -> None:
    client = app.test_client()
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "},
                    {"Authorization": "Bearer prt_not-a-real-token"}, {"Authorization": "bearer garbage\u00e9"}):
        _unauthenticated(client.post("/v1/check", json={"flow": reference_flow}, headers=headers))
    # before the body is read: an anonymous caller learns nothing about the route or the body
    _unauthenticated(client.post("/v1/check", data="not json", content_type="text/plain"))
    _unauthenticated(client.get("/v1/no-such-route"))


def test_a_live_token_is_accepted_and_a_revoked_one_is_not(app, reference_flow) -> None:
    svc = app.extensions["payroute"]
    directory.create_user(svc, "ana@gc.example", "Ana")
    minted = tokens.mint(svc, "ana@gc.example", name="ci")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {minted.secret}"}
    assert client.post("/v1/check", json={"flow": reference_flow}, headers=auth).status_code == 200
    assert client.post("/v1/check", json={"flow": reference_flow},
                       headers={"Authorization": f"bearer {minted.secret}"}).status_code == 200  # scheme: any case
    tokens.revoke(svc, minted.token.id)
    body = _unauthenticated(client.post("/v1/check", json={"flow": reference_flow}, headers=auth))
    assert minted.secret not in str(body)


def test_health_and_the_contract_need_no_token(app) -> None:
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs/swagger").status_code == 200


def test_the_contract_documents_bearer_auth_on_v1(app) -> None:
    doc = app.test_client().get("/openapi.json").get_json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearer": []}] and "401" in op["responses"]
            else:
                assert "security" not in op
