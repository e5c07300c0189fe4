"""The disbursement pages: the company's list, and one disbursement with its invoices, workflow,
history, the assignees' answers, the manager's actions, cancel and authorize (issue 13).

Every action calls the engine command the /v1 route calls, with the signed-in person as
the actor; a refusal is shown in the engine's words at the form it concerns, and the
page is re-rendered with what the person typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("disbursement_pages", __name__, url_prefix="/disbursements")

#: the list's filters: the query value → the engine's keyword arguments
_VIEWS = {"all": {}, "mine": {"awaiting_me": True}, "overdue": {"overdue": True}}


@bp.get("")
@signed_in
def list_page() -> tuple[str, int] | str:
    from engine.service import disbursement_queries

    me = current()
    view = request.args.get("view", "all")
    if view not in _VIEWS:
        view = "all"
    after = request.args.get("after") or None
    try:
        page = disbursement_queries.list_disbursements(services(), me.user_id, me.company_id, after=after,
                                                       limit=50, **_VIEWS[view])
    except DomainError as exc:
        return render_template("disbursements/list.html", page=None, view=view, error=engine_error(exc)), 400
    return render_template("disbursements/list.html", page=page, view=view, error=None)


def stage_badge(stage: str) -> tuple[str, str]:
    """The words and the colour of a disbursement's stage (engine.runtime.funds.stage)."""
    return {
        "draft": ("Draft", "muted"), "in_review": ("In review", "info"), "rejected": ("Rejected", "bad"),
        "approved": ("Approved", "ok"), "canceled": ("Canceled", "muted"), "authorized": ("Authorized", "ok"),
        "funding_failed": ("Funding failed", "bad"), "paying": ("Paying", "info"),
        "payment_failed": ("Payment failed", "bad"), "paid": ("Paid", "ok"),
    }.get(stage, (stage.replace("_", " ").capitalize(), "muted"))


@bp.app_template_filter("stage")
def _stage(stage: str) -> Any:
    from markupsafe import Markup, escape

    text, kind = stage_badge(stage)
    return Markup(f'<span class="badge badge-{kind}">{escape(text)}</span>')


def _detail_context(disbursement_id: str) -> dict[str, Any]:
    """What the disbursement page shows, each read through the engine as the signed-in person."""
    from engine.payments import funds_queries
    from engine.service import directory, disbursement_queries, history

    me = current()
    svc = services()
    detail = disbursement_queries.get_disbursement(svc, me.user_id, me.company_id, disbursement_id)
    invoices = {}
    for p in detail.disbursement.payments:
        try:
            invoices[p.invoice_id] = directory.read_invoice(svc, me.user_id, me.company_id, p.invoice_id)
        except DomainError:
            invoices[p.invoice_id] = None
    try:
        events = history.history(svc, me.user_id, me.company_id, disbursement_id)
    except DomainError as exc:
        events = None
        history_refusal = engine_error(exc)
    else:
        history_refusal = None
    funds = funds_queries.funds_view(svc, me.user_id, me.company_id, disbursement_id)
    names = _names(detail)
    return {"d": detail.disbursement, "detail": detail, "wf": detail.workflow, "invoices": invoices,
            "history": events, "history_refusal": history_refusal, "funds": funds, "names": names,
            "diagram": _diagram(detail), "may_authorize": _may_authorize(me)}


def _names(detail: Any) -> dict[str, str]:
    """User id → name for the people the page mentions (members only; GEN-5)."""
    from engine.service import directory

    me = current()
    wanted: set[str] = set()
    wf = detail.workflow
    if wf and wf.current:
        wanted.update(wf.current.awaited)
        wanted.update(wf.current.answered)
    if wf and wf.manager:
        wanted.add(wf.manager)
    for who in (detail.disbursement.created_by, detail.disbursement.authorized_by):
        if who:
            wanted.add(who)
    return directory.member_names(services(), me.user_id, me.company_id, sorted(wanted))


def _may_authorize(me: Any) -> bool:
    from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER

    return bool(me.permissions & {PAYMENTS_ADMIN, PAYMENTS_DISBURSER})


def _diagram(detail: Any) -> str | None:
    """The workflow's Mermaid text with the path taken and the current step highlighted."""
    from dsl.diagram import DiagramError, PathError, render

    from engine.service import disbursement_queries

    wf = detail.workflow
    if wf is None:
        return None
    me = current()
    config = disbursement_queries.running_workflow(services(), me.user_id, me.company_id, detail.id)
    if config is None:
        return None
    try:
        return render(config, "mermaid", path=list(wf.path) or None, current=wf.current.step if wf.current else None)
    except (DiagramError, PathError):
        return render(config, "mermaid")


@bp.get("/<disbursement_id>")
@signed_in
def detail(disbursement_id: str) -> str:
    return render_template("disbursements/detail.html", errors={}, values={}, **_detail_context(disbursement_id))


