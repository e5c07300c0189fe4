"""Every error is application/problem+json (RFC 9457), from one code → status table."""

from __future__ import annotations

import logging

import pytest

from engine.errors import ERRORS, KINDS, DomainError
from tests.web.conftest import authorized
from web.errors import PROBLEM_BASE, STATUS_BY_KIND



def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == PROBLEM_BASE + code
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_every_kind_has_one_status() -> None:
    assert {k: STATUS_BY_KIND[k] for k in KINDS} == {"unauthenticated": 401, "not_found": 404, "forbidden": 403,
                                                     "conflict": 409, "precondition": 412, "invalid": 422}
    assert set(STATUS_BY_KIND) == set(KINDS)


@pytest.mark.parametrize("code", ["not_found", "permission_denied", "state_conflict", "precondition_failed",
                                  "invalid_amount", "unauthenticated"])
def test_a_domain_error_is_a_problem_with_its_kinds_status(make_app, code: str) -> None:
    app = make_app()

    @app.get("/_test/refuse")
    def refuse():
        raise DomainError(code, "refused for the test", rule="GEN-4")

    response = app.test_client().get("/_test/refuse")
    body = assert_problem(response, STATUS_BY_KIND[ERRORS[code].kind], code)
    assert body["detail"] == "refused for the test" and body["rule"] == "GEN-4"
    assert (response.headers.get("WWW-Authenticate") == "Bearer") == (code == "unauthenticated")


def test_an_internal_error_is_a_500_with_a_request_id_and_no_internal_text(make_app, caplog) -> None:
    app = make_app()

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internals: postgresql://u:pw@db/x")

    with caplog.at_level(logging.ERROR, logger="payroute.web"):
        response = app.test_client().get("/_test/boom", headers={"X-Request-Id": "req-42"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "req-42" == response.headers["X-Request-Id"]
    assert "secret" not in response.get_data(as_text=True) and "RuntimeError" not in response.get_data(as_text=True)
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_a_request_id_is_made_when_the_client_sends_none_or_a_strange_one(client) -> None:
    plain = client.get("/health").headers["X-Request-Id"]
    odd = client.get("/health", headers={"X-Request-Id": "a b\x01c"}).headers["X-Request-Id"]
    assert len(plain) == 32 and len(odd) == 32 and plain != odd


def test_unknown_path_is_404(client) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client) -> None:
    response = client.get("/v1/evaluate")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_invalid_json_is_400(client) -> None:
    assert_problem(client.post("/v1/check", data='{"flow": ', content_type="application/json"), 400, "bad_request")


def test_non_json_content_type_is_415(client) -> None:
    assert_problem(client.post("/v1/check", data="flow", content_type="text/plain"), 415, "unsupported_media_type")
    assert_problem(client.post("/v1/check", data={"flow": "x"}), 415, "unsupported_media_type")  # a form


def test_a_body_over_the_limit_is_413(make_app, monkeypatch, reference_flow) -> None:
    monkeypatch.setenv("PAYROUTE_MAX_BODY", "256")
    client = authorized(make_app())
    assert client.post("/v1/check", json={"flow": "workflow"}).status_code == 200
    body = assert_problem(client.post("/v1/check", json={"flow": reference_flow}), 413, "payload_too_large")
    assert "256 bytes" in body["detail"]


def test_a_body_that_is_not_an_object_is_422(client) -> None:
    for data in ('"{\\"flow\\": \\"x\\"}"', "[]", "null", "3"):
        body = assert_problem(client.post("/v1/check", data=data, content_type="application/json"),
                              422, "validation_failed")
        assert body["errors"] == [{"pointer": "", "detail": "must be a JSON object"}]


def test_unknown_field_is_422_with_its_pointer(client) -> None:
    body = assert_problem(client.post("/v1/check", json={"flow": "x", "flwo": "y"}), 422, "validation_failed")
    assert body["errors"] == [{"pointer": "/flwo", "detail": "unknown field"}]


def test_an_evaluate_body_sent_to_check_names_each_unknown_field(client, reference_flow) -> None:
    """The fields of another route's body are unknown fields here, not a disbursement's problems
    (it was a 500: the disbursement's sentence was asked for a location outside any document)."""
    body = {"workflow": {"flow": "x"}, "disbursement": {"id": "d"}, "disbursements": [{"id": "d"}],
            "answers": {"Nope": "Approve"}}
    problem = assert_problem(client.post("/v1/check", json=body), 422, "validation_failed")
    assert problem["errors"] == [{"pointer": f"/{name}", "detail": "unknown field"} for name in body]


def test_a_disbursement_that_is_not_an_object_is_422_at_its_pointer(client, reference_flow) -> None:
    for field, value in (("disbursement", "d"), ("disbursements", ["d"]), ("disbursements", "d")):
        refused = client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow}, field: value})
        problem = assert_problem(refused, 422, "validation_failed")
        assert problem["errors"] and all(e["pointer"].startswith(f"/{field}") for e in problem["errors"])


@pytest.mark.parametrize("depth", [100_000, 2_000])
def test_nesting_past_the_json_parsers_bound_is_400(client, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for route, body in (("/v1/check", '{"config": {"steps": %s}}' % nested),
                        ("/v1/evaluate", '{"workflow": {"flow": "x"}, "disbursement": {"project": %s}}' % nested)):
        problem = assert_problem(client.post(route, data=body, content_type="application/json"), 400, "bad_request")
        assert problem["detail"] == "the request body is nested too deeply"


def test_nesting_within_the_parsers_bound_meets_the_engines_bound(client) -> None:
    nested = "[" * 300 + "]" * 300
    checked = client.post("/v1/check", data='{"config": {"steps": %s}}' % nested, content_type="application/json")
    assert checked.status_code == 200 and checked.get_json()["result"] == "error"
    assert [d["code"] for d in checked.get_json()["diagnostics"]] == ["nesting_too_deep"]
    refused = client.post("/v1/evaluate", data='{"workflow": {"config": {"steps": %s}}, "disbursements": []}' % nested,
                          content_type="application/json")
    body = assert_problem(refused, 422, "workflow_invalid")
    assert [e["code"] for e in body["errors"]] == ["nesting_too_deep"]
    deep_disbursement = client.post("/v1/evaluate", content_type="application/json",
                                    data='{"workflow": {"flow": "x"}, "disbursement": {"project": {"x": %s}}}' % nested)
    assert_problem(deep_disbursement, 422, "validation_failed")
