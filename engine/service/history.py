"""A disbursement's workflow history, read from its audit chain (AUD-7), filtered by ROLE-9.

The history is not a second record: it is a view of the hash-chained audit
entries, so what a person reads is exactly what was audited.

:func:`history` is a query of the engine's contract: ``(svc, actor, company_id,
disbursement_id)``, the actor (the viewer) checked here (ROLE-9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.security.permissions import (
    PAYMENTS_ADMIN,
    VIEW_FULL_HISTORY,
    VIEW_PREVIOUS_STEP,
    held,
    manages,
    membership,
)
from engine.service import audit
from engine.service.instance_store import load_state
from engine.services import Services
from engine.store.tables import Disbursement, Instance, User

#: audit actions that make up a workflow history, and how they read
KINDS = {
    "workflow_started": "workflow started",
    "step_entered": "response step",
    "response_submitted": "response",
    "step_decided": "step decided",
    "condition_decided": "condition",
    "end_reached": "end step",
    "terminated": "terminated",
    "returned": "returned to step",
    "assignees_added": "assignees added",
    "restarted": "restarted",
    "manager_reassigned": "manager reassigned",
    "instance_blocked": "blocked",
}


@dataclass(frozen=True)
class HistoryEvent:
    seq: int
    at: datetime
    kind: str
    action: str
    actor: str | None
    actor_name: str | None
    instance: str | None
    step: str | None
    text: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: ROLL-4: the entry was written about a sandbox disbursement (marked in the entry itself)
    sandbox: bool = False


@dataclass(frozen=True)
class History:
    disbursement_id: str
    scope: str  # "complete" | "previous_step" | "hidden"
    events: tuple[HistoryEvent, ...]
    #: ROLL-4: a sandbox disbursement's history, every entry a test
    sandbox: bool = False


def _text(action: str, d: dict[str, Any]) -> str:
    if action == "response_submitted":
        return f"{d.get('step')}: {d.get('answer')}" + (f" — {d['comment']}" if d.get("comment") else "")
    if action == "condition_decided":
        return f"{d.get('step')}: " + "; ".join(d.get("text", []))
    if action == "step_decided":
        return f"{d.get('step')}: {d.get('decision')} → {d.get('target')}"
    if action == "step_entered":
        return f"{d.get('step')} (due {d.get('due')})" if d.get("due") else str(d.get("step"))
    if action == "end_reached":
        return f"{d.get('step')} ({d.get('outcome')})"
    if action == "returned":
        return f"returned from {d.get('from')} to {d.get('to')}"
    if action == "assignees_added":
        return f"{d.get('step')}: added {len(d.get('added', []))} assignee(s) ({d.get('reason')})"
    return KINDS.get(action, action)


def _participants(s: Session, disbursement_id: str) -> tuple[set[str], set[str]]:
    """(managers, everyone assigned) over every instance of the disbursement."""
    managers: set[str] = set()
    assigned: set[str] = set()
    for inst in s.scalars(select(Instance).where(Instance.disbursement_id == disbursement_id)):
        managers.add(inst.snapshot.get("manager"))
        for occ in load_state(s, inst).occurrences:
            assigned.update(occ.assignees)
    return managers, assigned


def history(svc: Services, actor: str, company_id: str, disbursement_id: str) -> History:
    """ROLE-9: manager and Admins see everything; View Complete Workflow History shows a
    participant the whole history; View Previous Step History Only shows an assignee of the
    current step only the previous step. AUTH-15: a canceled disbursement's history is hidden.

    Someone who was never a member of the company gets ``not_found`` exactly as for a
    disbursement that does not exist (GEN-5), as the commands on a disbursement answer them:
    a stranger learns nothing, not even that the disbursement exists. A member deactivated
    in the company is refused by ROLE-9 like any member without the permission."""
    with svc.db.sessions() as s:
        member = membership(s, company_id, actor)
        d = s.get(Disbursement, disbursement_id) if member is not None else None
        if d is None or d.company_id != company_id:
            raise DomainError("not_found", "no such disbursement", rule="GEN-5")
        perms = held(s, company_id, actor)
        managers, assigned = _participants(s, d.id)
        current = None
        inst = s.scalars(select(Instance).where(Instance.disbursement_id == d.id,
                                                Instance.status == "active")).first()
        if inst is not None:
            current = load_state(s, inst).current
        if PAYMENTS_ADMIN in perms or (actor in managers and manages(perms)):
            # ROLE-8/MGR-1: a manager who is no longer eligible reads no more than anyone else
            scope = "complete"
        elif VIEW_FULL_HISTORY in perms and (actor in assigned or actor == d.created_by):
            scope = "complete"
        elif VIEW_PREVIOUS_STEP in perms and current is not None and actor in current.awaited:
            scope = "previous_step"
        else:
            raise DomainError("permission_denied", "viewing this workflow history needs View Complete "
                              "Workflow History or View Previous Step History Only", rule="ROLE-9",
                              missing="View Complete Workflow History")
        if d.canceled_at is not None:
            return History(d.id, "hidden", (), bool(d.sandbox))
        chain = audit.entries(s, audit.disbursement_chain(d.id))
        actors = {e.actor_id for e in chain if e.actor_id}
        names = {uid: name for uid, name in s.execute(select(User.id, User.name).where(User.id.in_(actors)))}
        events = [
            HistoryEvent(e.seq, e.at, KINDS[e.action], e.action, e.actor_id, names.get(e.actor_id or ""),
                         e.details.get("instance"), e.details.get("step") or e.details.get("to"),
                         _text(e.action, e.details), e.reason, dict(e.details), audit.is_sandbox(e.details))
            for e in chain if e.action in KINDS
        ]
        if scope == "previous_step":
            events = _previous_step(events, current.seq if current else None, inst.id if inst else None)
        return History(d.id, scope, tuple(events), bool(d.sandbox))


def _previous_step(events: list[HistoryEvent], current_seq: int | None, instance: str | None) -> list[HistoryEvent]:
    """Events of the response occurrence closed just before the current one."""
    decided = [e for e in events if e.action == "step_decided" and e.instance == instance
               and (current_seq is None or e.details.get("occurrence", 0) < current_seq)]
    if not decided:
        return []
    last = decided[-1]
    occ = last.details.get("occurrence")
    return [e for e in events if e.instance == instance and e.details.get("occurrence") == occ]
