"""Disbursements: create from invoice payments, edit, cancel (DSB-1..DSB-13, AUTH-13/14).

Creating a disbursement starts the default workflow in the same transaction
when a workflow applies (DSB-8, ROLL-1); otherwise the workflow status stays
Not Started (DSB-9) or there is none (DSB-10).

Every command takes ``(svc, actor, company_id, ...)``, checks the actor itself (ROLE-2..ROLE-4,
DSB-6) and returns the frozen :class:`DisbursementView` of the disbursement it created or
changed. A Draft is the same resource in its Draft state (DSB-6: creating from a draft keeps
its id), so drafts and disbursements share the view (``is_draft``), and ``edit_payments``,
which works on both, has one result type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError, Refusal
from engine.money import CENT, MoneyError, parse_money
from engine.outbox import emails
from engine.payments.bank_accounts import usable_funding_account
from engine.runtime import funds
from engine.security.permissions import (
    DISBURSEMENT_CONTRIBUTOR,
    LABELS,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    require_any,
    require_payments_user,
    standing,
)
from engine.service import audit
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.service.instance_store import (
    STATUS_CANCELED,
    STATUS_NOT_STARTED,
    bump,
    latest_instance,
    lock_disbursement,
    require_version,
)
from engine.service.instances import cancel_instance, email_subject, restart_for_edit, start_on_template
from engine.services import Services
from engine.store.tables import Company, Disbursement, DisbursementItem, Invoice, Project
from engine.text import optional_text

MAX_INVOICES = 100


@dataclass(frozen=True)
class PaymentView:
    """One invoice payment of a disbursement: the amount paid now (DSB-2, DSB-3), the retainage it
    releases, and its payment status (ST-5). Amounts are exact (GEN-1)."""

    invoice_id: str
    invoice_number: str
    amount: Decimal
    retainage_released: Decimal
    note: str | None
    payment_status: str


@dataclass(frozen=True)
class DisbursementView:
    """A disbursement (or a Draft, ``is_draft``) as its page shows it: its project, statuses (ST-1,
    ST-3), funding account (DSB-7), who made it (DSB-11, DSB-6), its payments and their exact
    aggregate (GEN-3, COND-6), and whether it is canceled (AUTH-13)."""

    id: str
    project_id: str
    is_draft: bool
    workflow_status: str | None
    drawdown_status: str
    funding_account_id: str | None
    created_by: str | None
    drafted_by: str | None
    total: Decimal
    payments: tuple[PaymentView, ...]
    canceled: bool
    cancel_reason: str | None
    #: the row's ``lock_version`` as this view saw it: the ETag a client sends back as ``If-Match``
    #: (``expected_version``). Not part of equality (the same state read twice is the same view),
    #: and defaulted so that a result stored before the field existed still replays (GEN-8)
    version: int | None = field(default=None, compare=False)
    #: AUTH-11: who authorized it and when (None before); defaulted so older stored results replay (GEN-8)
    authorized_by: str | None = None
    authorized_at: datetime | None = None
    #: the lifecycle in one word (:func:`engine.runtime.funds.stage`) and the mode (ROLL-4)
    stage: str = "in_review"
    sandbox: bool = False


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def disbursement_view(s: Session, d: Disbursement) -> DisbursementView:
    """``d`` as it stands in the caller's transaction."""
    s.flush()
    payments = tuple(
        PaymentView(invoice_id, number, amount.quantize(CENT), retainage.quantize(CENT), note, status)
        for invoice_id, number, amount, retainage, note, status in s.execute(
            select(DisbursementItem.invoice_id, Invoice.number, DisbursementItem.amount,
                   DisbursementItem.retainage_released, DisbursementItem.note, DisbursementItem.payment_status)
            .join(Invoice, Invoice.id == DisbursementItem.invoice_id)
            .where(DisbursementItem.disbursement_id == d.id).order_by(DisbursementItem.position)))
    total = sum((p.amount for p in payments), Decimal("0.00")).quantize(CENT)
    return DisbursementView(d.id, d.project_id, bool(d.is_draft), d.workflow_status, d.drawdown_status or "Draft",
                            d.funding_account_id, d.created_by, d.drafted_by, total, payments,
                            d.canceled_at is not None, d.cancel_reason, int(d.lock_version), d.authorized_by,
                            _utc(d.authorized_at),
                            funds.stage(is_draft=bool(d.is_draft), canceled=d.canceled_at is not None,
                                        workflow_applies=bool(d.workflow_applies), workflow_status=d.workflow_status,
                                        drawdown_status=d.drawdown_status or "Draft",
                                        payment_statuses=tuple(p.payment_status for p in payments)),
                            bool(d.sandbox))


