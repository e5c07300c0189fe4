"""Email: render notices into messages and put them in the outbox (AUD-1, AUD-5, AUD-6).

Rendering happens inside the state change's transaction, so the outbox row
commits with the change or not at all; the worker takes it from there
(:mod:`engine.outbox.lease` claims it, :mod:`engine.outbox.smtp` sends it).
Messages carry no secrets: names, steps, statuses and amounts only. Addresses
are masked (:func:`mask_address`) wherever an operator or an audit entry sees
a row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.money import format_money
from engine.store.tables import OutboxEmail, User, new_id


@dataclass(frozen=True)
class Subject:
    """What an email is about: the disbursement and its company."""

    company_id: str
    company_name: str
    disbursement_id: str
    amount: Decimal
    project: str
    #: ROLL-4: a sandbox disbursement's emails are marked as tests
    sandbox: bool = False


_SUBJECTS: dict[str, str] = {
    "step_entered": "Action required: {step}",
    "blocked": "Workflow blocked at {step}: no eligible assignee",
    "assignees_added": "You were added to {step}",
    "manager_action": "Workflow {action}",
    "end_reached": "Disbursement {status}",
    "approved": "Ready to authorize",
    "canceled": "Disbursement canceled",
    "authorized": "Disbursement authorized",
    "overdue": "Overdue: {step}",
    "funding_failed": "Funding failed",
    "payment_failed": "Payment failed: invoice {invoice}",
}


#: the width of ``outbox.subject``
SUBJECT_WIDTH = 300
_SPACES = re.compile(r"\s+")


#: characters :func:`header_text` and :func:`body_text` change: C0 and C1 controls (category Cc),
#: CR, the line and paragraph separators (Zl, Zp) and lone surrogates (Cs); text without any
#: (nearly all of it) is returned as it is, without a per-character pass
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNSAFE_IN_BODY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def header_text(value: str) -> str:
    """``value`` safe in a header: one line, encodable. A CR or LF in a header value would
    let text (a step name, a status) start a header of its own (``Bcc:``); Python's email
    package refuses such a value, so one bad subject would also make its email unsendable.
    Every control, line- or paragraph-separator character becomes a space (runs collapse),
    and a lone surrogate becomes U+FFFD, which UTF-8 cannot carry."""
    if _UNSAFE.search(value) is None:
        return _SPACES.sub(" ", value).strip()
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cs":
            out.append("\ufffd")
        else:
            out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()


def body_text(value: str) -> str:
    """``value`` safe in a plain-text body: line breaks kept as LF, other control characters
    dropped, lone surrogates as U+FFFD — so rendering never writes a message that cannot be sent."""
    if _UNSAFE_IN_BODY.search(value) is None:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            out.append("\ufffd")
        elif category in ("Zl", "Zp"):
            out.append("\n")
        elif category == "Cc" and ch not in "\n\t":
            continue
        else:
            out.append(ch)
    return "".join(out)


#: an email address inside free text (a server reply quoting its recipient)
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'*][^\s<>()\[\],;:\"']*@[^\s<>()\[\],;:\"']+")


def mask_address(address: str) -> str:
    """``c***@gc.example``: enough for an operator to see which domain refused it, not who."""
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if at and local else "***"


def mask_addresses(text: str) -> str:
    """``text`` with every email address in it masked (server replies quote the recipient)."""
    return _ADDRESS.sub(lambda m: mask_address(m.group(0)), text)


def _subject_line(event: str, step: str | None, details: Mapping[str, Any], subject: Subject) -> str:
    template = _SUBJECTS.get(event, event.replace("_", " ").capitalize())
    action = str(details.get("action", "changed")).replace("_", " ")
    status = details.get("status") or ("approved" if details.get("outcome") == "success" else "rejected")
    head = header_text(template.format(step=step or "", action=action, status=status,
                                       invoice=details.get("invoice") or "?"))
    tail = f" — disbursement {subject.disbursement_id[:8]} ({format_money(subject.amount)})"
    lead = "[payroute] [TEST] " if subject.sandbox else "[payroute] "  # ROLL-4: a sandbox email says so first
    room = SUBJECT_WIDTH - len(lead) - len(tail)
    if len(head) > room:  # a long step name must not make the state change fail on the column width
        head = head[:room - 1].rstrip() + "…"
    return f"{lead}{head}{tail}"


def _body(event: str, step: str | None, details: Mapping[str, Any], subject: Subject, name: str) -> str:
    lines = [f"Hello {name},", ""]
    if subject.sandbox:
        lines += ["THIS IS A TEST (sandbox): no money moves.", ""]  # ROLL-4
    what = {
        "step_entered": f"The disbursement is waiting at \u201c{step}\u201d.",
        "blocked": f"The workflow is blocked at \u201c{step}\u201d: no eligible user can answer. "
                   "The workflow manager can add assignees or restart it.",
        "assignees_added": f"You were added as an assignee of \u201c{step}\u201d.",
        "manager_action": f"The workflow manager took an action: {details.get('action', '')}.",
        "end_reached": f"The workflow ended at \u201c{step}\u201d.",
        "approved": "The disbursement is approved and waiting for authorization.",
        "canceled": "The disbursement was canceled.",
        "authorized": "The disbursement was authorized: its drawdown is requested from the funding account "
                      f"for {format_money(subject.amount)}, to be asked of the bank on "
                      f"{details.get('request_date', 'the next banking day')}; the payees are paid once it settles.",
        "overdue": f"\u201c{step}\u201d is overdue and still waits for your answer.",
        "funding_failed": "The drawdown from the funding account failed, so no payee was paid. The invoices are "
                          "released: a new disbursement is needed to pay them (nothing retries by itself).",
        "payment_failed": f"The payment of invoice {details.get('invoice') or '?'} failed at the bank. Its funds "
                          "stay in the deposit account and the invoice stays reserved; a Payments Admin can "
                          "re-issue the payment to the payee's current designated account.",
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


@dataclass(frozen=True)
class Message:
    """One email event to queue: its recipients are user ids."""

    event: str
    recipients: Sequence[str]
    step: str | None = None
    details: Mapping[str, Any] | None = None
    dedupe_key: str | None = None


def outbox_rows(session: Session, *, now: datetime, subject: Subject, messages: Sequence[Message],
                known: Mapping[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The outbox rows of ``messages``: one per recipient user (so each is retried and counted on
    its own). ``known`` (user id → (email, name)) are users the caller read already in this
    transaction; the others are looked up in one query (none, on a workflow's hot path)."""
    wanted = list(dict.fromkeys(u for m in messages for u in m.recipients))
    if not wanted:
        return []
    users = {u: known[u] for u in wanted if u in known} if known else {}
    missing = [u for u in wanted if u not in users]
    if missing:
        users.update({uid: (email, name) for uid, email, name in session.execute(
            select(User.id, User.email, User.name).where(User.id.in_(missing)))})
    rows = []
    for m in messages:
        details = m.details or {}
        for uid in dict.fromkeys(m.recipients):
            if uid not in users:
                continue
            email, name = users[uid]
            rows.append({
                "id": new_id(), "company_id": subject.company_id, "created_at": now, "event": m.event,
                "recipients": [email], "subject": _subject_line(m.event, m.step, details, subject),
                "body": body_text(_body(m.event, m.step, details, subject, name)),
                "dedupe_key": f"{m.dedupe_key}:{uid}" if m.dedupe_key else None,
                "status": "pending", "attempts": 0, "next_attempt_at": now, "requeued_attempts": 0,
            })
    return rows


