"""The audit log: append-only, hash-chained entries (AUD-1..AUD-4, AUD-7).

Each chain (one per disbursement, one per company for company-level actions)
is a sequence ``seq = 1, 2, …``; an entry's hash covers its own canonical
content and the previous entry's hash, so altering, deleting or reordering
any entry breaks every hash after it. :func:`verify` walks the chains and
reports the first broken entry of each.

Entries are written by the caller's transaction (``session``), so a state
change and its audit entry commit together or not at all. The one exception
is an audited refusal (AUD-4, :func:`append_refusal`): the refused command
rolls back, and its entry is written afterwards in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from .errors import DomainError
from .store.tables import AuditEntry, AuditHead, Company

GENESIS = "0" * 64


def disbursement_chain(disbursement_id: str) -> str:
    return f"disbursement:{disbursement_id}"


def company_chain(company_id: str) -> str:
    return f"company:{company_id}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable in an audit entry: {type(value).__name__}")


def plain(value: Any) -> Any:
    """JSON-ready copy (Decimals as strings) — what is stored is what is hashed."""
    return json.loads(json.dumps(value, default=_json_default))


def _utc(moment: datetime) -> str:
    # SQLite hands datetimes back naive; they were written as UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


_HASHED = ("chain", "seq", "company_id", "at", "actor_id", "action", "object_type", "object_id", "before",
           "after", "reason", "rules", "version_id", "content_hash", "details")


def _hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    body = {k: fields.get(k) for k in _HASHED}
    body["at"] = _utc(body["at"])
    body["rules"] = list(body["rules"] or [])
    body["details"] = body["details"] or {}
    body["prev_hash"] = prev_hash
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """The hash a stored entry must carry, given the previous entry's hash."""
    return _hash({k: getattr(entry, k) for k in _HASHED}, prev_hash)


@dataclass(frozen=True)
class Record:
    """One audit entry to write; the chain position and hashes are filled in by :func:`append_many`."""

    action: str
    object_type: str
    object_id: str
    actor_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str | None = None
    rules: Sequence[str] = ()
    version_id: str | None = None
    content_hash: str | None = None
    details: Mapping[str, Any] | None = None


def append_many(session: Session, *, chain: str, company_id: str, at: datetime,
                records: Sequence[Record]) -> None:
    """Append ``records`` to ``chain`` inside the caller's transaction, in three statements.

    The caller holds the lock of the object the chain belongs to, so the head
    read here is current; the unique (chain, seq) constraint is the backstop.
    Written with Core, not the ORM: this runs on every state change.
    """
    if not records:
        return
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    rows = []
    for r in records:
        seq += 1
        row = {
            "chain": chain, "seq": seq, "company_id": company_id, "at": at, "actor_id": r.actor_id,
            "action": r.action, "object_type": r.object_type, "object_id": r.object_id,
            "before": plain(dict(r.before)) if r.before is not None else None,
            "after": plain(dict(r.after)) if r.after is not None else None,
            "reason": r.reason, "rules": list(r.rules), "version_id": r.version_id,
            "content_hash": r.content_hash, "details": plain(dict(r.details or {})), "prev_hash": prev,
        }
        row["hash"] = prev = _hash(row, prev)
        rows.append(row)
    session.execute(insert(AuditEntry), rows)
    if head is None:
        session.execute(insert(AuditHead).values(chain=chain, seq=seq, hash=prev))
    else:
        session.execute(update(AuditHead).where(AuditHead.chain == chain).values(seq=seq, hash=prev))


def append(session: Session, *, chain: str, company_id: str, at: datetime, actor_id: str | None,
           action: str, object_type: str, object_id: str, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None, reason: str | None = None,
           rules: Sequence[str] = (), version_id: str | None = None,
           content_hash: str | None = None, details: Mapping[str, Any] | None = None) -> None:
    """Append one entry (see :func:`append_many`)."""
    append_many(session, chain=chain, company_id=company_id, at=at, records=[Record(
        action, object_type, object_id, actor_id, before, after, reason, rules, version_id, content_hash,
        details)])


