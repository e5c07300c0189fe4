"""The audit log: append-only, hash-chained entries (AUD-1..AUD-4, AUD-7).

Each chain (one per disbursement, one per company for company-level actions)
is a sequence ``seq = 1, 2, …``; an entry's hash covers its own canonical
content and the previous entry's hash, so altering, deleting or reordering
any entry breaks every hash after it. :func:`verify` walks the chains and
reports the first broken entry of each.

The chain alone has no secret: someone who can write the database could
rewrite an entry and recompute every hash after it, or delete a chain's
newest entries with its head. So each entry also carries a MAC
(HMAC-SHA256 of its hash under the audit key, which is kept outside the
database, engine/security/keys.py), and so does each chain's head; :func:`verify`
also requires a chain for every company and disbursement that exists, and
compares the log with a signed :class:`Checkpoint` of every chain's head
exported earlier (``payroute audit checkpoint``), which shows deleted
chains, truncated tables and rewound heads. What this does and does not
protect against: docs/audit.md.

Entries are written by the caller's transaction (``session``), so a state
change and its audit entry commit together or not at all. The one exception
is an audited refusal (AUD-4, :func:`append_refusal`): the refused command
rolls back, and its entry is written afterwards in a transaction of its own.

Nothing here is a user command, so nothing takes ``(svc, actor, company_id)``: the
writers (:func:`append`, :func:`append_many`, :func:`append_refusal`) are internal helpers
inside the caller's transaction, and :func:`verify`, :func:`checkpoint`, :func:`count` and
:func:`entries` are operator tools (``payroute audit verify|checkpoint``) or helpers of a
query that checked its viewer (:func:`engine.service.history.history`, ROLE-9).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import String, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.security import keys
from engine.store.tables import AuditEntry, AuditHead, BankAccount, Company, Disbursement

if TYPE_CHECKING:
    from engine.store.db import Database

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


_PLAIN_LEAVES = (str, int, bool, type(None))


class _NotPlain(Exception):
    pass


def _copy_plain(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` if it is JSON data already, as json.loads would give it back (str
    keys, lists not tuples, no floats): nearly every audit value is. Raises otherwise."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return value
    if depth < 32 and kind is dict and all(type(k) is str for k in value):
        return {k: _copy_plain(v, depth + 1) for k, v in value.items()}
    if depth < 32 and kind is list:
        return [_copy_plain(v, depth + 1) for v in value]
    raise _NotPlain


def plain(value: Any) -> Any:
    """JSON-ready copy (Decimals as strings) — what is stored is what is hashed. A value that is
    JSON data already is copied without the round trip through the encoder (the hot path's case)."""
    try:
        return _copy_plain(value)
    except _NotPlain:
        pass
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


def entry_hash(entry: Any, prev_hash: str) -> str:
    """The hash a stored entry (an :class:`AuditEntry` or a row of its table) must carry, given the previous entry's hash."""
    return _hash({k: getattr(entry, k) for k in _HASHED}, prev_hash)


def entry_mac(key: keys.Key, entry_hash: str) -> str:
    """The MAC an entry with hash ``entry_hash`` must carry: its hash covers its content and the
    previous entry's hash, so the MAC binds both, and no one without the key can make one."""
    return hmac.digest(key.derive("audit entry"), entry_hash.encode("ascii"), "sha256").hex()


def head_mac(key: keys.Key, chain: str, seq: int, head_hash: str) -> str:
    """The MAC of a chain's head (chain, seq, hash): a head moved back to an older entry does not verify."""
    return hmac.digest(key.derive("audit head"), f"{chain}\n{seq}\n{head_hash}".encode("utf-8"), "sha256").hex()


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


@dataclass(frozen=True)
class ChainRows:
    """Entries to append to a chain and where they move its head: what :func:`append_many`
    writes, for a caller that writes them in a statement of its own (the hot path)."""

    chain: str
    rows: list[dict[str, Any]]
    #: the head's seq before (0: the chain has no head yet) and (seq, hash, mac) after
    seen: int
    head: tuple[int, str, str]


#: ROLL-4: the key an entry about a sandbox record carries in its details (``True``; absent otherwise)
SANDBOX = "sandbox"


def is_sandbox(details: Mapping[str, Any] | None) -> bool:
    """ROLL-4: the entry is about a sandbox disbursement or bank account (marked when written)."""
    return bool(details) and details.get(SANDBOX) is True  # type: ignore[union-attr]


def chain_rows(chain: str, company_id: str, at: datetime, records: Sequence[Record],
               head: tuple[int, str] | None, *, sandbox: bool = False) -> ChainRows:
    """``records`` as rows after ``head`` (seq, hash; None for a new chain), hashed and MACed.

    ``sandbox`` (ROLL-4): the records are about a sandbox record, and each entry's details say
    ``"sandbox": true`` — inside the hashed content, so the mark cannot be stripped or added
    afterwards without breaking the chain. A production entry carries no such key, so entries
    written before the mark existed read and hash exactly as they did."""
    key = keys.audit_key()  # before any write: without a key, nothing is written
    seq, prev = head if head is not None else (0, GENESIS)
    start = seq
    rows = []
    for r in records:
        seq += 1
        details = plain(dict(r.details or {}))
        if sandbox:
            details[SANDBOX] = True
        row = {
            "chain": chain, "seq": seq, "company_id": company_id, "at": at, "actor_id": r.actor_id,
            "action": r.action, "object_type": r.object_type, "object_id": r.object_id,
            "before": plain(dict(r.before)) if r.before is not None else None,
            "after": plain(dict(r.after)) if r.after is not None else None,
            "reason": r.reason, "rules": list(r.rules), "version_id": r.version_id,
            "content_hash": r.content_hash, "details": details, "prev_hash": prev,
        }
        row["hash"] = prev = _hash(row, prev)
        row["mac"] = entry_mac(key, prev)
        rows.append(row)
    return ChainRows(chain, rows, start, (seq, prev, head_mac(key, chain, seq, prev)))


def append_many(session: Session, *, chain: str, company_id: str, at: datetime,
                records: Sequence[Record], head: tuple[int, str] | None = None, sandbox: bool = False) -> None:
    """Append ``records`` to ``chain`` inside the caller's transaction: the head is read (unless
    the caller read it already, ``head`` = its (seq, hash), with the lock of the chain's object),
    the entries go in one multi-row INSERT and the head moves in one UPDATE.

    The caller holds the lock of the object the chain belongs to, so the head
    read here is current; the unique (chain, seq) constraint and the head UPDATE's
    ``WHERE seq = <read>`` are the backstops. Written with Core on the session's
    connection, not the ORM: this runs on every state change.
    """
    if not records:
        return
    keys.audit_key()  # before any read or write: without a key, nothing is written
    conn = session.connection()
    if head is None:
        found = conn.execute(_HEAD_OF, {"chain": chain}).first()
        head = (found[0], found[1]) if found is not None else None
    out = chain_rows(chain, company_id, at, records, head, sandbox=sandbox)
    conn.execute(insert(_ENTRIES).values(out.rows))  # one statement, however many rows
    seq, last, mac = out.head
    if head is None:
        conn.execute(_HEADS.insert().values(chain=chain, seq=seq, hash=last, mac=mac))
    elif conn.execute(_MOVE_HEAD, {"b_chain": chain, "b_seen": out.seen, "b_seq": seq, "b_hash": last,
                                   "b_mac": mac}).rowcount != 1:
        raise DomainError("state_conflict", "another request wrote this audit chain at the same time; reload and retry",
                          rule="GEN-7")


_ENTRIES = AuditEntry.__table__
_HEADS = AuditHead.__table__
_HEAD_OF = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.chain == bindparam("chain"))
_MOVE_HEAD = (update(_HEADS).where(_HEADS.c.chain == bindparam("b_chain"), _HEADS.c.seq == bindparam("b_seen"))
              .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"), mac=bindparam("b_mac")))


def append(session: Session, *, chain: str, company_id: str, at: datetime, actor_id: str | None,
           action: str, object_type: str, object_id: str, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None, reason: str | None = None,
           rules: Sequence[str] = (), version_id: str | None = None,
           content_hash: str | None = None, details: Mapping[str, Any] | None = None,
           sandbox: bool = False) -> None:
    """Append one entry (see :func:`append_many`; ``sandbox`` as :func:`chain_rows`)."""
    append_many(session, chain=chain, company_id=company_id, at=at, records=[Record(
        action, object_type, object_id, actor_id, before, after, reason, rules, version_id, content_hash,
        details)], sandbox=sandbox)


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
           reason=error.message, rules=(error.rule,) if error.rule else (), details=details,
           sandbox=_about_sandbox(session, refusal.company_id, refusal.object_type, object_id))
    return True


