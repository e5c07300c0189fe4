"""The email sender: outbox rows out over SMTP (AUD-5).

This module owns everything about SMTP — the ``PAYROUTE_SMTP_URL`` settings
and the credentials they carry, building a message from a claimed row,
the session (TLS, AUTH, reconnecting), telling a permanent refusal from a
passing one — and nothing about a row's life: claiming, leases, retry
bounds, dead letters and marks are :mod:`engine.outbox.lease`'s.
:func:`send_pending` is one batch: the lease claims the due rows and hands
each to an SMTP session, which sends it or says why not; the lease records
the outcome. :func:`drain` repeats it until nothing is due.

Each email fails on its own: a message that cannot be built (a header with a
line break, an unencodable body, a malformed recipient — rows are rendered
safe by :mod:`engine.outbox.emails`, but the sender trusts no row) is
dead-lettered at once; one the server refuses is a permanent (5xx) or a
transient (4xx) failure; and the round goes on with the next one. Only a
broken connection stops the batch, and only when reconnecting fails too.

Why not "exactly once": no protocol can make an SMTP hand-off and a database
commit atomic. A worker that dies after the server accepted a message but
before its mark commits leaves the row ``sending``; when the lease expires it
is sent again. Every message carries ``Message-ID: <outbox-id@payroute>``,
stable across retries, so the receiving side can drop the duplicate.
"""

from __future__ import annotations

import base64
import email.utils
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

from engine.errors import scrub_credentials
from engine.outbox.lease import (
    DEFAULT_LEASE,
    MAX_ATTEMPTS,
    PERMANENT_ATTEMPTS,
    Claimed,
    Failed,
    SendReport,
    Unreachable,
    check_bounds,
    deliver_batch,
    drain_batches,
)
from engine.services import Services

DEFAULT_SENDER = "payroute@localhost"
DEFAULT_TIMEOUT = 30.0


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


def _error_text(text: str, settings: SmtpSettings | None) -> str:
    """A stored error: credential-free, bounded, on one line (server replies may hold line breaks)."""
    return redact(" ".join(text.split()), settings)


# ---------------------------------------------------------------- building a message


def message_id(outbox_id: str) -> str:
    """AUD-5: the same id on every retry, so a duplicate can be recognised and dropped."""
    return f"<{outbox_id}@payroute>"


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
    msg["Date"] = email.utils.format_datetime(now.astimezone(timezone.utc))
    msg["Message-ID"] = message_id(item.id)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(item.body)
    msg.as_bytes()  # UnicodeEncodeError and the like surface now
    return msg


# ---------------------------------------------------------------- the session


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


class _Session:
    """The sender :func:`engine.outbox.lease.deliver_batch` hands each claimed row to: one SMTP
    session, opened at the first message that was built, reopened after a broken one."""

    def __init__(self, settings: SmtpSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.client: smtplib.SMTP | None = None

    def clean(self, text: str) -> str:
        """``text`` as stored and logged: one line, bounded, no password."""
        return _error_text(text, self.settings)

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def __call__(self, item: Claimed) -> str | None:
        """Send one row; the note for a message only some recipients accepted (it left, so it
        is sent). Raises :class:`~engine.outbox.lease.Failed` for this message alone,
        :class:`~engine.outbox.lease.Unreachable` when no session can be opened."""
        try:
            msg = build_message(item, self.settings, self.clock())
        except Exception as exc:  # anything the row's content provokes: this email only
            why = str(exc) if isinstance(exc, Unbuildable) else _describe(exc)
            raise Failed(self.clean(f"cannot build the message: {why}"), permanent=True, final=True) from None
        if self.client is None:
            try:
                self.client = connect(self.settings)
            except (OSError, smtplib.SMTPException) as exc:
                raise Unreachable(self.clean(_describe(exc)), via=self.settings.display()) from None
        try:
            refused = self.client.send_message(msg, from_addr=self.settings.sender, to_addrs=list(item.recipients))
        except _MESSAGE_ERRORS as exc:
            raise Failed(self.clean(_describe(exc)), permanent=is_permanent(exc)) from None
        except (OSError, smtplib.SMTPException) as exc:
            # The session broke during this message: it alone is charged; the next one
            # reconnects (and if that fails, the rest of the batch waits: Unreachable).
            self._drop()
            raise Failed(self.clean(_describe(exc)), permanent=is_permanent(exc)) from None
        except Exception as exc:  # smtplib choked on this message: its content, so permanent
            self._drop()
            raise Failed(self.clean(_describe(exc)), permanent=True) from None
        if refused:
            return self.clean("refused by the server: " + ", ".join(sorted(refused)))
        return None

    def close(self) -> None:
        """End the session politely (QUIT), or just drop it if the server is gone."""
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


# ---------------------------------------------------------------- sending the outbox


def send_pending(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
                 worker_id: str | None = None, lease: timedelta = DEFAULT_LEASE,
                 max_attempts: int = MAX_ATTEMPTS, permanent_attempts: int = PERMANENT_ATTEMPTS) -> SendReport:
    """Claim the due outbox rows and deliver them over SMTP; one call = at most one batch.

    The lease claims before any connection is made, so a mail server that is
    down costs each due row one attempt and a backoff — nothing is lost, and
    the next call after the backoff tries again. One email's failure is its
    own: the others of the batch are still sent (see
    :mod:`engine.outbox.lease` on dead letters).
    """
    check_bounds(max_attempts, permanent_attempts)
    settings = smtp_url if isinstance(smtp_url, SmtpSettings) else parse_smtp_url(smtp_url)
    session = _Session(settings, svc.now)
    try:
        return deliver_batch(svc, session, batch=batch, worker_id=worker_id, lease=lease,
                             max_attempts=max_attempts, permanent_attempts=permanent_attempts,
                             redact=session.clean, noun="email")
    finally:
        session.close()


def drain(svc: Services, smtp_url: str | SmtpSettings, *, batch: int = 50,
          worker_id: str | None = None, max_attempts: int = MAX_ATTEMPTS,
          permanent_attempts: int = PERMANENT_ATTEMPTS) -> SendReport:
    """Send batches until nothing is due or the server cannot be reached (the rest waits for
    its backoff). A failed email does not stop the drain: it is backing off or dead, so the
    next batch holds other rows."""
    return drain_batches(lambda: send_pending(svc, smtp_url, batch=batch, worker_id=worker_id,
                                              max_attempts=max_attempts, permanent_attempts=permanent_attempts),
                         batch=batch)


__all__ = [
    "DEFAULT_SENDER", "DEFAULT_TIMEOUT", "SmtpSettings", "SmtpUrlError", "Unbuildable", "build_message", "connect",
    "drain", "is_permanent", "message_id", "parse_smtp_url", "redact", "send_pending",
]
