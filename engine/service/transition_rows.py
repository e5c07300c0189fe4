"""A workflow transition as rows: everything it reads in one locked statement, everything it
writes in one statement per table (issue 11: approvals at database speed).

Why a module of its own: a respond-and-advance through the ORM cost 18 statements and
~11 ms of client CPU, 40-50 times what the database needs for it. This is the path every
approval takes, and the money commands copy it:

- :func:`read` is one ``SELECT … FOR UPDATE OF d, i, h``: the disbursement, its active
  instance (whose row holds the whole state, :mod:`.instance_store`) and its audit chain's
  head, locked; with them, unlocked, the company, the project, the company's eligible users
  with their addresses (ROLE-8), the creator and manager, and the payment lines with their
  invoices' approvers (COND-5 facts, AUTH-5). The workflow's compiled form comes from the
  per-process cache (``Services.compiled``, keyed by content hash), so the version row is not read.
- the writes (:func:`write_instance`, :func:`write_disbursement`; the audit entries and the
  outbox rows are :func:`engine.service.audit.append_many` and
  :func:`engine.outbox.emails.enqueue_many` with what was read) are one UPDATE of the
  instance, one UPDATE of the disbursement, one multi-row INSERT of audit entries, one
  UPDATE of the chain head and one multi-row INSERT into the outbox: 6 statements in all.

Read-committed and the lock: PostgreSQL re-reads a row it waited to lock (the locked rows
come back as the winner left them), but the unlocked parts of the same statement (the
subqueries) were read before the wait. The statement therefore also reads the disbursement's
and the instance's versions as its snapshot saw them; when they differ from the locked rows'
the lock was won after a change, and the statement runs again, now with the lock held, so
everything it returns is current. Anything that changes what a transition reads bumps one
of the two versions: a workflow command or an edit the disbursement's, a STEP-2 recheck
(a role revoked, a user deactivated) the instance's. SQLite serialises writers at BEGIN, so
there the first read is always current.

None of it checks a permission or commits: these are helpers inside the command's
transaction (``instances.respond``), which checked its actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping

import msgspec
from sqlalchemy import JSON, bindparam, text, update
from sqlalchemy.engine import Connection

from engine.errors import DomainError
from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER
from engine.service.audit import ChainRows
from engine.service.instance_store import row_values
from engine.runtime.instance import InstanceState
from engine.store.tables import Disbursement, Instance


@dataclass(frozen=True)
class CompanyRow:
    """What a transition reads of the company (the same names as :class:`engine.store.tables.Company`)."""

    id: str
    name: str
    time_zone: str
    holidays: list[Any]
    segregation: str | None


@dataclass
class DisbursementRow:
    """What a transition reads of the locked disbursement (the names of :class:`Disbursement`)."""

    id: str
    company_id: str
    lock_version: int
    canceled_at: datetime | None
    authorized_at: datetime | None
    workflow_status: str | None
    created_by: str | None
    project_id: str
    #: ROLL-4: its emails are marked as tests
    sandbox: bool = False


@dataclass(frozen=True)
class ProjectRow:
    id: str
    name: str
    office: str | None
    sector: str | None
    start_date: date | None
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class InstanceRow:
    """The locked active instance (the names of :class:`Instance`); ``state`` is its stored list."""

    id: str
    status: str
    state: list[Any]
    snapshot: Mapping[str, Any]
    content_hash: str
    version_id: str
    lock_version: int
    first_seq: int
    last_seq: int
    blocked: bool
    end_step: str | None
    outcome: str | None
    ended_at: datetime | None


@dataclass(frozen=True)
class Item:
    """A payment line: amount and retainage released (COND-5), its invoice and who approved it (AUTH-5)."""

    position: int
    amount: Decimal
    retainage_released: Decimal
    invoice_id: str
    approved_by: str | None


@dataclass(frozen=True)
class Loaded:
    company: CompanyRow
    disbursement: DisbursementRow
    instance: InstanceRow
    project: ProjectRow
    #: the chain head (seq, hash), read under the lock
    head: tuple[int, str]
    #: ROLE-8: the company's active Admins and Disbursers
    eligible: frozenset[str]
    admins: tuple[str, ...]
    #: user id → (email, name): the eligible users, the creator and the manager
    people: Mapping[str, tuple[str, str]]
    items: tuple[Item, ...]


def _cents(value: Any) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment


#: ``name: expression`` of everything :func:`read` returns, as one JSON object: one column to
#: describe, decode and convert instead of ~40 (the driver's and SQLAlchemy's per-column work
#: was a fifth of a transition's client CPU). ``{json}`` wraps a JSON column (SQLite keeps JSON
#: as text, which an object would otherwise hold as a string).
_FIELDS = (
    ("d_id", "d.id"), ("d_company", "d.company_id"), ("d_version", "d.lock_version"), ("canceled_at", "d.canceled_at"),
    ("authorized_at", "d.authorized_at"), ("workflow_status", "d.workflow_status"), ("created_by", "d.created_by"),
    ("project_id", "d.project_id"), ("d_sandbox", "d.sandbox"), ("c_name", "c.name"), ("time_zone", "c.time_zone"),
    ("holidays", "{json}(c.holidays)"), ("segregation", "c.segregation"), ("i_id", "i.id"), ("status", "i.status"),
    ("state", "{json}(i.state)"), ("snapshot", "{json}(i.snapshot)"), ("content_hash", "i.content_hash"),
    ("version_id", "i.version_id"), ("i_version", "i.lock_version"), ("first_seq", "i.first_seq"),
    ("last_seq", "i.last_seq"), ("blocked", "i.blocked"), ("end_step", "i.end_step"), ("outcome", "i.outcome"),
    ("ended_at", "i.ended_at"), ("head_seq", "h.seq"), ("head_hash", "h.hash"), ("p_name", "p.name"),
    ("office", "p.office"), ("sector", "p.sector"), ("start_date", "p.start_date"),
    ("attributes", "{json}(p.attributes)"),
    ("eligible", "(SELECT {agg}(g.user_id, u.email, u.name, g.permission)) FROM grants g"
                 " JOIN memberships m ON m.company_id = g.company_id AND m.user_id = g.user_id AND m.active = :yes"
                 " JOIN users u ON u.id = g.user_id"
                 " WHERE g.company_id = d.company_id AND g.permission IN (:admin, :disburser))"),
    ("others", "(SELECT {agg}(u.id, u.email, u.name)) FROM users u WHERE u.id = d.created_by OR u.id = {manager})"),
    ("items", "(SELECT {agg}(di.position, di.amount, di.retainage_released, di.invoice_id, inv.approved_by))"
              " FROM disbursement_items di JOIN invoices inv ON inv.id = di.invoice_id"
              " WHERE di.disbursement_id = d.id)"),
    ("d_seen", "(SELECT d2.lock_version FROM disbursements d2 WHERE d2.id = d.id)"),
    ("i_seen", "(SELECT i2.lock_version FROM workflow_instances i2 WHERE i2.id = i.id)"),
)

_SQL = """SELECT {object}({fields}) AS loaded
  FROM disbursements d
  JOIN companies c ON c.id = d.company_id
  JOIN workflow_instances i ON i.disbursement_id = d.id AND i.status = 'active'
  JOIN audit_heads h ON h.chain = :chain
  JOIN projects p ON p.id = d.project_id
 WHERE d.id = :disbursement AND d.company_id = :company
{lock}"""

_DIALECT_SQL = {
    "postgresql": dict(object="json_build_object", agg="json_agg(json_build_array", json="",
                       manager="(i.snapshot->>'manager')", lock="FOR UPDATE OF d, i, h"),
    "sqlite": dict(object="json_object", agg="json_group_array(json_array", json="json",
                   manager="json_extract(i.snapshot, '$.manager')", lock=""),
}

_STATEMENTS: dict[str, Any] = {}


def _statement(dialect: str) -> Any:
    found = _STATEMENTS.get(dialect)
    if found is None:
        parts = _DIALECT_SQL.get(dialect)
        if parts is None:
            return None
        fields = ", ".join(f"'{name}', {expr.format(**parts)}" for name, expr in _FIELDS)
        found = _STATEMENTS[dialect] = text(_SQL.format(fields=fields, **parts)).columns(loaded=JSON())
    return found


def _moment(value: str | None) -> datetime | None:
    """A timestamp as JSON holds it (PostgreSQL: ISO with offset; SQLite: its stored text, UTC)."""
    return _aware(datetime.fromisoformat(value)) if value else None


def read(conn: Connection, company_id: str, disbursement_id: str) -> Loaded | None:
    """The disbursement with its active instance and chain head, locked, and all a transition
    reads besides; None when it has no active instance (or is not the company's, or the
    backend is neither PostgreSQL nor SQLite): the caller then takes the general path."""
    statement = _statement(conn.dialect.name)
    if statement is None:
        return None
    params = {"disbursement": disbursement_id, "company": company_id, "chain": f"disbursement:{disbursement_id}",
              "yes": True, "admin": PAYMENTS_ADMIN, "disburser": PAYMENTS_DISBURSER}
    row = conn.execute(statement, params).scalar()
    if row is not None and (row["d_seen"] != row["d_version"] or row["i_seen"] != row["i_version"]):
        row = conn.execute(statement, params).scalar()  # the lock is held now: this read is current
    if row is None:
        return None
    eligible_rows = row["eligible"] or ()
    people = {u: (email, name) for u, email, name, _perm in eligible_rows}
    people.update({u: (email, name) for u, email, name in row["others"] or ()})
    start = row["start_date"]
    return Loaded(
        company=CompanyRow(row["d_company"], row["c_name"], row["time_zone"], list(row["holidays"] or ()),
                           row["segregation"]),
        disbursement=DisbursementRow(row["d_id"], row["d_company"], int(row["d_version"]), _moment(row["canceled_at"]),
                                     _moment(row["authorized_at"]), row["workflow_status"], row["created_by"],
                                     row["project_id"], bool(row["d_sandbox"])),
        instance=InstanceRow(row["i_id"], row["status"], list(row["state"] or ()), dict(row["snapshot"] or {}),
                             row["content_hash"], row["version_id"], int(row["i_version"]), int(row["first_seq"]),
                             int(row["last_seq"]), bool(row["blocked"]), row["end_step"], row["outcome"],
                             _moment(row["ended_at"])),
        project=ProjectRow(row["project_id"], row["p_name"], row["office"], row["sector"],
                           date.fromisoformat(start) if start else None, dict(row["attributes"] or {})),
        head=(int(row["head_seq"]), row["head_hash"]),
        eligible=frozenset(u for u, *_ in eligible_rows),
        admins=tuple(sorted({u for u, _e, _n, perm in eligible_rows if perm == PAYMENTS_ADMIN})),
        people=people,
        items=tuple(sorted((Item(int(pos), _cents(amount), _cents(retainage), invoice, approver)
                            for pos, amount, retainage, invoice, approver in row["items"] or ()),
                           key=lambda it: it.position)),
    )


_INSTANCES = Instance.__table__
_DISBURSEMENTS = Disbursement.__table__


_INSTANCE_COLUMNS = ("status", "blocked", "end_step", "outcome", "ended_at", "state", "first_seq", "last_seq",
                     "open_seq", "open_step", "open_entered_at", "open_due", "open_assignees", "open_replaced",
                     "open_answered", "assigned", "lock_version")
_MOVE_INSTANCE = (update(_INSTANCES)
                  .where(_INSTANCES.c.id == bindparam("b_id"), _INSTANCES.c.lock_version == bindparam("b_seen"))
                  .values({name: bindparam(f"b_{name}") for name in _INSTANCE_COLUMNS}))


def write_instance(conn: Connection, inst: InstanceRow, new: InstanceState, now: datetime) -> None:
    """The instance row at ``new``, in one UPDATE guarded by the version read under the lock."""
    ended_at = inst.ended_at if inst.ended_at is not None or new.status == "active" else now
    values = row_values(new, ended_at)
    values["lock_version"] = inst.lock_version + 1
    params = {f"b_{k}": v for k, v in values.items()}
    params["b_id"], params["b_seen"] = inst.id, inst.lock_version
    if conn.execute(_MOVE_INSTANCE, params).rowcount != 1:
        raise DomainError("state_conflict", "another request changed this object at the same time; reload and retry",
                          rule="GEN-7")


_MOVE_DISBURSEMENT = (update(_DISBURSEMENTS)
                      .where(_DISBURSEMENTS.c.id == bindparam("d"), _DISBURSEMENTS.c.lock_version == bindparam("seen"))
                      .values(workflow_status=bindparam("status"), updated_at=bindparam("now"),
                              lock_version=bindparam("version")))


def write_disbursement(conn: Connection, d: DisbursementRow, status: str, now: datetime) -> int:
    """The disbursement's workflow status (ST-1) and its next version (GEN-7, the ETag), in one
    UPDATE guarded by the version read under the lock; returns the new version."""
    version = d.lock_version + 1
    done = conn.execute(_MOVE_DISBURSEMENT, {"d": d.id, "seen": d.lock_version, "status": status, "now": now,
                                             "version": version})
    if done.rowcount != 1:
        raise DomainError("state_conflict", "another request changed this object at the same time; reload and retry",
                          rule="GEN-7")
    d.lock_version, d.workflow_status = version, status
    return version


# ---------------------------------------------------------------- PostgreSQL: every write in one statement


def writes_in_one(conn: Connection) -> bool:
    """Whether :func:`write_all` can run here: PostgreSQL's data-modifying ``WITH`` clauses."""
    return conn.dialect.name == "postgresql"