def _about_sandbox(session: Session, company_id: str, object_type: str, object_id: str) -> bool:
    """ROLL-4: the refused attempt was on a sandbox disbursement or bank account of the company."""
    model = {"disbursement": Disbursement, "bank_account": BankAccount}.get(object_type)
    if model is None or not object_id:
        return False
    return bool(session.scalar(select(model.sandbox).where(model.id == object_id,  # type: ignore[attr-defined]
                                                           model.company_id == company_id)))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Break:
    """The first entry of a chain that does not verify, and why (``code`` for programs, ``reason`` for people)."""

    chain: str
    seq: int
    entry_id: int | None
    reason: str
    code: str = "broken"


@dataclass(frozen=True)
class Checkpoint:
    """Every chain's head at one moment, signed with the audit key, kept by an operator outside the database.

    A later :func:`verify` against it shows what the chains alone cannot:
    a chain deleted whole, both audit tables truncated, the newest entries
    deleted with a head rewound to an older (validly MACed) state.
    """

    created_at: str
    key_id: str
    development_key: bool
    entries: int
    #: chain -> (seq, hash) of its newest entry
    heads: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    FORMAT = "payroute-audit-checkpoint"
    VERSION = 1

    def _body(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "version": self.VERSION, "created_at": self.created_at,
                "key_id": self.key_id, "development_key": self.development_key, "entries": self.entries,
                "chains": [{"chain": c, "seq": seq, "hash": h} for c, (seq, h) in sorted(self.heads.items())]}

    def dumps(self, key: keys.Key) -> str:
        """The signed checkpoint file (JSON): the body and an HMAC-SHA256 of its canonical form."""
        body = self._body()
        body["signature"] = _checkpoint_signature(key, body)
        return json.dumps(body, indent=1, ensure_ascii=True) + "\n"


