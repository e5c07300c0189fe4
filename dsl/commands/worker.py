"""``payroute worker``: queue overdue reminders and deliver the email outbox.

Each round runs :func:`engine.reminders.queue_reminders` (STEP-12/13) and
then sends every due outbox row over SMTP (:func:`engine.worker.drain`,
AUD-5). ``--once`` runs one round and exits (cron, tests); otherwise the
worker repeats every ``--interval`` seconds until interrupted (Ctrl-C or
SIGTERM finish the current round first). Any number of workers may share one
database: claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and reminders
are de-duplicated by a unique key.

Exit codes: 0 every due email went out; 2 usage or I/O — no or a malformed
SMTP URL, an unreachable database, or (with ``--once``) a mail server that
refused or could not be reached (the emails stay queued and are retried).
Errors are one line and never show a password.
"""

from __future__ import annotations

import argparse

HELP = "send queued emails and daily overdue reminders (runs until stopped, or --once)"
ORDER = 85


def register(p: argparse.ArgumentParser) -> None:
    from ..cli import add_database_option

    p.add_argument("--once", action="store_true", help="run one round and exit (for cron and tests)")
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                   help="pause between rounds (default: %(default)s)")
    add_database_option(p)
    p.add_argument("--smtp-url", help="default: PAYROUTE_SMTP_URL; smtp://host:port, "
                                      "smtps://user:pass@host:465, smtp://host:587?starttls=1")
    p.add_argument("--batch", type=int, default=50, metavar="N", help="emails claimed per batch")


def run(args: argparse.Namespace) -> int:
    import logging
    import os
    import signal
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    from engine.reminders import queue_reminders
    from engine.services import Services
    from engine.errors import first_line
    from engine.store.db import Database
    from engine.worker import SmtpUrlError, default_worker_id, drain, parse_smtp_url, redact

    from ..cli import UsageError, database_url

    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    try:
        settings = parse_smtp_url(args.smtp_url or os.environ.get("PAYROUTE_SMTP_URL"))
    except SmtpUrlError as exc:
        raise UsageError(str(exc)) from None
    url = database_url(args)
    try:
        db = Database(url)
    except Exception as exc:  # unknown driver, malformed URL
        raise UsageError(f"cannot open the database: {first_line(redact(str(exc), settings))}") from None
    svc = Services(db)
    worker_id = default_worker_id()
    if not args.once:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("payroute.worker").info(
            "worker %s started: sending via %s every %gs", worker_id, settings.display(), args.interval)
    stop = threading.Event()
    if not args.once and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

    try:
        while True:
            try:
                queued = queue_reminders(svc)
                report = drain(svc, settings, batch=args.batch, worker_id=worker_id)
            except SQLAlchemyError as exc:
                cause = first_line(redact(str(getattr(exc, "orig", None) or exc), settings))
                missing = any(w in cause.lower() for w in ("no such table", "does not exist"))
                message = (f"database error: {cause}"
                           + (" (the schema is missing: run `payroute db upgrade`)" if missing else ""))
                if args.once:
                    raise UsageError(message) from None
                logging.getLogger("payroute.worker").error(message)
            except Exception as exc:  # a long-running worker logs and carries on; --once reports
                if args.once:
                    raise
                logging.getLogger("payroute.worker").error(
                    "round failed: %s: %s", type(exc).__name__, first_line(redact(str(exc), settings)))
            else:
                if args.once or queued or report.claimed:
                    print(f"queued {queued} reminder(s); sent {report.sent}, failed {report.failed}"
                          f" via {settings.display()}", flush=True)
                if args.once:
                    if report.failed:
                        raise UsageError(f"{report.failed} email(s) not sent, kept for retry: {report.error}")
                    return 0
            if stop.wait(args.interval):
                return 0
    finally:
        db.dispose()
