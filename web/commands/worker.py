"""``payroute worker``: queue overdue reminders, move the money, deliver the email outbox.

Each round runs :func:`engine.service.reminders.queue_reminders` (STEP-12/13);
submits every due bank instruction — drawdowns, payment orders, test drawdowns —
to the bank (:func:`engine.payments.dispatch.dispatch`, the outbox's ``bank``
channel: same claim, lease, retry and dead letters as email) and applies the
bank's final answers (:func:`engine.payments.settlement.poll`, FLOW-3..FLOW-9),
twice over so that the payment orders a settled drawdown queues leave in the
same round; then sends every due email over SMTP (:func:`engine.outbox.smtp.drain`,
AUD-5). ``--no-email`` leaves the emails queued (the demo, a machine with no
mail server): everything else runs. ``--once`` runs one round and exits (cron, tests); otherwise the
worker repeats every ``--interval`` seconds until interrupted (Ctrl-C or
SIGTERM finish the current round first). Any number of workers may share one
database: claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and reminders
are de-duplicated by a unique key.

One email's failure is its own: the others are still sent. An email that
cannot be built, that the server rejects for good (5xx) ``--max-permanent-attempts``
times, or that fails ``--max-attempts`` times in all is dead-lettered (AUD-5,
audited on its company's chain): ``payroute worker status`` lists the dead
letters, ``payroute worker retry ID`` (or ``--all``) hands them back.

Exit codes: 0 every due email went out; 2 usage or I/O — no or a malformed
SMTP URL, an unreachable database, or (with ``--once``) a mail server that
refused or could not be reached (the emails stay queued and are retried), or
an email dead-lettered in this round. Errors are one line and never show a
password; ids and addresses are printed with control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import Any

HELP = "move queued bank instructions, send queued emails and daily overdue reminders (until stopped, or --once)"


def _database_option(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: `payroute worker --database-url X status` keeps X (a sub-parser's
    # default would overwrite what the parent parsed).
    p.add_argument("--database-url", default=argparse.SUPPRESS,
                   help="default: PAYROUTE_DATABASE_URL, else instance/payroute.sqlite3")


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option
    from engine.outbox.retry_policy import MAX_ATTEMPTS, PERMANENT_ATTEMPTS
    from web.commands._database import add_database_option

    p.add_argument("--once", action="store_true", help="run one round and exit (for cron and tests)")
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                   help="pause between rounds (default: %(default)s)")
    add_database_option(p)
    p.add_argument("--smtp-url", help="default: PAYROUTE_SMTP_URL; smtp://host:port, "
                                      "smtps://user:pass@host:465, smtp://host:587?starttls=1")
    p.add_argument("--no-email", action="store_true",
                   help="leave emails queued (no SMTP server needed); reminders and the bank still run")
    p.add_argument("--batch", type=int, default=50, metavar="N", help="emails claimed per batch")
    p.add_argument("--max-attempts", type=int, default=MAX_ATTEMPTS, metavar="N",
                   help="dead-letter an email after N failed attempts (default: %(default)s)")
    p.add_argument("--max-permanent-attempts", type=int, default=PERMANENT_ATTEMPTS, metavar="N",
                   choices=range(1, 4), help="dead-letter an email the server refuses for good (5xx) "
                                             "after N tries, 1 to 3 (default: %(default)s)")
    sub = p.add_subparsers(dest="worker_action", metavar="[ACTION]",
                           help="without one, the worker runs (see --once)")
    status = sub.add_parser("status", help="count the outbox by status and list the dead letters")
    _database_option(status)
    status.add_argument("--limit", type=int, default=100, metavar="N",
                        help="list at most N dead letters, newest first (default: %(default)s)")
    add_format_option(status)
    retry = sub.add_parser("retry", help="requeue dead letters (audited); they go out in the next round")
    _database_option(retry)
    retry.add_argument("ids", nargs="*", metavar="ID", help="outbox ids, as `payroute worker status` lists them")
    retry.add_argument("--all", action="store_true", help="requeue every dead letter")


def _shown(text: Any) -> str:
    """Text for the terminal: control and invisible characters as escapes (an id or an error
    holding ESC[2J must not clear the screen)."""
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs")
                   else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
                   for ch in str(text))


def _open(args: argparse.Namespace) -> Any:
    from dsl.verbs import UsageError
    from engine.errors import first_line, scrub_credentials
    from engine.services import Services
    from engine.store.db import Database
    from web.commands._database import database_url

    try:
        return Services(Database(database_url(args)))
    except Exception as exc:  # unknown driver, malformed URL
        raise UsageError(f"cannot open the database: {first_line(scrub_credentials(str(exc)))}") from None


def _database_error(exc: Exception) -> str:
    from engine.errors import first_line, scrub_credentials

    cause = first_line(scrub_credentials(str(getattr(exc, "orig", None) or exc)))
    missing = any(w in cause.lower() for w in ("no such table", "does not exist", "no such column"))
    return f"database error: {cause}" + (" (the schema is missing: run `payroute db upgrade`)" if missing else "")


def run_status(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.outbox.lease import outbox_status

    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    svc = _open(args)
    try:
        report = outbox_status(svc, limit=args.limit)
    except SQLAlchemyError as exc:
        raise UsageError(_database_error(exc)) from None
    finally:
        svc.db.dispose()
    if args.format == "json":
        json.dump({"counts": report.counts, "channels": report.channels, "dead_letters": [
            {"id": d.id, "company_id": d.company_id, "event": d.event, "recipients": list(d.recipients),
             "attempts": d.attempts, "last_error": d.last_error,
             "dead_at": d.dead_at.isoformat() if d.dead_at else None, "channel": d.channel,
             **({"instruction": d.instruction} if d.instruction else {})} for d in report.dead_letters]},
            sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print("outbox: " + ", ".join(f"{n} {status}" for status, n in report.counts.items()))
    bank = report.channels.get("bank", {})
    if any(bank.values()):
        print("  of which bank instructions: " + ", ".join(f"{n} {status}" for status, n in bank.items()))
    dead = report.counts.get("dead", 0)
    if dead:
        shown = len(report.dead_letters)
        print(f"dead letters ({dead}" + (f", newest {shown} shown" if shown < dead else "") + "):")
        for d in report.dead_letters:
            when = d.dead_at.isoformat(timespec="seconds") if d.dead_at else "?"
            what = (f"{_shown(d.instruction.get('kind'))} {_shown(d.instruction.get('instruction'))} "
                    f"for {_shown(d.instruction.get('amount'))}" if d.channel == "bank"
                    else f"to {_shown(', '.join(d.recipients) or '(none)')}")
            print(f"  {_shown(d.id)}  {_shown(d.event)}  {what}  "
                  f"company {_shown(d.company_id)}  attempts {d.attempts}  dead since {when}")
            print(f"    last error: {_shown(d.last_error)}")
        print("requeue with `payroute worker retry ID` (or --all)")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.errors import DomainError
    from engine.outbox.lease import dead_letter_ids, requeue

    if bool(args.ids) == bool(args.all):
        raise UsageError("name the dead letters to requeue (ID ...) or pass --all")
    svc = _open(args)
    done, refused = 0, []
    try:
        for outbox_id in (dead_letter_ids(svc) if args.all else dict.fromkeys(args.ids)):
            try:
                requeue(svc, outbox_id)
            except DomainError as exc:
                refused.append(exc.message)
                continue
            done += 1
            print(f"requeued {_shown(outbox_id)}")
    except SQLAlchemyError as exc:
        raise UsageError(_database_error(exc)) from None
    finally:
        svc.db.dispose()
    if args.all and not done:
        print("no dead letters to requeue")
    if refused:
        raise UsageError(_shown(refused[0]) + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.worker_action == "status":
        return run_status(args)
    if args.worker_action == "retry":
        return run_retry(args)
    return run_loop(args)


def run_loop(args: argparse.Namespace) -> int:
    import logging
    import os
    import signal
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.errors import first_line
    from engine.outbox.lease import SendReport, default_worker_id
    from engine.outbox.smtp import SmtpUrlError, drain, parse_smtp_url, redact
    from engine.payments.dispatch import move_money
    from engine.service.reminders import queue_reminders
    from engine.services import Services
    from engine.store.db import Database
    from web.commands._database import database_url

    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.max_attempts < 1:
        raise UsageError("--max-attempts must be at least 1")
    try:
        settings = None if args.no_email else parse_smtp_url(args.smtp_url or os.environ.get("PAYROUTE_SMTP_URL"))
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
            "worker %s started: sending %s every %gs", worker_id,
            f"via {settings.display()}" if settings else "no email (--no-email)", args.interval)
    stop = threading.Event()
    if not args.once and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

    try:
        while True:
            try:
                queued = queue_reminders(svc)
                money = move_money(svc, batch=args.batch, worker_id=worker_id, max_attempts=args.max_attempts,
                                   permanent_attempts=args.max_permanent_attempts)  # bank first: its emails go too
                report = (drain(svc, settings, batch=args.batch, worker_id=worker_id, max_attempts=args.max_attempts,
                                permanent_attempts=args.max_permanent_attempts) if settings else SendReport())
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
                if (args.once or queued or report.claimed) and settings is not None:
                    dead = f" ({report.dead} dead-lettered)" if report.dead else ""
                    print(f"queued {queued} reminder(s); sent {report.sent}, failed {report.failed}{dead}"
                          f" via {settings.display()}", flush=True)
                elif args.once or queued:
                    print(f"queued {queued} reminder(s); emails left queued (--no-email)", flush=True)
                if money.busy:
                    print(money.line(), flush=True)
                if args.once:
                    if money.sent.failed:
                        kept = money.sent.failed - money.sent.dead
                        raise UsageError(
                            f"{money.sent.failed} bank instruction(s) not submitted: {kept} kept for retry, "
                            f"{money.sent.dead} dead-lettered; last error: {_shown(money.sent.error)}")
                    if report.failed and not report.dead:
                        raise UsageError(f"{report.failed} email(s) not sent, kept for retry: {report.error}")
                    if report.failed:
                        kept = report.failed - report.dead
                        raise UsageError(
                            f"{report.failed} email(s) not sent: {report.dead} dead-lettered (see `payroute "
                            f"worker status`)" + (f", {kept} kept for retry" if kept else "")
                            + f"; last error: {_shown(report.error)}")
                    return 0
            if stop.wait(args.interval):
                return 0
    finally:
        db.dispose()

