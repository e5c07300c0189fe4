"""The Flask application factory: ``create_app(config=None)``.

One :class:`engine.services.Services` per app (``app.extensions["payroute"]``),
one blueprint per resource (:mod:`web.api`), one errors module
(:mod:`web.errors`). The OpenAPI 3.1 document is generated from the pydantic
request and response models by flask-openapi3 and served at ``/openapi.json``;
its Swagger UI (bundled with flask-openapi3-swagger, no network needed) is at ``/docs``.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, Response, json, redirect, request
from flask_openapi3 import Info, OpenAPI

from web import config as web_config

API_TITLE = "payroute"
#: Methods whose body the service reads: it must be JSON. A DELETE may carry one too (a revoke's
#: ``mfa_code``, ROLE-11): when it does, the same holds.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class PayrouteOpenAPI(OpenAPI):
    """flask-openapi3's app, whose generated document lists only the errors an operation can answer.

    The extension adds its own 422 (``application/json``) to every operation
    that documents none, a GET without a body included; each of ours
    documents its 422 (problem+json) where it can answer one.
    """

    def generate_spec_json(self) -> None:
        from web.api.common import document_idempotency_key

        super().generate_spec_json()
        for path, path_item in self.spec_json["paths"].items():
            for method, operation in path_item.items():
                added = operation["responses"].get(self.validation_error_status, {})
                if "application/json" in added.get("content", {}):
                    del operation["responses"][self.validation_error_status]
                document_idempotency_key(path, method, operation)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A configured app: ``config`` overrides the ``PAYROUTE_*`` environment (:mod:`web.config`)."""
    from engine.services import Services
    from engine.store.db import Database
    from web import auth, errors
    from web.api import audit, bank_accounts, check, disbursements, evaluate, funds, health, workflow
    from web.api import directory as directory_api
    from web.api import templates as templates_api
    from web.workflows import InlineWorkflows

    settings = web_config.settings(config)
    app = PayrouteOpenAPI(
        __name__,
        info=Info(title=API_TITLE, version=_version(),
                  description="Rules engine and approval service for construction payments. "
                              "Every error is application/problem+json (RFC 9457)."),
        validation_error_status=422,
        validation_error_model=errors.Problem,
        validation_error_callback=errors.validation_problem,
        doc_prefix="/docs",
        doc_url="/openapi.json",
        security_schemes={"bearer": {"type": "http", "scheme": "bearer",
                                     "description": "an API token from `payroute tokens create EMAIL`"}},
    )
    app.config.update(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documents' field order
    services = settings.get("PAYROUTE_SERVICES")
    if services is None:
        services = Services(Database(web_config.database_url(app.config)))
    app.extensions["payroute"] = services
    app.extensions["payroute.inline"] = InlineWorkflows()

    errors.register(app)
    auth.register(app)  # before the body is read: an anonymous caller is 401 whatever it sends
    app.before_request(_json_body)
    app.register_api(health.bp)
    app.register_api(check.bp)
    app.register_api(evaluate.bp)
    app.register_api(directory_api.bp)
    app.register_api(templates_api.bp)
    app.register_api(disbursements.bp)
    app.register_api(workflow.bp)
    app.register_api(audit.bp)
    app.register_api(bank_accounts.bp)
    app.register_api(funds.bp)
    app.register_api(__import__("web.api.mfa", fromlist=["bp"]).bp)  # MFA over HTTP
    _add_contract_routes(app)
    _document_problem(app)
    from web import pages

    pages.register(app)  # the browser pages (sign-in session cookies, CSRF), beside the API
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("payroute")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        return "0"


def _json_body() -> Response | None:
    """A body the service reads must be a JSON object: otherwise 415 (not JSON), 400 (not
    valid JSON, or nested deeper than the parser goes) or 422 (JSON, but not an object)."""
    from werkzeug.exceptions import BadRequest

    from web.errors import problem

    from web.pages import is_page_request

    if request.url_rule is None or is_page_request():  # a page's form is its own (CSRF-checked)
        return None
    if request.method == "DELETE":
        if not request.get_data(cache=True):
            return None  # a DELETE without a body: nothing to read
    elif request.method not in _BODY_METHODS:
        return None
    if not request.is_json:
        return problem(415, "the request body must be JSON (Content-Type: application/json)")
    try:
        data = request.get_json()
    except BadRequest:
        return problem(400, "the request body is not valid JSON")
    except RecursionError:
        return problem(400, "the request body is nested too deeply")
    if not isinstance(data, dict):
        return problem(422, "the request body must be a JSON object", errors=[
            {"pointer": "", "detail": "must be a JSON object"}])
    return None


def _add_contract_routes(app: Any) -> None:
    """``/openapi.json`` (the generated document) and ``/docs`` (its Swagger UI)."""

    def openapi_document() -> Response:
        return Response(json.dumps(app.api_doc), mimetype="application/json")

    def docs() -> Any:
        return redirect("/docs/swagger", code=302)

    app.add_url_rule("/openapi.json", "openapi_document", openapi_document, methods=["GET"])
    app.add_url_rule("/docs", "docs", docs, methods=["GET"], strict_slashes=True)


def _document_problem(app: Any) -> None:
    """Put the :class:`web.errors.Problem` schema in the document's components (the error
    responses refer to it as ``application/problem+json``)."""
    from flask_openapi3.models import Schema

    from web.errors import Problem

    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, value in schema.pop("$defs", {}).items():
        app.components_schemas[name] = Schema(**value)
    app.components_schemas["Problem"] = Schema(**schema)