def _again(disbursement_id: str, form: str, exc: DomainError, status: int = 422) -> tuple[str, int]:
    """The page again, with the refusal at the form it concerns and what the person typed."""
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "mfa_code")}
    return render_template("disbursements/detail.html", errors={form: engine_error(exc), "_code": exc.code,
                                                                 "_objects": _objects(exc)},
                           values=values, **_detail_context(disbursement_id)), status


def _objects(exc: DomainError) -> Any:
    return getattr(exc, "objects", None)


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _done(disbursement_id: str, message: str) -> Any:
    from flask import flash, redirect, url_for

    flash(message, "ok")
    return redirect(url_for("disbursement_pages.detail", disbursement_id=disbursement_id))


@bp.post("/<disbursement_id>/respond")
@signed_in
def respond(disbursement_id: str) -> Any:
    from engine.service import instances

    me = current()
    answer = request.form.get("answer", "")
    occurrence = request.form.get("occurrence", "")
    comment = request.form.get("comment", "").strip() or None
    try:
        if not occurrence.isdigit():
            raise DomainError("invalid_value", "the step to answer is missing: reload the page")
        instances.respond(services(), me.user_id, me.company_id, disbursement_id, occurrence=int(occurrence),
                          answer=answer, comment=comment, expected_version=_version())
    except DomainError as exc:
        return _again(disbursement_id, "respond", exc, _status(exc))
    return _done(disbursement_id, f"Your answer “{answer}” is recorded.")


@bp.post("/<disbursement_id>/cancel")
@signed_in
def cancel(disbursement_id: str) -> Any:
    from engine.service import disbursements

    me = current()
    reason = request.form.get("reason", "")
    try:
        disbursements.cancel(services(), me.user_id, me.company_id, disbursement_id, reason=reason,
                             expected_version=_version())
    except DomainError as exc:
        return _again(disbursement_id, "cancel", exc, _status(exc))
    return _done(disbursement_id, "The disbursement is canceled.")


@bp.post("/<disbursement_id>/manage")
@signed_in
def manage(disbursement_id: str) -> Any:
    """The workflow manager's actions (MGR-*): each with the reason the engine requires."""
    from engine.service import instances

    me = current()
    action = request.form.get("action", "")
    reason = request.form.get("reason", "")
    svc = services()
    args = (svc, me.user_id, me.company_id, disbursement_id)
    try:
        if action == "return":
            instances.return_to(*args, step=request.form.get("step", ""), reason=reason,
                                expected_version=_version())
            done = "The workflow went back to the step you chose."
        elif action == "terminate":
            instances.terminate(*args, reason=reason, expected_version=_version())
            done = "The workflow is terminated."
        elif action == "restart":
            instances.restart(*args, reason=reason, expected_version=_version())
            done = "The workflow restarted from its first step."
        elif action == "start":
            instances.start(*args, expected_version=_version())
            done = "The workflow started."
        else:
            raise DomainError("invalid_value", "choose an action: return to a step, restart or terminate")
    except DomainError as exc:
        return _again(disbursement_id, "manage", exc, _status(exc))
    return _done(disbursement_id, done)


@bp.post("/<disbursement_id>/authorize")
@signed_in
def authorize(disbursement_id: str) -> Any:
    """AUTH-2..AUTH-11 in the engine; the page only carries the code and the partial confirmation."""
    from engine.payments import authorization

    me = current()
    code = "".join(request.form.get("mfa_code", "").split())
    try:
        authorization.authorize(services(), me.user_id, me.company_id, disbursement_id, mfa_code=code,
                                confirm_partial=request.form.get("confirm_partial") == "yes",
                                expected_version=_version())
    except DomainError as exc:
        return _again(disbursement_id, "authorize", exc, _status(exc))
    return _done(disbursement_id, "Authorized. The drawdown is requested; payouts follow once the funds arrive.")


def _status(exc: DomainError) -> int:
    from web.errors import status_for

    return status_for(exc)


@bp.post("/<disbursement_id>/payments/<invoice_id>/reissue")
@signed_in
def reissue(disbursement_id: str, invoice_id: str) -> Any:
    """FLOW-8: a Payments Admin re-issues a Failed payment (the engine checks the role, the state and
    the code, last)."""
    from engine.payments import reissue as reissuing

    me = current()
    code = "".join(request.form.get("mfa_code", "").split())
    try:
        order = reissuing.reissue_payment(services(), me.user_id, me.company_id, disbursement_id, invoice_id,
                                          mfa_code=code)
    except DomainError as exc:
        return _again(disbursement_id, f"reissue-{invoice_id}", exc, _status(exc))
    return _done(disbursement_id, f"Re-issued {order.invoice_number} as check {order.check_number}.")
