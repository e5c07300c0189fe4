"""The contract: /openapi.json is a valid OpenAPI 3.1 document generated from the models, listing every
route with its error responses as problem+json; /docs serves its UI from the package (no network)."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: F401 - what validate raises

from web.app import create_app


def _document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(client) -> None:
    doc = _document(client)
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on an invalid document


def test_the_document_lists_every_route_of_the_app(make_app) -> None:
    app = make_app()
    doc = _document(app.test_client())
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules()
              if not rule.rule.startswith(("/docs", "/openapi.json", "/static"))
              and rule.endpoint.partition(".")[0] not in app.extensions["payroute.pages"]  # pages: not the API
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    c, t = "/v1/companies/{company_id}", "/v1/companies/{company_id}/workflow-templates/{template_id}"
    expected = {
        ("/health", "get"), ("/v1/check", "post"), ("/v1/evaluate", "post"),
        ("/v1/me", "get"), ("/v1/companies", "get"), (c, "get"), (c, "patch"),
        (c + "/users", "get"), (c + "/users", "post"), (c + "/users/{user_id}", "get"),
        (c + "/users/{user_id}", "patch"), (c + "/users/{user_id}/grants", "post"),
        (c + "/users/{user_id}/grants/{permission}", "delete"),
        (c + "/groups", "get"), (c + "/groups", "post"), (c + "/groups/{group_id}", "get"),
        (c + "/projects", "get"), (c + "/projects", "post"), (c + "/projects/{project_id}", "get"),
        (c + "/projects/{project_id}", "patch"), (c + "/projects/{project_id}/invoices", "get"),
        (c + "/projects/{project_id}/invoices", "post"), (c + "/invoices/{invoice_id}", "get"),
        (c + "/workflow-templates", "get"), (c + "/workflow-templates", "post"), (t, "get"), (t, "patch"),
        (t + "/draft", "put"), (t + "/publish", "post"), (t + "/configuration", "put"), (t + "/default", "post"),
        (t + "/archive", "post")}
    one = f"{c}/disbursements/{{disbursement_id}}"
    draft = f"{c}/disbursement-drafts/{{draft_id}}"
    expected |= {
        ("/v1/audit/verify", "get"), (f"{c}/bank-accounts", "get"), (f"{c}/bank-accounts/{{account_id}}", "get"),
        *((f"{c}/{kind}-accounts", "post") for kind in ("deposit", "funding", "beneficiary")),
        *((f"{c}/bank-accounts/{{account_id}}/{action}", "post")
          for action in ("verification", "deactivate", "default", "approve", "designate")), (f"{c}/disbursements", "get"), (f"{c}/disbursements", "post"), (one, "get"),
        (f"{one}/payments", "put"), (f"{one}/cancel", "post"), (f"{one}/authorize", "post"),
        (f"{one}/funds", "get"), (f"{one}/payments/{{invoice_id}}/reissue", "post"),
        (f"{c}/bank-accounts/{{account_id}}/test-drawdowns", "post"),
        (f"{c}/bank-accounts/{{account_id}}/test-drawdowns", "get"), (f"{one}/history", "get"), (f"{one}/workflow", "get"),
        *((f"{one}/workflow/{action}", "post")
          for action in ("start", "responses", "restart", "return", "assignees", "terminate", "manager")),
        (f"{c}/disbursement-drafts", "get"), (f"{c}/disbursement-drafts", "post"), (draft, "get"),
        (f"{draft}/payments", "put"), (f"{draft}/create", "post")}
    expected |= {(f"{c}/me/mfa", "get"), (f"{c}/me/mfa/enrollment", "post"), (f"{c}/me/mfa/enrollment/confirm", "post"),
                 (f"{c}/me/mfa/recovery-codes", "post"), (f"{c}/me/mfa/recovery-codes/acknowledge", "post"),
                 (f"{c}/users/{{user_id}}/mfa/reset", "post")}
    assert served == documented == expected


def test_every_operation_documents_its_errors_as_problem_json(client) -> None:
    doc = _document(client)
    assert "Problem" in doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
            assert "500" in errors, (path, method)
            if method == "post":
                assert {"400", "413", "415", "422"} <= set(errors), (path, method)
            for response in errors.values():
                assert list(response["content"]) == ["application/problem+json"]
                assert response["content"]["application/problem+json"]["schema"] == \
                    {"$ref": "#/components/schemas/Problem"}


def test_request_models_come_from_the_engines_models(client) -> None:
    schemas = _document(client)["components"]["schemas"]
    amount = schemas["Invoice"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"].startswith("^")  # GEN-2: money is a string
    body = schemas["EvaluateBody"]
    assert body["additionalProperties"] is False and body["properties"]["disbursements"]["anyOf"][0]["maxItems"] == 1000


def test_docs_are_served_without_the_network(client) -> None:
    assert client.get("/docs").status_code in (301, 302, 308)
    page = client.get("/docs/swagger")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui" in html and "openapi.json" in html
    assert not re.search(r'(src|href)="https?://', html)  # every asset is served by the app itself
    for asset in re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', html):
        assert client.get(asset).status_code == 200, asset


def test_the_app_needs_a_secret_key_outside_testing(monkeypatch, tmp_path) -> None:
    import pytest

    from web.config import ConfigError

    monkeypatch.delenv("PAYROUTE_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    with pytest.raises(ConfigError, match="PAYROUTE_SECRET_KEY"):
        create_app({"PAYROUTE_DATABASE_URL": url})
    monkeypatch.setenv("PAYROUTE_SECRET_KEY", "k" * 32)
    app = create_app({"PAYROUTE_DATABASE_URL": url})
    assert app.config["SECRET_KEY"] == "k" * 32 and app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    app.extensions["payroute"].db.dispose()


def test_every_state_changing_operation_documents_the_idempotency_key(client) -> None:
    from web.api.common import READ_ONLY_POSTS

    doc = _document(client)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
            changes = method in ("post", "put", "patch", "delete") and path not in READ_ONLY_POSTS
            assert names.count("Idempotency-Key") == (1 if changes else 0), (path, method)


def test_every_component_schema_is_one_model(client) -> None:
    """The document names schemas by their model's class name: two models of one name would share a
    component, and one operation would document the other's body (the evaluate body's `Disbursement`
    document and the disbursement resource did)."""
    import importlib
    import inspect
    import pkgutil

    from pydantic import BaseModel

    import web.api

    modules = [importlib.import_module(m.name) for m in pkgutil.iter_modules(web.api.__path__, "web.api.")]
    modules += [importlib.import_module(name) for name in ("web.errors", "engine.spec.disbursement")]
    defined: dict[str, set[str]] = {}
    for module in modules:
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                defined.setdefault(value.__name__, set()).add(f"{value.__module__}.{name}")
    components = set(_document(client)["components"]["schemas"])
    shared = {name: sorted(where) for name, where in defined.items() if name in components and len(where) > 1}
    assert shared == {}