_AUDIT_COLUMNS = ("chain", "seq", "company_id", "at", "actor_id", "action", "object_type", "object_id", "before",
                  "after", "reason", "rules", "version_id", "content_hash", "details", "prev_hash", "hash", "mac")
_OUTBOX_COLUMNS = ("id", "company_id", "created_at", "event", "recipients", "subject", "body", "dedupe_key", "status",
                   "attempts", "next_attempt_at", "requeued_attempts")
_JSON_COLUMNS = frozenset({"before", "after", "rules", "details", "recipients", "state", "open_assignees",
                           "open_replaced", "open_answered", "assigned"})


def _rows_from_json(table: str, columns: tuple[str, ...]) -> str:
    cols = ", ".join(columns)
    return f"INSERT INTO {table} ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::{table}, %s::json)"


_SETS = ", ".join(f"{c} = %s::json" if c in _JSON_COLUMNS else f"{c} = %s" for c in _INSTANCE_COLUMNS)

#: The one statement of :func:`write_all`. Its shape never changes, whatever the number of audit
#: entries and emails (each table's rows travel as one JSON array), so psycopg parses it once and
#: PostgreSQL prepares it once per connection; its ~30 parameters stay under psycopg's cache limit.
_WRITE_ALL_SQL = (
    f"WITH i AS (UPDATE workflow_instances SET {_SETS} WHERE id = %s AND lock_version = %s RETURNING 1),\n"
    "     d AS (UPDATE disbursements SET workflow_status = %s, updated_at = %s, lock_version = %s\n"
    "            WHERE id = %s AND lock_version = %s RETURNING 1),\n"
    "     h AS (UPDATE audit_heads SET seq = %s, hash = %s, mac = %s WHERE chain = %s AND seq = %s RETURNING 1),\n"
    f"     a AS ({_rows_from_json('audit_entries', _AUDIT_COLUMNS)} RETURNING 1),\n"
    f"     o AS ({_rows_from_json('outbox', _OUTBOX_COLUMNS)} RETURNING 1)\n"
    "SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM d), (SELECT count(*) FROM h), (SELECT count(*) FROM a)")


