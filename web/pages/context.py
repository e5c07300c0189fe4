"""Who a page request acts as: the engine session in the ``payroute_session`` cookie (ROLE-10).

A page never decides a rule: it asks :func:`engine.security.sign_in.authenticate_session`
who is signed in, then calls the same engine commands as /v1 with that user as the
actor. The cookie holds the session token only (HttpOnly, SameSite=Lax, Secure unless
``PAYROUTE_COOKIE_SECURE=0``); Flask's signed session cookie holds the chosen company,
the CSRF token and flashed messages, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import DomainError
from engine.services import Services

COOKIE = "payroute_session"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class PageUser:
    """The signed-in person and the company the page works in."""

    user_id: str
    email: str
    name: str
    company_id: str
    company_name: str
    time_zone: ZoneInfo
    #: every company the person is an active member of: (id, name)
    companies: tuple[tuple[str, str], ...]
    #: the person's permissions in the chosen company
    permissions: frozenset[str]
    #: the engine session token (never rendered: it lives in the HttpOnly cookie)
    token: str
    enroll_only: bool = False
    needs_reenrollment: bool = False

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"PageUser({self.email!r}, company={self.company_id!r})"


def services() -> Services:
    return cast(Services, current_app.extensions["payroute"])


def safe_next(target: str | None) -> str:
    """A redirect target that stays on this site (an open redirect is a phishing tool)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("sign_in.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("sign_in.home")
    return target


def _load(token: str, *, purpose: str) -> PageUser:
    from engine.security import sign_in
    from engine.service import directory

    svc = services()
    principal = sign_in.authenticate_session(svc, token, purpose=purpose)  # type: ignore[arg-type]
    account = directory.account(svc, principal.user_id)
    companies = tuple((m.id, m.name) for m in account.companies)
    if not companies:
        raise DomainError("forbidden", "you are not an active member of any company: ask an Admin to add you")
    wanted = session.get("company")
    chosen = next((m for m in account.companies if m.id == wanted), account.companies[0])
    zone = directory.read_company(svc, principal.user_id, chosen.id).time_zone
    return PageUser(principal.user_id, account.email, account.name, chosen.id, chosen.name, ZoneInfo(zone),
                    companies, frozenset(chosen.permissions), token, principal.enroll_only,
                    principal.needs_reenrollment)


def current() -> PageUser:
    """The signed-in person of this request (only inside a :func:`signed_in` view)."""
    user = g.get("page_user")
    if user is None:
        raise RuntimeError("current() outside a signed_in view")
    return cast(PageUser, user)


def maybe_current() -> PageUser | None:
    """The signed-in person, if a view already authenticated one (for the layout)."""
    return cast("PageUser | None", g.get("page_user"))


def _to_sign_in() -> Response:
    return redirect(url_for("sign_in.sign_in_page", next=request.full_path.rstrip("?")))


def signed_in(view: F | None = None, *, purpose: str = "act") -> Any:
    """A view for a signed-in person: no live session → the sign-in page (then back here); an
    enroll-only session (a payments role without MFA, ROLE-10) → the enrollment page."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = request.cookies.get(COOKIE)
            if not token:
                return _to_sign_in()
            try:
                g.page_user = _load(token, purpose=purpose)
            except DomainError as exc:
                if exc.code == "mfa_enrollment_required":
                    return redirect(url_for("mfa_pages.enroll"))
                if exc.code in ("unauthenticated", "mfa_required"):
                    from flask import flash

                    flash(engine_error(exc), "error")
                    response = _to_sign_in()
                    response.delete_cookie(COOKIE, path="/")
                    return response
                raise
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorate(view) if view is not None else decorate


def engine_error(exc: DomainError) -> str:
    """A refusal in words for a page: the engine's own message, which says what and why."""
    message = exc.message.strip()
    return message[:1].upper() + message[1:] if message else "That could not be done."


def set_session_cookie(response: Response, token: str) -> None:
    from engine.security.sign_in import SESSION_LIFETIME

    response.set_cookie(COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="Lax", secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