@dataclass(frozen=True)
class PaymentLine:
    """One invoice payment: ``amount`` defaults to the amount due (DSB-2)."""

    invoice_id: str
    amount: str | None = None
    note: str | None = None
    retainage_released: str = "0.00"


def _money(value: str, where: str, *, positive: bool) -> Decimal:
    try:
        amount = parse_money(value)
    except MoneyError as exc:
        raise DomainError("invalid_amount", f"{where}: {exc}", rule=exc.rule) from None
    if positive and amount <= 0:
        raise DomainError("invalid_amount", f"{where}: must be greater than $0.00", rule="DSB-2")
    return amount


def _contributor_only(mine: set[str], company_id: str, actor: str, target: tuple[str, str]) -> Refusal | None:
    """ROLE-4: the refusal to record when a Contributor (no Admin or Disburser power) sets an amount."""
    if mine & {PAYMENTS_ADMIN, PAYMENTS_DISBURSER}:
        return None
    return Refusal(company_id, actor, "setting payment amounts", *target)


def _refuse_contributor_amount(where: str, what: str, refusal: Refusal) -> DomainError:
    return DomainError("permission_denied",
                       f"{where}: a Disbursement Contributor only adds or removes invoices; {what} needs "
                       f"{LABELS[PAYMENTS_DISBURSER]}",
                       rule="ROLE-4", missing=LABELS[PAYMENTS_DISBURSER], audit=refusal)


def _line_values(s: Session, company_id: str, project_id: str | None, line: PaymentLine, where: str,
                 own: str | None = None, contributor: Refusal | None = None) -> tuple[Invoice, Decimal, Decimal]:
    """Validate one payment line. With ``contributor`` the actor may only pay the amount due
    and release no retainage (ROLE-4); a refusal is audited (AUD-4), amounts being money."""
    optional_text(line.note, field=f"{where}.note", rule="DSB-3")
    inv = s.scalars(select(Invoice).where(Invoice.id == line.invoice_id).with_for_update()).first()
    if inv is None or inv.company_id != company_id:
        raise DomainError("not_found", f"{where}: no such invoice", rule="GEN-5")
    if project_id is not None and inv.project_id != project_id:
        raise DomainError("invalid_invoice", f"{where}: the invoice belongs to another project", rule="DSB-4")
    if inv.status != "Unpaid":
        raise DomainError("invalid_invoice", f"{where}: only Unpaid invoices can be paid", rule="DSB-5")
    if inv.reserved_by is not None and inv.reserved_by != own:
        raise DomainError("invoice_reserved", f"{where}: the invoice is in another disbursement", rule="DSB-5")
    amount = inv.amount_due if line.amount is None else _money(line.amount, f"{where}.amount", positive=True)
    if amount > inv.amount_due:
        raise DomainError("invalid_amount", f"{where}.amount: more than the invoice's amount due", rule="DSB-2")
    if contributor is not None and amount != inv.amount_due:
        raise _refuse_contributor_amount(where, "a partial payment", contributor)
    if amount < inv.amount_due and not (line.note and line.note.strip()):
        raise DomainError("note_required", f"{where}: a partial payment needs a note", rule="DSB-3")
    retainage = _money(line.retainage_released, f"{where}.retainage_released", positive=False)
    if contributor is not None and retainage != 0:
        raise _refuse_contributor_amount(where, "releasing retainage", contributor)
    return inv, amount, retainage



def _require_payments(project: Project) -> None:
    """ROLL-1: a disbursement (a Draft included) is made only on a project with Payments enabled."""
    if not project.payments_enabled:
        raise DomainError("payments_not_enabled", f"payments are not enabled on project `{project.name}`",
                          rule="ROLL-1")


