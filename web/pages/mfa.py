"""MFA enrollment in a browser (MFA-4, MFA-7, ROLE-10): the QR code and setup key, a first code to
confirm, the ten recovery codes shown once and the "I have saved these" confirmation.

The secret, the URI and the codes exist only in the one response that shows them
(``Cache-Control: no-store``, as every page); the engine keeps the secret sealed and
the codes as argon2 hashes. A session opened only to enroll (a payments role without
MFA) ends once the codes are saved: ROLE-10 asks for the factor at a login, so the
person signs in again with a code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from engine.errors import DomainError
from web.pages.context import COOKIE, clear_session_cookie, current, engine_error, services, signed_in

bp = Blueprint("mfa_pages", __name__, url_prefix="/mfa")


def _status() -> Any:
    from engine.security import enrollment

    me = current()
    return enrollment.status(services(), me.user_id, me.company_id)


@bp.get("/enroll")
@signed_in(purpose="enroll")
def enroll() -> str:
    return render_template("mfa/enroll.html", status=_status(), start=None, errors={})


@bp.post("/enroll")
@signed_in(purpose="enroll")
def start() -> tuple[str, int] | str:
    from engine.security import enrollment

    me = current()
    try:
        started = enrollment.start_enrollment(services(), me.user_id, me.company_id)
    except DomainError as exc:
        return render_template("mfa/enroll.html", status=_status(), start=None,
                               errors={"start": engine_error(exc)}), 409
    return render_template("mfa/enroll.html", status=_status(), start=started, qr=Markup(started.qr_svg),
                           errors={})


@bp.post("/enroll/confirm")
@signed_in(purpose="enroll")
def confirm() -> tuple[str, int] | str:
    from engine.security import enrollment

    me = current()
    code = "".join(request.form.get("code", "").split())
    if not code:
        return render_template("mfa/enroll.html", status=_status(), start=None, pending=True,
                               errors={"code": "Enter the 6-digit code your app shows."}), 422
    try:
        codes = enrollment.confirm_enrollment(services(), me.user_id, me.company_id, code=code)
    except DomainError as exc:
        return render_template("mfa/enroll.html", status=_status(), start=None, pending=True,
                               errors={"code": engine_error(exc)}), 422
    return render_template("mfa/codes.html", codes=codes.codes)


@bp.post("/recovery-codes/saved")
@signed_in(purpose="enroll")
def saved() -> Response | tuple[str, int]:
    from engine.security import enrollment, sign_in

    me = current()
    if request.form.get("saved") != "yes":
        flash("Tick the box once your recovery codes are somewhere safe: they are not shown again.", "error")
        return redirect(url_for("mfa_pages.enroll"))
    enrollment.acknowledge_recovery_codes(services(), me.user_id, me.company_id)
    if not me.enroll_only:
        flash("MFA is set up. Your recovery codes are saved.", "ok")
        return redirect(url_for("sign_in.home"))
    token = request.cookies.get(COOKIE)
    if token:
        sign_in.sign_out(services(), token)
    flash("MFA is set up. Sign in again with a code from your authenticator app.", "ok")
    response = redirect(url_for("sign_in.sign_in_page", email=me.email))
    clear_session_cookie(response)
    return response


@bp.post("/recovery-codes")
@signed_in
def regenerate() -> tuple[str, int] | str:
    """MFA-7: a new set of ten after a challenge; the old set is void; shown once, confirmed again."""
    from engine.security import enrollment

    me = current()
    code = "".join(request.form.get("code", "").split())
    try:
        codes = enrollment.regenerate_recovery_codes(services(), me.user_id, me.company_id, code=code)
    except DomainError as exc:
        return render_template("mfa/enroll.html", status=_status(), start=None,
                               errors={"regenerate": engine_error(exc)}), 422
    return render_template("mfa/codes.html", codes=codes.codes)
