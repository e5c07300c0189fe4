"""Reading disbursements: a company's list (filters, stable pages) and one disbursement with
where its workflow stands — what the HTTP API and the pages show.

The commands that change a disbursement live in :mod:`engine.service.disbursements` and
:mod:`engine.service.instances`; this module only reads, in one session per query, and
changes nothing. Both queries are the engine's contract, ``(svc, actor, company_id, ...)``,
and check their viewer themselves (GEN-4) with the one rule :func:`engine.service.instances.view`
documents (:func:`engine.service.instances.require_viewer`):

- a non-member of the company, or a member deactivated in it, gets ``not_found`` (GEN-5), for
  the list as for one disbursement: a stranger learns nothing about the company's objects;
- an active member holding Payments Admin, Payments Disburser, Disbursement Contributor or any
  workflow permission (ROLE-2, ROLE-4, ROLE-7) sees every disbursement of the company;
- any other member sees the ones they take part in: made (DSB-11) or drafted (DSB-6), manage
  (MGR-1) or are assigned in (STEP-1); one they have no part in is ``permission_denied`` when
  asked for by id, and is simply not listed.

A list is ordered newest first — by creation time, then id — for disbursements, and by id for
drafts (a draft has no creation time until it is created, DSB-6, and its edit time moves): the
order of rows never changes between pages, so walking ``after`` from page to page gives every
matching row once, with none skipped or repeated, while rows are added meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import Text, and_, case, cast, exists, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.errors import DomainError
from engine.money import CENT
from engine.runtime import funds, instance
from engine.runtime.instance import Occurrence
from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER, eligible_users, held, membership
from engine.spec.model import WorkflowConfig
from engine.service.directory import get_company
from engine.service.disbursements import DisbursementView, disbursement_view
from engine.service.instance_store import (
    STATUS_APPROVED,
    STATUS_CANCELED,
    STATUS_NOT_STARTED,
    STATUS_REJECTED,
    STATUS_UNDER_REVIEW,
    calendar_of,
    compiled_of,
    latest_instance,
    load_state,
)
from engine.service.instances import VIEWING, _status_text, require_viewer
from engine.services import Services
from engine.spec.compiler import CompiledResponse
from engine.store.tables import (
    Company,
    Disbursement,
    DisbursementItem,
    Instance,
    Project,
)
from engine.text import is_id

#: ST-1: the values ``status`` filters on (a disbursement with no workflow has none)
WORKFLOW_STATUSES = (STATUS_NOT_STARTED, STATUS_UNDER_REVIEW, STATUS_APPROVED, STATUS_REJECTED, STATUS_CANCELED)
#: ST-3: the values ``drawdown_status`` filters on
DRAWDOWN_STATUSES = ("Draft", "Funding Requested", "Funding Completed", "Funding Failed")
#: a page holds 1..MAX_LIMIT rows
MAX_LIMIT = 200


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class CurrentStep:
    """The response occurrence a disbursement's active workflow waits on (RESP-1, RESP-2)."""

    #: what an answer names (RESP-2): unique across the disbursement's instances
    occurrence: int
    step: str
    entered_at: datetime
    #: STEP-9, in the company's time zone; None for a step without a due period
    due_date: date | None
    overdue: bool
    #: STEP-5 and ROLE-8: the awaited assignees who are still eligible, in assignment order
    awaited: tuple[str, ...]
    #: those who already answered it (a step deciding on `all` keeps waiting for the rest, STEP-4)
    answered: tuple[str, ...]
    #: RESP-3: the answers the step offers, in order
    answers: tuple[str, ...]
    #: STEP-7: the status text the disbursement shows while here
    status_text: str | None
    #: why the route arrived here, in words: "needs CFO review: disbursement amount $120,000.00 is
    #: over $100,000.00" (COND-13; the inbox's line)
    reason: str | None = None


@dataclass(frozen=True)
class WorkflowDetail:
    """A disbursement's latest workflow instance as its page shows it (WF-12, ST-1, END-2)."""

    instance_id: str
    #: 1, 2, ... the order of its starts and restarts (MGR-5)
    number: int
    #: active | ended | terminated
    status: str
    workflow_status: str | None
    manager: str | None
    blocked: bool
    started_at: datetime
    ended_at: datetime | None
    end_step: str | None
    outcome: str | None
    #: STEP-7/END-2: the current step's status text, or the end step's once ended
    status_text: str | None
    #: None once the instance ended or was terminated, or while no response step waits
    current: CurrentStep | None
    #: every step visited, in order (COND-13 has the reasons, in the history)
    path: tuple[str, ...]
    #: open occurrences past their due date (STEP-9)
    overdue_steps: tuple[str, ...]