class CheckpointError(ValueError):
    """A checkpoint file that is not one (not JSON, wrong format or fields); its signature is checked apart."""


def _checkpoint_signature(key: keys.Key, body: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    raw = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.digest(key.derive("audit checkpoint"), raw.encode("ascii"), "sha256").hex()


def read_checkpoint(text: str, key: keys.Key) -> tuple[Checkpoint, str | None]:
    """The checkpoint in ``text`` and, if its signature does not verify under ``key``, why.

    A checkpoint whose signature fails must not be compared with: anyone
    could have written it (or it was signed with another key).
    """
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"not a checkpoint: not JSON ({exc})") from None
    except RecursionError:
        raise CheckpointError("not a checkpoint: JSON nested too deeply") from None
    if not isinstance(body, dict) or body.get("format") != Checkpoint.FORMAT:
        raise CheckpointError("not a payroute audit checkpoint (no \"format\": \"payroute-audit-checkpoint\")")
    if body.get("version") != Checkpoint.VERSION:
        raise CheckpointError(f"unsupported checkpoint version {body.get('version')!r} (this payroute reads "
                              f"version {Checkpoint.VERSION})")
    try:
        heads: dict[str, tuple[int, str]] = {}
        for item in body["chains"]:
            chain, seq, head_hash = item["chain"], item["seq"], item["hash"]
            if not (isinstance(chain, str) and type(seq) is int and isinstance(head_hash, str)):
                raise TypeError
            heads[chain] = (seq, head_hash)
        cp = Checkpoint(created_at=str(body["created_at"]), key_id=str(body["key_id"]),
                        development_key=bool(body["development_key"]), entries=int(body["entries"]), heads=heads)
        signature = body["signature"]
        if not (isinstance(signature, str) and signature.isascii()):  # compare_digest compares ASCII only
            raise TypeError
    except (KeyError, TypeError, ValueError, OverflowError):
        raise CheckpointError("not a payroute audit checkpoint: a field is missing or has the wrong type") from None
    if not hmac.compare_digest(signature, _checkpoint_signature(key, body)):
        if cp.key_id != key.key_id:
            return cp, (f"its signature does not verify: it names key {cp.key_id}, the current key is "
                        f"{key.key_id} (signed with another key, or altered)")
        return cp, "its signature does not verify (the file was altered)"
    return cp, None


