"""Outbox delivery: claim due emails, send them over SMTP, mark them sent (AUD-5).

Delivery guarantee — *at least once, duplicates droppable*:

1. **Claim** (one short transaction): due rows (``pending``, or ``sending``
   whose lease ran out) are selected with ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serialises writers), set
   to ``sending``, ``attempts + 1``, and ``next_attempt_at`` = the lease
   expiry. The commit hands the row to this worker alone: another worker's
   claim neither sees it as due (status/lease) nor waits for it (skip locked).
2. **Send** outside any transaction — a slow mail server never holds a row
   lock or a database connection.
3. **Mark** (one short transaction per email, right after its send): ``sent``
   with ``sent_at``; on failure back to ``pending`` with an exponential
   backoff (capped) and a credential-free ``last_error``. The failure update
   is fenced by the ``attempts`` value of the claim, so a worker whose lease
   expired cannot undo a newer claim; a successful send is always recorded.

Each email fails on its own: a message that cannot be built (a header with a
line break, an unencodable body, a malformed recipient — rows are rendered
safe by :mod:`engine.outbox.emails`, but the worker trusts no row) or that the server
refuses is marked, and the round goes on with the next one. Only a broken
connection stops the batch, and only when reconnecting fails too.

**Dead letters.** An email stops being retried — status ``dead``, audited as
``email_dead_lettered`` on its company's chain — when it cannot be built (at
once: the same row fails the same way), after ``permanent_attempts`` permanent
refusals (5xx; default 2: one confirmation that a 5xx was not a passing
condition), or after ``max_attempts`` transient failures (4xx, connection,
timeouts; default 10, about three hours of backoff). :func:`outbox_status`
lists them; :func:`requeue` hands one back to the worker (audited as
``email_requeued``), with fresh bounds.

Why not "exactly once": no protocol can make an SMTP hand-off and a database
commit atomic. A worker that dies after the server accepted a message but
before its mark commits leaves the row ``sending``; when the lease expires it
is sent again. Every message carries ``Message-ID: <outbox-id@payroute>``,
stable across retries, so the receiving side can drop the duplicate. The
window is one message wide: each send is marked before the next one starts,
and a worker never starts a send whose lease has already expired.

A send failure never touches the state change that wrote the row (AUD-5):
that transaction committed long before.

These are operator and worker functions (``payroute worker``, ``payroute outbox``), not user
commands: they act for no user of any company, so they take no ``(actor, company_id)`` and
check no permission (ROLE-12: no service identity acts in a company's workflow; the worker
only delivers what commands already wrote). Their caller is trusted to be the operator.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any, Sequence
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import DomainError, scrub_credentials
from engine.outbox.emails import header_text
from engine.service import audit
from engine.services import Services
from engine.store.tables import Company, OutboxEmail
from engine.text import is_id

log = logging.getLogger("payroute.worker")

#: first retry after 30 s, doubling per attempt, never more than an hour apart
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
#: how long a claim is exclusive; it must outlast sending one batch
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_SENDER = "payroute@localhost"
DEFAULT_TIMEOUT = 30.0

from engine.outbox.retry_policy import MAX_ATTEMPTS, PERMANENT_ATTEMPTS  # noqa: E402  (re-exported: the worker's bounds)

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
STATUSES = (PENDING, SENDING, SENT, DEAD)


# ---------------------------------------------------------------- SMTP settings


class SmtpUrlError(ValueError):
    """PAYROUTE_SMTP_URL is missing or malformed; the message never contains the password."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send, parsed from ``smtp://`` / ``smtps://`` URLs."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = DEFAULT_SENDER
    timeout: float = DEFAULT_TIMEOUT

    def display(self) -> str:
        """The URL with the password replaced, for logs and messages."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{quote(self.username, safe='')}:***@" if self.username else ""
        query = "?starttls=1" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{query}"

    def secrets(self) -> list[str]:
        """Every spelling of the password that an error text could echo."""
        if not self.password:
            return []
        out = {self.password, quote(self.password, safe=""), quote(self.password)}
        if self.username:
            plain = f"\0{self.username}\0{self.password}".encode()
            out.add(base64.b64encode(plain).decode())
        out.add(base64.b64encode(self.password.encode()).decode())
        return sorted((s for s in out if s), key=len, reverse=True)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def parse_smtp_url(url: str | None) -> SmtpSettings:
    """``smtp://host[:port]``, ``smtps://user:pass@host[:465]``; query options
    ``starttls=1``, ``from=address``, ``timeout=seconds``."""
    if not url or not url.strip():
        raise SmtpUrlError("no SMTP server: set PAYROUTE_SMTP_URL or pass --smtp-url "
                           "(e.g. smtp://localhost:25)")
    try:
        parts = urlsplit(url.strip())
        port_text = parts.port
    except ValueError:
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: bad port") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: no host")
    implicit = parts.scheme == "smtps"
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"starttls", "from", "timeout"})
    if unknown:
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: unknown option "
                           + ", ".join(unknown) + " (known: starttls, from, timeout)")
    starttls = False
    if "starttls" in options:
        flag = options["starttls"][-1].lower()
        if flag not in _TRUE | _FALSE:
            raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: starttls must be 1 or 0")
        starttls = flag in _TRUE
    if starttls and implicit:
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: smtps:// is already TLS; "
                           "starttls=1 is for smtp://")
    sender = options.get("from", [DEFAULT_SENDER])[-1].strip()
    if "@" not in sender:
        raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: from= must be an email address")
    timeout = DEFAULT_TIMEOUT
    if "timeout" in options:
        try:
            timeout = float(options["timeout"][-1])
        except ValueError:
            timeout = -1.0
        if timeout <= 0:
            raise SmtpUrlError(f"invalid SMTP URL {scrub_credentials(url.strip())!r}: timeout must be positive seconds")
    return SmtpSettings(
        host=parts.hostname, port=port_text or (465 if implicit else 25), implicit_tls=implicit,
        starttls=starttls, username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        sender=sender, timeout=timeout)


def redact(text: str, settings: SmtpSettings | None) -> str:
    """An error text safe to store and log: no password, no URL credentials, bounded length."""
    text = scrub_credentials(text)
    for secret in settings.secrets() if settings else ():
        text = text.replace(secret, "***")
    return text[:500]


# ---------------------------------------------------------------- claiming and marking


@dataclass(frozen=True)
class Claimed:
    """An outbox row this worker holds until ``lease_until``."""

    id: str
    attempt: int
    recipients: tuple[str, ...]
    subject: str
    body: str
    lease_until: datetime
    company_id: str = ""
    event: str = ""
    #: ``attempts`` at the last requeue (the retry bounds count from there)
    requeued_attempts: int = 0

    @property
    def tries(self) -> int:
        """Attempts since the row was written or last requeued, this one included."""
        return self.attempt - self.requeued_attempts


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    #: not sent this round: kept for retry, or dead-lettered (``dead`` of them)
    failed: int = 0
    dead: int = 0
    #: claims whose lease ran out before their turn (left for the next claim)
    expired: int = 0
    #: the mail server could not be reached: the rest of the batch waits for its backoff
    unreachable: bool = False
    #: the last failure, credential-free
    error: str | None = None


def message_id(outbox_id: str) -> str:
    """AUD-5: the same id on every retry, so a duplicate can be recognised and dropped."""
    return f"<{outbox_id}@payroute>"


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min, … ≤ 1 h."""
    step = BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20))
    return min(step, BACKOFF_CAP)


