"""Running workflows for real: load an instance, apply a runtime transition, persist it.

Each public function is one transaction (RESP-8, AUD-1): it locks the
disbursement row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises
writers with ``BEGIN IMMEDIATE``), rebuilds the instance state, asks the pure
:mod:`engine.runtime` for the transition, then writes the rows, the audit
entries and the outbox emails. The disbursement's ``lock_version`` is the
backstop: a writer that read an older version gets ``state_conflict`` (GEN-7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, idempotency, notify, runtime
from .calendar import CompanyCalendar
from .directory import get_company
from .errors import DomainError
from .facts import raw_fact_plan
from .permissions import admins, can_manage, eligible_users, require_any, PAYMENTS_ADMIN
from .runtime import AuditEvent, InstanceState, Notice, Occurrence, Response, Snapshot
from .services import Services
from .store.tables import (
    Company, Disbursement, DisbursementItem, Instance, OccurrenceRow, Project, ResponseRow, Template,
    TemplateVersion,
)
from .templates import active_version, configuration_problems, snapshot_data, version_config

RestartMode = Literal["defaults", "current"]

STATUS_UNDER_REVIEW = "Under Review"
STATUS_APPROVED = "Approved"
STATUS_REJECTED = "Rejected"
STATUS_NOT_STARTED = "Not Started"
STATUS_CANCELED = "Canceled"


# ---------------------------------------------------------------- loading


def lock_disbursement(s: Session, company_id: str, disbursement_id: str) -> Disbursement:
    d = s.scalars(select(Disbursement).where(Disbursement.id == disbursement_id).with_for_update()).first()
    if d is None or d.company_id != company_id:
        raise DomainError("not_found", "no such disbursement", rule="GEN-5")
    return d


def active_instance(s: Session, disbursement_id: str) -> Instance | None:
    return s.scalars(select(Instance).where(Instance.disbursement_id == disbursement_id,
                                            Instance.status == "active")).first()


def latest_instance(s: Session, disbursement_id: str) -> Instance | None:
    return s.scalars(select(Instance).where(Instance.disbursement_id == disbursement_id)
                     .order_by(Instance.number.desc()).limit(1)).first()


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import timezone

    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment


def load_state(s: Session, inst: Instance) -> InstanceState:
    rows = list(s.scalars(select(OccurrenceRow).where(OccurrenceRow.instance_id == inst.id)
                          .order_by(OccurrenceRow.seq)))
    responses: dict[int, list[Response]] = {}
    if rows:
        for r in s.scalars(select(ResponseRow).where(ResponseRow.occurrence_id.in_([o.id for o in rows]))
                           .order_by(ResponseRow.id)):
            responses.setdefault(r.occurrence_id, []).append(
                Response(r.user_id, r.answer, _aware(r.created_at), r.comment))
    occs = tuple(
        Occurrence(seq=o.seq, step=o.step, kind=o.kind, entered_at=_aware(o.entered_at), due=o.due_date,
                   assignees=tuple(o.assignees or ()), replaced=tuple(o.replaced or ()),
                   responses=tuple(responses.get(o.id, ())), closed_at=_aware(o.closed_at),
                   decision=o.decision, evaluation=o.evaluation)
        for o in rows)
    return InstanceState(status=inst.status, occurrences=occs, end_step=inst.end_step,
                         outcome=inst.outcome, blocked=inst.blocked)


def _save_state(s: Session, inst: Instance, old: InstanceState, new: InstanceState, now: datetime) -> None:
    existing = {o.seq: o for o in s.scalars(select(OccurrenceRow).where(OccurrenceRow.instance_id == inst.id))}
    old_by_seq = {o.seq: o for o in old.occurrences}
    for occ in new.occurrences:
        row = existing.get(occ.seq)
        if row is None:
            row = OccurrenceRow(instance_id=inst.id, seq=occ.seq, step=occ.step, kind=occ.kind,
                                entered_at=occ.entered_at)
            s.add(row)
        before = old_by_seq.get(occ.seq)
        if before == occ and row.id is not None:
            continue
        row.due_date, row.closed_at, row.decision = occ.due, occ.closed_at, occ.decision
        row.assignees, row.replaced = list(occ.assignees), list(occ.replaced)
        row.evaluation = dict(occ.evaluation) if occ.evaluation is not None else None
        s.flush()
        known = {r.user for r in (before.responses if before else ())}
        for resp in occ.responses:
            if resp.user not in known:
                s.add(ResponseRow(occurrence_id=row.id, user_id=resp.user, answer=resp.answer,
                                  comment=resp.comment, created_at=resp.at))
    inst.status, inst.blocked = new.status, new.blocked
    inst.end_step, inst.outcome = new.end_step, new.outcome
    if new.status != "active" and inst.ended_at is None:
        inst.ended_at = now
    inst.lock_version += 1
    s.flush()  # an ended instance must be written before a restart inserts the next (WF-13 index)


def workflow_status(state: InstanceState) -> str:
    """ST-1 from the instance: active → Under Review; success end → Approved; ..."""
    if state.status == "active":
        return STATUS_UNDER_REVIEW
    if state.status == "ended":
        return STATUS_APPROVED if state.outcome == "success" else STATUS_REJECTED
    return STATUS_NOT_STARTED


def disbursement_facts(s: Session, d: Disbursement, names: Sequence[str]) -> dict[str, Any]:
    """COND-5: facts read from the disbursement as it is now (raw_fact_plan, as simulate does)."""
    items = s.scalars(select(DisbursementItem).where(DisbursementItem.disbursement_id == d.id)
                      .order_by(DisbursementItem.position))
    invoices = [{"amount": f"{i.amount:f}", "retainage_released": f"{i.retainage_released:f}"} for i in items]
    p = s.get(Project, d.project_id)
    project: dict[str, Any] = {**(p.attributes or {}), "id": p.id, "name": p.name, "office": p.office,
                               "sector": p.sector,
                               "start_date": p.start_date.isoformat() if p.start_date else None}
    return raw_fact_plan(names)(invoices, project)


def calendar_of(company: Company) -> CompanyCalendar:
    return CompanyCalendar(company.time_zone, frozenset(date.fromisoformat(h) for h in company.holidays or ()))


def _amount(s: Session, d: Disbursement) -> Decimal:
    return sum(s.scalars(select(DisbursementItem.amount).where(DisbursementItem.disbursement_id == d.id)),
               Decimal("0.00"))


def _subject(s: Session, company: Company, d: Disbursement) -> notify.Subject:
    p = s.get(Project, d.project_id)
    return notify.Subject(company.id, company.name, d.id, _amount(s, d), p.name if p else "")


def _context(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
             compiled: Any) -> runtime.Context:
    return runtime.Context(
        now=svc.now(), snapshot=Snapshot.from_data(inst.snapshot),
        eligible=eligible_users(s, company.id),
        facts=disbursement_facts(s, d, sorted(compiled.facts_used)),
        creator=d.created_by, calendar=calendar_of(company), admins=admins(s, company.id))


def _apply(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance | None,
           actor: str | None, effects: Sequence[runtime.Effect], *, reason: str | None = None,
           before_status: str | None = None) -> None:
    """Write audit entries and outbox emails for a transition's effects."""
    now = svc.now()
    subject = _subject(s, company, d)
    for eff in effects:
        if isinstance(eff, AuditEvent):
            audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company.id, at=now,
                         actor_id=actor, action=eff.action, object_type="disbursement", object_id=d.id,
                         before={"workflow_status": before_status}, after={"workflow_status": d.workflow_status},
                         reason=eff.details.get("reason") if isinstance(eff.details.get("reason"), str) else reason,
                         rules=eff.rules, version_id=inst.version_id if inst else None,
                         content_hash=inst.content_hash if inst else None,
                         details={"instance": inst.id if inst else None, **eff.details})
        elif isinstance(eff, Notice):
            notify.enqueue(s, now=now, subject=subject, event=eff.event, recipients=eff.recipients,
                           step=eff.step, details=eff.details)
            if eff.event == "end_reached" and eff.details.get("outcome") == "success":
                _approved_notice(s, svc, company, d, subject)