#: The width of ``audit_entries.object_id`` and ``actor_id``; a longer id (one
#: a caller made up) goes into the entry's details instead.
_ID_WIDTH = 32


def append_refusal(session: Session, *, at: datetime, error: DomainError) -> bool:
    """Record an audited refusal (AUD-4) on its company's chain; False if the company does not exist.

    Runs in a fresh transaction after the refused command rolled back, so it
    takes the company row lock itself (the chain's head is read under it).
    The entry names the actor, what they attempted, on which object, the
    code, rule and message, and the missing permission: never the request's
    values, which may hold secrets.
    """
    refusal = error.audit
    if refusal is None:
        raise ValueError("not an audited refusal")
    if session.scalars(select(Company.id).where(Company.id == refusal.company_id).with_for_update()).first() is None:
        return False
    details: dict[str, Any] = {"attempted": refusal.attempted, "code": error.code}
    if error.missing is not None:
        details["missing_permission"] = error.missing
    object_id, actor_id = refusal.object_id, refusal.actor_id
    if len(object_id) > _ID_WIDTH:
        details["object_id"], object_id = object_id[:200], ""
    if actor_id is not None and len(actor_id) > _ID_WIDTH:
        details["actor_id"], actor_id = actor_id[:200], None
    append(session, chain=company_chain(refusal.company_id), company_id=refusal.company_id, at=at,
           actor_id=actor_id, action="refused", object_type=refusal.object_type, object_id=object_id,
           reason=error.message, rules=(error.rule,) if error.rule else (), details=details)
    return True


@dataclass(frozen=True)
class Break:
    """The first entry of a chain that does not verify, and why."""

    chain: str
    seq: int
    entry_id: int | None
    reason: str


def _verify_chain(chain: str, entries: Iterable[AuditEntry], head: AuditHead | None) -> Break | None:
    prev = GENESIS
    expected_seq = 1
    last: AuditEntry | None = None
    for entry in entries:
        last = entry
        if entry.seq > expected_seq:
            return Break(chain, expected_seq, None, f"entry {expected_seq} is missing (deleted)")
        if entry.seq < expected_seq:
            return Break(chain, entry.seq, entry.id, "entries are duplicated or out of order")
        if entry.prev_hash != prev:
            return Break(chain, entry.seq, entry.id, "its link to the previous entry is broken "
                         "(an entry before it was altered, deleted or reordered)")
        if entry_hash(entry, prev) != entry.hash:
            return Break(chain, entry.seq, entry.id, "its content was altered after it was written")
        prev = entry.hash
        expected_seq += 1
    if head is not None and (last is None or head.seq != last.seq or head.hash != last.hash):
        missing = (last.seq + 1) if last is not None else 1
        return Break(chain, missing, None, f"entries from {missing} to {head.seq} were deleted")
    return None


def verify(session: Session, chain: str | None = None) -> list[Break]:
    """Verify every chain (or one); return the first break of each broken chain."""
    chains = [chain] if chain else sorted(
        set(session.scalars(select(AuditEntry.chain).group_by(AuditEntry.chain)))
        | set(session.scalars(select(AuditHead.chain))))
    breaks = []
    for name in chains:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.chain == name).order_by(AuditEntry.seq, AuditEntry.id))
        found = _verify_chain(name, entries, session.get(AuditHead, name))
        if found is not None:
            breaks.append(found)
    return breaks


def count(session: Session, chain: str | None = None) -> int:
    q = select(func.count(AuditEntry.id))
    if chain:
        q = q.where(AuditEntry.chain == chain)
    return int(session.scalar(q) or 0)


def entries(session: Session, chain: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.chain == chain)
                                .order_by(AuditEntry.seq)))