def enqueue_many(session: Session, *, now: datetime, subject: Subject, messages: Sequence[Message],
                 known: Mapping[str, tuple[str, str]] | None = None) -> int:
    """Queue every message's emails (:func:`outbox_rows`) in one INSERT; returns the rows written."""
    rows = outbox_rows(session, now=now, subject=subject, messages=messages, known=known)
    if rows:
        session.connection().execute(insert(OutboxEmail.__table__).values(rows))  # one statement
    return len(rows)


#: AUD-6: emails about a user's own account, not about a disbursement (MFA-11, MFA-15)
_ACCOUNT_EMAILS: dict[str, tuple[str, str]] = {
    "mfa_locked_out": ("Your account was locked after 10 failed codes",
                       "Ten one-time codes in a row were wrong, so you were signed out everywhere. Sign in again "
                       "with your password and a code from your authenticator app. If these attempts were not "
                       "yours, tell your Payments Admin at once."),
    "mfa_reset": ("Your two-factor authentication was reset",
                  "An administrator reset your two-factor authentication, and you were signed out everywhere. "
                  "At your next sign-in you will set up your authenticator app again; until then you cannot "
                  "authorize payments or change bank accounts."),
}


def enqueue_account_email(session: Session, *, now: datetime, company_id: str, company_name: str, user_id: str,
                          event: str, details: Mapping[str, Any] | None = None) -> int:
    """Queue an email to ``user_id`` about their own account (``event`` in :data:`_ACCOUNT_EMAILS`).
    Like every email, it says what happened, never a secret or a code."""
    title, text = _ACCOUNT_EMAILS[event]
    found = session.execute(select(User.email, User.name).where(User.id == user_id)).first()
    if found is None:
        return 0
    lines = [f"Hello {found.name},", "", text, "", f"Company: {company_name}"]
    if details and details.get("reason"):
        lines.append(f"Reason: {details['reason']}")
    lines += ["", "— payroute"]
    session.execute(insert(OutboxEmail), [{
        "id": new_id(), "company_id": company_id, "created_at": now, "event": event, "recipients": [found.email],
        "subject": f"[payroute] {header_text(title)}", "body": body_text("\n".join(lines)), "dedupe_key": None,
        "status": "pending", "attempts": 0, "next_attempt_at": now}])
    return 1


def enqueue(session: Session, *, now: datetime, subject: Subject, event: str, recipients: Sequence[str],
            step: str | None = None, details: Mapping[str, Any] | None = None,
            dedupe_key: str | None = None) -> int:
    """Queue one email event (see :func:`enqueue_many`); returns the number of rows written."""
    return enqueue_many(session, now=now, subject=subject,
                        messages=[Message(event, recipients, step, details, dedupe_key)])