def _approved_notice(s: Session, svc: Services, company: Company, d: Disbursement,
                     subject: notify.Subject) -> None:
    """END-4: everyone who may authorize is invited; segregation (AUTH-5..7) filters later."""
    notify.enqueue(s, now=svc.now(), subject=subject, event="approved",
                   recipients=sorted(eligible_users(s, company.id)))


def _touch(d: Disbursement, now: datetime, status: str | None) -> None:
    d.workflow_status = status
    d.updated_at = now  # bumps lock_version (optimistic check)


def _require_open(d: Disbursement) -> None:
    if d.canceled_at is not None:
        raise DomainError("disbursement_canceled", "the disbursement is canceled", rule="AUTH-12")
    if d.authorized_at is not None:
        raise DomainError("disbursement_authorized", "the disbursement is authorized; nothing can change",
                          rule="AUTH-12")


# ---------------------------------------------------------------- starting


def start_on_template(s: Session, svc: Services, company: Company, d: Disbursement, actor: str | None,
                      *, template: Template | None = None, version: TemplateVersion | None = None,
                      snapshot: dict[str, Any] | None = None) -> Instance:
    """Start an instance (inside the caller's transaction): the default template's active
    version and current configuration (WF-11), or a pinned version and snapshot (MGR-5 current)."""
    if template is None:
        if company.default_template_id is None:
            raise DomainError("no_workflow_configured", "no Configured default workflow template exists",
                              rule="MGR-4")
        template = s.get(Template, company.default_template_id)
        assert template is not None
    if version is None:
        problems = configuration_problems(s, template)
        if problems:
            raise DomainError("no_workflow_configured",
                              "the default template is Not Configured: " + "; ".join(problems), rule="WF-7")
        version = active_version(s, template.id)
        assert version is not None and version.content_hash and version.document
        snapshot = snapshot_data(s, template, version_config(version))
    assert snapshot is not None and version.content_hash and version.document is not None
    compiled = svc.compiled(version.content_hash, version.document)
    previous = latest_instance(s, d.id)
    inst = Instance(company_id=company.id, disbursement_id=d.id, number=(previous.number + 1 if previous else 1),
                    template_id=template.id,
                    version_id=version.id, content_hash=version.content_hash, snapshot=snapshot,
                    status="active", blocked=False, started_at=svc.now(), lock_version=0)
    s.add(inst)
    s.flush()
    tr = runtime.start(compiled, _context(s, svc, company, d, inst, compiled))
    before = d.workflow_status
    _save_state(s, inst, InstanceState(), tr.state, svc.now())
    _touch(d, svc.now(), workflow_status(tr.state))
    _apply(s, svc, company, d, inst, actor, tr.effects, before_status=before)
    return inst


