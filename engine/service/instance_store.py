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
- the state (de)serialisation: the instance row holds it all (:func:`encode_state`,
  :func:`load_state`); :func:`row_values` is what a transition writes on it, :func:`save_state`
  writes that through the ORM;
- what the state means for the disbursement: :func:`workflow_status` (ST-1),
  :func:`calendar_of` (GEN-6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.errors import DomainError
from engine.runtime.calendar import CompanyCalendar
from engine.runtime.instance import InstanceState, Occurrence, Response
from engine.services import Services
from engine.store.tables import Company, Disbursement, Instance, TemplateVersion

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
    found = s.scalar(select(func.max(Instance.last_seq)).where(Instance.disbursement_id == disbursement_id))
    return int(found or 0)


def compiled_of(s: Session, svc: Services, inst: Instance) -> CompiledWorkflow:
    """The compiled workflow ``inst`` runs on (its pinned version, compiled once per process)."""
    return svc.compiled(inst.content_hash, lambda: s.get(TemplateVersion, inst.version_id).document)


# ---------------------------------------------------------------- the state


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)).isoformat()


def encode_state(state: InstanceState) -> list[dict[str, Any]]:
    """The occurrences as the ``state`` column stores them: plain JSON, empty fields left out
    (a transition writes the whole list, so it stays small)."""
    out: list[dict[str, Any]] = []
    for o in state.occurrences:
        item: dict[str, Any] = {"seq": o.seq, "step": o.step, "kind": o.kind, "entered_at": _iso(o.entered_at)}
        if o.due is not None:
            item["due"] = o.due.isoformat()
        if o.assignees:
            item["assignees"] = list(o.assignees)
        if o.replaced:
            item["replaced"] = list(o.replaced)
        if o.responses:
            item["responses"] = [
                {"user": r.user, "answer": r.answer, "at": _iso(r.at), **({"comment": r.comment} if r.comment is not None else {})}
                for r in o.responses]
        if o.closed_at is not None:
            item["closed_at"] = _iso(o.closed_at)
        if o.decision is not None:
            item["decision"] = o.decision
        if o.evaluation is not None:
            item["evaluation"] = dict(o.evaluation)
        out.append(item)
    return out


def decode_occurrences(data: Sequence[Mapping[str, Any]]) -> tuple[Occurrence, ...]:
    """:func:`encode_state`'s list back into occurrences."""
    parse = datetime.fromisoformat
    return tuple(
        Occurrence(seq=o["seq"], step=o["step"], kind=o["kind"], entered_at=parse(o["entered_at"]),
                   due=date.fromisoformat(o["due"]) if "due" in o else None,
                   assignees=tuple(o.get("assignees", ())), replaced=tuple(o.get("replaced", ())),
                   responses=tuple(Response(r["user"], r["answer"], parse(r["at"]), r.get("comment"))
                                   for r in o.get("responses", ())),
                   closed_at=parse(o["closed_at"]) if "closed_at" in o else None,
                   decision=o.get("decision"), evaluation=o.get("evaluation"))
        for o in data)


def state_of(status: str, data: Sequence[Mapping[str, Any]], first_seq: int, end_step: str | None,
             outcome: str | None, blocked: bool) -> InstanceState:
    """An instance's state from its row's values (an ORM object or a Core row alike)."""
    return InstanceState(status=status, occurrences=decode_occurrences(data), end_step=end_step,  # type: ignore[arg-type]
                         outcome=outcome, blocked=bool(blocked), first_seq=first_seq)  # type: ignore[arg-type]


def load_state(s: Session | None, inst: Instance) -> InstanceState:
    """``inst``'s state: its own row holds all of it (``s`` is unused, kept for callers' symmetry)."""
    return state_of(inst.status, inst.state or (), inst.first_seq, inst.end_step, inst.outcome, inst.blocked)


def row_values(new: InstanceState, ended_at: datetime | None) -> dict[str, Any]:
    """Every column a transition to ``new`` writes on the instance row but its version:
    the state, the status fields and the open occurrence's copy (one UPDATE, on every backend)."""
    cur = new.current
    assigned: dict[str, None] = {}
    for o in new.occurrences:
        assigned.update(dict.fromkeys(o.assignees))
    last = new.occurrences[-1].seq if new.occurrences else new.first_seq - 1
    return {
        "status": new.status, "blocked": new.blocked, "end_step": new.end_step, "outcome": new.outcome,
        "ended_at": ended_at, "state": encode_state(new), "first_seq": new.first_seq, "last_seq": last,
        "open_seq": cur.seq if cur else None, "open_step": cur.step if cur else None,
        "open_entered_at": cur.entered_at if cur else None, "open_due": cur.due if cur else None,
        "open_assignees": list(cur.assignees) if cur else [], "open_replaced": list(cur.replaced) if cur else [],
        "open_answered": [r.user for r in cur.responses] if cur else [], "assigned": list(assigned),
    }


def save_state(s: Session, inst: Instance, new: InstanceState, now: datetime) -> None:
    """Write ``new`` on the instance row (the ORM object; flushed with the command)."""
    ended_at = inst.ended_at if inst.ended_at is not None or new.status == "active" else now
    for name, value in row_values(new, ended_at).items():
        setattr(inst, name, value)
    inst.lock_version += 1
    s.flush()  # an ended instance must be written before a restart inserts the next (WF-13 index)


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
