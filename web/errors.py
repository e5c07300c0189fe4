"""Every error the service answers, as ``application/problem+json`` (RFC 9457).

A problem has ``type`` (a stable URI per code: ``https://payroute.dev/problems/<code>``),
``title`` (the same for every problem of a type), ``status``, ``detail`` (this
occurrence) and ``code``; a validation problem adds ``errors``, each with a
JSON Pointer into the request body (and, for a ``.flow`` text, the
diagnostic with its line and column).

:data:`STATUS_BY_KIND` is the one table from a domain error's kind
(:data:`engine.errors.ERRORS`) to an HTTP status: nothing else maps codes to
statuses. A 401 carries ``WWW-Authenticate: Bearer``. An unexpected exception
is a 500 with the request id and no internal text; the traceback goes to the log.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Iterable, Mapping

from flask import Flask, Response, g, json, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import HTTPException

from engine.errors import ERRORS, DomainError

log = logging.getLogger("payroute.web")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://payroute.dev/problems/"

#: A domain error's kind → the HTTP status (the only such table).
STATUS_BY_KIND: dict[str, int] = {
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "precondition": 412,
    "invalid": 422,
    "unauthenticated": 401,
}

#: The codes of problems that are not domain refusals, with their status.
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    412: "precondition_failed",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    500: "internal_error",
    503: "service_unavailable",
}

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ProblemError(BaseModel):
    """One located problem of a request: where (a JSON Pointer into the body) and what."""

    model_config = ConfigDict(extra="allow")

    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request body; '' is the body itself")
    detail: str = Field(description="what is wrong there")


class Problem(BaseModel):
    """An error response, ``application/problem+json`` (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a stable URI per code, https://payroute.dev/problems/<code>")
    title: str = Field(description="a short summary, the same for every problem of this type")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong in this request")
    code: str = Field(description="the stable snake_case code (engine.errors.ERRORS, or an HTTP-level code)")
    errors: list[ProblemError] | None = Field(default=None, description="validation errors, each located")
    request_id: str | None = Field(default=None, description="the request id, on a 500 (quote it when reporting)")


def status_for(error: DomainError) -> int:
    """The status of a domain refusal, from its kind (:data:`STATUS_BY_KIND`)."""
    return STATUS_BY_KIND[ERRORS[error.code].kind]


#: words a title spells out or keeps in capitals (``mfa_failed`` → ``MFA failed``)
_TITLE_WORDS = {"mfa": "MFA", "sod": "segregation of duties", "etag": "ETag", "json": "JSON", "http": "HTTP"}


def title_for(code: str) -> str:
    """``permission_denied`` → ``Permission denied``; ``mfa_failed`` → ``MFA failed``."""
    words = [_TITLE_WORDS.get(w, w) for w in code.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def problem(status: int, detail: str, *, code: str | None = None, errors: Iterable[Mapping[str, Any]] | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    """A problem+json response."""
    code = code or HTTP_CODES.get(status, "error")
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title_for(code), "status": status,
                            "detail": detail, "code": code}
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def pointer(location: Iterable[object]) -> str:
    """``("disbursements", 1, "amount")`` → ``/disbursements/1/amount`` (RFC 6901 escapes)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in location)


def _disbursement_at(loc: tuple[object, ...]) -> int | None:
    """How many leading parts of ``loc`` lead to a disbursement document, if ``loc`` is strictly
    inside one (a problem with the ``disbursement`` field itself, such as the field being unknown
    to /v1/check, is the request body's, not the document's)."""
    if len(loc) > 1 and loc[0] == "disbursement":
        return 1
    if len(loc) > 2 and loc[0] == "disbursements" and isinstance(loc[1], int):
        return 2
    return None


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Each pydantic error as ``{"pointer", "detail"}``; inside a disbursement, the engine's sentence."""
    from engine.spec.disbursement import problem_message

    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        detail: str | None
        depth = _disbursement_at(loc)
        if depth is not None:
            detail = problem_message({**err, "loc": loc[depth:]})
            if detail is None:
                continue
        elif err["type"] == "extra_forbidden":
            detail = "unknown field"
        elif err["type"] == "missing":
            detail = "required field is missing"
        elif err["type"] == "value_error":
            detail = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            detail = str(err["msg"])
        out.append({"pointer": pointer(loc), "detail": detail})
    return out


def validation_problem(exc: ValidationError) -> Response:
    """flask-openapi3's ``validation_error_callback``: a request body its model refused → 422."""
    errors = validation_errors(exc)
    n = len(errors)
    return problem(422, f"the request body has {n} problem{'s' if n != 1 else ''}", errors=errors)


def request_id() -> str:
    """This request's id: the client's ``X-Request-Id`` when it is short and plain, else a new one."""
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get("X-Request-Id", "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
    return str(rid)


def _page(path: str) -> bool:
    from web.pages import is_page_request

    return is_page_request()


def _page_error(status: int, detail: str) -> Response:
    from web.pages import render_error

    return render_error(status, detail)


_PAGE_DETAIL = {
    404: "There is no page at this address. Check the link, or start again from the inbox.",
    405: "This page does not accept that kind of request.",
    429: "Too many attempts from your address in a short time: wait a minute, then try again.",
}


def _http_error(exc: HTTPException) -> Response:
    if exc.response is not None:  # a response made on purpose (flask-openapi3's validation problem)
        return exc.response
    status = exc.code or 500
    if status >= 500:
        return _internal(exc)
    if _page(request.path):  # a person in a browser: an HTML page that says what happened
        return _page_error(status, _PAGE_DETAIL.get(status, exc.description or title_for(
            HTTP_CODES.get(status, "error"))))
    detail = {
        400: "the request body is not valid JSON",
        404: "no such resource",
        405: f"{request.method} is not allowed on {request.path}",
        413: "the request body is larger than this service accepts",
        415: "the request body must be JSON (Content-Type: application/json)",
    }.get(status, exc.description or title_for(HTTP_CODES.get(status, "error")))
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods or ())
    if status == 413 and request.max_content_length:
        detail += f" ({request.max_content_length} bytes)"
    return problem(status, detail, headers=headers)


def _domain_error(exc: DomainError) -> Response:
    if _page(request.path):  # a page that did not catch its refusal still explains it
        from web.pages.context import engine_error

        return _page_error(status_for(exc), engine_error(exc))
    extra: dict[str, Any] = {}
    if exc.rule:
        extra["rule"] = exc.rule
    if exc.missing:
        extra["missing_permission"] = exc.missing
    return problem(status_for(exc), exc.message, code=exc.code, **extra)


def _internal(exc: BaseException) -> Response:
    rid = request_id()
    log.error("request %s %s %s failed", rid, request.method, request.path, exc_info=exc)
    if _page(request.path):
        return _page_error(500, f"The page could not be shown. Quote request id {rid} when reporting it.")
    return problem(500, f"the service failed to answer this request; quote request id {rid} when reporting it",
                   request_id=rid)


def register(app: Flask) -> None:
    """Install the handlers: every error leaves as problem+json."""
    from web.api.common import HeaderError, header_problem

    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HeaderError, header_problem)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal)

    @app.after_request
    def _tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        return response