def start(svc: Services, actor: str, company_id: str, disbursement_id: str) -> str:
    """MGR-4: the default template's manager starts a Not Started workflow."""
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        _require_open(d)
        if not d.workflow_applies:
            raise DomainError("workflow_not_applicable", "no workflow applies to this disbursement",
                              rule="ROLL-1")
        if d.workflow_status != STATUS_NOT_STARTED:
            raise DomainError("state_conflict", f"the workflow is {d.workflow_status}, not Not Started",
                              rule="MGR-4")
        template = s.get(Template, company.default_template_id) if company.default_template_id else None
        if template is None:
            raise DomainError("no_workflow_configured", "no Configured default workflow template exists",
                              rule="MGR-4")
        if actor != template.manager_id:
            raise DomainError("permission_denied", "only the default template's workflow manager may start it",
                              rule="MGR-1", missing="workflow manager of the default template")
        inst = start_on_template(s, svc, company, d, actor)
        return inst.id


# ---------------------------------------------------------------- commands on the active instance


def _with_instance(s: Session, svc: Services, company_id: str, disbursement_id: str):
    company = get_company(s, company_id)
    d = lock_disbursement(s, company_id, disbursement_id)
    _require_open(d)
    inst = active_instance(s, d.id)
    if inst is None:
        raise DomainError("instance_not_active", "the disbursement has no active workflow", rule="END-1")
    version = s.get(TemplateVersion, inst.version_id)
    assert version is not None and version.document is not None
    compiled = svc.compiled(inst.content_hash, version.document)
    state = load_state(s, inst)
    return company, d, inst, compiled, state


def _commit(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
            old: InstanceState, tr: runtime.Transition, actor: str, reason: str | None = None) -> None:
    if not tr.changed:
        return
    before = d.workflow_status
    _save_state(s, inst, old, tr.state, svc.now())
    _touch(d, svc.now(), workflow_status(tr.state))
    _apply(s, svc, company, d, inst, actor, tr.effects, reason=reason, before_status=before)