@dataclass
class _Walk:
    breaks: list[Break]
    heads: dict[str, tuple[int, str]]
    entries: int


_COLUMNS = AuditEntry.__table__.c


def _entry_break(chain: str, entry: Any, seq: int, prev: str, key: keys.Key) -> Break | None:
    """Why ``entry``, expected at ``seq`` after hash ``prev``, does not verify (None if it does)."""
    if entry.seq > seq:
        return Break(chain, seq, None, f"entry {seq} is missing (deleted)", "missing_entry")
    if entry.seq < seq:
        return Break(chain, entry.seq, entry.id, "entries are duplicated or out of order", "out_of_order")
    if entry.prev_hash != prev:
        return Break(chain, entry.seq, entry.id, "its link to the previous entry is broken "
                     "(an entry before it was altered, deleted or reordered)", "broken_link")
    if entry_hash(entry, prev) != entry.hash:
        return Break(chain, entry.seq, entry.id, "its content was altered after it was written", "altered")
    if entry.mac is None:
        return Break(chain, entry.seq, entry.id, "it carries no MAC (written without the audit key, "
                     "or its MAC was removed)", "no_mac")
    if not hmac.compare_digest(entry.mac, entry_mac(key, entry.hash)):
        return Break(chain, entry.seq, entry.id, "its MAC does not verify (the entry was rewritten and "
                     "its hashes recomputed, or the log was written with another key)", "bad_mac")
    return None


def _head_break(chain: str, head: Any | None, last: tuple[int, str] | None, key: keys.Key) -> Break | None:
    """Why the head does not match the chain's verified newest entry ``last`` (None if it does)."""
    last_seq = last[0] if last is not None else 0
    if head is None:
        return Break(chain, last_seq, None, "its head row is missing (deleted)", "no_head")
    if head.seq < last_seq:
        return Break(chain, head.seq + 1, None, f"its head was rewound to entry {head.seq} "
                     f"(its entries run to {last_seq})", "head_rewound")
    if last is None or (head.seq, head.hash) != last:
        return Break(chain, last_seq + 1, None, f"entries from {last_seq + 1} to {head.seq} were deleted",
                     "tail_deleted")
    if head.mac is None or not hmac.compare_digest(head.mac, head_mac(key, chain, head.seq, head.hash)):
        return Break(chain, head.seq, None, "its head does not verify (rewound to an older entry with the "
                     "newest entries deleted, or rewritten)", "bad_head")
    return None


