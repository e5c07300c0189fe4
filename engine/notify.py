"""Email: render notices into messages and put them in the outbox (AUD-1, AUD-5, AUD-6).

Rendering happens inside the state change's transaction, so the outbox row
commits with the change or not at all; the worker (:mod:`engine.worker`)
sends it afterwards. Messages carry no secrets: names, steps, statuses and
amounts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .money import format_money
from .store.tables import OutboxEmail, User


@dataclass(frozen=True)
class Subject:
    """What an email is about: the disbursement and its company."""

    company_id: str
    company_name: str
    disbursement_id: str
    amount: Decimal
    project: str


_SUBJECTS: dict[str, str] = {
    "step_entered": "Action required: {step}",
    "blocked": "Workflow blocked at {step}: no eligible assignee",
    "assignees_added": "You were added to {step}",
    "manager_action": "Workflow {action}",
    "end_reached": "Disbursement {status}",
    "approved": "Ready to authorize",
    "canceled": "Disbursement canceled",
    "overdue": "Overdue: {step}",
}


def _subject_line(event: str, step: str | None, details: Mapping[str, Any], subject: Subject) -> str:
    template = _SUBJECTS.get(event, event.replace("_", " ").capitalize())
    action = str(details.get("action", "changed")).replace("_", " ")
    status = details.get("status") or ("approved" if details.get("outcome") == "success" else "rejected")
    head = template.format(step=step or "", action=action, status=status)
    return f"[payroute] {head} — disbursement {subject.disbursement_id[:8]} ({format_money(subject.amount)})"


def _body(event: str, step: str | None, details: Mapping[str, Any], subject: Subject, name: str) -> str:
    lines = [f"Hello {name},", ""]
    what = {
        "step_entered": f"The disbursement is waiting at \u201c{step}\u201d.",
        "blocked": f"The workflow is blocked at \u201c{step}\u201d: no eligible user can answer. "
                   "The workflow manager can add assignees or restart it.",
        "assignees_added": f"You were added as an assignee of \u201c{step}\u201d.",
        "manager_action": f"The workflow manager took an action: {details.get('action', '')}.",
        "end_reached": f"The workflow ended at \u201c{step}\u201d.",
        "approved": "The disbursement is approved and waiting for authorization.",
        "canceled": "The disbursement was canceled.",
        "overdue": f"\u201c{step}\u201d is overdue and still waits for your answer.",
    }.get(event, event)
    if event == "overdue" and details.get("to_manager"):
        # STEP-13: the manager hears on the first overdue day, whether or not they are asked.
        what = f"\u201c{step}\u201d, a step of a workflow you manage, is overdue."
    lines.append(what)
    if details.get("waiting_for"):
        lines.append(f"Waiting for: {details['waiting_for']}")
    lines.append("")
    lines.append(f"Company: {subject.company_name}")
    lines.append(f"Project: {subject.project}")
    lines.append(f"Disbursement: {subject.disbursement_id}")
    lines.append(f"Amount: {format_money(subject.amount)}")
    if details.get("due"):
        lines.append(f"Due: {details['due']}")
    if details.get("reason"):
        lines.append(f"Reason: {details['reason']}")
    if details.get("message"):
        lines.append(f"Message: {details['message']}")
    lines += ["", "— payroute"]
    return "\n".join(lines)


def enqueue(session: Session, *, now: datetime, subject: Subject, event: str, recipients: Sequence[str],
            step: str | None = None, details: Mapping[str, Any] | None = None,
            dedupe_key: str | None = None) -> list[OutboxEmail]:
    """One outbox row per recipient user (so each can be retried and counted on its own)."""
    details = details or {}
    out: list[OutboxEmail] = []
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(recipients))))}
    for uid in dict.fromkeys(recipients):
        user = users.get(uid)
        if user is None:
            continue
        row = OutboxEmail(
            company_id=subject.company_id, created_at=now, event=event, recipients=[user.email],
            subject=_subject_line(event, step, details, subject),
            body=_body(event, step, details, subject, user.name),
            dedupe_key=f"{dedupe_key}:{uid}" if dedupe_key else None,
            status="pending", attempts=0, next_attempt_at=now,
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out