def respond(svc: Services, actor: str, company_id: str, disbursement_id: str, *, occurrence: int,
            answer: str, comment: str | None = None, instance_id: str | None = None,
            idempotency_key: str | None = None) -> InstanceState:
    """RESP-1..RESP-8: answer the current occurrence; routing, audit and emails commit together.

    With ``idempotency_key`` (GEN-8) a retried identical request changes nothing more.
    """
    body = {"op": "respond", "disbursement": disbursement_id, "occurrence": occurrence, "answer": answer,
            "comment": comment, "instance": instance_id}
    with svc.tx() as s:
        if idempotency.replay(s, company_id, actor, idempotency_key, body) is not None:
            inst = latest_instance(s, disbursement_id)
            return load_state(s, inst) if inst is not None else InstanceState()
        try:
            company, d, inst, compiled, state = _with_instance(s, svc, company_id, disbursement_id)
        except DomainError as exc:
            if exc.code == "instance_not_active" and latest_instance(s, disbursement_id) is not None:
                # RESP-2/RESP-5: the occurrence was closed (here by an answer that ended
                # the instance, or a terminate): the answer is stale, as for any other move.
                raise DomainError("state_conflict", "that step is no longer waiting for an answer",
                                  rule="RESP-2") from None
            raise
        if instance_id is not None and instance_id != inst.id:
            raise DomainError("state_conflict", "that workflow instance is no longer active", rule="RESP-2")
        ctx = _context(s, svc, company, d, inst, compiled)
        tr = runtime.respond(state, compiled, ctx, user=actor, occurrence=occurrence, answer=answer,
                             comment=comment)
        _commit(s, svc, company, d, inst, state, tr, actor)
        idempotency.record(s, company_id, actor, idempotency_key, body,
                           {"instance": inst.id, "workflow_status": d.workflow_status}, svc.now())
        return tr.state


def return_to(svc: Services, actor: str, company_id: str, disbursement_id: str, *, step: str,
              reason: str) -> InstanceState:
    with svc.tx() as s:
        company, d, inst, compiled, state = _with_instance(s, svc, company_id, disbursement_id)
        tr = runtime.return_to(state, compiled, _context(s, svc, company, d, inst, compiled),
                               actor=actor, step=step, reason=reason)
        _commit(s, svc, company, d, inst, state, tr, actor, reason)
        return tr.state


def add_assignees(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                  users: Sequence[str], reason: str, comment: str | None = None,
                  replacing: Sequence[str] = (), message: str | None = None) -> InstanceState:
    with svc.tx() as s:
        company, d, inst, compiled, state = _with_instance(s, svc, company_id, disbursement_id)
        tr = runtime.add_assignees(state, compiled, _context(s, svc, company, d, inst, compiled),
                                   actor=actor, users=users, reason=reason, comment=comment,
                                   replacing=replacing, message=message)
        _commit(s, svc, company, d, inst, state, tr, actor, reason)
        return tr.state


def terminate(svc: Services, actor: str, company_id: str, disbursement_id: str, *, reason: str) -> None:
    with svc.tx() as s:
        company, d, inst, compiled, state = _with_instance(s, svc, company_id, disbursement_id)
        tr = runtime.terminate(state, _context(s, svc, company, d, inst, compiled), actor=actor,
                               reason=reason)
        _commit(s, svc, company, d, inst, state, tr, actor, reason)


def restart(svc: Services, actor: str, company_id: str, disbursement_id: str, *, reason: str,
            mode: RestartMode = "defaults") -> str:
    """MGR-5: end the active (or look at the ended) instance and start afresh."""
    if not reason or not reason.strip():
        raise DomainError("reason_required", "a non-empty reason is required", rule="MGR-3")
    if mode not in ("defaults", "current"):
        raise DomainError("invalid_mode", "restart mode is `defaults` or `current`", rule="MGR-5")
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        _require_open(d)
        inst = latest_instance(s, d.id)
        if inst is None:
            raise DomainError("instance_not_active", "the workflow has not been started", rule="MGR-5")
        snap = Snapshot.from_data(inst.snapshot)
        if actor != snap.manager:
            raise DomainError("permission_denied", "only the instance's workflow manager may restart it",
                              rule="MGR-1", missing="workflow manager of this instance")
        return _restart_in(s, svc, company, d, inst, actor, reason.strip(), mode).id


def _restart_in(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
                actor: str | None, reason: str, mode: RestartMode,
                cause: runtime.TerminateCause = "restart") -> Instance:
    before = d.workflow_status
    if inst.status == "active":
        _terminate_in(s, svc, company, d, inst, actor, reason, cause)
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company.id, at=svc.now(),
                 actor_id=actor, action="restarted", object_type="disbursement", object_id=d.id,
                 before={"workflow_status": before}, after=None, reason=reason, rules=("MGR-5", "MGR-3"),
                 version_id=inst.version_id, content_hash=inst.content_hash,
                 details={"instance": inst.id, "mode": mode})
    if mode == "current":
        template = s.get(Template, inst.template_id)
        version = s.get(TemplateVersion, inst.version_id)
        return start_on_template(s, svc, company, d, actor, template=template, version=version,
                                 snapshot=dict(inst.snapshot))
    return start_on_template(s, svc, company, d, actor)


