"""``payroute bank``: the operator's levers on the simulated bank (ROLL-3).

Until a real bank adapter ships, every instruction goes to the simulated bank
whose book is stored in the database (:mod:`engine.payments.stored_bank`): one
book for production, one for sandbox companies (``--sandbox``). This verb is
how an operator (or a tester, or the demo) sets it up:

- ``show`` — balances and the instructions taken, with their outcomes;
- ``credit ACCOUNT AMOUNT`` — put money into an account (a funding account must
  hold enough for its drawdowns, or they fail for insufficient funds, FLOW-3);
- ``close ACCOUNT`` — close an account: payments to it fail (FLOW-5);
- ``fail INSTRUCTION REASON`` — the instruction fails with REASON when it settles;
- ``timeout INSTRUCTION N`` — its next N submissions time out (the worker retries);
- ``settle-after SECONDS`` (or ``settle-after evening``) — instructions settle that
  long after they are taken, instead of at 18:00 New York on their banking day.

Accounts and instructions are named by their payroute ids (``GET
/v1/companies/{id}/bank-accounts``, ``GET …/disbursements/{id}/funds``).

Exit codes: 0 done; 2 usage or I/O (a bad amount, an unreachable database, a
missing schema). Errors are one line and never show a password.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "set up the simulated bank: balances, closed accounts, scripted failures and timeouts"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option
    from web.commands._database import add_database_option

    add_database_option(p)
    p.add_argument("--sandbox", action="store_true", help="the sandbox companies' book (default: production's)")
    sub = p.add_subparsers(dest="bank_action", metavar="ACTION")
    sub.required = True
    show = sub.add_parser("show", help="balances and the instructions taken")
    add_format_option(show)
    credit = sub.add_parser("credit", help="put AMOUNT (e.g. 250000.00) into ACCOUNT")
    credit.add_argument("account")
    credit.add_argument("amount")
    close = sub.add_parser("close", help="close ACCOUNT: payments to it fail")
    close.add_argument("account")
    fail = sub.add_parser("fail", help="INSTRUCTION fails with REASON when it settles")
    fail.add_argument("instruction")
    fail.add_argument("reason")
    timeout = sub.add_parser("timeout", help="the next N submissions of INSTRUCTION time out")
    timeout.add_argument("instruction")
    timeout.add_argument("times", type=int)
    settle = sub.add_parser("settle-after", help="settle SECONDS after taking ('evening': at 18:00 New York)")
    settle.add_argument("seconds")


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.errors import DomainError, first_line, scrub_credentials
    from engine.payments import stored_bank
    from engine.services import utc_now
    from engine.store.db import Database
    from web.commands._database import database_url

    try:
        db = Database(database_url(args))
    except Exception as exc:  # unknown driver, malformed URL
        raise UsageError(f"cannot open the database: {first_line(scrub_credentials(str(exc)))}") from None
    name = stored_bank.book_name(args.sandbox)
    now = utc_now()
    try:
        action = args.bank_action
        if action == "show":
            _show(stored_bank.book(db, name, now=now).to_data(), name, args.format)
        elif action == "credit":
            balance = stored_bank.credit(db, name, args.account, args.amount, now=now)
            print(f"{args.account}: balance {balance:.2f} ({name} book)")
        elif action == "close":
            stored_bank.close(db, name, args.account, now=now)
            print(f"{args.account}: closed ({name} book)")
        elif action == "fail":
            stored_bank.script_failure(db, name, args.instruction, args.reason, now=now)
            print(f"{args.instruction}: will fail with {args.reason!r} ({name} book)")
        elif action == "timeout":
            if args.times < 0:
                raise UsageError("N is 0 or more")
            stored_bank.script_timeouts(db, name, args.instruction, args.times, now=now)
            print(f"{args.instruction}: the next {args.times} submission(s) time out ({name} book)")
        elif action == "settle-after":
            seconds = _seconds(args.seconds)
            stored_bank.set_settle_after(db, name, seconds, now=now)
            print(f"instructions settle {'at 18:00 New York on their banking day' if seconds is None else f'{seconds} s after they are taken'} ({name} book)")
    except DomainError as exc:
        raise UsageError(exc.message) from None
    except SQLAlchemyError as exc:
        cause = first_line(scrub_credentials(str(getattr(exc, "orig", None) or exc)))
        missing = any(w in cause.lower() for w in ("no such table", "does not exist"))
        raise UsageError(f"database error: {cause}"
                         + (" (the schema is missing: run `payroute db upgrade`)" if missing else "")) from None
    finally:
        db.dispose()
    return 0


def _seconds(text: str) -> int | None:
    from dsl.verbs import UsageError

    if text == "evening":
        return None
    if not text.isdigit():
        raise UsageError(f"settle-after takes a number of seconds or 'evening', not {text!r}")
    return int(text)


def _show(data: dict[str, Any], name: str, fmt: str) -> None:
    if fmt == "json":
        json.dump({"book": name, **data}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    settle = data.get("settle_after")
    print(f"{name} book; instructions settle "
          + ("at 18:00 New York on their banking day" if settle is None else f"{settle} s after they are taken"))
    print("accounts:" if data["accounts"] else "accounts: none yet")
    for ref, account in data["accounts"].items():
        print(f"  {ref}  {account['balance']:>15}" + ("  closed" if account["closed"] else ""))
    print("instructions:" if data["taken"] else "instructions: none taken")
    for t in data["taken"]:
        reason = f" ({t['reason']})" if t.get("reason") else ""
        print(f"  {t['id']}  {t['kind']:<13} {t['amount']:>13}  {t['request_date']}  {t['status']}{reason}")
