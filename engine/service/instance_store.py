"""Workflow instances in the database: finding, locking, loading and saving them.

:mod:`engine.service.instances` holds the commands (start, respond, the manager
actions, ``view``); this module is what they share about storage. Every
function here takes the caller's ``Session`` and runs inside the command's
transaction, so none of them checks permissions, commits or writes audit
entries: they are internal helpers, not commands (docs/engine.md).

- locking: :func:`lock_disbursement`, :func:`lock_with_company` (``SELECT … FOR
  UPDATE`` on PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``);
- finding: :func:`active_instance`, :func:`latest_instance`,
  :func:`last_occurrence` (RESP-2), :func:`compiled_of`;
- the state (de)serialisation: :func:`load_with_ids` / :func:`load_state` read an
  instance's occurrences and responses into an :class:`InstanceState`;
  :func:`save_state` writes what a transition changed;
- what the state means for the disbursement: :func:`workflow_status` (ST-1),
  :func:`calendar_of` (GEN-6).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.errors import DomainError
from engine.runtime.calendar import CompanyCalendar
from engine.runtime.instance import InstanceState, Occurrence, Response
from engine.services import Services
from engine.store.tables import Company, Disbursement, Instance, OccurrenceRow, ResponseRow, TemplateVersion

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow

#: ST-1: the workflow status family
STATUS_UNDER_REVIEW = "Under Review"
STATUS_APPROVED = "Approved"
STATUS_REJECTED = "Rejected"
STATUS_NOT_STARTED = "Not Started"
STATUS_CANCELED = "Canceled"


# ---------------------------------------------------------------- locking and finding


def lock_disbursement(s: Session, company_id: str, disbursement_id: str) -> Disbursement:
    """The disbursement, row-locked; another company's is ``not_found`` (GEN-5)."""
    d = s.scalars(select(Disbursement).where(Disbursement.id == disbursement_id).with_for_update()).first()
    if d is None or d.company_id != company_id:
        raise DomainError("not_found", "no such disbursement", rule="GEN-5")
    return d


def require_version(d: Disbursement, expected_version: int | None) -> None:
    """``If-Match`` (RFC 9110) on the locked disbursement ``d``: refuse unless it is still at
    ``expected_version`` (None: the caller named no version). Compared on the row the command
    already holds locked, inside its transaction, so a change that lands between the client's
    read and this command is always seen: no read-then-write race, and no extra query."""
    if expected_version is None:
        return
    if type(expected_version) is not int or expected_version < 0:
        raise DomainError("invalid_value", "expected_version: not a version number", rule="GEN-7")
    if d.lock_version != expected_version:
        raise DomainError("precondition_failed",
                          f"the disbursement changed since version {expected_version} was read (it is at "
                          f"version {d.lock_version}); reload it and decide again", rule="GEN-7")


def bump(d: Disbursement, now: datetime) -> None:
    """Record that ``d`` changed at ``now``: its ``updated_at`` is written and so its
    ``lock_version`` goes up (GEN-7, the ETag), even when the change is in other rows (the
    payments, the instance) and ``now`` equals the stored time (an injected clock that stands
    still: an unchanged value alone would send no UPDATE and leave the version as it was)."""
    d.updated_at = now
    flag_modified(d, "updated_at")


def version_of(s: Session, d: Disbursement) -> int:
    """``d``'s ``lock_version`` once this transaction's pending change to it is flushed: the
    version the client will read next (its ETag). The flush only moves the UPDATE the commit
    would send anyway, so it adds no statement."""
    s.flush()
    return int(d.lock_version)


def lock_with_company(s: Session, company_id: str, disbursement_id: str) -> tuple[Company, Disbursement]:
    """The disbursement, row-locked (FOR UPDATE on PostgreSQL), with its company, in one query."""
    row = s.execute(select(Disbursement, Company).join(Company, Company.id == Disbursement.company_id)
                    .where(Disbursement.id == disbursement_id).with_for_update(of=Disbursement)).first()
    if row is None or row[0].company_id != company_id:
        raise DomainError("not_found", "no such disbursement", rule="GEN-5")
    return row[1], row[0]


def active_instance(s: Session, disbursement_id: str) -> Instance | None:
    """WF-13: the disbursement's one active instance, if any."""
    return s.scalars(select(Instance).where(Instance.disbursement_id == disbursement_id,
                                            Instance.status == "active")).first()


def latest_instance(s: Session, disbursement_id: str) -> Instance | None:
    return s.scalars(select(Instance).where(Instance.disbursement_id == disbursement_id)
                     .order_by(Instance.number.desc()).limit(1)).first()


def last_occurrence(s: Session, disbursement_id: str) -> int:
    """RESP-2: the highest occurrence number over every instance of the disbursement (0 if none);
    a new instance numbers its occurrences after it."""
    found = s.scalar(select(func.max(OccurrenceRow.seq)).join(Instance, Instance.id == OccurrenceRow.instance_id)
                     .where(Instance.disbursement_id == disbursement_id))
    return int(found or 0)