def restart_for_edit(s: Session, svc: Services, company: Company, d: Disbursement, actor: str,
                     reason: str) -> None:
    """DSB-12: an edit after the workflow started restarts it in `defaults` mode."""
    inst = latest_instance(s, d.id)
    if inst is None or d.workflow_status in (None, STATUS_NOT_STARTED):
        return
    _restart_in(s, svc, company, d, inst, actor, reason, "defaults", cause="edit")


def _terminate_in(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
                  actor: str | None, reason: str, cause: runtime.TerminateCause) -> None:
    version = s.get(TemplateVersion, inst.version_id)
    assert version is not None and version.document is not None
    compiled = svc.compiled(inst.content_hash, version.document)
    state = load_state(s, inst)
    tr = runtime.terminate(state, _context(s, svc, company, d, inst, compiled), actor=actor or "",
                           reason=reason, cause=cause)
    before = d.workflow_status
    _save_state(s, inst, state, tr.state, svc.now())
    _touch(d, svc.now(), workflow_status(tr.state))
    _apply(s, svc, company, d, inst, actor, tr.effects, reason=reason, before_status=before)


def cancel_instance(s: Session, svc: Services, company: Company, d: Disbursement, actor: str,
                    reason: str) -> None:
    """AUTH-13: terminate the active instance as part of a cancel (its emails included)."""
    inst = active_instance(s, d.id)
    if inst is not None:
        _terminate_in(s, svc, company, d, inst, actor, reason, "cancel")


def reassign_manager(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                     manager: str, reason: str) -> None:
    """MGR-2: an Admin hands an instance whose manager is no longer eligible to an eligible one."""
    if not reason or not reason.strip():
        raise DomainError("reason_required", "a non-empty reason is required", rule="MGR-2")
    with svc.tx() as s:
        get_company(s, company_id)
        require_any(s, company_id, actor, (PAYMENTS_ADMIN,), rule="MGR-2", action="reassigning a workflow manager")
        d = lock_disbursement(s, company_id, disbursement_id)
        _require_open(d)
        inst = active_instance(s, d.id)
        if inst is None:
            raise DomainError("instance_not_active", "the disbursement has no active workflow", rule="MGR-2")
        old = inst.snapshot.get("manager")
        if old and can_manage(s, company_id, old):
            raise DomainError("manager_still_eligible", "the current manager is still eligible", rule="MGR-2")
        if not can_manage(s, company_id, manager):
            raise DomainError("ineligible_manager", "the new manager must be eligible and hold Can Be Workflow Manager",
                              rule="ROLE-8")
        inst.snapshot = {**inst.snapshot, "manager": manager}
        inst.lock_version += 1
        _touch(d, svc.now(), d.workflow_status)
        audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=svc.now(),
                     actor_id=actor, action="manager_reassigned", object_type="disbursement", object_id=d.id,
                     before={"manager": old}, after={"manager": manager}, reason=reason.strip(),
                     rules=("MGR-2",), version_id=inst.version_id, content_hash=inst.content_hash,
                     details={"instance": inst.id})


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    status: str
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    awaited: tuple[str, ...]
    blocked: bool
    path: tuple[str, ...]
    overdue_steps: tuple[str, ...]


def view(svc: Services, company_id: str, disbursement_id: str) -> InstanceView | None:
    """The latest instance as the disbursement page shows it, with overdue steps."""
    with svc.db.sessions() as s:
        company = get_company(s, company_id)
        d = s.get(Disbursement, disbursement_id)
        if d is None or d.company_id != company_id:
            raise DomainError("not_found", "no such disbursement", rule="GEN-5")
        inst = latest_instance(s, d.id)
        if inst is None:
            return None
        state = load_state(s, inst)
        cur = state.current
        late = runtime.overdue(state, calendar_of(company), svc.now())
        return InstanceView(inst.id, state.status, d.workflow_status, cur.step if cur else None,
                            cur.seq if cur else None, cur.awaited if cur else (), state.blocked,
                            tuple(state.path), tuple(o.step for o in late))