def _utc(moment: datetime) -> datetime:
    # SQLite stores the wall clock without its offset: compare in UTC everywhere.
    return moment.astimezone(timezone.utc)


def claim(svc: Services, *, batch: int = 50, lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Take up to ``batch`` due rows for this worker in one short transaction."""
    now = _utc(svc.now())
    until = now + lease
    with svc.db.transaction() as s:
        q = (select(OutboxEmail)
             .where(OutboxEmail.status.in_((PENDING, SENDING)), OutboxEmail.next_attempt_at <= now)
             .order_by(OutboxEmail.next_attempt_at, OutboxEmail.created_at, OutboxEmail.id)
             .limit(batch))
        if svc.db.is_postgres:
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        out = []
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = SENDING, row.attempts + 1, until
            out.append(Claimed(row.id, row.attempts, _recipients(row.recipients), row.subject, row.body, until,
                               row.company_id, row.event, row.requeued_attempts or 0))
        return out


def _recipients(value: Any) -> tuple[str, ...]:
    """The row's addresses; a malformed value (not a list of strings) claims as none, and
    :func:`build_message` refuses it — a bad row never aborts a claim."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def mark_sent(svc: Services, item: Claimed, note: str | None = None) -> None:
    """Record a delivery. Unfenced on purpose: the message left, whoever holds the lease now."""
    values: dict[str, object] = {"status": SENT, "sent_at": _utc(svc.now())}
    if note:
        values["last_error"] = note
    with svc.db.transaction() as s:
        s.execute(update(OutboxEmail)
                  .where(OutboxEmail.id == item.id, OutboxEmail.status != SENT)
                  .values(**values))


def mark_failed(svc: Services, item: Claimed, error: str) -> None:
    """Back to pending with backoff, unless another worker has claimed the row since."""
    with svc.db.transaction() as s:
        s.execute(update(OutboxEmail)
                  .where(OutboxEmail.id == item.id, OutboxEmail.status == SENDING,
                         OutboxEmail.attempts == item.attempt)
                  .values(status=PENDING, next_attempt_at=_utc(svc.now()) + backoff(item.tries),
                          last_error=error))


def mark_dead(svc: Services, item: Claimed, error: str, *, permanent: bool) -> bool:
    """Dead-letter the row and audit it on its company's chain, in one transaction (AUD-1);
    False (and nothing written) if another worker has claimed the row since.

    The entry names the email (id, event, masked recipients), the attempts and the
    error — never the subject or the body, which are the company's content."""
    now = _utc(svc.now())
    with svc.db.transaction() as s:
        done = s.execute(update(OutboxEmail)
                         .where(OutboxEmail.id == item.id, OutboxEmail.status == SENDING,
                                OutboxEmail.attempts == item.attempt)
                         .values(status=DEAD, dead_at=now, last_error=error))
        if done.rowcount != 1:
            return False
        _audit(s, item.company_id, now, action="email_dead_lettered", outbox_id=item.id, reason=mask_addresses(error),
               details={"event": item.event, "recipients": [mask_address(r) for r in item.recipients],
                        "attempts": item.tries, "permanent": permanent})
    return True


def _entry_text(value: str) -> str:
    """Audit text from a row nobody vouches for: one line, bounded, encodable (a lone surrogate
    would make the entry's hash fail, and with it every round that reaches the row)."""
    return header_text(value)[:500]


def _audit(s: Session, company_id: str, now: datetime, *, action: str, outbox_id: str, reason: str | None,
           details: dict[str, Any]) -> None:
    """An entry on the company's chain, under the company row's lock (the chain head is read under
    it). A row naming no existing company (written by hand) has no chain to go on: logged only."""
    if s.scalars(select(Company.id).where(Company.id == company_id).with_for_update()).first() is None:
        log.warning("outbox %s: %s not audited: no company %r", outbox_id, action, company_id)
        return
    details = {k: ([_entry_text(x) for x in v] if isinstance(v, list) else _entry_text(v) if isinstance(v, str)
                   else v) for k, v in details.items()}
    audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=now, actor_id=None,
                 action=action, object_type="email", object_id=outbox_id,
                 reason=_entry_text(reason) if reason else None, rules=("AUD-5",), details=details)