_encode = msgspec.json.Encoder().encode  # JSON parameters only; audit hashes keep their own encoder


def _param(column: str, value: Any) -> Any:
    return _encode(value).decode() if column in _JSON_COLUMNS else value


def write_all(conn: Connection, inst: InstanceRow, new: InstanceState, d: DisbursementRow, status: str,
              now: datetime, entries: ChainRows, outbox: list[dict[str, Any]]) -> int:
    """The whole transition in one statement on PostgreSQL: the instance, the disbursement (its
    status and next version), the chain head, the audit entries and the outbox rows, each part
    guarded like its own statement would be (the versions and the head's seq read under the
    lock; the unique (chain, seq) of audit entries). Returns the disbursement's new version.

    Why one statement: each statement costs a round trip and the driver's and SQLAlchemy's
    work on the client, which is most of a transition's cost; the database does the same work
    either way. Sent with ``exec_driver_sql``, so it is counted and logged like any other."""
    if entries.seen == 0:
        raise ValueError("write_all moves an existing chain head (every disbursement's chain starts at its creation)")
    ended_at = inst.ended_at if inst.ended_at is not None or new.status == "active" else now
    values = row_values(new, ended_at)
    values["lock_version"] = inst.lock_version + 1
    version = d.lock_version + 1
    seq, last, mac = entries.head
    params: list[Any] = [_param(c, values[c]) for c in _INSTANCE_COLUMNS]
    params += [inst.id, inst.lock_version, status, now, version, d.id, d.lock_version,
               seq, last, mac, entries.chain, entries.seen,
               _encode(entries.rows).decode(), _encode(outbox).decode()]
    counts = conn.exec_driver_sql(_WRITE_ALL_SQL, tuple(params)).one()
    if tuple(counts) != (1, 1, 1, len(entries.rows)):
        raise DomainError("state_conflict", "another request changed this object at the same time; reload and retry",
                          rule="GEN-7")
    d.lock_version, d.workflow_status = version, status
    return version


__all__ = ["CompanyRow", "DisbursementRow", "InstanceRow", "Item", "Loaded", "ProjectRow", "read", "write_all",
           "write_disbursement", "write_instance", "writes_in_one"]