def _require_changeable(d: Disbursement) -> None:
    """AUTH-12: payments and funding account change only before cancel or authorization."""
    if d.canceled_at is not None or d.authorized_at is not None:
        raise DomainError("disbursement_closed", "a canceled or authorized disbursement cannot change",
                          rule="AUTH-12")


def _workflow_started(d: Disbursement) -> bool:
    """DSB-12: a change now needs a reason and restarts the workflow in `defaults` mode."""
    return bool(d.workflow_applies) and d.workflow_status not in (None, STATUS_NOT_STARTED)


def _check_count(n: int) -> None:
    if n < 1:
        raise DomainError("invalid_disbursement", "a disbursement holds at least one invoice payment",
                          rule="DSB-1")
    if n > MAX_INVOICES:
        raise DomainError("invalid_disbursement",
                          f"a disbursement holds at most {MAX_INVOICES} invoice payments", rule="DSB-1")


@idempotent("create_disbursement", standing=standing(
    PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="ROLE-3", action="creating a disbursement", audited=True), strangers_not_found=True)
def create_disbursement(svc: Services, actor: str, company_id: str, *, project_id: str,
                        funding_account: str, payments: Sequence[PaymentLine]) -> DisbursementView:
    """ROLE-3, DSB-1..DSB-11, ROLL-1, DSB-8/DSB-9: create, reserve invoices, start the workflow.

    ``funding_account`` is the id of an active funding account of the company (DSB-7,
    engine.payments.bank_accounts). With ``idempotency_key`` (GEN-8) a retry returns the first
    disbursement's view, as it was then.
    """
    _check_count(len(payments))
    ids = [p.invoice_id for p in payments]
    if len(set(ids)) != len(ids):
        raise DomainError("invalid_disbursement", "each invoice can be paid once per disbursement", rule="DSB-1")
    if not funding_account or not funding_account.strip():
        raise DomainError("invalid_disbursement", "choose a funding account", rule="DSB-7")
    with svc.tx() as s:
        company = get_company(s, company_id)
        require_payments_user(s, company_id, actor, rule="ROLE-3", action="creating a disbursement",
                              audited=True, target=("project", project_id))
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        _require_payments(project)
        sandbox = sandbox_mode(company, project)
        account = usable_funding_account(s, company_id, funding_account.strip(), "funding_account", sandbox=sandbox)
        now = svc.now()
        d = Disbursement(company_id=company_id, project_id=project_id, is_draft=False, created_by=actor,
                         funding_account_id=account.id, created_at=now, updated_at=now, sandbox=sandbox)
        s.add(d)
        s.flush()
        lines = _add_lines(s, company_id, d, payments)
        _finish_creation(s, svc, company, project, d, actor, lines)
        return disbursement_view(s, d)


def sandbox_mode(company: Company, project: Project) -> bool:
    """ROLL-3: a disbursement is a sandbox one when its company or its project is in sandbox mode
    as it is made; the mode is kept for good (a project switched later does not change it, ROLL-2)."""
    return bool(company.sandbox or project.sandbox)


def _add_lines(s: Session, company_id: str, d: Disbursement, payments: Sequence[PaymentLine],
               start: int = 0, contributor: Refusal | None = None) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for k, line in enumerate(payments):
        inv, amount, retainage = _line_values(s, company_id, d.project_id, line, f"payments[{start + k}]",
                                              contributor=contributor)
        inv.reserved_by = d.id  # DSB-5: reserved from the moment it joins, a Draft included
        s.add(DisbursementItem(disbursement_id=d.id, invoice_id=inv.id, position=start + k, amount=amount,
                               retainage_released=retainage, note=line.note))
        lines.append({"invoice": inv.id, "amount": amount, "partial": amount < inv.amount_due})
    s.flush()
    return lines