def _verify_chain(chain: str, entries: Iterable[Any], head: Any | None, key: keys.Key,
                  expected: tuple[int, str] | None, checkpoint_at: str) -> tuple[Break | None, int]:
    """The first break of one chain (or None) and, if none, how many entries it has.

    ``expected`` is the chain's (seq, hash) in a checkpoint taken at ``checkpoint_at``.
    """
    prev, seq, n = GENESIS, 1, 0
    at_checkpoint: str | None = None
    for entry in entries:
        found = _entry_break(chain, entry, seq, prev, key)
        if found is not None:
            return found, 0
        prev, seq, n = entry.hash, seq + 1, n + 1
        if expected is not None and entry.seq == expected[0]:
            at_checkpoint = entry.hash
    if expected is not None and n == 0 and head is None:
        return Break(chain, expected[0], None, f"the chain is missing: the checkpoint of {checkpoint_at} has "
                     f"{expected[0]} entries", "checkpoint_missing"), 0
    found = _head_break(chain, head, (n, prev) if n else None, key)
    if found is None and expected is not None:
        if n < expected[0]:
            found = Break(chain, n + 1, None, f"it has {n} entries, fewer than the {expected[0]} of the checkpoint "
                          f"of {checkpoint_at} (the newest entries were deleted and its head rewound)",
                          "checkpoint_shorter")
        elif at_checkpoint != expected[1]:
            found = Break(chain, expected[0], None, f"entry {expected[0]} differs from the checkpoint of "
                          f"{checkpoint_at} (the chain was rewritten)", "checkpoint_differs")
    return found, n


def company_chains(column: Any, company_id: str) -> ColumnElement[bool]:
    """``column`` (a chain name) is one of the company's chains: its own, or one of its
    disbursements' — named by the disbursements the company owns, not by the entries' own
    ``company_id``, so an entry moved to another company still counts as this chain's."""
    of_disbursements = select(literal(disbursement_chain(""), String) + Disbursement.id).where(
        Disbursement.company_id == company_id)
    return or_(column == company_chain(company_id), column.in_(of_disbursements))


def _walk(session: Session, chain: str | None, key: keys.Key, against: Checkpoint | None,
          company_id: str | None = None) -> _Walk:
    """One pass over the entries in (chain, seq) order, the heads in one query, and the chain-less objects."""
    q = select(AuditEntry.__table__).order_by(_COLUMNS.chain, _COLUMNS.seq, _COLUMNS.id)
    hq = select(AuditHead.__table__)
    if chain:
        q, hq = q.where(_COLUMNS.chain == chain), hq.where(AuditHead.chain == chain)
    if company_id is not None:
        q = q.where(company_chains(_COLUMNS.chain, company_id))
        hq = hq.where(company_chains(AuditHead.chain, company_id))
    heads = {h.chain: h for h in session.execute(hq)}
    expected = dict(against.heads) if against is not None else {}
    if chain and against is not None:
        expected = {chain: expected[chain]} if chain in expected else {}
    at = against.created_at if against is not None else ""
    out = _Walk([], {}, 0)

    def one(name: str, rows: Iterable[Any]) -> None:
        head = heads.get(name)
        found, n = _verify_chain(name, rows, head, key, expected.get(name), at)
        out.entries += n
        if found is not None:
            out.breaks.append(found)
        else:
            out.heads[name] = (head.seq, head.hash)

    seen: set[str] = set()
    for name, rows in itertools.groupby(session.execute(q.execution_options(yield_per=2000)), key=lambda r: r.chain):
        seen.add(name)
        one(name, rows)
    for name in sorted((set(heads) | set(expected)) - seen):
        one(name, ())
    if chain is None:
        companies = select(Company.id)
        disbursements = select(Disbursement.id)
        if company_id is not None:
            companies = companies.where(Company.id == company_id)
            disbursements = disbursements.where(Disbursement.company_id == company_id)
        owners = [(company_chain(c), "company") for c in session.scalars(companies)]
        owners += [(disbursement_chain(d), "disbursement") for d in session.scalars(disbursements)]
        broken = {b.chain for b in out.breaks}
        for name, kind in owners:
            if name not in seen and name not in heads and name not in broken:
                out.breaks.append(Break(name, 1, None, f"the {kind} exists but has no audit chain "
                                        "(its entries and head were deleted)", "missing_chain"))
    out.breaks.sort(key=lambda b: b.chain)
    return out


