"""``payroute users``: operator tools for people's sign-in (ROLE-10).

``payroute users set-password EMAIL`` sets the password the user signs in with
(:func:`engine.security.sign_in.set_password`: at least 12 characters, not the
email address, stored only as an argon2id hash; the user is signed out
everywhere). The password is never an argument (it would sit in the shell's
history and in every process listing): on a terminal it is asked twice without
echo (getpass); otherwise the first line of stdin is the password, so
``printf '%s\\n' "$PASSWORD" | payroute users set-password ops@gc.example``
scripts it.

Exit codes: 0 done; 1 no such user (one line on stderr); 2 usage or I/O — a
password the rules refuse, the two entries differ, no audit key (setting a
password is audited), an unreachable database or a missing schema. Errors are
one line, ``payroute users: ...``, and never hold the password.
"""

from __future__ import annotations

import argparse
import sys

HELP = "set a user's sign-in password (read from the terminal or stdin, never an argument)"


def register(p: argparse.ArgumentParser) -> None:
    from web.commands._database import add_database_option
    from web.commands.tokens import _database_option

    add_database_option(p)
    sub = p.add_subparsers(dest="users_action", metavar="ACTION")
    sub.required = True
    setter = sub.add_parser("set-password", help="set the password of the user with EMAIL (asked, or stdin's "
                                                 "first line); signs them out everywhere")
    setter.add_argument("email", metavar="EMAIL", help="the user whose password this is")
    _database_option(setter)


def _read_password() -> str:
    from dsl.verbs import UsageError

    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ; nothing changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on stdin (one line) and stdin is not a terminal")
    return line.removesuffix("\n").removesuffix("\r")


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.errors import DomainError
    from engine.security import sign_in
    from engine.security.keys import KeyConfigError
    from web.commands.tokens import _database_error, _open

    password = _read_password()
    svc = _open(args)
    try:
        sign_in.set_password(svc, args.email, password)
        print(f"password set for {args.email.strip().lower()}; their sessions are signed out")
    except DomainError as exc:
        if exc.code != "not_found":
            raise UsageError(exc.message) from None
        print(f"payroute users: {exc.message}", file=sys.stderr)
        return 1
    except KeyConfigError as exc:  # audited: no key, nothing written
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(_database_error(exc)) from None
    finally:
        svc.db.dispose()
    return 0