def _finish_creation(s: Session, svc: Services, company: Company, project: Project, d: Disbursement,
                     actor: str, lines: list[dict[str, object]]) -> None:
    """The disbursement exists now: audit it and start its workflow (DSB-8) or leave it Not Started."""
    now = svc.now()
    applies = bool(company.workflows_enabled and project.payment_workflows_enabled)
    d.workflow_applies = applies
    d.workflow_status = STATUS_NOT_STARTED if applies else None
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company.id, at=now, actor_id=actor,
                 action="disbursement_created", object_type="disbursement", object_id=d.id,
                 before=None, after={"workflow_status": d.workflow_status, "drawdown_status": "Draft"},
                 rules=("ROLE-3", "DSB-1", "DSB-2", "DSB-5", "ROLL-1"),
                 details={"payments": lines, "workflow_applies": applies, "funding_account": d.funding_account_id},
                 sandbox=bool(d.sandbox))
    if applies and company.default_template_id is not None:
        try:
            with s.begin_nested():
                start_on_template(s, svc, company, d, actor)
        except DomainError as exc:
            if exc.code != "no_workflow_configured":
                raise
            _not_started(s, svc, d, actor, exc.message)
    elif applies:
        _not_started(s, svc, d, actor, "no default workflow template")


@idempotent("create_draft", standing=standing(
    DISBURSEMENT_CONTRIBUTOR, PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="DSB-6", action="saving a draft disbursement"), strangers_not_found=True)
def create_draft(svc: Services, actor: str, company_id: str, *, project_id: str,
                 payments: Sequence[PaymentLine] = ()) -> DisbursementView:
    """DSB-6, ROLE-4: a Draft holds invoices but no funding account; Contributors may make one."""
    with svc.tx() as s:
        company = get_company(s, company_id)
        mine = require_any(s, company_id, actor, (DISBURSEMENT_CONTRIBUTOR, PAYMENTS_ADMIN, PAYMENTS_DISBURSER),
                           rule="DSB-6", action="saving a draft disbursement")
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        _require_payments(project)
        if len(payments) > MAX_INVOICES:
            _check_count(len(payments))
        now = svc.now()
        d = Disbursement(company_id=company_id, project_id=project_id, is_draft=True, drafted_by=actor,
                         updated_at=now, sandbox=sandbox_mode(company, project))
        s.add(d)
        s.flush()
        lines = _add_lines(s, company_id, d, payments,
                           contributor=_contributor_only(mine, company_id, actor, ("project", project_id)))
        audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=now, actor_id=actor,
                     action="draft_saved", object_type="disbursement", object_id=d.id,
                     after={"draft": True}, rules=("DSB-6", "DSB-5"), details={"payments": lines},
                     sandbox=bool(d.sandbox))
        return disbursement_view(s, d)


@idempotent("create_from_draft", standing=standing(
    PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="ROLE-3", action="creating a disbursement", audited=True), strangers_not_found=True)
def create_from_draft(svc: Services, actor: str, company_id: str, draft_id: str, *,
                      funding_account: str, expected_version: int | None = None) -> DisbursementView:
    """DSB-6: an Admin or Disburser creates the disbursement from a Draft by choosing the funding
    account (the id of an active funding account of the company, DSB-7). ``expected_version``:
    the draft's version the caller read (``If-Match``), so a draft edited since is not created
    unseen (``precondition_failed``)."""
    if not funding_account or not funding_account.strip():
        raise DomainError("invalid_disbursement", "choose a funding account", rule="DSB-7")
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, draft_id)
        require_payments_user(s, company_id, actor, rule="ROLE-3", action="creating a disbursement",
                              audited=True, target=("disbursement", d.id))
        require_version(d, expected_version)
        if not d.is_draft:
            raise DomainError("invalid_state", "the disbursement was already created from this draft",
                              rule="DSB-6")
        items = list(s.scalars(select(DisbursementItem).where(DisbursementItem.disbursement_id == d.id)))
        _check_count(len(items))
        account = usable_funding_account(s, company_id, funding_account.strip(), "funding_account",
                                         sandbox=bool(d.sandbox))
        now = svc.now()
        d.is_draft, d.created_by, d.created_at = False, actor, now
        d.funding_account_id = account.id
        bump(d, now)
        s.flush()
        lines = [{"invoice": i.invoice_id, "amount": i.amount} for i in items]
        project = s.get(Project, d.project_id)
        _require_payments(project)
        _finish_creation(s, svc, company, project, d, actor, lines)
        return disbursement_view(s, d)