@dataclass(frozen=True)
class DisbursementDetail:
    """One disbursement (or Draft): its payments and statuses, its workflow, and its version
    (the ``lock_version`` every change bumps, which the HTTP layer sends as the ETag)."""

    id: str
    disbursement: DisbursementView
    #: None before the first start (DSB-9, DSB-10) and for a Draft
    workflow: WorkflowDetail | None
    version: int


@dataclass(frozen=True)
class DisbursementSummary:
    """One row of a company's list: enough to find it and see what it waits on."""

    id: str
    project_id: str
    project_name: str
    is_draft: bool
    workflow_status: str | None
    drawdown_status: str
    created_by: str | None
    drafted_by: str | None
    created_at: datetime | None
    #: GEN-3: the exact aggregate of the invoice payments
    total: Decimal
    invoice_count: int
    canceled: bool
    current_step: str | None
    current_occurrence: int | None
    due_date: date | None
    overdue: bool
    #: the viewer is an eligible awaited assignee of the current step who has not answered it
    awaiting_me: bool
    version: int
    #: the lifecycle in one word (:func:`engine.runtime.funds.stage`) and the mode (ROLL-4), as the
    #: detail view has them
    stage: str = "in_review"
    sandbox: bool = False


@dataclass(frozen=True)
class DisbursementList:
    """One page of a list, and what to pass as ``after`` for the next (None on the last page)."""

    items: tuple[DisbursementSummary, ...]
    next_after: str | None


# ---------------------------------------------------------------- one disbursement


def running_workflow(svc: Services, actor: str, company_id: str, disbursement_id: str) -> WorkflowConfig | None:
    """The workflow the disbursement's latest instance runs (its pinned version, WF-12), for whoever
    may see the disbursement: what a page draws as its diagram with :attr:`WorkflowDetail.path`.
    None before the first start (DSB-9) and for a Draft."""
    with svc.db.sessions() as s:
        d = require_viewer(s, company_id, actor, disbursement_id)
        inst = latest_instance(s, d.id)
        return compiled_of(s, svc, inst).config if inst is not None else None


def get_disbursement(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                     draft: bool = False) -> DisbursementDetail:
    """The disbursement (``draft``: the Draft) with its workflow: the current step, the awaited
    users, the answers it offers, due dates and status text. A Draft asked for as a disbursement,
    or a created disbursement asked for as a Draft, is ``not_found``: they are two collections
    of the HTTP API, and a created draft keeps its id (DSB-6), so the draft is gone."""
    with svc.db.sessions() as s:
        company = get_company(s, company_id)
        d = require_viewer(s, company_id, actor, disbursement_id)
        if bool(d.is_draft) != draft:
            raise DomainError("not_found", "no such draft" if draft else "no such disbursement", rule="GEN-5")
        view = disbursement_view(s, d)
        return DisbursementDetail(d.id, view, _workflow(s, svc, company, d), int(d.lock_version))


def _reason(state: Any, config: WorkflowConfig, seq: int) -> str | None:
    """Why the route arrived at the step waiting now, in words (engine.runtime.arrival)."""
    from engine.runtime.arrival import arrival

    why = arrival(state, config, seq)
    return why.text if why is not None else None


def _workflow(s: Session, svc: Services, company: Company, d: Disbursement) -> WorkflowDetail | None:
    inst = latest_instance(s, d.id)
    if inst is None:
        return None
    state = load_state(s, inst)
    compiled = compiled_of(s, svc, inst)
    calendar = calendar_of(company)
    now = svc.now()
    cur = state.current
    current = None
    if cur is not None:
        eligible = eligible_users(s, company.id)
        step = compiled.step(cur.step)
        current = CurrentStep(
            cur.seq, cur.step, cur.entered_at, cur.due,
            cur.due is not None and calendar.is_overdue(cur.due, now),
            tuple(u for u in cur.awaited if u in eligible), tuple(r.user for r in cur.responses),
            tuple(step.offered) if isinstance(step, CompiledResponse) else (),
            getattr(compiled.config.step_named(cur.step), "status", None),
            _reason(state, compiled.config, cur.seq))
    return WorkflowDetail(
        inst.id, inst.number, state.status, d.workflow_status, (inst.snapshot or {}).get("manager"),
        state.blocked, _aware(inst.started_at), _aware(inst.ended_at), state.end_step, state.outcome,
        _status_text(compiled, state), current, tuple(state.path),
        tuple(o.step for o in instance.overdue(state, calendar, now)))


def _aware(moment: Any) -> Any:
    """A stored time as UTC (SQLite hands back naive UTC)."""
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment


# ---------------------------------------------------------------- the list


def _json_text_holds(column: Any, user: str) -> ColumnElement[bool]:
    """Whether the JSON list in ``column`` holds the string ``user``: the list as stored (SQLAlchemy
    writes it with ``json.dumps``) contains ``user`` JSON-encoded, quotes included, so no id
    matches part of another. Portable across SQLite and PostgreSQL (no JSON operators)."""
    return cast(column, Text).contains(json.dumps(user), autoescape=True)


def _open_response(d_id: Any) -> Any:
    """The disbursement's active instance while a response occurrence is open (RESP-1)."""
    return (select(Instance.id).where(Instance.disbursement_id == d_id, Instance.status == "active",
                                      Instance.open_seq.is_not(None)))


def _participates(actor: str) -> ColumnElement[bool]:
    """The rows ``actor`` takes part in (as :func:`engine.service.instances.require_viewer` counts it)."""
    managed = exists(select(Instance.id).where(Instance.disbursement_id == Disbursement.id,
                                               Instance.snapshot["manager"].as_string() == actor))
    assigned = exists(select(Instance.id).where(Instance.disbursement_id == Disbursement.id,
                                                _json_text_holds(Instance.assigned, actor)))
    return or_(Disbursement.created_by == actor, Disbursement.drafted_by == actor, managed, assigned)


def _awaiting(actor: str) -> ColumnElement[bool]:
    """The actor is awaited on the current step and has not answered it (STEP-5, RESP-1, RESP-4)."""
    return exists(_open_response(Disbursement.id).where(
        Instance.blocked.is_(False), _json_text_holds(Instance.open_assignees, actor),
        not_(_json_text_holds(Instance.open_replaced, actor)), not_(_json_text_holds(Instance.open_answered, actor))))


def _overdue(today: date) -> ColumnElement[bool]:
    """STEP-9: an open response occurrence is overdue from 00:00 (company time) the day after
    its due date, i.e. when its due date is before today's date in the company's time zone."""
    return exists(_open_response(Disbursement.id).where(Instance.open_due < today))


def _check_filters(status: str | None, drawdown_status: str | None, limit: int) -> None:
    if status is not None and status not in WORKFLOW_STATUSES:
        raise DomainError("invalid_value", "status: one of " + ", ".join(WORKFLOW_STATUSES), rule="ST-1")
    if drawdown_status is not None and drawdown_status not in DRAWDOWN_STATUSES:
        raise DomainError("invalid_value", "drawdown_status: one of " + ", ".join(DRAWDOWN_STATUSES), rule="ST-3")
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise DomainError("invalid_value", f"limit: a whole number from 1 to {MAX_LIMIT}", rule="GEN-4")