def compiled_of(s: Session, svc: Services, inst: Instance) -> CompiledWorkflow:
    """The compiled workflow ``inst`` runs on (its pinned version, compiled once per process)."""
    return svc.compiled(inst.content_hash, lambda: s.get(TemplateVersion, inst.version_id).document)


# ---------------------------------------------------------------- the state


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment


def load_with_ids(s: Session, inst: Instance) -> tuple[InstanceState, dict[int, int]]:
    """The instance's state, and the row id of each occurrence (by seq) for :func:`save_state`."""
    rows = s.execute(select(OccurrenceRow).where(OccurrenceRow.instance_id == inst.id)
                     .order_by(OccurrenceRow.seq)).scalars().all()
    responses: dict[int, list[Response]] = {}
    if rows:
        for occurrence_id, user, answer, at, comment in s.execute(
                select(ResponseRow.occurrence_id, ResponseRow.user_id, ResponseRow.answer,
                       ResponseRow.created_at, ResponseRow.comment)
                .where(ResponseRow.occurrence_id.in_([o.id for o in rows])).order_by(ResponseRow.id)):
            responses.setdefault(occurrence_id, []).append(Response(user, answer, _aware(at), comment))
    occs = tuple(
        Occurrence(seq=o.seq, step=o.step, kind=o.kind, entered_at=_aware(o.entered_at), due=o.due_date,
                   assignees=tuple(o.assignees or ()), replaced=tuple(o.replaced or ()),
                   responses=tuple(responses.get(o.id, ())), closed_at=_aware(o.closed_at),
                   decision=o.decision, evaluation=o.evaluation)
        for o in rows)
    state = InstanceState(status=inst.status, occurrences=occs, end_step=inst.end_step,
                          outcome=inst.outcome, blocked=inst.blocked,
                          first_seq=occs[0].seq if occs else 1)
    return state, {o.seq: o.id for o in rows}


def load_state(s: Session, inst: Instance) -> InstanceState:
    return load_with_ids(s, inst)[0]


def _occurrence_values(occ: Occurrence) -> dict[str, Any]:
    return {"due_date": occ.due, "closed_at": occ.closed_at, "decision": occ.decision,
            "assignees": list(occ.assignees), "replaced": list(occ.replaced),
            "evaluation": dict(occ.evaluation) if occ.evaluation is not None else None}


def save_state(s: Session, inst: Instance, old: InstanceState, ids: dict[int, int], new: InstanceState,
               now: datetime) -> None:
    """Write what changed between ``old`` and ``new``: new occurrences and responses are
    appended, changed occurrences updated — with Core, in a statement per kind of change
    (this runs on every transition)."""
    old_by_seq = {o.seq: o for o in old.occurrences}
    new_occurrences: list[dict[str, Any]] = []
    new_responses: list[dict[str, Any]] = []
    for occ in new.occurrences:
        before = old_by_seq.get(occ.seq)
        if before is None:
            new_occurrences.append({"instance_id": inst.id, "seq": occ.seq, "step": occ.step, "kind": occ.kind,
                                    "entered_at": occ.entered_at, **_occurrence_values(occ)})
            continue
        if before == occ:
            continue
        if replace(before, responses=()) != replace(occ, responses=()):
            s.execute(update(OccurrenceRow).where(OccurrenceRow.id == ids[occ.seq])
                      .values(**_occurrence_values(occ)))
        known = {r.user for r in before.responses}
        new_responses += [{"occurrence_id": ids[occ.seq], "user_id": r.user, "answer": r.answer,
                           "comment": r.comment, "created_at": r.at}
                          for r in occ.responses if r.user not in known]
    if new_responses:
        s.execute(insert(ResponseRow), new_responses)
    inst.status, inst.blocked = new.status, new.blocked
    inst.end_step, inst.outcome = new.end_step, new.outcome
    if new.status != "active" and inst.ended_at is None:
        inst.ended_at = now
    inst.lock_version += 1
    s.flush()  # an ended instance must be written before a restart inserts the next (WF-13 index)
    if new_occurrences:
        s.execute(insert(OccurrenceRow), new_occurrences)


# ---------------------------------------------------------------- what the state means


def workflow_status(state: InstanceState) -> str:
    """ST-1 from the instance: active → Under Review; success end → Approved; ..."""
    if state.status == "active":
        return STATUS_UNDER_REVIEW
    if state.status == "ended":
        return STATUS_APPROVED if state.outcome == "success" else STATUS_REJECTED
    return STATUS_NOT_STARTED


def calendar_of(company: Company) -> CompanyCalendar:
    """GEN-6: the company's time zone and holidays, for due dates and overdue."""
    return CompanyCalendar(company.time_zone, frozenset(date.fromisoformat(h) for h in company.holidays or ()))