def _not_started(s: Session, svc: Services, d: Disbursement, actor: str, why: str) -> None:
    """DSB-9: no Configured default at creation — the workflow waits to be started (MGR-4)."""
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=d.company_id, at=svc.now(),
                 actor_id=actor, action="workflow_not_started", object_type="disbursement", object_id=d.id,
                 after={"workflow_status": STATUS_NOT_STARTED}, rules=("DSB-9",), details={"why": why},
                 sandbox=bool(d.sandbox))


@idempotent("cancel", standing=standing(
    PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="AUTH-13", action="canceling a disbursement", audited=True), strangers_not_found=True)
def cancel(svc: Services, actor: str, company_id: str, disbursement_id: str, *, reason: str,
           expected_version: int | None = None) -> DisbursementView:
    """AUTH-13/14: cancel before authorization, with a reason; a second cancel is a no-op.
    ``expected_version``: the version the caller read (``If-Match``), checked on the locked row."""
    optional_text(reason, field="reason", rule="AUTH-13")
    if not reason or not reason.strip():
        raise DomainError("reason_required", "canceling needs a reason", rule="AUTH-13")
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        require_payments_user(s, company_id, actor, rule="AUTH-13", action="canceling a disbursement",
                              audited=True, target=("disbursement", d.id))
        require_version(d, expected_version)
        if d.canceled_at is not None:
            return disbursement_view(s, d)  # AUTH-14
        if d.authorized_at is not None:
            raise DomainError("disbursement_authorized", "an authorized disbursement cannot be canceled",
                              rule="AUTH-14")
        before = d.workflow_status
        latest = latest_instance(s, d.id)
        ended_manager = latest.snapshot.get("manager") if latest is not None and latest.status == "ended" else None
        cancel_instance(s, svc, company, d, actor, reason.strip())
        now = svc.now()
        d.canceled_at, d.cancel_reason = now, reason.strip()
        d.workflow_status = STATUS_CANCELED if d.workflow_applies else None
        bump(d, now)
        for inv in s.scalars(select(Invoice).where(Invoice.reserved_by == d.id)):
            inv.reserved_by = None
        audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=now, actor_id=actor,
                     action="disbursement_canceled", object_type="disbursement", object_id=d.id,
                     before={"workflow_status": before}, after={"workflow_status": d.workflow_status},
                     reason=reason.strip(), rules=("AUTH-13",), sandbox=bool(d.sandbox))
        if before in (None, STATUS_NOT_STARTED):
            emails.enqueue(s, now=now, subject=email_subject(s, company, d), event="canceled",
                           recipients=[d.created_by], details={"reason": reason.strip()})
        elif ended_manager is not None:
            # AUTH-13: an Approved or Rejected workflow has no instance to terminate (whose
            # emails cover the active case); its manager and the creator still hear of it
            emails.enqueue(s, now=now, subject=email_subject(s, company, d), event="canceled",
                           recipients=[ended_manager, d.created_by],
                           details={"reason": reason.strip()})
        return disbursement_view(s, d)


@idempotent("edit_payments", standing=standing(
    DISBURSEMENT_CONTRIBUTOR, PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="ROLE-4", action="editing a disbursement"), strangers_not_found=True)