# ---------------------------------------------------------------- operators: status and requeue


_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'*][^\s<>()\[\],;:\"']*@[^\s<>()\[\],;:\"']+")


def mask_address(address: str) -> str:
    """``c***@gc.example``: enough for an operator to see which domain refused it, not who."""
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if at and local else "***"


def mask_addresses(text: str) -> str:
    """``text`` with every email address in it masked (server replies quote the recipient)."""
    return _ADDRESS.sub(lambda m: mask_address(m.group(0)), text)


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered email as an operator sees it: no subject, no body, masked addresses."""

    id: str
    company_id: str
    event: str
    recipients: tuple[str, ...]
    attempts: int
    last_error: str
    dead_at: datetime | None


@dataclass(frozen=True)
class OutboxStatus:
    #: rows per status, every status listed (0 when none)
    counts: dict[str, int]
    #: the newest dead letters first, at most the ``limit`` asked for
    dead_letters: list[DeadLetter]


def outbox_status(svc: Services, *, limit: int = 100) -> OutboxStatus:
    """Counts by status and the newest dead letters (the outbox is shared by every company)."""
    with svc.db.sessions() as s:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in s.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)):
            counts[status] = n
        rows = s.execute(select(OutboxEmail.id, OutboxEmail.company_id, OutboxEmail.event, OutboxEmail.recipients,
                                OutboxEmail.attempts, OutboxEmail.last_error, OutboxEmail.dead_at)
                         .where(OutboxEmail.status == DEAD)
                         .order_by(OutboxEmail.dead_at.desc(), OutboxEmail.id).limit(limit)).all()
    dead = [DeadLetter(r.id, r.company_id, r.event, tuple(mask_address(a) for a in _recipients(r.recipients)),
                       r.attempts, mask_addresses(scrub_credentials(r.last_error or "")),
                       r.dead_at.replace(tzinfo=timezone.utc) if r.dead_at and r.dead_at.tzinfo is None else r.dead_at)
            for r in rows]
    return OutboxStatus(counts, dead)


def dead_letter_ids(svc: Services) -> list[str]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(OutboxEmail.id).where(OutboxEmail.status == DEAD)
                              .order_by(OutboxEmail.dead_at, OutboxEmail.id)))


def requeue(svc: Services, outbox_id: str) -> None:
    """Hand a dead letter back to the worker: pending, due now, with fresh retry bounds; audited
    as ``email_requeued`` on its company's chain. Refused unless the row is a dead letter."""
    now = _utc(svc.now())
    with svc.db.transaction() as s:
        row = s.scalars(select(OutboxEmail).where(OutboxEmail.id == outbox_id).with_for_update()).first() \
            if is_id(outbox_id) else None
        if row is None:
            raise DomainError("not_found", f"no outbox email {outbox_id!r}", rule="AUD-5")
        if row.status != DEAD:
            raise DomainError("invalid_state", f"outbox email {outbox_id} is {row.status}, not dead-lettered: "
                              "only a dead letter can be requeued", rule="AUD-5")
        previous = mask_addresses(scrub_credentials(row.last_error or ""))
        row.status, row.next_attempt_at, row.dead_at = PENDING, now, None
        row.requeued_attempts = row.attempts
        _audit(s, row.company_id, now, action="email_requeued", outbox_id=row.id, reason=previous,
               details={"event": row.event, "recipients": [mask_address(a) for a in _recipients(row.recipients)],
                        "attempts": row.attempts})


