"""``payroute db upgrade``: bring the database schema to the newest migration (Alembic)."""

from __future__ import annotations

import argparse

HELP = "manage the database schema (upgrade)"
ORDER = 80


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="db_action", metavar="ACTION")
    sub.required = True
    up = sub.add_parser("upgrade", help="apply every pending migration")
    up.add_argument("--database-url", help="default: PAYROUTE_DATABASE_URL, else instance/payroute.sqlite3")
    up.add_argument("--revision", default="head", help="target revision (default: head)")


def run(args: argparse.Namespace) -> int:
    from engine.store.db import default_url
    from engine.store.migrate import current_heads, upgrade

    from ..cli import UsageError

    url = args.database_url or default_url()
    try:
        upgrade(url, args.revision)
    except Exception as exc:  # connection refused, bad URL, unknown revision
        raise UsageError(f"cannot upgrade the database: {_safe(str(exc))}") from None
    print(f"database at revision {', '.join(current_heads(url)) or '(none)'}")
    return 0


def _safe(text: str) -> str:
    """Never echo a password that may sit in a URL."""
    import re

    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text.splitlines()[0] if text else text)