def verify(session: Session, chain: str | None = None, *, key: keys.Key | None = None,
           against: Checkpoint | None = None, company_id: str | None = None) -> list[Break]:
    """Verify every chain (or one); return the first break of each broken chain.

    Every entry's hash, link and MAC, every head and its MAC; without
    ``chain``, also that every company and disbursement has its chain; with
    ``against`` (a checkpoint whose signature verified), that every chain
    it lists still exists, is not shorter and holds the same entry at the
    checkpoint's head. ``key`` defaults to the configured audit key
    (:class:`engine.security.keys.KeyConfigError` without one).

    ``company_id`` narrows it to one company's chains — its own and its disbursements' — and
    to that company's objects without a chain: what a company's Admin may have verified
    (:mod:`engine.service.audit_verification`), the same walk as the operator's.
    """
    return _walk(session, chain, key or keys.audit_key(), against, company_id).breaks


def checkpoint(session: Session, *, at: datetime, key: keys.Key | None = None) -> tuple[Checkpoint | None, list[Break]]:
    """A checkpoint of every chain's head, or None with the breaks if the log does not verify.

    A checkpoint vouches for the log as it is, so it is refused over a broken
    log: investigate the breaks first (docs/audit.md).
    """
    key = key or keys.audit_key()
    walk = _walk(session, None, key, None)
    if walk.breaks:
        return None, walk.breaks
    return Checkpoint(created_at=_utc(at), key_id=key.key_id, development_key=key.development,
                      entries=walk.entries, heads=walk.heads), []


@contextmanager
def snapshot(db: "Database") -> Iterator[Session]:
    """A session that sees the log at one moment, so a verify or checkpoint running beside live
    writes does not see an entry without its head (PostgreSQL: REPEATABLE READ; SQLite's
    transactions are serialised already)."""
    if db.engine.dialect.name != "postgresql":
        with db.sessions() as s:
            yield s
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=conn) as s:
            yield s


def count(session: Session, chain: str | None = None, *, company_id: str | None = None) -> int:
    """How many entries the log holds (in ``chain``; in ``company_id``'s chains, :func:`company_chains`)."""
    q = select(func.count(AuditEntry.id))
    if chain:
        q = q.where(AuditEntry.chain == chain)
    if company_id is not None:
        q = q.where(company_chains(AuditEntry.chain, company_id))
    return int(session.scalar(q) or 0)


def entries(session: Session, chain: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.chain == chain)
                                .order_by(AuditEntry.seq)))


#: what :func:`exported` writes of an entry, in this order (``sandbox`` is added after them)
EXPORTED = ("chain", "seq", "company_id", "at", "actor_id", "action", "object_type", "object_id", "before", "after",
            "reason", "rules", "version_id", "content_hash", "details", "hash")


def exported(session: Session, *, chain: str | None = None, company_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every entry (of ``chain``; of ``company_id``'s chains, :func:`company_chains`) as plain JSON
    data, chain by chain in ``seq`` order: what ``payroute audit export`` writes, one a line.

    ROLL-4: each says ``"sandbox"``, true for an entry about a sandbox record (:func:`is_sandbox`:
    the mark written into the hashed entry), so an export never passes a test for real money. An
    entry holds no secret (MFA-5: no code, secret or number reaches one), so neither does this."""
    q = select(AuditEntry).order_by(AuditEntry.chain, AuditEntry.seq)
    if chain:
        q = q.where(AuditEntry.chain == chain)
    if company_id is not None:
        q = q.where(company_chains(AuditEntry.chain, company_id))
    for entry in session.scalars(q.execution_options(yield_per=500)):
        row = {name: getattr(entry, name) for name in EXPORTED}
        row["at"], row["rules"] = _utc(entry.at), list(entry.rules or [])
        row["sandbox"] = is_sandbox(entry.details)
        yield row
