"""A new disbursement (DSB-1..DSB-7): a project, its Unpaid invoices with the amount to pay (the
amount due unless changed; a partial payment needs a note, DSB-3), retainage released, and the
funding account, the company's default preselected (DSB-7, BANK-9). A Contributor saves a Draft
(DSB-6). The engine checks everything; a refusal comes back at the line and field it names."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("new_disbursement", __name__, url_prefix="/disbursements")

#: "payments[2].amount: ..." → line 2, field amount (the engine's own pointer into the request)
_WHERE = re.compile(r"^payments\[(\d+)\](?:\.(\w+))?:\s*")


def _all(fetch: Any) -> list[Any]:
    from engine.service.directory import MAX_PAGE

    items: list[Any] = []
    after = None
    while len(items) < 2000:
        page = fetch(after=after, limit=MAX_PAGE)
        items.extend(page.items)
        after = page.next_after
        if after is None:
            break
    return items


def _choices(project_id: str | None) -> dict[str, Any]:
    from engine.payments import bank_accounts
    from engine.service import directory

    me = current()
    svc = services()
    projects = _all(lambda **kw: directory.list_projects(svc, me.user_id, me.company_id, **kw))
    project = next((p for p in projects if p.id == project_id), None)
    invoices = []
    if project is not None:
        invoices = [i for i in _all(lambda **kw: directory.list_invoices(svc, me.user_id, me.company_id, project.id,
                                                                          **kw)) if i.status == "Unpaid" and not i.reserved]
    try:
        accounts = [a for a in _all(lambda **kw: bank_accounts.list_bank_accounts(svc, me.user_id, me.company_id,
                                                                                  kind="funding", **kw)) if a.active]
    except DomainError:
        accounts = []  # a Contributor picks none: a Draft has no funding account (DSB-6)
    return {"projects": projects, "project": project, "invoices": invoices, "accounts": accounts,
            "default_account": next((a.id for a in accounts if a.is_default), None)}


@bp.get("/new")
@signed_in
def new() -> tuple[str, int] | str:
    try:
        choices = _choices(request.args.get("project"))
    except DomainError as exc:
        return render_template("disbursements/new.html", refusal=engine_error(exc), errors={}, values={},
                               lines={}, **{"projects": [], "project": None, "invoices": [], "accounts": [],
                                           "default_account": None}), 403
    return render_template("disbursements/new.html", refusal=None, errors={}, values={}, lines={}, **choices)


@bp.post("/new")
@signed_in
def create() -> Any:
    from engine.service import disbursements
    from engine.service.disbursements import PaymentLine

    me = current()
    form = request.form
    project_id = form.get("project", "")
    chosen = form.getlist("invoice")
    lines: dict[str, dict[str, str]] = {}
    payments: list[PaymentLine] = []
    for invoice_id in chosen:
        typed = {k: form.get(f"{k}-{invoice_id}", "").strip() for k in ("amount", "retainage", "note")}
        lines[invoice_id] = typed
        payments.append(PaymentLine(invoice_id, amount=typed["amount"] or None, note=typed["note"] or None,
                                    retainage_released=typed["retainage"] or "0.00"))
    errors: dict[str, str] = {}
    if not chosen:
        errors["invoices"] = "Choose at least one invoice to pay."
    draft = form.get("action") == "draft"
    if not errors:
        try:
            if draft:
                made = disbursements.create_draft(services(), me.user_id, me.company_id, project_id=project_id,
                                                  payments=payments)
                return redirect(url_for("disbursement_pages.list_page"))
            made = disbursements.create_disbursement(services(), me.user_id, me.company_id, project_id=project_id,
                                                     funding_account=form.get("funding_account", ""),
                                                     payments=payments)
            return redirect(url_for("disbursement_pages.detail", disbursement_id=made.id))
        except DomainError as exc:
            errors.update(_at_field(exc, chosen))
    values = {"funding_account": form.get("funding_account", "")}
    return render_template("disbursements/new.html", refusal=None, errors=errors, values=values, lines=lines,
                           selected=set(chosen), **_choices(project_id)), 422


def _at_field(exc: DomainError, chosen: list[str]) -> dict[str, str]:
    """The engine's refusal at the field it names: ``payments[i].amount`` is line i's amount."""
    message = engine_error(exc)
    found = _WHERE.match(exc.message)
    if found is not None and int(found.group(1)) < len(chosen):
        named = found.group(2) or ("note" if exc.code == "note_required" else "line")
        field = {"retainage_released": "retainage"}.get(named, named)
        text = _WHERE.sub("", exc.message)
        return {f"{field}-{chosen[int(found.group(1))]}": text[:1].upper() + text[1:]}
    if "funding" in exc.message or exc.rule in ("DSB-7", "BANK-9", "ROLL-4"):
        return {"funding_account": message}
    return {"form": message}
