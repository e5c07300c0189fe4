"""Sign in and out (ROLE-10, MFA-2, MFA-6, MFA-11, MFA-12): the engine's ``sign_in`` behind a form.

One form asks for the email, the password and — for whoever has MFA or holds a
payments role — the code from the authenticator app, or a recovery code instead.
Every refusal is the engine's, in words, at the field it concerns; a wrong email
and a wrong password are the same message (the engine makes them so). Attempts are
rate-limited per client address (Flask-Limiter) on top of the engine's own MFA
lockout and throttle, which is per person.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import DomainError
from web.pages import limiter
from web.pages.context import (COOKIE, clear_session_cookie, current, engine_error, safe_next, services,
                               set_session_cookie, signed_in)

bp = Blueprint("sign_in", __name__)

#: what a refusal's code says about which field it concerns
_FIELD = {"sign_in_failed": "password", "mfa_required": "code", "mfa_failed": "code", "mfa_throttled": "code",
          "mfa_locked": "code", "invalid_value": "code"}


@bp.get("/")
@signed_in
def home() -> Response:
    """The inbox when there is one: what is waiting for me is where a day starts."""
    if "inbox.inbox" in current_app.view_functions:
        return redirect(url_for("inbox.inbox"))
    return redirect(url_for("disbursement_pages.list_page"))


@bp.get("/sign-in")
def sign_in_page() -> str:
    return render_template("sign_in.html", values={"email": request.args.get("email", "")}, errors={},
                           next=request.args.get("next", ""), recovery=request.args.get("recovery") == "1")


@bp.post("/sign-in")
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
def sign_in_submit() -> Any:
    from engine.security import sign_in

    form = request.form
    email = form.get("email", "").strip()[:320]
    password = form.get("password", "")
    code = "".join(form.get("code", "").split()) or None
    recovery_code = "".join(form.get("recovery_code", "").split()) or None
    target = form.get("next", "")
    values = {"email": email}
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Enter your password."
    if not errors:
        try:
            signed = sign_in.sign_in(services(), email, password, code=code, recovery_code=recovery_code)
        except DomainError as exc:
            field = _FIELD.get(exc.code, "password")
            if field == "code" and recovery_code:
                field = "recovery_code"
            message = engine_error(exc)
            if exc.code == "mfa_required":
                message = "Your account needs the 6-digit code from your authenticator app at every sign-in."
            errors[field] = message
        else:
            response = redirect(url_for("mfa_pages.enroll") if signed.session.enroll_only else safe_next(target))
            session.clear()  # a new person: no company choice, CSRF token or messages of the last one
            set_session_cookie(response, signed.token)
            return response
    return render_template("sign_in.html", values=values, errors=errors, next=target,
                           recovery=bool(recovery_code) or form.get("recovery") == "1"), 422 if errors else 200


@bp.post("/sign-out")
def sign_out() -> Response:
    from engine.security import sign_in

    token = request.cookies.get(COOKIE)
    if token:
        sign_in.sign_out(services(), token)
    session.clear()
    flash("You are signed out.", "ok")
    response = redirect(url_for("sign_in.sign_in_page"))
    clear_session_cookie(response)
    return response


@bp.post("/company")
@signed_in
def choose_company() -> Response:
    """Work in another of one's companies (the choice is the signed session cookie's)."""
    wanted = request.form.get("company", "")
    if any(cid == wanted for cid, _ in current().companies):
        session["company"] = wanted
    else:
        flash("You are not a member of that company.", "error")
    return redirect(url_for("sign_in.home"))
