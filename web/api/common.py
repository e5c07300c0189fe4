"""The conventions every /v1 resource shares, so that all of them treat headers and pages alike.

- Company-scoped resources live under ``/v1/companies/{company_id}/...``; the
  token's user acts in that company, and the engine decides what they may see
  (another company's object is 404, GEN-5).
- ``Idempotency-Key`` (GEN-8): every POST/PUT/PATCH/DELETE that changes state
  passes :func:`idempotency_key` to the engine command's ``idempotency_key``
  keyword. The engine replays the first result for the same key and arguments,
  and refuses the same key with other arguments (``idempotency_conflict``, 422);
  the view renders the replayed result with the same status as the first time.
  An operation in :data:`KEY_REQUIRED` (authorize) refuses to run without one: 400
  (:func:`required_idempotency_key`).
- ``ETag`` / ``If-Match`` (RFC 9110): a versioned object's representation
  carries ``ETag: "<version>"`` (:func:`etag`); an action on it reads the
  expected version from ``If-Match`` (:func:`if_match`): absent and required
  → 428, malformed → 400; the engine compares it inside its transaction, so a
  stale one is 412 and never races.
- Lists are ``{"items": [...], "next_cursor": str | null}``; ``?cursor=`` is
  the opaque value of ``next_cursor`` and ``?limit=`` is 1..:data:`MAX_LIMIT`
  (default :data:`DEFAULT_LIMIT`). :func:`encode_cursor` / :func:`decode_cursor`
  make and read the opaque value (a bad one is 400, not a 500).
- A create answers 201 with ``Location``; an action answers 200 with the object.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Generic, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel, Field

from web.auth import principal

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: POSTs that change nothing (ROLL-6): they take no Idempotency-Key.
READ_ONLY_POSTS = frozenset({"/v1/check", "/v1/evaluate"})
_CHANGING = frozenset({"post", "put", "patch", "delete"})
#: POSTs that refuse to run without an Idempotency-Key (400, as the IETF draft asks): moving money
#: twice because a client retried without one must not be possible (AUTH-11).
KEY_REQUIRED = frozenset({"/v1/companies/{company_id}/disbursements/{disbursement_id}/authorize"})
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


class HeaderError(Exception):
    """A request header the service cannot use; :mod:`web.errors` answers ``status`` as problem+json."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code


def actor() -> str:
    """The acting user's id: the token's one user (ROLE-12)."""
    return principal().user_id


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` (None without one); the engine checks its form (GEN-8)."""
    return request.headers.get(IDEMPOTENCY_HEADER)


def required_idempotency_key() -> str:
    """The request's ``Idempotency-Key``, which this operation requires: absent is 400
    (``idempotency_key_required``), as the IETF Idempotency-Key draft asks of an operation
    that documents the header as required; its form is the engine's check (GEN-8)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or not key.strip():
        raise HeaderError(400, f"this request needs an `{IDEMPOTENCY_HEADER}` header (GEN-8): a retry with the "
                               "same key then answers the first result instead of acting twice",
                          "idempotency_key_required")
    return key


def document_idempotency_key(path: str, method: str, operation: dict[str, Any]) -> None:
    """Document the ``Idempotency-Key`` header on an operation that changes state (once: a view
    that declares the header itself keeps its own description)."""
    if method not in _CHANGING or not path.startswith("/v1/") or path in READ_ONLY_POSTS:
        return
    parameters = operation.setdefault("parameters", [])
    if any(p.get("in") == "header" and p.get("name", "").lower() == IDEMPOTENCY_HEADER.lower()
           for p in parameters):
        return
    required = path in KEY_REQUIRED
    parameters.append({
        "name": IDEMPOTENCY_HEADER, "in": "header", "required": required,
        "description": "GEN-8: a retry with the same key and body answers the first status and body "
                       "and changes nothing more; the same key with another body is 422 "
                       "(1 to 200 printable characters)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200}})


def etag(version: int) -> str:
    """The strong entity tag of ``version`` (a row's ``lock_version``)."""
    return f'"{version}"'


def if_match(*, required: bool) -> int | None:
    """The version ``If-Match`` names; None when absent and not ``required`` (else 428)."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        if required:
            raise HeaderError(428, "this request needs `If-Match: <the ETag you last read>`, so that it cannot "
                                   "overwrite a change it has not seen", "precondition_required")
        return None
    found = _ETAG.match(raw.strip())
    if found is None:
        raise HeaderError(400, 'If-Match must be one entity tag as the ETag header gave it, e.g. "7"',
                          "bad_if_match")
    return int(found.group(1))


def with_etag(response: Response, version: int | None) -> Response:
    """``response`` with the ``ETag`` of ``version`` (none for a result replayed from a record stored
    before results carried their version: better no tag than a wrong one)."""
    if version is not None:
        response.headers["ETag"] = etag(version)
    return response


def created(body: Any, location: str, *, version: int | None = None) -> Response:
    """201 with ``Location`` (and an ``ETag`` for a versioned object)."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    if version is not None:
        response.headers["ETag"] = etag(version)
    return response


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for ``position`` (the sort key of the last item a page returned)."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position an :func:`encode_cursor` value names; a value this service did not make is 400."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise HeaderError(400, "cursor is not a value this service returned as next_cursor", "bad_cursor")
    return data


class Page(BaseModel, Generic[T]):
    """One page of a list: the items in order, and the cursor of the next page (null on the last)."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class PageQuery(BaseModel):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")


def header_problem(exc: HeaderError) -> Response:
    from web.errors import problem

    return problem(exc.status, exc.detail, code=exc.code)
