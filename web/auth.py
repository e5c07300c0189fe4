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

from flask import Flask, Request, Response, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

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


class LazySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, which sign and verify only when there is a cookie.

    Why: Flask builds its signing serializer (key derivation included) for every request once a
    secret key is set, even when the request carries no session cookie, as no API request does
    (an API client authenticates with its token, never a cookie). A request without the cookie
    now gets an empty session straight away; one with it is verified exactly as before."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # what Flask does then too, after reading seven cookie settings first
        super().save_session(app, session, response)


def register(app: Flask) -> None:
    """Authenticate /v1 requests (register before anything that reads the body)."""
    app.before_request(_authenticate)
    app.session_interface = LazySessions()