# ---------------------------------------------------------------- sending


class Unbuildable(ValueError):
    """The row cannot become a message: retrying cannot help, it is dead-lettered at once."""


def _header_problem(value: str) -> str | None:
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp", "Cs"):
            return f"holds the control character U+{ord(ch):04X}"
    return None


def _check_address(address: str) -> None:
    problem = _header_problem(address)
    if problem is None and (any(c.isspace() or c in ',;<>()"' for c in address)
                            or address.count("@") != 1 or address.startswith("@") or address.endswith("@")):
        problem = "is not one plain address"
    if problem:
        raise Unbuildable(f"a recipient address {problem}")


def build_message(item: Claimed, settings: SmtpSettings, now: datetime) -> EmailMessage:
    """The message, fully serialised once, so a problem shows here and not half-way through a
    send. Header values are checked character by character: a CR or LF would start a header of
    its own (header injection), and no row is trusted to have been rendered by engine.outbox.emails."""
    if not item.recipients:
        raise Unbuildable("no recipient address")
    for address in item.recipients:
        _check_address(address)
    problem = _header_problem(item.subject)
    if problem:
        raise Unbuildable(f"the subject {problem}")
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(item.recipients)
    msg["Subject"] = item.subject
    msg["Date"] = email.utils.format_datetime(_utc(now))
    msg["Message-ID"] = message_id(item.id)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(item.body)
    msg.as_bytes()  # UnicodeEncodeError and the like surface now
    return msg


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, authenticated SMTP session; raises OSError/SMTPException on failure."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.implicit_tls:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo()
        if settings.starttls:
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTPRecipientsRefused: " + "; ".join(
            f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for rcpt, (code, msg) in sorted(exc.recipients.items()))
    return f"{type(exc).__name__}: {exc}"


#: refusals of one message; the session stays usable for the next one. Everything
#: else (every other SMTPException is an OSError too) ends the session.
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                   smtplib.SMTPNotSupportedError)


