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

Why not "exactly once": no protocol can make an SMTP hand-off and a database
commit atomic. A worker that dies after the server accepted a message but
before its mark commits leaves the row ``sending``; when the lease expires it
is sent again. Every message carries ``Message-ID: <outbox-id@payroute>``,
stable across retries, so the receiving side can drop the duplicate. The
window is one message wide: each send is marked before the next one starts,
and a worker never starts a send whose lease has already expired.

A send failure never touches the state change that wrote the row (AUD-5):
that transaction committed long before.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import os
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sqlalchemy import select, update

from .errors import scrub_credentials
from .services import Services
from .store.tables import OutboxEmail

log = logging.getLogger("payroute.worker")

#: first retry after 30 s, doubling per attempt, never more than an hour apart
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
#: how long a claim is exclusive; it must outlast sending one batch
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_SENDER = "payroute@localhost"
DEFAULT_TIMEOUT = 30.0

PENDING, SENDING, SENT = "pending", "sending", "sent"


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


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    #: claims whose lease ran out before their turn (left for the next claim)
    expired: int = 0
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
            out.append(Claimed(row.id, row.attempts, tuple(row.recipients), row.subject, row.body, until))
        return out


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
                  .values(status=PENDING, next_attempt_at=_utc(svc.now()) + backoff(item.attempt),
                          last_error=error))


# ---------------------------------------------------------------- sending


def build_message(item: Claimed, settings: SmtpSettings, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(item.recipients)
    msg["Subject"] = item.subject
    msg["Date"] = email.utils.format_datetime(_utc(now))
    msg["Message-ID"] = message_id(item.id)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(item.body)
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
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def send_pending(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
                 worker_id: str | None = None, lease: timedelta = DEFAULT_LEASE) -> SendReport:
    """Claim the due outbox rows and deliver them; one call = at most one batch.

    Rows are claimed before connecting, so a mail server that is down costs
    each due row one attempt and a backoff — nothing is lost, and the next
    call after the backoff tries again.
    """
    settings = smtp_url if isinstance(smtp_url, SmtpSettings) else parse_smtp_url(smtp_url)
    worker_id = worker_id or default_worker_id()
    report = SendReport()
    items = claim(svc, batch=batch, lease=lease)
    report.claimed = len(items)
    if not items:
        return report
    client: smtplib.SMTP | None = None
    try:
        for n, item in enumerate(items):
            if svc.now() >= item.lease_until:
                report.expired += len(items) - n  # another worker may own them now
                break
            try:
                if client is None:
                    client = connect(settings)
                refused = client.send_message(build_message(item, settings, svc.now()),
                                              from_addr=settings.sender, to_addrs=list(item.recipients))
            except _MESSAGE_ERRORS as exc:
                error = redact(_describe(exc), settings)
                mark_failed(svc, item, error)
                report.failed += 1
                report.error = error
                log.warning("worker %s: outbox %s not sent: %s", worker_id, item.id, error)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # The session is gone: this and every remaining claim wait for the backoff.
                error = redact(_describe(exc), settings)
                for rest in items[n:]:
                    mark_failed(svc, rest, error)
                report.failed += len(items) - n
                report.error = error
                log.warning("worker %s: %d email(s) not sent via %s: %s", worker_id, len(items) - n,
                            settings.display(), error)
                if client is not None:
                    client.close()
                client = None
                break
            note = None
            if refused:  # some recipients accepted it: it left, so it is sent
                note = redact("refused by the server: " + ", ".join(sorted(refused)), settings)
            mark_sent(svc, item, note)
            report.sent += 1
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    if report.sent or report.failed:
        log.info("worker %s: sent %d, failed %d of %d claimed", worker_id, report.sent, report.failed,
                 report.claimed)
    return report


def drain(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
          worker_id: str | None = None) -> SendReport:
    """Send batches until nothing is due or a batch fails (the rest waits for its backoff)."""
    total = SendReport()
    while True:
        r = send_pending(svc, smtp_url, batch=batch, worker_id=worker_id)
        total.claimed += r.claimed
        total.sent += r.sent
        total.failed += r.failed
        total.expired += r.expired
        total.error = r.error or total.error
        if r.claimed < batch or r.failed or r.expired:
            return total


__all__ = [
    "BACKOFF_BASE", "BACKOFF_CAP", "Claimed", "SendReport", "SmtpSettings", "SmtpUrlError", "backoff",
    "claim", "drain", "mark_failed", "mark_sent", "message_id", "parse_smtp_url", "redact",
    "send_pending",
]