def list_disbursements(svc: Services, actor: str, company_id: str, *, drafts: bool = False,
                       status: str | None = None, drawdown_status: str | None = None,
                       awaiting_me: bool = False, overdue: bool = False, project_id: str | None = None,
                       after: str | None = None, limit: int = 50) -> DisbursementList:
    """A page of the company's disbursements (``drafts``: its Drafts) the actor may see, newest
    first, filtered by every filter given (they combine with AND):

    - ``status``: the workflow status (ST-1), ``drawdown_status``: the drawdown status (ST-3);
    - ``awaiting_me``: the actor is an eligible awaited assignee of the current step (STEP-5,
      ROLE-8) who has not answered it yet — their to-do list;
    - ``overdue``: the current step is past its due date (STEP-9, company time, GEN-6);
    - ``project_id``: of that project.

    ``after`` is the id of the last row of the previous page (:attr:`DisbursementList.next_after`);
    one that is not a row of this company's list is ``invalid_value``.
    """
    _check_filters(status, drawdown_status, limit)
    with svc.db.sessions() as s:
        company = get_company(s, company_id)
        member = membership(s, company_id, actor)
        if member is None or not member.active:
            raise DomainError("not_found", "no such company", rule="GEN-5")
        perms = held(s, company_id, actor)
        q = (select(Disbursement, Project.name).join(Project, Project.id == Disbursement.project_id)
             .where(Disbursement.company_id == company_id, Disbursement.is_draft.is_(drafts)))
        if perms.isdisjoint(VIEWING):
            q = q.where(_participates(actor))
        if status is not None:
            q = q.where(Disbursement.workflow_status == status)
        if drawdown_status is not None:
            q = q.where(Disbursement.drawdown_status == drawdown_status)
        if project_id is not None:
            q = q.where(Disbursement.project_id == project_id)
        eligible = not perms.isdisjoint((PAYMENTS_ADMIN, PAYMENTS_DISBURSER))
        if awaiting_me:
            # RESP-1: only an eligible user may answer, so nothing waits on anyone else
            q = q.where(_awaiting(actor) if eligible else Disbursement.id.is_(None))
        today = calendar_of(company).local_date(svc.now())
        if overdue:
            q = q.where(_overdue(today))
        q = _after(s, q, company_id, drafts, after)
        order = (Disbursement.id,) if drafts else (Disbursement.created_at.desc(), Disbursement.id.desc())
        rows = list(s.execute(q.order_by(*order).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        items = _summaries(s, [(d, name) for d, name in rows], actor, eligible, calendar_of(company), svc.now())
        return DisbursementList(items, items[-1].id if more and items else None)


def _after(s: Session, q: Any, company_id: str, drafts: bool, after: str | None) -> Any:
    """Rows strictly after the row ``after`` in the list's order."""
    if after is None:
        return q
    anchor = s.execute(select(Disbursement.id, Disbursement.created_at).where(
        Disbursement.id == after, Disbursement.company_id == company_id,
        Disbursement.is_draft.is_(drafts))).first() if is_id(after) else None
    if anchor is None:
        raise DomainError("invalid_value", "after: not a row of this list", rule="GEN-4")
    if drafts:
        return q.where(Disbursement.id > after)
    return q.where(or_(Disbursement.created_at < anchor.created_at,
                       and_(Disbursement.created_at == anchor.created_at, Disbursement.id < after)))


def _summaries(s: Session, rows: Sequence[tuple[Disbursement, str]], actor: str, eligible: bool,
               calendar: Any, now: datetime) -> tuple[DisbursementSummary, ...]:
    """The page's rows with their totals and current steps, in two queries for the whole page."""
    ids = [d.id for d, _ in rows]
    if not ids:
        return ()
    status = DisbursementItem.payment_status
    totals = {d_id: (total, n, done, failed) for d_id, total, n, done, failed in s.execute(
        select(DisbursementItem.disbursement_id, func.sum(DisbursementItem.amount), func.count(),
               func.sum(case((status == "Completed", 1), else_=0)), func.sum(case((status == "Failed", 1), else_=0)))
        .where(DisbursementItem.disbursement_id.in_(ids)).group_by(DisbursementItem.disbursement_id))}
    open_rows = list(s.execute(
        select(Instance.disbursement_id, Instance.blocked, Instance.open_seq, Instance.open_step,
               Instance.open_entered_at, Instance.open_due, Instance.open_assignees, Instance.open_replaced,
               Instance.open_answered)
        .where(Instance.disbursement_id.in_(ids), Instance.status == "active", Instance.open_seq.is_not(None))))
    current: dict[str, tuple[Occurrence, bool]] = {}
    for d_id, blocked, seq, step, entered, due, assignees, replaced, answered in open_rows:
        occ = Occurrence(seq=seq, step=step, kind="response", entered_at=entered, due=due,
                         assignees=tuple(assignees or ()), replaced=tuple(replaced or ()))
        # RESP-1, RESP-4: eligible, awaited, not blocked, and not answered yet
        current[d_id] = (occ, eligible and not blocked and actor in occ.awaited and actor not in (answered or ()))
    out = []
    for d, project_name in rows:
        total, n, done, failed = totals.get(d.id, (Decimal("0.00"), 0, 0, 0))
        # the payments' statuses as the stage reads them: how many Completed, how many Failed
        statuses = ("Completed",) * int(done or 0) + ("Failed",) * int(failed or 0)
        statuses += ("Requested",) * (int(n) - len(statuses))
        found = current.get(d.id)
        occ = found[0] if found else None
        out.append(DisbursementSummary(
            d.id, d.project_id, project_name, bool(d.is_draft), d.workflow_status, d.drawdown_status or "Draft",
            d.created_by, d.drafted_by, _aware(d.created_at), Decimal(total or 0).quantize(CENT), int(n),
            d.canceled_at is not None, occ.step if occ else None, occ.seq if occ else None,
            occ.due if occ else None, bool(occ and occ.due is not None and calendar.is_overdue(occ.due, now)),
            bool(found and found[1]), int(d.lock_version),
            funds.stage(is_draft=bool(d.is_draft), canceled=d.canceled_at is not None,
                        workflow_applies=bool(d.workflow_applies), workflow_status=d.workflow_status,
                        drawdown_status=d.drawdown_status or "Draft", payment_statuses=statuses),
            bool(d.sandbox)))
    return tuple(out)


__all__ = ["CurrentStep", "DisbursementDetail", "DisbursementList", "DisbursementSummary", "WorkflowDetail",
           "get_disbursement", "list_disbursements"]
