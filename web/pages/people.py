"""People (for a Payments Admin): the company's members, their roles, and resetting a member's MFA
(MFA-14, MFA-15) with the admin's own code and a reason. The engine checks who may (never oneself)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("people_pages", __name__, url_prefix="/people")


def _members() -> tuple[list[Any], str | None]:
    from engine.service import directory

    me = current()
    items: list[Any] = []
    after: str | None = None
    while True:
        page = directory.list_members(services(), me.user_id, me.company_id, after=after, limit=directory.MAX_PAGE)
        items.extend(page.items)
        after = page.next_after
        if after is None or len(items) >= 1000:
            return items, after


def _render(errors: dict[str, str], values: dict[str, str], status: int = 200) -> tuple[str, int]:
    from engine.security.permissions import LABELS

    try:
        members, more = _members()
    except DomainError as exc:
        return render_template("people/list.html", members=None, refusal=engine_error(exc), labels=LABELS,
                               errors={}, values={}, more=None), 403
    return render_template("people/list.html", members=members, refusal=None, labels=LABELS, errors=errors,
                           values=values, more=more), status


@bp.get("")
@signed_in
def people() -> tuple[str, int]:
    return _render({}, {})


@bp.post("/<user_id>/mfa-reset")
@signed_in
def reset_mfa(user_id: str) -> Any:
    from engine.security import enrollment

    me = current()
    code = "".join(request.form.get("code", "").split())
    reason = request.form.get("reason", "")
    try:
        enrollment.reset(services(), me.user_id, me.company_id, user_id, code=code, reason=reason)
    except DomainError as exc:
        return _render({user_id: engine_error(exc)}, {"user": user_id, "reason": reason}, 422)
    flash("MFA is reset: the member is signed out everywhere, emailed, and sets up MFA at the next sign-in.", "ok")
    return redirect(url_for("people_pages.people"))