def edit_payments(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                  add: Sequence[PaymentLine] = (), remove: Sequence[str] = (),
                  amounts: Mapping[str, PaymentLine] | None = None,
                  reason: str | None = None, expected_version: int | None = None) -> DisbursementView:
    """DSB-12: add or remove invoices, change amounts; after a start this needs a reason and
    restarts the workflow in `defaults` mode, since earlier approvals saw other facts.

    An edit that changes nothing (the same amounts, notes and retainage, nothing added or
    removed) writes nothing and restarts nothing: re-saving must not wipe approvals.

    ``expected_version``: the version the caller read (``If-Match``; the HTTP API requires it
    here, since an edit overwrites amounts), compared on the locked row."""
    optional_text(reason, field="reason", rule="DSB-12")
    amounts = dict(amounts or {})
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        contributor: Refusal | None = None
        if d.is_draft and not amounts:
            # DSB-6, ROLE-4: Contributors may add or remove invoices on a Draft, at their amount due
            mine = require_any(s, company_id, actor, (DISBURSEMENT_CONTRIBUTOR, PAYMENTS_ADMIN, PAYMENTS_DISBURSER),
                               rule="ROLE-4", action="editing a draft disbursement")
            contributor = _contributor_only(mine, company_id, actor, ("disbursement", d.id))
        else:
            # ROLE-2: setting payment amounts is a Disburser power; refusing it is audited (AUD-4)
            require_payments_user(s, company_id, actor, rule="DSB-12", action="changing payment amounts",
                                  audited=True, target=("disbursement", d.id))
        require_version(d, expected_version)
        _require_changeable(d)
        started = _workflow_started(d)
        items = {i.invoice_id: i for i in s.scalars(
            select(DisbursementItem).where(DisbursementItem.disbursement_id == d.id))}
        unknown = [r for r in list(remove) + list(amounts) if r not in items]
        if unknown:
            raise DomainError("invalid_disbursement", "not in this disbursement: " + ", ".join(unknown),
                              rule="DSB-12", invoices=unknown)
        both = [r for r in dict.fromkeys(remove) if r in amounts]
        if both:
            raise DomainError("invalid_disbursement",
                              f"invoice {both[0]} is both removed and given a new amount in one edit; do one",
                              rule="DSB-12", invoice=both[0])
        remaining = len(items) - len(set(remove)) + len(add)
        if remaining < 1 and not d.is_draft:
            raise DomainError("invalid_disbursement", "removing the last invoice is refused; cancel instead",
                              rule="DSB-12")
        if remaining > MAX_INVOICES:
            _check_count(remaining)
        changes: list[dict[str, object]] = []
        for inv_id in dict.fromkeys(remove):
            s.get(Invoice, inv_id).reserved_by = None
            s.delete(items.pop(inv_id))
            changes.append({"removed": inv_id})
        for inv_id, line in amounts.items():
            inv, amount, retainage = _line_values(s, company_id, d.project_id, line, f"amounts[{inv_id}]", own=d.id)
            item = items[inv_id]
            if (amount, retainage, line.note or None) == (item.amount, item.retainage_released, item.note or None):
                continue
            changes.append({"invoice": inv_id, "before": item.amount, "after": amount,
                            "retainage_before": item.retainage_released, "retainage_after": retainage})
            item.amount, item.retainage_released, item.note = amount, retainage, line.note
        pos = max((i.position for i in items.values()), default=-1) + 1
        for k, line in enumerate(add):
            if line.invoice_id in items:
                raise DomainError("invalid_disbursement", "the invoice is already in this disbursement", rule="DSB-1")
            inv, amount, retainage = _line_values(s, company_id, d.project_id, line, f"add[{k}]",
                                                  contributor=contributor)
            inv.reserved_by = d.id
            s.add(DisbursementItem(disbursement_id=d.id, invoice_id=inv.id, position=pos + k, amount=amount,
                                   retainage_released=retainage, note=line.note))
            changes.append({"added": inv.id, "amount": amount})
        if not changes:
            return disbursement_view(s, d)  # DSB-12: nothing changed, so nothing is written and no approval is lost
        if started and not (reason and reason.strip()):
            raise DomainError("reason_required", "an edit after the workflow started needs a reason",
                              rule="DSB-12")
        bump(d, svc.now())
        s.flush()
        audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=svc.now(),
                     actor_id=actor, action="disbursement_edited", object_type="disbursement", object_id=d.id,
                     reason=reason.strip() if reason else None, rules=("DSB-12",), details={"changes": changes},
                     sandbox=bool(d.sandbox))
        if started:
            restart_for_edit(s, svc, company, d, actor, reason.strip())
        return disbursement_view(s, d)


@idempotent("replace_payments", standing=standing(
    DISBURSEMENT_CONTRIBUTOR, PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="ROLE-4", action="editing a disbursement"),
    strangers_not_found=True)
