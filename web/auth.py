"""Bearer tokens on /v1: ``Authorization: Bearer TOKEN`` acts as the token's one user (ROLE-12).

:func:`register` authenticates every request under ``/v1/`` before anything
reads its body (so an anonymous caller learns nothing about a route but that it
needs a token); ``/health``, ``/openapi.json`` and ``/docs`` need none. A
missing, malformed, unknown or revoked token is 401 problem+json with
``WWW-Authenticate: Bearer`` (:mod:`web.errors`). The view reads the acting
user from :func:`principal`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request

from web.errors import problem

if TYPE_CHECKING:
    from engine.service.tokens import Principal

PROTECTED_PREFIX = "/v1/"


def principal() -> Principal:
    """The authenticated caller of this request (only under /v1, where a token is required)."""
    found = g.get("principal")
    if found is None:
        raise RuntimeError("principal() outside an authenticated /v1 request")
    return found


def _authenticate() -> Response | None:
    if not request.path.startswith(PROTECTED_PREFIX) or request.method == "OPTIONS":
        return None
    from engine.errors import DomainError
    from engine.service import tokens

    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return problem(401, "this request needs a token: `Authorization: Bearer TOKEN`", code="unauthenticated")
    try:
        g.principal = tokens.authenticate(current_app.extensions["payroute"], secret)
    except DomainError as exc:
        if exc.code != "unauthenticated":
            raise
        return problem(401, "the token is unknown or revoked", code="unauthenticated")
    return None


def register(app: Flask) -> None:
    """Authenticate /v1 requests (register before anything that reads the body)."""
    app.before_request(_authenticate)