def is_permanent(exc: BaseException) -> bool:
    """A refusal that the same message will meet again: a 5xx reply (every recipient's, when
    several were refused), or a feature the message needs and the server lacks (SMTPUTF8)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def _error_text(text: str, settings: SmtpSettings | None) -> str:
    """A stored error: credential-free, bounded, on one line (server replies may hold line breaks)."""
    return redact(" ".join(text.split()), settings)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def send_pending(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
                 worker_id: str | None = None, lease: timedelta = DEFAULT_LEASE,
                 max_attempts: int = MAX_ATTEMPTS, permanent_attempts: int = PERMANENT_ATTEMPTS) -> SendReport:
    """Claim the due outbox rows and deliver them; one call = at most one batch.

    Rows are claimed before connecting, so a mail server that is down costs
    each due row one attempt and a backoff — nothing is lost, and the next
    call after the backoff tries again. One email's failure is its own: the
    others of the batch are still sent (see the module notes on dead letters).
    """
    if max_attempts < 1 or permanent_attempts < 1:
        raise ValueError("max_attempts and permanent_attempts must be at least 1")
    settings = smtp_url if isinstance(smtp_url, SmtpSettings) else parse_smtp_url(smtp_url)
    worker_id = worker_id or default_worker_id()
    report = SendReport()
    items = claim(svc, batch=batch, lease=lease)
    report.claimed = len(items)
    if not items:
        return report

    def fail(item: Claimed, error: str, *, permanent: bool, unbuildable: bool = False) -> None:
        report.failed += 1
        report.error = error
        bound = permanent_attempts if permanent else max_attempts
        if unbuildable or item.tries >= min(bound, max_attempts):
            try:
                dead = mark_dead(svc, item, error, permanent=permanent or unbuildable)
            except Exception as exc:  # noqa: BLE001 — the dead letter and its entry rolled back together
                # Never let one row's bookkeeping abort the round: it backs off and is tried again.
                log.error("worker %s: outbox %s could not be dead-lettered (%s: %s); retried later", worker_id,
                          item.id, type(exc).__name__, _error_text(str(exc), settings)[:200])
            else:
                if dead:
                    report.dead += 1
                    log.warning("worker %s: outbox %s dead-lettered after %d attempt(s): %s", worker_id,
                                item.id, item.tries, error)
                return
        mark_failed(svc, item, error)
        log.warning("worker %s: outbox %s not sent (attempt %d): %s", worker_id, item.id, item.tries, error)

    client: smtplib.SMTP | None = None
    try:
        for n, item in enumerate(items):
            if svc.now() >= item.lease_until:
                report.expired += len(items) - n  # another worker may own them now
                break
            try:
                msg = build_message(item, settings, svc.now())
            except Exception as exc:  # anything the row's content provokes: this email only
                why = str(exc) if isinstance(exc, Unbuildable) else _describe(exc)
                fail(item, _error_text(f"cannot build the message: {why}", settings),
                     permanent=True, unbuildable=True)
                continue
            if client is None:
                try:
                    client = connect(settings)
                except (OSError, smtplib.SMTPException) as exc:
                    # Nobody to talk to: this and every remaining claim wait for the backoff.
                    error = _error_text(_describe(exc), settings)
                    for rest in items[n:]:
                        fail(rest, error, permanent=False)
                    report.unreachable = True
                    log.warning("worker %s: %d email(s) not sent via %s: %s", worker_id, len(items) - n,
                                settings.display(), error)
                    break
            try:
                refused = client.send_message(msg, from_addr=settings.sender, to_addrs=list(item.recipients))
            except _MESSAGE_ERRORS as exc:
                fail(item, _error_text(_describe(exc), settings), permanent=is_permanent(exc))
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # The session broke during this message: it alone is charged; the next one
                # reconnects (and if that fails, the rest of the batch waits, above).
                fail(item, _error_text(_describe(exc), settings), permanent=is_permanent(exc))
                client.close()
                client = None
                continue
            except Exception as exc:  # smtplib choked on this message: its content, so permanent
                fail(item, _error_text(_describe(exc), settings), permanent=True)
                client.close()
                client = None
                continue
            note = None
            if refused:  # some recipients accepted it: it left, so it is sent
                note = _error_text("refused by the server: " + ", ".join(sorted(refused)), settings)
            mark_sent(svc, item, note)
            report.sent += 1
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    if report.sent or report.failed:
        log.info("worker %s: sent %d, failed %d (%d dead-lettered) of %d claimed", worker_id, report.sent,
                 report.failed, report.dead, report.claimed)
    return report


def drain(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
          worker_id: str | None = None, max_attempts: int = MAX_ATTEMPTS,
          permanent_attempts: int = PERMANENT_ATTEMPTS) -> SendReport:
    """Send batches until nothing is due or the server cannot be reached (the rest waits for
    its backoff). A failed email does not stop the drain: it is backing off or dead, so the
    next batch holds other rows."""
    total = SendReport()
    while True:
        r = send_pending(svc, smtp_url, batch=batch, worker_id=worker_id, max_attempts=max_attempts,
                         permanent_attempts=permanent_attempts)
        total.claimed += r.claimed
        total.sent += r.sent
        total.failed += r.failed
        total.dead += r.dead
        total.expired += r.expired
        total.unreachable = total.unreachable or r.unreachable
        total.error = r.error or total.error
        if r.claimed < batch or r.unreachable or r.expired:
            return total


__all__ = [
    "BACKOFF_BASE", "BACKOFF_CAP", "Claimed", "DEAD", "DeadLetter", "MAX_ATTEMPTS", "OutboxStatus",
    "PERMANENT_ATTEMPTS", "SendReport", "SmtpSettings", "SmtpUrlError", "Unbuildable", "backoff", "claim",
    "dead_letter_ids", "drain", "is_permanent", "mark_dead", "mark_failed", "mark_sent", "mask_address",
    "mask_addresses", "message_id", "outbox_status", "parse_smtp_url", "redact", "requeue", "send_pending",
]
