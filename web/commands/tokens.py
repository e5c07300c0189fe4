"""``payroute tokens``: mint, list and revoke API tokens (ROLE-12).

``payroute tokens create EMAIL [--name LABEL]`` prints the new token's secret
on stdout, one line and nothing else, so ``TOKEN=$(payroute tokens create
ops@gc.example)`` captures it; it is shown this once and stored only as its
SHA-256 (:mod:`engine.service.tokens`). ``list`` shows each token's id, user,
label, display prefix and when it was created, last used and revoked (``--format
json`` for programs); ``revoke ID`` stops a token at once.

Exit codes: 0 done; 1 no such user or token (one line on stderr); 2 usage or
I/O — a bad label, no audit key (minting and revoking are audited), an
unreachable database or a missing schema. Errors are
one line, ``payroute tokens: ...``, and never hold a secret or a password.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "mint, list and revoke API tokens (each acts as one user)"


def _database_option(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: `payroute tokens --database-url X list` keeps X (a sub-parser's
    # default would overwrite what the parent parsed).
    p.add_argument("--database-url", default=argparse.SUPPRESS,
                   help="default: PAYROUTE_DATABASE_URL, else instance/payroute.sqlite3")


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option
    from web.commands._database import add_database_option

    add_database_option(p)
    sub = p.add_subparsers(dest="tokens_action", metavar="ACTION")
    sub.required = True
    create = sub.add_parser("create", help="mint a token acting as the user with EMAIL; prints only its secret")
    create.add_argument("email", metavar="EMAIL", help="the user the token acts as")
    create.add_argument("--name", metavar="LABEL", help="a label to tell tokens apart (up to 200 characters)")
    _database_option(create)
    listing = sub.add_parser("list", help="list tokens (prefix, user, label, last use), never their secrets")
    listing.add_argument("email", metavar="EMAIL", nargs="?", help="only this user's tokens")
    _database_option(listing)
    add_format_option(listing)
    revoke = sub.add_parser("revoke", help="revoke a token by its id (as `payroute tokens list` shows it)")
    revoke.add_argument("token_id", metavar="ID")
    _database_option(revoke)


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


def _when(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _data(view: Any) -> dict[str, Any]:
    return {"id": view.id, "user_id": view.user_id, "email": view.email, "name": view.name, "prefix": view.prefix,
            "created_at": _when(view.created_at), "last_used_at": _when(view.last_used_at),
            "revoked_at": _when(view.revoked_at)}


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.errors import DomainError
    from engine.security.keys import KeyConfigError
    from engine.service import tokens

    svc = _open(args)
    try:
        if args.tokens_action == "create":
            minted = tokens.mint(svc, args.email, name=args.name)
            print(minted.secret, flush=True)
        elif args.tokens_action == "revoke":
            view = tokens.revoke(svc, args.token_id)
            print(f"revoked {view.id} ({view.prefix}…, {view.email})")
        elif args.format == "json":
            json.dump([_data(v) for v in tokens.list_tokens(svc, args.email)], sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            views = tokens.list_tokens(svc, args.email)
            for v in views:
                state = f"revoked {_when(v.revoked_at)}" if v.revoked_at else "active"
                print(f"{v.id}  {v.prefix}…  {v.email}  {v.name or '-'}  created {_when(v.created_at)}  "
                      f"last used {_when(v.last_used_at) or 'never'}  {state}")
            if not views:
                print("no tokens")
    except DomainError as exc:
        if exc.code != "not_found":
            raise UsageError(exc.message) from None
        print(f"payroute tokens: {exc.message}", file=sys.stderr)
        return 1
    except KeyConfigError as exc:  # minting and revoking are audited: no key, nothing written
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(_database_error(exc)) from None
    finally:
        svc.db.dispose()
    return 0