def replace_payments(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                     payments: Sequence[PaymentLine], reason: str | None = None,
                     expected_version: int | None = None) -> DisbursementView:
    """DSB-12 given as the whole list: ``payments`` is what the disbursement (or Draft) should
    hold from now on — what ``PUT .../payments`` sends. An invoice left out is removed, a new one
    added, one whose amount, retainage or note differs is changed (an amount left out is the
    amount due, DSB-2); :func:`edit_payments` makes that change in the same transaction, with
    every rule it checks (Contributors only add and remove on a Draft, ROLE-4; a reason and a
    restart after a start; nothing written when nothing differs).

    ``expected_version`` is the version the list was read at (``If-Match``): a whole list
    overwrites every line, so it must not overwrite an edit it has not seen."""
    ids = [p.invoice_id for p in payments]
    if len(set(ids)) != len(ids):
        raise DomainError("invalid_disbursement", "each invoice can be paid once per disbursement", rule="DSB-1")
    with svc.tx() as s:
        d = lock_disbursement(s, company_id, disbursement_id)
        require_version(d, expected_version)
        held_now = {i.invoice_id: i for i in s.scalars(
            select(DisbursementItem).where(DisbursementItem.disbursement_id == d.id))}
        due = dict(s.execute(select(Invoice.id, Invoice.amount_due).where(Invoice.id.in_(list(held_now)))).all()) \
            if held_now else {}
        wanted = set(ids)
        changed: dict[str, PaymentLine] = {}
        for k, line in enumerate(payments):
            item = held_now.get(line.invoice_id)
            if item is None:
                continue
            where = f"payments[{k}]"
            amount = due[line.invoice_id] if line.amount is None else _money(line.amount, f"{where}.amount",
                                                                             positive=True)
            retainage = _money(line.retainage_released, f"{where}.retainage_released", positive=False)
            if (amount, retainage, line.note or None) != (item.amount, item.retainage_released, item.note or None):
                changed[line.invoice_id] = line
        return edit_payments(svc, actor, company_id, d.id,
                             add=[p for p in payments if p.invoice_id not in held_now],
                             remove=[i for i in held_now if i not in wanted], amounts=changed, reason=reason)


@idempotent("change_funding_account", standing=standing(
    PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="ROLE-2", action="changing the funding account", audited=True), strangers_not_found=True)
def change_funding_account(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                           funding_account: str, reason: str | None = None) -> DisbursementView:
    """DSB-12: an Admin or Disburser changes the funding account before authorization.

    Once the workflow has started this needs a reason and restarts it in `defaults` mode,
    as an edit of the payments does. Choosing the account it already has changes nothing,
    so it can wipe no approvals. A Draft has no account yet: create it from the draft (DSB-6).
    """
    optional_text(reason, field="reason", rule="DSB-12")
    if not funding_account or not funding_account.strip():
        raise DomainError("invalid_disbursement", "choose a funding account", rule="DSB-7")
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        require_payments_user(s, company_id, actor, rule="ROLE-2", action="changing the funding account")
        if d.is_draft:
            raise DomainError("invalid_disbursement",
                              "a draft has no funding account; choose one when creating it from the draft",
                              rule="DSB-6")
        _require_changeable(d)
        account = usable_funding_account(s, company_id, funding_account.strip(), "funding_account",
                                         sandbox=bool(d.sandbox))
        now = svc.now()
        if account.id != d.funding_account_id:
            started = _workflow_started(d)
            if started and not (reason and reason.strip()):
                raise DomainError("reason_required",
                                  "changing the funding account after the workflow started needs a reason",
                                  rule="DSB-12")
            before = d.funding_account_id
            d.funding_account_id = account.id
            bump(d, now)
            s.flush()
            audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=now, actor_id=actor,
                         action="funding_account_changed", object_type="disbursement", object_id=d.id,
                         before={"funding_account": before}, after={"funding_account": account.id},
                         reason=reason.strip() if reason else None, rules=("DSB-12", "DSB-7"), sandbox=bool(d.sandbox))
            if started:
                restart_for_edit(s, svc, company, d, actor, reason.strip())
        return disbursement_view(s, d)
