"""The pages people use in a browser: server-rendered Jinja over the engine's own commands.

:func:`register` sets up what every page shares — the session and CSRF cookies,
Flask-WTF's CSRF check on every unsafe method outside the token-authenticated API,
the sign-in rate limit (Flask-Limiter), the security headers, the Jinja filters and
HTML error pages — and registers each page's blueprint. Rules stay in the engine: a
page calls the same functions as /v1 with the signed-in person as the actor and
shows the engine's refusal in words (:func:`web.pages.context.engine_error`).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

from web.pages import format as fmt

#: Paths that are not pages: the API (bearer tokens, no cookies, so no CSRF) and its documents.
API_PREFIXES = ("/v1/", "/health", "/openapi.json", "/docs")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Content-Security-Policy of every page: our own scripts and styles only (Mermaid's SVG styles inline)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")

csrf = CSRFProtect()
#: Sign-in attempts per client address (PAYROUTE_RATE_LIMIT_STORAGE: memory:// by default, per
#: worker process; a redis:// URL shares the count between workers and hosts)
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def is_page(path: str) -> bool:
    """Outside the API and its documents: where the CSRF check and the page headers apply."""
    return not path.startswith(API_PREFIXES)


def is_page_request() -> bool:
    """This request is a person's in a browser: a page's route, or an unknown address asked for as
    HTML outside the API. Its errors are HTML pages; every other request's stay problem+json."""
    from flask import current_app

    if request.blueprint is not None:
        return request.blueprint in current_app.extensions.get("payroute.pages", ())
    if request.url_rule is not None or not is_page(request.path):
        return False
    return "text/html" in request.headers.get("Accept", "")


def register(app: Flask) -> None:
    from web.pages import (bank_accounts, configure, disbursements, editor, inbox, insights, mfa, new_bank_account,
                           new_disbursement, people, sign_in)

    secure = os.environ.get("PAYROUTE_COOKIE_SECURE", "1").strip().lower() not in ("0", "false", "no")
    # Flask's own defaults are set already (not Secure, no SameSite): ours replace them
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("PAYROUTE_COOKIE_SECURE", secure))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "payroute_ui"
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below for pages only: /v1 has no cookies
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the (signed) session cookie lives
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("PAYROUTE_RATE_LIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _check_csrf() -> None:
        if request.method in _UNSAFE and is_page(request.path):
            csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        if is_page(request.path):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")
            if response.mimetype == "text/html":
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.register_error_handler(CSRFError, _csrf_error)
    app.add_template_filter(fmt.money, "money")
    app.add_template_filter(_when, "when")
    app.add_template_filter(fmt.day, "day")
    app.context_processor(_layout)
    app.jinja_env.add_extension("jinja2.ext.do")

    modules = (sign_in, mfa, new_disbursement, disbursements, people, inbox, insights, editor, bank_accounts,
               new_bank_account, configure)
    for module in modules:
        app.register_blueprint(module.bp)
    app.extensions["payroute.pages"] = frozenset(m.bp.name for m in modules)


def _when(moment: Any) -> str:
    from web.pages.context import maybe_current

    user = maybe_current()
    return fmt.when(moment, user.time_zone if user else None)


def _layout() -> dict[str, Any]:
    from web.pages.context import maybe_current

    from flask import current_app

    return {"me": maybe_current(), "has_endpoint": lambda name: name in current_app.view_functions}


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return error_page(400, "This form expired or did not come from payroute",
                      "The form's security token is missing or does not match (CSRF protection). Go back, "
                      "reload the page and send it again."), 400


def error_page(status: int, title: str, detail: str) -> str:
    return render_template("error.html", status=status, title=title, detail=detail)


def render_error(status: int, detail: str) -> Response:
    """The HTML page for an error on a page request (web.errors sends problem+json elsewhere)."""
    titles = {400: "That request could not be read", 403: "Not allowed", 404: "Page not found",
              405: "Not allowed here", 409: "That changed meanwhile", 413: "Too large",
              429: "Too many attempts", 500: "Something went wrong on our side"}
    body = error_page(status, titles.get(status, "Something went wrong"), detail)
    return Response(body, status=status, mimetype="text/html")
