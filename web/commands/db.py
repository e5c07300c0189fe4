"""``payroute db upgrade``: bring the database schema to the newest migration (Alembic)."""

from __future__ import annotations

import argparse

HELP = "manage the database schema (upgrade)"


def register(p: argparse.ArgumentParser) -> None:
    from web.commands._database import add_database_option

    sub = p.add_subparsers(dest="db_action", metavar="ACTION")
    sub.required = True
    up = sub.add_parser("upgrade", help="apply every pending migration")
    add_database_option(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")


def run(args: argparse.Namespace) -> int:
    from dsl.verbs import UsageError
    from engine.errors import first_line, scrub_credentials
    from engine.store.migrate import current_heads, upgrade
    from web.commands._database import database_url

    url = database_url(args)
    try:
        upgrade(url, args.revision)
    except Exception as exc:  # connection refused, bad URL, unknown revision
        raise UsageError(f"cannot upgrade the database: {first_line(scrub_credentials(str(exc)))}") from None
    print(f"database at revision {', '.join(current_heads(url)) or '(none)'}")
    return 0
